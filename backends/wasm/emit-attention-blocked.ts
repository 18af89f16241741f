// The prefill path of the fused softmax attention (emit-attention.ts), blocked as in
// FlashAttention-2: one work item is QB query rows of one head and sequence; it walks the keys
// its rows may see in blocks of KB, and each block is two register-tiled products
// (emit-block-mm.ts) and an online softmax between them:
//   Sᵀ [KB keys × QB queries] = K · Qᵀ    (K rows read in place from the cache, Qᵀ packed once)
//   mask, soft-cap, ALiBi, running max / denominator per query, P = exp(S − m)
//   O [QB × hd] += P · V                  (P read transposed in place, V rows from the cache)
// Scores are kept key-major so the softmax runs along lanes of four queries: every mask is a
// per-lane compare against the query's [lo, hi) (causal diagonal, window, Hard-ALiBi's head
// window, rows past the sequence) and the key's padding bit, and no row needs a horizontal max.
// One query row against four keys at a time this kernel ran at ~25% of the SIMD peak: each key
// row was reloaded per query and the dot products needed a transpose per four keys.
// A block of keys is read in place when its KB rows are contiguous in the cache; a block that
// runs past the last key, or wraps a sliding window's ring (slot = position mod stride), or any
// block when the head dim is not a multiple of 4, is first copied (zero past the end, rows padded
// to whole vectors) into the thread's scratch with its padding bits. Block-sparse and strided
// patterns stay on the one-row path (their segments step over keys; emit-attention-keys.ts).

import { exp2V, softcapScoresV } from "./emit-math.ts";
import { mm } from "./emit-block-mm.ts";
import { headBase } from "./emit-kv-rows.ts";
import { headWindow } from "./emit-attention-keys.ts";
import { loadPart, storeLanes } from "./emit-rows.ts";
import type { WOp } from "./ops.ts";
import { slidingWindow } from "../../src/ir/state-plan.ts";
import { type EmitFlags, f32, type Func, get, i32, loadV, set, splat, splatLoad, storeV } from "./wat.ts";

type AttentionOp = Extract<WOp, { op: "attention" }>;

/** Query rows per work item (a multiple of 8: the score product's tiles are 8 queries wide). */
const QB = 32;
/** Keys per block (a multiple of 4). */
const KB = 32;

/** Byte offsets of the per-thread scratch buffers for head dim hd, and its size. */
function scratchLayout(hd: number): { qt: number; o: number; st: number; kp: number; vp: number; mp: number; lo: number; hi: number; m: number; l: number; seen: number; bytes: number } {
  const rowB = Math.ceil(hd / 4) * 16;
  const sizes = { qt: QB * rowB, o: QB * rowB, st: KB * QB * 4, kp: KB * rowB, vp: KB * rowB, mp: KB * 4, lo: QB * 4, hi: QB * 4, m: QB * 4, l: QB * 4, seen: QB * 4 };
  const out = {} as Record<keyof typeof sizes, number>;
  let at = 0;
  for (const [k, b] of Object.entries(sizes) as Array<[keyof typeof sizes, number]>) {
    out[k] = at;
    at += Math.ceil(b / 64) * 64;
  }
  return { ...out, bytes: at };
}

/** Floats of per-thread scratch the blocked prefill needs at head dim hd. */
export const blockedScratchFloats = (hd: number): number => scratchLayout(hd).bytes / 4;

/** Whether the blocked path serves this attention's prefill (else the one-row path does). */
export const blockedFits = (op: AttentionOp): boolean => op.sparse === undefined;

const ZERO = "(v128.const i32x4 0 0 0 0)";
const lanes = (b: number) => `(v128.const i32x4 ${b} ${b + 1} ${b + 2} ${b + 3})`;

/**
 * The items loop of the blocked prefill, inside emitAttention's function: uses its locals
 * (g, n, pos0, kb, vb, stride, mb, mstride, seqK, scr and the params) after the barrier.
 */
export function blockedPrefill(f: Func, fl: EmitFlags, op: AttentionOp): string {
  const { heads: H, kvHeads: G, headDim: hd } = op;
  const group = H / G;
  const C = Math.ceil(hd / 4);
  const tail = hd % 4;
  const rowB = C * 16;
  const L = scratchLayout(hd);
  const ring = slidingWindow(op) !== undefined;
  f.local("i32", "s", "h", "kvh", "hw");
  f.local("i32", "xnb", "xitems", "xw", "xt0", "xqr", "xi0", "xkb", "xvb", "xmr", "xjlo", "xjhi", "xj", "xkp", "xvp", "xmp", "xt", "xq", "xr", "xo", "xsl", "xsrc", "xjt", "xhw", "xfull", "xlol", "xhif");
  f.local("i32", ...["qt", "o", "st", "kpk", "vpk", "mpk", "lo", "hi", "m", "l", "seen"].map((b) => `x${b}B`));
  f.local("v128", "xa0", "xa1", "xa2", "xa3", "xb0", "xb1", "xb2", "xb3", "xiv", "xlov", "xhiv", "xmx", "xmo", "xup", "xs", "xvd", "xsn", "xls", "xcs", "xov", "xx", "xmz");
  f.local("f32", "slope", "xl");
  const addr = (b: string, off: string) => `(i32.add ${get(b)} ${off})`;
  const chunk = (p: string, o: number, c: number) => (tail !== 0 && c === C - 1 ? loadPart(p, tail, o) : loadV(p, o));

  // Qᵀ [4C][QB]: 4×4 transposes of four query rows' chunks; rows past the block's last
  // repeat it (their lanes are masked, their outputs never stored); spare dims are zeros.
  const qRow = (t: number) => `(i32.add ${get("q")} (i32.mul (i32.add (i32.mul (i32.add (i32.add (i32.mul ${get("s")} ${get("n")}) ${get("xt0")}) (call $imin (i32.add ${get("xr")} ${i32(t)}) (i32.sub ${get("xqr")} (i32.const 1)))) ${i32(H)}) ${get("h")}) ${i32(hd * 4)}))`;
  const tr = (a: string, b: string, l: number[]) => `(i8x16.shuffle ${l.flatMap((x) => [0, 1, 2, 3].map((k) => 4 * x + k)).join(" ")} ${get(a)} ${get(b)})`;
  const packQ: string[] = [];
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < 4; t++) packQ.push(set(`xa${t}`, chunk(qRow(t), c * 16, c)));
    packQ.push(set("xb0", tr("xa0", "xa1", [0, 4, 1, 5])), set("xb1", tr("xa0", "xa1", [2, 6, 3, 7])), set("xb2", tr("xa2", "xa3", [0, 4, 1, 5])), set("xb3", tr("xa2", "xa3", [2, 6, 3, 7])));
    const rows = [tr("xb0", "xb2", [0, 1, 4, 5]), tr("xb0", "xb2", [2, 3, 6, 7]), tr("xb1", "xb3", [0, 1, 4, 5]), tr("xb1", "xb3", [2, 3, 6, 7])];
    rows.forEach((e, k) => packQ.push(storeV(addr("xqtB", `(i32.shl ${get("xr")} (i32.const 2))`), e, (4 * c + k) * QB * 4)));
  }

  // Each query vector's visible keys [lo, hi), closed form in the lanes' positions; the
  // block's key range is [lo of its first row, hi of its last): both are nondecreasing in i.
  const bounds = [`(local.set $xhiv (i32x4.splat ${get("seqK")}))`, "(local.set $xlov (v128.const i32x4 0 0 0 0))"];
  if (op.causal) bounds.push(set("xhiv", `(i32x4.min_s ${get("xhiv")} (i32x4.add ${get("xiv")} (i32x4.splat (i32.const 1))))`));
  if (op.window !== undefined) {
    bounds.push(set("xlov", `(i32x4.max_s ${get("xlov")} (i32x4.sub ${get("xiv")} (i32x4.splat ${i32(op.window - 1)})))`));
    if (!op.causal) bounds.push(set("xhiv", `(i32x4.min_s ${get("xhiv")} (i32x4.add ${get("xiv")} (i32x4.splat ${i32(op.window)})))`));
  }
  if (op.headWindows) bounds.push(set("xlov", `(i32x4.max_s ${get("xlov")} (i32x4.sub ${get("xiv")} (i32x4.splat (i32.sub ${get("xhw")} (i32.const 1)))))`));
  // Rows past the sequence see nothing.
  bounds.push(set("xhiv", `(v128.and ${get("xhiv")} (i32x4.lt_s (i32x4.add (i32x4.splat (i32.shr_u ${get("xq")} (i32.const 2))) ${lanes(0)}) (i32x4.splat ${get("xqr")})))`));
  const initRows = `
      (local.set $xq (i32.const 0))
      (loop $L_xinit
        (local.set $xiv (i32x4.add (i32x4.splat (i32.add ${get("xi0")} (i32.shr_u ${get("xq")} (i32.const 2)))) ${lanes(0)}))
        ${bounds.join("\n        ")}
        ${storeV(addr("xloB", get("xq")), get("xlov"))}
        ${storeV(addr("xhiB", get("xq")), get("xhiv"))}
        ${storeV(addr("xmB", get("xq")), splat(-Infinity))}
        ${storeV(addr("xlB", get("xq")), ZERO)}
        ${storeV(addr("xseenB", get("xq")), ZERO)}
        (br_if $L_xinit (i32.lt_s (local.tee $xq (i32.add ${get("xq")} (i32.const 16))) ${i32(QB * 4)})))
      ${Array.from({ length: QB * C }, (_, k) => storeV(get("xoB"), ZERO, k * 16)).join("\n      ")}`;

  // The block's K / V rows (and padding bits): in place when contiguous, else copied.
  const slot = (j: string) => (ring ? `(i32.rem_u ${j} ${get("stride")})` : j);
  // A ring's mask history wraps with it when it has the ring's stride; any other is by position.
  const maskIdx = (j: string) => (ring ? `(select ${slot(j)} ${j} (i32.eq ${get("mstride")} ${get("stride")}))` : j);
  const contiguous = [`(i32.le_s (i32.add ${get("xj")} ${i32(KB)}) ${get("seqK")})`];
  if (ring) contiguous.push(`(i32.le_s (i32.add ${slot(get("xj"))} ${i32(KB)}) ${get("stride")})`);
  const copyRow = (src: string, dst: string) => Array.from({ length: C }, (_, c) => storeV(dst, chunk(src, c * 16, c), c * 16)).join("\n            ");
  const zeroRow = (dst: string) => Array.from({ length: C }, (_, c) => storeV(dst, ZERO, c * 16)).join("\n            ");
  const direct = `
        (local.set $xsl ${slot(get("xj"))})
        (local.set $xkp (i32.add ${get("xkb")} (i32.mul ${get("xsl")} ${i32(hd * 4)})))
        (local.set $xvp (i32.add ${get("xvb")} (i32.mul ${get("xsl")} ${i32(hd * 4)})))${op.padding ? `\n        (local.set $xmp (i32.add ${get("xmr")} (i32.shl ${maskIdx(get("xj"))} (i32.const 2))))` : ""}`;
  const dstRow = (b: string) => `(i32.add ${get(b)} (i32.mul ${get("xt")} ${i32(rowB)}))`;
  const packed = `
        (local.set $xt (i32.const 0))
        (loop $L_xpack
          (local.set $xjt (i32.add ${get("xj")} ${get("xt")}))
          (if (i32.lt_s ${get("xjt")} ${get("seqK")})
            (then
              (local.set $xsl (i32.mul ${slot(get("xjt"))} ${i32(hd * 4)}))
              (local.set $xsrc (i32.add ${get("xkb")} ${get("xsl")}))
              ${copyRow(get("xsrc"), dstRow("xkpkB"))}
              (local.set $xsrc (i32.add ${get("xvb")} ${get("xsl")}))
              ${copyRow(get("xsrc"), dstRow("xvpkB"))}${op.padding ? `\n              (i32.store (i32.add ${get("xmpkB")} (i32.shl ${get("xt")} (i32.const 2))) (i32.load (i32.add ${get("xmr")} (i32.shl ${maskIdx(get("xjt"))} (i32.const 2)))))` : ""})
            (else
              ${zeroRow(dstRow("xkpkB"))}
              ${zeroRow(dstRow("xvpkB"))}${op.padding ? `\n              (i32.store (i32.add ${get("xmpkB")} (i32.shl ${get("xt")} (i32.const 2))) (i32.const 0))` : ""}))
          (br_if $L_xpack (i32.lt_s (local.tee $xt (i32.add ${get("xt")} (i32.const 1))) ${i32(KB)})))
        (local.set $xkp ${get("xkpkB")}) (local.set $xvp ${get("xvpkB")}) (local.set $xmp ${get("xmpkB")})`;
  const fetch = tail !== 0 ? packed : `(if ${contiguous.length === 1 ? contiguous[0] : `(i32.and ${contiguous.join(" ")})`} (then ${direct}) (else ${packed}))`;

  // Causal, on the diagonal, and a window's lower edge: skip the score tiles whose keys all
  // follow their queries or all precede their windows (their stale scores get masked to -inf),
  // and run each query tile's P·V over its visible keys only (the rest of P is exactly 0): at
  // 128 rows 4 of the 10 causal blocks are diagonal. Rows' bounds as in `bounds` above.
  const W = op.window;
  const after = `(i32.gt_s (i32.add ${get("xj")} ${get("mm_m0")}) (i32.add ${get("xi0")} (i32.add ${get("mm_n0")} (i32.const 7))))`;
  const before = W === undefined ? "" : `(i32.lt_s (i32.add ${get("xj")} (i32.add ${get("mm_m0")} (i32.const 3))) (i32.sub (i32.add ${get("xi0")} ${get("mm_n0")}) ${i32(W - 1)}))`;
  const skip = [op.causal ? after : "", before].filter((c) => c !== "");
  const causalS = skip.length === 0 ? {} : { skip: skip.length === 1 ? skip[0] : `(i32.or ${skip.join(" ")})` };
  const causalPV = visibleKeys(op, get("mm_m0"));
  const softmax = softmaxPass(f, fl, op);
  const finish = `
      (local.set $xr (i32.const 0))
      (loop $L_xfin
        (local.set $xl (f32.load (i32.add ${get("xlB")} (i32.shl ${get("xr")} (i32.const 2)))))
        (local.set $xo (i32.add ${get("out")} (i32.mul (i32.add (i32.mul (i32.add (i32.add (i32.mul ${get("s")} ${get("n")}) ${get("xt0")}) ${get("xr")}) ${i32(H)}) ${get("h")}) ${i32(hd * 4)})))
        (local.set $xsrc (i32.add ${get("xoB")} (i32.mul ${get("xr")} ${i32(rowB)})))
        ;; no visible key (all padding): zeros, like the reference; visible keys all at -inf: NaN
        (local.set $xov (f32x4.splat (select (f32.div ${f32(1)} ${get("xl")}) (select ${f32(NaN)} ${f32(0)} (i32.load (i32.add ${get("xseenB")} (i32.shl ${get("xr")} (i32.const 2))))) (f32.ne ${get("xl")} ${f32(0)}))))
        ${Array.from({ length: C }, (_, c) => {
          const e = `(f32x4.mul ${loadV(get("xsrc"), c * 16)} ${get("xov")})`;
          return tail !== 0 && c === C - 1 ? `${set("xx", e)}\n${storeLanes(get("xo"), "xx", tail, c * 16)}` : storeV(get("xo"), e, c * 16);
        }).join("\n        ")}
        (br_if $L_xfin (i32.lt_s (local.tee $xr (i32.add ${get("xr")} (i32.const 1))) ${get("xqr")})))`;

  return `
  ${Object.entries({ qt: L.qt, o: L.o, st: L.st, kpk: L.kp, vpk: L.vp, mpk: L.mp, lo: L.lo, hi: L.hi, m: L.m, l: L.l, seen: L.seen })
    .map(([b, off]) => `(local.set $x${b}B (i32.add ${get("scr")} ${i32(off)}))`)
    .join("\n  ")}
  (local.set $xnb (i32.div_u (i32.add ${get("n")} ${i32(QB - 1)}) ${i32(QB)}))
  (local.set $xitems (i32.mul (i32.mul ${get("g")} ${get("xnb")}) ${i32(H)}))
  (local.set $xw (global.get $tid))
  (block $B_xitems (loop $L_xitems
    (br_if $B_xitems (i32.ge_s ${get("xw")} ${get("xitems")}))
    (local.set $h (i32.rem_u ${get("xw")} ${i32(H)}))
    (local.set $xr (i32.div_u ${get("xw")} ${i32(H)}))
    (local.set $s (i32.div_u ${get("xr")} ${get("xnb")}))
    (local.set $xt0 (i32.mul (i32.rem_u ${get("xr")} ${get("xnb")}) ${i32(QB)}))
    (local.set $xqr (call $imin ${i32(QB)} (i32.sub ${get("n")} ${get("xt0")})))
    (local.set $xi0 (i32.add ${get("pos0")} ${get("xt0")}))
    (local.set $kvh (i32.div_u ${get("h")} ${i32(group)}))
    (local.set $xkb ${headBase("kb", G, hd)})
    (local.set $xvb ${headBase("vb", G, hd)})
    ${op.padding ? `(local.set $xmr (i32.add ${get("mb")} (i32.mul (i32.mul ${get("s")} ${get("mstride")}) (i32.const 4))))` : ""}
    ${op.alibiKey ? `(local.set $slope (f32.mul (f32.load (i32.add ${get("alibi")} (i32.shl ${get("h")} (i32.const 2)))) ${f32(Math.LOG2E)}))` : ""}
    ${op.headWindows ? `${headWindow(f, op)}\n    ;; no window: a start far below any key\n    (local.set $xhw (select ${get("hw")} (i32.const 1073741824) (i32.gt_s ${get("hw")} (i32.const 0))))` : ""}
    (local.set $xr (i32.const 0))
    (loop $L_xq
      ${packQ.join("\n      ")}
      (br_if $L_xq (i32.lt_s (local.tee $xr (i32.add ${get("xr")} (i32.const 4))) ${i32(QB)})))
    ${initRows}
    (local.set $xjlo (i32.load ${get("xloB")}))
    (local.set $xjhi (i32.load (i32.add ${get("xhiB")} (i32.shl (i32.sub ${get("xqr")} (i32.const 1)) (i32.const 2)))))
    (local.set $xlol (i32.load (i32.add ${get("xloB")} (i32.shl (i32.sub ${get("xqr")} (i32.const 1)) (i32.const 2)))))
    (local.set $xhif (i32.load ${get("xhiB")}))
    (local.set $xj ${get("xjlo")})
    (block $B_xkeys (loop $L_xkeys
      (br_if $B_xkeys (i32.ge_s ${get("xj")} ${get("xjhi")}))
      ${fetch}
      ;; a block every row sees whole (no padding bits) needs no masks
      ${op.padding ? "(local.set $xfull (i32.const 0))" : `(local.set $xfull (i32.and (i32.ge_s ${get("xj")} ${get("xlol")}) (i32.le_s (i32.add ${get("xj")} ${i32(KB)}) ${get("xhif")})))`}
      ${mm(f, fl, { id: "xs", M: KB, N: QB, K: 4 * C, a: "xkp", am: rowB, ak: 4, b: "xqtB", bk: QB * 4, c: "xstB", cm: QB * 4, zero: true, ...causalS })}
      ${softmax}
      ${mm(f, fl, { id: "xo", M: QB, N: 4 * C, K: KB, a: "xstB", am: 4, ak: QB * 4, b: "xvp", bk: rowB, c: "xoB", cm: rowB, zero: false, ...causalPV })}
      (local.set $xj (i32.add ${get("xj")} ${i32(KB)}))
      (br $L_xkeys)))
    ${finish}
    (local.set $xw (i32.add ${get("xw")} (global.get $nth)))
    (br $L_xitems)))`;
}

/**
 * The keys [kStart, kEnd) of the block at $xj that the four queries from block row `m0` may see
 * (causal: none past the last query; a window: none before the first query's window): the P·V
 * tile of those rows reads only these, so the softmax computes only these.
 */
function visibleKeys(op: AttentionOp, m0: string): { kStart?: string; kEnd?: string } {
  const W = op.window;
  return {
    ...(op.causal ? { kEnd: `(call $imin ${i32(KB)} (i32.sub (i32.add ${get("xi0")} (i32.add ${m0} (i32.const 4))) ${get("xj")}))` } : {}),
    ...(W === undefined ? {} : { kStart: `(call $imax (i32.const 0) (i32.sub (i32.add ${get("xi0")} ${m0}) (i32.add ${get("xj")} ${i32(W - 1)})))` }),
  };
}

/**
 * The online softmax on the block's scores Sᵀ [KB][QB], four queries (one vector) at a time:
 * masked scores and the block's max per lane; where a lane's max grows, its denominator and
 * output row are rescaled; then P = exp(S − m) in place (exactly 0 where masked) and l += ΣP.
 */
function softmaxPass(f: Func, fl: EmitFlags, op: AttentionOp): string {
  const C = Math.ceil(op.headDim / 4);
  const rowB = C * 16;
  const st = (u: number) => u * QB * 4;
  const at = `(i32.add (i32.add ${get("xstB")} (i32.mul ${get("xt")} ${i32(QB * 4)})) ${get("xq")})`;
  const first: string[] = [];
  const plain: string[] = [];
  const second: string[] = [];
  // Four keys per iteration (more, or a local set per key, measured no faster).
  for (let u = 0; u < 4; u++) {
    const [ex, xx, xs] = ["xe", "xx", "xs"];
    const jt = `(i32x4.splat (i32.add ${get("xj")} (i32.add ${get("xt")} ${i32(u)})))`;
    const bias: string[] = [set("xs", loadV(get("xsrc"), st(u)))];
    if (op.softcap !== undefined) bias.push(softcapScoresV(f, fl, "xcap", "xs", op.softcap * Math.LOG2E), set("xs", get("xcap")));
    if (op.alibiKey) bias.push(set("xs", `(f32x4.sub ${get("xs")} (f32x4.mul (f32x4.splat ${get("slope")}) (f32x4.abs (f32x4.convert_i32x4_s (i32x4.sub ${get("xiv")} ${jt})))))`));
    plain.push(...bias, set("xmx", `(f32x4.pmax ${get("xmx")} ${get("xs")})`));
    if (bias.length > 1) plain.push(storeV(get("xsrc"), get("xs"), st(u)));
    first.push(...bias);
    first.push(set("xvd", `(v128.and (i32x4.ge_s ${jt} ${get("xlov")}) (i32x4.lt_s ${jt} ${get("xhiv")}))`));
    if (op.padding) first.push(set("xvd", `(v128.and ${get("xvd")} ${splatLoad(`(i32.add ${get("xmp")} (i32.shl ${get("xt")} (i32.const 2)))`, u * 4)})`));
    first.push(
      set("xs", `(v128.bitselect ${get("xs")} ${splat(-Infinity)} ${get("xvd")})`),
      set("xsn", `(v128.or ${get("xsn")} ${get("xvd")})`),
      set("xmx", `(f32x4.pmax ${get("xmx")} ${get("xs")})`),
      storeV(get("xsrc"), get("xs"), st(u)),
    );
    // s − max <= 0 (or NaN); 2^(−inf) is exactly 0, so masked scores need no mask here
    second.push(
      set(xs, loadV(get("xsrc"), st(u))),
      set(xx, `(f32x4.sub ${get(xs)} ${get("xmz")})`),
      exp2V(f, fl, ex, xx),
      set("xls", `(f32x4.add ${get("xls")} ${get(ex)})`),
      storeV(get("xsrc"), get(ex), st(u)),
    );
  }
  // A partly visible block (the causal diagonal, a window's lower edge) runs the masked pass and
  // the exponent over the lanes' visible keys only, widened to whole vectors of four keys (the
  // widening is masked to -inf): P·V reads no other key of these four rows.
  const vis = visibleKeys(op, `(i32.shr_u ${get("xq")} (i32.const 2))`);
  f.local("i32", "xts", "xte");
  const range = [
    set("xts", vis.kStart === undefined ? "(i32.const 0)" : `(i32.and ${vis.kStart} (i32.const -4))`),
    set("xte", vis.kEnd === undefined ? i32(KB) : `(i32.and (i32.add ${vis.kEnd} (i32.const 3)) (i32.const -4))`),
  ].join("\n        ");
  const keys = (body: string[], id: string, bounded: boolean) => {
    const loop = `
        (local.set $xt ${bounded ? get("xts") : "(i32.const 0)"})
        (loop $L_${id}
          (local.set $xsrc ${at})
          ${body.join("\n          ")}
          (br_if $L_${id} (i32.lt_s (local.tee $xt (i32.add ${get("xt")} (i32.const 4))) ${bounded ? get("xte") : i32(KB)})))`;
    return bounded ? `(if (i32.lt_s ${get("xts")} ${get("xte")}) (then ${loop}))` : loop;
  };
  const rescale: string[] = [];
  for (let k = 0; k < 4; k++) {
    rescale.push(set("xcs", `(i8x16.shuffle ${[k, k, k, k].flatMap((x) => [0, 1, 2, 3].map((b) => 4 * x + b)).join(" ")} ${get("xe")} ${get("xe")})`));
    for (let c = 0; c < C; c++) rescale.push(storeV(get("xsrc"), `(f32x4.mul ${loadV(get("xsrc"), k * rowB + c * 16)} ${get("xcs")})`, k * rowB + c * 16));
  }
  return `
      (local.set $xq (i32.const 0))
      (loop $L_xsm
        (local.set $xiv (i32x4.add (i32x4.splat (i32.add ${get("xi0")} (i32.shr_u ${get("xq")} (i32.const 2)))) ${lanes(0)}))
        (local.set $xlov ${loadV(`(i32.add ${get("xloB")} ${get("xq")})`)})
        (local.set $xhiv ${loadV(`(i32.add ${get("xhiB")} ${get("xq")})`)})
        (local.set $xsn ${loadV(`(i32.add ${get("xseenB")} ${get("xq")})`)})
        (local.set $xmx ${splat(-Infinity)})
        ${range}
        (if ${get("xfull")}
          (then ${keys(plain, "xsm0", false)}
            (local.set $xsn (v128.const i32x4 -1 -1 -1 -1)))
          (else ${keys(first, "xsm1", true)}))
        ${storeV(`(i32.add ${get("xseenB")} ${get("xq")})`, get("xsn"))}
        ;; pmax keeps the old max where a score is NaN: the NaN still reaches P, l and the output
        (local.set $xmo ${loadV(`(i32.add ${get("xmB")} ${get("xq")})`)})
        (local.set $xmx (f32x4.pmax ${get("xmo")} ${get("xmx")}))
        (local.set $xup (f32x4.gt ${get("xmx")} ${get("xmo")}))
        (if (v128.any_true ${get("xup")}) (then
          (local.set $xx (f32x4.sub ${get("xmo")} ${get("xmx")}))
          ${exp2V(f, fl, "xe", "xx")}
          ;; lanes whose max stayed keep factor 1 (both -inf would give exp(NaN))
          (local.set $xe (v128.bitselect ${get("xe")} ${splat(1)} ${get("xup")}))
          ${storeV(`(i32.add ${get("xlB")} ${get("xq")})`, `(f32x4.mul ${loadV(`(i32.add ${get("xlB")} ${get("xq")})`)} ${get("xe")})`)}
          ${storeV(`(i32.add ${get("xmB")} ${get("xq")})`, get("xmx"))}
          (local.set $xsrc (i32.add ${get("xoB")} (i32.mul ${get("xq")} ${i32(rowB / 4)})))
          ${rescale.join("\n          ")}))
        ;; a lane that has seen only −inf so far subtracts 0 instead (−inf − −inf is NaN): its P is 0
        (local.set $xmz (v128.bitselect ${get("xmx")} ${ZERO} (f32x4.ne ${get("xmx")} ${splat(-Infinity)})))
        (local.set $xls ${ZERO})
        ${keys(second, "xsm3", true)}
        ${storeV(`(i32.add ${get("xlB")} ${get("xq")})`, `(f32x4.add ${loadV(`(i32.add ${get("xlB")} ${get("xq")})`)} ${get("xls")})`)}
        (br_if $L_xsm (i32.lt_s (local.tee $xq (i32.add ${get("xq")} (i32.const 16))) ${i32(QB * 4)})))`;
}
