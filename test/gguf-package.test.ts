// Generated packages over GGUF files (src/emit/runtime/gguf.ts, gguf.js beside runtime.js):
// `build M.gguf` writes the package of the file's imported spec, and load() takes the file —
// bytes or a path — reading its tensors as the CLI does and its tokenizer from the metadata.
// Oracles: PyTorch's logits for the F32 file (scripts/make-gguf-fixtures.py), and the reference
// backend over the weights the CLI's GGUF reader gives, 1e-4 of max |logit|. Needs `npm run build`.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkSource } from "../src/check/check.ts";
import { importGguf } from "../src/import/gguf.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { ggufTokenizer } from "../src/runtime/gguf/gguf-tokenizer.ts";
import { ggufWeightStore } from "../src/runtime/gguf/llama-gguf.ts";
import { readGguf } from "../src/runtime/gguf/read-gguf.ts";
import type { Model } from "../src/runtime/model-api.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { dequantize } from "../src/runtime/weights/quantize.ts";
import type { WeightStore } from "../src/runtime/weights/format.ts";
import { relError } from "./helpers/conformance.ts";
import { cli } from "./helpers/cli-in-process.ts";
import { installPeers } from "./helpers/packages.ts";

const DIR = "test/fixtures/gguf";
const root = mkdtempSync(join(tmpdir(), "sf-gguf-pkg-"));
const parity = parseSafetensors(readFileSync(`${DIR}/llama-parity.safetensors`));
const tokens = Int32Array.from(parity.i32("input.tokens"));
const [B, S] = parity.get("input.tokens").shape;

const opened: Model[] = [];
afterAll(() => opened.forEach((x) => x.dispose()));

type PackageModel = Model & { tokenizer?: { kind: string; encode(text: string, o?: { special?: boolean }): Int32Array } };
type Loaded = { load: (w: Uint8Array | string, o?: object) => Promise<PackageModel> };

/** `specformer build FILE --target T [--dtype D]` into a fresh folder, imported. */
async function built(file: string, target: "wasm" | "reference", dtype?: string): Promise<{ mod: Loaded; stdout: string }> {
  const out = join(root, `${target}-${dtype ?? "f32"}-${file.replace(/\W/g, "_")}`);
  const r = await cli("build", file, "--target", target, "--out", out, ...(dtype ? ["--dtype", dtype] : []));
  expect(r.code, r.stderr).toBe(0);
  installPeers(out);
  return { mod: await import(pathToFileURL(join(out, "index.js")).href), stdout: r.stdout };
}

async function modelOf(file: string): Promise<ModelInfo> {
  return checkSource((await importGguf(file)).text, "gguf.sf").entry as ModelInfo;
}

const logits = async (model: Model, t = tokens, b = B, s = S) => {
  opened.push(model);
  return model.forward(t, { batch: b, seq: s });
};

describe("a package built from a GGUF file loads that file", () => {
  it.each(["wasm", "reference"] as const)("%s: the F32 file's logits equal PyTorch's; the tokenizer is the file's", async (target) => {
    const file = `${DIR}/llama-F32.gguf`;
    const { mod, stdout } = await built(file, target);
    expect(stdout).toMatch(/gguf\.js/);
    const m = await modelOf(file);
    const model = await mod.load(new Uint8Array(readFileSync(file)));
    expect(relError(await logits(model), parity.f32("expected.logits"), m.head.vocab, S).err).toBeLessThan(1e-5);
    const want = ggufTokenizer((await readGguf(new Uint8Array(readFileSync(file)))).metadata, file);
    expect(model.tokenizer!.kind).toBe("spm");
    expect(Array.from(model.tokenizer!.encode("the cat sat"))).toEqual(Array.from(want.encodePrompt("the cat sat")));
    expect(Array.from(model.tokenizer!.encode("the cat", { special: false }))).toEqual(Array.from(want.encode("the cat")));
  });

  it("the Q4_0 file, by path: reference keeps its q4 blocks, Wasm (an f32 build) runs them dequantised", async () => {
    const file = `${DIR}/llama-Q4_0.gguf`;
    const m = await modelOf(file);
    const graph = inferenceGraph(m);
    const store = ggufWeightStore(await readGguf(new Uint8Array(readFileSync(file))), m, graph);
    const f32: WeightStore = new Map([...store].map(([n, w]) => [n, w instanceof Float32Array ? w : dequantize(w)]));
    for (const [target, oracle] of [["reference", store], ["wasm", f32]] as const) {
      const { mod } = await built(file, target);
      const want = await (await createModel("reference", m, oracle)).forward(tokens, { batch: B, seq: S });
      const e = relError(await logits(await mod.load(file)), want, m.head.vocab, S);
      expect(e.err, `${target}: ${e.err.toExponential(2)} at ${e.at}`).toBeLessThanOrEqual(1e-4);
    }
  });

  it("a --dtype q4 package stores the Q4_K_M file's K-quants as q4 at load, as the CLI's reader does", async () => {
    const file = `${DIR}/llama-k-Q4_K_M.gguf`;
    const m = await modelOf(file);
    const store = ggufWeightStore(await readGguf(new Uint8Array(readFileSync(file))), m, inferenceGraph(m), { dtype: "q4" });
    const { mod } = await built(file, "wasm", "q4");
    const t = Int32Array.from({ length: 9 }, (_, i) => (i * 7 + 3) % m.head.vocab);
    const want = await (await createModel("reference", m, store)).forward(t, { batch: 1, seq: t.length });
    const e = relError(await logits(await mod.load(file), t, 1, t.length), want, m.head.vocab, t.length);
    expect(e.err, `${e.err.toExponential(2)} at ${e.at}`).toBeLessThanOrEqual(1e-4);
  });

  it("a name map with a GGUF file, and a GGUF file of another model, are refused by name", async () => {
    const { mod } = await built(`${DIR}/llama-F32.gguf`, "reference");
    await expect(mod.load(`${DIR}/llama-F32.gguf`, { map: "llama" })).rejects.toThrow(/is a GGUF file: its tensors are mapped by llama\.cpp's names, so it takes no name map/);
    await expect(mod.load(`${DIR}/qwen2-F32.gguf`)).rejects.toThrow(/tensor "model\.embed_tokens\.weight": expected shape \[96, 64\] for native tensor "embed\.tokens\.weight" \[96, 64\], found \[120, 32\]/);
  });
});
