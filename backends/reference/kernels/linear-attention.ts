// Linear attention, Katharopoulos et al. 2020 "Transformers are RNNs":
// out_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps), S_i = Σ_j φ(k_j) v_jᵀ, z_i = Σ_j φ(k_j),
// with j ≤ i when causal and all j otherwise. O(n) time, O(headDim²) state per kv head.

import { type AttentionDims, checkAttentionDims } from "./shape.ts";

export type FeatureMap = "elu1" | "relu";

export interface LinearAttentionOptions {
  causal: boolean;
  /** Default "elu1" (elu(x) + 1, the paper's choice). */
  featureMap?: FeatureMap;
  /** Added to the denominator; default 1e-6. */
  eps?: number;
}

/** Running sums for incremental causal decoding, in f64 so long sequences do not drift. */
export interface LinearAttentionState {
  batch: number;
  kvHeads: number;
  headDim: number;
  /** Σ φ(k) vᵀ, [batch, kvHeads, headDim (key channel), headDim (value channel)]. */
  S: Float64Array;
  /** Σ φ(k), [batch, kvHeads, headDim]. */
  z: Float64Array;
}

function featureFn(map: FeatureMap): (x: number) => number {
  // elu(x) + 1 = x + 1 for x > 0, exp(x) otherwise: positive, so the denominator cannot vanish.
  if (map === "elu1") return (x) => (x > 0 ? x + 1 : Math.exp(x));
  if (map === "relu") return (x) => (x > 0 ? x : 0);
  throw new Error(`linearAttention: unknown featureMap "${String(map)}"`);
}

export function linearAttentionState(batch: number, kvHeads: number, headDim: number): LinearAttentionState {
  return {
    batch,
    kvHeads,
    headDim,
    S: new Float64Array(batch * kvHeads * headDim * headDim),
    z: new Float64Array(batch * kvHeads * headDim),
  };
}

/** Adds φ(k) vᵀ and φ(k) for key row `row` (of `seq`) into the state of every kv head. */
function accumulate(
  st: LinearAttentionState,
  k: Float32Array,
  v: Float32Array,
  b: number,
  row: number,
  seq: number,
  phi: (x: number) => number,
  fk: Float64Array,
): void {
  const { kvHeads, headDim } = st;
  for (let g = 0; g < kvHeads; g++) {
    const ko = ((b * seq + row) * kvHeads + g) * headDim;
    const so = (b * kvHeads + g) * headDim * headDim;
    const zo = (b * kvHeads + g) * headDim;
    for (let d = 0; d < headDim; d++) fk[d] = phi(k[ko + d]);
    for (let d = 0; d < headDim; d++) {
      st.z[zo + d] += fk[d];
      const sRow = so + d * headDim;
      for (let e = 0; e < headDim; e++) st.S[sRow + e] += fk[d] * v[ko + e];
    }
  }
}

/** Writes out_i for every query head of query row `row` from the current state. */
function readout(
  st: LinearAttentionState,
  q: Float32Array,
  out: Float32Array,
  b: number,
  row: number,
  seq: number,
  heads: number,
  phi: (x: number) => number,
  eps: number,
  fq: Float64Array,
  num: Float64Array,
): void {
  const { kvHeads, headDim } = st;
  const group = heads / kvHeads;
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / group);
    const qo = ((b * seq + row) * heads + h) * headDim;
    const so = (b * kvHeads + g) * headDim * headDim;
    const zo = (b * kvHeads + g) * headDim;
    let den = 0;
    num.fill(0);
    for (let d = 0; d < headDim; d++) {
      fq[d] = phi(q[qo + d]);
      den += fq[d] * st.z[zo + d];
      const sRow = so + d * headDim;
      for (let e = 0; e < headDim; e++) num[e] += fq[d] * st.S[sRow + e];
    }
    den += eps;
    for (let e = 0; e < headDim; e++) out[qo + e] = num[e] / den;
  }
}

/**
 * Consumes dims.seqQ (= dims.seqK) new positions causally, updating `state` in place, and
 * returns their outputs [batch, seqQ, heads, headDim]. Decoding one token per call gives
 * bit-identical results to one causal linearAttention call over the whole sequence.
 */
export function linearAttentionStep(
  state: LinearAttentionState,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dims: AttentionDims,
  opts: { featureMap?: FeatureMap; eps?: number } = {},
): Float32Array {
  const fn = "linearAttentionStep";
  checkAttentionDims(fn, q, k, v, dims);
  const { batch, seqQ, seqK, heads, kvHeads, headDim } = dims;
  if (seqQ !== seqK) throw new Error(`${fn}: causal linear attention needs seqQ == seqK, got ${seqQ} and ${seqK}`);
  if (batch !== state.batch || kvHeads !== state.kvHeads || headDim !== state.headDim) {
    throw new Error(
      `${fn}: dims (batch=${batch}, kvHeads=${kvHeads}, headDim=${headDim}) do not match the state ` +
        `(batch=${state.batch}, kvHeads=${state.kvHeads}, headDim=${state.headDim})`,
    );
  }
  const phi = featureFn(opts.featureMap ?? "elu1");
  const eps = opts.eps ?? 1e-6;
  const out = new Float32Array(batch * seqQ * heads * headDim);
  const tmp = new Float64Array(headDim);
  const num = new Float64Array(headDim);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seqQ; t++) {
      accumulate(state, k, v, b, t, seqK, phi, tmp); // j ≤ i: key t is included in query t
      readout(state, q, out, b, t, seqQ, heads, phi, eps, tmp, num);
    }
  }
  return out;
}

/** Full-sequence linear attention; q [batch, seqQ, heads, headDim], k/v [batch, seqK, kvHeads, headDim]. */
export function linearAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dims: AttentionDims,
  opts: LinearAttentionOptions,
): Float32Array {
  const { batch, seqQ, seqK, heads, kvHeads, headDim } = dims;
  checkAttentionDims("linearAttention", q, k, v, dims);
  const state = linearAttentionState(batch, kvHeads, headDim);
  // The causal path is the step function itself, so incremental decoding matches it exactly.
  if (opts.causal) return linearAttentionStep(state, q, k, v, dims, opts);
  // Non-causal: every query sees every key, so one sum per (batch, kv head) serves all queries;
  // seqQ may differ from seqK here (cross-attention).
  const phi = featureFn(opts.featureMap ?? "elu1");
  const eps = opts.eps ?? 1e-6;
  const out = new Float32Array(batch * seqQ * heads * headDim);
  const tmp = new Float64Array(headDim);
  const num = new Float64Array(headDim);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < seqK; j++) accumulate(state, k, v, b, j, seqK, phi, tmp);
    for (let i = 0; i < seqQ; i++) readout(state, q, out, b, i, seqQ, heads, phi, eps, tmp, num);
  }
  return out;
}
