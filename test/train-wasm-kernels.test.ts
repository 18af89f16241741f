// The wasm training kernels (backends/wasm/train/) against the float64 reference kernels they
// replace, over shapes that exercise every tail: matmul row tiles shorter than MR, panels
// narrower than NR, inner dims not a multiple of the unroll; attention over one and several
// 32-row query and key blocks (ragged last ones, more or fewer keys than queries), blocks cut by
// the causal edge, windows (causal and two-sided), per-head windows, ALiBi, soft-cap, key
// padding, GQA / MQA and head dims 4 to 64. Float32 arithmetic: bounds are relative to each output's
// largest magnitude. PyTorch parity of whole training steps on this target is
// test/train-parity.test.ts.
import { describe, expect, it } from "vitest";
import type { TrainAttentionOptions } from "../backends/reference/backward/index.ts";
import { WasmTrainKernels, wasmAttentionCovers } from "../backends/wasm/train/kernels.ts";
import { referenceKernels } from "../src/train/kernels.ts";
import { noise } from "./helpers/noise.ts";

/** max |a − b| / max |b|; −inf entries must agree exactly. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    if (!Number.isFinite(b[i]) || !Number.isFinite(a[i])) {
      if (a[i] !== b[i]) return Infinity;
      continue;
    }
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? m : m / s;
}

const wasm = new WasmTrainKernels();

describe("wasm training kernels: linear", () => {
  const shapes: Array<[number, number, number]> = [[1, 3, 1], [5, 13, 9], [3, 21, 6], [11, 20, 7], [37, 32, 257], [64, 128, 24], [7, 512, 128], [0, 16, 4], [261, 20, 10]];
  for (const [rows, inDim, outDim] of shapes) {
    it(`rows ${rows}, in ${inDim}, out ${outDim}: forward, dx, dW, db`, () => {
      const x = noise(rows * inDim, rows * 7 + inDim);
      const w = Float32Array.from(noise(outDim * inDim, outDim + 3, 0.3));
      const b = Float32Array.from(noise(outDim, 99));
      expect(relErr(wasm.linearForward(x, rows, inDim, w, b, outDim), referenceKernels.linearForward(x, rows, inDim, w, b, outDim))).toBeLessThan(1e-5);
      const dy = noise(rows * outDim, 5);
      // Gradients accumulate: start both from the same nonzero contents.
      const start = (n: number) => noise(n, 77, 0.1);
      const [rx, rw, rb] = [start(rows * inDim), start(outDim * inDim), start(outDim)];
      const [gx, gw, gb] = [rx.slice(), rw.slice(), rb.slice()];
      referenceKernels.linearBackward(dy, x, rows, inDim, w, outDim, rx, rw, rb);
      wasm.linearBackward(dy, x, rows, inDim, w, outDim, gx, gw, gb);
      expect(relErr(gx, rx), "dx").toBeLessThan(1e-5);
      expect(relErr(gw, rw), "dW").toBeLessThan(1e-5);
      expect(relErr(gb, rb), "db").toBeLessThan(1e-6);
    });
  }
});

describe("wasm training kernels: attention", () => {
  const mask = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0 : 1));
  // Sk: keys (default S). S = 70 and 33 span several 32-row query and key blocks with a ragged last one.
  const cases: Array<{ name: string; B: number; S: number; Sk?: number; H: number; KVH: number; hd: number; o: TrainAttentionOptions }> = [
    { name: "causal GQA", B: 2, S: 37, H: 4, KVH: 2, hd: 8, o: { causal: true, alibi: false } },
    { name: "causal window + ALiBi", B: 1, S: 50, H: 4, KVH: 4, hd: 32, o: { causal: true, alibi: true, window: 7 } },
    { name: "two-sided window + soft-cap, MQA", B: 2, S: 21, H: 2, KVH: 1, hd: 4, o: { causal: false, alibi: false, window: 5, softcap: 3 } },
    { name: "Hard-ALiBi head windows + key padding", B: 2, S: 19, H: 4, KVH: 4, hd: 16, o: { causal: true, alibi: true, headWindows: [0, 3, 0, 6], keyMask: mask(38) } },
    { name: "full (encoder) + key padding, scale", B: 3, S: 9, H: 2, KVH: 2, hd: 64, o: { causal: false, alibi: false, keyMask: mask(27), scale: 0.3 } },
    { name: "a row with every key padded", B: 1, S: 6, H: 1, KVH: 1, hd: 4, o: { causal: true, alibi: false, keyMask: Uint8Array.from([0, 0, 1, 1, 1, 1]) } },
    { name: "several blocks, causal GQA", B: 2, S: 70, H: 4, KVH: 2, hd: 32, o: { causal: true, alibi: false } },
    { name: "several blocks, window across blocks + ALiBi + key padding, GQA", B: 2, S: 70, H: 6, KVH: 3, hd: 16, o: { causal: true, alibi: true, window: 40, keyMask: mask(140) } },
    { name: "several blocks, Hard-ALiBi head windows + soft-cap", B: 1, S: 70, H: 4, KVH: 2, hd: 8, o: { causal: true, alibi: true, headWindows: [0, 33, 5, 64], softcap: 4 } },
    { name: "several blocks, two-sided window + key padding, MQA", B: 2, S: 33, H: 3, KVH: 1, hd: 64, o: { causal: false, alibi: false, window: 20, keyMask: mask(66) } },
    { name: "one query", B: 2, S: 1, H: 2, KVH: 1, hd: 12, o: { causal: true, alibi: true } },
    { name: "more keys than queries (cross), key padding", B: 2, S: 5, Sk: 70, H: 2, KVH: 2, hd: 8, o: { causal: false, alibi: false, keyMask: mask(140) } },
    { name: "fewer keys than queries, causal", B: 1, S: 70, Sk: 37, H: 2, KVH: 1, hd: 4, o: { causal: true, alibi: false } },
  ];
  for (const c of cases) {
    it(`${c.name}: forward, log-sum-exp and dq, dk, dv`, () => {
      const Sk = c.Sk ?? c.S;
      const d = { batch: c.B, seqQ: c.S, seqK: Sk, heads: c.H, kvHeads: c.KVH, headDim: c.hd };
      expect(wasmAttentionCovers(d, c.o)).toBe(true);
      const q = noise(c.B * c.S * c.H * c.hd, 1, 2);
      const k = noise(c.B * Sk * c.KVH * c.hd, 2, 2);
      const v = noise(c.B * Sk * c.KVH * c.hd, 3);
      const r = referenceKernels.attentionForward(q, k, v, d, c.o);
      const x = wasm.attentionForward(q, k, v, d, c.o);
      expect(relErr(x.out, r.out), "out").toBeLessThan(1e-5);
      expect(relErr(x.lse, r.lse), "lse").toBeLessThan(1e-5);
      const dO = noise(r.out.length, 4);
      const ref = [new Float64Array(q.length), new Float64Array(k.length), new Float64Array(v.length)];
      const got = ref.map((a) => a.slice());
      referenceKernels.attentionBackward(q, k, v, r.out, r.lse, dO, d, c.o, ref[0], ref[1], ref[2]);
      wasm.attentionBackward(q, k, v, r.out, r.lse, dO, d, c.o, got[0], got[1], got[2]);
      ["dq", "dk", "dv"].forEach((name, t) => expect(relErr(got[t], ref[t]), name).toBeLessThan(2e-5));
    });
  }

  it("block-sparse patterns fall back to the reference kernel (and say so)", () => {
    const d = { batch: 1, seqQ: 8, seqK: 8, heads: 1, kvHeads: 1, headDim: 4 };
    expect(wasmAttentionCovers(d, { causal: true, alibi: false, sparse: { kind: "strided", stride: 2 } })).toBe(false);
    expect(wasmAttentionCovers({ ...d, headDim: 6 }, { causal: true, alibi: false })).toBe(false);
  });
});

describe("wasm training kernels: activations", () => {
  for (const act of ["relu", "gelu", "gelu_tanh", "silu"] as const) {
    it(`${act}: act(x) and dy · act'(x) over [-9, 9], lengths not a multiple of 4`, () => {
      const x = Float64Array.from({ length: 1001 }, (_, i) => -9 + (18 * i) / 1000 + (i === 500 ? 0.001 : 0));
      const dy = noise(x.length, 8);
      expect(relErr(wasm.activationForward(x, act), referenceKernels.activationForward(x, act)), "act").toBeLessThan(2e-6);
      expect(relErr(wasm.activationGrad(dy, x, act), referenceKernels.activationGrad(dy, x, act)), "grad").toBeLessThan(2e-6);
    });
  }
});

describe("wasm training kernels: norms", () => {
  // Widths 4 (one vector), 12 and 132 (not a power of two); 6 is not a multiple of 4 (the reference runs); rows 1, 3 and 37.
  const cases: Array<{ kind: "layer" | "rms"; rows: number; dim: number; bias: boolean; offset: number }> = [
    { kind: "layer", rows: 1, dim: 4, bias: true, offset: 0 },
    { kind: "layer", rows: 37, dim: 132, bias: true, offset: 0 },
    { kind: "layer", rows: 3, dim: 12, bias: false, offset: 0 },
    { kind: "rms", rows: 37, dim: 12, bias: false, offset: 0 },
    { kind: "rms", rows: 3, dim: 132, bias: false, offset: 1 },
    { kind: "layer", rows: 5, dim: 6, bias: true, offset: 0 },
  ];
  for (const c of cases) {
    it(`${c.kind} norm, ${c.rows} rows of ${c.dim}${c.bias ? ", bias" : ""}${c.offset ? `, offset ${c.offset}` : ""}: forward, dx, dw, db`, () => {
      // Rows with a common offset (a mean far from 0) and a spread, as a residual stream.
      const x = noise(c.rows * c.dim, c.rows + c.dim, 2).map((v, i) => v + 3 * Math.sin(Math.floor(i / c.dim)));
      const w = Float32Array.from(noise(c.dim, 4, 0.5).map((v) => (c.offset ? v : 1 + v)));
      const b = c.bias ? Float32Array.from(noise(c.dim, 5, 0.2)) : null;
      const rows = c.rows;
      expect(relErr(wasm.normForward(c.kind, x, rows, c.dim, w, b, 1e-5, c.offset), referenceKernels.normForward(c.kind, x, rows, c.dim, w, b, 1e-5, c.offset)), "y").toBeLessThan(2e-6);
      const dy = noise(rows * c.dim, 6);
      const start = (n: number) => noise(n, 77, 0.1);
      const [rx, rw, rb] = [start(rows * c.dim), start(c.dim), start(c.dim)];
      const [gx, gw, gb] = [rx.slice(), rw.slice(), rb.slice()];
      referenceKernels.normBackward(c.kind, dy, x, rows, c.dim, w, 1e-5, rx, rw, rb, c.offset);
      wasm.normBackward(c.kind, dy, x, rows, c.dim, w, 1e-5, gx, gw, gb, c.offset);
      expect(relErr(gx, rx), "dx").toBeLessThan(1e-5);
      expect(relErr(gw, rw), "dw").toBeLessThan(1e-5);
      expect(relErr(gb, rb), "db").toBeLessThan(1e-6);
      // Only the gradients asked for are touched.
      const only = start(rows * c.dim);
      wasm.normBackward(c.kind, dy, x, rows, c.dim, w, 1e-5, only, null, null, c.offset);
      expect(relErr(only, rx), "dx alone").toBeLessThan(1e-5);
    });
  }
});

describe("wasm training kernels: cross-entropy", () => {
  // Vocabs 1–5 (a row shorter than one vector, one, and one with a 1-lane tail) and 257 (the byte models'); ignored rows (−1) among them.
  for (const vocab of [1, 3, 4, 5, 257]) {
    for (const smoothing of [0, 0.1]) {
      it(`vocab ${vocab}, label smoothing ${smoothing}: loss and gradient, ignored rows`, () => {
        const rows = 7;
        const logits = Float32Array.from(noise(rows * vocab, vocab + 1, 6));
        const targets = Int32Array.from({ length: rows }, (_, r) => (r % 3 === 1 ? -1 : (r * 5) % vocab));
        const got = wasm.crossEntropy(logits, targets, vocab, smoothing, true);
        const want = referenceKernels.crossEntropy(logits, targets, vocab, smoothing, true);
        expect(got.count).toBe(want.count);
        expect(Math.abs(got.loss - want.loss) / Math.max(want.loss, 1), "loss (vocab 1: 0)").toBeLessThan(1e-6);
        expect(relErr(got.dLogits, want.dLogits), "dLogits").toBeLessThan(1e-6);
        expect(wasm.crossEntropy(logits, targets, vocab, smoothing, false).dLogits.length).toBe(0);
      });
    }
  }
  it("no counted target: loss 0, gradient 0; a target past the vocab is an error", () => {
    const none = wasm.crossEntropy(new Float32Array(10), Int32Array.of(-1, -1), 5, 0.1, true);
    expect([none.loss, none.count, Math.max(...none.dLogits.map(Math.abs))]).toEqual([0, 0, 0]);
    expect(() => wasm.crossEntropy(new Float32Array(10), Int32Array.of(0, 5), 5, 0, true)).toThrow("target 5 at row 1 is outside [0, 5)");
  });
});
