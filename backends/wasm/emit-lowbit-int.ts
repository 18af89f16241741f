// q8 / q4 matmul bodies over row records (lowbit.ts): the decode matrix–vector with integer dot
// products against the int8-quantised input row (emit-quant.ts), and the prefill panel
// dequantisation into the f32 [K][NR] layout the register tiles read. The arithmetic is the
// one src/runtime/weights/activations.ts defines and the reference follows.
//
// Decode, per block of 32 and group of four rows of the 8-row record: each row's codes times the
// block's int8 activations as partial sums —
//   q4, relaxed SIMD: nibbles split by an AND and a 16-bit shift, two
//       i16x8.relaxed_dot_i8x16_i7x16_s (the nibble 0..15 is the 7-bit operand, so the result
//       is the same on every engine) and one i16 add: eight i16 lanes per row, |lane| ≤
//       2 · 2 · 127 · 15 = 7,620; the four rows' lanes then summed across by shuffles and i16
//       adds (|sum of four lanes| ≤ 30,480 < 2^15) and one pairwise widen to i32x4;
//   q4, plain SIMD: nibbles widened to i16, four i32x4.dot_i16x8_s with the widened activations;
//   q8: codes widened to i16 by the load, four i32x4.dot_i16x8_s —
// the last two summed across lanes as i32 (row r in lane r). Then q4's offset taken off
// (Σ a · (nibble − 8) = Σ a · nibble − 8 Σ a), converted to f32 once, times the four f16 weight
// scales and the activation scale. Every weight byte is loaded once and used once.
//
// One loop iteration is one group (four rows of one block): the two groups' accumulators swap
// places each iteration. With a whole record per iteration, V8 issued all its loads first and
// spilled most of them (q8: 16 codes vectors and 4 activation vectors live at once).

import { BLOCK, blocksOf } from "../../src/runtime/weights/format.ts";
import { epilogue, f16ToF32Scalar, f16x4ToF32, type MatmulSpec } from "./emit-matmul.ts";
import { actI16Offset, actMetaOffset, actRowBytes } from "./emit-quant.ts";
import { Q4_REC, Q8_REC } from "./lowbit.ts";
import { NR } from "./plan.ts";
import { type EmitFlags, type Func, get, i32, madd, set } from "./wat.ts";

const ZERO = "(v128.const i32x4 0 0 0 0)";
const NIB = "(v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)";

/** i8x16.shuffle picking i32 lanes `lanes` (0–3 from a, 4–7 from b). */
const shuffle32 = (a: string, b: string, lanes: number[]): string =>
  `(i8x16.shuffle ${lanes.flatMap((l) => [0, 1, 2, 3].map((j) => 4 * l + j)).join(" ")} ${a} ${b})`;

/** i32x4 [Σ e0, Σ e1, Σ e2, Σ e3] of four i32x4 held in locals e0..e3. */
function laneSums(): { prep: string; total: string } {
  const ev = [0, 2, 4, 6];
  const od = [1, 3, 5, 7];
  const t = `(i32x4.add ${shuffle32(get("e0"), get("e1"), ev)} ${shuffle32(get("e0"), get("e1"), od)})`;
  const u = `(i32x4.add ${shuffle32(get("e2"), get("e3"), ev)} ${shuffle32(get("e2"), get("e3"), od)})`;
  return { prep: [set("et", t), set("eu", u)].join("\n"), total: `(i32x4.add ${shuffle32(get("et"), get("eu"), ev)} ${shuffle32(get("et"), get("eu"), od)})` };
}

/**
 * i32x4 [Σ e0, …, Σ e3] of four i16x8 in e0..e3 (q4, relaxed): the same shuffles as laneSums on
 * i16 pairs, then one pairwise widen; each i16 is a sum of four lanes, within range (above).
 */
function laneSums16(): { prep: string; total: string } {
  const ev = [0, 2, 4, 6];
  const od = [1, 3, 5, 7];
  const t = `(i16x8.add ${shuffle32(get("e0"), get("e1"), ev)} ${shuffle32(get("e0"), get("e1"), od)})`;
  const u = `(i16x8.add ${shuffle32(get("e2"), get("e3"), ev)} ${shuffle32(get("e2"), get("e3"), od)})`;
  return { prep: [set("et", t), set("eu", u)].join("\n"), total: `(i32x4.extadd_pairwise_i16x8_s (i16x8.add ${shuffle32(get("et"), get("eu"), ev)} ${shuffle32(get("et"), get("eu"), od)}))` };
}

export const recBytesInt = (st: "q8" | "q4"): number => (st === "q8" ? Q8_REC : Q4_REC);
/** Bytes of one row's codes in a record. */
const rowBytes = (st: "q8" | "q4"): number => (st === "q8" ? BLOCK : BLOCK / 2);

/** e{r} = row r of the group at $gp: its partial dot with the block's activations (a0..a3 / al, ah). */
function rowDot(fl: EmitFlags, st: "q8" | "q4", r: number): string {
  const at = rowBytes(st) * r;
  if (st === "q8") {
    // An extending load at a computed address: V8 hoists base + offset of a load8x8_s with an
    // offset out of the loop (one register, spilled, per offset).
    const w = (h: number) => `(v128.load8x8_s ${at + 8 * h ? `(i32.add ${get("gp")} ${i32(at + 8 * h)})` : get("gp")})`;
    const d = (h: number) => `(i32x4.dot_i16x8_s ${w(h)} ${get(`a${h}`)})`;
    return set(`e${r}`, `(i32x4.add (i32x4.add ${d(0)} ${d(1)}) (i32x4.add ${d(2)} ${d(3)}))`);
  }
  const load = set("wc", `(v128.load${at ? ` offset=${at}` : ""} ${get("gp")})`);
  const lo = `(v128.and ${get("wc")} ${get("nib")})`;
  const hi = `(v128.and (i16x8.shr_u ${get("wc")} (i32.const 4)) ${get("nib")})`;
  if (fl.relaxed) return `${load}\n${set(`e${r}`, `(i16x8.add (i16x8.relaxed_dot_i8x16_i7x16_s ${get("al")} ${lo}) (i16x8.relaxed_dot_i8x16_i7x16_s ${get("ah")} ${hi}))`)}`;
  const d = (v: string, half: "low" | "high", a: number) => `(i32x4.dot_i16x8_s (i16x8.extend_${half}_i8x16_u ${v}) ${get(`a${a}`)})`;
  return `${load}\n${set("wl", lo)}\n${set("wh", hi)}\n${set(`e${r}`, `(i32x4.add (i32x4.add ${d(get("wl"), "low", 0)} ${d(get("wl"), "high", 1)}) (i32x4.add ${d(get("wh"), "low", 2)} ${d(get("wh"), "high", 3)}))`)}`;
}

/**
 * Matrix–vector for row $i of the quantised input (at $scr) over the 8-row records at $qp:
 * c0_0_0 / c0_0_1 get rows 0–3 / 4–7 of the panel, then the epilogue stores `cols` of them.
 * Per iteration: the group's codes at $gp, its four scales at $sp, the block's activations at
 * $xa and {d, 8 Σ a} at $am.
 */
export function mvIntRow(f: Func, fl: EmitFlags, s: MatmulSpec, mode: "full" | "tail"): string {
  const st = s.storage as "q8" | "q4";
  const cols = mode === "full" ? NR : s.N % NR;
  const nb = blocksOf(s.K);
  const rec = recBytesInt(st);
  const grp = 4 * rowBytes(st);
  f.local("v128", "c0_0_0", "c0_0_1", "cx", "e0", "e1", "e2", "e3", "et", "eu", "sa", "wc", "wl", "wh", "nib", "a0", "a1", "a2", "a3", "al", "ah");
  f.local("i32", "j", "gsel", "gp", "sp", "xa", "am");
  const i8Acts = st === "q4" && fl.relaxed;
  const acts = i8Acts
    ? [set("al", `(v128.load ${get("xa")})`), set("ah", `(v128.load offset=16 ${get("xa")})`)]
    : [0, 1, 2, 3].map((h) => set(`a${h}`, `(v128.load offset=${actI16Offset(s.K) + 16 * h} ${get("xa")})`));
  const sums = i8Acts ? laneSums16() : laneSums();
  const total = st === "q4" ? `(i32x4.sub ${sums.total} (v128.load32_splat (i32.add ${get("am")} (i32.const 4))))` : sums.total;
  const scaled = `(f32x4.mul (f32x4.convert_i32x4_s ${total}) ${f16x4ToF32(`(v128.load16x4_s ${get("sp")})`)})`;
  const two = cols > 4;
  const actBytes = i8Acts ? BLOCK : 2 * BLOCK;
  // Two groups: after group 0 the next one is the same block's group 1, after group 1 the next block's group 0.
  const advance = two
    ? `(local.set $gp (i32.add ${get("gp")} (select ${i32(rec - grp)} ${i32(grp)} ${get("gsel")})))
          (local.set $sp (i32.add ${get("sp")} (select ${i32(rec - 8)} (i32.const 8) ${get("gsel")})))
          (local.set $xa (i32.add ${get("xa")} (i32.mul ${get("gsel")} ${i32(actBytes)})))
          (local.set $am (i32.add ${get("am")} (i32.shl ${get("gsel")} (i32.const 3))))
          (local.set $cx ${get("c0_0_0")}) (local.set $c0_0_0 ${get("c0_0_1")}) (local.set $c0_0_1 ${get("cx")})`
    : `(local.set $gp (i32.add ${get("gp")} ${i32(rec)}))
          (local.set $sp (i32.add ${get("sp")} ${i32(rec)}))
          (local.set $xa (i32.add ${get("xa")} ${i32(actBytes)}))
          (local.set $am (i32.add ${get("am")} (i32.const 8)))`;
  return `
        (local.set $xa (i32.add ${get("scr")} (i32.mul ${get("i")} ${i32(actRowBytes(s.K))})))
        (local.set $am (i32.add ${get("xa")} ${i32(actMetaOffset(s.K))}))
        (local.set $cp (i32.add ${get("c")} (i32.shl (i32.add (i32.mul ${get("i")} ${i32(s.N)}) ${get("col")}) (i32.const 2))))
        (local.set $sp ${get("qp")})
        (local.set $gp (i32.add ${get("qp")} (i32.const 16)))
        (local.set $nib ${NIB})
        (local.set $c0_0_0 ${ZERO})
        (local.set $c0_0_1 ${ZERO})
        (local.set $j (i32.const 0))
        (loop $L_mvi_${mode}
          (local.set $gsel (i32.and ${get("j")} (i32.const 1)))
          ${acts.join("\n")}
          (local.set $sa (v128.load32_splat ${get("am")}))
          ${[0, 1, 2, 3].map((r) => rowDot(fl, st, r)).join("\n")}
          ${sums.prep}
          (local.set $c0_0_0 ${madd(fl, scaled, get("sa"), get("c0_0_0"))})
          ${advance}
          (br_if $L_mvi_${mode} (i32.lt_s (local.tee $j (i32.add ${get("j")} (i32.const 1))) ${i32((two ? 2 : 1) * nb)})))
        ${epilogue(f, fl, s, 1, cols)}`;
}

/** The 8 f32x4 (k = 0..3, …, 28..31) of record row `row`'s block, times its scale (splat in $ds). */
function rowValues(st: "q8" | "q4", row: number): string[] {
  const wide = (v8: string, half8: "low" | "high", half16: "low" | "high") =>
    `(f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_${half16}_i16x8_s (i16x8.extend_${half8}_i8x16_s ${v8}))) ${get("ds")})`;
  const bytes =
    st === "q8"
      ? [`(v128.load offset=${16 + 32 * row} ${get("rec")})`, `(v128.load offset=${16 + 32 * row + 16} ${get("rec")})`]
      : [get("dl"), get("dh")];
  const out: string[] = [];
  for (const b of bytes) for (const h8 of ["low", "high"] as const) for (const h16 of ["low", "high"] as const) out.push(wide(b, h8, h16));
  return out;
}

/**
 * The record panel at $qp dequantised into f32 [nb · 32][NR] at $bp (exact: a code times an
 * f16 scale): per block and group of four rows, each row's 32 values, then 4 × 4 transposes so
 * that one k's four columns are one store.
 */
export function dequantIntPanel(f: Func, s: MatmulSpec): string {
  const st = s.storage as "q8" | "q4";
  const nb = blocksOf(s.K);
  f.local("v128", "ds", "dl", "dh", "t0", "t1", "t2", "t3");
  for (let r = 0; r < 4; r++) for (let j = 0; j < 8; j++) f.local("v128", `v${r}_${j}`);
  f.local("i32", "blk", "rec");
  const body: string[] = [];
  for (let g = 0; g < 2; g++) {
    for (let r = 0; r < 4; r++) {
      const row = 4 * g + r;
      body.push(set("ds", `(f32x4.splat ${f16ToF32Scalar(`(i32.load16_s offset=${2 * row} ${get("rec")})`)})`));
      if (st === "q4") {
        const c = `(v128.load offset=${16 + 16 * row} ${get("rec")})`;
        body.push(set("dl", `(i8x16.sub (v128.and ${c} ${NIB}) (i8x16.splat (i32.const 8)))`));
        body.push(set("dh", `(i8x16.sub (v128.and (i16x8.shr_u ${c} (i32.const 4)) ${NIB}) (i8x16.splat (i32.const 8)))`));
      }
      rowValues(st, row).forEach((v, j) => body.push(set(`v${r}_${j}`, v)));
    }
    for (let j = 0; j < 8; j++) {
      const v = (r: number) => get(`v${r}_${j}`);
      body.push(set("t0", shuffle32(v(0), v(1), [0, 4, 1, 5])), set("t1", shuffle32(v(0), v(1), [2, 6, 3, 7])));
      body.push(set("t2", shuffle32(v(2), v(3), [0, 4, 1, 5])), set("t3", shuffle32(v(2), v(3), [2, 6, 3, 7])));
      const outs = [shuffle32(get("t0"), get("t2"), [0, 1, 4, 5]), shuffle32(get("t0"), get("t2"), [2, 3, 6, 7]), shuffle32(get("t1"), get("t3"), [0, 1, 4, 5]), shuffle32(get("t1"), get("t3"), [2, 3, 6, 7])];
      outs.forEach((o, t) => body.push(`(v128.store offset=${((4 * j + t) * NR + 4 * g) * 4} ${get("bp")} ${o})`));
    }
  }
  return `
      (local.set $rec ${get("qp")})
      (local.set $bp ${get("scr")})
      (local.set $blk (i32.const 0))
      (loop $L_dqi
        ${body.join("\n")}
        (local.set $bp (i32.add ${get("bp")} ${i32(BLOCK * NR * 4)}))
        (local.set $rec (i32.add ${get("rec")} ${i32(recBytesInt(st))}))
        (br_if $L_dqi (i32.lt_s (local.tee $blk (i32.add ${get("blk")} (i32.const 1))) ${i32(nb)})))`;
}
