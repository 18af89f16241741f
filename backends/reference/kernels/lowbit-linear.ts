// linear() over q8 / q4 weights in the arithmetic every backend follows
// (src/runtime/weights/activations.ts): each input row quantised to int8 per block of 32, an
// exact integer dot product per block, scaled by the weight's and the row's block scales and
// accumulated in f64. The oracle of the Wasm and WGSL q8 / q4 kernels.

import { BLOCK, type Q4Weight, type Q8Weight } from "../../../src/runtime/weights/format.ts";
import { quantizeActivationRow } from "../../../src/runtime/weights/activations.ts";
import { codeAt, f16Value } from "../../../src/runtime/weights/quantize.ts";

/** One weight row's codes as small integers (q4: nibble − 8), zero past K. */
function rowCodes(w: Q8Weight | Q4Weight, n: number, out: Int8Array): void {
  const nb = w.blocks;
  if (w.dtype === "q8") {
    out.set(w.q.subarray(n * nb * BLOCK, (n + 1) * nb * BLOCK));
    return;
  }
  const K = w.shape[1];
  for (let b = 0; b < nb; b++) {
    const at = (n * nb + b) * 4;
    for (let j = 0; j < BLOCK; j++) out[b * BLOCK + j] = b * BLOCK + j < K ? codeAt(w.words, at, j) - 8 : 0;
  }
}

export function linearQuantized(x: Float32Array, rows: number, K: number, w: Q8Weight | Q4Weight, bias: Float32Array | null, N: number): Float32Array {
  const nb = w.blocks;
  const acts = Array.from({ length: rows }, (_, r) => quantizeActivationRow(x, r * K, K));
  const codes = new Int8Array(nb * BLOCK);
  const out = new Float32Array(rows * N);
  for (let n = 0; n < N; n++) {
    rowCodes(w, n, codes);
    for (let r = 0; r < rows; r++) {
      const { q, d } = acts[r];
      let s = 0;
      for (let b = 0; b < nb; b++) {
        let dot = 0;
        for (let j = b * BLOCK; j < (b + 1) * BLOCK; j++) dot += q[j] * codes[j];
        s += dot * f16Value(w.scales[n * nb + b]) * d[b];
      }
      out[r * N + n] = bias !== null ? s + bias[n] : s;
    }
  }
  return out;
}
