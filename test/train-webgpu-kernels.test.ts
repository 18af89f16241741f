// The WebGPU training kernels (backends/wgsl/train) one call at a time against the float64
// reference kernels, in both variants (register / walk, llvmpipe's, and tiles, the GPU's, with
// every dW reduction cut into 3 slices), on shapes off the tiles' edges: rows, dims and
// sequences that are not multiples of any tile, head dims not a multiple of 4, several key
// and query blocks. Bounds: 1e-5 of each tensor's largest value (float32 arithmetic against
// float64), 2e-5 for attention. Gradients accumulate into arrays that already hold values.
// Also: the exact-GELU erfc's absolute error, the fallback rule, the buffer pool.

import { afterAll, describe, expect, it } from "vitest";
import type { TrainAttentionOptions } from "../backends/reference/backward/index.ts";
import type { Activation } from "../backends/reference/kernels/activation.ts";
import type { AttentionDims } from "../backends/reference/kernels/shape.ts";
import { WebGpuTrainKernels } from "../backends/wgsl/train/kernels.ts";
import { mulberry32 } from "../src/runtime/sample.ts";
import { referenceKernels as ref } from "../src/train/kernels.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { maxRelError } from "./helpers/rel-error.ts";

const device = await gpuDevice();
const variants: Array<[string, WebGpuTrainKernels]> = device
  ? [
      ["register/walk", new WebGpuTrainKernels(device, { tiles: false })],
      ["tiles, 3 dW slices", new WebGpuTrainKernels(device, { tiles: true, slices: 3 })],
    ]
  : [];
/** The worst error of each kernel seen in this file, printed at the end (the report's parity figures). */
const worst = new Map<string, number>();
afterAll(() => {
  if (worst.size > 0) console.log(`worst relative errors vs the float64 reference: ${[...worst].map(([n, e]) => `${n} ${e.toExponential(1)}`).join(", ")}`);
  for (const [, k] of variants) k.dispose();
  device?.destroy();
});

function rand(n: number, seed: number, scale = 1): Float64Array {
  const rng = mulberry32(seed);
  return Float64Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

/** max |got − want| / max |want|: relative to the tensor's scale. */
const rel = (got: ArrayLike<number>, want: ArrayLike<number>): number => maxRelError(got, want, 1e-12);
/** rel(), recorded under `what`. */
function err(what: string, got: ArrayLike<number>, want: ArrayLike<number>): number {
  const e = rel(got, want);
  worst.set(what, Math.max(worst.get(what) ?? 0, e));
  return e;
}

describe.skipIf(!device)("WebGPU training kernels vs the reference", () => {
  describe.each(variants)("%s", (_, k) => {
    const linearShapes: Array<[number, number, number]> = [
      [5, 12, 7],
      [70, 36, 130],
      [33, 65, 9],
      [200, 36, 130], // register: 2 automatic dW slices
    ];

    it("linear forward (x float64 and float32, with and without bias)", async () => {
      for (const [rows, inDim, outDim] of linearShapes) {
        const x = rand(rows * inDim, 1);
        const w = Float32Array.from(rand(outDim * inDim, 2));
        const b = Float32Array.from(rand(outDim, 3));
        for (const [xs, bias] of [[x, b], [Float32Array.from(x), null]] as const) {
          const got = await k.linearForward(xs, rows, inDim, w, bias, outDim);
          expect(got).toBeInstanceOf(Float64Array);
          const e = err("linear forward", got, ref.linearForward(xs, rows, inDim, w, bias, outDim));
          expect(e, `${rows}×${inDim}→${outDim}`).toBeLessThan(1e-5);
        }
      }
    });

    it("linear backward: dx, dW, db accumulated, each only where given", async () => {
      for (const [rows, inDim, outDim] of linearShapes) {
        const x = rand(rows * inDim, 4);
        const w = Float32Array.from(rand(outDim * inDim, 5));
        const dy = rand(rows * outDim, 6);
        const init = [rand(rows * inDim, 7), rand(outDim * inDim, 8), rand(outDim, 9)];
        const got = init.map((a) => Float64Array.from(a));
        const want = init.map((a) => Float64Array.from(a));
        await k.linearBackward(dy, x, rows, inDim, w, outDim, got[0], got[1], got[2]);
        ref.linearBackward(dy, x, rows, inDim, w, outDim, want[0], want[1], want[2]);
        ["dx", "dW", "db"].forEach((n, i) => expect(err(n, got[i], want[i]), `${n} ${rows}×${inDim}→${outDim}`).toBeLessThan(1e-5));
        // Only dW: dx and db untouched (null), dW matches.
        const only = Float64Array.from(init[1]);
        await k.linearBackward(dy, x, rows, inDim, w, outDim, null, only, null);
        expect(rel(only, want[1])).toBeLessThan(1e-5);
      }
    });

    it("activations and their derivatives", async () => {
      const x = rand(1000, 10, 8);
      const dy = rand(1000, 11);
      for (const act of ["relu", "gelu", "gelu_tanh", "silu"] as Activation[]) {
        expect(err(act, await k.activationForward(x, act), ref.activationForward(x, act)), act).toBeLessThan(1e-5);
        expect(err(`${act}'`, await k.activationGrad(dy, x, act), ref.activationGrad(dy, x, act)), `${act}'`).toBeLessThan(1e-5);
      }
    });
  });

  it("exact GELU (erfc approximation): absolute error ≤ 1e-6 on [-10, 10], forward and derivative", async () => {
    const k = variants[0][1];
    // float32 inputs, so the error is the kernel's and not the input's rounding.
    const x = Float32Array.from({ length: 40001 }, (_, i) => -10 + i * 5e-4);
    const ones = new Float64Array(x.length).fill(1);
    let fwd = 0;
    let grad = 0;
    const y = await k.activationForward(x, "gelu");
    const g = await k.activationGrad(ones, x, "gelu");
    const ry = ref.activationForward(x, "gelu");
    const rg = ref.activationGrad(ones, x, "gelu");
    for (let i = 0; i < x.length; i++) {
      fwd = Math.max(fwd, Math.abs(y[i] - ry[i]));
      grad = Math.max(grad, Math.abs(g[i] - rg[i]));
    }
    console.log(`exact GELU on llvmpipe-or-GPU: max abs error ${fwd.toExponential(2)} (forward), ${grad.toExponential(2)} (derivative) over ${x.length} points of [-10, 10]`);
    expect(fwd).toBeLessThanOrEqual(1e-6);
    expect(grad).toBeLessThanOrEqual(1e-6);
  });
});

interface AttnCase {
  name: string;
  dims: AttentionDims;
  o: Omit<TrainAttentionOptions, "keyMask"> & { mask?: "random" | "second-row-empty" };
}

const d = (batch: number, seqQ: number, seqK: number, heads: number, kvHeads: number, headDim: number): AttentionDims => ({ batch, seqQ, seqK, heads, kvHeads, headDim });
const ATTENTION: AttnCase[] = [
  { name: "causal", dims: d(2, 37, 37, 4, 4, 16), o: { causal: true, alibi: false } },
  { name: "causal window 5, GQA 4/2", dims: d(2, 37, 37, 4, 2, 16), o: { causal: true, window: 5, alibi: false } },
  { name: "two-sided window 4", dims: d(1, 41, 41, 2, 2, 8), o: { causal: false, window: 4, alibi: false } },
  { name: "Hard-ALiBi: per-head windows + ALiBi on the free heads", dims: d(2, 37, 37, 4, 4, 8), o: { causal: true, alibi: true, headWindows: [0, 3, 0, 9] } },
  { name: "ALiBi, MQA 4/1", dims: d(2, 37, 37, 4, 1, 16), o: { causal: true, alibi: true } },
  { name: "soft-cap 3, scale 0.3", dims: d(2, 37, 37, 2, 2, 16), o: { causal: true, alibi: false, softcap: 3, scale: 0.3 } },
  { name: "padding mask, one sequence all padding (rows see no key)", dims: d(2, 21, 21, 2, 2, 8), o: { causal: false, alibi: false, mask: "second-row-empty" } },
  { name: "causal, GQA 4/2, padding mask", dims: d(2, 37, 37, 4, 2, 8), o: { causal: true, alibi: false, mask: "random" } },
  { name: "cross attention 13 → 29 keys, GQA 4/2, padding mask", dims: d(2, 13, 29, 4, 2, 16), o: { causal: false, alibi: false, mask: "random" } },
  { name: "causal, 29 queries over 13 keys", dims: d(2, 29, 13, 2, 2, 8), o: { causal: true, alibi: false } },
  { name: "head dim 6 (scalar rows)", dims: d(2, 19, 19, 2, 1, 6), o: { causal: true, alibi: false } },
  { name: "head dim 64, 90 keys: several key and query blocks, window 40", dims: d(1, 90, 90, 2, 1, 64), o: { causal: true, window: 40, alibi: false } },
];

function options(c: AttnCase, seed: number): TrainAttentionOptions {
  const { mask, ...o } = c.o;
  if (mask === undefined) return o;
  const { batch, seqK } = c.dims;
  const rng = mulberry32(seed);
  const keyMask = Uint8Array.from({ length: batch * seqK }, (_, i) => (mask === "second-row-empty" && i >= seqK ? 0 : rng() < 0.7 ? 1 : 0));
  return { ...o, keyMask };
}

/** rel() over the finite entries; -Infinity (rows that see no key) must match exactly. */
function lseError(got: Float64Array, want: Float64Array): number {
  for (let i = 0; i < want.length; i++) if ((want[i] === -Infinity) !== (got[i] === -Infinity)) return Infinity;
  const keep = (a: Float64Array) => a.filter((_, i) => want[i] !== -Infinity);
  return err("attention lse", keep(got), keep(want));
}

describe.skipIf(!device)("WebGPU training attention vs the reference", () => {
  describe.each(variants)("%s", (_, k) => {
    for (const c of ATTENTION) {
      it(c.name, async () => {
        const { batch, seqQ, seqK, heads, kvHeads, headDim } = c.dims;
        const q = rand(batch * seqQ * heads * headDim, 21);
        const kk = rand(batch * seqK * kvHeads * headDim, 22);
        const v = rand(batch * seqK * kvHeads * headDim, 23);
        const o = options(c, 24);
        const got = await k.attentionForward(q, kk, v, c.dims, o);
        const want = ref.attentionForward(q, kk, v, c.dims, o);
        expect(err("attention out", got.out, want.out), "out").toBeLessThan(2e-5);
        expect(lseError(got.lse, want.lse), "lse").toBeLessThan(2e-5);
        const dOut = rand(q.length, 25);
        const init = [rand(q.length, 26), rand(kk.length, 27), rand(v.length, 28)];
        const g = init.map((a) => Float64Array.from(a));
        const r = init.map((a) => Float64Array.from(a));
        await k.attentionBackward(q, kk, v, got.out, got.lse, dOut, c.dims, o, g[0], g[1], g[2]);
        ref.attentionBackward(q, kk, v, want.out, want.lse, dOut, c.dims, o, r[0], r[1], r[2]);
        // Against the increments, so the initial values do not dilute the error.
        const inc = (a: Float64Array, i: number) => a.map((x, j) => x - init[i][j]);
        ["dq", "dk", "dv"].forEach((n, i) => expect(err(`attention ${n}`, inc(g[i], i), inc(r[i], i)), n).toBeLessThan(2e-5));
        // dk / dv only.
        const dk = new Float64Array(kk.length);
        await k.attentionBackward(q, kk, v, got.out, got.lse, dOut, c.dims, o, null, dk, null);
        expect(rel(dk, inc(r[1], 1)), "dk alone").toBeLessThan(2e-5);
      });
    }

    it("block-sparse patterns and attention-weight dropout run the reference kernel (bit for bit)", async () => {
      const dims = d(1, 24, 24, 2, 2, 8);
      const q = rand(24 * 16, 31);
      const kk = rand(24 * 16, 32);
      const v = rand(24 * 16, 33);
      const cases: TrainAttentionOptions[] = [
        { causal: true, alibi: false, sparse: { kind: "block", block: 4, local: 1, global: 1 } },
        { causal: true, alibi: false, sparse: { kind: "strided", stride: 5 } },
        { causal: true, alibi: false, dropout: { p: 0.2, seed: 1, step: 2, node: 3 } },
      ];
      for (const o of cases) {
        const got = await k.attentionForward(q, kk, v, dims, o);
        const want = ref.attentionForward(q, kk, v, dims, o);
        expect(Array.from(got.out)).toEqual(Array.from(want.out));
        const g = new Float64Array(q.length);
        const r = new Float64Array(q.length);
        await k.attentionBackward(q, kk, v, want.out, want.lse, v, dims, o, g, null, null);
        ref.attentionBackward(q, kk, v, want.out, want.lse, v, dims, o, r, null, null);
        expect(Array.from(g)).toEqual(Array.from(r));
      }
    });
  });

  it("reuses pooled buffers across calls", async () => {
    const k = variants[0][1];
    const before = k.gpu.pool.created;
    const x = rand(40 * 24, 41);
    const w = Float32Array.from(rand(24 * 24, 42));
    for (let i = 0; i < 4; i++) await k.linearForward(x, 40, 24, w, null, 24);
    expect(k.gpu.pool.created - before).toBeLessThanOrEqual(5); // x, w, y, the uniform and the read-back: once each, on the first call
    expect(k.gpu.pool.reused).toBeGreaterThan(0);
  });
});
