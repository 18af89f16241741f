/**
 * `rope_freqs.weight`: how llama.cpp's converter stores Llama 3.1 / 3.2's RoPE scaling — one
 * divisor per rotated channel pair (ggml_rope_ext turns pair c by position · invFreq[c] / f[c]),
 * computed from rope_scaling {factor, low_freq_factor, high_freq_factor,
 * original_max_position_embeddings}, which the file does not keep.
 *
 * The divisors only depend on the blend s = (original / λ − low) / (high − low), a line in the
 * unscaled frequency (λ = 2π / invFreq): 1 where s ≥ 1, factor where s ≤ 0, and
 * 1 / ((1 − s) / factor + s) between. So the scaling is recovered as that line — from the blended
 * pairs, or from the band edges where fewer than two pairs blend — written with low_freq_factor 1
 * and an integer original context (the rounder figures Llama's own config uses, when they fit),
 * then checked: every pair's scaled frequency within 1e-5 of the file's, else refused.
 */
import { ropeInverseFrequencies } from "../../model/rope.ts";
import type { RopeScaling } from "../../model/model.ts";

const TOLERANCE = 1e-5;

/** Why `scaling` does not give the frequencies `factors` stands for (rotated dim, base), or undefined when it does. */
export function ropeFactorsMismatch(factors: ArrayLike<number>, dim: number, base: number, scaling: RopeScaling | undefined): string | undefined {
  if (factors.length !== dim / 2) return `it has ${factors.length} factors but the model rotates ${dim / 2} channel pairs`;
  const plain = ropeInverseFrequencies(dim, base);
  const scaled = ropeInverseFrequencies(dim, base, scaling);
  for (let c = 0; c < plain.length; c++) {
    const want = plain[c] / factors[c];
    if (!(Math.abs(scaled[c] - want) <= TOLERANCE * want)) return `channel pair ${c}: the file's factor ${factors[c]} gives frequency ${want.toPrecision(6)}, the model's RoPE ${scaled[c].toPrecision(6)}`;
  }
  return undefined;
}

/**
 * The RoPE scaling `factors` stands for: undefined when every factor is 1 (no scaling), a llama3
 * scaling that reproduces them, or a string saying why none does.
 */
export function fitLlama3Scaling(factors: ArrayLike<number>, dim: number, base: number): RopeScaling | undefined | string {
  const f = Array.from(factors);
  if (f.length !== dim / 2) return ropeFactorsMismatch(f, dim, base, undefined);
  if (f.some((x) => !(Number.isFinite(x) && x > 0))) return "it holds a factor that is not a positive number";
  const factor = Math.max(...f);
  if (f.every((x) => Math.abs(x - 1) <= TOLERANCE)) return undefined;
  const freq = Array.from(ropeInverseFrequencies(dim, base));
  // The blend each pair implies: 1 / f = (1 − s) / factor + s.
  const blend = f.map((x) => (1 / x - 1 / factor) / (1 - 1 / factor));
  const band = f.map((x) => (Math.abs(x - 1) <= TOLERANCE ? "kept" : Math.abs(x - factor) <= TOLERANCE * factor ? "divided" : "mixed"));
  const kept = freq.filter((_, c) => band[c] === "kept");
  const divided = freq.filter((_, c) => band[c] === "divided");
  const mixed = freq.map((w, c) => ({ w, s: blend[c] })).filter((_, c) => band[c] === "mixed");
  const line = blendLine(mixed, kept.length > 0 ? Math.min(...kept) : undefined, divided.length > 0 ? Math.max(...divided) : undefined);
  if (typeof line === "string") return line;
  // s = a · invFreq + b = original / (2π (high − low)) · invFreq − low / (high − low).
  const { a, b } = line;
  if (!(a > 0 && b < 0)) return "the factors do not fall from the low frequencies to the high ones as Llama 3's rule does";
  // The integer original context nearest low = 1, then low and high exact for it; tried rounded to
  // six figures first (Llama's own 1 and 4), then as computed.
  const original = Math.max(1, Math.round((-2 * Math.PI * a) / b));
  const low = (-b * original) / (2 * Math.PI * a);
  const high = low * (1 - 1 / b);
  const round = (x: number) => Number(x.toPrecision(6));
  const candidates: RopeScaling[] = [
    { kind: "llama3", factor: round(factor), lowFreqFactor: round(low), highFreqFactor: round(high), originalContext: original },
    { kind: "llama3", factor, lowFreqFactor: low, highFreqFactor: high, originalContext: original },
  ];
  let why = "";
  for (const c of candidates) {
    const problem = ropeFactorsMismatch(f, dim, base, c);
    if (problem === undefined) return c;
    why ||= problem;
  }
  return `no llama3 scaling reproduces them (${why})`;
}

/**
 * The line s = a · invFreq + b through the blended pairs (two or more: the outermost two), or one
 * that keeps the band edges when fewer blend: s ≤ 0 at `divided` (the highest frequency divided
 * by the full factor) and s ≥ 1 at `kept` (the lowest frequency kept as is).
 */
function blendLine(mixed: { w: number; s: number }[], kept: number | undefined, divided: number | undefined): { a: number; b: number } | string {
  if (mixed.length >= 2) {
    const lo = mixed.reduce((p, q) => (q.w < p.w ? q : p));
    const hi = mixed.reduce((p, q) => (q.w > p.w ? q : p));
    const a = (hi.s - lo.s) / (hi.w - lo.w);
    return { a, b: lo.s - a * lo.w };
  }
  if (mixed.length === 1) {
    const { w, s } = mixed[0];
    const slopes = [...(divided !== undefined ? [s / (w - divided)] : []), ...(kept !== undefined ? [(1 - s) / (kept - w)] : [])];
    const a = slopes.length > 0 ? Math.max(...slopes) : s / w;
    return { a, b: s - a * w };
  }
  if (kept === undefined || divided === undefined || !(divided < kept)) return "they do not split into kept low-wavelength and divided high-wavelength channel pairs";
  const a = 1 / (kept - divided);
  return { a, b: -a * divided };
}
