// The synthetic copy task of the Annotated Transformer (Rush 2018, "A simple first example: copy
// a random set of input symbols from source to target"), for encoder–decoder specs:
//   copy     source x, target x
//   reverse  source x, target x reversed
// x is a uniform string over the task's symbols. The Annotated Transformer's strings all have
// length 10 and decoding runs a fixed number of steps; here lengths are drawn from
// [minLength, maxLength] and the target ends with an end symbol, so exact match also asks the
// model to stop. Symbols are ids 0 … symbols − 1, the decoder's start symbol is `symbols` and
// the end symbol `symbols + 1`: a spec with vocab V copies V − 2 symbols (at most the encoder's
// vocab). Batch t is a function of (seed, t) (rng.ts).

import { streamRng } from "./rng.ts";
import type { Seq2seqPair } from "./seq2seq-data.ts";

export const SEQ2SEQ_TASKS = ["copy", "reverse"] as const;
export type Seq2seqTaskKind = (typeof SEQ2SEQ_TASKS)[number];

export interface Seq2seqTask {
  kind: Seq2seqTaskKind;
  /** Source strings have lengths drawn uniformly from [minLength, maxLength]. */
  minLength: number;
  maxLength: number;
  /** Ids 0 … symbols − 1 are the strings' symbols. */
  symbols: number;
}

/** The decoder's start and end symbols: the two ids after the task's symbols. */
export const taskStart = (task: Pick<Seq2seqTask, "symbols">): number => task.symbols;
export const taskEnd = (task: Pick<Seq2seqTask, "symbols">): number => task.symbols + 1;

/** One example of the task from a uniform stream. */
export function seq2seqExample(task: Seq2seqTask, rng: () => number): Seq2seqPair {
  const length = task.minLength + Math.floor(rng() * (task.maxLength - task.minLength + 1));
  const source = Array.from({ length }, () => Math.floor(rng() * task.symbols));
  return { source, target: task.kind === "copy" ? source.slice() : source.slice().reverse() };
}

/** The `batch` examples of update t (1-based). */
export function seq2seqTaskPairs(task: Seq2seqTask, batch: number, seed: number, t: number): Seq2seqPair[] {
  return Array.from({ length: batch }, (_, b) => seq2seqExample(task, streamRng(seed, t, b, 0x5e92)));
}

/** `count` held-out examples; `seed` is kept apart from every training batch's by the caller. */
export function seq2seqTaskHeldOut(task: Seq2seqTask, count: number, seed: number): Seq2seqPair[] {
  const rng = streamRng(seed, 0x4e1d);
  return Array.from({ length: count }, () => seq2seqExample(task, rng));
}
