// RoPE inverse frequencies, the one definition every backend and the training engine use:
// channel pair c of `dim` rotated channels turns by position · invFreq[c].

import type { RopeScaling } from "./model.ts";

/**
 * invFreq[c] = base^(-2c / dim), then scaled. `linear`: / factor. `llama3`, as Hugging Face's
 * _compute_llama3_parameters: with wavelength λ = 2π / invFreq, λ above originalContext /
 * lowFreqFactor is divided by factor, λ below originalContext / highFreqFactor is kept, and in
 * between the two are blended by s = (originalContext / λ − lowFreqFactor) / (highFreqFactor −
 * lowFreqFactor): (1 − s) · invFreq / factor + s · invFreq.
 */
export function ropeInverseFrequencies(dim: number, base: number, scaling?: RopeScaling): Float64Array {
  const half = dim / 2;
  const out = new Float64Array(half);
  for (let c = 0; c < half; c++) out[c] = Math.pow(base, (-2 * c) / dim);
  if (scaling === undefined) return out;
  if (scaling.kind === "linear") return out.map((f) => f / scaling.factor);
  const { factor, lowFreqFactor, highFreqFactor, originalContext } = scaling;
  const lowWavelen = originalContext / lowFreqFactor;
  const highWavelen = originalContext / highFreqFactor;
  return out.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const s = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - s) * (f / factor) + s * f;
  });
}

/** `linear(4)`, `llama3(32, 1–4, 8192)`: for inspect rows and IR dumps. */
export function describeRopeScaling(s: RopeScaling): string {
  return s.kind === "linear" ? `linear(${s.factor})` : `llama3(${s.factor}, ${s.lowFreqFactor}–${s.highFreqFactor}, ${s.originalContext})`;
}

/** A stable key for tables and kernel names: equal keys, equal frequencies. */
export function ropeKey(dim: number, base: number, scaling?: RopeScaling): string {
  const sc = scaling === undefined ? "" : scaling.kind === "linear" ? `:lin${scaling.factor}` : `:l3_${scaling.factor}_${scaling.lowFreqFactor}_${scaling.highFreqFactor}_${scaling.originalContext}`;
  return `${dim}:${base}${sc}`;
}
