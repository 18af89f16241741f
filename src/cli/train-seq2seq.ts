// `specformer train SEQ2SEQ_SPEC --task copy|reverse` or `--data PAIRS [--separator SEP]`: the
// data of an encoder–decoder run (src/train/seq2seq-*.ts), checked against the spec in two
// stages: readSeq2seq before the run's configuration is known (options, inputs, vocabularies,
// contexts, every line of the pairs file), seq2seqRun once it is (batch, seed, held-out share).
// Evaluations measure exact-match accuracy of greedy decoding on the held-out sequences.

import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createModel } from "../../backends/registry.ts";
import { encoderSection, outputSection, type ModelInfo, type SectionInfo } from "../model/model.ts";
import { planInputs } from "../runtime/inputs.ts";
import { tokenizerFor } from "../runtime/tokenizer.ts";
import type { Batch } from "../train/engine.ts";
import { pairBatch, PairLineError, readPairs, samplePairs, seq2seqLayout, splitPairs, type Seq2seqLayout, type Seq2seqPair } from "../train/seq2seq-data.ts";
import { seq2seqAccuracy, type Seq2seqAccuracy } from "../train/seq2seq-eval.ts";
import { SEQ2SEQ_TASKS, seq2seqTaskHeldOut, seq2seqTaskPairs, taskEnd, taskStart, type Seq2seqTask, type Seq2seqTaskKind } from "../train/seq2seq-task.ts";
import { CliError, EXIT_ERRORS, ioProblem } from "./io.ts";
import { HELD_OUT, size, taskData, type RunData, type TaskCliOptions } from "./train-task.ts";

export interface Seq2seqCliOptions extends TaskCliOptions {
  data?: string;
  separator?: string;
  seq?: string;
}

/** What readSeq2seq found: the data, how the spec takes it, and the decoder's longest input. */
export type Seq2seqPlan = {
  layout: Seq2seqLayout;
  /** Whether the spec's attention over the source skips padded keys. */
  sourceMask: boolean;
  /** The longest decoder input (start symbol + target): the run's `seq`. */
  seq: number;
  describe: string;
} & ({ kind: "task"; task: Seq2seqTask; data: RunData } | { kind: "pairs"; file: string; pairs: Seq2seqPair[]; data: RunData });

/** The data of an encoder–decoder run, bound to its batch size and seed. */
export interface Seq2seqRun {
  data: RunData;
  /** Held-out sequences each evaluation scores (loss and exact match). */
  heldOut: Seq2seqPair[];
  trainBatch(t: number): Batch;
  valBatches(): Batch[];
  accuracy(params: ReadonlyMap<string, Float32Array>): Promise<Seq2seqAccuracy>;
}

const stackAttention = (s: SectionInfo) => s.steps.flatMap((st) => (st.op === "stack" ? st.stack.sublayers : [])).filter((l) => l.kind === "attention");

/** Whether every attention over the source (the encoder's, the decoder's cross-attention) skips keys the mask pads. */
function sourcePadded(m: ModelInfo, mask: string | undefined): boolean {
  if (mask === undefined) return false;
  const overSource = [...stackAttention(encoderSection(m)!).filter((a) => a.source === "self"), ...stackAttention(outputSection(m)).filter((a) => a.source === "cross")];
  return overSource.every((a) => a.padding === mask);
}

function refuse(o: Seq2seqCliOptions, names: Array<[keyof Seq2seqCliOptions, string]>, why: string): void {
  const given = names.find(([k]) => o[k] !== undefined);
  if (given) throw new CliError(`${given[1]} ${why}`);
}

const separatorOf = (s: string | undefined): string => {
  if (s === undefined || s === "TAB" || s === "tab" || s === "\\t") return "\t";
  if (s === "" || /[\r\n]/.test(s)) throw new CliError(`--separator must be a non-empty string without line breaks (or TAB), got ${JSON.stringify(s)}`);
  return s;
};

/** Options, inputs and data of an encoder–decoder run, checked against the spec. */
export function readSeq2seq(m: ModelInfo, o: Seq2seqCliOptions): Seq2seqPlan {
  const which = `model ${m.name} is an encoder–decoder`;
  refuse(o, [["seq", "--seq"]], "does not apply to an encoder–decoder: each batch is padded to its longest pair (the task's is --max-length)");
  refuse(o, [["ngram", "--ngram"], ["answerLength", "--answer-length"]], "belongs to the decoder-only --task ngram-lookup");
  const causal = stackAttention(outputSection(m)).find((a) => a.source === "self" && !a.causal);
  if (causal) throw new CliError(`${which} whose decoder self-attention is bidirectional, so teacher forcing would see the answers`, EXIT_ERRORS);
  const plan = planInputs(m);
  const srcVocab = plan.vocab.get(plan.source!.name)!;
  const vocab = m.head.vocab;
  const srcContext = plan.sourceContext ?? Infinity;
  const context = plan.context ?? Infinity;
  const padded = sourcePadded(m, plan.sourceMask?.name);
  const layoutFor = (start: number, end: number) => {
    try {
      return seq2seqLayout(m, start, end);
    } catch (e) {
      throw new CliError(`${(e as Error).message}; \`train\` feeds only those`, EXIT_ERRORS);
    }
  };

  if (o.task !== undefined) {
    refuse(o, [["separator", "--separator"]], "applies to --data (parallel text), not --task");
    if (!(SEQ2SEQ_TASKS as readonly string[]).includes(o.task)) throw new CliError(`--task must be ${SEQ2SEQ_TASKS.join(" or ")} for an encoder–decoder spec, got \`${o.task}\``);
    const maxLength = size(o.maxLength, "--max-length", 10);
    const minLength = size(o.minLength, "--min-length", padded ? 1 : maxLength);
    if (minLength > maxLength) throw new CliError(`--min-length ${minLength} must be at most --max-length ${maxLength}`);
    if (!padded && minLength !== maxLength) throw new CliError(`${which} whose attention over the source has no padding mask, so one batch cannot hold strings of ${minLength}–${maxLength} symbols; give --min-length = --max-length`, EXIT_ERRORS);
    const symbols = Math.min(vocab - 2, srcVocab);
    if (symbols < 2) throw new CliError(`--task ${o.task} needs vocab >= 4 (2 symbols, a start and an end symbol) and a source vocab >= 2; model ${m.name} has ${vocab} and ${srcVocab}`, EXIT_ERRORS);
    if (maxLength > srcContext) throw new CliError(`--max-length ${maxLength} is past the encoder's context ${srcContext}`, EXIT_ERRORS);
    if (maxLength + 1 > context) throw new CliError(`--max-length ${maxLength}: the decoder reads the start symbol and ${maxLength} symbols, past its context ${context}`, EXIT_ERRORS);
    const task: Seq2seqTask = { kind: o.task as Seq2seqTaskKind, minLength, maxLength, symbols };
    return {
      kind: "task",
      task,
      layout: layoutFor(taskStart(task), taskEnd(task)),
      sourceMask: padded,
      seq: maxLength + 1,
      data: taskData(task),
      describe: `the ${task.kind} task (encoder–decoder), strings of ${minLength === maxLength ? minLength : `${minLength}–${maxLength}`} over ${symbols} symbols`,
    };
  }

  refuse(o, [["maxLength", "--max-length"], ["minLength", "--min-length"]], "applies to --task, not --data");
  const file = o.data!;
  const separator = separatorOf(o.separator);
  let tokenizer;
  try {
    tokenizer = tokenizerFor(m);
  } catch (e) {
    const why = (e as Error).message.replace(/; pass token ids with --tokens$/, "").replace(/^model \S+ /, "");
    throw new CliError(`${which} and ${why}; \`train --data\` reads pairs through the spec's tokenizer`, EXIT_ERRORS);
  }
  if (tokenizer.eot === undefined) throw new CliError(`${which} of vocab ${vocab}: \`train --data\` needs vocab 257, whose end-of-text id is the decoder's start and end symbol`, EXIT_ERRORS);
  if (srcVocab < tokenizer.vocab - 1) throw new CliError(`${which} whose encoder embeds ${srcVocab} ids; the byte tokenizer writes ids up to 255`, EXIT_ERRORS);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new CliError(`cannot read data ${file}: ${ioProblem(e)}`);
  }
  let pairs;
  try {
    pairs = readPairs(bytes, separator, (s) => tokenizer.encode(s));
  } catch (e) {
    if (e instanceof PairLineError) throw new CliError(`${file} ${e.message}`, EXIT_ERRORS);
    throw e;
  }
  if (pairs.length === 0) throw new CliError(`${file} holds no pairs`, EXIT_ERRORS);
  for (const p of pairs) {
    if (p.source.length > srcContext) throw new CliError(`${file} line ${p.line}: the source is ${p.source.length} tokens, past the encoder's context ${srcContext}`, EXIT_ERRORS);
    if (p.target.length + 1 > context) throw new CliError(`${file} line ${p.line}: the target is ${p.target.length} tokens and the start symbol, past the decoder's context ${context}`, EXIT_ERRORS);
    if (!padded && p.source.length !== pairs[0].source.length) {
      throw new CliError(`${file} line ${p.line}: the source is ${p.source.length} tokens, line ${pairs[0].line}'s ${pairs[0].source.length}; ${m.name}'s attention over the source has no padding mask, so all sources must have one length`, EXIT_ERRORS);
    }
  }
  const sha256 = createHash("sha256").update(`separator ${JSON.stringify(separator)}\n`).update(bytes).digest("hex");
  return {
    kind: "pairs",
    file,
    pairs,
    layout: layoutFor(tokenizer.eot, tokenizer.eot),
    sourceMask: padded,
    seq: Math.max(...pairs.map((p) => p.target.length)) + 1,
    data: { file, bytes: bytes.length, sha256, trainTokens: 0, valTokens: 0, documents: { train: 0, val: 0 } },
    describe: `${file}: ${pairs.length.toLocaleString("en-US")} pairs`,
  };
}

/** Targets the loss counts: each target and its end symbol. */
const counted = (pairs: readonly Seq2seqPair[]) => pairs.reduce((n, p) => n + p.target.length + 1, 0);

/** The run's batches and evaluation: update t's batch a function of (seed, t), held-out sequences apart from training. */
export function seq2seqRun(m: ModelInfo, plan: Seq2seqPlan, o: { batch: number; seed: number; valFraction: number; evalCount: number }): Seq2seqRun {
  const batchOf = (pairs: readonly Seq2seqPair[]) => pairBatch(m, plan.layout, pairs);
  let data = plan.data;
  let heldOut: Seq2seqPair[];
  let trainBatch: (t: number) => Batch;
  if (plan.kind === "task") {
    heldOut = seq2seqTaskHeldOut(plan.task, o.evalCount, o.seed + HELD_OUT);
    trainBatch = (t) => batchOf(seq2seqTaskPairs(plan.task, o.batch, o.seed, t));
  } else {
    const split = splitPairs(plan.pairs, o.valFraction); // --val-fraction <= 0.5 leaves a training pair
    heldOut = split.val.slice(0, o.evalCount);
    data = { ...data, trainTokens: counted(split.train), valTokens: counted(split.val), documents: { train: split.train.length, val: split.val.length } };
    trainBatch = (t) => batchOf(samplePairs(split.train, o.batch, o.seed, t));
  }
  const symbols = { start: plan.layout.start, end: plan.layout.end, sourceMask: plan.sourceMask };
  return {
    data,
    heldOut,
    trainBatch,
    valBatches: () => {
      const out: Batch[] = [];
      for (let i = 0; i < heldOut.length; i += o.batch) out.push(batchOf(heldOut.slice(i, i + o.batch)));
      return out;
    },
    accuracy: async (params) => {
      const model = await createModel("reference", m, params);
      try {
        return await seq2seqAccuracy(model, heldOut, symbols);
      } finally {
        model.dispose();
      }
    },
  };
}
