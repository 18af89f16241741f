// Softmax attention for training on WebGPU, the forward: flash-style (Dao et al. 2022), a
// workgroup per (query block of BQ rows, head, batch row), one query row per thread, an online
// softmax over key blocks of BK keys (running max m, denominator l, rescaled accumulator), so
// no score matrix exists. It writes the output and each row's (m, l), from which the caller
// forms the log-sum-exp m + log l in float64 (-Infinity where no key is visible, l = 0): all
// the backward (attention-grad.ts) keeps of the softmax.
//
// Masks, ALiBi, soft-cap and GQA come from the inference kernel's attentionCommon
// (../kernels/attention.ts: key_range / head_range written from the reference's
// visibleKeySegments rule, per-head windows, the slope table, capped()), so training sees
// exactly the keys inference does. Query row i is position i (cross attention: seqQ ≠ seqK).
//
// Two modes, as the inference attention has: `tiles` stages each key block's K and V (and the
// padding mask) in workgroup memory (the GPU kernel); `walk` reads them straight from memory
// with no barriers (llvmpipe's choice). Key blocks outside the union of the workgroup's rows'
// ranges are never visited (a causal or windowed row costs O(visible keys)).

import { attentionCommon, keyRangeOf, mergeBlock, NEG, scoreOf, type AttentionSpec } from "../kernels/attention.ts";
import { f32, floorPow2 } from "../wgsl.ts";
import { opaqueBound, TrainBindings, type TrainKernel } from "./program.ts";

export interface TrainAttentionSpec {
  heads: number;
  kvHeads: number;
  headDim: number;
  causal: boolean;
  window?: number;
  alibi: boolean;
  headWindows?: readonly number[];
  /** A key padding mask (u32 per key of [batch, seqK], 1 = real) is bound. */
  mask: boolean;
  scale: number;
  softcap?: number;
  tiles: boolean;
}

export const attentionTrainKey = (s: TrainAttentionSpec): string => JSON.stringify(s);

/** Query rows per workgroup of the forward and dq passes; keys per workgroup of the dk/dv pass. */
export const BQ = 32;
export const BKV = 32;

/** The inference spec attentionCommon reads (its q/self fields only matter to keyGeometry, unused here). */
function inferenceSpec(s: TrainAttentionSpec): AttentionSpec {
  return {
    q: "seq",
    self: false,
    heads: s.heads,
    kvHeads: s.kvHeads,
    headDim: s.headDim,
    causal: s.causal,
    ...(s.window !== undefined ? { window: s.window } : {}),
    alibi: s.alibi,
    ...(s.headWindows !== undefined ? { headWindows: s.headWindows } : {}),
    mask: s.mask,
    scale: s.scale,
    ...(s.softcap !== undefined ? { softcap: s.softcap } : {}),
  };
}

/**
 * Keys (forward, dq) or query rows (dk/dv) staged per block, given the workgroup-memory
 * budget and the bytes one staged row takes; 0: nothing fits, the kernel must walk.
 */
export function blockRows(headDim: number, perRowExtra: number, budget: number): number {
  const n = Math.floor(budget / (8 * headDim + perRowExtra));
  return n < 1 ? 0 : Math.min(64, floorPow2(n));
}

/** Constants, masks and helpers every training attention kernel starts with. */
export function commonSource(s: TrainAttentionSpec): string {
  const cap = s.softcap;
  return `${attentionCommon(inferenceSpec(s))}
fn krow(b: u32, j: i32, kvh: u32, sk: u32) -> u32 { return ((b * sk + u32(j)) * KVH + kvh) * NV; }
fn dcap(sc: f32) -> f32 { return ${cap === undefined ? "1.0" : `1.0 - (sc / ${f32(cap)}) * (sc / ${f32(cap)})`}; }`;
}

export const rangeOf = (s: TrainAttentionSpec, h: string, i: string): string => keyRangeOf(inferenceSpec(s), h, i, "kvlen");
export const score = (s: TrainAttentionSpec, d: string): string => scoreOf(inferenceSpec(s), d);

/**
 * Staging of key block j0 (tiles mode): Ks, Vs [bk × NV] and Ms [bk], zero past the keys,
 * followed by the barrier. Walk mode stages nothing.
 */
export function stageKeys(s: TrainAttentionSpec, bk: number, threads: number): string {
  if (!s.tiles) return "";
  return `
    for (var e = t; e < ${bk}u * NV; e += ${threads}u) {
      let j = j0 + i32(e / NV);
      var kv = VT(0.0);
      var vv = VT(0.0);
      if (j < kvlen) {
        let o = krow(b, j, kvh, sk) + e % NV;
        kv = K[o];
        vv = V[o];
      }
      Ks[e] = kv;
      Vs[e] = vv;
    }
    ${s.mask ? `for (var e = t; e < ${bk}u; e += ${threads}u) { let j = min(j0 + i32(e), kvlen - 1); Ms[e] = Mk[b * sk + u32(j)]; }` : ""}
    workgroupBarrier();`;
}

/** VT elements per head row: vec4s when the head dim allows, else scalars (attentionCommon's NV). */
export const vecsOf = (headDim: number): number => (headDim % 4 === 0 ? headDim / 4 : headDim);

/** Workgroup declarations of the staged key block. */
export function keyTileDecls(s: TrainAttentionSpec, bk: number): string {
  if (!s.tiles) return "";
  return `var<workgroup> Ks: array<VT, ${bk * vecsOf(s.headDim)}>;
var<workgroup> Vs: array<VT, ${bk * vecsOf(s.headDim)}>;
${s.mask ? `var<workgroup> Ms: array<u32, ${bk}>;` : ""}`;
}

/** Component c of key jj of the block (tiles) or of key j = j0 + jj (walk), and key j's padding test. */
export const keyAt = (s: TrainAttentionSpec, buf: "K" | "V", j = "j"): string => (s.tiles ? `${buf}s[jj * NV + c]` : `${buf}[krow(b, ${j}, kvh, sk) + c]`);
export const keyReal = (s: TrainAttentionSpec): string => (!s.mask ? "true" : s.tiles ? "Ms[jj] != 0u" : "Mk[b * sk + u32(j)] != 0u");

/** Key blocks of the forward and dq passes: staged ones in budget, 32 when walking. */
export function keyBlock(s: TrainAttentionSpec, budget: number): number {
  return s.tiles ? blockRows(s.headDim, s.mask ? 4 : 0, budget) : 32;
}

/** A block size from keyBlock or queryBlock, which must not be 0 (nothing fits the budget). */
export function fitted(s: TrainAttentionSpec, budget: number, rows: number): number {
  if (rows === 0) throw new Error(`attention: head dim ${s.headDim} does not fit ${budget} bytes of workgroup memory; use the walk mode`);
  return rows;
}

/** The bindings every pass reads first: Q, K, V, then (backward) dO and LD, then the padding mask. */
export function inputBindings(s: TrainAttentionSpec, backward: boolean): TrainBindings {
  const b = new TrainBindings();
  b.add("Q", "read", "array<VT>");
  b.add("K", "read", "array<VT>");
  b.add("V", "read", "array<VT>");
  if (backward) {
    b.add("GO", "read", "array<VT>");
    b.add("LD", "read", "array<f32>");
  }
  if (s.mask) b.add("Mk", "read", "array<u32>");
  return b;
}

/** What a query-row pass (forward, dq) adds to the frame queryRowKernel writes. */
export interface QueryRowPass {
  /** Per-thread declarations. */
  privates: string;
  /** Loads row r and zeroes its accumulators; h, b, kvh, sq, sk, kvlen, r, valid, i, row, qo are in scope. */
  init: string;
  /** The work on key block j0 of bk keys (staged in tiles mode); kr is row i's visible range. */
  block: (bk: number) => string;
  /** Stores the row after the last block. */
  end: string;
}

/**
 * The frame of the forward and dq passes: a workgroup per (query block of BQ rows, head, batch
 * row), one query row per thread, visiting only the key blocks that meet the union of the
 * block's visible-key ranges (monotone in the row: [lo(first), hi(last))), staging each in
 * tiles mode. Rows past seqQ run clamped to the last row (valid false) so barriers stay uniform.
 */
export function queryRowKernel(s: TrainAttentionSpec, budget: number, b: TrainBindings, pass: QueryRowPass): TrainKernel {
  const bk = fitted(s, budget, keyBlock(s, budget));
  const body = `${commonSource(s)}
${pass.privates}
${keyTileDecls(s, bk)}
@compute @workgroup_size(${BQ})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let h = wg.y;
  let b = wg.z;
  let kvh = h / G;
  let sq = P.seqQ;
  let sk = P.seqK;
  let kvlen = i32(sk);
  let r = wg.x * ${BQ}u + t;
  let valid = r < sq;
  let i = i32(r);
  let row = (b * sq + min(r, sq - 1u)) * H + h;
  let qo = row * NV;
${pass.init}
  let first = i32(wg.x * ${BQ}u);
  let last = i32(min(wg.x * ${BQ}u + ${BQ}u, sq)) - 1;
  let jr = vec2<i32>(${rangeOf(s, "h", "first")}.x, ${rangeOf(s, "h", "last")}.y);
  let kr = ${rangeOf(s, "h", "i")};
  for (var j0 = (jr.x / ${bk}) * ${bk}; j0 < jr.y; j0 += ${bk}) {${stageKeys(s, bk, BQ)}
${pass.block(bk)}
    ${s.tiles ? "workgroupBarrier();" : ""}
  }
${pass.end}
}`;
  return b.kernel(body, BQ, s.tiles ? (2 * bk * s.headDim + (s.mask ? bk : 0)) * 4 : 0);
}

export function attentionForwardKernel(s: TrainAttentionSpec, budget: number): TrainKernel {
  const b = inputBindings(s, false);
  b.add("O", "rw", "array<VT>");
  b.add("ML", "rw", "array<f32>");
  return queryRowKernel(s, budget, b, {
    privates: `var<private> q: array<VT, NV>;
var<private> acc: array<VT, NV>;`,
    init: `  for (var c = 0u; c < NV; c++) {
    q[c] = Q[qo + c] * SCALE;
    acc[c] = VT(0.0);
  }
  var m = ${NEG};
  var l = 0.0;`,
    block: (bk) => `    var sc: array<f32, ${bk}>;
    var tmax = ${NEG};
    for (var jj = 0u; jj < ${opaqueBound(`${bk}u`)}; jj++) {
      let j = j0 + i32(jj);
      var sv = ${NEG};
      if (valid && j >= kr.x && j < kr.y && ${keyReal(s)}) {
        var d = 0.0;
        for (var c = 0u; c < NV; c++) { d += vdot(q[c], ${keyAt(s, "K")}); }
        sv = ${score(s, "d")} + bias_of(h, i, j);
        tmax = max(tmax, sv);
      }
      sc[jj] = sv;
    }
    ${mergeBlock(opaqueBound(`${bk}u`), keyAt(s, "V", "j0 + i32(jj)"), "    ")}`,
    end: `  if (valid) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var c = 0u; c < NV; c++) { O[qo + c] = acc[c] * inv; }
    ML[2u * row] = m;
    ML[2u * row + 1u] = l;
  }`,
  });
}
