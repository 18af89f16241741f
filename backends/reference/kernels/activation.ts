// Pointwise activations. Scalar forms are exported too, so tests and other kernels can use the
// f64 value before it is rounded into a Float32Array.

export type Activation = "relu" | "gelu" | "gelu_tanh" | "silu";

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2 / sqrt(pi)
const INV_SQRT_PI = 0.5641895835477563; // 1 / sqrt(pi)
const SQRT_2_OVER_PI = 0.7978845608028654; // sqrt(2 / pi)
const SQRT1_2 = Math.SQRT1_2;

// Below this |x| erf comes from its power series, above it erfc from its continued fraction;
// each converges fast on its side (series: ~35 terms at 2; fraction: < 1e-16 by 2 with 60 terms).
const SERIES_LIMIT = 2;
const CF_TERMS = 60;

/**
 * erf(x) = 2/√π · e^{-x²} · Σ_n 2ⁿ x^{2n+1} / (1·3···(2n+1)). All terms share the sign of x, so
 * unlike the alternating Maclaurin series there is no cancellation: relative error ~1e-16.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc(x) for x >= SERIES_LIMIT via Laplace's continued fraction
 * erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated bottom-up.
 * Computing erfc directly keeps relative accuracy in the tail, where 1 - erf(x) would be 0.
 */
function erfcFraction(x: number): number {
  let f = x;
  for (let n = CF_TERMS; n >= 1; n--) f = x + n / 2 / f;
  return (INV_SQRT_PI * Math.exp(-x * x)) / f;
}

/** Error function, |error| ~1e-16 (A&S 7.1.26, error 1.5e-7, is too coarse for an oracle). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) < SERIES_LIMIT) return erfSeries(x);
  const c = erfcFraction(Math.abs(x));
  return x > 0 ? 1 - c : c - 1;
}

/** Complementary error function 1 - erf(x), accurate relative to its value for large x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= SERIES_LIMIT) return erfcFraction(x);
  if (x <= -SERIES_LIMIT) return 2 - erfcFraction(-x);
  return 1 - erfSeries(x);
}

export function relu(x: number): number {
  // x > 0 rather than Math.max so NaN propagates as NaN (like torch), not as 0.
  return x > 0 ? x : Number.isNaN(x) ? x : 0;
}

/** Exact GELU, torch.nn.GELU() default: x Φ(x) = x/2 · erfc(-x/√2). */
export function gelu(x: number): number {
  // The erfc form keeps relative accuracy for negative x, where 1 + erf(x/√2) cancels.
  return 0.5 * x * erfc(-x * SQRT1_2);
}

/** GELU tanh approximation, torch.nn.GELU(approximate="tanh") / GPT-2 "gelu_new". */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/** SiLU / swish: x · sigmoid(x). */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

export const ACTIVATIONS: Readonly<Record<Activation, (x: number) => number>> = Object.freeze({
  relu,
  gelu,
  gelu_tanh: geluTanh,
  silu,
});

export function activationFn(act: Activation): (x: number) => number {
  // Specs arrive as data, so an unknown name must fail here rather than as "f is not a function".
  if (!Object.hasOwn(ACTIVATIONS, act)) throw new Error(`unknown activation "${String(act)}"`);
  return ACTIVATIONS[act];
}

/** Applies act elementwise in place; returns x. */
export function activate(x: Float32Array, act: Activation): Float32Array {
  const f = activationFn(act);
  for (let i = 0; i < x.length; i++) x[i] = f(x[i]);
  return x;
}

/**
 * Gated linear unit body: act(gate) * up, elementwise, into a new array.
 * "silu" gives SwiGLU (LLaMA), "gelu"/"gelu_tanh" give GeGLU.
 */
export function gatedActivate(gate: Float32Array, up: Float32Array, act: Activation): Float32Array {
  if (gate.length !== up.length) {
    throw new Error(`gatedActivate: gate has length ${gate.length} but up has length ${up.length}`);
  }
  const f = activationFn(act);
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = f(gate[i]) * up[i];
  return out;
}
