// Evaluation of the copying tasks (copy-task.ts): string-level exact-match accuracy of greedy
// generation, per string length. Every example of one length has the same prompt length, so a
// length's examples decode together as one batch through the model's begin/step (the KV cache
// or recurrent state of whichever backend runs it).

import type { Model } from "../runtime/model-api.ts";
import { type CopyExample, type CopyTask, EOS, evalExamples, exactMatch } from "./copy-task.ts";

export interface LengthAccuracy {
  length: number;
  correct: number;
  total: number;
  accuracy: number;
}

/** Greedy continuations of same-length prompts, `maxTokens` each (stopping once every row has written EOS). */
export async function greedyBatch(model: Pick<Model, "config" | "begin" | "step">, prompts: readonly number[][], maxTokens: number): Promise<number[][]> {
  const batch = prompts.length;
  const n = prompts[0].length;
  if (prompts.some((p) => p.length !== n)) throw new Error("greedyBatch: prompts differ in length");
  const vocab = model.config.vocab;
  const out: number[][] = prompts.map(() => []);
  const state = await model.begin({ batch });
  try {
    let logits = await model.step(state, Int32Array.from(prompts.flat()), n);
    let rows = n; // logits rows per sequence in `logits`
    for (let t = 0; t < maxTokens; t++) {
      const next = new Int32Array(batch);
      for (let b = 0; b < batch; b++) {
        const o = (b * rows + rows - 1) * vocab;
        let best = 0;
        for (let c = 1; c < vocab; c++) if (logits[o + c] > logits[o + best]) best = c;
        next[b] = best;
        out[b].push(best);
      }
      if (t + 1 === maxTokens || out.every((g) => g.includes(EOS))) break;
      logits = await model.step(state, next, 1);
      rows = 1;
    }
  } finally {
    state.dispose();
  }
  return out;
}

/** Exact-match accuracy of greedy decoding on given examples of one prompt length. */
export async function exampleAccuracy(model: Pick<Model, "config" | "begin" | "step">, examples: readonly CopyExample[], chunk = 32): Promise<{ correct: number; total: number }> {
  let correct = 0;
  for (let i = 0; i < examples.length; i += chunk) {
    const part = examples.slice(i, i + chunk);
    const gen = await greedyBatch(model, part.map((e) => e.prompt), part[0].answer.length + 1);
    part.forEach((e, k) => {
      if (exactMatch(gen[k], e.answer)) correct++;
    });
  }
  return { correct, total: examples.length };
}

/** Accuracy per string length on `count` held-out examples each (seeded by `seed`, apart from training). */
export async function copyAccuracy(model: Pick<Model, "config" | "begin" | "step">, task: CopyTask, lengths: readonly number[], count: number, seed: number): Promise<LengthAccuracy[]> {
  const out: LengthAccuracy[] = [];
  for (const length of lengths) {
    const r = await exampleAccuracy(model, evalExamples(task, length, count, seed));
    out.push({ length, ...r, accuracy: r.total > 0 ? r.correct / r.total : NaN });
  }
  return out;
}
