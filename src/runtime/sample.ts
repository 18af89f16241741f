// Token selection: seeded PRNG, greedy argmax, temperature / top-k sampling.

/** Uniform [0, 1) generator. */
export type Rng = () => number;

/**
 * mulberry32: tiny 32-bit-state PRNG, plenty for sampling and test data, and reproducible across
 * JS engines (integer ops only), which Math.random is not.
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkLogits(fn: string, logits: ArrayLike<number>): void {
  if (logits.length === 0) throw new Error(`${fn}: logits is empty`);
  for (let i = 0; i < logits.length; i++) {
    // A NaN logit means the model upstream is broken; picking a token anyway would hide that.
    if (Number.isNaN(logits[i])) throw new Error(`${fn}: logits[${i}] is NaN`);
  }
}

/** Index of the largest logit; the first one on ties (as torch.argmax). */
export function argmax(logits: ArrayLike<number>): number {
  checkLogits("argmax", logits);
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export interface SampleOptions {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k largest logits; undefined or 0 keeps all. */
  topK?: number;
  /** Required when temperature > 0. */
  rng?: Rng;
}

/** Draws a token index from softmax(logits / temperature), restricted to the top k. */
export function sample(logits: ArrayLike<number>, opts: SampleOptions): number {
  const { temperature, topK = 0, rng } = opts;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new Error(`sample: temperature must be a finite number >= 0, got ${temperature}`);
  }
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`sample: topK must be an integer >= 0, got ${topK}`);
  if (temperature === 0) return argmax(logits);
  checkLogits("sample", logits);
  if (rng === undefined) throw new Error("sample: rng is required when temperature > 0");

  let kept: number[] = Array.from({ length: logits.length }, (_, i) => i);
  if (topK > 0 && topK < logits.length) {
    // Stable order (by logit, then index) so ties at the k-th place resolve deterministically.
    kept.sort((a, b) => logits[b] - logits[a] || a - b);
    kept = kept.slice(0, topK);
  }
  let max = -Infinity;
  for (const i of kept) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) return argmax(logits); // every kept logit is -inf: nothing to weigh

  // Softmax in f64 with the max subtracted; normalising is folded into scaling the draw.
  const weights = new Float64Array(kept.length);
  let total = 0;
  for (let t = 0; t < kept.length; t++) {
    weights[t] = Math.exp((logits[kept[t]] - max) / temperature);
    total += weights[t];
  }
  const u = rng() * total;
  let cum = 0;
  for (let t = 0; t < kept.length; t++) {
    cum += weights[t];
    if (u < cum) return kept[t];
  }
  // Only reachable through rounding when u lands within an ulp of total.
  for (let t = kept.length - 1; t >= 0; t--) if (weights[t] > 0) return kept[t];
  return kept[0];
}
