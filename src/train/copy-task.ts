// Synthetic copying tasks of Jelassi, Brandfonbrener, Kakade & Malach 2024 ("Repeat After Me:
// Transformers are Better than State Space Models at Copying", section 4), for decoder-only specs:
//   copy          $ x | x .             the model reads a string x and writes it again
//   ngram-lookup  $ x | k y .           k: an n-gram occurring once in x; y: the tokens after k in x
//                                        (the paper's "suffix key" n-gram lookup)
// x is a uniform string over 26 letters; `$` (BOS), `|` (separator) and `.` (EOS) are the
// paper's own marker tokens. Training windows pack examples back to back, as the paper's
// CopyDataset does; the loss counts only the answer (y or the copied x, and the EOS), and an
// example cut by the window's end counts nowhere. Batch t is a function of (seed, t) (rng.ts).

import { streamRng } from "./rng.ts";

export const LETTERS = 26;
export const BOS = 26;
export const SEP = 27;
export const EOS = 28;
/** Tokens the tasks use: 26 letters, BOS, separator, EOS. A spec's vocab must be at least this. */
export const COPY_VOCAB = 29;
const SYMBOLS: Record<number, string> = { [BOS]: "$", [SEP]: "|", [EOS]: "." };

export const COPY_TASKS = ["copy", "ngram-lookup"] as const;
export type CopyTaskKind = (typeof COPY_TASKS)[number];

export interface CopyTask {
  kind: CopyTaskKind;
  /** Training strings have lengths drawn uniformly from [minLength, maxLength]. */
  minLength: number;
  maxLength: number;
  /** ngram-lookup: the key's length n and the answer's length. */
  ngram: number;
  answerLength: number;
}

/** One example: the prompt the model is given and the answer it must write (EOS not included). */
export interface CopyExample {
  prompt: number[];
  answer: number[];
}

/** Token ids as text: letters a–z and the task's `$ | .` markers. */
export function copyText(ids: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < ids.length; i++) s += ids[i] < LETTERS ? String.fromCharCode(97 + ids[i]) : (SYMBOLS[ids[i]] ?? `<${ids[i]}>`);
  return s;
}

/** The shortest string a task can use: lookup needs a key, an answer after it, and a letter more. */
export function minStringLength(task: Pick<CopyTask, "kind" | "ngram" | "answerLength">): number {
  return task.kind === "copy" ? 1 : task.ngram + task.answerLength + 1;
}

/** Tokens of one example of string length `length`: prompt + answer + EOS. */
export function exampleTokens(e: CopyExample): number[] {
  return [...e.prompt, ...e.answer, EOS];
}

/**
 * An example with a string of `length` letters. Lookup keys are n-grams that occur once in x and
 * leave `answerLength` letters after them; a string with none is drawn again (at most 100 times:
 * over 26 letters a 3-gram is unique with high probability up to a few hundred letters).
 */
export function copyExample(task: CopyTask, length: number, rng: () => number): CopyExample {
  if (!(length >= minStringLength(task))) throw new Error(`${task.kind} needs strings of at least ${minStringLength(task)} letters, got ${length}`);
  for (let attempt = 0; attempt < 100; attempt++) {
    const x = Array.from({ length }, () => Math.floor(rng() * LETTERS));
    if (task.kind === "copy") return { prompt: [BOS, ...x, SEP], answer: x };
    const n = task.ngram;
    const counts = new Map<string, number>();
    for (let p = 0; p + n <= length; p++) {
      const key = x.slice(p, p + n).join(",");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const starts: number[] = [];
    for (let p = 0; p + n + task.answerLength <= length; p++) if (counts.get(x.slice(p, p + n).join(",")) === 1) starts.push(p);
    if (starts.length === 0) continue;
    const p = starts[Math.floor(rng() * starts.length)];
    return { prompt: [BOS, ...x, SEP, ...x.slice(p, p + n)], answer: x.slice(p + n, p + n + task.answerLength) };
  }
  throw new Error(`no ${task.ngram}-gram occurs once in 100 strings of ${length} letters`);
}

/** The longest training example, in tokens: a window must hold at least one. */
export function longestExample(task: CopyTask): number {
  const answer = task.kind === "copy" ? task.maxLength : task.answerLength;
  const key = task.kind === "copy" ? 0 : task.ngram;
  return task.maxLength + key + answer + 3;
}

/**
 * `batch` windows of `seq` input tokens packed with examples, and their next-token targets:
 * target p is token p + 1 where that token is an answer token or the EOS of an example that
 * ends inside the window, else -1 (ignored by the loss). Update t's batch (1-based).
 */
export function copyBatch(task: CopyTask, batch: number, seq: number, seed: number, t: number): { tokens: Int32Array; targets: Int32Array } {
  if (seq + 1 < longestExample(task)) throw new Error(`--seq ${seq} cannot hold one ${task.kind} example of ${task.maxLength} letters (${longestExample(task)} tokens)`);
  const tokens = new Int32Array(batch * seq);
  const targets = new Int32Array(batch * seq).fill(-1);
  for (let b = 0; b < batch; b++) {
    const rng = streamRng(seed, t, b, 0xc0b7);
    // The stream is seq + 1 tokens: inputs are its first seq, targets its last seq.
    const stream: number[] = [];
    const counted: boolean[] = [];
    while (stream.length < seq + 1) {
      const length = task.minLength + Math.floor(rng() * (task.maxLength - task.minLength + 1));
      const e = copyExample(task, length, rng);
      const all = exampleTokens(e);
      const fits = stream.length + all.length <= seq + 1;
      all.forEach((_, i) => counted.push(fits && i >= e.prompt.length));
      stream.push(...all);
    }
    for (let p = 0; p < seq; p++) {
      tokens[b * seq + p] = stream[p];
      if (counted[p + 1]) targets[b * seq + p] = stream[p + 1];
    }
  }
  return { tokens, targets };
}

/**
 * String-level exact match: the generated tokens are the answer followed by EOS. Anything
 * after the EOS is ignored (generation stops there); a missing EOS is a miss.
 */
export function exactMatch(generated: ArrayLike<number>, answer: ArrayLike<number>): boolean {
  if (generated.length < answer.length + 1) return false;
  for (let i = 0; i < answer.length; i++) if (generated[i] !== answer[i]) return false;
  return generated[answer.length] === EOS;
}

/** Held-out examples for evaluation at one string length: seeded apart from every training batch. */
export function evalExamples(task: CopyTask, length: number, count: number, seed: number): CopyExample[] {
  const rng = streamRng(seed, length, 0xe7a1);
  return Array.from({ length: count }, () => copyExample(task, length, rng));
}
