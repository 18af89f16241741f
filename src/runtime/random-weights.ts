import { mulberry32 } from "./sample.ts";
import type { ModelInfo } from "../model/model.ts";
import { weightLayout, numel } from "../model/weights-layout.ts";

/**
 * Seeded random weights for every tensor of a model: GPT-2's initialisation (normal,
 * std 0.02) for matrices, small perturbations around 1 / 0 for norm gains and biases so a
 * mix-up of gain and bias changes the output (tests rely on that).
 */
export function randomWeights(m: ModelInfo, seed: number, opts: { std?: number } = {}): Map<string, Float32Array> {
  const rng = mulberry32(seed);
  const normal = () => {
    // Box–Muller; 1 - u keeps log away from 0.
    const u = 1 - rng();
    const v = rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const std = opts.std ?? 0.02;
  const out = new Map<string, Float32Array>();
  for (const t of weightLayout(m)) {
    const a = new Float32Array(numel(t.shape));
    const isNorm = /norm(\.\d+)?\.weight$/.test(t.name);
    const isBias = t.name.endsWith(".bias");
    for (let i = 0; i < a.length; i++) a[i] = isNorm ? 1 + 0.1 * normal() : isBias ? 0.02 * normal() : std * normal();
    out.set(t.name, a);
  }
  return out;
}
