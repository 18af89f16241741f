// Vector transcendental functions, emitted inline as statements over v128 locals. Inline
// (rather than wasm functions) because V8 in Node 20 does not inline wasm calls, and these
// run once per four attention scores or four activations: a call each time would cost more
// than the polynomial.

import { type EmitFlags, type Func, get, madd, set, splat } from "./wat.ts";

const v = (op: string, ...args: string[]): string => `(f32x4.${op} ${args.join(" ")})`;

/**
 * out = exp(x), Cephes expf: x = n·ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial,
 * 2^n built in the exponent bits. About 1 ulp. x is clamped to [-87.3, 88]: below, the result
 * is the smallest normal (callers that need an exact 0 for -inf mask it themselves); above,
 * ~1.6e38 instead of inf, harmless where we use it (denominators of sigmoids). `nonPositive`:
 * the caller guarantees x <= 0 or NaN (softmax's s − max), so the upper clamp is dropped.
 *
 * Cheap on V8/x64 by construction: pmin/pmax are single minps/maxps (min/max must order NaN
 * and ±0 and cost several instructions), and n is rounded by adding 1.5·2^23, which leaves
 * the integer in the low mantissa bits, so neither f32x4.nearest nor a saturating float→int
 * conversion is needed. With relaxed SIMD the rounding, both Cody–Waite steps and the last
 * step of the polynomial are fused multiply-adds (17 vector ops instead of 21, 16 without the
 * upper clamp: the attention softmax runs one per four scores); fused is at least as accurate (n·C1 is exact either way).
 */
export function expV(f: Func, fl: EmitFlags, out: string, x: string, opts: { nonPositive?: boolean } = {}): string {
  const t = `${out}_t`;
  const n = `${out}_n`;
  const m = `${out}_m`;
  f.local("v128", out, t, n, m);
  const c = (k: number) => splat(k);
  const MAGIC = 12582912; // 1.5 · 2^23, bits 0x4B400000
  let p = c(1.9875691500e-4);
  for (const k of [1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]) {
    p = madd(fl, p, get(t), c(k));
  }
  const clampHi = opts.nonPositive ? get(x) : v("pmin", get(x), c(88));
  // c − a·b: relaxed_nmadd where fused, else the plain sub of a product
  const nmadd = (a: string, b: string, cc: string) => (fl.relaxed ? v("relaxed_nmadd", a, b, cc) : v("sub", cc, v("mul", a, b)));
  return [
    set(t, v("pmax", clampHi, c(-87.33654))),
    set(m, madd(fl, get(t), c(Math.LOG2E), c(MAGIC))),
    set(n, v("sub", get(m), c(MAGIC))),
    // Two-part ln2 (Cody–Waite) so r keeps full precision.
    set(t, nmadd(get(n), c(-2.12194440e-4), nmadd(get(n), c(0.693359375), get(t)))),
    set(out, v("add", madd(fl, p, v("mul", get(t), get(t)), get(t)), c(1))),
    // bits(m) = 0x4B400000 + n, so (bits(m) - 0x4B400000 + 127) << 23 is 2^n.
    set(out, v("mul", get(out), `(i32x4.shl (i32x4.add ${get(m)} (i32x4.splat (i32.const ${127 - 0x4b400000}))) (i32.const 23))`)),
  ].join("\n");
}

// 2^r on [-1/2, 1/2]: 1 + r·(c1 + r·(c2 + …)), fitted for the least largest relative error
// with the constant term fixed at 1 (so 2^0 is exactly 1): 7.9e-8 evaluated in f32 with fused
// multiply-adds, 9.7e-8 unfused (Lawson's iteration in f64 on 20,001 points; the error is 1e-9 in f64).
const EXP2_POLY = [0.6931471824645996, 0.24022647738456726, 0.055503323674201965, 0.00961843691766262, 0.0013398875016719103, 0.0001535336341476068];
/** 1.5·2^23 + 127: t + this rounds t to an integer n and leaves n + 127 in the low mantissa bits. */
const EXP2_MAGIC = 12582912 + 127;

/**
 * out = 2^x for x <= 0, −inf or NaN: the attention softmax's exponent, whose scores arrive in
 * log2 units (the queries carry log2(e) with the score scale), so no multiply by log2(e) and no
 * two-part ln2 are needed. x is clamped below at −127, where the exponent field built from the
 * mantissa bits is 0: 2^x is then exactly 0 (masked −inf scores need no extra mask, and below
 * 2^-126 a softmax weight is 0 anyway). bits(t + MAGIC) = 0x4B400000 + 127 + n, and shifted left
 * by 23 the 0x4B4 part falls off, leaving (n + 127) << 23 = 2^n. 12 vector ops (expV: 16).
 */
export function exp2V(f: Func, fl: EmitFlags, out: string, x: string): string {
  const t = `${out}_t`;
  const m = `${out}_m`;
  f.local("v128", out, t, m);
  let p = splat(EXP2_POLY[EXP2_POLY.length - 1]);
  for (let k = EXP2_POLY.length - 2; k >= 0; k--) p = madd(fl, p, get(t), splat(EXP2_POLY[k]));
  return [
    // pmax(x, c) is x < c ? c : x, so NaN stays NaN.
    set(t, v("pmax", get(x), splat(-127))),
    set(m, v("add", get(t), splat(EXP2_MAGIC))),
    set(t, v("sub", get(t), v("sub", get(m), splat(EXP2_MAGIC)))),
    set(out, v("mul", madd(fl, p, get(t), splat(1)), `(i32x4.shl ${get(m)} (i32.const 23))`)),
  ].join("\n");
}

/**
 * out = cap · tanh(x / cap) = cap − 2·cap / (1 + e^(2x/cap)), for attention scores: its error
 * is at most ~3 · cap · 2^-24 whatever x (measured), a few f32 spacings of a score at the cap's scale — and a
 * score's absolute error is what a softmax turns into relative error of its weights, so this is
 * as good as the scores can be, at 21 vector ops (softcapV, exact to a few ulp for small x too,
 * costs 34: 12% of a soft-capped attention). Saturates to ±cap without overflow (expV clamps;
 * caps are at most 1e18, SF0217), NaN stays NaN.
 */
export function softcapScoresV(f: Func, fl: EmitFlags, out: string, x: string, cap: number): string {
  const u = `${out}_u`;
  const e = `${out}_e`;
  f.local("v128", out, u);
  return [
    set(u, v("mul", get(x), splat(2 / cap))),
    expV(f, fl, e, u),
    set(out, v("sub", splat(cap), v("div", splat(2 * cap), v("add", get(e), splat(1))))),
  ].join("\n");
}

// tanh(a) = a + a³·(c3 + a²·(c5 + …)) for |a| < TANH_SPLIT: Taylor's series to a¹³ (the next
// term is 4e-9 of tanh at the split), so small values keep their relative precision.
const TANH_TAYLOR = [-1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925, 21844 / 6081075];
const TANH_SPLIT = 0.4;

/**
 * out = cap · tanh(x / cap), soft-capping of logits (relative precision matters there: a
 * logit is compared with the others on its own scale). With a = |x / cap|:
 * tanh(a) = (1 − e^(−2a)) / (1 + e^(−2a)) from TANH_SPLIT up (saturating at 1 without overflow:
 * expV clamps), the series below it, the sign copied back, NaN kept. The old form
 * cap − 2·cap / (1 + e^(2x/cap)) cancelled: its error was cap · 2^-24 whatever x, so logits far
 * below the cap lost most of their digits (a logit of 1e-3 under softcap = 30 came out 2e-3 off).
 */
export function softcapV(f: Func, fl: EmitFlags, out: string, x: string, cap: number): string {
  // Suffixes no caller's locals use (emit-attention.ts has an i32 $cv_s).
  const u = `${out}_tanhu`;
  const a = `${out}_tanha`;
  const s = `${out}_tanhs`;
  const e = `${out}_tanhe`;
  f.local("v128", out, u, a, s);
  let p = splat(TANH_TAYLOR[TANH_TAYLOR.length - 1]);
  for (let k = TANH_TAYLOR.length - 2; k >= 0; k--) p = madd(fl, p, get(s), splat(TANH_TAYLOR[k]));
  const SIGN = "(v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)";
  return [
    set(u, v("mul", get(x), splat(1 / cap))),
    set(a, v("abs", get(u))),
    set(s, v("mul", get(a), splat(-2))),
    expV(f, fl, e, s, { nonPositive: true }),
    set(out, v("div", v("sub", splat(1), get(e)), v("add", splat(1), get(e)))),
    set(s, v("mul", get(a), get(a))),
    set(out, `(v128.bitselect ${madd(fl, v("mul", get(a), get(s)), p, get(a))} ${get(out)} ${v("lt", get(a), splat(TANH_SPLIT))})`),
    set(out, v("mul", `(v128.or ${get(out)} (v128.and ${get(u)} ${SIGN}))`, splat(cap))),
  ].join("\n");
}

// Eigen's generic_fast_erf_float rational approximation on [-4, 4] (outside, erf is ±1 in f32).
// Measured against the reference erf: max |error| 4.2e-7 over [-6, 6].
const ERF_NUM = [-1.60960333262415e-2, -2.95459980854025e-3, -7.34990630326855e-4, -5.69250639462346e-5, -2.10102402082508e-6, 2.77068142495902e-8, -2.72614225801306e-10];
const ERF_DEN = [-1.42647390514189e-2, -7.37332916720468e-3, -1.68282697438203e-3, -2.13374055278905e-4, -1.45660718464996e-5];

/** out = erf(x). */
export function erfV(f: Func, fl: EmitFlags, out: string, x: string): string {
  const t = `${out}_t`;
  const t2 = `${out}_t2`;
  f.local("v128", out, t, t2);
  let num = splat(ERF_NUM[6]);
  for (let i = 5; i >= 0; i--) num = madd(fl, num, get(t2), splat(ERF_NUM[i]));
  let den = splat(ERF_DEN[4]);
  for (let i = 3; i >= 0; i--) den = madd(fl, den, get(t2), splat(ERF_DEN[i]));
  return [
    set(t, v("pmax", v("pmin", get(x), splat(4)), splat(-4))),
    set(t2, v("mul", get(t), get(t))),
    set(out, v("div", v("mul", num, get(t)), den)),
  ].join("\n");
}

export type Act = "relu" | "gelu" | "gelu_tanh" | "silu";

/** out = act(x) elementwise. */
export function activationV(f: Func, fl: EmitFlags, act: Act, out: string, x: string): string {
  f.local("v128", out);
  const e = `${out}_e`;
  switch (act) {
    case "relu":
      // pmax(x, 0) = x < 0 ? 0 : x: one maxps, and NaN stays NaN as in torch.
      return set(out, v("pmax", get(x), splat(0)));
    case "gelu": {
      // x/2 · (1 + erf(x/√2)).
      const s = `${out}_s`;
      f.local("v128", s);
      return [
        set(s, v("mul", get(x), splat(Math.SQRT1_2))),
        erfV(f, fl, e, s),
        set(out, v("mul", v("mul", get(x), splat(0.5)), v("add", get(e), splat(1)))),
      ].join("\n");
    }
    case "gelu_tanh": {
      // x/2 · (1 + tanh(u)) = x · sigmoid(2u) = x / (1 + exp(-2u)), u = √(2/π)(x + 0.044715 x³).
      const u = `${out}_u`;
      f.local("v128", u);
      const k = Math.sqrt(2 / Math.PI);
      return [
        set(u, v("mul", v("mul", get(x), splat(-2 * k)), madd(fl, v("mul", get(x), get(x)), splat(0.044715), splat(1)))),
        expV(f, fl, e, u),
        set(out, v("div", get(x), v("add", get(e), splat(1)))),
      ].join("\n");
    }
    case "silu": {
      const u = `${out}_u`;
      f.local("v128", u);
      return [set(u, v("neg", get(x))), expV(f, fl, e, u), set(out, v("div", get(x), v("add", get(e), splat(1))))].join("\n");
    }
  }
}

/** Linear-attention feature maps: elu(x) + 1 (x > 0 ? x + 1 : e^x) and relu. */
export function featureV(f: Func, fl: EmitFlags, map: "elu1" | "relu", out: string, x: string): string {
  f.local("v128", out);
  if (map === "relu") return set(out, v("pmax", get(x), splat(0)));
  const e = `${out}_e`;
  return [
    expV(f, fl, e, x),
    set(out, `(v128.bitselect ${v("add", get(x), splat(1))} ${get(e)} ${v("gt", get(x), splat(0))})`),
  ].join("\n");
}
