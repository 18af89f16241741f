// Fused softmax attention with online softmax. One work item is (query row, head): it walks
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

import { expV, softcapV } from "./emit-math.ts";
import { appendHeads, headBase, ropeName, scaleRow } from "./emit-kv-rows.ts";
import { headWindow, ringRebase, segments } from "./emit-attention-keys.ts";
import { loadPart, storeLanes, threadRows } from "./emit-rows.ts";
import type { WOp } from "./ops.ts";
import { DESC, SLOT } from "./plan.ts";
import { slidingWindow } from "../../src/ir/state-plan.ts";
import { type EmitFlags, f32, Func, get, i32, loadV, madd, set, splat, storeV } from "./wat.ts";

type AttentionOp = Extract<WOp, { op: "attention" }>;

/** i8x16.shuffle picking f32 lanes (0–3 from a, 4–7 from b). */
export function shuffle(a: string, b: string, lanes: number[]): string {
  const bytes = lanes.flatMap((l) => [0, 1, 2, 3].map((k) => 4 * l + k));
  return `(i8x16.shuffle ${bytes.join(" ")} ${a} ${b})`;
}

/** Lane t of a v128 local broadcast to all four lanes. */
export const laneSplat = (x: string, t: number): string => shuffle(get(x), get(x), [t, t, t, t]);

/** Keys per online-softmax step in the multi-row path (a multiple of 4). */
const KEY_BLOCK = 8;

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
  const scale = splat(op.scale);
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
  const cap = (x: string): string => (op.softcap === undefined ? "" : `${softcapV(f, fl, "cv", x, op.softcap)}\n    ${set(x, get("cv"))}`);
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
        ${expV(f, fl, "ev", "pv")}
        (local.set $corr (f32x4.extract_lane 0 ${get("ev")}))
        (local.set $lvec (f32x4.mul ${get("lvec")} (f32x4.splat ${get("corr")})))
        ${rescale}
        (local.set $m ${get("gm")})))
      (local.set $pv (f32x4.sub ${get("sv")} (f32x4.splat ${get("m")})))
      ${expV(f, fl, "ev", "pv")}
      ;; exp(-inf) clamps to a tiny normal; masked lanes must contribute exactly 0
      (local.set $pv (v128.and ${get("ev")} (f32x4.ne ${get("sv")} ${splat(-Infinity)})))
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
    ${op.alibiKey ? `(local.set $slope (f32.load (i32.add ${get("alibi")} (i32.shl ${get("h")} (i32.const 2)))))` : ""}
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

  // Multi-row path (prefill, no window/sparse pattern): R consecutive query rows of one head
  // per pass over the keys, so each K/V chunk load feeds several rows and the rows' dot
  // products and softmax updates are independent chains. Groups of four keys start at 0 as
  // in the one-row path and each row's lanes are masked exactly as there (a group with no
  // visible lane is skipped for that row), so every row sees the same arithmetic.
  const multi = op.window === undefined && op.sparse === undefined;
  const R = 4;
  let blockItems = "";
  if (multi) {
    const rs = Array.from({ length: R }, (_, r) => r);
    const KB = KEY_BLOCK;
    const hs = Array.from({ length: KB / 4 }, (_, u) => u);
    f.local("i32", "nb", "t0", "hiM", "bq0", "bq1", "bq2", "bq3", "bo", "bi0", "bi1", "bi2", "bi3");
    f.local("i32", ...Array.from({ length: KB }, (_, t) => [`j${t}`, `vp${t}`, `kp${t}`]).flat().filter((x) => x !== "j0"));
    f.local("v128", ...rs.flatMap((r) => [`bl${r}`, ...hs.flatMap((u) => [`bs${r}_${u}`, `bv${r}_${u}`, `bp${r}_${u}`])]), "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "kc0", "kc1", "kc2", "kc3", "q0", "q1", "acc", ...hs.flatMap((u) => [`jw${u}`, `vd${u}`]));
    f.local("v128", ...Array.from({ length: KB }, (_, t) => `ps${t}`));
    f.local("f32", "bm0", "bm1", "bm2", "bm3");
    f.local("i32", ...rs.map((r) => `seen${r}`));
    // Hard-ALiBi: row r sees keys from hl_r = max(0, bi_r - hw + 1) of a windowed head, else from 0.
    if (op.headWindows) f.local("i32", ...rs.map((r) => `hl${r}`));
    const accOf = (r: number, c: number) => loadV(get("scr"), (r * C + c) * 16);
    const accTo = (r: number, c: number, e: string) => storeV(get("scr"), e, (r * C + c) * 16);
    /** Dot products of rows r0, r0+1 with keys 4u..4u+3 of the group (chunk loads `key(t, c)`), into bs*_u. */
    const pairDots = (r0: number, u: number, key: (t: number, c: number) => string): string => {
      const out: string[] = [];
      for (let k = 0; k < 8; k++) out.push(set(`b${k}`, "(v128.const i32x4 0 0 0 0)"));
      for (let c = 0; c < C; c++) {
        for (let t = 0; t < 4; t++) out.push(set(`kc${t}`, key(4 * u + t, c)));
        out.push(set("q0", chunk(`bq${r0}`, c * 16, c)), set("q1", chunk(`bq${r0 + 1}`, c * 16, c)));
        for (let t = 0; t < 4; t++) {
          out.push(set(`b${t}`, madd(fl, get("q0"), get(`kc${t}`), get(`b${t}`))));
          out.push(set(`b${4 + t}`, madd(fl, get("q1"), get(`kc${t}`), get(`b${4 + t}`))));
        }
      }
      for (let x = 0; x < 2; x++) {
        const a = (t: number) => get(`b${4 * x + t}`);
        out.push(`(local.set $b${4 * x} (f32x4.add ${shuffle(a(0), a(1), [0, 4, 1, 5])} ${shuffle(a(0), a(1), [2, 6, 3, 7])}))
    (local.set $b${4 * x + 2} (f32x4.add ${shuffle(a(2), a(3), [0, 4, 1, 5])} ${shuffle(a(2), a(3), [2, 6, 3, 7])}))
    (local.set $bs${r0 + x}_${u} (f32x4.add ${shuffle(get(`b${4 * x}`), get(`b${4 * x + 2}`), [0, 1, 4, 5])} ${shuffle(get(`b${4 * x}`), get(`b${4 * x + 2}`), [2, 3, 6, 7])}))`);
      }
      return out.join("\n");
    };
    const allDots = (key: (t: number, c: number) => string) => hs.flatMap((u) => [0, 2].map((r0) => pairDots(r0, u, key))).join("\n");
    const rowUpdate = (r: number): string => {
      const rescaleR = Array.from({ length: C }, (_, c) => accTo(r, c, `(f32x4.mul ${accOf(r, c)} (f32x4.splat ${get("corr")}))`)).join("\n");
      const pv: string[] = [];
      for (let t = 0; t < KB; t++) pv.push(set(`ps${t}`, laneSplat(`bp${r}_${t >> 2}`, t & 3)));
      for (let c = 0; c < C; c++) {
        pv.push(set("acc", accOf(r, c)));
        for (let t = 0; t < KB; t++) pv.push(set("acc", madd(fl, get(`ps${t}`), chunk(`vp${t}`, c * 16, c), get("acc"))));
        pv.push(accTo(r, c, get("acc")));
      }
      const perHalf = hs
        .map(
          (u) => `
    ${cap(`bs${r}_${u}`)}
    (local.set $bv${r}_${u} (v128.and ${get(`vd${u}`)} ${op.causal ? `(i32x4.le_s ${get(`jw${u}`)} (i32x4.splat ${get(`bi${r}`)}))` : "(v128.const i32x4 -1 -1 -1 -1)"}))${
      op.headWindows ? `
    (local.set $bv${r}_${u} (v128.and ${get(`bv${r}_${u}`)} (i32x4.ge_s ${get(`jw${u}`)} (i32x4.splat ${get(`hl${r}`)}))))` : ""
    }
    ${op.alibiKey ? `(local.set $bs${r}_${u} (f32x4.sub ${get(`bs${r}_${u}`)} (f32x4.mul (f32x4.splat ${get("slope")}) (f32x4.abs (f32x4.convert_i32x4_s (i32x4.sub (i32x4.splat ${get(`bi${r}`)}) ${get(`jw${u}`)}))))))` : ""}
    (local.set $bs${r}_${u} (v128.bitselect ${get(`bs${r}_${u}`)} ${splat(-Infinity)} ${get(`bv${r}_${u}`)}))
    (local.set $seen${r} (i32.or ${get(`seen${r}`)} (v128.any_true ${get(`bv${r}_${u}`)})))`,
        )
        .join("\n");
      const probs = hs
        .map(
          (u) => `
      (local.set $pv (f32x4.sub ${get(`bs${r}_${u}`)} (f32x4.splat ${get(`bm${r}`)})))
      ${expV(f, fl, "ev", "pv")}
      (local.set $bp${r}_${u} (v128.and ${get("ev")} (f32x4.ne ${get(`bs${r}_${u}`)} ${splat(-Infinity)})))
      (local.set $bl${r} (f32x4.add ${get(`bl${r}`)} ${get(`bp${r}_${u}`)}))`,
        )
        .join("\n");
      return `
    ${perHalf}
    (local.set $pv ${hs.slice(1).reduce((acc, u) => `(f32x4.pmax ${acc} ${get(`bs${r}_${u}`)})`, get(`bs${r}_0`))})
    (local.set $pv (f32x4.pmax ${get("pv")} ${shuffle(get("pv"), get("pv"), [2, 3, 0, 1])}))
    (local.set $pv (f32x4.pmax ${get("pv")} ${shuffle(get("pv"), get("pv"), [1, 0, 3, 2])}))
    (local.set $gm (f32x4.extract_lane 0 ${get("pv")}))
    ;; ne, not gt: a NaN score (NaN in q or k) must reach l and the output, as IEEE softmax has it
    (if (f32.ne ${get("gm")} ${f32(-Infinity)}) (then
      (if (f32.gt ${get("gm")} ${get(`bm${r}`)}) (then
        (local.set $pv (f32x4.splat (f32.sub ${get(`bm${r}`)} ${get("gm")})))
        ${expV(f, fl, "ev", "pv")}
        (local.set $corr (f32x4.extract_lane 0 ${get("ev")}))
        (local.set $bl${r} (f32x4.mul ${get(`bl${r}`)} (f32x4.splat ${get("corr")})))
        ${rescaleR}
        (local.set $bm${r} ${get("gm")})))
      ${probs}
      ${pv.join("\n")}))`;
    };
    const js = Array.from({ length: KB }, (_, t) => (t === 0 ? "j" : `j${t}`));
    const clampM = (jt: string) => `(select ${get(jt)} ${get("j")} (i32.lt_s ${get(jt)} ${get("hiM")}))`;
    const lanes4 = (u: number, val: (jt: string) => string) =>
      `(i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1 (i32x4.splat ${val(js[4 * u])}) ${val(js[4 * u + 1])}) ${val(js[4 * u + 2])}) ${val(js[4 * u + 3])})`;
    const bgroup = `
    ${hs.map((u) => `(local.set $jw${u} (i32x4.add (i32x4.splat ${get("j")}) (v128.const i32x4 ${4 * u} ${4 * u + 1} ${4 * u + 2} ${4 * u + 3})))`).join("\n")}
    (if (i32.lt_s (i32.add ${get("j")} ${i32(KB - 1)}) ${get("hiM")})
      (then
        (local.set $kp0 ${keyAddr("kbase", get("j"))})
        (local.set $vp0 ${keyAddr("vbase", get("j"))})
        ${Array.from({ length: KB - 1 }, (_, t) => `(local.set $vp${t + 1} (i32.add ${get("vp0")} ${i32((t + 1) * row)}))`).join("\n")}
        ${hs.map((u) => `(local.set $vd${u} ${op.padding ? loadV(`(i32.add ${get("mrow")} (i32.shl ${get("j")} (i32.const 2)))`, 16 * u) : "(v128.const i32x4 -1 -1 -1 -1)"})`).join("\n")}
        ${allDots((t, c) => chunk("kp0", t * row + c * 16, c))})
      (else
        ${hs.map((u) => `(local.set $vd${u} (i32x4.lt_s ${get(`jw${u}`)} (i32x4.splat ${get("hiM")})))`).join("\n")}
        ;; keys past the end read key j (always valid memory) and are masked
        ${js.slice(1).map((jt, t) => `(local.set $${jt} (i32.add ${get("j")} ${i32(t + 1)})) (local.set $${jt} ${clampM(jt)})`).join("\n")}
        ${js.map((jt, t) => `(local.set $kp${t} ${keyAddr("kbase", get(jt))}) (local.set $vp${t} ${keyAddr("vbase", get(jt))})`).join("\n")}
        ${op.padding ? hs.map((u) => `(local.set $vd${u} (v128.and ${get(`vd${u}`)} ${lanes4(u, (jt) => maskLane(get(jt)))}))`).join("\n") : ""}
        ${allDots((t, c) => chunk(`kp${t}`, c * 16, c))}))
    ${rs.map(rowUpdate).join("\n")}
    (local.set $j (i32.add ${get("j")} ${i32(KB)}))`;
    const zeroAcc = Array.from({ length: R * C }, (_, k) => storeV(get("scr"), "(v128.const i32x4 0 0 0 0)", k * 16)).join("\n");
    const finish = rs
      .map(
        (r) => `
    (local.set $l (call $hsum ${get(`bl${r}`)}))
    (local.set $o (i32.add ${get("out")} (i32.mul (i32.add (i32.mul (i32.add ${get("bo")} (call $imin ${i32(r)} (i32.sub (i32.sub ${get("n")} ${get("t0")}) (i32.const 1)))) ${i32(H)}) ${get("h")}) ${i32(hd * 4)})))
    (local.set $ov (f32x4.splat (select (f32.div ${f32(1)} ${get("l")}) (select ${f32(NaN)} ${f32(0)} ${get(`seen${r}`)}) (f32.ne ${get("l")} ${f32(0)}))))
    ${Array.from({ length: C }, (_, c) => storeChunk(get("o"), `(f32x4.mul ${accOf(r, c)} ${get("ov")})`, c * 16, c)).join("\n")}`,
      )
      .join("\n");
    blockItems = `
  (local.set $nb (i32.div_u (i32.add ${get("n")} ${i32(R - 1)}) ${i32(R)}))
  (local.set $items (i32.mul (i32.mul ${get("g")} ${get("nb")}) ${i32(H)}))
  (local.set $w (global.get $tid))
  (block $B_bitems (loop $L_bitems
    (br_if $B_bitems (i32.ge_s ${get("w")} ${get("items")}))
    (local.set $r (i32.div_u ${get("w")} ${i32(H)}))
    (local.set $h (i32.rem_u ${get("w")} ${i32(H)}))
    (local.set $s (i32.div_u ${get("r")} ${get("nb")}))
    (local.set $t0 (i32.mul (i32.rem_u ${get("r")} ${get("nb")}) ${i32(R)}))
    ;; row bo + r (clamped to the sequence's last row: a short block repeats it)
    (local.set $bo (i32.add (i32.mul ${get("s")} ${get("n")}) ${get("t0")}))
    ${rs
      .map(
        (r) => `(local.set $bq${r} (i32.add ${get("q")} (i32.mul (i32.add (i32.mul (i32.add ${get("bo")} (call $imin ${i32(r)} (i32.sub (i32.sub ${get("n")} ${get("t0")}) (i32.const 1)))) ${i32(H)}) ${get("h")}) ${i32(hd * 4)})))
    (local.set $bi${r} (i32.add ${get("pos0")} (i32.add ${get("t0")} (call $imin ${i32(r)} (i32.sub (i32.sub ${get("n")} ${get("t0")}) (i32.const 1))))))
    (local.set $bm${r} ${f32(-Infinity)}) (local.set $bl${r} (v128.const i32x4 0 0 0 0)) (local.set $seen${r} (i32.const 0))`,
      )
      .join("\n")}
    (local.set $kvh (i32.div_u ${get("h")} ${i32(group)}))
    (local.set $kbase ${headBase("kb", G, hd)})
    (local.set $vbase ${headBase("vb", G, hd)})
    ${op.padding ? `(local.set $mrow (i32.add ${get("mb")} (i32.mul (i32.mul ${get("s")} ${get("mstride")}) (i32.const 4))))` : ""}
    ${op.alibiKey ? `(local.set $slope (f32.load (i32.add ${get("alibi")} (i32.shl ${get("h")} (i32.const 2)))))` : ""}
    (local.set $hiM ${op.causal ? `(call $imin ${get("seqK")} (i32.add ${get("bi3")} (i32.const 1)))` : get("seqK")})
    ${zeroAcc}
    ${
      op.headWindows
        ? `${headWindow(f, op)}
    ${rs.map((r) => `(local.set $hl${r} (select (call $imax (i32.const 0) (i32.add (i32.sub ${get(`bi${r}`)} ${get("hw")}) (i32.const 1))) (i32.const 0) (i32.gt_s ${get("hw")} (i32.const 0))))`).join("\n    ")}
    ;; groups stay aligned to KEY_BLOCK from 0; the ones before the first row's window see nothing
    (local.set $j (i32.and ${get("hl0")} ${i32(-KEY_BLOCK)}))`
        : "(local.set $j (i32.const 0))"
    }
    (block $B_bkeys (loop $L_bkeys
      (br_if $B_bkeys (i32.ge_s ${get("j")} ${get("hiM")}))
      ${bgroup}
      (br $L_bkeys)))
    ${finish}
    (local.set $w (i32.add ${get("w")} (global.get $nth)))
    (br $L_bitems)))`;
  }

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
  ${multi ? `(if (i32.ge_s ${get("n")} ${i32(R)}) (then ${blockItems}) (else ${oneRow}))` : oneRow}`;
  return f.text(body);
}
