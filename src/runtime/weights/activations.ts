// The arithmetic of a linear op over q8 / q4 weights (format.ts), which every backend follows
// so that their logits agree: the input row is itself quantised to int8 per block of 32 along
// K — llama.cpp's Q8_0 × Q4_0 / Q8_0 × Q8_0 scheme — and each block's dot product is an exact
// integer, scaled once by the two block scales. That is what lets a CPU kernel use integer dot
// products (16 multiply-adds per SIMD instruction) instead of dequantising every weight to f32.
//
// For one input row x [K] (blocks as the weights': nb = ceil(K / 32), the last one zero-padded):
//   amax_b = max |x_j| over block b (f32), d_b = f32(amax_b / 127), id_b = d_b ≠ 0 ? f32(1 / d_b) : 0,
//   a_j    = nearest(f32(x_j · id_b)), ties to even (the f32x4.nearest / _mm_round_ps rounding
//            ggml's SIMD quantisers use), so a_j ∈ [−127, 127].
// Then for output n:
//   y[n] = Σ_b  w_d[n, b] · d_b · Σ_{j in b} a_j · q_w[n, j]      (q4: q_w = nibble − 8)
// where the inner sum is an exact integer (|Σ| ≤ 32 · 127 · 127). The reference accumulates the
// scaled block sums in f64; a kernel may round each block's product to f32 and accumulate in f32
// (differences of order 1e-7 relative), or multiply f32 values a_j · d_b by dequantised weights
// (the same products, rounded once more). f16 weights are not affected: f16 × f32 is exact in f32.

import { BLOCK, blocksOf } from "./format.ts";

/** Ties-to-even rounding of an f32 value (JS numbers are exact for it). */
export function nearestEven(v: number): number {
  const r = Math.round(v); // ties toward +∞
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

export interface QuantizedRow {
  /** [nb · 32] int8 codes, zero past K. */
  q: Int8Array;
  /** [nb] f32 block scales. */
  d: Float32Array;
}

/** x[at .. at + K) quantised as above into `out` (allocated when absent). */
export function quantizeActivationRow(x: Float32Array, at: number, K: number, out?: QuantizedRow): QuantizedRow {
  const nb = blocksOf(K);
  const q = out?.q ?? new Int8Array(nb * BLOCK);
  const d = out?.d ?? new Float32Array(nb);
  q.fill(0);
  for (let b = 0; b < nb; b++) {
    const k0 = b * BLOCK;
    const k1 = Math.min(K, k0 + BLOCK);
    let amax = 0;
    for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(x[at + k]));
    const db = Math.fround(amax / 127);
    const id = db !== 0 ? Math.fround(1 / db) : 0;
    d[b] = db;
    for (let k = k0; k < k1; k++) q[k] = nearestEven(Math.fround(x[at + k] * id));
  }
  return { q, d };
}
