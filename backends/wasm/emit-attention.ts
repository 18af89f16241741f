// Fused softmax attention with online softmax. A prefill (several new rows) runs blocked, QB
// query rows of a head against blocks of keys as register-tiled products (emit-attention-blocked.ts),
// for every pattern but block-sparse and strided. Decode steps and those patterns run one row
// at a time here. One work item is (query row, head): it walks
// only the keys its mask pattern makes visible, as at most three (start, end, step) segments
// computed in closed form (causal stops at the diagonal, a window starts at i - w + 1,
// block-sparse visits the global blocks and the band, strided the band plus every stride-th
// column), four keys at a time: four dot products as four vector accumulators reduced by one
// 4×4 transpose, a vector exp, and the P·V update of the output row kept in per-thread
// scratch. K/V rows are read by index, so GQA/MQA heads share them and the cache never moves
// (head-major slots and the cache append: emit-kv-rows.ts; the segments: emit-attention-keys.ts).
// A sliding-window self-attention (slidingWindow in src/ir/state-plan.ts) may run over a ring
// of `stride` rows: position p lives in row p mod stride. Its append writes there, and its one
// segment of visible keys [lo, hi) (at most `window` <= stride positions) becomes two, split at
// the first multiple of stride past lo, each read through its own base pointer so the key loop
// is the plain contiguous one (no modulo per key). Its mask history wraps the same way when it
// has the ring's stride. Every other attention's code is unchanged.

import { exp2V, softcapScoresV } from "./emit-math.ts";
import { appendHeads, headBase, ropeName, scaleRow } from "./emit-kv-rows.ts";
import { ringRebase, segments } from "./emit-attention-keys.ts";
import { blockedFits, blockedPrefill } from "./emit-attention-blocked.ts";
import { loadPart, storeLanes, threadRows } from "./emit-rows.ts";
import type { WOp } from "./ops.ts";
import { DESC, SLOT } from "./plan.ts";
import { slidingWindow } from "../../src/ir/state-plan.ts";
import { type EmitFlags, f32, Func, get, i32, loadV, madd, set, splat, storeV } from "./wat.ts";

type AttentionOp = Extract<WOp, { op: "attention" }>;

/** Calls with at least this many new rows per sequence take the blocked path (prefill); decode steps take the one-row path. */
const BLOCKED_MIN_ROWS = 4;

/** i8x16.shuffle picking f32 lanes (0–3 from a, 4–7 from b). */
export function shuffle(a: string, b: string, lanes: number[]): string {
  const bytes = lanes.flatMap((l) => [0, 1, 2, 3].map((k) => 4 * l + k));
  return `(i8x16.shuffle ${bytes.join(" ")} ${a} ${b})`;
}

/** Lane t of a v128 local broadcast to all four lanes. */
export const laneSplat = (x: string, t: number): string => shuffle(get(x), get(x), [t, t, t, t]);

/** A number as the characters a function name may hold. */
const numberId = (x: number): string => String(x).replace(/[^0-9a-z]/gi, "_");

export function attentionName(op: AttentionOp): string {
  const parts = [`attn_h${op.heads}_kv${op.kvHeads}_d${op.headDim}`, op.source === "memory" ? "mem" : "self"];
  if (op.causal) parts.push("causal");
  if (op.window !== undefined) parts.push(`w${op.window}`);
  if (op.sparse?.kind === "block") parts.push(`blk${op.sparse.block}_${op.sparse.local}_${op.sparse.global}`);
  if (op.sparse?.kind === "strided") parts.push(`str${op.sparse.stride}`);
  if (op.scale !== 1 / Math.sqrt(op.headDim)) parts.push(`sc${numberId(op.scale)}`);
  if (op.softcap !== undefined) parts.push(`cap${numberId(op.softcap)}`);
  if (op.alibiKey) parts.push("alibi");
  if (op.headWindows) parts.push(`hw${op.headWindows.join("_")}`);
  if (op.ropeKey) parts.push(`rope${op.ropeDim}`);
  if (op.padding) parts.push("pad");
  return parts.join("_");
}

/**
 * (func $attn_… (param $q $k $v $out $sd)): q/k/v/out arena rows [g·n, width]; $sd the slot
 * record (cache bases, strides, mask). Self-attention first appends this call's K (after
 * RoPE) and V rows to the cache; queries get RoPE and the score scale in place, so a score is
 * q·k as summed, soft-capped (op.softcap) before ALiBi and the masks.
 */
export function emitAttention(fl: EmitFlags, op: AttentionOp, desc: number, scratch: number, scratchBytes: number, positions: number): string {
  const { heads: H, kvHeads: G, headDim: hd } = op;
  const kvDim = G * hd;
  const group = H / G;
  const f = new Func(attentionName(op), ["q", "k", "v", "out", "sd", "rope", "alibi"], undefined, `softmax attention: ${H} heads, ${G} kv heads, head dim ${hd}`);
  f.local("i32", "g", "n", "pos0", "rows", "kb", "vb", "stride", "mb", "mstride", "t", "s", "pos", "src", "dst", "hh", "w", "items", "h", "i", "seqK", "kvh", "qp", "kbase", "vbase", "mrow", "seg", "cs", "ce", "cp", "j", "o", "scr");
  f.local("i32", "j1", "j2", "j3", "kp0", "kp1", "kp2", "kp3", "vp0", "vp1", "vp2", "vp3");
  f.local("v128", "a0", "a1", "a2", "a3", "qc", "sv", "valid", "pv", "lvec", "ov", "jv");
  // Whether the row has a visible key: visible keys that all score -inf give NaN (IEEE softmax), no visible key gives 0.
  f.local("i32", "seen");
  f.local("f32", "m", "gm", "l", "slope", "corr");
  const rope = op.ropeKey ? ropeName(op.ropeDim, positions) : "";

  const ring = slidingWindow(op) !== undefined;
  // A ring's row of position $pos; elsewhere the row is the position itself.
  const slotPos = ring ? `(i32.rem_u ${get("pos")} ${get("stride")})` : get("pos");
  if (ring) f.local("i32", "kb0", "vb0", "mr0", "sb");

  // Phase 1: cache append (self) and query RoPE + scale, by rows.
  const append =
    op.source === "self"
      ? threadRows(
          f,
          get("rows"),
          `(local.set $s (i32.div_u ${get("r")} ${get("n")}))
    (local.set $t (i32.rem_u ${get("r")} ${get("n")}))
    (local.set $pos (i32.add ${get("pos0")} ${get("t")}))
    (local.set $src (i32.add ${get("k")} (i32.mul ${get("r")} ${i32(kvDim * 4)})))
    ${rope ? Array.from({ length: G }, (_, h) => `(call $${rope} (i32.add ${get("src")} ${i32(h * hd * 4)}) ${get("pos")} ${get("rope")})`).join("\n") : ""}
    ${appendHeads(f, get("src"), get("kb"), slotPos, G, hd, "ck")}
    ${appendHeads(f, `(i32.add ${get("v")} (i32.mul ${get("r")} ${i32(kvDim * 4)}))`, get("vb"), slotPos, G, hd, "cv")}`,
          "append",
        )
      : "";
  // The softmax runs in base 2 (exp2V): scores carry log2(e), so 2^(s·log2 e − m) = e^(s − m/log2 e).
  const scale = splat(op.scale * Math.LOG2E);
  const qprep = threadRows(
    f,
    get("rows"),
    `(local.set $pos (i32.add ${get("pos0")} (i32.rem_u ${get("r")} ${get("n")})))
    (local.set $src (i32.add ${get("q")} (i32.mul ${get("r")} ${i32(H * hd * 4)})))
    ${rope ? Array.from({ length: H }, (_, h) => `(call $${rope} (i32.add ${get("src")} ${i32(h * hd * 4)}) ${get("pos")} ${get("rope")})`).join("\n") : ""}
    ${scaleRow(f, get("src"), H * hd, scale, "qs")}`,
    "qprep",
  );

  /** Soft-caps the four scores in local x (already scaled: the queries carry the scale). */
  const cap = (x: string): string => (op.softcap === undefined ? "" : `${softcapScoresV(f, fl, "cv", x, op.softcap * Math.LOG2E)}\n    ${set(x, get("cv"))}`);
  const seg = segments(f, op);
  // Head vectors as C chunks of 4 floats. A head dim that is not a multiple of 4 ends with a
  // partial chunk of `tail` floats: loaded zero-filled (so q·k and p·v see exact zeros in the
  // spare lanes and nothing past the head is read) and stored lane by lane.
  const C = Math.ceil(hd / 4);
  const tail = hd % 4;
  const partial = (c: number) => tail !== 0 && c === C - 1;
  if (tail !== 0) f.local("v128", "ot");
  /** Chunk c of the head vector at local p, byte offset o. */
  const chunk = (p: string, o: number, c: number) => (partial(c) ? loadPart(get(p), tail, o) : loadV(get(p), o));
  const storeChunk = (addr: string, e: string, o: number, c: number) => (partial(c) ? `${set("ot", e)}\n${storeLanes(addr, "ot", tail, o)}` : storeV(addr, e, o));
  // The output accumulator: v128 locals while they fit in registers next to the dot products
  // (head dim <= 32), else the thread's scratch row.
  const inRegs = C <= 8;
  if (inRegs) f.local("v128", ...Array.from({ length: C }, (_, c) => `o${c}`));
  const accGet = (c: number) => (inRegs ? get(`o${c}`) : loadV(get("scr"), c * 16));
  const accSet = (c: number, e: string) => (inRegs ? set(`o${c}`, e) : storeV(get("scr"), e, c * 16));
  const zeroDots = "(local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0)) (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))";
  /** a_t += q · k_t, chunk by chunk; `key(t, c)` is the load of chunk c of key t. */
  const dots = (key: (t: number, c: number) => string): string => {
    const out: string[] = [zeroDots];
    for (let c = 0; c < C; c++) {
      out.push(set("qc", chunk("qp", c * 16, c)));
      for (let t = 0; t < 4; t++) out.push(set(`a${t}`, madd(fl, get("qc"), key(t, c), get(`a${t}`))));
    }
    return out.join("\n");
  };
  f.local("v128", "p0", "p1", "p2", "p3");
  // P·V key by key: only one broadcast probability is live next to the accumulators.
  const pvUpdate: string[] = [];
  for (let t = 0; t < 4; t++) {
    pvUpdate.push(set("p0", laneSplat("pv", t)));
    for (let c = 0; c < C; c++) pvUpdate.push(accSet(c, madd(fl, get("p0"), chunk(`vp${t}`, c * 16, c), accGet(c))));
  }
  const rescale = Array.from({ length: C }, (_, c) => accSet(c, `(f32x4.mul ${accGet(c)} (f32x4.splat ${get("corr")}))`)).join("\n");
  const clampKey = (jt: string) => `(select ${get(jt)} ${get("j")} (i32.lt_s ${get(jt)} ${get("ce")}))`;
  // One head's consecutive keys are hd floats apart (head-major slots: appendHeads).
  const row = hd * 4;
  const keyAddr = (base: string, jt: string) => `(i32.add ${get(base)} (i32.mul ${jt} ${i32(row)}))`;
  const maskLane = (jt: string) => `(i32.load (i32.add ${get("mrow")} (i32.shl ${jt} (i32.const 2))))`;

  // Four consecutive visible keys (the common case): one base pointer, constant offsets.
  const fastScores = `
    (local.set $kp0 ${keyAddr("kbase", get("j"))})
    (local.set $vp0 ${keyAddr("vbase", get("j"))})
    (local.set $vp1 (i32.add ${get("vp0")} ${i32(row)}))
    (local.set $vp2 (i32.add ${get("vp0")} ${i32(2 * row)}))
    (local.set $vp3 (i32.add ${get("vp0")} ${i32(3 * row)}))
    (local.set $jv (i32x4.add (i32x4.splat ${get("j")}) (v128.const i32x4 0 1 2 3)))
    (local.set $valid ${op.padding ? loadV(`(i32.add ${get("mrow")} (i32.shl ${get("j")} (i32.const 2)))`) : "(v128.const i32x4 -1 -1 -1 -1)"})
    ${dots((t, c) => chunk("kp0", t * row + c * 16, c))}`;
  // Any other group: strided keys, or the segment's last keys (lanes past its end masked).
  const slowScores = `
    (local.set $j1 (i32.add ${get("j")} ${get("cp")}))
    (local.set $j2 (i32.add ${get("j1")} ${get("cp")}))
    (local.set $j3 (i32.add ${get("j2")} ${get("cp")}))
    (local.set $jv (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1 (i32x4.splat ${get("j")}) ${get("j1")}) ${get("j2")}) ${get("j3")}))
    (local.set $valid (i32x4.lt_s ${get("jv")} (i32x4.splat ${get("ce")})))
    ;; lanes past the segment read key j (always valid memory) and are masked
    (local.set $j1 ${clampKey("j1")}) (local.set $j2 ${clampKey("j2")}) (local.set $j3 ${clampKey("j3")})
    ${["j", "j1", "j2", "j3"].map((jt, t) => `(local.set $kp${t} ${keyAddr("kbase", get(jt))}) (local.set $vp${t} ${keyAddr("vbase", get(jt))})`).join("\n")}
    ${op.padding ? `(local.set $valid (v128.and ${get("valid")} (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1 (i32x4.splat ${maskLane(get("j"))}) ${maskLane(get("j1"))}) ${maskLane(get("j2"))}) ${maskLane(get("j3"))})))` : ""}
    ${dots((t, c) => chunk(`kp${t}`, c * 16, c))}`;

  const group4 = `
    (if (i32.and (i32.eq ${get("cp")} (i32.const 1)) (i32.lt_s (i32.add ${get("j")} (i32.const 3)) ${get("ce")}))
      (then ${fastScores})
      (else ${slowScores}))
    ;; 4×4 transpose-add: lane t of sv = Σ a_t
    (local.set $a0 (f32x4.add ${shuffle(get("a0"), get("a1"), [0, 4, 1, 5])} ${shuffle(get("a0"), get("a1"), [2, 6, 3, 7])}))
    (local.set $a2 (f32x4.add ${shuffle(get("a2"), get("a3"), [0, 4, 1, 5])} ${shuffle(get("a2"), get("a3"), [2, 6, 3, 7])}))
    (local.set $sv (f32x4.add ${shuffle(get("a0"), get("a2"), [0, 1, 4, 5])} ${shuffle(get("a0"), get("a2"), [2, 3, 6, 7])}))
    ${cap("sv")}
    ${op.alibiKey ? `(local.set $sv (f32x4.sub ${get("sv")} (f32x4.mul (f32x4.splat ${get("slope")}) (f32x4.abs (f32x4.convert_i32x4_s (i32x4.sub (i32x4.splat ${get("i")}) ${get("jv")}))))))` : ""}
    (local.set $sv (v128.bitselect ${get("sv")} ${splat(-Infinity)} ${get("valid")}))
    (local.set $seen (i32.or ${get("seen")} (v128.any_true ${get("valid")})))
    (local.set $pv (f32x4.pmax ${get("sv")} ${shuffle(get("sv"), get("sv"), [2, 3, 0, 1])}))
    (local.set $pv (f32x4.pmax ${get("pv")} ${shuffle(get("pv"), get("pv"), [1, 0, 3, 2])}))
    (local.set $gm (f32x4.extract_lane 0 ${get("pv")}))
    ;; ne, not gt: a NaN score (NaN in q or k) must reach l and the output, as IEEE softmax has it
    (if (f32.ne ${get("gm")} ${f32(-Infinity)}) (then
      (if (f32.gt ${get("gm")} ${get("m")}) (then
        (local.set $pv (f32x4.splat (f32.sub ${get("m")} ${get("gm")})))
        ${exp2V(f, fl, "ev", "pv")}
        (local.set $corr (f32x4.extract_lane 0 ${get("ev")}))
        (local.set $lvec (f32x4.mul ${get("lvec")} (f32x4.splat ${get("corr")})))
        ${rescale}
        (local.set $m ${get("gm")})))
      (local.set $pv (f32x4.sub ${get("sv")} (f32x4.splat ${get("m")})))
      ;; m is finite here, so a masked lane is −inf and its 2^(−inf) exactly 0
      ${exp2V(f, fl, "pv", "pv")}
      (local.set $lvec (f32x4.add ${get("lvec")} ${get("pv")}))
      ${pvUpdate.join("\n")}))
    (local.set $j (i32.add ${get("j")} (i32.shl ${get("cp")} (i32.const 2))))`;

  const item = `
    (local.set $r (i32.div_u ${get("w")} ${i32(H)}))
    (local.set $h (i32.rem_u ${get("w")} ${i32(H)}))
    (local.set $s (i32.div_u ${get("r")} ${get("n")}))
    (local.set $i (i32.add ${get("pos0")} (i32.rem_u ${get("r")} ${get("n")})))
    (local.set $kvh (i32.div_u ${get("h")} ${i32(group)}))
    (local.set $qp (i32.add ${get("q")} (i32.mul (i32.add (i32.mul ${get("r")} ${i32(H)}) ${get("h")}) ${i32(hd * 4)})))
    (local.set $kbase ${headBase("kb", G, hd)})
    (local.set $vbase ${headBase("vb", G, hd)})
    ${op.padding ? `(local.set $mrow (i32.add ${get("mb")} (i32.mul (i32.mul ${get("s")} ${get("mstride")}) (i32.const 4))))` : ""}
    ${op.alibiKey ? `(local.set $slope (f32.mul (f32.load (i32.add ${get("alibi")} (i32.shl ${get("h")} (i32.const 2)))) ${f32(Math.LOG2E)}))` : ""}
    ${seg.code}${ring ? `\n    (local.set $kb0 ${get("kbase")}) (local.set $vb0 ${get("vbase")})${op.padding ? ` (local.set $mr0 ${get("mrow")})` : ""}` : ""}
    (local.set $m ${f32(-Infinity)}) (local.set $seen (i32.const 0))
    (local.set $lvec (v128.const i32x4 0 0 0 0))
    ${Array.from({ length: C }, (_, c) => accSet(c, "(v128.const i32x4 0 0 0 0)")).join("\n")}
    (local.set $seg (i32.const 0))
    (loop $L_seg
      (local.set $cs (select ${get("ss0")} (select ${get("ss1")} ${get("ss2")} (i32.eq ${get("seg")} (i32.const 1))) (i32.eqz ${get("seg")})))
      (local.set $ce (select ${get("se0")} (select ${get("se1")} ${get("se2")} (i32.eq ${get("seg")} (i32.const 1))) (i32.eqz ${get("seg")})))
      (local.set $cp (select ${get("sp0")} (select ${get("sp1")} ${get("sp2")} (i32.eq ${get("seg")} (i32.const 1))) (i32.eqz ${get("seg")})))${ring ? `\n      ${ringRebase(op.padding, row)}` : ""}
      (local.set $j ${get("cs")})
      (block $B_keys (loop $L_keys
        (br_if $B_keys (i32.ge_s ${get("j")} ${get("ce")}))
        ${group4}
        (br $L_keys)))
      (br_if $L_seg (i32.lt_s (local.tee $seg (i32.add ${get("seg")} (i32.const 1))) ${i32(seg.count)})))
    (local.set $l (call $hsum ${get("lvec")}))
    (local.set $o (i32.add ${get("out")} (i32.mul (i32.add (i32.mul ${get("r")} ${i32(H)}) ${get("h")}) ${i32(hd * 4)})))
    ;; no visible key (all padding): zeros, like the reference; visible keys all at -inf: NaN
    (local.set $ov (f32x4.splat (select (f32.div ${f32(1)} ${get("l")}) (select ${f32(NaN)} ${f32(0)} ${get("seen")}) (f32.ne ${get("l")} ${f32(0)}))))
    ${Array.from({ length: C }, (_, c) => storeChunk(get("o"), `(f32x4.mul ${accGet(c)} ${get("ov")})`, c * 16, c)).join("\n")}`;

  const oneRow = `
  (local.set $items (i32.mul ${get("rows")} ${i32(H)}))
  (local.set $w (global.get $tid))
  (block $B_items (loop $L_items
    (br_if $B_items (i32.ge_s ${get("w")} ${get("items")}))
    ${item}
    (local.set $w (i32.add ${get("w")} (global.get $nth)))
    (br $L_items)))`;

  const body = `
  (local.set $g (i32.load ${i32(desc + DESC.g)}))
  (local.set $n (i32.load ${i32(desc + DESC.n)}))
  (local.set $pos0 (i32.load ${i32(desc + DESC.pos0)}))
  (local.set $rows (i32.mul ${get("g")} ${get("n")}))
  (local.set $kb (i32.load offset=${SLOT.k} ${get("sd")}))
  (local.set $vb (i32.load offset=${SLOT.v} ${get("sd")}))
  (local.set $stride (i32.load offset=${SLOT.stride} ${get("sd")}))
  (local.set $mb (i32.load offset=${SLOT.mask} ${get("sd")}))
  (local.set $mstride (i32.load offset=${SLOT.maskStride} ${get("sd")}))
  (local.set $seqK ${op.source === "self" ? `(i32.add ${get("pos0")} ${get("n")})` : `(i32.load ${i32(desc + DESC.srcLen)})`})
  (local.set $scr (i32.add ${i32(scratch)} (i32.mul (global.get $tid) ${i32(scratchBytes)})))
  ${append}
  ${qprep}
  (call $barrier)
  ${blockedFits(op) ? `(if (i32.ge_s ${get("n")} ${i32(BLOCKED_MIN_ROWS)}) (then ${blockedPrefill(f, fl, op)}) (else ${oneRow}))` : oneRow}`;
  return f.text(body);
}
