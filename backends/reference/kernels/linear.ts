// Dense projection and residual add.

import { checkLength, checkSize } from "./shape.ts";

/**
 * y = x Wᵀ + b for x [rows, inDim], W [outDim, inDim] (PyTorch nn.Linear layout, so checkpoint
 * weights are used as stored), b [outDim]. Returns a new [rows, outDim] array.
 */
export function linear(
  x: Float32Array,
  rows: number,
  inDim: number,
  w: Float32Array,
  bias: Float32Array | null,
  outDim: number,
): Float32Array {
  checkSize("linear", "rows", rows);
  checkSize("linear", "inDim", inDim);
  checkSize("linear", "outDim", outDim);
  checkLength("linear", "x", x.length, { rows, inDim });
  checkLength("linear", "w", w.length, { outDim, inDim });
  if (bias !== null) checkLength("linear", "bias", bias.length, { outDim });
  const out = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const xo = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim;
      // f64 accumulator: the oracle should be closer to exact than any backend it judges.
      let s = 0;
      for (let i = 0; i < inDim; i++) s += x[xo + i] * w[wo + i];
      if (bias !== null) s += bias[o];
      out[r * outDim + o] = s;
    }
  }
  return out;
}

/** a += b elementwise (residual connection); returns a. */
export function add(a: Float32Array, b: Float32Array): Float32Array {
  if (a.length !== b.length) throw new Error(`add: length mismatch (${a.length} vs ${b.length})`);
  for (let i = 0; i < a.length; i++) a[i] += b[i];
  return a;
}
