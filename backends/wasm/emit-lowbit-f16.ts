// f16 matmul bodies over [K][NR] u16 panels (lowbit.ts): the decode matrix–vector and the
// prefill panel dequantisation; the dispatch between them is emit-lowbit.ts.
//
// Conversion (f16x8Bits): one v128 of eight halves h becomes two f32x4 by i16 lane arithmetic —
// the f32's upper half is (h >>s 3) & 0x8fff (sign, then the exponent and the top mantissa bits
// one place right of an f32's), its lower half h << 13 (the last three mantissa bits) — and two
// interleaves. The result reads as the f16 value times 2^-112, exactly, subnormals included
// (Wasm keeps f32 subnormals); NaN / Inf weights never reach a kernel (the loader refuses them).
// Five vector operations per eight weights (before: two sign-extending loads, two shifts, two
// masks, two multiplies), and the 2^-112 is not multiplied back per weight: the decode path
// scales the input row by 2^112 once instead (exact while |x| < 2^16, see prescaleRows).

import { epilogue, type MatmulSpec } from "./emit-matmul.ts";
import { NR } from "./plan.ts";
import { type EmitFlags, f32, type Func, get, i32, madd, set, splat, storeV } from "./wat.ts";

const ZERO = "(v128.const i32x4 0 0 0 0)";
/** |x| below this: x · 2^112 is finite (and exact: a power-of-two scaling). */
const PRESCALE_LIMIT = 2 ** 16;

/** i8x16.shuffle interleaving the i16 lanes of a and b: lanes 0–3 ("low") or 4–7 ("high") of each. */
function interleave16(a: string, b: string, half: "low" | "high"): string {
  const o = half === "low" ? 0 : 8;
  const idx = [0, 1, 2, 3].flatMap((j) => [o + 2 * j, o + 2 * j + 1, 16 + o + 2 * j, 16 + o + 2 * j + 1]);
  return `(i8x16.shuffle ${idx.join(" ")} ${a} ${b})`;
}

/**
 * Statements setting `lo` / `hi` (f32x4 bits of columns 0–3 / 4–7, each the f16 value times
 * 2^-112) from the eight halves in local $h; `hi` only when two vectors are needed.
 */
function f16x8Bits(nv: number, lo: string, hi: string): string {
  // -28673 = 0x8fff: the sign and the 12 bits below the three copies of it.
  const mask = `(v128.const i16x8 ${Array(8).fill(-28673).join(" ")})`;
  const out = [set("hl", `(i16x8.shl ${get("h")} (i32.const 13))`), set("hh", `(v128.and (i16x8.shr_s ${get("h")} (i32.const 3)) ${mask})`)];
  out.push(set(lo, interleave16(get("hl"), get("hh"), "low")));
  if (nv > 1) out.push(set(hi, interleave16(get("hl"), get("hh"), "high")));
  return out.join("\n");
}

/**
 * Statements scaling A's `rows` rows (f32 at $a, [rows][K]) by 2^112 into this thread's scratch
 * ($scr), and setting $exact when some |x| ≥ 2^16 (x · 2^112 would overflow): then the decode
 * loop reads A itself and multiplies each converted weight by 2^112 (the slow, exact path).
 * Scaling x instead of the weights gives the same products: x · 2^112 · (w · 2^-112) = x · w
 * before the one rounding of the multiply-add (or of the multiply, without fused ones).
 * A NaN never sets $exact (its products are NaN either way); ±Inf does.
 */
export function prescaleRows(f: Func, K: number): string {
  f.local("i32", "pk", "pn", "exact");
  f.local("f32", "px", "pm");
  return `
    (local.set $pn (i32.mul ${get("rows")} ${i32(K)}))
    (local.set $pk (i32.const 0))
    (local.set $pm ${f32(0)})
    (block $B_pre (loop $L_pre
      (br_if $B_pre (i32.ge_s ${get("pk")} ${get("pn")}))
      (local.set $px (f32.load (i32.add ${get("a")} (i32.shl ${get("pk")} (i32.const 2)))))
      (local.set $pm (f32.max ${get("pm")} (f32.abs ${get("px")})))
      (f32.store (i32.add ${get("scr")} (i32.shl ${get("pk")} (i32.const 2))) (f32.mul ${get("px")} ${f32(2 ** 112)}))
      (local.set $pk (i32.add ${get("pk")} (i32.const 1)))
      (br $L_pre)))
    (local.set $exact (f32.ge ${get("pm")} ${f32(PRESCALE_LIMIT)}))`;
}

/**
 * Matrix–vector for row $i over the panel at $qp: STEPS k per loop iteration, k alternating
 * between U accumulator sets per vector (independent FMA chains) that live across iterations.
 * V8 issues a basic block's loads before its arithmetic, so a long body keeps every loaded
 * vector live and spills: with the accumulators reset per block of 32, binaryen folded a block
 * into one tree of 64 loads (4.7 GB/s); 8 steps over 4 sets still spilled the accumulators;
 * 2 over 2 keeps all in registers (~20 GB/s on this machine, the f32 kernel's). `exact`: x from
 * A and each weight times 2^112 (see prescaleRows); else x from the scaled copy. x is a splat
 * load at a computed address: V8 hoists base + offset of a splat or extending load with an
 * offset out of the loop, one register (spilled) per offset.
 */
export function mvRowF16(f: Func, fl: EmitFlags, s: MatmulSpec, mode: "full" | "tail", exact: boolean): string {
  const cols = mode === "full" ? NR : s.N % NR;
  const nv = Math.ceil(cols / 4);
  const U = 2;
  const STEPS = 2;
  const t = (u: number, v: number) => `t${u}_${v}`;
  for (let v = 0; v < nv; v++) f.local("v128", `c0_0_${v}`, ...Array.from({ length: U }, (_, u) => t(u, v)));
  f.local("v128", "x", "h", "hl", "hh", "w0", "w1");
  f.local("i32", "k", "rec");
  const step = (kk: number): string => {
    const addr = kk === 0 ? get("ap") : `(i32.add ${get("ap")} ${i32(4 * kk)})`;
    const out = [set("x", `(v128.load32_splat ${addr})`), set("h", `(v128.load${kk ? ` offset=${16 * kk}` : ""} ${get("rec")})`), f16x8Bits(nv, "w0", "w1")];
    for (let v = 0; v < nv; v++) {
      const w = exact ? `(f32x4.mul ${get(`w${v}`)} ${splat(2 ** 112)})` : get(`w${v}`);
      out.push(set(t(kk % U, v), madd(fl, get("x"), w, get(t(kk % U, v)))));
    }
    return out.join("\n");
  };
  const main = Math.floor(s.K / STEPS) * STEPS;
  const label = `$L_mv_${mode}${exact ? "_x" : ""}`;
  const loop =
    main === 0
      ? ""
      : `(local.set $k (i32.const 0))
        (loop ${label}
          ${Array.from({ length: STEPS }, (_, kk) => step(kk)).join("\n")}
          (local.set $ap (i32.add ${get("ap")} ${i32(STEPS * 4)}))
          (local.set $rec (i32.add ${get("rec")} ${i32(STEPS * NR * 2)}))
          (br_if ${label} (i32.lt_s (local.tee $k (i32.add ${get("k")} ${i32(STEPS)})) ${i32(main)})))`;
  const zero: string[] = [];
  const sums: string[] = [];
  for (let v = 0; v < nv; v++) {
    for (let u = 0; u < U; u++) zero.push(set(t(u, v), ZERO));
    let sum = get(t(0, v));
    for (let u = 1; u < U; u++) sum = `(f32x4.add ${sum} ${get(t(u, v))})`;
    sums.push(set(`c0_0_${v}`, sum));
  }
  return `
        (local.set $ap (i32.add ${get(exact ? "a" : "scr")} (i32.mul ${get("i")} ${i32(s.K * 4)})))
        (local.set $cp (i32.add ${get("c")} (i32.shl (i32.add (i32.mul ${get("i")} ${i32(s.N)}) ${get("col")}) (i32.const 2))))
        (local.set $rec ${get("qp")})
        ${zero.join("\n")}
        ${loop}
        ${Array.from({ length: s.K - main }, (_, kk) => step(kk)).join("\n")}
        ${sums.join("\n")}
        ${epilogue(f, fl, s, 1, cols)}`;
}

/** The panel at $qp dequantised into f32 [K][NR] at $scr (exact). */
export function dequantPanelF16(f: Func, s: MatmulSpec, mode: "full" | "tail"): string {
  const cols = mode === "full" ? NR : s.N % NR;
  const nv = Math.ceil(cols / 4);
  f.local("v128", "h", "hl", "hh", "w0", "w1");
  f.local("i32", "k", "rec");
  const STEPS = 4;
  const step = (kk: number): string => {
    const out = [set("h", `(v128.load${kk ? ` offset=${16 * kk}` : ""} ${get("rec")})`), f16x8Bits(nv, "w0", "w1")];
    for (let v = 0; v < nv; v++) out.push(storeV(get("bp"), `(f32x4.mul ${get(`w${v}`)} ${splat(2 ** 112)})`, (kk * NR + v * 4) * 4));
    return out.join("\n");
  };
  const main = Math.floor(s.K / STEPS) * STEPS;
  const loop =
    main === 0
      ? ""
      : `(local.set $k (i32.const 0))
      (loop $L_dq_${mode}
        ${Array.from({ length: STEPS }, (_, kk) => step(kk)).join("\n")}
        (local.set $bp (i32.add ${get("bp")} ${i32(STEPS * NR * 4)}))
        (local.set $rec (i32.add ${get("rec")} ${i32(STEPS * NR * 2)}))
        (br_if $L_dq_${mode} (i32.lt_s (local.tee $k (i32.add ${get("k")} ${i32(STEPS)})) ${i32(main)})))`;
  return `
      (local.set $rec ${get("qp")})
      (local.set $bp ${get("scr")})
      ${loop}
      ${Array.from({ length: s.K - main }, (_, kk) => step(kk)).join("\n")}`;
}
