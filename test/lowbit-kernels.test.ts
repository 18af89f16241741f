// Kernel-level checks of the low-bit matmuls on Wasm against the reference's arithmetic
// (src/runtime/weights/activations.ts, backends/reference/kernels/lowbit-linear.ts): q8 / q4 at
// awkward shapes (K not a multiple of 32 or 4, N not a multiple of 8 or 4, one to three rows on
// the integer decode path, 4+ rows on the prefill path), in both SIMD flavours; f16 against an
// f64 loop over the dequantised weights; the activation quantiser's rule on hand-worked values.

import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { linearQuantized } from "../backends/reference/kernels/lowbit-linear.ts";
import { lowBitMatmulModule } from "../backends/wasm/kernel-bench.ts";
import { nearestEven, quantizeActivationRow } from "../src/runtime/weights/activations.ts";
import type { LowBitWeight } from "../src/runtime/weights/format.ts";
import { dequantize, quantize } from "../src/runtime/weights/quantize.ts";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

function rand(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return scale * (s / 2 ** 32 - 0.5);
  });
}

describe("activation quantisation (the rule every backend follows)", () => {
  it("rounds ties to even", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999998, 126.5].map(nearestEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 126]);
  });

  it("scales each block of 32 by amax / 127 and zero-pads past K", () => {
    // Block 0: amax 2.54 → d = f32(2.54 / 127) = f32(0.02); block 1 (k 32..39): amax 1.27.
    const x = new Float32Array(40);
    x[0] = 2.54;
    x[1] = -1.27;
    x[2] = 0.03; // 0.03 / 0.02 = 1.5 → 2 (ties to even in f32: f32(0.03 · f32(1 / 0.02)))
    x[32] = 1.27;
    x[33] = 0.005;
    const { q, d } = quantizeActivationRow(x, 0, 40);
    expect(q.length).toBe(64);
    expect(d[0]).toBe(Math.fround(Math.fround(2.54) / 127));
    expect([q[0], q[1], q[2]]).toEqual([127, -64, nearestEven(Math.fround(Math.fround(0.03) * Math.fround(1 / d[0])))]);
    expect([q[32], q[33]]).toEqual([127, 0]);
    expect([...q.subarray(40)].every((v) => v === 0)).toBe(true);
    const zero = quantizeActivationRow(new Float32Array(32), 0, 32);
    expect(zero.d[0]).toBe(0);
    expect([...zero.q].every((v) => v === 0)).toBe(true);
  });
});

describe("wasm kernels: low-bit matmul against the reference arithmetic", () => {
  // [K, N]: K 20 (one partial block), 50 (a block and 18), 96, 130; N 37 (5-column tail), 13, 8, 101, 4.
  const shapes: Array<[number, number]> = [
    [20, 37],
    [50, 13],
    [96, 8],
    [130, 101],
    [64, 4],
  ];
  const M = 6;
  for (const relaxed of [false, true]) {
    for (const dtype of ["q8", "q4", "f16"] as const) {
      it.each(shapes)(`${dtype} K %i, N %i, rows 1–3 (decode) and 4–6 (prefill) (${relaxed ? "relaxed" : "plain"})`, (K, N) => {
        const w = quantize(rand(N * K, 7 + K, 0.2), [N, K], dtype, "w") as LowBitWeight;
        // Rows with very different ranges, so per-block activation scales matter.
        const A = rand(M * K, 3 + N);
        for (let i = 0; i < A.length; i++) A[i] *= 1 + (i % 7) * 3;
        const mm = lowBitMatmulModule(relaxed, w, A, M);
        for (const rows of [1, 2, 3, 4, 5, 6]) {
          mm.run(rows);
          const got = mm.c(rows);
          let want: Float64Array | Float32Array;
          if (dtype === "f16") {
            const W = dequantize(w);
            want = new Float64Array(rows * N);
            for (let r = 0; r < rows; r++) for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) want[r * N + n] += A[r * K + k] * W[n * K + k];
          } else {
            want = linearQuantized(A, rows, K, w as Exclude<LowBitWeight, { dtype: "f16" }>, null, N);
          }
          let scale = 0;
          for (const v of want) scale = Math.max(scale, Math.abs(v));
          let err = 0;
          for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
          expect(err / scale, `rows ${rows}`).toBeLessThan(2e-6);
        }
      });
    }
  }
});

describe("wasm kernels: f16 decode's input scaling (x · 2^112 against weights read as w · 2^-112)", () => {
  // Weights across the f16 range: subnormals (|w| < 2^-14), zeros, normals up to 60,000.
  function weights(N: number, K: number): LowBitWeight {
    const w = rand(N * K, 17, 2);
    for (let i = 0; i < w.length; i++) w[i] = i % 5 === 0 ? w[i] * 1e-5 : i % 11 === 0 ? 0 : i % 97 === 0 ? w[i] * 60000 : w[i];
    return quantize(w, [N, K], "f16", "w") as LowBitWeight;
  }
  // [max |x|, what it exercises]: just under 2^16 (scaled, finite); 2^16 and 1e30 (the exact
  // path: x · 2^112 would overflow); tiny inputs (subnormal f32 products stay exact).
  const cases: Array<[number, string]> = [
    [65535, "scaled"],
    [65536, "exact path"],
    [1e30, "exact path"],
    [1e-30, "scaled, tiny"],
  ];
  for (const relaxed of [false, true]) {
    it.each(cases)(`max |x| %d (%s), rows 1–3, K 70, N 13 (${relaxed ? "relaxed" : "plain"})`, (amax) => {
      const [N, K, M] = [13, 70, 3];
      const w = weights(N, K);
      const W = dequantize(w);
      const A = rand(M * K, 5, 2);
      A[K + 3] = amax; // row 1
      for (let i = 0; i < A.length; i++) if (amax < 1) A[i] *= amax;
      const mm = lowBitMatmulModule(relaxed, w, A, M);
      for (const rows of [1, 2, 3]) {
        mm.run(rows);
        const got = mm.c(rows);
        for (let r = 0; r < rows; r++) {
          let scale = 0;
          const want = new Float64Array(N);
          for (let n = 0; n < N; n++) {
            for (let k = 0; k < K; k++) want[n] += A[r * K + k] * W[n * K + k];
            scale = Math.max(scale, Math.abs(want[n]));
          }
          for (let n = 0; n < N; n++) expect(Math.abs(got[r * N + n] - want[n]) / scale, `rows ${rows}, row ${r}, column ${n}`).toBeLessThan(2e-6);
        }
      }
    });
  }
});
