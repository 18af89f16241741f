// Normalisation layers, applied independently to each row of a [rows, dim] tensor.

import { checkLength, checkSize } from "./shape.ts";

function checkNorm(fn: string, x: Float32Array, rows: number, dim: number, gamma: Float32Array): void {
  checkSize(fn, "rows", rows);
  checkSize(fn, "dim", dim, 1);
  checkLength(fn, "x", x.length, { rows, dim });
  checkLength(fn, "gamma", gamma.length, { dim });
}

/**
 * torch.nn.LayerNorm: (x - mean) / sqrt(var + eps) * gamma + beta with the biased variance.
 * Two passes in f64 rather than E[x²] - E[x]², which cancels badly when |mean| >> std.
 */
export function layerNorm(
  x: Float32Array,
  rows: number,
  dim: number,
  gamma: Float32Array,
  beta: Float32Array | null,
  eps: number,
): Float32Array {
  checkNorm("layerNorm", x, rows, dim, gamma);
  if (beta !== null) checkLength("layerNorm", "beta", beta.length, { dim });
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let sum = 0;
    for (let i = 0; i < dim; i++) sum += x[o + i];
    const mean = sum / dim;
    let sq = 0;
    for (let i = 0; i < dim; i++) {
      const d = x[o + i] - mean;
      sq += d * d;
    }
    const inv = 1 / Math.sqrt(sq / dim + eps);
    for (let i = 0; i < dim; i++) {
      out[o + i] = (x[o + i] - mean) * inv * gamma[i] + (beta === null ? 0 : beta[i]);
    }
  }
  return out;
}

/** RMSNorm as in LLaMA: x * rsqrt(mean(x²) + eps) * gamma (no centring, no bias). */
export function rmsNorm(x: Float32Array, rows: number, dim: number, gamma: Float32Array, eps: number): Float32Array {
  checkNorm("rmsNorm", x, rows, dim, gamma);
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let sq = 0;
    for (let i = 0; i < dim; i++) sq += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(sq / dim + eps);
    for (let i = 0; i < dim; i++) out[o + i] = x[o + i] * inv * gamma[i];
  }
  return out;
}
