// Fine-tuning through a generated module's trainer() (src/emit/runtime/train*.ts, train.js):
//   - PyTorch parity: the fixtures of test/train-parity.test.ts (scripts/make-train-fixtures.py:
//     PyTorch autograd and torch.optim.AdamW, noam warm-up, clipping, label smoothing) fed
//     through the module's API — the loss before each of 3 steps within 1e-5 relative, the
//     weights after them within 1e-5 (the same near-zero-gradient elements left out, for the
//     reason that test gives) — on tiny-gpt2 (gpt2 names), tiny-llama and the encoder–decoder
//     tiny-torch-transformer (src, source padding);
//   - consistency: the weights after N steps equal, bit for bit, those of src/train's Trainer
//     (what `specformer train` runs) on the same batches and configuration, written out here;
//     and the loss on those batches falls;
//   - model() / weights() / checkpoint(): the inference model sees the fine-tuned weights; a
//     resumed checkpoint continues the run exactly; a checkpoint package takes native weights;
//   - every mistake is one line; the .d.ts type-checks a consumer (misuse is an error);
//   - in headless Chromium (below): the same run in a page gives Node's weights.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildArtifacts } from "../src/emit/build.ts";
import { writePackage, type CheckpointPart } from "../src/emit/package.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { applyNameMap } from "../src/runtime/name-maps.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { mulberry32 } from "../src/runtime/sample.ts";
import { bindBatch } from "../src/train/data.ts";
import { Trainer, type TrainConfig } from "../src/train/trainer.ts";
import { CHROMIUM, launchChromium, serve } from "./helpers/browser.ts";
import { buildModule as buildIn, maxAbs, PARITY_CASES, pytorchRun, spec, weightsOnly } from "./helpers/train-module.ts";

const work = mkdtempSync(join(tmpdir(), "sf-gen-train-"));

/** Builds specs/<name>.sf as a reference-target package and imports it. */
const buildModule = (name: string, dirName = name, checkpoint?: CheckpointPart) => buildIn(work, name, dirName, checkpoint);
const oneLine = (e: unknown) => String((e as Error).message ?? e);

describe("trainer() of a generated module against PyTorch (test/train-parity.test.ts's fixtures)", () => {
  for (const c of PARITY_CASES) {
    it(`${c.name}: losses before and weights after 3 AdamW steps`, async () => {
      const { m, mod } = await buildModule(c.name);
      const r = await pytorchRun(mod, m, c);
      expect(r.steps).toEqual([1, 2, 3]);
      r.lossErrors.forEach((e, s) => expect(e, `loss before step ${s + 1}`).toBeLessThan(1e-5));
      expect(r.worst).toBeLessThan(1e-5);
      expect(r.skipped / r.tensors).toBeLessThan(10);
      console.log(`${c.name} through trainer(): after 3 AdamW steps max abs err ${r.worst.toExponential(2)} against PyTorch (${r.skipped} near-zero-gradient elements left out)`);
    });
  }
});

describe("trainer() of a generated module against src/train's Trainer", () => {
  let m: ModelInfo;
  let mod: any;
  let hf: Uint8Array;
  let start: Map<string, Float32Array>;
  const batches: Array<{ tokens: Int32Array; batch: number }> = [];
  const opts = { steps: 6, lr: 1e-2, labelSmoothing: 0.1, dropout: 0.1, weightDecay: 0.05, seed: 7, map: "gpt2" };

  beforeAll(async () => {
    ({ m, mod } = await buildModule("tiny-gpt2"));
    hf = weightsOnly(parseSafetensors(readFileSync("test/fixtures/tiny-gpt2.safetensors")));
    start = applyNameMap("gpt2", parseSafetensors(hf), m);
    // Two fixed batches of next-token windows [2, 13], over a small repeating vocabulary so 6 steps can learn something.
    const rng = mulberry32(3);
    for (let k = 0; k < 2; k++) batches.push({ tokens: Int32Array.from({ length: 2 * 13 }, () => Math.floor(rng() * 12)), batch: 2 });
  });

  /** The same run through src/train directly: the configuration spelled out (`specformer train`'s defaults for the rest). */
  async function reference(steps: number) {
    const config: TrainConfig = {
      steps: 6, batch: 0, seq: 0, schedule: "cosine", lr: 1e-2, warmup: 1, minLrRatio: 0.1, optimizer: "adamw",
      betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.05, clip: 1, labelSmoothing: 0.1, dropout: 0.1, seed: 7,
    };
    const tr = new Trainer(m, config, new Map([...start].map(([k, v]) => [k, Float32Array.from(v)])));
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const { tokens } = batches[s % 2];
      const shifted = (from: number) => Int32Array.from({ length: 24 }, (_, i) => tokens[Math.floor(i / 12) * 13 + (i % 12) + from]);
      const batch = bindBatch(m, new Map([["tokens", { data: shifted(0), shape: [2, 12] }]]), shifted(1));
      losses.push((await tr.update(batch)).loss);
    }
    return { tr, losses, config };
  }

  it("the same weights bit for bit after 6 steps, the same losses, and the loss falls", async () => {
    const t = await mod.trainer(hf, opts);
    const before = await t.evaluate(batches);
    const losses: number[] = [];
    for (let s = 0; s < 6; s++) losses.push((await t.trainStep(batches[s % 2])).loss);
    const after = await t.evaluate(batches);
    const ref = await reference(6);
    expect({ ...t.config, betas: [...t.config.betas] }).toEqual(ref.config);
    expect(losses).toEqual(ref.losses);
    const got = parseSafetensors(t.weights());
    let differing = 0;
    for (const { name } of weightLayout(m)) {
      const a = got.f32(name);
      const b = ref.tr.params.get(name)!;
      for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) differing++;
    }
    expect(differing).toBe(0);
    expect(before.tokens).toBe(48);
    expect(after.loss).toBeLessThan(before.loss - 0.1);
    expect(losses[5]).toBeLessThan(losses[0]);
    expect(t.step).toBe(6);
    await expect(t.trainStep(batches[0])).rejects.toThrow(/the trainer's 6 steps are done/);
    console.log(`tiny-gpt2 fine-tuned 6 steps through trainer(): eval loss ${before.loss.toFixed(4)} → ${after.loss.toFixed(4)}, train losses ${losses.map((l) => l.toFixed(3)).join(" ")}; 0 of ${got.tensors.size} tensors' elements differ from src/train's Trainer`);
  });

  it("model() and load(weights()) see the fine-tuned weights; model.trainer() starts from the loaded ones", async () => {
    const base = await mod.load(hf, { map: "gpt2" });
    const t = await base.trainer({ steps: 6, lr: 1e-2, labelSmoothing: 0.1, dropout: 0.1, weightDecay: 0.05, seed: 7 });
    for (let s = 0; s < 3; s++) await t.trainStep(batches[s % 2]);
    const tuned = await t.model();
    const reloaded = await mod.load(t.weights());
    const probe = Int32Array.from([1, 2, 3, 4, 5]);
    const [l0, l1, l2] = await Promise.all([base.forward(probe), tuned.forward(probe), reloaded.forward(probe)]);
    expect(l1).toEqual(l2);
    expect(maxAbs(l1.map((x: number, i: number) => x - l0[i]))).toBeGreaterThan(1e-3);
    // An independent forward on the same weights: src/train's float64 engine with dropout off.
    const ref = await reference(3);
    const tape = await ref.tr.engine.forward(ref.tr.params, bindBatch(m, new Map([["tokens", { data: probe, shape: [1, 5] }]]), new Int32Array(5)), { train: false });
    expect(maxAbs(l1.map((x: number, i: number) => x - tape.logits[i]))).toBeLessThan(1e-4);
    for (const x of [base, tuned, reloaded]) x.dispose();
    t.dispose();
    await expect(t.trainStep(batches[0])).rejects.toThrow(/disposed/);
  });

  it("checkpoint(): a resumed trainer continues the run exactly; its options cannot change", async () => {
    const a = await mod.trainer(hf, opts);
    for (let s = 0; s < 2; s++) await a.trainStep(batches[s % 2]);
    const ckpt = a.checkpoint();
    const b = await mod.trainer(ckpt, {});
    expect(b.step).toBe(2);
    expect(b.optimizer).toMatchObject({ kind: "adamw", step: 2, weightDecay: 0.05 });
    for (let s = 2; s < 6; s++) await b.trainStep(batches[s % 2]);
    const ref = await reference(6);
    const got = parseSafetensors(b.weights());
    for (const { name } of weightLayout(m)) expect(got.f32(name), name).toEqual(ref.tr.params.get(name));
    await expect(mod.trainer(ckpt, { lr: 0.5 })).rejects.toThrow(/lr 0.5 differs from the checkpoint's 0.01/);
    await expect(mod.trainer(ckpt, { steps: 2 })).rejects.toThrow(/already at step 2/);
  });

  it("a package built for a checkpoint: its map by default, and native weights as they are", async () => {
    const { mod: ck } = await buildModule("tiny-gpt2", "tiny-gpt2-ckpt", { map: "gpt2" });
    const t = await ck.trainer(hf, { steps: 6, lr: 1e-2, labelSmoothing: 0.1, dropout: 0.1, weightDecay: 0.05, seed: 7 });
    await t.trainStep(batches[0]);
    // Native names, which the package's gpt2 map would not find: read as they are.
    const again = parseSafetensors((await ck.trainer(t.weights(), { steps: 6 })).weights());
    const now = parseSafetensors(t.weights());
    for (const { name } of weightLayout(m)) expect(again.f32(name), name).toEqual(now.f32(name));
    const tuned = await t.model();
    const direct = await ck.load(t.weights());
    expect(await tuned.forward(Int32Array.from([3, 4]))).toEqual(await direct.forward(Int32Array.from([3, 4])));
    tuned.dispose();
    direct.dispose();
  });

  it("every mistake is one line naming it", async () => {
    const t = await mod.trainer(hf, { map: "gpt2", lr: 1e-3 });
    expect(t.config).toMatchObject({ schedule: "constant", steps: 0, warmup: 0 });
    const bad: Array<[unknown, RegExp]> = [
      [Int32Array.from([1, 2, 101]), /input "tokens"\[2\] is 101, outside the vocabulary \[0, 101\)/],
      [new Int32Array(34), /seq 33 exceeds the context bound of 32/],
      [{ tokens: new Int32Array(10), batch: 3 }, /tokens has length 10, not a multiple of batch 3/],
      [{ tokens: new Int32Array(8), targets: new Int32Array(6) }, /targets has length 6, tokens 8/],
      [{ tokens: new Int32Array(4), targets: Int32Array.from([1, 2, 3, 200]) }, /targets\[3\] is 200, outside the vocabulary/],
      [{ tokens: new Int32Array(4), targets: Int32Array.from([-1, -1, -1, -1]) }, /every target is ignored/],
      [Int32Array.from([5]), /at least 2 tokens per sequence/],
      [{ tokens: new Int32Array(4), mask: new Uint8Array(4) }, /mask was given, but model tiny_gpt2 declares no bool padding input/],
      [{ tokens: new Int32Array(4), lr: 1 }, /unknown field "lr"/],
      [[1, 2, 3], /tokens must be an Int32Array/],
    ];
    for (const [b, re] of bad) {
      const e = await t.trainStep(b).then(() => undefined, (x: unknown) => x);
      expect(oneLine(e), String(re)).toMatch(re);
      expect(oneLine(e)).not.toContain("\n");
      expect((e as Error).name).toBe("ModelInputError");
    }
    expect(t.step).toBe(0);
    const badOpts: Array<[object, RegExp]> = [
      [{ learningRate: 1 }, /unknown option "learningRate"/],
      [{ lr: -1 }, /lr must be a number in \(0, 1000000\], got -1/],
      [{ schedule: "cosine" }, /the cosine schedule needs steps/],
      [{ schedule: "noam" }, /the noam schedule needs warmup/],
      [{ schedule: "linear" }, /schedule must be "noam", "cosine", "constant" or absent, got "linear"/],
      [{ betas: [0.9, 1] }, /betas must be two numbers in \[0, 1\)/],
      [{ steps: 1.5 }, /steps must be an integer >= 1, got 1.5/],
      [{ backend: "webgpu" }, /backend "webgpu" has no training kernels yet/],
    ];
    for (const [o, re] of badOpts) {
      const e = await mod.trainer(hf, { map: "gpt2", ...o }).then(() => undefined, (x: unknown) => x);
      expect(oneLine(e), String(re)).toMatch(re);
    }
    await expect(mod.trainer(undefined)).rejects.toThrow(/give the starting weights/);
    await expect(mod.trainer(new Uint8Array([1, 2, 3]))).rejects.toThrow(/safetensors/);
    const fresh = await mod.trainer(null, { steps: 2, seed: 1 });
    expect((await fresh.trainStep(batches[0])).step).toBe(1);
  });

  it("the .d.ts requires targets exactly where next-token windows are refused (bidirectional attention)", async () => {
    for (const name of ["tiny-gpt2", "tiny-torch-encoder"]) {
      const { dir, mod: pkg } = await buildModule(name, `${name}-windows`);
      const dts = readFileSync(join(dir, "index.d.ts"), "utf8");
      const t = await pkg.trainer(null, { steps: 2 });
      const works = await t.trainStep({ tokens: Int32Array.from([1, 2, 3, 4, 5, 6]), batch: 2 }).then(() => true, () => false);
      expect(/^\s+targets\?: Int32Array;$/m.test(dts), name).toBe(works);
      expect(/^\s+targets: Int32Array;$/m.test(dts), name).toBe(!works);
      expect(/^\s+\| Int32Array$/m.test(dts), name).toBe(works);
      expect((await t.trainStep({ tokens: Int32Array.from([1, 2, 3, 4]), targets: Int32Array.from([2, -1, 4, 5]), batch: 2 })).tokens).toBe(3);
    }
  });

  it("the .d.ts: a consumer using the API type-checks, misuse does not", () => {
    const dir = join(work, "consumer");
    execFileSync("mkdir", ["-p", dir]);
    writeFileSync(
      join(dir, "consumer.ts"),
      `import { load, trainer, type TrainBatch } from "../tiny-gpt2/index.js";
export async function use(bytes: Uint8Array): Promise<number> {
  const t = await trainer(bytes, { map: "gpt2", steps: 10, lr: 3e-4, schedule: "cosine", warmup: 2 });
  const b: TrainBatch = { tokens: new Int32Array(10), batch: 2 };
  const r = await t.trainStep(b);
  await t.trainStep(new Int32Array(5));
  await t.trainStep({ tokens: new Int32Array(4), targets: new Int32Array(4) });
  const e: { loss: number; tokens: number } = await t.evaluate([b, b]);
  const w: Uint8Array = t.weights();
  const c: Uint8Array = t.checkpoint();
  const m = await t.model();
  const m2 = await load(w);
  const t2 = await m2.trainer({ lr: 1e-4 });
  // @ts-expect-error no such schedule
  await trainer(bytes, { schedule: "linear" });
  // @ts-expect-error tiny-gpt2 has no padding input, so no mask
  await t.trainStep({ tokens: new Int32Array(4), mask: new Uint8Array(4) });
  // @ts-expect-error tokens are an Int32Array
  await t.trainStep([1, 2, 3]);
  // @ts-expect-error the optimizer is read-only
  t.optimizer.step = 3;
  m.dispose(); t2.dispose();
  return r.loss + r.lr + r.gradNorm + r.step + e.loss + c.length + t.optimizer.lr + t.config.steps;
}
`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2022", "DOM"], skipLibCheck: false, types: [] }, files: ["consumer.ts"] }),
    );
    execFileSync(resolve("node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json")], { stdio: "pipe" });
  });
});

// The same fine-tuning in Debian's headless Chromium (playwright-core, the page served from
// 127.0.0.1; skipped loudly without Chromium, a failure under CI, as test/browser.test.ts is): a
// wasm package, its weights fetched by URL; train.js is requested only once trainer() is called.
// On the reference kernels the weights after the steps equal Node's to float32 rounding, and
// model() — a wasm model in the page — gives Node's logits. On the package's Wasm kernels (its
// default) the page runs train.relaxed.wasm where Node 20 runs train.wasm (no relaxed SIMD there
// without a flag): fused multiply-adds round differently, so the bounds are float32 ones, and
// the fine-tuned models' logits are compared rather than the weights (the key biases' gradients
// are rounding noise, which Adam turns into full-size steps of either sign; softmax ignores them).
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`CI is set but ${CHROMIUM} is missing: install Debian's chromium (.ci/apt-packages)`);
if (!haveChromium) console.warn(`SKIPPING the browser fine-tuning test: ${CHROMIUM} not installed`);

describe.runIf(haveChromium)("trainer() in headless Chromium", () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serve>>;
  const dir = join(work, "browser-wasm");
  const opts = { map: "gpt2", steps: 4, lr: 1e-2, labelSmoothing: 0.1, dropout: 0.1, seed: 5 };
  const rng = mulberry32(11);
  const windows = [0, 1].map(() => Array.from({ length: 2 * 9 }, () => Math.floor(rng() * 20)));
  const probe = [1, 2, 3, 4];

  beforeAll(async () => {
    const m = spec("tiny-gpt2");
    writePackage(dir, m, "wasm", "specs/tiny-gpt2.sf", await buildArtifacts(m, "wasm"), "specformer test");
    writeFileSync(join(dir, "weights.safetensors"), weightsOnly(parseSafetensors(readFileSync("test/fixtures/tiny-gpt2.safetensors"))));
    server = await serve({ "/pkg/": dir });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Four steps in Node on `backend`: the losses, the weights and the fine-tuned model's logits on the probe. */
  async function inNode(mod: any, backend: string) {
    const t = await mod.trainer(join(dir, "weights.safetensors"), { ...opts, backend });
    const losses: number[] = [];
    for (let s = 0; s < 4; s++) losses.push((await t.trainStep({ tokens: Int32Array.from(windows[s % 2]), batch: 2 })).loss);
    const tuned = await t.model();
    const logits: number[] = Array.from(await tuned.forward(Int32Array.from(probe)));
    tuned.dispose();
    return { losses, weights: parseSafetensors(t.weights()), logits };
  }

  it("wasm package: the same run as in Node on either kernels, train.js and train*.wasm fetched only by trainer()", async () => {
    const mod = await import(pathToFileURL(join(dir, "index.js")).href);
    const node = { reference: await inNode(mod, "reference"), wasm: await inNode(mod, "wasm") };

    const page = await browser.newPage();
    const urls: string[] = [];
    page.on("request", (r) => urls.push(new URL(r.url()).pathname));
    await page.goto(`${server.url}/pkg/package.json`);
    // The code is a string: vitest would rewrite a dynamic import() inside a function it compiles.
    const loaded = await page.evaluate(`(async () => {
      const mod = await import("/pkg/index.js");
      const model = await mod.load(new URL("/pkg/weights.safetensors", location.href), { map: "gpt2" });
      await model.forward(Int32Array.from([1, 2, 3]));
      model.dispose();
      window.mod = mod;
      return true;
    })()`);
    expect(loaded).toBe(true);
    const beforeTrainer = [...urls];
    const r = (await page.evaluate(`(async () => {
      const run = async (o) => {
        const t = await window.mod.trainer(new URL("/pkg/weights.safetensors", location.href), { ...${JSON.stringify(opts)}, ...o });
        const windows = ${JSON.stringify(windows)};
        const losses = [];
        for (let s = 0; s < 4; s++) losses.push((await t.trainStep({ tokens: Int32Array.from(windows[s % 2]), batch: 2 })).loss);
        const w = t.weights();
        let bin = "";
        for (let i = 0; i < w.length; i++) bin += String.fromCharCode(w[i]);
        const tuned = await t.model();
        const logits = Array.from(await tuned.forward(Int32Array.from(${JSON.stringify(probe)})));
        return { losses, weights: btoa(bin), logits };
      };
      try {
        return { reference: await run({ backend: "reference" }), wasm: await run({}) };
      } catch (e) {
        return { error: String(e?.stack ?? e) };
      }
    })()`)) as { error?: string } & Record<"reference" | "wasm", { losses: number[]; weights: string; logits: number[] }>;
    await page.close();
    expect(r.error).toBeUndefined();
    expect(beforeTrainer.some((u) => u.endsWith("/runtime.js"))).toBe(true);
    for (const f of ["/train.js", "/train.relaxed.wasm", "/train.wasm"]) expect(beforeTrainer.some((u) => u.endsWith(f)), f).toBe(false);
    expect(urls.some((u) => u.endsWith("/train.js"))).toBe(true);
    // Chromium has relaxed SIMD: it loads that flavour, and only that one.
    expect(urls.some((u) => u.endsWith("/train.relaxed.wasm"))).toBe(true);
    expect(urls.some((u) => u.endsWith("/train.wasm"))).toBe(false);

    // Reference kernels: not bit for bit, as Chromium's V8 and Node's may round Math.exp /
    // Math.log differently in the last place (seen: 1 ulp of a float64 loss by step 4).
    const ref = r.reference;
    ref.losses.forEach((l, i) => expect(Math.abs(l - node.reference.losses[i]) / l, `loss ${i + 1}`).toBeLessThan(1e-9));
    const inPage = parseSafetensors(Buffer.from(ref.weights, "base64"));
    let worst = 0;
    for (const name of node.reference.weights.tensors.keys()) {
      const a = inPage.f32(name);
      const b = node.reference.weights.f32(name);
      for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    expect(worst).toBeLessThan(1e-6);
    expect(maxAbs(ref.logits.map((x, i) => x - node.reference.logits[i]))).toBeLessThan(1e-5);
    // Wasm kernels, relaxed in the page and plain in Node: float32 bounds.
    const w = r.wasm;
    const lossGap = Math.max(...w.losses.map((l, i) => Math.abs(l - node.wasm.losses[i]) / l));
    const logitGap = maxAbs(w.logits.map((x, i) => x - node.wasm.logits[i])) / maxAbs(node.wasm.logits);
    expect(lossGap).toBeLessThan(1e-5);
    expect(logitGap).toBeLessThan(1e-4);
    expect(maxAbs(w.logits.map((x, i) => x - ref.logits[i])) / maxAbs(ref.logits)).toBeLessThan(1e-4);
    console.log(
      `in Chromium: 4 steps on the wasm package; reference kernels: losses ${ref.losses.map((l) => l.toFixed(4)).join(" ")}, weights within ${worst.toExponential(1)} of Node's; ` +
        `Wasm kernels (relaxed SIMD, Node plain): losses within ${lossGap.toExponential(1)} relative, fine-tuned logits within ${logitGap.toExponential(1)} relative; train.js and train.relaxed.wasm fetched only by trainer()`,
    );
  });
});
