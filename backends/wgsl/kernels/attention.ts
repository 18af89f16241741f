// Fused softmax attention, flash-attention style: a workgroup owns BQ query rows of one
// (batch, head), streams K/V tiles through workgroup memory and keeps an online softmax
// (running max, running sum, rescaled accumulator) per query in registers, so no score matrix
// ever exists. Visibility (causal, window, block-sparse, strided, padding) and ALiBi are
// evaluated per key; key tiles that no query of the workgroup can see are never loaded, which
// is what makes windowed and block-sparse attention cost O(visible blocks). Strided attention
// walks each query's own visible segments instead (its columns touch every tile).
//
// A sliding-window cache the state plan (src/ir/state-plan.ts) makes a ring (`ring` rows)
// holds position p in slot p mod rows of each sequence, in a decode state (P.p1 = 1); in a
// forward (P.p1 = 0) it is an ordinary store of P.cap = seq rows, where the modulo is the
// identity. Every K/V read and write of such a cache goes through that slot; a mask history
// that is a ring of the same rows (`maskRing`) too. Non-ring kernels are unchanged.

import { headSlopes } from "../../reference/kernels/position.ts";
import type { SparsePattern } from "../../../src/model/model.ts";
import { Bindings, f32, f32Table, floorPow2, kernel, seqCap, seqLen, seqPos, tanhAccFn, u32, type Kernel, type SeqSym } from "../wgsl.ts";

export interface AttentionSpec {
  /** Sequence of the query rows. */
  q: SeqSym;
  /** Keys are the queries' own sequence (a KV store over `q`), else the encoder's output. */
  self: boolean;
  heads: number;
  kvHeads: number;
  headDim: number;
  causal: boolean;
  window?: number;
  sparse?: SparsePattern;
  alibi: boolean;
  /** Per query head causal window (Hard-ALiBi): head h sees keys j > i - w_h; 0 = no limit. */
  headWindows?: readonly number[];
  /** A u32 key padding mask over the key rows, 1 = real. */
  mask: boolean;
  /** Score scale (the queries carry it); absent: headDim^-0.5. */
  scale?: number;
  /** Scores soft-capped, cap · tanh(score / cap), before ALiBi and masks. */
  softcap?: number;
  /** Self keys in a ring of this many rows per sequence (state plan), in a decode state. */
  ring?: number;
  /** The mask history is a ring of the same rows (else a full history of P.cap rows). */
  maskRing?: boolean;
}

/** Rows per sequence of a ring store: the ring's in a decode state, the call's cap in a forward. */
export const ringRows = (ring: number): string => `select(P.cap, ${u32(ring)}, P.p1 != 0u)`;

/** storeRow (wgsl.ts) for a ring store over the decoder's rows: activation row m → its slot. */
export function ringStoreRow(m: string, ring: number): string {
  const R = ringRows(ring);
  return `((${m}) / P.seq * ${R} + (P.pos + (${m}) % P.seq) % ${R})`;
}

/** Row of key j of sequence b in a K/V store of `ks` rows per sequence (its slot in a ring). */
export function kvRow(s: AttentionSpec, b: string, ks: string, j: string): string {
  return s.ring !== undefined ? `(${b} * ${ks} + u32(${j}) % ${ks})` : `(${b} * ${ks} + u32(${j}))`;
}

/** The mask entry of key j of sequence b. */
export function maskAt(s: AttentionSpec, b: string, ks: string, j: string): string {
  if (s.ring === undefined || s.maskRing) return `Mk[${kvRow(s, b, ks, j).slice(1, -1)}]`;
  return `Mk[${b} * P.cap + u32(${j})]`;
}

/** Below any real score: "no key yet" without relying on infinities, which WGSL need not keep. */
export const NEG = "-3.0e38f";

/**
 * The IEEE rule for a row (as the reference and Wasm have it): a visible key scoring NaN or +inf
 * (inf - inf) makes the row NaN, and so do visible keys that all score -inf; no visible key gives
 * 0. Tested on the bits, since WGSL may fold float NaN tests away, and the NaN is made at run
 * time (a constant NaN is a shader-creation error).
 */
export const IEEE_ROWS = `fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn poisons(x: f32) -> bool { return is_nan(x) || bitcast<u32>(x) == 0x7f800000u; }
fn nan_of(u: u32) -> f32 { return bitcast<f32>(u); }
fn row_scale(l: f32, seen: bool, poison: bool) -> f32 { return select(select(0.0, 1.0 / l, l > 0.0), nan_of(0x7fc00000u), poison || (seen && !(l > 0.0))); }`;

/** Key geometry of a spec: length, row stride of the store (and mask), position of query row 0. */
export function keyGeometry(s: AttentionSpec): { kvlen: string; stride: string; q0: string } {
  if (s.self) return { kvlen: `(${seqPos(s.q)} + ${seqLen(s.q)})`, stride: s.ring !== undefined ? ringRows(s.ring) : seqCap(s.q), q0: seqPos(s.q) };
  return { kvlen: "P.src", stride: "P.src", q0: seqPos(s.q) };
}

/**
 * WGSL shared by the attention kernels: constants, `visible(i, j)` (everything except padding,
 * which depends on the batch row) and `key_range(i)` (the [lo, hi) interval causal and window
 * masks leave), written from the same rules as the reference's visibleKeySegments.
 */
export function attentionCommon(s: AttentionSpec): string {
  if (s.heads % s.kvHeads !== 0) throw new Error(`attention: heads ${s.heads} is not a multiple of kv heads ${s.kvHeads}`);
  const vec = s.headDim % 4 === 0;
  const lines = [
    `const H = ${u32(s.heads)};`,
    `const KVH = ${u32(s.kvHeads)};`,
    `const G = ${u32(s.heads / s.kvHeads)};`,
    `const HD = ${u32(s.headDim)};`,
    `const NV = ${u32(vec ? s.headDim / 4 : s.headDim)};`,
    `const SCALE = ${f32(s.scale ?? 1 / Math.sqrt(s.headDim))};`,
    `alias VT = ${vec ? "vec4<f32>" : "f32"};`,
    `fn vdot(a: VT, b: VT) -> f32 { return ${vec ? "dot(a, b)" : "a * b"}; }`,
  ];
  // With per-head windows only the unwindowed heads carry slopes (of their own count).
  if (s.alibi) lines.push(f32Table("SLOPE", headSlopes(s.heads, true, s.headWindows)!));
  if (s.softcap !== undefined) lines.push(tanhAccFn("f32"), `fn capped(d: f32) -> f32 { return ${f32(s.softcap)} * tanh_acc(d * ${f32(1 / s.softcap)}); }`);
  const w = s.window;
  const range = [
    "fn key_range(i: i32, kvlen: i32) -> vec2<i32> {",
    "  var lo = 0;",
    "  var hi = kvlen;",
    s.causal ? "  hi = min(hi, i + 1);" : "",
    w !== undefined ? `  lo = max(lo, i - ${w} + 1);` : "",
    w !== undefined && !s.causal ? `  hi = min(hi, i + ${w});` : "",
    "  return vec2<i32>(lo, hi);",
    "}",
  ];
  // Hard-ALiBi: a windowed head's own lower bound on top of the op's range (uniform per workgroup).
  if (s.headWindows) {
    range.push(
      `const HW = array<i32, ${s.heads}>(${s.headWindows.map((w) => `${w}`).join(", ")});`,
      "fn head_range(h: u32, i: i32, kvlen: i32) -> vec2<i32> {",
      "  let r = key_range(i, kvlen);",
      "  return vec2<i32>(select(r.x, max(r.x, i - HW[h] + 1), HW[h] > 0), r.y);",
      "}",
    );
  }
  const sp = s.sparse;
  let vis = "fn visible(i: i32, j: i32) -> bool { return true; }";
  if (sp?.kind === "block") {
    const ge = sp.global * sp.block;
    const band =
      sp.local <= 0
        ? `return j < ${ge};`
        : `let bs = (bi - ${sp.local} + 1) * ${sp.block};\n  let be = (bi + ${sp.local}) * ${sp.block};\n  return j < ${ge} || (j >= bs && j < be);`;
    vis = `fn visible(i: i32, j: i32) -> bool {
  let bi = i / ${sp.block};
  if (bi < ${sp.global}) { return true; }
  ${band}
}`;
  } else if (sp?.kind === "strided") {
    vis = `fn visible(i: i32, j: i32) -> bool { let d = i - j; return abs(d) < ${sp.stride} || d % ${sp.stride} == 0; }`;
  }
  const score = `fn bias_of(h: u32, i: i32, j: i32) -> f32 { return ${s.alibi ? "-SLOPE[h] * f32(abs(i - j))" : "0.0"}; }`;
  return [...lines, ...range.filter((l) => l !== ""), vis, score, IEEE_ROWS].join("\n");
}

/** The [lo, hi) keys query `i` of head `h` may see: the op's range, narrowed by the head's window. */
export const keyRangeOf = (s: AttentionSpec, h: string, i: string, kvlen: string): string => (s.headWindows ? `head_range(${h}, ${i}, ${kvlen})` : `key_range(${i}, ${kvlen})`);

/** The score of dot product `d` (the queries carry the scale) before ALiBi: soft-capped if asked. */
export const scoreOf = (s: AttentionSpec, d: string): string => (s.softcap === undefined ? d : `capped(${d})`);

/**
 * Folds one key block's scores sc[jj] (NEG: key not attended, tmax their max) into the online
 * softmax (m, l, acc): one rescale to the new max per block, then p · v per attended key.
 * `v` is value component c of key jj; lines after the first are indented by `pad`. The
 * training forward (../train/attention-train.ts) merges its blocks with the same code.
 */
export function mergeBlock(bound: string, v: string, pad: string): string {
  return [
    `if (tmax > ${NEG}) {`,
    "  let mn = max(m, tmax);",
    "  let cf = exp(m - mn);",
    "  l = l * cf;",
    "  for (var c = 0u; c < NV; c++) { acc[c] = acc[c] * cf; }",
    "  m = mn;",
    `  for (var jj = 0u; jj < ${bound}; jj++) {`,
    `    if (sc[jj] > ${NEG}) {`,
    "      let p = exp(sc[jj] - m);",
    "      l += p;",
    `      for (var c = 0u; c < NV; c++) { acc[c] += p * ${v}; }`,
    "    }",
    "  }",
    "}",
  ].join(`\n${pad}`);
}

/** Tile sizes that fit the workgroup-memory budget. */
export function flashTiles(s: AttentionSpec, maxBytes: number): { bq: number; bk: number } {
  const bq = 32;
  let bk = Math.min(64, floorPow2(Math.floor(maxBytes / (8 * s.headDim + 4))));
  if (bk < 1) throw new Error(`attention: head dim ${s.headDim} does not fit ${maxBytes} bytes of workgroup memory`);
  const sp = s.sparse;
  // Tiles aligned to whole sparse blocks let the skip test drop exactly the invisible blocks.
  if (sp?.kind === "block" && sp.block <= bk) bk = sp.block * Math.floor(bk / sp.block);
  return { bq, bk };
}

/**
 * `tiles`: K/V tiles staged in workgroup memory (the GPU kernel). `walk`: each query reads its
 * visible keys straight from memory, no barriers (llvmpipe's choice, and strided attention's
 * always, since its columns touch every tile).
 */
export type AttentionMode = "tiles" | "walk";

export function flashKernel(s: AttentionSpec, maxBytes: number, mode: AttentionMode = "tiles"): Kernel {
  const { bq, bk } = flashTiles(s, maxBytes);
  const b = new Bindings();
  b.add("Q", "read", "array<VT>");
  b.add("K", "read", "array<VT>");
  b.add("V", "read", "array<VT>");
  if (s.mask) b.add("Mk", "read", "array<u32>");
  b.add("O", "rw", "array<VT>");
  const g = keyGeometry(s);
  const walking = mode === "walk" || s.sparse?.kind === "strided";
  const body = `${attentionCommon(s)}
const BQ = ${u32(bq)};
const BK = ${u32(bk)};
var<private> q: array<VT, NV>;
var<private> acc: array<VT, NV>;
var<private> m: f32;
var<private> l: f32;
var<private> seen: bool;
var<private> poison: bool;
${walking ? walk(s) : tiles(s, bk)}
@compute @workgroup_size(${bq})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let h = wg.y;
  let b = wg.z;
  let kvh = h / G;
  let qlen = ${seqLen(s.q)};
  let kvlen = i32(${g.kvlen});
  let ks = ${g.stride};
  let q0 = i32(${g.q0});
  let r = wg.x * BQ + t;
  let valid = r < qlen;
  let i = q0 + i32(r);
  let qo = ((b * qlen + r) * H + h) * NV;
  m = ${NEG};
  l = 0.0;
  seen = false;
  poison = false;
  for (var c = 0u; c < NV; c++) {
    acc[c] = VT(0.0);
    if (valid) { q[c] = Q[qo + c] * SCALE; }
  }
  ${
    walking
      ? "if (valid) { walk_keys(b, h, kvh, i, kvlen, ks); }"
      : `let first = q0 + i32(wg.x * BQ);
  let last = q0 + i32(min(wg.x * BQ + BQ, qlen)) - 1;
  run_tiles(t, valid, b, h, kvh, i, first, last, kvlen, ks);`
  }
  if (valid) {
    let inv = row_scale(l, seen, poison);
    for (var c = 0u; c < NV; c++) { O[qo + c] = acc[c] * inv; }
  }
}`;
  return kernel(b, body, bq, walking ? 0 : (2 * bk * s.headDim + (s.mask ? bk : 0)) * 4);
}

function tiles(s: AttentionSpec, bk: number): string {
  const sp = s.sparse;
  let skip = "false";
  if (sp?.kind === "block") {
    const ge = sp.global * sp.block;
    skip =
      sp.local <= 0
        ? `first / ${sp.block} >= ${sp.global} && j0 >= ${ge}`
        : `first / ${sp.block} >= ${sp.global} && j0 >= ${ge} && (j0 + ${bk} <= (first / ${sp.block} - ${sp.local} + 1) * ${sp.block} || j0 >= (last / ${sp.block} + ${sp.local}) * ${sp.block})`;
  }
  return `
var<workgroup> Ks: array<VT, ${bk} * NV>;
var<workgroup> Vs: array<VT, ${bk} * NV>;
${s.mask ? `var<workgroup> Ms: array<u32, ${bk}>;` : ""}
fn run_tiles(t: u32, valid: bool, b: u32, h: u32, kvh: u32, i: i32, first: i32, last: i32, kvlen: i32, ks: u32) {
  // The union of the rows' [lo, hi) ranges; both ends are uniform across the workgroup.
  let jr = vec2<i32>(${keyRangeOf(s, "h", "first", "kvlen")}.x, ${keyRangeOf(s, "h", "last", "kvlen")}.y);
  for (var j0 = (jr.x / i32(BK)) * i32(BK); j0 < jr.y; j0 += i32(BK)) {
    if (${skip}) { continue; }
    for (var e = t; e < BK * NV; e += BQ) {
      let j = j0 + i32(e / NV);
      var kv = VT(0.0);
      var vv = VT(0.0);
      if (j < kvlen) {
        let o = (${kvRow(s, "b", "ks", "j")} * KVH + kvh) * NV + e % NV;
        kv = K[o];
        vv = V[o];
      }
      Ks[e] = kv;
      Vs[e] = vv;
    }
    ${s.mask ? `for (var e = t; e < BK; e += BQ) { let j = j0 + i32(e); Ms[e] = select(0u, ${maskAt(s, "b", "ks", "j")}, j < kvlen); }` : ""}
    workgroupBarrier();
    if (valid) {
      let kr = ${keyRangeOf(s, "h", "i", "kvlen")};
      var sc: array<f32, ${bk}>;
      var tmax = ${NEG};
      for (var jj = 0u; jj < BK; jj++) {
        let j = j0 + i32(jj);
        var sv = ${NEG};
        if (j >= kr.x && j < kr.y && visible(i, j)${s.mask ? " && Ms[jj] != 0u" : ""}) {
          var d = 0.0;
          for (var c = 0u; c < NV; c++) { d += vdot(q[c], Ks[jj * NV + c]); }
          sv = ${scoreOf(s, "d")} + bias_of(h, i, j);
          seen = true;
          poison = poison || poisons(sv);
          tmax = max(tmax, sv);
        }
        sc[jj] = sv;
      }
      ${mergeBlock("BK", "Vs[jj * NV + c]", "      ")}
    }
    workgroupBarrier();
  }
}`;
}

/** Each query visits its visible key segments in increasing order (the reference's order). */
function walk(s: AttentionSpec): string {
  const sp = s.sparse;
  let segments = "for (var j = kr.x; j < kr.y; j++) { attend(b, h, kvh, i, j, ks); }";
  if (sp?.kind === "strided") {
    const st = sp.stride;
    segments = `let col = kr.x + ((i - kr.x) % ${st} + ${st}) % ${st};
  for (var j = col; j < min(i - ${st} + 1, kr.y); j += ${st}) { attend(b, h, kvh, i, j, ks); }
  for (var j = max(i - ${st} + 1, kr.x); j < min(i + ${st}, kr.y); j++) { attend(b, h, kvh, i, j, ks); }
  for (var j = max(i + ${st}, col); j < kr.y; j += ${st}) { attend(b, h, kvh, i, j, ks); }`;
  } else if (sp?.kind === "block") {
    const ge = sp.global * sp.block;
    // Global query blocks see everything; others the global key blocks and their band.
    const band =
      sp.local <= 0
        ? ""
        : `for (var j = max(max(kr.x, ${ge}), (bi - ${sp.local} + 1) * ${sp.block}); j < min(kr.y, (bi + ${sp.local}) * ${sp.block}); j++) { attend(b, h, kvh, i, j, ks); }`;
    segments = `let bi = i / ${sp.block};
  if (bi < ${sp.global}) {
    for (var j = kr.x; j < kr.y; j++) { attend(b, h, kvh, i, j, ks); }
    return;
  }
  for (var j = kr.x; j < min(kr.y, ${ge}); j++) { attend(b, h, kvh, i, j, ks); }
  ${band}`;
  }
  return `
fn attend(b: u32, h: u32, kvh: u32, i: i32, j: i32, ks: u32) {
  ${s.mask ? `if (${maskAt(s, "b", "ks", "j")} == 0u) { return; }` : ""}
  let o = (${kvRow(s, "b", "ks", "j")} * KVH + kvh) * NV;
  var d = 0.0;
  for (var c = 0u; c < NV; c++) { d += vdot(q[c], K[o + c]); }
  let sv = ${scoreOf(s, "d")} + bias_of(h, i, j);
  seen = true;
  poison = poison || poisons(sv);
  if (sv > m) {
    let cf = exp(m - sv);
    l = l * cf;
    for (var c = 0u; c < NV; c++) { acc[c] = acc[c] * cf; }
    m = sv;
  }
  let p = exp(sv - m);
  l += p;
  for (var c = 0u; c < NV; c++) { acc[c] += p * V[o + c]; }
}
fn walk_keys(b: u32, h: u32, kvh: u32, i: i32, kvlen: i32, ks: u32) {
  let kr = ${keyRangeOf(s, "h", "i", "kvlen")};
  if (kr.x >= kr.y) { return; }
  ${segments}
}`;
}
