// Mamba's training kernels on every target against the float64 reference kernels
// (backends/reference/backward/ssm.ts, themselves checked by finite differences in
// test/ssm.test.ts):
//   - each kernel — conv forward / backward, scan forward / backward — on the Wasm SIMD
//     kernels (plain SIMD128, and relaxed where this engine has it) and the WebGPU kernels, on
//     odd shapes: channels not a multiple of 4 and past one workgroup (70), state 1 / 2 / 16,
//     dt rank 1 and > 1, conv widths 2 and 4, batch 2, seq 1 and 37, with and without a conv
//     bias, some gradients not asked for; gradients accumulate into what the arrays held.
//     Bound: max |error| ≤ 1e-5 × max |reference| (f32 inside, float64 out);
//   - the training engine on a hybrid Mamba / attention model: the fixture model of
//     test/ssm.test.ts (weights and tokens of scripts/make-ssm-fixtures.py: its logits match
//     PyTorch's within 1e-4 through the training engine's forward on wasm too) and a model of
//     odd widths (inner 15, state 16, dt rank 3), wasm (1 and 2 threads), WebGpuTrainKernels and
//     the WebGPU SSM kernels alone (the other ops on the reference) against the reference engine: loss within 1e-6 relative, every gradient within
//     1e-4 of its tensor's scale;
//   - a packaged Mamba trains on wasm: the model's kernel set lists the SSM kernels, and a
//     prebuilt module of the set gives the lazily compiled kernels' results bit for bit.
// WebGPU runs wherever an adapter is found (llvmpipe in CI); with CI set, no adapter fails.
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ssmConvBackward, ssmConvForward, ssmScanBackward, ssmScanForward, type ConvDims, type ScanDims, type ScanParams } from "../backends/reference/backward/index.ts";
import { relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { compileTrainModules } from "../backends/wasm/train/compile-kernels.ts";
import { kernelName } from "../backends/wasm/train/kernel-names.ts";
import { modelTrainKernels } from "../backends/wasm/train/kernel-set.ts";
import { WasmTrainKernels } from "../backends/wasm/train/kernels.ts";
import { instantiateTrainModule } from "../backends/wasm/train/prebuilt.ts";
import { WebGpuTrainKernels } from "../backends/wgsl/train/kernels.ts";
import { gpuSsmConvBackward, gpuSsmConvForward, gpuSsmScanBackward, gpuSsmScanForward } from "../backends/wgsl/train/ssm-gpu.ts";
import { checkSource } from "../src/check/check.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import { parseSafetensors, writeSafetensors } from "../src/runtime/safetensors.ts";
import { differentiate } from "../src/train/autodiff.ts";
import { bindBatch } from "../src/train/data.ts";
import { TrainingEngine, type Batch } from "../src/train/engine.ts";
import { trainingGraph } from "../src/train/graph.ts";
import { referenceKernels, type TrainKernels } from "../src/train/kernels.ts";
import { normals, streamRng } from "../src/train/rng.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { maxRelError } from "./helpers/rel-error.ts";

const device = await gpuDevice();
afterAll(() => device?.destroy());

type Ssm = Pick<TrainKernels, "ssmConvForward" | "ssmConvBackward" | "ssmScanForward" | "ssmScanBackward">;

/** The WebGPU SSM kernels (ssm-gpu.ts) behind TrainKernels' ssm methods, the rest the reference's. */
const gpuKernels = (dev: GPUDevice): TrainKernels => ({
  ...referenceKernels,
  target: "webgpu",
  ssmConvForward: (...a) => gpuSsmConvForward(dev, ...a),
  ssmConvBackward: (...a) => gpuSsmConvBackward(dev, ...a),
  ssmScanForward: (...a) => gpuSsmScanForward(dev, ...a),
  ssmScanBackward: (...a) => gpuSsmScanBackward(dev, ...a),
});

const FLAVOURS: Array<[string, () => Ssm]> = [
  ["wasm simd128", () => new WasmTrainKernels(undefined, false)],
  ...(relaxedSimdSupported() ? ([["wasm relaxed", () => new WasmTrainKernels(undefined, true)]] as Array<[string, () => Ssm]>) : []),
  ...(device ? ([["webgpu", () => new WebGpuTrainKernels(device)]] as Array<[string, () => Ssm]>) : []),
];
if (!device) console.warn("train-ssm-kernels: no WebGPU adapter; the webgpu kernels are not run here");

const uniform = (seed: number) => {
  const r = streamRng(seed);
  return (n: number, scale = 1) => Float64Array.from({ length: n }, () => (2 * r() - 1) * scale);
};
const BOUND = 1e-5;
/** Gradient buffers holding `init` (they must come back as init + the kernel's gradient). */
const filled = (init: Float64Array | null) => (init === null ? null : Float64Array.from(init));

const CONV_CASES: Array<[string, ConvDims, boolean]> = [
  ["6 channels, width 4, batch 2 × 37", { batch: 2, seq: 37, rowWidth: 12, channels: 6, width: 4 }, true],
  ["5 channels, width 2, batch 2 × 1", { batch: 2, seq: 1, rowWidth: 10, channels: 5, width: 2 }, true],
  ["70 channels, width 4, batch 2 × 37, no bias", { batch: 2, seq: 37, rowWidth: 140, channels: 70, width: 4 }, false],
  ["7 channels in rows of 9, width 3, batch 1 × 5", { batch: 1, seq: 5, rowWidth: 9, channels: 7, width: 3 }, true],
];

const SCAN_CASES: Array<[string, ScanDims]> = [
  ["6 channels, state 1, dt rank 1, batch 2 × 37", { batch: 2, seq: 37, inner: 6, stateSize: 1, dtRank: 1 }],
  ["5 channels, state 2, dt rank 3, batch 2 × 1", { batch: 2, seq: 1, inner: 5, stateSize: 2, dtRank: 3 }],
  ["7 channels, state 16, dt rank 2, batch 2 × 37", { batch: 2, seq: 37, inner: 7, stateSize: 16, dtRank: 2 }],
  ["70 channels, state 16, dt rank 4, batch 2 × 37", { batch: 2, seq: 37, inner: 70, stateSize: 16, dtRank: 4 }],
];

describe.each(FLAVOURS)("%s SSM kernels against the reference", (_, make) => {
  it.each(CONV_CASES)("conv forward and backward: %s", async (_c, d, withBias) => {
    const k = make();
    const r = uniform(d.channels * d.seq + d.width);
    const rows = d.batch * d.seq;
    const x = Float32Array.from(r(rows * d.rowWidth));
    const w = Float32Array.from(r(d.channels * d.width, 0.7));
    const bias = withBias ? Float32Array.from(r(d.channels, 0.3)) : null;
    expect(maxRelError(await k.ssmConvForward(x, d, w, bias), ssmConvForward(x, d, w, bias)), "forward").toBeLessThan(BOUND);
    const dOut = r(rows * d.channels);
    const init = [r(x.length), r(w.length), withBias ? r(d.channels) : null];
    const want = init.map(filled);
    const got = init.map(filled);
    ssmConvBackward(dOut, x, d, w, bias, want[0], want[1], want[2]);
    await k.ssmConvBackward(dOut, x, d, w, bias, got[0], got[1], got[2]);
    ["dx", "dw", "dbias"].forEach((name, i) => {
      if (want[i] !== null) expect(maxRelError(got[i]!, want[i]!), name).toBeLessThan(BOUND);
    });
    // Only dw asked for: the others stay untouched (null), dw as before.
    const dwOnly = new Float64Array(w.length);
    await k.ssmConvBackward(dOut, x, d, w, bias, null, dwOnly, null);
    const dwWant = new Float64Array(w.length);
    ssmConvBackward(dOut, x, d, w, bias, null, dwWant, null);
    expect(maxRelError(dwOnly, dwWant), "dw alone").toBeLessThan(BOUND);
  });

  it.each(SCAN_CASES)("scan forward and backward: %s", async (_c, dims) => {
    const k = make();
    const { batch, seq, inner: E, stateSize: N, dtRank: R } = dims;
    const rows = batch * seq;
    const r = uniform(E * 100 + N * 10 + R);
    const u = Float32Array.from(r(rows * E));
    const proj = Float32Array.from(r(rows * (R + 2 * N)));
    const z = Float32Array.from(r(rows * 2 * E, 2));
    // dt biases spread over softplus' whole range, A_log as HF initialises it (log 1 … log N) ± noise.
    const w: ScanParams = {
      dtWeight: Float32Array.from(r(E * R, 0.5)),
      dtBias: Float32Array.from(r(E, 3)),
      aLog: Float32Array.from({ length: E * N }, (_, i) => Math.log(1 + (i % N)) + 0.2 * Math.sin(i)),
      d: Float32Array.from(r(E)),
    };
    expect(maxRelError(await k.ssmScanForward(u, proj, z, dims, w), ssmScanForward(u, proj, z, dims, w)), "forward").toBeLessThan(BOUND);
    const dOut = r(rows * E);
    const names = ["u", "proj", "z", "dtWeight", "dtBias", "aLog", "d"] as const;
    const sizes = { u: u.length, proj: proj.length, z: z.length, dtWeight: E * R, dtBias: E, aLog: E * N, d: E };
    const init = Object.fromEntries(names.map((n) => [n, r(sizes[n])])) as Record<(typeof names)[number], Float64Array>;
    const grads = () => Object.fromEntries(names.map((n) => [n, Float64Array.from(init[n])])) as Record<(typeof names)[number], Float64Array>;
    const want = grads();
    const got = grads();
    ssmScanBackward(dOut, u, proj, z, dims, w, want);
    await k.ssmScanBackward(dOut, u, proj, z, dims, w, got);
    for (const n of names) {
      // Each gradient's own scale, not the initial values': those would hide a wrong increment.
      const inc = (g: Float64Array) => g.map((v, i) => v - init[n][i]);
      expect(maxRelError(inc(got[n]), inc(want[n]), 1e-12), n).toBeLessThan(BOUND);
    }
    // Only the parameters' gradients asked for.
    const some = { u: null, proj: null, z: null, dtWeight: new Float64Array(E * R), dtBias: null, aLog: new Float64Array(E * N), d: null };
    await k.ssmScanBackward(dOut, u, proj, z, dims, w, some);
    expect(maxRelError(some.aLog, inc0(want.aLog, init.aLog), 1e-12), "aLog alone").toBeLessThan(BOUND);
    expect(maxRelError(some.dtWeight, inc0(want.dtWeight, init.dtWeight), 1e-12), "dtWeight alone").toBeLessThan(BOUND);
  });
});

const inc0 = (g: Float64Array, init: Float64Array) => g.map((v, i) => v - init[i]);

// ---- the engine ---------------------------------------------------------------------------------

function checked(text: string): ModelInfo {
  const r = checkSource(text, "ssm-train.sf");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.entry || errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("; "));
  return r.entry;
}

/** test/ssm.test.ts's "ssm-hybrid" case, whose fixture holds PyTorch's logits. */
const HYBRID = checked(`
model hybrid {
  dims { vocab = 101, d = 32, layers = 3, context = 32 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position rope(base = 10000)
  stack layers × (ssm × 2, attn) {
    layer ssm {
      norm rms(eps = 1e-5)
      ssm mamba(state = 4, conv = 3, bias = true, conv_bias = false)
    }
    layer attn {
      norm rms(eps = 1e-5)
      attention self(heads = 4, kv_heads = 2, mask = causal)
      norm rms(eps = 1e-5)
      mlp(hidden = 64, act = swiglu, bias = false)
    }
  }
  norm rms(eps = 1e-5)
  head tied
}`);

/** Odd widths: inner 15 (expand 1.5 of 10), state 16, dt rank 3, conv 2; an attention layer between. */
const ODD = checked(`
model odd {
  dims { vocab = 23, d = 10, layers = 3, context = 64 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  stack layers × (s, a, t) {
    layer s { norm rms(eps = 1e-5)  ssm mamba(state = 16, conv = 2, expand = 1.5, dt_rank = 3) }
    layer a { norm rms(eps = 1e-5)  attention self(heads = 2, mask = causal)  norm rms(eps = 1e-5)  mlp(hidden = 20, act = gelu) }
    layer t { norm rms(eps = 1e-5)  ssm mamba(state = 1, conv = 4, expand = 1.5, dt_rank = 1) }
  }
  norm rms(eps = 1e-5)
  head tied
}`);

function hybridFixture(): { params: Map<string, Float32Array>; batch: Batch; logits: Float32Array } {
  const file = parseSafetensors(readFileSync("test/fixtures/ssm-hybrid.safetensors"));
  const names = new Set(weightLayout(HYBRID).map((t) => t.name));
  const keep = [...file.tensors.values()].filter((t) => names.has(t.name));
  const params = bindWeights(HYBRID, parseSafetensors(writeSafetensors(keep.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: file.raw(t.name) })))));
  const tokens = file.i32("input.tokens");
  const shape = file.get("input.tokens").shape;
  const targets = Int32Array.from(tokens, (_, i) => tokens[(i + 7) % tokens.length]);
  return { params, batch: bindBatch(HYBRID, new Map([["tokens", { data: tokens, shape }]]), targets), logits: file.f32("expected.logits") };
}

/** N(0, 1/fan_in) matrices and taps, N(0, 1) tables, 1-D tensors U(0.5, 1.5) (biases N(0, 0.1²)); batch 2 × 37. */
function oddCase(): { params: Map<string, Float32Array>; batch: Batch } {
  const n = normals(streamRng(11, 1));
  const u01 = streamRng(11, 2);
  const params = new Map<string, Float32Array>();
  for (const t of weightLayout(ODD)) {
    const a = new Float32Array(t.shape.reduce((x, y) => x * y, 1));
    const fanIn = t.shape[t.shape.length - 1];
    for (let i = 0; i < a.length; i++) a[i] = t.shape.length === 1 ? (t.name.endsWith(".bias") ? 0.1 * n() : 0.5 + u01()) : t.name.startsWith("embed.") ? n() : n() / Math.sqrt(fanIn);
    params.set(t.name, a);
  }
  const rng = streamRng(11, 3);
  const ids = () => Int32Array.from({ length: 2 * 37 }, () => Math.floor(rng() * 23));
  return { params, batch: bindBatch(ODD, new Map([["tokens", { data: ids(), shape: [2, 37] }]]), ids()) };
}

const ENGINE_TARGETS: Array<[string, () => TrainKernels & { close?: () => void; dispose?: () => void }]> = [
  ["wasm", () => new WasmTrainKernels(undefined, false)],
  ["wasm, 2 threads", () => new WasmTrainKernels(undefined, false, { threads: 2, minSplit: 0 })],
  ...(device
    ? ([
        ["webgpu (WebGpuTrainKernels)", () => new WebGpuTrainKernels(device)],
        ["webgpu SSM kernels, the rest reference", () => gpuKernels(device)],
      ] as Array<[string, () => TrainKernels]>)
    : []),
];
const CASES: Array<[string, ModelInfo, () => { params: Map<string, Float32Array>; batch: Batch }]> = [
  ["the hybrid fixture model (state 4, conv 3, dt rank 2, GQA attention)", HYBRID, hybridFixture],
  ["odd widths (inner 15, state 16 and 1, dt rank 3 and 1, conv 2 and 4), batch 2 × 37", ODD, oddCase],
];

describe.each(ENGINE_TARGETS)("training engine on %s against the reference engine", (target, make) => {
  it.each(CASES)("%s: loss and every gradient", async (_name, m, data) => {
    const { params, batch } = data();
    const program = differentiate(trainingGraph(m));
    const kernels = make();
    try {
      const want = await new TrainingEngine(program, referenceKernels).lossAndGrads(params, batch, { train: true, smoothing: 0.1 });
      const got = await new TrainingEngine(program, kernels).lossAndGrads(params, batch, { train: true, smoothing: 0.1 });
      const lossErr = Math.abs(got.loss - want.loss) / want.loss;
      expect(lossErr, "loss").toBeLessThan(1e-6);
      let worst: [string, number] = ["", 0];
      for (const t of weightLayout(m)) {
        const e = maxRelError(got.grads.get(t.name)!, want.grads.get(t.name)!, 1e-12);
        if (e > worst[1]) worst = [t.name, e];
      }
      console.log(`${target}, ${m.name}: loss rel err ${lossErr.toExponential(1)}, worst gradient ${worst[0]} ${worst[1].toExponential(2)}`);
      expect(worst[1], `worst gradient: ${worst[0]}`).toBeLessThan(1e-4);
    } finally {
      kernels.close?.();
      kernels.dispose?.();
    }
  });
});

it("the training engine's forward on wasm gives PyTorch's logits for the hybrid fixture (1e-4)", async () => {
  const { params, batch, logits } = hybridFixture();
  const tape = await new TrainingEngine(differentiate(trainingGraph(HYBRID)), new WasmTrainKernels(undefined, false)).forward(params, batch, { train: false });
  expect(maxRelError(tape.logits, logits)).toBeLessThan(1e-4);
});

describe("a packaged Mamba trains on wasm", () => {
  it("the kernel set lists each conv and scan, and a prebuilt module gives the lazy kernels' results bit for bit", async () => {
    const set = modelTrainKernels(ODD).map(kernelName);
    expect(set).toEqual(expect.arrayContaining(["ssm_conv_fwd_e15_k2", "ssm_conv_fwd_e15_k4", "ssm_scan_fwd_e15_n16_r3", "ssm_scan_fwd_e15_n1_r1"]));
    const prebuilt = await instantiateTrainModule(compileTrainModules(modelTrainKernels(ODD)).plain);
    const { params, batch } = oddCase();
    const program = differentiate(trainingGraph(ODD));
    const lazy = await new TrainingEngine(program, new WasmTrainKernels(undefined, false)).lossAndGrads(params, batch, { train: true, smoothing: 0 });
    const built = await new TrainingEngine(program, new WasmTrainKernels(prebuilt, false)).lossAndGrads(params, batch, { train: true, smoothing: 0 });
    expect(built.loss).toBe(lazy.loss);
    for (const [name, g] of lazy.grads) expect(built.grads.get(name), name).toEqual(g);
  });
});

