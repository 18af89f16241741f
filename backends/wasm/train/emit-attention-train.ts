// Softmax attention for training on Wasm SIMD, blocked (FlashAttention-2's schedule): the
// forward (output and each row's running max and denominator, from which the caller forms the
// log-sum-exp) and the vector–Jacobian product. No n×n matrix is stored: queries and keys go in
// blocks of T (emit-attention-blocks.ts), each block product a register-tiled matmul over
// operands packed in a per-thread scratch; the backward recomputes each block's probabilities
// from q, k and the rows' log-sum-exp.
//   forward, per (batch, head): pack every key block (Kᵀ and V), then per query block
//     S = Q·Kᵀ, the online softmax on S (rescaling O once per key block), O += P·V;
//   backward, per (batch, KV head): per key block (Kᵀ, Vᵀ, K packed; dK, dV accumulated in the
//     scratch), per head of its GQA group and query block with a visible pair:
//     S = Q·Kᵀ, dP = dO·Vᵀ, P = exp(S − lse), dS = P ∘ (dP − rowsum(dO ∘ O)),
//     dV += Pᵀ·dO, dK += dSᵀ·Q, dq += dS·K (added to dq's rows per block).
// Row-at-a-time (one query against four keys) this ran at 8–10 GFLOP/s: a head-dim-32 query
// row and its accumulators fill the 16 vector registers, and every key row was reloaded per
// query. Threads split the units ($tid's share): a backward unit owns its KV head's dk and dv
// rows, and every sum runs in the same order whoever runs the unit, so any split gives one
// thread's results bit for bit.
//
// Masking is per element inside a block: keys outside the query row's [lo, hi) (the reference
// visibleKeySegments rule: causal hi = i + 1; window lo = i − w + 1, and without causal
// hi = i + w; per-head windows for Hard-ALiBi) or padded by the key mask get probability
// exactly 0; blocks with no visible pair are skipped. Baked in: the head dim (a multiple of 4),
// the score scale and the soft-cap. At run time: shapes, causal / window, head windows, ALiBi
// slopes and a key mask as f32 0 / 1 (pointers; 0 = absent), and the scratch (bytes per thread:
// fwdScratchBytes / bwdScratchBytes).

import { expV } from "../emit-math.ts";
import { type EmitFlags, f32, Func, get, i32, madd, set, splat } from "../wat.ts";
import { mm } from "../emit-block-mm.ts";
import { bwdLayout, fwdLayout, headSetup, hmax, NEG, packKeys, perRow, perVec, queryRow, rowBounds, scores, scratchSetup, T, unitLoop, ZERO } from "./emit-attention-blocks.ts";

export { bwdScratchBytes, fwdScratchBytes } from "./emit-attention-blocks.ts";

export interface AttentionTrainSpec {
  headDim: number;
  scale: number;
  softcap?: number;
}

export const attentionTrainKey = (s: AttentionTrainSpec): string => `d${s.headDim}_s${Math.fround(s.scale)}${s.softcap !== undefined ? `_c${s.softcap}` : ""}`;

const PARAMS_COMMON = ["keep", "slopes", "hw", "B", "S", "Sk", "H", "KVH", "causal", "win", "scratch", "sper"];

/** (func $attn_fwd (param q k v out ml keep slopes hw B S Sk H KVH causal win scratch sper)): ml = (max, denominator) per row. */
export function emitAttentionForward(fl: EmitFlags, s: AttentionTrainSpec): string {
  const d = s.headDim;
  if (d % 4 !== 0) throw new Error(`wasm training attention: head dim ${d} is not a multiple of 4`);
  const nv = d / 4;
  const D4 = d * 4;
  const L = fwdLayout(d);
  const f = new Func("attn_fwd", ["q", "k", "v", "out", "ml", ...PARAMS_COMMON], undefined, `training attention forward, head dim ${d}, blocks of ${T}`);
  f.local("i32", "b", "h", "i0", "pj0", "ktB", "vpB", "ktAll", "vpAll", "qrow", "rr", "ktb", "vrb", "mp");
  f.local("f32", "mnew", "mold", "c", "l");
  f.local("v128", "bm", "lsum", "p", "x", "cv");
  const zeroV = (addr: string) => Array.from({ length: nv }, (_, v) => `(v128.store offset=${v * 16} ${addr} ${ZERO})`).join("\n");
  // Per unit: every key block of this head's KV head, Kᵀ then V.
  const packAll = `
    (local.set $pj0 (i32.const 0))
    (block $B_pk (loop $L_pka (br_if $B_pk (i32.ge_s ${get("pj0")} ${get("Sk")}))
      (local.set $ktb (i32.add ${get("ktAll")} (i32.mul ${get("pj0")} ${i32(D4)})))
      (local.set $vrb (i32.add ${get("vpAll")} (i32.mul ${get("pj0")} ${i32(D4)})))
      ${packKeys(f, d, "k", "ktb", null, "fk")}
      ${packKeys(f, d, "v", null, "vrb", "fv")}
      (local.set $pj0 (i32.add ${get("pj0")} ${i32(T)})) (br $L_pka)))`;
  const qblockInit = `
    (local.set $rr (i32.const 0))
    (loop $L_qi
      ${queryRow(get("rr"))}
      (local.set $mp (i32.add ${get("qsB")} (i32.mul ${get("rr")} ${i32(D4)})))
      (if (i32.ge_s ${get("qrow")} (i32.const 0))
        (then ${Array.from({ length: nv }, (_, v) => `(v128.store offset=${v * 16} ${get("mp")} (f32x4.mul (v128.load offset=${v * 16} (i32.add ${get("q")} (i32.mul ${get("qrow")} ${i32(D4)}))) ${splat(s.scale)}))`).join("\n")})
        (else ${zeroV(get("mp"))}))
      ${zeroV(`(i32.add ${get("oB")} (i32.mul ${get("rr")} ${i32(D4)}))`)}
      (f32.store (i32.add ${get("mB")} (i32.shl ${get("rr")} (i32.const 2))) ${f32(NEG)})
      (f32.store (i32.add ${get("lB")} (i32.shl ${get("rr")} (i32.const 2))) (f32.const 0))
      (br_if $L_qi (i32.lt_s (local.tee $rr (i32.add ${get("rr")} (i32.const 1))) ${i32(T)})))`;
  // The online softmax on one row of the score block: masked scores, the new max, rescaling, P.
  const rowSoftmax = `
        (local.set $jb ${get("pj0")})
        (local.set $bm ${splat(NEG)})
        ${perVec(f, `${scores(f, fl, s)}
          (local.set $s (v128.bitselect ${get("s")} ${splat(NEG)} ${get("valid")}))
          (v128.store (i32.add ${get("rowS")} ${get("vo")}) ${get("s")})
          (local.set $bm (f32x4.pmax ${get("bm")} ${get("s")}))`, "fa")}
        ${hmax(f, "bm", "mnew")}
        (local.set $mp (i32.add ${get("mB")} (i32.shl ${get("r")} (i32.const 2))))
        (local.set $mold (f32.load ${get("mp")}))
        (if (f32.gt ${get("mnew")} ${get("mold")}) (then
          (local.set $x (f32x4.splat (f32.sub ${get("mold")} ${get("mnew")})))
          ${expV(f, fl, "e", "x")}
          (local.set $c (f32x4.extract_lane 0 ${get("e")}))
          (f32.store (i32.add ${get("lB")} (i32.shl ${get("r")} (i32.const 2))) (f32.mul (f32.load (i32.add ${get("lB")} (i32.shl ${get("r")} (i32.const 2)))) ${get("c")}))
          (local.set $cv (f32x4.splat ${get("c")}))
          ${Array.from({ length: nv }, (_, v) => `(v128.store offset=${v * 16} (i32.add ${get("oB")} (i32.mul ${get("r")} ${i32(D4)})) (f32x4.mul (v128.load offset=${v * 16} (i32.add ${get("oB")} (i32.mul ${get("r")} ${i32(D4)}))) ${get("cv")}))`).join("\n")}
          (f32.store ${get("mp")} ${get("mnew")})
          (local.set $mold ${get("mnew")})))
        (local.set $lsum ${ZERO})
        (local.set $cv (f32x4.splat ${get("mold")}))
        ${perVec(f, `(local.set $s (v128.load (i32.add ${get("rowS")} ${get("vo")})))
          (local.set $x (f32x4.sub ${get("s")} ${get("cv")}))
          ${expV(f, fl, "p", "x")}
          (local.set $p (v128.and ${get("p")} (f32x4.ne ${get("s")} ${splat(NEG)})))
          (local.set $lsum (f32x4.add ${get("lsum")} ${get("p")}))
          (v128.store (i32.add ${get("rowS")} ${get("vo")}) ${get("p")})`, "fb")}
        (f32.store (i32.add ${get("lB")} (i32.shl ${get("r")} (i32.const 2))) (f32.add (f32.load (i32.add ${get("lB")} (i32.shl ${get("r")} (i32.const 2)))) (call $hsum ${get("lsum")})))`;
  const finish = `
    (local.set $rr (i32.const 0))
    (loop $L_fo
      ${queryRow(get("rr"))}
      (if (i32.ge_s ${get("qrow")} (i32.const 0)) (then
        (local.set $l (f32.load (i32.add ${get("lB")} (i32.shl ${get("rr")} (i32.const 2)))))
        (f32.store (i32.add ${get("ml")} (i32.shl ${get("qrow")} (i32.const 3))) (f32.load (i32.add ${get("mB")} (i32.shl ${get("rr")} (i32.const 2)))))
        (f32.store offset=4 (i32.add ${get("ml")} (i32.shl ${get("qrow")} (i32.const 3))) ${get("l")})
        (local.set $mp (i32.add ${get("out")} (i32.mul ${get("qrow")} ${i32(D4)})))
        (if (f32.gt ${get("l")} (f32.const 0))
          (then
            (local.set $cv (f32x4.splat (f32.div (f32.const 1) ${get("l")})))
            ${Array.from({ length: nv }, (_, v) => `(v128.store offset=${v * 16} ${get("mp")} (f32x4.mul (v128.load offset=${v * 16} (i32.add ${get("oB")} (i32.mul ${get("rr")} ${i32(D4)}))) ${get("cv")}))`).join("\n")})
          (else ${zeroV(get("mp"))}))))
      (br_if $L_fo (i32.lt_s (local.tee $rr (i32.add ${get("rr")} (i32.const 1))) ${i32(T)})))`;
  const qblocks = `
    (local.set $i0 (i32.const 0))
    (block $B_qb (loop $L_qb (br_if $B_qb (i32.ge_s ${get("i0")} ${get("S")}))
      ${rowBounds(f, "loB", "hiB")}
      ${qblockInit}
      (local.set $pj0 (i32.mul (i32.div_u ${get("jmin")} ${i32(T)}) ${i32(T)}))
      (block $B_kb (loop $L_kb (br_if $B_kb (i32.ge_s ${get("pj0")} ${get("jmax")}))
        (local.set $ktB (i32.add ${get("ktAll")} (i32.mul ${get("pj0")} ${i32(D4)})))
        (local.set $vpB (i32.add ${get("vpAll")} (i32.mul ${get("pj0")} ${i32(D4)})))
        ${mm(f, fl, { id: "fs", M: T, N: T, K: d, a: "qsB", am: D4, ak: 4, b: "ktB", bk: T * 4, c: "sB", cm: T * 4, zero: true })}
        ${perRow(f, "sB", rowSoftmax, "f")}
        ${mm(f, fl, { id: "fo", M: T, N: d, K: T, a: "sB", am: T * 4, ak: 4, b: "vpB", bk: D4, c: "oB", cm: D4, zero: false })}
        (local.set $pj0 (i32.add ${get("pj0")} ${i32(T)})) (br $L_kb)))
      ${finish}
      (local.set $i0 (i32.add ${get("i0")} ${i32(T)})) (br $L_qb)))`;
  const setUnit = `(local.set $b (i32.div_u ${get("u")} ${get("H")}))
    (local.set $h (i32.rem_u ${get("u")} ${get("H")}))
    ${headSetup(f)}`;
  return f.text(`${scratchSetup(f, L)}
  (local.set $ktAll (i32.add ${get("base")} ${i32(L.fixed)}))
  (local.set $vpAll (i32.add ${get("ktAll")} (i32.mul (i32.mul (i32.div_u (i32.add ${get("Sk")} ${i32(T - 1)}) ${i32(T)}) ${i32(T)}) ${i32(D4)})))
  ${unitLoop(f, `(i32.mul ${get("B")} ${get("H")})`, setUnit, `${packAll}\n${qblocks}`)}`);
}

/**
 * (func $attn_bwd (param q k v out do lse dq dk dv keep slopes hw B S Sk H KVH causal win scratch sper)):
 * accumulates dq, dk, dv. A row whose lse is −inf saw no key and passes no gradient.
 */
export function emitAttentionBackward(fl: EmitFlags, s: AttentionTrainSpec): string {
  const d = s.headDim;
  if (d % 4 !== 0) throw new Error(`wasm training attention: head dim ${d} is not a multiple of 4`);
  const nv = d / 4;
  const D4 = d * 4;
  const L = bwdLayout(d);
  const f = new Func("attn_bwd", ["q", "k", "v", "out", "do", "lse", "dq", "dk", "dv", ...PARAMS_COMMON], undefined, `training attention backward, head dim ${d}, blocks of ${T}`);
  f.local("i32", "b", "h", "h0", "h1", "per", "i0", "pj0", "qrow", "rr", "mp", "src");
  f.local("f32", "Lr", "Dr");
  f.local("v128", "p", "x", "dp", "ds", "Dv", "Lv", "Dsv");
  const vec = (fn: (o: number) => string) => Array.from({ length: nv }, (_, v) => fn(v * 16)).join("\n");
  const rowAt = (buf: string, r: string) => `(i32.add ${get(buf)} (i32.mul ${r} ${i32(D4)}))`;
  // The query block's packed rows: q · scale, dO, the row's lse (0 where it is −inf or past S: no key is visible there) and rowsum(dO ∘ O).
  const packQ = `
    (local.set $rr (i32.const 0))
    (loop $L_bq
      ${queryRow(get("rr"))}
      (local.set $Lr (f32.const 0))
      (local.set $Dr (f32.const 0))
      (if (i32.ge_s ${get("qrow")} (i32.const 0))
        (then
          (local.set $src (i32.mul ${get("qrow")} ${i32(D4)}))
          (local.set $mp ${rowAt("qsB", get("rr"))})
          ${vec((o) => `(v128.store offset=${o} ${get("mp")} (f32x4.mul (v128.load offset=${o} (i32.add ${get("q")} ${get("src")})) ${splat(s.scale)}))`)}
          (local.set $mp ${rowAt("dopB", get("rr"))})
          (local.set $Dv ${ZERO})
          ${vec((o) => `(v128.store offset=${o} ${get("mp")} (v128.load offset=${o} (i32.add ${get("do")} ${get("src")})))\n${set("Dv", madd(fl, `(v128.load offset=${o} (i32.add ${get("do")} ${get("src")}))`, `(v128.load offset=${o} (i32.add ${get("out")} ${get("src")}))`, get("Dv")))}`)}
          (local.set $Dr (call $hsum ${get("Dv")}))
          (local.set $Lr (f32.load (i32.add ${get("lse")} (i32.shl ${get("qrow")} (i32.const 2)))))
          (if (f32.eq ${get("Lr")} (f32.const -inf)) (then (local.set $Lr (f32.const 0)))))
        (else
          ${vec((o) => `(v128.store offset=${o} ${rowAt("qsB", get("rr"))} ${ZERO})`)}
          ${vec((o) => `(v128.store offset=${o} ${rowAt("dopB", get("rr"))} ${ZERO})`)}))
      (f32.store (i32.add ${get("lrB")} (i32.shl ${get("rr")} (i32.const 2))) ${get("Lr")})
      (f32.store (i32.add ${get("drB")} (i32.shl ${get("rr")} (i32.const 2))) ${get("Dr")})
      (br_if $L_bq (i32.lt_s (local.tee $rr (i32.add ${get("rr")} (i32.const 1))) ${i32(T)})))`;
  const capFactor = s.softcap === undefined ? "" : set("ds", `(f32x4.mul ${get("ds")} (f32x4.sub ${splat(1)} (f32x4.mul (f32x4.mul ${get("sc")} ${get("sc")}) ${splat(1 / (s.softcap * s.softcap))})))`);
  // P and dS of one row of the block: P in the scores block, dS in dP's (dq's dS · K takes K packed times the scale).
  const rowGrad = `
        (local.set $jb ${get("pj0")})
        (local.set $Lv (f32x4.splat (f32.load (i32.add ${get("lrB")} (i32.shl ${get("r")} (i32.const 2))))))
        (local.set $Dsv (f32x4.splat (f32.load (i32.add ${get("drB")} (i32.shl ${get("r")} (i32.const 2))))))
        (local.set $mp (i32.sub (i32.add ${get("dpB")} (i32.mul ${get("r")} ${i32(T * 4)})) ${get("rowS")}))
        ${perVec(f, `${scores(f, fl, s)}
          (local.set $x (f32x4.sub ${get("s")} ${get("Lv")}))
          ${expV(f, fl, "p", "x")}
          (local.set $p (v128.and ${get("p")} ${get("valid")}))
          (local.set $dp (v128.load (i32.add (i32.add ${get("rowS")} ${get("mp")}) ${get("vo")})))
          (local.set $ds (f32x4.mul ${get("p")} (f32x4.sub ${get("dp")} ${get("Dsv")})))
          ${capFactor}
          (v128.store (i32.add ${get("rowS")} ${get("vo")}) ${get("p")})
          (v128.store (i32.add (i32.add ${get("rowS")} ${get("mp")}) ${get("vo")}) ${get("ds")})`, "b")}`;
  // dq's rows of the block += the block's dS · K.
  const addDq = `
    (local.set $rr (i32.const 0))
    (loop $L_bdq
      ${queryRow(get("rr"))}
      (if (i32.ge_s ${get("qrow")} (i32.const 0)) (then
        (local.set $src (i32.add ${get("dq")} (i32.mul ${get("qrow")} ${i32(D4)})))
        (local.set $mp ${rowAt("dqB", get("rr"))})
        ${vec((o) => `(v128.store offset=${o} ${get("src")} (f32x4.add (v128.load offset=${o} ${get("src")}) (v128.load offset=${o} ${get("mp")})))`)}))
      (br_if $L_bdq (i32.lt_s (local.tee $rr (i32.add ${get("rr")} (i32.const 1))) ${i32(T)})))`;
  // dk / dv rows of the key block += the accumulated blocks; both zeroed for the next.
  const flushKv = (acc: string, dst: string, id: string) => `
    (local.set $rr (i32.const 0))
    (loop $L_fl_${id}
      (local.set $mp ${rowAt(acc, get("rr"))})
      (if (i32.lt_s (i32.add ${get("pj0")} ${get("rr")}) ${get("Sk")}) (then
        (local.set $src (i32.add ${get(dst)} (i32.mul (i32.add (i32.mul (i32.add (i32.mul ${get("b")} ${get("Sk")}) (i32.add ${get("pj0")} ${get("rr")})) ${get("KVH")}) ${get("kvh")}) ${i32(D4)})))
        ${vec((o) => `(v128.store offset=${o} ${get("src")} (f32x4.add (v128.load offset=${o} ${get("src")}) (v128.load offset=${o} ${get("mp")})))`)}))
      ${vec((o) => `(v128.store offset=${o} ${get("mp")} ${ZERO})`)}
      (br_if $L_fl_${id} (i32.lt_s (local.tee $rr (i32.add ${get("rr")} (i32.const 1))) ${i32(T)})))`;
  const zeroAcc = (acc: string, id: string) => `
    (local.set $rr (i32.const 0))
    (loop $L_za_${id}
      ${vec((o) => `(v128.store offset=${o} ${rowAt(acc, get("rr"))} ${ZERO})`)}
      (br_if $L_za_${id} (i32.lt_s (local.tee $rr (i32.add ${get("rr")} (i32.const 1))) ${i32(T)})))`;
  const qblock = `
      ${rowBounds(f, "loB", "hiB")}
      (if (i32.and (i32.lt_s ${get("jmin")} ${get("jmax")}) (i32.and (i32.gt_s ${get("jmax")} ${get("pj0")}) (i32.lt_s ${get("jmin")} (i32.add ${get("pj0")} ${i32(T)})))) (then
        ${packQ}
        ${mm(f, fl, { id: "bs", M: T, N: T, K: d, a: "qsB", am: D4, ak: 4, b: "ktB", bk: T * 4, c: "sB", cm: T * 4, zero: true })}
        ${mm(f, fl, { id: "bp", M: T, N: T, K: d, a: "dopB", am: D4, ak: 4, b: "vtB", bk: T * 4, c: "dpB", cm: T * 4, zero: true })}
        ${perRow(f, "sB", rowGrad, "b")}
        ${mm(f, fl, { id: "bv", M: T, N: d, K: T, a: "sB", am: 4, ak: T * 4, b: "dopB", bk: D4, c: "dvB", cm: D4, zero: false })}
        ${mm(f, fl, { id: "bk", M: T, N: d, K: T, a: "dpB", am: 4, ak: T * 4, b: "qsB", bk: D4, c: "dkB", cm: D4, zero: false })}
        ${mm(f, fl, { id: "bq", M: T, N: d, K: T, a: "dpB", am: T * 4, ak: 4, b: "kpB", bk: D4, c: "dqB", cm: D4, zero: true })}
        ${addDq}))`;
  const kblocks = `
    ${zeroAcc("dkB", "k")}
    ${zeroAcc("dvB", "v")}
    (local.set $pj0 (i32.const 0))
    (block $B_bk (loop $L_bk (br_if $B_bk (i32.ge_s ${get("pj0")} ${get("Sk")}))
      ${packKeys(f, d, "k", "ktB", "kpB", "bk", s.scale)}
      ${packKeys(f, d, "v", "vtB", null, "bv")}
      (local.set $h ${get("h0")})
      (block $B_bh (loop $L_bh (br_if $B_bh (i32.ge_s ${get("h")} ${get("h1")}))
        ${headSetup(f)}
        (local.set $i0 (i32.const 0))
        (block $B_bqb (loop $L_bqb (br_if $B_bqb (i32.ge_s ${get("i0")} ${get("S")}))
          ${qblock}
          (local.set $i0 (i32.add ${get("i0")} ${i32(T)})) (br $L_bqb)))
        (local.set $h (i32.add ${get("h")} (i32.const 1))) (br $L_bh)))
      ${flushKv("dkB", "dk", "k")}
      ${flushKv("dvB", "dv", "v")}
      (local.set $pj0 (i32.add ${get("pj0")} ${i32(T)})) (br $L_bk)))`;
  const setUnit = `(local.set $b (i32.div_u ${get("u")} ${get("KVH")}))
    (local.set $h0 (i32.mul (i32.rem_u ${get("u")} ${get("KVH")}) ${get("per")}))
    (local.set $h1 (i32.add ${get("h0")} ${get("per")}))
    (local.set $kvh (i32.rem_u ${get("u")} ${get("KVH")}))`;
  return f.text(`${scratchSetup(f, L)}
  (local.set $per (i32.div_u ${get("H")} ${get("KVH")}))
  ${unitLoop(f, `(i32.mul ${get("B")} ${get("KVH")})`, setUnit, kblocks)}`);
}
