// The vector–Jacobian product of training attention (attention-train.ts), in FlashAttention-2's
// split (Dao 2023): nothing n×n is stored; every pass recomputes the probabilities it needs,
// p_ij = exp(s_ij − lse_i), from q, k and the forward's log-sum-exp.
//   1. D pass   D_i = dO_i · O_i per (batch, query row, head) — rowsum(dO ∘ O), the softmax
//               Jacobian's diagonal term (dS = P ∘ (dP − D)).
//   2. dk/dv    a workgroup per (key block, KV head, batch row), one key per thread, holding
//               k_j, v_j and its dk_j, dv_j in registers while it walks the query rows of
//               every query head of the KV head's GQA group:
//                 dv_j += p_ij dO_i,  dk_j += s' (p_ij (dO_i · v_j − D_i)) q_i
//               so each dk / dv row has exactly one writer: no atomics, GQA and MQA included.
//   3. dq       a workgroup per (query block, head, batch row), one query row per thread:
//                 dq_i += s' p_ij (dO_i · v_j − D_i) k_j
// s' = ∂s/∂(q·k): the scale, times 1 − (s_c / cap)² under a soft-cap (s_c the capped score, before
// ALiBi). The lse and D of row r share one buffer LD [rows, 2] (lse uploaded, D written by pass
// 1), which keeps the dk/dv pass within 8 storage bindings (WebGPU's default limit) with a
// padding mask bound. A row that saw no key has lse = +3e38 there (uploaded for the CPU's
// -Infinity), so its p is 0 and it passes no gradient, as in the reference.
//
// In `tiles` mode pass 2 stages each block of query rows (q, dO, lse, D) in workgroup memory
// and pass 3 each key block (k, v, mask), like the forward; `walk` reads straight from memory.
// Query blocks whose union of key ranges misses a workgroup's key block are skipped (the key
// ranges are monotone in the row, so the union of rows i0..i1 lies in [lo(i0), hi(i1))).

import { FLAT_WG, FLAT_WG_ARGS, TrainBindings, type TrainKernel } from "./program.ts";
import { BKV, blockRows, commonSource, fitted, inputBindings, keyAt, keyReal, queryRowKernel, rangeOf, score, vecsOf, type TrainAttentionSpec } from "./attention-train.ts";

export const D_LINE = 64;

/** Pass 1: LD[2r + 1] = Σ dO[r] · O[r] for r < P.len. */
export function attentionDeltaKernel(s: TrainAttentionSpec): TrainKernel {
  const b = new TrainBindings();
  b.add("GO", "read", "array<VT>");
  b.add("O", "read", "array<VT>");
  b.add("LD", "rw", "array<f32>");
  return b.kernel(
    `${commonSource(s)}
@compute @workgroup_size(${D_LINE})
fn main(${FLAT_WG_ARGS}) {
  let r = ${FLAT_WG} * ${D_LINE}u + li;
  if (r >= P.len) { return; }
  var d = 0.0;
  for (var c = 0u; c < NV; c++) { d += vdot(GO[r * NV + c], O[r * NV + c]); }
  LD[2u * r + 1u] = d;
}`,
    D_LINE,
    0,
  );
}

/** Pass 3: dq. */
export function attentionDqKernel(s: TrainAttentionSpec, budget: number): TrainKernel {
  const b = inputBindings(s, true);
  b.add("DQ", "rw", "array<VT>");
  return queryRowKernel(s, budget, b, {
    privates: `var<private> q: array<VT, NV>;
var<private> g: array<VT, NV>;
var<private> dq: array<VT, NV>;`,
    init: `  let lse = LD[2u * row];
  let dd = LD[2u * row + 1u];
  let live = valid && lse < 1.0e38;
  for (var c = 0u; c < NV; c++) {
    q[c] = Q[qo + c] * SCALE;
    g[c] = GO[qo + c];
    dq[c] = VT(0.0);
  }`,
    block: (bk) => `    for (var jj = 0u; jj < ${bk}u; jj++) {
      let j = j0 + i32(jj);
      if (live && j >= kr.x && j < kr.y && ${keyReal(s)}) {
        var d = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < NV; c++) {
          d += vdot(q[c], ${keyAt(s, "K")});
          dp += vdot(g[c], ${keyAt(s, "V")});
        }
        let sc = ${score(s, "d")};
        let p = exp(sc + bias_of(h, i, j) - lse);
        let ds = p * (dp - dd) * dcap(sc);
        for (var c = 0u; c < NV; c++) { dq[c] += ds * ${keyAt(s, "K")}; }
      }
    }`,
    end: `  if (valid) {
    for (var c = 0u; c < NV; c++) { DQ[qo + c] = dq[c] * SCALE; }
  }`,
  });
}

/** Query rows staged per block of the dk/dv pass (q, dO: 8·headDim bytes; lse, D: 8). */
export function queryBlock(s: TrainAttentionSpec, budget: number): number {
  return s.tiles ? blockRows(s.headDim, 8, budget) : 32;
}

/** Pass 2: dk and dv. */
export function attentionDkvKernel(s: TrainAttentionSpec, budget: number): TrainKernel {
  const bq = fitted(s, budget, queryBlock(s, budget));
  const nv = vecsOf(s.headDim);
  const b = inputBindings(s, true);
  b.add("DK", "rw", "array<VT>");
  b.add("DV", "rw", "array<VT>");
  // Row ii of the query block: staged (tiles) or read where it lies (walk).
  const qAt = s.tiles ? "Qs[ii * NV + c]" : "(Q[qo + c] * SCALE)";
  const gAt = s.tiles ? "Gs[ii * NV + c]" : "GO[qo + c]";
  const ldAt = s.tiles ? "Ls[ii]" : "vec2<f32>(LD[2u * row], LD[2u * row + 1u])";
  const stage = s.tiles
    ? `
      for (var e = t; e < ${bq}u * NV; e += ${BKV}u) {
        let ir = min(u32(i0) + e / NV, sq - 1u);
        let o = ((b * sq + ir) * H + h) * NV + e % NV;
        Qs[e] = Q[o] * SCALE;
        Gs[e] = GO[o];
      }
      for (var e = t; e < ${bq}u; e += ${BKV}u) {
        let rr = (b * sq + min(u32(i0) + e, sq - 1u)) * H + h;
        Ls[e] = vec2<f32>(LD[2u * rr], LD[2u * rr + 1u]);
      }
      workgroupBarrier();`
    : "";
  const body = `${commonSource(s)}
var<private> kj: array<VT, NV>;
var<private> vj: array<VT, NV>;
var<private> dk: array<VT, NV>;
var<private> dv: array<VT, NV>;
${s.tiles ? `var<workgroup> Qs: array<VT, ${bq * nv}>;\nvar<workgroup> Gs: array<VT, ${bq * nv}>;\nvar<workgroup> Ls: array<vec2<f32>, ${bq}>;` : ""}
@compute @workgroup_size(${BKV})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let kvh = wg.y;
  let b = wg.z;
  let sq = P.seqQ;
  let sk = P.seqK;
  let kvlen = i32(sk);
  let jr = wg.x * ${BKV}u + t;
  let j = i32(jr);
  let ko = krow(b, i32(min(jr, sk - 1u)), kvh, sk);
  let real = jr < sk && ${s.mask ? "Mk[b * sk + jr] != 0u" : "true"};
  for (var c = 0u; c < NV; c++) {
    kj[c] = K[ko + c];
    vj[c] = V[ko + c];
    dk[c] = VT(0.0);
    dv[c] = VT(0.0);
  }
  let j0 = i32(wg.x * ${BKV}u);
  let j1 = min(j0 + ${BKV}, kvlen);
  for (var hh = 0u; hh < G; hh++) {
    let h = kvh * G + hh;
    for (var i0 = 0; i0 < i32(sq); i0 += ${bq}) {
      let i1 = min(i0 + ${bq}, i32(sq)) - 1;
      let span = vec2<i32>(${rangeOf(s, "h", "i0")}.x, ${rangeOf(s, "h", "i1")}.y);
      if (span.y <= j0 || span.x >= j1) { continue; }${stage}
      for (var ii = 0u; ii < ${bq}u; ii++) {
        let i = i0 + i32(ii);
        let kr = ${rangeOf(s, "h", "i")};
        if (real && i < i32(sq) && j >= kr.x && j < kr.y) {
          let row = (b * sq + u32(i)) * H + h;
          let qo = row * NV;
          let ld = ${ldAt};
          var d = 0.0;
          var dp = 0.0;
          for (var c = 0u; c < NV; c++) {
            d += vdot(${qAt}, kj[c]);
            dp += vdot(${gAt}, vj[c]);
          }
          let sc = ${score(s, "d")};
          let p = exp(sc + bias_of(h, i, j) - ld.x);
          let ds = p * (dp - ld.y) * dcap(sc);
          for (var c = 0u; c < NV; c++) {
            dv[c] += p * ${gAt};
            dk[c] += ds * ${qAt};
          }
        }
      }
      ${s.tiles ? "workgroupBarrier();" : ""}
    }
  }
  if (jr < sk) {
    for (var c = 0u; c < NV; c++) {
      DK[ko + c] = dk[c];
      DV[ko + c] = dv[c];
    }
  }
}`;
  return b.kernel(body, BKV, s.tiles ? (2 * bq * s.headDim + 2 * bq) * 4 : 0);
}

