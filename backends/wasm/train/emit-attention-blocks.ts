// Building blocks of the blocked training attention (emit-attention-train.ts): every product of
// the forward and the backward is a small matmul between T × T or T × headDim blocks that sit
// packed in a per-thread scratch, run by the register-tiled microkernel of ../emit-block-mm.ts
// (shared with the inference prefill, ../emit-attention-blocked.ts). Its operands are named by
// strides, so the transposed products of the backward (Pᵀ·dO, dSᵀ·Q) read the probability
// block in place. Also here: the scratch layouts, the packing of K and V blocks (zero past the
// last key), and each query row's visible-key bounds.

import { softcapScoresV } from "../emit-math.ts";
import { type EmitFlags, Func, get, i32, set, splat } from "../wat.ts";
import type { AttentionTrainSpec } from "./emit-attention-train.ts";

/** Queries and keys per block. */
export const T = 32;

/** Per-thread scratch, byte offsets from the thread's base; `fixed` bytes before any per-call part. */
export interface Layout {
  [name: string]: number;
  fixed: number;
}

/** Lays out named f32 buffers of the given lengths one after another (64-byte aligned). */
function layout(bufs: Array<[string, number]>): Layout {
  const out: Layout = { fixed: 0 };
  let at = 0;
  for (const [name, floats] of bufs) {
    out[name] = at;
    at += Math.ceil((floats * 4) / 64) * 64;
  }
  out.fixed = at;
  return out;
}

/** The forward's scratch; after `fixed` come the unit's packed Kᵀ and V blocks (fwdScratchBytes). */
export const fwdLayout = (d: number): Layout => layout([["qs", T * d], ["o", T * d], ["s", T * T], ["m", T], ["l", T], ["lo", T], ["hi", T]]);

/** The backward's scratch (all of it fixed). */
export const bwdLayout = (d: number): Layout =>
  layout([["kt", d * T], ["vt", d * T], ["kp", T * d], ["dk", T * d], ["dv", T * d], ["qs", T * d], ["dop", T * d], ["dq", T * d], ["s", T * T], ["dp", T * T], ["lr", T], ["dr", T], ["lo", T], ["hi", T]]);

/** Bytes of one thread's forward scratch for Sk keys: the fixed part and every key block packed twice (Kᵀ, V). */
export const fwdScratchBytes = (d: number, Sk: number): number => fwdLayout(d).fixed + 2 * Math.ceil(Sk / T) * T * d * 4;
export const bwdScratchBytes = (d: number): number => bwdLayout(d).fixed;

/**
 * Packs key block $pj0 (T keys of batch $b, KV head $kvh) from `src` ([B, Sk, KVH, d]): into
 * `t` as [d][T] (transposed) and/or into `r` as [T][d], times `rScale` when given; keys past Sk
 * are zeros.
 */
export function packKeys(f: Func, d: number, src: string, t: string | null, r: string | null, id: string, rScale?: number): string {
  f.local("i32", "pk_j", "pk_src", "pk_d", "pj0");
  const nv = d / 4;
  const load = (v: number) => `(v128.load offset=${v * 16} ${get("pk_src")})`;
  const rowCopy = r === null ? "" : Array.from({ length: nv }, (_, v) => `(v128.store offset=${v * 16} (i32.add ${get(r)} (i32.mul ${get("pk_j")} ${i32(d * 4)})) ${rScale === undefined ? load(v) : `(f32x4.mul ${load(v)} ${splat(rScale)})`})`).join("\n");
  const rowZero = r === null ? "" : Array.from({ length: nv }, (_, v) => `(v128.store offset=${v * 16} (i32.add ${get(r)} (i32.mul ${get("pk_j")} ${i32(d * 4)})) (v128.const i32x4 0 0 0 0))`).join("\n");
  const tCopy =
    t === null
      ? ""
      : `(local.set $pk_d (i32.const 0))
        (loop $L_pkt_${id}
          (f32.store (i32.add ${get(t)} (i32.shl (i32.add (i32.mul ${get("pk_d")} ${i32(T)}) ${get("pk_j")}) (i32.const 2)))
            (f32.load (i32.add ${get("pk_src")} (i32.shl ${get("pk_d")} (i32.const 2)))))
          (br_if $L_pkt_${id} (i32.lt_s (local.tee $pk_d (i32.add ${get("pk_d")} (i32.const 1))) ${i32(d)})))`;
  const tZero =
    t === null
      ? ""
      : `(local.set $pk_d (i32.const 0))
        (loop $L_pkz_${id}
          (f32.store (i32.add ${get(t)} (i32.shl (i32.add (i32.mul ${get("pk_d")} ${i32(T)}) ${get("pk_j")}) (i32.const 2))) (f32.const 0))
          (br_if $L_pkz_${id} (i32.lt_s (local.tee $pk_d (i32.add ${get("pk_d")} (i32.const 1))) ${i32(d)})))`;
  return `
    (local.set $pk_j (i32.const 0))
    (loop $L_pk_${id}
      (if (i32.lt_s (i32.add ${get("pj0")} ${get("pk_j")}) ${get("Sk")})
        (then
          (local.set $pk_src (i32.add ${get(src)} (i32.mul (i32.add (i32.mul (i32.add (i32.mul ${get("b")} ${get("Sk")}) (i32.add ${get("pj0")} ${get("pk_j")})) ${get("KVH")}) ${get("kvh")}) ${i32(d * 4)})))
          ${rowCopy}
          ${tCopy})
        (else ${rowZero} ${tZero}))
      (br_if $L_pk_${id} (i32.lt_s (local.tee $pk_j (i32.add ${get("pk_j")} (i32.const 1))) ${i32(T)})))`;
}

/**
 * The visible keys [lo, hi) of each query row $i0 + r of head $h (the reference
 * visibleKeySegments rule, per-head windows from $hwin) into the scratch's `lo` / `hi` arrays;
 * a row past S gets an empty range. $jmin / $jmax: the union of the rows' ranges.
 */
export function rowBounds(f: Func, lo: string, hi: string): string {
  f.local("i32", "rb_r", "rb_i", "rb_lo", "rb_hi", "jmin", "jmax", "hwin");
  return `
    (local.set $jmin ${get("Sk")})
    (local.set $jmax (i32.const 0))
    (local.set $rb_r (i32.const 0))
    (loop $L_rb
      (local.set $rb_i (i32.add ${get("i0")} ${get("rb_r")}))
      (local.set $rb_hi ${get("Sk")})
      (if ${get("causal")} (then (local.set $rb_hi (call $imin ${get("rb_hi")} (i32.add ${get("rb_i")} (i32.const 1))))))
      (local.set $rb_lo (i32.const 0))
      (if (i32.gt_s ${get("win")} (i32.const 0)) (then
        (local.set $rb_lo (call $imax (i32.const 0) (i32.add (i32.sub ${get("rb_i")} ${get("win")}) (i32.const 1))))
        (if (i32.eqz ${get("causal")}) (then (local.set $rb_hi (call $imin ${get("rb_hi")} (i32.add ${get("rb_i")} ${get("win")})))))))
      (if (i32.gt_s ${get("hwin")} (i32.const 0)) (then
        (local.set $rb_lo (call $imax ${get("rb_lo")} (i32.add (i32.sub ${get("rb_i")} ${get("hwin")}) (i32.const 1))))))
      (if (i32.ge_s ${get("rb_i")} ${get("S")}) (then (local.set $rb_hi (i32.const 0))))
      (if (i32.ge_s ${get("rb_lo")} ${get("rb_hi")}) (then (local.set $rb_lo (i32.const 0)) (local.set $rb_hi (i32.const 0)))
        (else
          (local.set $jmin (call $imin ${get("jmin")} ${get("rb_lo")}))
          (local.set $jmax (call $imax ${get("jmax")} ${get("rb_hi")}))))
      (i32.store (i32.add ${get(lo)} (i32.shl ${get("rb_r")} (i32.const 2))) ${get("rb_lo")})
      (i32.store (i32.add ${get(hi)} (i32.shl ${get("rb_r")} (i32.const 2))) ${get("rb_hi")})
      (br_if $L_rb (i32.lt_s (local.tee $rb_r (i32.add ${get("rb_r")} (i32.const 1))) ${i32(T)})))`;
}

/**
 * Lane mask $valid of keys $j..$j+3 for the query row whose bounds are $lo / $hi: inside them
 * and, with a key mask, not padded.
 */
export function keyMask(): string {
  const lanes = "(i32x4.add (i32x4.splat (local.get $j)) (v128.const i32x4 0 1 2 3))";
  return `(local.set $valid (v128.and (i32x4.ge_s ${lanes} (i32x4.splat ${get("lo")})) (i32x4.lt_s ${lanes} (i32x4.splat ${get("hi")}))))
    (if ${get("keep")} (then (local.set $valid (v128.and ${get("valid")} (f32x4.ne (v128.load (i32.add ${get("keep")} (i32.shl (i32.add (i32.mul ${get("b")} ${get("Sk")}) ${get("j")}) (i32.const 2)))) (v128.const i32x4 0 0 0 0))))))`;
}

/** The per-head constants: its KV head, ALiBi slope and Hard-ALiBi window. */
export function headSetup(f: Func): string {
  f.local("i32", "kvh", "hwin");
  f.local("f32", "slope");
  return `
      (local.set $kvh (i32.div_u ${get("h")} (i32.div_u ${get("H")} ${get("KVH")})))
      (local.set $slope (f32.const 0))
      (if ${get("slopes")} (then (local.set $slope (f32.load (i32.add ${get("slopes")} (i32.shl ${get("h")} (i32.const 2)))))))
      (local.set $hwin (i32.const 0))
      (if ${get("hw")} (then (local.set $hwin (i32.load (i32.add ${get("hw")} (i32.shl ${get("h")} (i32.const 2)))))))`;
}

export const ZERO = "(v128.const i32x4 0 0 0 0)";
export const NEG = -3e38;

/** Sets the scratch buffers' addresses (locals named after them) from this thread's base. */
export function scratchSetup(f: Func, names: Record<string, number>, skip: string[] = ["fixed"]): string {
  f.local("i32", "base");
  const out = [`(local.set $base (i32.add ${get("scratch")} (i32.mul (global.get $tid) ${get("sper")})))`];
  for (const [n, off] of Object.entries(names)) {
    if (skip.includes(n)) continue;
    f.local("i32", `${n}B`);
    out.push(set(`${n}B`, `(i32.add ${get("base")} ${i32(off)})`));
  }
  return out.join("\n");
}

/** The units loop ($tid's share of `units`), with `setUnit` run first in each. */
export function unitLoop(f: Func, units: string, setUnit: string, body: string): string {
  f.local("i32", "u", "u1", "units");
  return `
  (local.set $units ${units})
  (local.set $u (i32.div_u (i32.mul ${get("units")} (global.get $tid)) (global.get $nth)))
  (local.set $u1 (i32.div_u (i32.mul ${get("units")} (i32.add (global.get $tid) (i32.const 1))) (global.get $nth)))
  (block $B_u (loop $L_u (br_if $B_u (i32.ge_s ${get("u")} ${get("u1")}))
    ${setUnit}
    ${body}
    (local.set $u (i32.add ${get("u")} (i32.const 1))) (br $L_u)))`;
}

/** `body` for r in [0, T), with $lo / $hi the row's bounds and $rowS its scores row in `sbuf`. */
export function perRow(f: Func, sbuf: string, body: string, id: string): string {
  f.local("i32", "r", "lo", "hi", "rowS");
  return `
      (local.set $r (i32.const 0))
      (loop $L_row_${id}
        (local.set $lo (i32.load (i32.add ${get("loB")} (i32.shl ${get("r")} (i32.const 2)))))
        (local.set $hi (i32.load (i32.add ${get("hiB")} (i32.shl ${get("r")} (i32.const 2)))))
        (local.set $rowS (i32.add ${get(sbuf)} (i32.mul ${get("r")} ${i32(T * 4)})))
        ${body}
        (br_if $L_row_${id} (i32.lt_s (local.tee $r (i32.add ${get("r")} (i32.const 1))) ${i32(T)})))`;
}

/** `body` for each vector v of a row of T scores: $j its first key, $vo its byte offset. */
export function perVec(f: Func, body: string, id: string): string {
  f.local("i32", "vo", "j", "jb");
  return `
        (local.set $vo (i32.const 0))
        (loop $L_vec_${id}
          (local.set $j (i32.add ${get("jb")} (i32.shr_u ${get("vo")} (i32.const 2))))
          ${body}
          (br_if $L_vec_${id} (i32.lt_s (local.tee $vo (i32.add ${get("vo")} (i32.const 16))) ${i32(T * 4)})))`;
}

/** The scores $s of keys $j..$j+3 for query $i0 + $r from the block: soft-capped ($sc keeps it), ALiBi, and the lane mask $valid. */
export function scores(f: Func, fl: EmitFlags, s: AttentionTrainSpec): string {
  f.local("v128", "s", "sc", "valid", "dist");
  const out = [set("s", `(v128.load (i32.add ${get("rowS")} ${get("vo")}))`)];
  if (s.softcap !== undefined) out.push(softcapScoresV(f, fl, "capped", "s", s.softcap), set("s", get("capped")));
  out.push(set("sc", get("s")));
  out.push(`(if (f32.ne ${get("slope")} (f32.const 0)) (then
    (local.set $dist (f32x4.abs (f32x4.convert_i32x4_s (i32x4.sub (i32x4.splat (i32.sub (i32.add ${get("i0")} ${get("r")}) ${get("j")})) (v128.const i32x4 0 1 2 3)))))
    ${set("s", `(f32x4.sub ${get("s")} (f32x4.mul ${get("dist")} (f32x4.splat ${get("slope")})))`)}))`);
  out.push(keyMask());
  return out.join("\n");
}

/** Max of the four lanes. */
export const hmax = (f: Func, x: string, out: string): string => {
  f.local("v128", "hm");
  return `(local.set $hm (f32x4.pmax ${get(x)} (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${get(x)} ${get(x)})))
    (local.set $hm (f32x4.pmax ${get("hm")} (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 ${get("hm")} ${get("hm")})))
    (local.set $${out} (f32x4.extract_lane 0 ${get("hm")}))`;
};

/** Query row $i0 + r of head $h: its byte offset in q-shaped buffers, into $qrow (−1 past S). */
export const queryRow = (rr: string) =>
  `(local.set $qrow (i32.const -1))
      (if (i32.lt_s (i32.add ${get("i0")} ${rr}) ${get("S")}) (then (local.set $qrow (i32.add (i32.mul (i32.add (i32.mul ${get("b")} ${get("S")}) (i32.add ${get("i0")} ${rr})) ${get("H")}) ${get("h")}))))`;

