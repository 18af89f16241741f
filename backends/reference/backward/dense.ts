// Vector–Jacobian kernels of the dense ops (linear with its epilogue, norms, activations,
// embeddings, positions), with the float64 forward halves the training tape runs.
//
// Why a second forward: the inference kernels (../kernels) round every value into a
// Float32Array and do not expose what a backward pass needs (the pre-activation of a fused
// linear). Training on the reference backend computes activations and gradients in float64
// (the oracle should be closer to exact than anything it judges, as ../kernels/linear.ts says)
// and keeps parameters and optimiser state in float32, as PyTorch does. Parameters may be
// Float32Array or Float64Array (finite-difference checks perturb them in float64).
//
// Conventions: row-major flat arrays with explicit sizes; every backward kernel ACCUMULATES
// (+=) into the gradient buffers it is given, so a value read by several nodes (a residual
// stream, a tied embedding table) sums its contributions; a null buffer is not wanted.

import type { Activation } from "../kernels/activation.ts";
import { activationFn, erfc } from "../kernels/activation.ts";
import { sinusoidalTable } from "../kernels/position.ts";

/** Parameter or activation storage the kernels read. */
export type Num = Float32Array | Float64Array;

// ---- linear ---------------------------------------------------------------------------------

/**
 * y = x Wᵀ + b, x [rows, inDim], W [outDim, inDim] (nn.Linear layout). Four outputs at a time
 * share each load of x (plain loops in V8 run memory-bound otherwise).
 */
export function linearForward(x: Num, rows: number, inDim: number, w: Num, bias: Num | null, outDim: number): Float64Array {
  if (x.length !== rows * inDim || w.length !== outDim * inDim) throw new Error(`linear: x ${x.length} / w ${w.length} do not match rows ${rows}, in ${inDim}, out ${outDim}`);
  const out = new Float64Array(rows * outDim);
  const o4 = outDim - (outDim % 4);
  for (let r = 0; r < rows; r++) {
    const xo = r * inDim;
    const yo = r * outDim;
    let o = 0;
    for (; o < o4; o += 4) {
      const w0 = o * inDim;
      const w1 = w0 + inDim;
      const w2 = w1 + inDim;
      const w3 = w2 + inDim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < inDim; i++) {
        const xi = x[xo + i];
        s0 += xi * w[w0 + i];
        s1 += xi * w[w1 + i];
        s2 += xi * w[w2 + i];
        s3 += xi * w[w3 + i];
      }
      out[yo + o] = bias === null ? s0 : s0 + bias[o];
      out[yo + o + 1] = bias === null ? s1 : s1 + bias[o + 1];
      out[yo + o + 2] = bias === null ? s2 : s2 + bias[o + 2];
      out[yo + o + 3] = bias === null ? s3 : s3 + bias[o + 3];
    }
    for (; o < outDim; o++) {
      const wo = o * inDim;
      let s = 0;
      for (let i = 0; i < inDim; i++) s += x[xo + i] * w[wo + i];
      out[yo + o] = bias === null ? s : s + bias[o];
    }
  }
  return out;
}

/**
 * Backward of y = x Wᵀ + b given dy [rows, outDim]: dx += dy W (row by row, four rows of W
 * per pass over a dx row), dW += dyᵀ x (row of dW by row, four rows of x per pass, so the
 * accumulated row stays in cache), db += Σ_rows dy.
 */
export function linearBackward(
  dy: Float64Array,
  x: Num,
  rows: number,
  inDim: number,
  w: Num,
  outDim: number,
  dx: Float64Array | null,
  dw: Float64Array | null,
  db: Float64Array | null,
): void {
  if (dx !== null) {
    const o4 = outDim - (outDim % 4);
    for (let r = 0; r < rows; r++) {
      const xo = r * inDim;
      const yo = r * outDim;
      let o = 0;
      for (; o < o4; o += 4) {
        const g0 = dy[yo + o];
        const g1 = dy[yo + o + 1];
        const g2 = dy[yo + o + 2];
        const g3 = dy[yo + o + 3];
        if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
        const w0 = o * inDim;
        const w1 = w0 + inDim;
        const w2 = w1 + inDim;
        const w3 = w2 + inDim;
        for (let i = 0; i < inDim; i++) dx[xo + i] += g0 * w[w0 + i] + g1 * w[w1 + i] + g2 * w[w2 + i] + g3 * w[w3 + i];
      }
      for (; o < outDim; o++) {
        const g = dy[yo + o];
        if (g === 0) continue;
        const wo = o * inDim;
        for (let i = 0; i < inDim; i++) dx[xo + i] += g * w[wo + i];
      }
    }
  }
  if (dw !== null) {
    const r4 = rows - (rows % 4);
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim;
      let r = 0;
      for (; r < r4; r += 4) {
        const g0 = dy[r * outDim + o];
        const g1 = dy[(r + 1) * outDim + o];
        const g2 = dy[(r + 2) * outDim + o];
        const g3 = dy[(r + 3) * outDim + o];
        if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
        const x0 = r * inDim;
        const x1 = x0 + inDim;
        const x2 = x1 + inDim;
        const x3 = x2 + inDim;
        for (let i = 0; i < inDim; i++) dw[wo + i] += g0 * x[x0 + i] + g1 * x[x1 + i] + g2 * x[x2 + i] + g3 * x[x3 + i];
      }
      for (; r < rows; r++) {
        const g = dy[r * outDim + o];
        if (g === 0) continue;
        const xo = r * inDim;
        for (let i = 0; i < inDim; i++) dw[wo + i] += g * x[xo + i];
      }
    }
  }
  if (db !== null) {
    for (let r = 0; r < rows; r++) {
      const yo = r * outDim;
      for (let o = 0; o < outDim; o++) db[o] += dy[yo + o];
    }
  }
}

// ---- activations ----------------------------------------------------------------------------

const SQRT_2_OVER_PI = 0.7978845608028654;
const INV_SQRT_2PI = 0.3989422804014327;

/** d act(x) / dx, matching PyTorch's backward formulas (relu: 0 at x = 0). */
export function activationGrad(act: Activation, x: number): number {
  switch (act) {
    case "relu":
      return x > 0 ? 1 : 0;
    case "gelu":
      // d/dx x Φ(x) = Φ(x) + x φ(x)
      return 0.5 * erfc(-x * Math.SQRT1_2) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case "gelu_tanh": {
      const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
      const t = Math.tanh(u);
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    }
    case "silu": {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 + x * (1 - s));
    }
    default:
      throw new Error(`unknown activation "${String(act)}"`);
  }
}

export function activationForward(x: Num, act: Activation): Float64Array {
  const f = activationFn(act);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return out;
}

/** dx += dy · act'(x). */
export function activationBackward(dy: Float64Array, x: Num, act: Activation, dx: Float64Array): void {
  for (let i = 0; i < dy.length; i++) if (dy[i] !== 0) dx[i] += dy[i] * activationGrad(act, x[i]);
}

/** act(gate) · up. */
export function gatedForward(gate: Num, up: Num, act: Activation): Float64Array {
  const f = activationFn(act);
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = f(gate[i]) * up[i];
  return out;
}

/** Backward of act(gate) · up: dGate += dy · up · act'(gate), dUp += dy · act(gate). */
export function gatedBackward(dy: Float64Array, gate: Num, up: Num, act: Activation, dGate: Float64Array | null, dUp: Float64Array | null): void {
  const f = activationFn(act);
  for (let i = 0; i < dy.length; i++) {
    const g = dy[i];
    if (g === 0) continue;
    if (dGate !== null) dGate[i] += g * up[i] * activationGrad(act, gate[i]);
    if (dUp !== null) dUp[i] += g * f(gate[i]);
  }
}

/** cap · tanh(x / cap). */
export function softcapForward(x: Num, cap: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = cap * Math.tanh(x[i] / cap);
  return out;
}

/** dx += dy · (1 - tanh²(x / cap)). */
export function softcapBackward(dy: Float64Array, x: Num, cap: number, dx: Float64Array): void {
  for (let i = 0; i < dy.length; i++) {
    const t = Math.tanh(x[i] / cap);
    dx[i] += dy[i] * (1 - t * t);
  }
}

// ---- norms ----------------------------------------------------------------------------------

/** Row x[o .. o + dim)'s mean (0 for RMSNorm) and 1 / sqrt(biased variance about it + eps). */
function rowStats(kind: "layer" | "rms", x: Num, o: number, dim: number, eps: number): [number, number] {
  let mean = 0;
  if (kind === "layer") {
    for (let i = 0; i < dim; i++) mean += x[o + i];
    mean /= dim;
  }
  let sq = 0;
  for (let i = 0; i < dim; i++) {
    const d = x[o + i] - mean;
    sq += d * d;
  }
  return [mean, 1 / Math.sqrt(sq / dim + eps)];
}

/** LayerNorm (biased variance) or RMSNorm over the last axis of x [rows, dim], scaled by offset + w. */
export function normForward(kind: "layer" | "rms", x: Num, rows: number, dim: number, w: Num, b: Num | null, eps: number, offset = 0): Float64Array {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const [mean, inv] = rowStats(kind, x, o, dim, eps);
    for (let i = 0; i < dim; i++) out[o + i] = (x[o + i] - mean) * inv * (offset + w[i]) + (b === null ? 0 : b[i]);
  }
  return out;
}

/**
 * Backward of a norm, recomputing the row statistics (two numbers a row) rather than storing
 * them. With x̂ = (x - μ) · inv and g = dy ⊙ (offset + w):
 *   layer: dx = inv · (g - mean(g) - x̂ · mean(g ⊙ x̂)),  rms: dx = inv · (g - x̂ · mean(g ⊙ x̂)),
 * dw += Σ_rows dy ⊙ x̂ (the offset is a constant), db += Σ_rows dy.
 */
export function normBackward(
  kind: "layer" | "rms",
  dy: Float64Array,
  x: Num,
  rows: number,
  dim: number,
  w: Num,
  eps: number,
  dx: Float64Array | null,
  dw: Float64Array | null,
  db: Float64Array | null,
  offset = 0,
): void {
  const xhat = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const [mean, inv] = rowStats(kind, x, o, dim, eps);
    let gMean = 0;
    let gxMean = 0;
    for (let i = 0; i < dim; i++) {
      xhat[i] = (x[o + i] - mean) * inv;
      const g = dy[o + i] * (offset + w[i]);
      gMean += g;
      gxMean += g * xhat[i];
      if (dw !== null) dw[i] += dy[o + i] * xhat[i];
      if (db !== null) db[i] += dy[o + i];
    }
    gMean /= dim;
    gxMean /= dim;
    if (dx === null) continue;
    const centre = kind === "layer" ? gMean : 0;
    for (let i = 0; i < dim; i++) dx[o + i] += inv * (dy[o + i] * (offset + w[i]) - centre - xhat[i] * gxMean);
  }
}

// ---- embeddings and positions ---------------------------------------------------------------

export function embedForward(table: Num, vocab: number, dim: number, ids: Int32Array, scale: number): Float64Array {
  const out = new Float64Array(ids.length * dim);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`token id ${id} at index ${i} is outside [0, ${vocab})`);
    for (let d = 0; d < dim; d++) out[i * dim + d] = table[id * dim + d] * scale;
  }
  return out;
}

/** dTable[id] += scale · dy row: a scatter-add, so repeated ids (and a tied head) accumulate. */
export function embedBackward(dy: Float64Array, ids: Int32Array, dim: number, scale: number, dTable: Float64Array): void {
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i] * dim;
    const o = i * dim;
    for (let d = 0; d < dim; d++) dTable[t + d] += scale * dy[o + d];
  }
}

/** x [batch, seq, dim] + the learned table's first seq rows, or the sinusoidal table. */
export function positionForward(x: Num, batch: number, seq: number, dim: number, table: Num | null): Float64Array {
  if (table !== null && table.length < seq * dim) throw new Error(`positions up to ${seq - 1} exceed the learned table of ${table.length / dim} rows`);
  const pe: ArrayLike<number> = table ?? sinusoidalTable(seq, dim);
  const out = new Float64Array(x.length);
  for (let b = 0; b < batch; b++) {
    const o = b * seq * dim;
    for (let i = 0; i < seq * dim; i++) out[o + i] = x[o + i] + pe[i];
  }
  return out;
}

/** dTable[p] += Σ_batch dy[b, p]. */
export function positionBackward(dy: Float64Array, batch: number, seq: number, dim: number, dTable: Float64Array): void {
  for (let b = 0; b < batch; b++) {
    const o = b * seq * dim;
    for (let i = 0; i < seq * dim; i++) dTable[i] += dy[o + i];
  }
}

/** a += b. */
export function accumulate(a: Float64Array, b: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
}
