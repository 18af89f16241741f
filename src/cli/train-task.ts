// `specformer train SPEC --task copy|ngram-lookup`: the built-in copying tasks of Jelassi et al.
// 2024 (src/train/copy-task.ts) as training data, in place of --data. Training windows are
// copyBatch(seed, t); the held-out windows use another seed, so no held-out window is a training
// one; each evaluation also measures exact-match accuracy of greedy decoding at the longest
// training length, and the run ends with accuracy at 1, 2 and 4 × that length (copy-eval.ts).
// On an encoder–decoder spec --task is the Annotated Transformer's copy|reverse (train-seq2seq.ts).

import { createHash } from "node:crypto";
import { createModel } from "../../backends/registry.ts";
import type { ModelInfo } from "../model/model.ts";
import { outputSection } from "../model/model.ts";
import { copyAccuracy, type LengthAccuracy } from "../train/copy-eval.ts";
import { COPY_TASKS, COPY_VOCAB, copyBatch, type CopyTask, type CopyTaskKind, longestExample, minStringLength } from "../train/copy-task.ts";
import { CliError, EXIT_ERRORS } from "./io.ts";

export interface TaskCliOptions {
  task?: string;
  maxLength?: string;
  minLength?: string;
  ngram?: string;
  answerLength?: string;
}

/** A seed apart from every training batch's (copyBatch keys its stream by (seed, t, row)). */
export const HELD_OUT = 0x7fff0000;

export function size(v: string | undefined, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 100000) throw new CliError(`${what} must be an integer in [1, 100000], got \`${v}\``);
  return Number(v);
}

/** The task of the options, checked against the model: vocab, context, a decoder-only stack. */
export function readTask(m: ModelInfo, o: TaskCliOptions): CopyTask {
  if (!(COPY_TASKS as readonly string[]).includes(o.task!)) {
    throw new CliError(`--task must be one of ${COPY_TASKS.join(", ")}, got \`${o.task}\`${o.task === "reverse" ? ` (reverse is for encoder–decoder specs; ${m.name} is decoder-only)` : ""}`);
  }
  const kind = o.task as CopyTaskKind;
  const ngram = size(o.ngram, "--ngram", 3);
  const answerLength = size(o.answerLength, "--answer-length", 3);
  const maxLength = size(o.maxLength, "--max-length", 20);
  const floor = minStringLength({ kind, ngram, answerLength });
  const minLength = size(o.minLength, "--min-length", floor);
  if (minLength < floor || minLength > maxLength) throw new CliError(`--min-length ${minLength} must be in [${floor}, --max-length ${maxLength}] for ${kind}`);
  const out = outputSection(m);
  if (m.head.vocab < COPY_VOCAB) throw new CliError(`--task ${kind} uses ${COPY_VOCAB} tokens (26 letters, BOS, separator, EOS); model ${m.name} has vocab ${m.head.vocab}`, EXIT_ERRORS);
  const task = { kind, minLength, maxLength, ngram, answerLength };
  if (out.maxSeq !== undefined && out.maxSeq < longestExample(task)) throw new CliError(`--max-length ${maxLength}: one example is ${longestExample(task)} tokens, past the model's context ${out.maxSeq}`, EXIT_ERRORS);
  return task;
}

/** What a run's log records as its data. */
export interface RunData {
  file: string;
  bytes: number;
  sha256: string;
  trainTokens: number;
  valTokens: number;
  documents: { train: number; val: number };
}

/** What the log and checkpoint record as the run's data: the task, hashed so --resume can compare. */
export function taskData(task: object): RunData {
  const text = JSON.stringify(task);
  return { file: `task:${text}`, bytes: 0, sha256: createHash("sha256").update(text).digest("hex"), trainTokens: 0, valTokens: 0, documents: { train: 0, val: 0 } };
}

export const taskTrainWindows = (task: CopyTask, batch: number, seq: number, seed: number, t: number) => copyBatch(task, batch, seq, seed, t);

/** `count` held-out windows, in batches of `batch`. */
export function taskValWindows(task: CopyTask, batch: number, seq: number, seed: number, count: number): Array<{ tokens: Int32Array; targets: Int32Array; rows: number }> {
  const out = [];
  for (let k = 0; k * batch < count; k++) {
    const rows = Math.min(batch, count - k * batch);
    out.push({ ...copyBatch(task, rows, seq, seed + HELD_OUT, k + 1), rows });
  }
  return out;
}

/** Exact-match accuracy at the given string lengths on `count` held-out strings each, on the reference backend. */
export async function taskAccuracy(m: ModelInfo, params: Map<string, Float32Array>, task: CopyTask, lengths: number[], count: number, seed: number): Promise<LengthAccuracy[]> {
  const context = outputSection(m).maxSeq;
  const fits = lengths.filter((l) => context === undefined || longestExample({ ...task, maxLength: l }) <= context);
  const model = await createModel("reference", m, params);
  try {
    return await copyAccuracy(model, task, fits, count, seed + HELD_OUT);
  } finally {
    model.dispose();
  }
}
