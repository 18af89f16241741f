// Softmax attention for training: the float64 forward and its vector–Jacobian product, with
// every mask the inference kernel honours (causal, sliding window, block-sparse, strided,
// key padding), ALiBi, RoPE (with its frequency scalings), grouped-query heads, a score scale
// and logit soft-capping (Gemma-2): s = cap · tanh(u / cap) with u = scale · q·k, whose
// derivative ds/du = 1 − (s / cap)² needs only the recomputed s.
//
// RECOMPUTATION (flash-style, Dao et al. 2022): neither pass stores the n×n score or
// probability matrix. The backward pass recomputes each query row's scores from q and k: the
// forward keeps each row's log-sum-exp (O(n) numbers), so one walk over the row's visible keys
// forms p_ij = exp(s_ij - lse_i), and with D_i = dO_i · O_i (O is the op's saved output)
//   dv_j += p_ij dO_i,  ds_ij = p_ij (dO_i · v_j - D_i),  dq_i += s' ds_ij k_j,  dk_j += s' ds_ij q_i,
// s' the score's derivative by q·k: the scale, times 1 − (s/cap)² under a softcap.
// Memory is O(n·d) per layer; the price is a second q·k per visible pair. RoPE is recomputed
// as well (it is cheap): the backward rotates q and k again, and maps dq, dk back through the
// transposed rotation (a rotation by -θ).
//
// Visibility comes from the inference kernel's own visibleKeySegments, so training sees exactly
// the keys inference does.
//
// ATTENTION-WEIGHT DROPOUT (torch.nn.MultiheadAttention's `dropout`, the Annotated
// Transformer's dropout of p_attn): after the softmax, p'_ij = p_ij · m_ij / (1 − p) with a
// Bernoulli keep-mask m, and O_i = Σ_j p'_ij v_j. The log-sum-exp stays that of the undropped
// scores (the mask acts after normalisation). The mask is never stored: m_ij is a pure function
// of (seed, step, node, b, h, i, j) — keep iff hash32(seed, step, node, ((b·H + h)·Sq + i)·Sk + j)
// / 2³² ≥ p, as the elementwise dropout draws hash32(seed, step, node, element) — so the backward
// pass RECOMPUTES each m_ij beside the p_ij it recomputes, and the n×n bits cost nothing to keep.
// The VJP through the mask, with P' = P ⊙ M / (1 − p):
//   dV += P'ᵀ dO,  dP' = dO Vᵀ,  dP = dP' ⊙ M / (1 − p),  dS = P ⊙ (dP − D),  D_i = Σ_j P_ij dP_ij.
// D keeps its undropped form: Σ_j P_ij dP_ij = Σ_j P_ij (m_ij / (1 − p)) (dO_i · v_j)
// = dO_i · Σ_j p'_ij v_j = dO_i · O_i, with O the op's (dropped) saved output — FlashAttention's
// identity survives the mask (Dao et al. 2022, Algorithm 4 uses the same rowsum(dO ∘ O)); what
// changes is that dv and dp carry the mask, while ds multiplies the UNdropped p_ij.

import { headSlopes } from "../kernels/position.ts";
import { visibleKeySegments, type AttentionOptions, type SparsePattern } from "../kernels/attention.ts";
import type { AttentionDims } from "../kernels/shape.ts";
import type { Num } from "./dense.ts";
import type { Rope } from "../../../src/ir/ir.ts";
import { ropeInverseFrequencies } from "../../../src/model/rope.ts";
import { hash32 } from "../../../src/train/rng.ts";

/** Attention-weight dropout of one forward: the rate and the counters its masks are drawn from. */
export interface AttentionDropout {
  p: number;
  seed: number;
  step: number;
  /** The attention node's output id: masks of two nodes in one step are independent. */
  node: number;
}

export interface TrainAttentionOptions {
  causal: boolean;
  window?: number;
  sparse?: SparsePattern;
  alibi: boolean;
  /** Per query head causal window (Hard-ALiBi): head h sees keys j > i - w_h; 0 = no limit. */
  headWindows?: readonly number[];
  /** [batch, seqK], 1 = real token. */
  keyMask?: Uint8Array;
  /** Default headDim^-0.5. */
  scale?: number;
  softcap?: number;
  /** Dropout of the attention probabilities (training forward and its backward only). */
  dropout?: AttentionDropout;
}

/**
 * m_ij / (1 − p) of attention-weight dropout for query row i of (b, h): 0 or 1 / (1 − p); 1 for
 * every key when there is no dropout. The same function in forward and backward, so the mask
 * is recomputed, not stored.
 */
function keepScale(o: TrainAttentionOptions, dims: AttentionDims): (b: number, h: number, i: number, j: number) => number {
  const drop = o.dropout;
  if (drop === undefined || !(drop.p > 0)) return () => 1;
  const { p, seed, step, node } = drop;
  const keep = 1 / (1 - p);
  const { heads, seqQ, seqK } = dims;
  return (b, h, i, j) => (hash32(seed, step, node, ((b * heads + h) * seqQ + i) * seqK + j) / 4294967296 >= p ? keep : 0);
}

/** The score of a pair before ALiBi, and its derivative with respect to q·k. */
function scorer(o: TrainAttentionOptions, headDim: number): { score: (dot: number) => number; slope: (s: number) => number } {
  const scale = o.scale ?? 1 / Math.sqrt(headDim);
  const cap = o.softcap;
  if (cap === undefined) return { score: (dot) => dot * scale, slope: () => scale };
  return { score: (dot) => cap * Math.tanh((dot * scale) / cap), slope: (s) => scale * (1 - (s / cap) * (s / cap)) };
}

/**
 * RoPE (rotate_half convention, as ../kernels/position.ts applyRope) into a fresh float64 copy
 * of x [batch, seq, heads, headDim] at positions 0..seq-1; `inverse` rotates by -θ (the
 * transpose, used to pull gradients back through the rotation).
 */
export function rope(x: Num, batch: number, seq: number, heads: number, headDim: number, r: Rope, inverse = false): Float64Array {
  const out = Float64Array.from(x);
  const half = r.dim / 2;
  const invFreq = ropeInverseFrequencies(r.dim, r.base, r.scaling);
  const sign = inverse ? -1 : 1;
  for (let s = 0; s < seq; s++) {
    for (let c = 0; c < half; c++) {
      const theta = s * invFreq[c];
      const cs = Math.cos(theta);
      const sn = sign * Math.sin(theta);
      for (let b = 0; b < batch; b++) {
        for (let h = 0; h < heads; h++) {
          const o = ((b * seq + s) * heads + h) * headDim;
          const x1 = out[o + c];
          const x2 = out[o + c + half];
          out[o + c] = x1 * cs - x2 * sn;
          out[o + c + half] = x2 * cs + x1 * sn;
        }
      }
    }
  }
  return out;
}

function kernelOptions(o: TrainAttentionOptions): AttentionOptions {
  return { causal: o.causal, ...(o.window !== undefined ? { window: o.window } : {}), ...(o.sparse ? { sparse: o.sparse } : {}) };
}

/**
 * softmax(cap(q kᵀ · scale) + ALiBi + masks) v over already-rotated q, k; query row r is position r;
 * with `o.dropout`, the probabilities are dropped (and rescaled) before they weight v.
 * Also returns each row's log-sum-exp [batch, seqQ, heads] (-Infinity where no key is
 * visible): O(n) numbers, all the backward pass keeps of the softmax.
 */
export function attentionForward(q: Num, k: Num, v: Num, dims: AttentionDims, o: TrainAttentionOptions): { out: Float64Array; lse: Float64Array } {
  const { batch, seqQ, seqK, heads, kvHeads, headDim } = dims;
  const group = heads / kvHeads;
  const { score } = scorer(o, headDim);
  const slopes = headSlopes(heads, o.alibi, o.headWindows);
  const opts = kernelOptions(o);
  const mask = keepScale(o, dims);
  const out = new Float64Array(batch * seqQ * heads * headDim);
  const lse = new Float64Array(batch * seqQ * heads).fill(-Infinity);
  const segs: number[] = [];
  const acc = new Float64Array(headDim);
  for (let i = 0; i < seqQ; i++) {
    visibleKeySegments(i, seqK, opts, segs);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        const kvh = Math.floor(h / group);
        const qo = ((b * seqQ + i) * heads + h) * headDim;
        const slope = slopes === undefined ? 0 : slopes[h];
        const first = o.headWindows?.[h] ? i - o.headWindows[h] + 1 : 0;
        // Online softmax: running max m, denominator l, acc = Σ exp(s_j - m) v_j.
        let m = -Infinity;
        let l = 0;
        acc.fill(0);
        for (let t = 0; t < segs.length; t += 3) {
          const end = segs[t + 1];
          const step = segs[t + 2];
          for (let j = segs[t]; j < end; j += step) {
            if (j < first) continue;
            if (o.keyMask !== undefined && o.keyMask[b * seqK + j] === 0) continue;
            const ko = ((b * seqK + j) * kvHeads + kvh) * headDim;
            let dot = 0;
            for (let d = 0; d < headDim; d++) dot += q[qo + d] * k[ko + d];
            const s = score(dot) - slope * Math.abs(i - j);
            if (s > m) {
              const c = Math.exp(m - s);
              l *= c;
              for (let d = 0; d < headDim; d++) acc[d] *= c;
              m = s;
            }
            const p = Math.exp(s - m);
            l += p; // the undropped denominator: dropout acts after normalisation
            const pd = p * mask(b, h, i, j);
            if (pd !== 0) for (let d = 0; d < headDim; d++) acc[d] += pd * v[ko + d];
          }
        }
        if (l === 0) continue;
        for (let d = 0; d < headDim; d++) out[qo + d] = acc[d] / l;
        lse[(b * seqQ + i) * heads + h] = m + Math.log(l);
      }
    }
  }
  return { out, lse };
}

/**
 * Accumulates dq, dk, dv (for the rotated q, k) given dO, the forward output O and the rows'
 * log-sum-exp. Each visible pair's score is recomputed once: p_ij = exp(s_ij - lse_i), and its
 * dropout keep-mask with it (the same `o.dropout` as the forward's). A query that saw no key
 * output zeros and passes no gradient.
 */
export function attentionBackward(
  q: Num,
  k: Num,
  v: Num,
  out: Num,
  lse: Float64Array,
  dOut: Float64Array,
  dims: AttentionDims,
  o: TrainAttentionOptions,
  dq: Float64Array | null,
  dk: Float64Array | null,
  dv: Float64Array | null,
): void {
  const { batch, seqQ, seqK, heads, kvHeads, headDim } = dims;
  const group = heads / kvHeads;
  const { score, slope: dScore } = scorer(o, headDim);
  const slopes = headSlopes(heads, o.alibi, o.headWindows);
  const opts = kernelOptions(o);
  const segs: number[] = [];
  const keyMask = o.keyMask;
  const mask = keepScale(o, dims);
  for (let i = 0; i < seqQ; i++) {
    visibleKeySegments(i, seqK, opts, segs);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        const row = lse[(b * seqQ + i) * heads + h];
        if (row === -Infinity) continue; // no visible key: the output was 0, a constant
        const kvh = Math.floor(h / group);
        const qo = ((b * seqQ + i) * heads + h) * headDim;
        const slope = slopes === undefined ? 0 : slopes[h];
        const first = o.headWindows?.[h] ? i - o.headWindows[h] + 1 : 0;
        // D_i = Σ_j p_ij dp_ij = dO_i · O_i, with or without dropout (see the header).
        let D = 0;
        for (let d = 0; d < headDim; d++) D += dOut[qo + d] * out[qo + d];
        for (let t = 0; t < segs.length; t += 3) {
          const end = segs[t + 1];
          const step = segs[t + 2];
          for (let j = segs[t]; j < end; j += step) {
            if (j < first) continue;
            if (keyMask !== undefined && keyMask[b * seqK + j] === 0) continue;
            const ko = ((b * seqK + j) * kvHeads + kvh) * headDim;
            let dot = 0;
            let dp = 0;
            for (let d = 0; d < headDim; d++) {
              dot += q[qo + d] * k[ko + d];
              dp += dOut[qo + d] * v[ko + d];
            }
            const sc = score(dot);
            const p = Math.exp(sc - slope * Math.abs(i - j) - row);
            const keep = mask(b, h, i, j); // m_ij / (1 − p), recomputed
            const pd = p * keep;
            if (dv !== null && pd !== 0) for (let d = 0; d < headDim; d++) dv[ko + d] += pd * dOut[qo + d];
            const ds = p * (dp * keep - D) * dScore(sc);
            if (dq !== null) for (let d = 0; d < headDim; d++) dq[qo + d] += ds * k[ko + d];
            if (dk !== null) for (let d = 0; d < headDim; d++) dk[ko + d] += ds * q[qo + d];
          }
        }
      }
    }
  }
}
