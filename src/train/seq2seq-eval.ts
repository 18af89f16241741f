// Evaluation of encoder–decoder training: exact-match accuracy of greedy decoding. A batch of
// sources (padded, with their mask) goes through the model's begin(), which runs the encoder
// once, then the decoder steps from the start symbol one token at a time on the backend's own
// incremental path (KV caches, the cross-attention K/V computed once per source).

import type { Model } from "../runtime/model-api.ts";
import type { LengthAccuracy } from "./copy-eval.ts";
import { padSources, type Seq2seqPair } from "./seq2seq-data.ts";

type Decoder = Pick<Model, "config" | "begin" | "step">;

/** How to decode: the start and end symbols, and whether the spec has a source padding mask. */
export interface DecodeSymbols {
  start: number;
  end: number;
  /** Without one, every source of a batch has the same length (the CLI checks). */
  sourceMask: boolean;
}

/** Greedy outputs for `sources`, `maxTokens` each (stopping once every row has written the end symbol). */
export async function greedySeq2seq(model: Decoder, sources: readonly (readonly number[])[], symbols: DecodeSymbols, maxTokens: number): Promise<number[][]> {
  const { start, end } = symbols;
  const batch = sources.length;
  const src = padSources(sources);
  const vocab = model.config.vocab;
  const out: number[][] = sources.map(() => []);
  const state = await model.begin({ batch, src: { tokens: src.tokens, seq: src.seq, ...(symbols.sourceMask ? { mask: src.mask } : {}) } });
  try {
    let next = new Int32Array(batch).fill(start);
    for (let t = 0; t < maxTokens; t++) {
      const logits = await model.step(state, next, 1);
      next = new Int32Array(batch);
      for (let b = 0; b < batch; b++) {
        const o = b * vocab;
        let best = 0;
        for (let c = 1; c < vocab; c++) if (logits[o + c] > logits[o + best]) best = c;
        next[b] = best;
        out[b].push(best);
      }
      if (out.every((g) => g.includes(end))) break;
    }
  } finally {
    state.dispose();
  }
  return out;
}

/** The output is the target followed by the end symbol; what comes after it is never generated. */
export function seq2seqExactMatch(generated: readonly number[], target: readonly number[], end: number): boolean {
  if (generated.length < target.length + 1) return false;
  for (let i = 0; i < target.length; i++) if (generated[i] !== target[i]) return false;
  return generated[target.length] === end;
}

export interface Seq2seqAccuracy {
  correct: number;
  total: number;
  accuracy: number;
  /** The same, per target length. */
  byLength: LengthAccuracy[];
}

/** Exact-match accuracy of greedy decoding on `pairs`, decoded `chunk` at a time. */
export async function seq2seqAccuracy(model: Decoder, pairs: readonly Seq2seqPair[], symbols: DecodeSymbols, chunk = 32): Promise<Seq2seqAccuracy> {
  const byLength = new Map<number, { correct: number; total: number }>();
  let correct = 0;
  for (let i = 0; i < pairs.length; i += chunk) {
    const part = pairs.slice(i, i + chunk);
    const gen = await greedySeq2seq(model, part.map((p) => p.source), symbols, Math.max(...part.map((p) => p.target.length)) + 1);
    part.forEach((p, k) => {
      const hit = seq2seqExactMatch(gen[k], p.target, symbols.end);
      const l = byLength.get(p.target.length) ?? { correct: 0, total: 0 };
      l.total++;
      if (hit) {
        l.correct++;
        correct++;
      }
      byLength.set(p.target.length, l);
    });
  }
  const rows = [...byLength].sort((a, b) => a[0] - b[0]).map(([length, r]) => ({ length, ...r, accuracy: r.correct / r.total }));
  return { correct, total: pairs.length, accuracy: pairs.length > 0 ? correct / pairs.length : NaN, byLength: rows };
}
