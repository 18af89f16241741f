// Linear attention (Katharopoulos et al. 2020) for training: the float64 forward and its
// vector–Jacobian product. With φ the feature map, per query row i and kv head:
//   S_i = Σ_{j∈J(i)} φ(k_j) v_jᵀ,  z_i = Σ_{j∈J(i)} φ(k_j),  num_i = S_iᵀ φ(q_i),
//   den_i = φ(q_i) · z_i + eps,  out_i = num_i / den_i,
// J(i) = {j ≤ i} when causal, every key otherwise.
//
// RECOMPUTATION: the prefix states S_i (headDim² numbers per position) are never stored. The
// backward runs two scans, as the paper's own CUDA kernel does: a forward scan rebuilds S_i, z_i
// to form dφ(q_i) = S_i dnum_i + z_i dden_i, and a reverse scan accumulates
// G_j = Σ_{i∈J⁻¹(j)} φ(q_i) dnum_iᵀ and g_j = Σ φ(q_i) dden_i to form
// dφ(k_j) = G_j v_j + g_j and dv_j = G_jᵀ φ(k_j), where dnum_i = dO_i / den_i and
// dden_i = -(dO_i · out_i) / den_i. Memory O(headDim²) per kv head, time O(n · headDim²).
//
// Padded keys (mask 0) contribute nothing, as in the inference op (φ(-∞) = 0, v zeroed), and
// receive zero gradient. q and k arrive already rotated when the op has RoPE.

import type { AttentionDims } from "../kernels/shape.ts";
import type { FeatureMap } from "../kernels/linear-attention.ts";
import type { Num } from "./dense.ts";

export interface TrainLinearAttentionOptions {
  causal: boolean;
  featureMap: FeatureMap;
  keyMask?: Uint8Array;
  eps?: number;
}

const phi = (map: FeatureMap, x: number): number => (map === "elu1" ? (x > 0 ? x + 1 : Math.exp(x)) : x > 0 ? x : 0);
const phiGrad = (map: FeatureMap, x: number): number => (map === "elu1" ? (x > 0 ? 1 : Math.exp(x)) : x > 0 ? 1 : 0);

/** φ of every element; padded key rows (by keyMask) become 0. */
function features(map: FeatureMap, x: Num, batch: number, seq: number, width: number, keyMask?: Uint8Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < batch * seq; r++) {
    if (keyMask !== undefined && keyMask[r] === 0) continue;
    for (let c = 0; c < width; c++) out[r * width + c] = phi(map, x[r * width + c]);
  }
  return out;
}

function maskedValues(v: Num, batch: number, seq: number, width: number, keyMask?: Uint8Array): Num {
  if (keyMask === undefined) return v;
  const out = Float64Array.from(v);
  for (let r = 0; r < batch * seq; r++) if (keyMask[r] === 0) out.fill(0, r * width, (r + 1) * width);
  return out;
}

/** What both passes start from: φ(q), φ(k) and v with padded keys zeroed, and the prefix state S, z. */
interface Scan {
  dims: AttentionDims;
  causal: boolean;
  eps: number;
  group: number;
  fq: Float64Array;
  fk: Float64Array;
  vv: Num;
  S: Float64Array;
  z: Float64Array;
}

function scanInputs(q: Num, k: Num, v: Num, dims: AttentionDims, o: TrainLinearAttentionOptions): Scan {
  const { batch, seqQ, seqK, heads, kvHeads, headDim: hd } = dims;
  return {
    dims,
    causal: o.causal,
    eps: o.eps ?? 1e-6,
    group: heads / kvHeads,
    fq: features(o.featureMap, q, batch, seqQ, heads * hd),
    fk: features(o.featureMap, k, batch, seqK, kvHeads * hd, o.keyMask),
    vv: maskedValues(v, batch, seqK, kvHeads * hd, o.keyMask),
    S: new Float64Array(hd * hd),
    z: new Float64Array(hd),
  };
}

/**
 * The forward scan of kv head g of batch row b: S, z become S_i, z_i for each query row i in
 * turn, and `visit` sees each query head h of g's group there, with qo = row (i, h)'s offset,
 * ro = its index and den = φ(q_i) · z_i + eps.
 */
function scanQueries(s: Scan, b: number, g: number, visit: (qo: number, ro: number, den: number) => void): void {
  const { seqQ, seqK, heads, kvHeads, headDim: hd } = s.dims;
  const { fq, fk, vv, S, z } = s;
  S.fill(0);
  z.fill(0);
  const addKey = (j: number) => {
    const ko = ((b * seqK + j) * kvHeads + g) * hd;
    for (let d = 0; d < hd; d++) {
      const f = fk[ko + d];
      z[d] += f;
      if (f !== 0) for (let e = 0; e < hd; e++) S[d * hd + e] += f * vv[ko + e];
    }
  };
  if (!s.causal) for (let j = 0; j < seqK; j++) addKey(j);
  for (let i = 0; i < seqQ; i++) {
    if (s.causal) addKey(i);
    for (let h = g * s.group; h < (g + 1) * s.group; h++) {
      const ro = (b * seqQ + i) * heads + h;
      const qo = ro * hd;
      let den = s.eps;
      for (let d = 0; d < hd; d++) den += fq[qo + d] * z[d];
      visit(qo, ro, den);
    }
  }
}

export function linearAttentionForward(q: Num, k: Num, v: Num, dims: AttentionDims, o: TrainLinearAttentionOptions): Float64Array {
  const { batch, seqQ, seqK, heads, kvHeads, headDim: hd } = dims;
  if (o.causal && seqQ !== seqK) throw new Error(`causal linear attention needs seqQ == seqK, got ${seqQ} and ${seqK}`);
  const scan = scanInputs(q, k, v, dims, o);
  const { fq, S } = scan;
  const out = new Float64Array(batch * seqQ * heads * hd);
  for (let b = 0; b < batch; b++) {
    for (let g = 0; g < kvHeads; g++) {
      scanQueries(scan, b, g, (qo, _ro, den) => {
        for (let e = 0; e < hd; e++) {
          let num = 0;
          for (let d = 0; d < hd; d++) num += fq[qo + d] * S[d * hd + e];
          out[qo + e] = num / den;
        }
      });
    }
  }
  return out;
}

/** Accumulates dq, dk, dv (for the rotated q, k) given dO and the forward output. */
export function linearAttentionBackward(
  q: Num,
  k: Num,
  v: Num,
  out: Num,
  dOut: Float64Array,
  dims: AttentionDims,
  o: TrainLinearAttentionOptions,
  dq: Float64Array | null,
  dk: Float64Array | null,
  dv: Float64Array | null,
): void {
  const { batch, seqQ, seqK, heads, kvHeads, headDim: hd } = dims;
  const map = o.featureMap;
  const scan = scanInputs(q, k, v, dims, o);
  const { fq, fk, vv, S, z, group } = scan;
  // dnum_i = dO_i / den_i and dden_i = -(dO_i · out_i) / den_i, per query row and head.
  const dnum = new Float64Array(batch * seqQ * heads * hd);
  const dden = new Float64Array(batch * seqQ * heads);
  const G = new Float64Array(hd * hd);
  const gz = new Float64Array(hd);

  for (let b = 0; b < batch; b++) {
    for (let g = 0; g < kvHeads; g++) {
      // Forward scan: rebuild S_i, z_i; dφ(q_i) = S_i dnum_i + z_i dden_i.
      scanQueries(scan, b, g, (qo, ro, den) => {
        let dOo = 0;
        for (let e = 0; e < hd; e++) {
          dnum[qo + e] = dOut[qo + e] / den;
          dOo += dOut[qo + e] * out[qo + e];
        }
        dden[ro] = -dOo / den;
        if (dq === null) return;
        for (let d = 0; d < hd; d++) {
          let s = z[d] * dden[ro];
          for (let e = 0; e < hd; e++) s += S[d * hd + e] * dnum[qo + e];
          dq[qo + d] += s * phiGrad(map, q[qo + d]);
        }
      });
      if (dk === null && dv === null) continue;
      // Reverse scan: G_j, g_j over the queries that see key j; then dφ(k_j), dv_j.
      G.fill(0);
      gz.fill(0);
      const addQuery = (i: number) => {
        for (let h = g * group; h < (g + 1) * group; h++) {
          const qo = ((b * seqQ + i) * heads + h) * hd;
          const dd = dden[(b * seqQ + i) * heads + h];
          for (let d = 0; d < hd; d++) {
            const f = fq[qo + d];
            if (f === 0) continue;
            gz[d] += f * dd;
            for (let e = 0; e < hd; e++) G[d * hd + e] += f * dnum[qo + e];
          }
        }
      };
      if (!o.causal) for (let i = 0; i < seqQ; i++) addQuery(i);
      for (let j = seqK - 1; j >= 0; j--) {
        if (o.causal) addQuery(j);
        if (o.keyMask !== undefined && o.keyMask[b * seqK + j] === 0) continue;
        const ko = ((b * seqK + j) * kvHeads + g) * hd;
        for (let d = 0; d < hd; d++) {
          if (dk !== null) {
            let s = gz[d];
            for (let e = 0; e < hd; e++) s += G[d * hd + e] * vv[ko + e];
            dk[ko + d] += s * phiGrad(map, k[ko + d]);
          }
          if (dv !== null) {
            const f = fk[ko + d];
            if (f !== 0) for (let e = 0; e < hd; e++) dv[ko + e] += G[d * hd + e] * f;
          }
        }
      }
    }
  }
}
