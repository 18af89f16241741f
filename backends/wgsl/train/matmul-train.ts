// The training matmuls, one generator for the three products a linear layer needs:
//   nt  y  = x · Wᵀ (+ b)   x [rows, K], W [N, K]        rows = P.rows, N and K baked
//   nn  dx = dy · W          dy [rows, K=out], W [K, N=in] rows = P.rows, N and K baked
//   tn  dW = dyᵀ · x         dy [rows, M=out], x [rows, N] M and N baked, the reduction over rows
// Each thread accumulates a TM × TN block of C as outer products, one k at a time, so one loop
// serves every layout: only the two element readers differ. The block is strided: thread
// (x, y) owns rows y, y + WY, … and columns x, x + WX, …, so neighbouring threads touch
// neighbouring elements (on llvmpipe, whose SIMD lanes are neighbouring invocations, this
// made the register variant 2-3× faster than contiguous 8 × 8 blocks). A reduction over rows (tn) is cut
// into P.slice-row slices, one per workgroup layer (grid z), each writing its own partial
// C_s [M, N]; reduceKernel sums them in slice order. Every output has one writer: no float
// atomics, and the sums do not depend on scheduling (the same call gives the same bits).
//
// Two variants, as in the inference matmul (../kernels/matmul.ts):
//   tiles    BK-deep panels of A and B staged through workgroup memory, each element loaded
//            once per workgroup with neighbouring threads reading neighbouring addresses (the
//            GPU kernel);
//   register the same blocking straight from memory with no barriers: what a CPU posing as a
//            GPU (llvmpipe) prefers — its caches do the staging and barriers are coroutine
//            switches there.

import { opaqueBound, TrainBindings, type TrainKernel, FLAT_WG, FLAT_WG_ARGS } from "./program.ts";

export type GemmMode = "nt" | "nn" | "tn";

export interface GemmSpec {
  mode: GemmMode;
  /** nt / nn: output columns and the contraction (rows at run time); tn: dW's rows and columns. */
  N: number;
  K?: number;
  M?: number;
  /** nt only: adds Bias[n]. */
  bias?: boolean;
  tiles: boolean;
}

/** Rows × columns of C per thread, threads per workgroup in x (columns) and y (rows). */
export function gemmBlocking(tiles: boolean): { tm: number; tn: number; wx: number; wy: number; bk: number } {
  return tiles ? { tm: 8, tn: 8, wx: 8, wy: 8, bk: 16 } : { tm: 8, tn: 8, wx: 16, wy: 4, bk: 0 };
}

/** C's rows and columns covered by one workgroup. */
export function gemmTile(tiles: boolean): { bm: number; bn: number } {
  const b = gemmBlocking(tiles);
  return { bm: b.tm * b.wy, bn: b.tn * b.wx };
}

export const gemmKey = (s: GemmSpec): string => `gemm_${s.mode}_m${s.M ?? "r"}_n${s.N}_k${s.K ?? "r"}_${s.bias ? "b" : ""}${s.tiles ? "t" : "r"}`;

function dimsOf(s: GemmSpec): { M: string; N: string; K: string } {
  const need = (v: number | undefined, what: string): string => {
    if (v === undefined || !Number.isInteger(v) || v < 1) throw new Error(`gemm ${s.mode}: ${what} must be a positive integer, got ${v}`);
    return `${v}u`;
  };
  if (s.mode === "tn") return { M: need(s.M, "M"), N: need(s.N, "N"), K: "P.rows" };
  return { M: "P.rows", N: need(s.N, "N"), K: need(s.K, "K") };
}

/** a_at(m, k) and b_at(k, n) for the mode's layouts. */
function readers(mode: GemmMode): string {
  const a = mode === "tn" ? "A[k * MD + m]" : "A[m * KD + k]";
  const b = mode === "nt" ? "B[n * KD + k]" : "B[k * ND + n]";
  return `fn a_at(m: u32, k: u32) -> f32 { return ${a}; }\nfn b_at(k: u32, n: u32) -> f32 { return ${b}; }`;
}

/** One k-step of the TM × TN outer product, from `a(i)` and `b(j)`. */
function step(tm: number, tn: number, a: (i: string) => string, b: (j: string) => string): string {
  return `
    var a: array<f32, ${tm}>;
    for (var i = 0u; i < ${tm}u; i++) { a[i] = ${a("i")}; }
    for (var j = 0u; j < ${tn}u; j++) {
      let bv = ${b("j")};
      for (var i = 0u; i < ${tm}u; i++) { acc[i][j] += a[i] * bv; }
    }`;
}

/**
 * Tiles variant's staging of one BK-deep panel: element e of the panel maps so that
 * consecutive threads read consecutive addresses of the operand's contiguous axis.
 */
function stage(s: GemmSpec, bm: number, bn: number, bk: number, threads: number): string {
  const aKFast = s.mode !== "tn";
  const bKFast = s.mode === "nt";
  const aIdx = aKFast ? `let mm = e / ${bk}u; let kk = e % ${bk}u;` : `let kk = e / ${bm}u; let mm = e % ${bm}u;`;
  const bIdx = bKFast ? `let nn = e / ${bk}u; let kk = e % ${bk}u;` : `let kk = e / ${bn}u; let nn = e % ${bn}u;`;
  return `
    for (var e = li; e < ${bk * bm}u; e += ${threads}u) {
      ${aIdx}
      let m = mb + mm;
      let k = kt + kk;
      As[kk * ${bm}u + mm] = select(0.0, a_at(min(m, MD - 1u), min(k, ke - 1u)), m < MD && k < ke);
    }
    for (var e = li; e < ${bk * bn}u; e += ${threads}u) {
      ${bIdx}
      let n = nb + nn;
      let k = kt + kk;
      Bs[kk * ${bn}u + nn] = select(0.0, b_at(min(k, ke - 1u), min(n, ND - 1u)), n < ND && k < ke);
    }
    workgroupBarrier();`;
}

export function gemmKernel(s: GemmSpec): TrainKernel {
  const { M, N, K } = dimsOf(s);
  if (s.bias && s.mode !== "nt") throw new Error("gemm: a bias belongs to the forward (nt) product");
  const { tm, tn, wx, wy, bk } = gemmBlocking(s.tiles);
  const bm = tm * wy;
  const bn = tn * wx;
  const threads = wx * wy;
  const b = new TrainBindings();
  b.add("A", "read", "array<f32>");
  b.add("B", "read", "array<f32>");
  if (s.bias) b.add("Bias", "read", "array<f32>");
  b.add("C", "rw", "array<f32>");
  // Baked dims are module constants (the readers' strides); the run-time one is a let in main.
  const dims = { MD: M, ND: N, KD: K };
  const baked = Object.entries(dims).filter(([, v]) => !v.startsWith("P."));
  const runtime = Object.entries(dims).filter(([, v]) => v.startsWith("P."));
  const head = `${baked.map(([k, v]) => `const ${k} = ${v};`).join("\n")}\n${readers(s.mode)}`;
  const loop = s.tiles
    ? `
  for (var kt = kb; kt < ke; kt += ${bk}u) {${stage(s, bm, bn, bk, threads)}
    for (var kk = 0u; kk < ${bk}u; kk++) {${step(
      tm,
      tn,
      (i) => `As[kk * ${bm}u + lid.y + ${i} * ${wy}u]`,
      (j) => `Bs[kk * ${bn}u + lid.x + ${j} * ${wx}u]`,
    )}
    }
    workgroupBarrier();
  }`
    : `
  for (var k = kb; k < ke; k++) {${step(
    tm,
    tn,
    (i) => `a_at(min(m0 + ${i} * ${wy}u, MD - 1u), k)`,
    (j) => `b_at(k, min(n0 + ${j} * ${wx}u, ND - 1u))`,
  )}
  }`;
  // The epilogue indexes a copy of the accumulators in a loop the compiler cannot unroll,
  // which keeps shader compile time on llvmpipe down (../kernels/matmul.ts explains).
  const body = `${head}
${s.tiles ? `var<workgroup> As: array<f32, ${bk * bm}>;\nvar<workgroup> Bs: array<f32, ${bk * bn}>;` : ""}
@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${runtime.map(([k, v]) => `let ${k} = ${v};`).join("\n  ")}
  let mb = wg.y * ${bm}u;
  let nb = wg.x * ${bn}u;
  let m0 = mb + lid.y;
  let n0 = nb + lid.x;
  let kb = wg.z * P.slice;
  let ke = min(kb + P.slice, KD);
  var acc: array<array<f32, ${tn}>, ${tm}>;${loop}
  var res: array<f32, ${tm * tn}>;
  for (var i = 0u; i < ${tm}u; i++) {
    for (var j = 0u; j < ${tn}u; j++) { res[i * ${tn}u + j] = acc[i][j]; }
  }
  let base = wg.z * MD * ND;
  for (var e = 0u; e < ${opaqueBound(`${tm * tn}u`)}; e++) {
    let m = m0 + (e / ${tn}u) * ${wy}u;
    let n = n0 + (e % ${tn}u) * ${wx}u;
    if (m < MD && n < ND) { C[base + m * ND + n] = res[e]${s.bias ? " + Bias[n]" : ""}; }
  }
}`;
  return b.kernel(body, threads, s.tiles ? (bk * (bm + bn)) * 4 : 0);
}

/** Threads per workgroup of the 1-D kernels below. */
export const LINE = 128;

/** out[e] = Σ_s part[s · len + e] for e < P.len, s < P.slices (in slice order). */
export function reduceKernel(): TrainKernel {
  const b = new TrainBindings();
  b.add("Part", "read", "array<f32>");
  b.add("Out", "rw", "array<f32>");
  return b.kernel(
    `
@compute @workgroup_size(${LINE})
fn main(${FLAT_WG_ARGS}) {
  let e = ${FLAT_WG} * ${LINE}u + li;
  if (e >= P.len) { return; }
  var s = 0.0;
  for (var t = 0u; t < P.slices; t++) { s += Part[t * P.len + e]; }
  Out[e] = s;
}`,
    LINE,
    0,
  );
}

/** The bias gradient's partial column sums: Out[z · N + n] = Σ over slice z's rows of dy[r, n]. */
export function colsumKernel(N: number): TrainKernel {
  const b = new TrainBindings();
  b.add("Dy", "read", "array<f32>");
  b.add("Out", "rw", "array<f32>");
  return b.kernel(
    `
const ND = ${N}u;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wg: vec3u) {
  let n = gid.x;
  if (n >= ND) { return; }
  let r0 = wg.z * P.slice;
  let r1 = min(r0 + P.slice, P.rows);
  var s = 0.0;
  for (var r = r0; r < r1; r++) { s += Dy[r * ND + n]; }
  Out[wg.z * ND + n] = s;
}`,
    64,
    0,
  );
}
