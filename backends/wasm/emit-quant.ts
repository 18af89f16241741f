// Activation quantisation inside the q8 / q4 matmuls: each input row cut into blocks of 32 and
// rounded to int8 by the rule of src/runtime/weights/activations.ts, which the reference
// follows too. Emitted once per kernel, used two ways:
//   "int"  (decode) the codes as int8 [nb · 32] and widened to int16 [nb · 32] (one for the
//          i7 relaxed dot, one for i32x4.dot_i16x8_s), then per block {f32 d, i32 8 · Σ a}
//          (the second is the q4 offset correction Σ a · (nibble − 8) = Σ a · nibble − 8 Σ a);
//   "f32"  (prefill) the values a · d as f32 [K], for the f32 register tiles.
// Elements past K are zero (the arena holds the next row there), so the kernels may run whole
// blocks.

import { BLOCK, blocksOf } from "../../src/runtime/weights/format.ts";
import { type Func, f32, get, i32, set } from "./wat.ts";

/** Bytes of one row's "int" quantisation: codes i8, codes i16, then {d, corr} per block. */
export const actRowBytes = (K: number): number => Math.ceil((blocksOf(K) * (BLOCK * 3 + 8)) / 16) * 16;
export const actI16Offset = (K: number): number => blocksOf(K) * BLOCK;
export const actMetaOffset = (K: number): number => blocksOf(K) * BLOCK * 3;

const ZERO = "(v128.const i32x4 0 0 0 0)";

/** The 8 f32x4 of a block at byte `src` whose first element is k0 (elements past K zero). */
function blockVectors(K: number, k0: number, src: string): string[] {
  const out: string[] = [];
  for (let v = 0; v < 8; v++) {
    const k = k0 + 4 * v;
    if (k + 4 <= K) out.push(`(v128.load offset=${16 * v} ${src})`);
    else if (k >= K) out.push(ZERO);
    else {
      const keep = Array.from({ length: 4 }, (_, l) => (k + l < K ? -1 : 0)).join(" ");
      out.push(`(v128.and (v128.load offset=${16 * v} ${src}) (v128.const i32x4 ${keep}))`);
    }
  }
  return out;
}

/** One block: its source at $qsrc (f32), its index in $qb; k0 is its first element when known (the tail block). */
function quantizeBlock(K: number, mode: "int" | "f32", k0: number): string {
  const out: string[] = [];
  const vs = blockVectors(K, k0, get("qsrc"));
  for (let v = 0; v < 8; v++) out.push(set(`qv${v}`, vs[v]));
  // amax with f32x4.max so a NaN propagates as Math.max does in the reference.
  let m = `(f32x4.abs ${get("qv0")})`;
  for (let v = 1; v < 8; v++) m = `(f32x4.max ${m} (f32x4.abs ${get(`qv${v}`)}))`;
  out.push(set("qm", m));
  out.push(set("qm", `(f32x4.max ${get("qm")} (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${get("qm")} ${get("qm")}))`));
  out.push(set("qm", `(f32x4.max ${get("qm")} (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 ${get("qm")} ${get("qm")}))`));
  out.push(set("qd", `(f32.div (f32x4.extract_lane 0 ${get("qm")}) ${f32(127)})`));
  out.push(set("qid", `(f32x4.splat (select (f32.div ${f32(1)} ${get("qd")}) ${f32(0)} (f32.ne ${get("qd")} ${f32(0)})))`));
  for (let v = 0; v < 8; v++) out.push(set(`qv${v}`, `(i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul ${get(`qv${v}`)} ${get("qid")})))`));
  if (mode === "f32") {
    const dst = `(i32.add ${get("xo")} (i32.shl ${get("qb")} (i32.const 7)))`;
    for (let v = 0; v < 8 && k0 + 4 * v < K; v++) {
      const val = `(f32x4.mul (f32x4.convert_i32x4_s ${get(`qv${v}`)}) (f32x4.splat ${get("qd")}))`;
      const lanes = Math.min(4, K - k0 - 4 * v);
      // Never past the row: another thread may be writing the next one.
      if (lanes === 4) out.push(`(v128.store offset=${16 * v} ${dst} ${val})`);
      else {
        out.push(set("qm", val));
        for (let l = 0; l < lanes; l++) out.push(`(f32.store offset=${16 * v + 4 * l} ${dst} (f32x4.extract_lane ${l} ${get("qm")}))`);
      }
    }
    return out.join("\n");
  }
  let s = get("qv0");
  for (let v = 1; v < 8; v++) s = `(i32x4.add ${s} ${get(`qv${v}`)})`;
  out.push(set("qs", s));
  out.push(set("qs", `(i32x4.add ${get("qs")} (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${get("qs")} ${get("qs")}))`));
  out.push(set("qs", `(i32x4.add ${get("qs")} (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 ${get("qs")} ${get("qs")}))`));
  const meta = `(i32.add ${get("xo")} (i32.shl ${get("qb")} (i32.const 3)))`;
  out.push(`(f32.store offset=${actMetaOffset(K)} ${meta} ${get("qd")})`);
  out.push(`(i32.store offset=${actMetaOffset(K) + 4} ${meta} (i32.shl (i32x4.extract_lane 0 ${get("qs")}) (i32.const 3)))`);
  for (let h = 0; h < 4; h++) out.push(set(`qv${h}`, `(i16x8.narrow_i32x4_s ${get(`qv${2 * h}`)} ${get(`qv${2 * h + 1}`)})`));
  const i16 = `(i32.add ${get("xo")} (i32.shl ${get("qb")} (i32.const 6)))`;
  for (let h = 0; h < 4; h++) out.push(`(v128.store offset=${actI16Offset(K) + 16 * h} ${i16} ${get(`qv${h}`)})`);
  const i8 = `(i32.add ${get("xo")} (i32.shl ${get("qb")} (i32.const 5)))`;
  for (let h = 0; h < 2; h++) out.push(`(v128.store offset=${16 * h} ${i8} (i8x16.narrow_i16x8_s ${get(`qv${2 * h}`)} ${get(`qv${2 * h + 1}`)}))`);
  return out.join("\n");
}

/**
 * Statements quantising the row at local $xq (f32 [K]) to local $xo, "int" or "f32" layout as
 * above: a loop over the whole blocks, then the partial one.
 */
export function quantizeRow(f: Func, K: number, mode: "int" | "f32"): string {
  f.local("v128", "qv0", "qv1", "qv2", "qv3", "qv4", "qv5", "qv6", "qv7", "qm", "qs", "qid");
  f.local("f32", "qd");
  f.local("i32", "qb", "qsrc");
  const whole = Math.floor(K / BLOCK);
  const loop =
    whole === 0
      ? ""
      : `(local.set $qb (i32.const 0))
      (loop $L_qb
        (local.set $qsrc (i32.add ${get("xq")} (i32.shl ${get("qb")} (i32.const 7))))
        ${quantizeBlock(K, mode, 0)}
        (br_if $L_qb (i32.lt_s (local.tee $qb (i32.add ${get("qb")} (i32.const 1))) ${i32(whole)})))`;
  const tail =
    K % BLOCK === 0
      ? ""
      : `(local.set $qb ${i32(whole)})
      (local.set $qsrc (i32.add ${get("xq")} ${i32(whole * BLOCK * 4)}))
      ${quantizeBlock(K, mode, whole * BLOCK)}`;
  return `${loop}\n${tail}`;
}

/** Quantises rows [r0, r1) of A (f32 [rows][K] at $a) to "int" rows of actRowBytes at $scr. */
export function quantizeRowsInt(f: Func, K: number, r1: string): string {
  f.local("i32", "qr", "xq", "xo");
  return `
    (local.set $qr (i32.const 0))
    (block $B_q (loop $L_q
      (br_if $B_q (i32.ge_s ${get("qr")} ${r1}))
      (local.set $xq (i32.add ${get("a")} (i32.mul ${get("qr")} ${i32(4 * K)})))
      (local.set $xo (i32.add ${get("scr")} (i32.mul ${get("qr")} ${i32(actRowBytes(K))})))
      ${quantizeRow(f, K, "int")}
      (local.set $qr (i32.add ${get("qr")} (i32.const 1)))
      (br $L_q)))`;
}

/** This thread's share of the rows of A quantised to f32 at `dst` ([rows][K]), then a barrier. */
export function quantizeRowsShared(f: Func, K: number, dst: number): string {
  f.local("i32", "qr", "qr1", "xq", "xo");
  return `
    (local.set $qr (i32.div_u (i32.mul ${get("rows")} (global.get $tid)) (global.get $nth)))
    (local.set $qr1 (i32.div_u (i32.mul ${get("rows")} (i32.add (global.get $tid) (i32.const 1))) (global.get $nth)))
    (block $B_qs (loop $L_qs
      (br_if $B_qs (i32.ge_s ${get("qr")} ${get("qr1")}))
      (local.set $xq (i32.add ${get("a")} (i32.mul ${get("qr")} ${i32(4 * K)})))
      (local.set $xo (i32.add ${i32(dst)} (i32.mul ${get("qr")} ${i32(4 * K)})))
      ${quantizeRow(f, K, "f32")}
      (local.set $qr (i32.add ${get("qr")} (i32.const 1)))
      (br $L_qs)))
    (call $barrier)`;
}
