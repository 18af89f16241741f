// Linear attention (Katharopoulos et al. 2020) as a chunked O(n) scan. One workgroup per
// (batch, kv head), one thread per value channel e, which owns column e of the state
// S = Σ φ(k) vᵀ in registers. Per chunk of C rows: the causal intra-chunk part is a small
// C×C score block in workgroup memory, the inter-chunk part reads the state carried from
// earlier chunks (or earlier decode steps: the state lives in a buffer between calls).
// All query heads of a GQA group share the kv head's state, so they run in the same workgroup.

import type { FeatureMap } from "../../../src/model/model.ts";
import { Bindings, kernel, opaque, seqCap, seqLen, seqPos, u32, type Kernel, type SeqSym } from "../wgsl.ts";

export interface LinearAttentionSpec {
  q: SeqSym;
  /** Keys are the query rows themselves (else the encoder's output, non-causal). */
  self: boolean;
  causal: boolean;
  heads: number;
  kvHeads: number;
  headDim: number;
  featureMap: FeatureMap;
  mask: boolean;
}

const EPS = "1e-6f";

export function linearChunk(s: LinearAttentionSpec, maxBytes: number): number {
  const g = s.heads / s.kvHeads;
  const bytes = (c: number) => (2 * c * s.headDim + g * c * s.headDim + g * c * c + s.headDim) * 4;
  for (const c of [32, 16, 8, 4, 2, 1]) if (bytes(c) <= maxBytes) return c;
  throw new Error(`linear attention: head dim ${s.headDim} × ${g} heads per group does not fit ${maxBytes} bytes of workgroup memory`);
}

export function linearAttentionKernel(s: LinearAttentionSpec, maxBytes: number, maxThreads: number): Kernel {
  if (s.causal && !s.self) throw new Error("linear attention: causal attention over the encoder's output is not defined");
  if (s.headDim > maxThreads) throw new Error(`linear attention: head dim ${s.headDim} exceeds ${maxThreads} invocations per workgroup`);
  const C = linearChunk(s, maxBytes);
  const G = s.heads / s.kvHeads;
  const state = s.causal;
  const b = new Bindings();
  b.add("Q", "read", "array<f32>");
  b.add("K", "read", "array<f32>");
  b.add("V", "read", "array<f32>");
  if (s.mask) b.add("Mk", "read", "array<u32>");
  if (state) {
    b.add("St", "rw", "array<f32>");
    b.add("Zt", "rw", "array<f32>");
  }
  b.add("O", "rw", "array<f32>");
  const phi = s.featureMap === "elu1" ? "select(exp(x), x + 1.0, x > 0.0)" : "max(x, 0.0)";
  // Key row j's mask: self keys sit at cache positions pos + j of the mask history.
  const maskAt = s.self ? `Mk[b * ${seqCap(s.q)} + ${seqPos(s.q)} + j]` : "Mk[b * P.src + j]";
  const klen = s.self ? seqLen(s.q) : "P.src";
  const loadKeys = `
    for (var x = t; x < C * HD; x += HD) {
      let j = r0 + x / HD;
      var fkv = 0.0;
      var vvv = 0.0;
      if (j < klen${s.mask ? ` && ${maskAt} != 0u` : ""}) {
        let o = ((b * klen + j) * KVH + kvh) * HD + x % HD;
        fkv = phi(K[o]);
        vvv = V[o];
      }
      fk[x] = fkv;
      vv[x] = vvv;
    }`;
  const loadQueries = `
    for (var x = t; x < G * C * HD; x += HD) {
      let g = x / (C * HD);
      let i = r0 + (x / HD) % C;
      fq[x] = select(0.0, phi(Q[((b * qlen + min(i, qlen - 1u)) * H + kvh * G + g) * HD + x % HD]), i < qlen);
    }`;
  const update = `
    for (var d = 0u; d < ${opaque("HD")}; d++) {
      var a = 0.0;
      for (var jj = 0u; jj < ${opaque("C")}; jj++) { a += fk[jj * HD + d] * vv[jj * HD + t]; }
      S[d] += a;
    }
    var za = 0.0;
    for (var jj = 0u; jj < ${opaque("C")}; jj++) { za += fk[jj * HD + t]; }
    zs[t] += za;`;
  // intra: add the causal part of the current chunk (keys jj ≤ ii, scores in A).
  const readout = (intra: boolean) => `
    for (var g = 0u; g < ${opaque("G")}; g++) {
      for (var ii = 0u; ii < ${opaque("C")}; ii++) {
        if (r0 + ii >= qlen) { break; }
        let f = (g * C + ii) * HD;
        var num = 0.0;
        var den = 0.0;
        for (var d = 0u; d < ${opaque("HD")}; d++) { num += fq[f + d] * S[d]; den += fq[f + d] * zs[d]; }
        ${intra ? "for (var jj = 0u; jj <= ii; jj++) { let a = A[(g * C + ii) * C + jj]; num += a * vv[jj * HD + t]; den += a; }" : ""}
        O[((b * qlen + r0 + ii) * H + kvh * G + g) * HD + t] = num / (den + ${EPS});
      }
    }`;
  const causalBody = `
  for (var r0 = 0u; r0 < qlen; r0 += C) {
    ${loadKeys}
    ${loadQueries}
    workgroupBarrier();
    for (var x = t; x < G * C * C; x += HD) {
      let gi = x / C;
      let jj = x % C;
      var a = 0.0;
      if (jj <= gi % C) { for (var d = 0u; d < ${opaque("HD")}; d++) { a += fq[gi * HD + d] * fk[jj * HD + d]; } }
      A[x] = a;
    }
    workgroupBarrier();
    ${readout(true)}
    workgroupBarrier();
    ${update}
    workgroupBarrier();
  }`;
  const fullBody = `
  for (var r0 = 0u; r0 < klen; r0 += C) {
    ${loadKeys}
    workgroupBarrier();
    ${update}
    workgroupBarrier();
  }
  for (var r0 = 0u; r0 < qlen; r0 += C) {
    ${loadQueries}
    workgroupBarrier();
    ${readout(false)}
    workgroupBarrier();
  }`;
  const body = `
const H = ${u32(s.heads)};
const KVH = ${u32(s.kvHeads)};
const G = ${u32(G)};
const HD = ${u32(s.headDim)};
const C = ${u32(C)};
fn phi(x: f32) -> f32 { return ${phi}; }
var<workgroup> fk: array<f32, ${C * s.headDim}>;
var<workgroup> vv: array<f32, ${C * s.headDim}>;
var<workgroup> fq: array<f32, ${G * C * s.headDim}>;
var<workgroup> A: array<f32, ${G * C * C}>;
var<workgroup> zs: array<f32, ${s.headDim}>;
@compute @workgroup_size(${s.headDim})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let kvh = wg.x;
  let b = wg.y;
  let qlen = ${seqLen(s.q)};
  let klen = ${klen};
  var S: array<f32, ${s.headDim}>;
  let so = (b * KVH + kvh) * HD;
  ${state ? "for (var d = 0u; d < HD; d++) { S[d] = St[(so + d) * HD + t]; }\n  zs[t] = Zt[so + t];" : "zs[t] = 0.0;"}
  workgroupBarrier();
  ${state ? causalBody : fullBody}
  ${state ? "for (var d = 0u; d < HD; d++) { St[(so + d) * HD + t] = S[d]; }\n  Zt[so + t] = zs[t];" : ""}
}`;
  return kernel(b, body, s.headDim, (2 * C * s.headDim + G * C * s.headDim + G * C * C + s.headDim) * 4);
}
