// Issue 14: NaN / ±Inf weights loaded anyway (allowNonFinite, `--allow-nonfinite`) propagate the
// same way on every backend, by IEEE's rule: a NaN in any input of a row makes that row NaN
// (through attention: every later query that sees the key), ±Inf follow the arithmetic (an Inf
// head weight gives an Inf logit; an Inf score makes its softmax row NaN). Compared as masks
// (NaN / Inf / finite per logit) of forward and of begin/step, reference against wasm and webgpu.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createModel, type Target } from "../backends/registry.ts";
import { checkFile } from "../src/check/check.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import { ModelInputError, type Model } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { parseSafetensors, writeSafetensors } from "../src/runtime/safetensors.ts";
import { gpuDevice } from "./helpers/gpu.ts";

const device = await gpuDevice();
const TARGETS: Target[] = ["reference", "wasm", ...(device ? (["webgpu"] as const) : [])];
const SPEC = "specs/tiny-llama.sf";
const m = checkFile(SPEC).entry!;
const V = m.head.vocab;
const D = m.dims.get("d")!;
const dir = mkdtempSync(join(tmpdir(), "sf-nonfinite-"));
// The CLI from the TypeScript sources, as test/lowbit-cli.test.ts: no build needed.
const ENTRY = `import("./src/cli/main.ts").then((m) => m.main(["node", "specformer", ...process.argv.slice(1)]))`;

/** The token whose embedding row is NaN, and where it first appears. */
const BAD = 7;
const TOKENS = Int32Array.from([3, 1, 4, 9, BAD, 2, 6, 5, BAD, 8, 2, 3]);
const FIRST_BAD = TOKENS.indexOf(BAD);
const SEQ = TOKENS.length;

interface Poke {
  tensor: string;
  index: number;
  value: number;
}

/** A weights file: seeded random weights with NaN in token BAD's embedding row and the pokes. */
function weightsFile(pokes: Poke[]): Uint8Array {
  const w = randomWeights(m, 5, { std: 0.2 });
  w.get("embed.tokens.weight")!.fill(NaN, BAD * D + 3, BAD * D + 4);
  for (const p of pokes) w.get(p.tensor)![p.index] = p.value;
  return writeSafetensors(weightLayout(m).map((t) => ({ name: t.name, dtype: "F32", shape: t.shape, data: w.get(t.name)! })));
}

/** Per logit: N (NaN), + / - (±Inf), . (finite); one string per row. */
function masks(logits: Float32Array): string[] {
  const rows: string[] = [];
  for (let r = 0; r < logits.length / V; r++) {
    let s = "";
    for (let c = 0; c < V; c++) {
      const x = logits[r * V + c];
      s += Number.isNaN(x) ? "N" : x === Infinity ? "+" : x === -Infinity ? "-" : ".";
    }
    rows.push(s);
  }
  return rows;
}

const open: Model[] = [];
afterAll(() => open.forEach((x) => x.dispose()));

async function model(target: Target, file: Uint8Array): Promise<Model> {
  const w = bindWeights(m, parseSafetensors(file), { allowNonFinite: true });
  const x = await createModel(target, m, w, target === "webgpu" ? { device: device! } : {});
  open.push(x);
  return x;
}

/** Masks of a whole-sequence forward and of a token-by-token decode (a prompt of 5, then 1s). */
async function run(target: Target, file: Uint8Array): Promise<{ forward: string[]; decode: string[] }> {
  const x = await model(target, file);
  const forward = masks(await x.forward(TOKENS, { batch: 1, seq: SEQ }));
  const state = await x.begin({ batch: 1 });
  const decode = masks(await x.step(state, TOKENS.subarray(0, 5), 5));
  for (let i = 5; i < SEQ; i++) decode.push(...masks(await x.step(state, TOKENS.subarray(i, i + 1), 1)));
  state.dispose();
  return { forward, decode };
}

const HEAD_COL = 11;
const cases: Array<{ name: string; pokes: Poke[] }> = [
  { name: "an Inf in the head's weight", pokes: [{ tensor: "head.weight", index: HEAD_COL * D + 5, value: Infinity }] },
  // ±Inf in one q / k weight makes some scores ±Inf: rows with a +Inf score are NaN, and so are
  // rows whose visible keys all score -Inf (where wasm used to give zeros).
  { name: "an Inf in layer 1's query weight", pokes: [{ tensor: "decoder.1.attn.q.weight", index: 10 * D + 7, value: Infinity }] },
  { name: "a -Inf in layer 0's key weight", pokes: [{ tensor: "decoder.0.attn.k.weight", index: 3 * D + 2, value: -Infinity }] },
  // A NaN query or key scores NaN against every key: wasm and webgpu used to skip such keys.
  { name: "a NaN in layer 1's query weight", pokes: [{ tensor: "decoder.1.attn.q.weight", index: 2 * D + 9, value: NaN }] },
  { name: "a NaN in layer 0's norm weight", pokes: [{ tensor: "decoder.0.attn_norm.weight", index: 6, value: NaN }] },
];

describe.each(cases)("a NaN embedding row and $name", ({ pokes }) => {
  const file = weightsFile(pokes);

  it(`every backend (${TARGETS.join(", ")}) gives the reference's NaN / Inf / finite masks, in forward and in decode`, async () => {
    const ref = await run("reference", file);
    expect(ref.decode).toEqual(ref.forward);
    // The NaN row reaches every query at or after the token's first position, and no earlier one.
    for (let r = FIRST_BAD; r < SEQ; r++) expect(ref.forward[r]).toBe("N".repeat(V));
    for (const target of TARGETS.slice(1)) {
      const got = await run(target, file);
      expect(got.forward, `${target} forward`).toEqual(ref.forward);
      expect(got.decode, `${target} decode`).toEqual(ref.decode);
    }
  });
});

describe("the masks follow IEEE's rule, not only each other", () => {
  it("an Inf head weight is an Inf logit in its column, before the NaN token; the other logits are finite", async () => {
    const ref = await run("reference", weightsFile(cases[0].pokes));
    for (let r = 0; r < FIRST_BAD; r++) {
      expect(ref.forward[r].replace(/[+-]/, "x")).toBe(".".repeat(HEAD_COL) + "x" + ".".repeat(V - HEAD_COL - 1));
    }
  });

  it("with only finite weights every logit is finite (the masks are not trivially NaN)", async () => {
    const x = await model("wasm", writeSafetensors(weightLayout(m).map((t) => ({ name: t.name, dtype: "F32", shape: t.shape, data: randomWeights(m, 5, { std: 0.2 }).get(t.name)! }))));
    expect(masks(await x.forward(TOKENS, { batch: 1, seq: SEQ })).join("")).toBe(".".repeat(SEQ * V));
  });
});

const NAN_LOGITS = "generate: the logits after 3 token(s) are NaN (first at vocabulary index 0); the weights or inputs hold NaN or ±Inf";

describe("generating from NaN logits", () => {
  it.each(TARGETS)("%s: one input error naming where, not a sampler's throw", async (target) => {
    const x = await model(target, weightsFile([]));
    const gen = async () => {
      for await (const _ of x.generate(Int32Array.of(1, BAD, 2), { maxTokens: 3 })) void _;
    };
    await expect(gen()).rejects.toThrow(ModelInputError);
    await expect(gen()).rejects.toThrow(NAN_LOGITS);
  });

  // The check is the shared generate()'s, so one backend through the CLI shows the exit code.
  it("run --allow-nonfinite: exit 1 with that one line (not 70)", () => {
    const w = join(dir, "nan.safetensors");
    writeFileSync(w, weightsFile([]));
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", ENTRY, "--", "run", SPEC, "--weights", w, "--tokens", `1,${BAD},2`, "--max-tokens", "3", "--target", "reference", "--allow-nonfinite"], {
      encoding: "utf8",
      env: { ...process.env, SPECFORMER_CACHE: join(dir, "cache") },
    });
    expect(r.stderr).toBe(`specformer: ${NAN_LOGITS}\n`);
    expect(r.status).toBe(1);
  }, 180_000);
});
