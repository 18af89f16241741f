// trainer({ backend: "wasm" }) of a generated module: the Wasm SIMD training kernels the package
// ships prebuilt (train.wasm / train.relaxed.wasm: backends/wasm/train/kernel-set.ts lists them,
// emit-train-module.ts puts them in one module, src/emit/train-modules.ts writes it):
//   - PyTorch parity: the fixtures of test/train-parity.test.ts through trainer({ backend: "wasm" }),
//     the losses before each of 3 AdamW steps and the weights after them (near-zero-gradient
//     elements left out, as test/generated-train.test.ts does);
//   - the wasm trainer against the reference trainer of the same package on the same batches;
//   - the module holds exactly the listed kernels, in both flavours; a prebuilt WasmTrainKernels
//     gives the lazy one's results bit for bit (the same WAT, the same binaryen passes); a kernel
//     missing from a prebuilt module is an error naming it;
//   - the default: "wasm" in a wasm package; a package of another target has no train.wasm and
//     says so in one line.
// Node 20 has no relaxed SIMD without a flag, so Node runs train.wasm (plain SIMD128); the
// relaxed flavour runs in headless Chromium (test/generated-train.test.ts).
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { kernelExports } from "../backends/wasm/train/kernel-names.ts";
import { modelTrainKernels } from "../backends/wasm/train/kernel-set.ts";
import { WasmTrainKernels } from "../backends/wasm/train/kernels.ts";
import { instantiateTrainModule } from "../backends/wasm/train/prebuilt.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { applyNameMap } from "../src/runtime/name-maps.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { mulberry32 } from "../src/runtime/sample.ts";
import { bindBatch } from "../src/train/data.ts";
import { Trainer, type TrainConfig } from "../src/train/trainer.ts";
import { buildModule as buildIn, maxAbs, PARITY_CASES, pytorchRun, weightsOnly } from "./helpers/train-module.ts";

const work = mkdtempSync(join(tmpdir(), "sf-gen-train-wasm-"));
/** A wasm package: its build compiles the inference variants and the training kernels with binaryen. */
const buildModule = (name: string, dirName = name) => buildIn(work, name, dirName, undefined, "wasm");
const BUILD_TIMEOUT = 120_000;

/** The names a Wasm binary exports, read from its export section (no compilation: Node 20 cannot compile relaxed SIMD). */
function exportNames(bin: Uint8Array): string[] {
  let at = 8;
  const leb = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bin[at++];
      v |= (b & 0x7f) << shift;
      if (b < 0x80) return v >>> 0;
    }
  };
  while (at < bin.length) {
    const id = bin[at++];
    const size = leb();
    if (id !== 7) {
      at += size;
      continue;
    }
    const names: string[] = [];
    for (let n = leb(); n > 0; n--) {
      const len = leb();
      names.push(new TextDecoder().decode(bin.subarray(at, at + len)));
      at += len + 1; // the name, then the export's kind
      leb(); // its index
    }
    return names;
  }
  return [];
}

describe("trainer({ backend: \"wasm\" }) against PyTorch (test/train-parity.test.ts's fixtures)", () => {
  for (const c of PARITY_CASES) {
    it(`${c.name}: losses before and weights after 3 AdamW steps`, async () => {
      const { m, mod } = await buildModule(c.name);
      const r = await pytorchRun(mod, m, c, { backend: "wasm" });
      expect(r.steps).toEqual([1, 2, 3]);
      r.lossErrors.forEach((e, s) => expect(e, `loss before step ${s + 1}`).toBeLessThan(1e-5));
      expect(r.worst).toBeLessThan(1e-5);
      expect(r.skipped / r.tensors).toBeLessThan(10);
      console.log(`${c.name} through trainer({ backend: "wasm" }): losses within ${Math.max(...r.lossErrors).toExponential(1)} relative, weights after 3 AdamW steps within ${r.worst.toExponential(2)} of PyTorch (${r.skipped} near-zero-gradient elements left out)`);
    }, BUILD_TIMEOUT);
  }
});

describe("the wasm trainer of a package against its reference trainer, and the prebuilt kernels", () => {
  let m: ModelInfo;
  let mod: any;
  let dir: string;
  let hf: Uint8Array;
  const rng = mulberry32(3);
  const batches = [0, 1].map(() => ({ tokens: Int32Array.from({ length: 2 * 13 }, () => Math.floor(rng() * 12)), batch: 2 }));
  const opts = { map: "gpt2", steps: 6, lr: 1e-3, labelSmoothing: 0.1, dropout: 0.1, weightDecay: 0.05, seed: 7 };
  const config: TrainConfig = { steps: 6, batch: 0, seq: 0, schedule: "cosine", lr: 1e-3, warmup: 1, minLrRatio: 0.1, optimizer: "adamw", betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.05, clip: 1, labelSmoothing: 0.1, dropout: 0.1, seed: 7 };
  /** batches[k] as src/train binds it: next-token windows [2, 12]. */
  const bound = (k: number) => {
    const { tokens } = batches[k];
    const shifted = (from: number) => Int32Array.from({ length: 24 }, (_, i) => tokens[Math.floor(i / 12) * 13 + (i % 12) + from]);
    return bindBatch(m, new Map([["tokens", { data: shifted(0), shape: [2, 12] }]]), shifted(1));
  };
  const start = () => applyNameMap("gpt2", parseSafetensors(hf), m);

  beforeAll(async () => {
    ({ m, mod, dir } = await buildModule("tiny-gpt2"));
    hf = weightsOnly(parseSafetensors(readFileSync("test/fixtures/tiny-gpt2.safetensors")));
  }, BUILD_TIMEOUT);

  it("the same batches: losses within 1e-4 relative, weights within 4e-4", async () => {
    const [w, r] = await Promise.all([mod.trainer(hf, { ...opts, backend: "wasm" }), mod.trainer(hf, { ...opts, backend: "reference" })]);
    let lossErr = 0;
    for (let s = 0; s < 6; s++) {
      const [a, b] = [await w.trainStep(batches[s % 2]), await r.trainStep(batches[s % 2])];
      lossErr = Math.max(lossErr, Math.abs(a.loss - b.loss) / b.loss);
    }
    // Elements whose first gradient is rounding noise (the key biases: softmax ignores a shift
    // of a row's scores) are left out, as against PyTorch: Adam turns noise into full-size steps.
    // The worst element left at lr 1e-3 (decoder.0.attn.o.weight[246]; the gap scales with the
    // rate) moves with the kernels' float32 summation order, which Adam amplifies: 7.6e-5 with
    // row-at-a-time attention, 1.9e-4 with only its four-key p·v sums reordered, 2.3e-4 with
    // the blocked kernel.
    const g0 = (await new Trainer(m, config, start()).engine.lossAndGrads(start(), bound(0), { train: false, smoothing: 0.1 })).grads;
    const floor = 1e-6 * Math.max(...[...g0.values()].map(maxAbs));
    const [ga, gb] = [parseSafetensors(w.weights()), parseSafetensors(r.weights())];
    let worst = 0;
    let skipped = 0;
    for (const { name } of weightLayout(m)) {
      const [a, b, g] = [ga.f32(name), gb.f32(name), g0.get(name)!];
      for (let i = 0; i < b.length; i++) {
        if (g[i] !== 0 && Math.abs(g[i]) < floor) skipped++;
        else worst = Math.max(worst, Math.abs(a[i] - b[i]));
      }
    }
    expect(lossErr).toBeLessThan(1e-4);
    expect(worst).toBeLessThan(4e-4);
    expect(skipped).toBeLessThan(200);
    console.log(`tiny-gpt2, 6 steps (dropout 0.1, label smoothing 0.1): wasm trainer's losses within ${lossErr.toExponential(1)} relative, weights within ${worst.toExponential(1)} of the reference trainer's (${skipped} near-zero-gradient elements left out)`);
  });

  it("train.wasm and train.relaxed.wasm hold exactly the listed kernels", () => {
    const index = readFileSync(join(dir, "index.js"), "utf8");
    const manifest = JSON.parse(JSON.parse(index.match(/const manifest = JSON\.parse\((".*")\);\n/)![1]));
    const listed = modelTrainKernels(m).flatMap((k) => Object.values(kernelExports(k))).sort();
    expect(listed.length).toBeGreaterThan(10);
    for (const [role, file] of [["train:plain", "train.wasm"], ["train:relaxed", "train.relaxed.wasm"]]) {
      expect(manifest.artifacts[role]).toBe(file);
      expect(exportNames(readFileSync(join(dir, file))).sort(), file).toEqual(listed);
    }
  });

  it("a prebuilt WasmTrainKernels gives the lazy one's weights bit for bit; a missing kernel is named", async () => {
    const run = async (kernels: WasmTrainKernels) => {
      const tr = new Trainer(m, config, start(), undefined, kernels);
      for (let s = 0; s < 6; s++) await tr.update(bound(s % 2));
      return tr.params;
    };
    const prebuilt = new WasmTrainKernels(await instantiateTrainModule(readFileSync(join(dir, "train.wasm"))), false);
    const [a, b] = [await run(prebuilt), await run(new WasmTrainKernels(undefined, false))];
    let differing = 0;
    for (const [name, w] of b) for (let i = 0; i < w.length; i++) if (a.get(name)![i] !== w[i]) differing++;
    expect(differing).toBe(0);
    // tiny-gpt2 has no 7 → 5 linear: its module has no such kernel.
    expect(() => prebuilt.linearForward(new Float64Array(7), 1, 7, new Float32Array(35), null, 5)).toThrow(/^wasm training: the prebuilt kernel module has no kernel mm_k7_n5, which this program needs/);
  });

  it("the default backend is wasm; a reference package has no train.wasm and says so in one line", async () => {
    const steps = async (pkg: any, o: object) => {
      const t = await pkg.trainer(hf, { ...opts, ...o });
      const out = [];
      for (let s = 0; s < 2; s++) out.push((await t.trainStep(batches[s])).loss);
      return out;
    };
    const [byDefault, wasm, reference] = await Promise.all([steps(mod, {}), steps(mod, { backend: "wasm" }), steps(mod, { backend: "reference" })]);
    expect(byDefault).toEqual(wasm);
    expect(wasm).not.toEqual(reference);
    const { dir: refDir, mod: refPkg } = await buildIn(work, "tiny-gpt2", "tiny-gpt2-reference");
    expect(existsSync(join(refDir, "train.wasm"))).toBe(false);
    expect(await steps(refPkg, {})).toEqual(reference);
    await expect(refPkg.trainer(hf, { ...opts, backend: "wasm" })).rejects.toThrow(/^trainer\(\): backend "wasm" trains on the Wasm kernels a wasm package ships \(train.wasm\); this package is built for reference: build it with --target wasm/);
  });
});
