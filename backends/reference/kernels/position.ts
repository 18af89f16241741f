// Position encodings: absolute sinusoidal table, rotary embeddings, ALiBi slopes.

import type { RopeScaling } from "../../../src/model/model.ts";
import { ropeInverseFrequencies } from "../../../src/model/rope.ts";
import { checkLength, checkSize } from "./shape.ts";

/**
 * Vaswani et al. sinusoidal table [n, dim], interleaved as in the PyTorch tutorial's
 * PositionalEncoding: PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos(same).
 * `positions` is either a count n (positions 0..n-1) or the explicit positions.
 */
export function sinusoidalTable(positions: number | ArrayLike<number>, dim: number): Float32Array {
  checkSize("sinusoidalTable", "dim", dim, 1);
  let pos: ArrayLike<number>;
  if (typeof positions === "number") {
    checkSize("sinusoidalTable", "positions", positions);
    pos = Array.from({ length: positions }, (_, p) => p);
  } else {
    pos = positions;
  }
  const out = new Float32Array(pos.length * dim);
  for (let r = 0; r < pos.length; r++) {
    for (let c = 0; c < dim; c += 2) {
      // Same as the tutorial's exp(2i * -ln(10000)/dim); computed in f64 so the table is exact to f32.
      const angle = pos[r] / Math.pow(10000, c / dim);
      out[r * dim + c] = Math.sin(angle);
      // An odd dim has no partner channel for the last frequency.
      if (c + 1 < dim) out[r * dim + c + 1] = Math.cos(angle);
    }
  }
  return out;
}

/**
 * Rotary position embedding in place on x [batch, seq, heads, headDim], HuggingFace LLaMA /
 * GPT-NeoX "rotate_half" convention: within the first rotaryDim channels of each head, channel c
 * pairs with c + rotaryDim/2 and is rotated by positions[s] * base^(-2c/rotaryDim) (as `scaling`
 * changes it: src/model/rope.ts). Channels
 * past rotaryDim (partial rotary, e.g. GPT-NeoX rotary_pct) are left as they are.
 * (Not the GPT-J / Meta-original layout, which pairs adjacent channels (2c, 2c+1).)
 */
export function applyRope(
  x: Float32Array,
  batch: number,
  seq: number,
  heads: number,
  headDim: number,
  positions: Int32Array | ArrayLike<number>,
  rotaryDim: number,
  base: number,
  scaling?: RopeScaling,
): Float32Array {
  const fn = "applyRope";
  checkSize(fn, "batch", batch);
  checkSize(fn, "seq", seq);
  checkSize(fn, "heads", heads);
  checkSize(fn, "headDim", headDim, 1);
  checkLength(fn, "x", x.length, { batch, seq, heads, headDim });
  checkLength(fn, "positions", positions.length, { seq });
  checkSize(fn, "rotaryDim", rotaryDim);
  if (rotaryDim % 2 !== 0 || rotaryDim > headDim) {
    throw new Error(`${fn}: rotaryDim must be even and <= headDim (${headDim}), got ${rotaryDim}`);
  }
  if (!(base > 0)) throw new Error(`${fn}: base must be positive, got ${base}`);
  const half = rotaryDim / 2;
  const invFreq = ropeInverseFrequencies(rotaryDim, base, scaling);
  // cos/sin depend only on (seq index, channel), so build them once rather than per batch and head.
  const cos = new Float64Array(seq * half);
  const sin = new Float64Array(seq * half);
  for (let s = 0; s < seq; s++) {
    for (let c = 0; c < half; c++) {
      const theta = positions[s] * invFreq[c];
      cos[s * half + c] = Math.cos(theta);
      sin[s * half + c] = Math.sin(theta);
    }
  }
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < seq; s++) {
      for (let h = 0; h < heads; h++) {
        const o = ((b * seq + s) * heads + h) * headDim;
        for (let c = 0; c < half; c++) {
          const x1 = x[o + c];
          const x2 = x[o + c + half];
          const cs = cos[s * half + c];
          const sn = sin[s * half + c];
          x[o + c] = x1 * cs - x2 * sn;
          x[o + c + half] = x2 * cs + x1 * sn;
        }
      }
    }
  }
  return x;
}

/** Geometric slopes 2^(-8/n), 2^(-16/n), ..., 2^(-8) for a power-of-two head count n. */
function powerOfTwoSlopes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.pow(2, (-8 * (i + 1)) / n));
}

/**
 * ALiBi head slopes (Press et al. 2022; HF BLOOM/MPT get_slopes). A non-power-of-two count n
 * takes the slopes for the closest lower power of two p, then every other slope of the 2p
 * sequence for the remaining n - p heads, so the extra heads interleave between existing ones.
 */
export function alibiSlopes(heads: number): Float32Array {
  checkSize("alibiSlopes", "heads", heads, 1);
  const p = 2 ** Math.floor(Math.log2(heads));
  const slopes = powerOfTwoSlopes(p);
  if (p !== heads) {
    const extra = powerOfTwoSlopes(2 * p).filter((_, i) => i % 2 === 0);
    slopes.push(...extra.slice(0, heads - p));
  }
  return Float32Array.from(slopes);
}

/**
 * The per-head ALiBi slopes of an attention op: alibiSlopes(heads) for plain ALiBi; with
 * Hard-ALiBi's per-head windows, the heads with no window (w = 0) take alibiSlopes of their
 * own count, in order, and the windowed heads 0 (no bias: their window is their position).
 * Undefined when the op has no ALiBi.
 */
export function headSlopes(heads: number, alibi: boolean, headWindows?: readonly number[]): Float32Array | undefined {
  if (!alibi) return undefined;
  if (headWindows === undefined) return alibiSlopes(heads);
  const free = headWindows.filter((w) => w === 0).length;
  const out = new Float32Array(heads);
  if (free === 0) return out;
  const slopes = alibiSlopes(free);
  let k = 0;
  for (let h = 0; h < heads; h++) if (headWindows[h] === 0) out[h] = slopes[k++];
  return out;
}
