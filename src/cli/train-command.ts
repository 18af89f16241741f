// `specformer train SPEC --data FILE --steps N --out W.safetensors …`: trains a byte-level
// language model from its spec on the reference, wasm or webgpu training kernels (src/train). Writes, next to --out:
//   W.safetensors        the final weights (F32, native names: `run --weights W` loads them)
//   W.log.json           configuration, data, every step's loss / rate / gradient norm, the evaluations
//   W.loss.svg           the loss curve
//   W.ckpt.safetensors   parameters + Adam state + step + log, at every evaluation and at the end;
//                        `--resume W.ckpt.safetensors` continues it exactly
// Options left out take the recipe defaults below; on --resume they come from the checkpoint,
// and an option given that disagrees with it is a usage error (the run would not be the same run).

import { recipeDefaults } from "../train/recipe.ts";
import { WasmTrainKernels } from "../../backends/wasm/train/kernels.ts";
import { referenceKernels } from "../train/kernels.ts";
import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { ModelInfo } from "../model/model.ts";
import { outputSection } from "../model/model.ts";
import { paramCount, weightLayout } from "../model/weights-layout.ts";
import { writeSafetensors } from "../runtime/safetensors.ts";
import { tokenizerFor } from "../runtime/tokenizer.ts";
import { readCheckpoint, writeCheckpoint } from "../train/checkpoint.ts";
import { bindBatch, byteCorpus, evalStarts, trainStarts, windows } from "../train/data.ts";
import type { Batch } from "../train/engine.ts";
import { initialWeights } from "../train/init.ts";
import { lossCurveSvg } from "../train/svg.ts";
import { Trainer, type TrainConfig } from "../train/trainer.ts";
import { CliError, EXIT_ERRORS, EXIT_OK, ioProblem, stderrIsTTY, useColor } from "./io.ts";
import { loadModel, loadWeights } from "./load-model.ts";
import type { LengthAccuracy } from "../train/copy-eval.ts";
import { readTask, taskAccuracy, taskData, taskTrainWindows, taskValWindows } from "./train-task.ts";
import { readSeq2seq, seq2seqRun } from "./train-seq2seq.ts";
import { OPTION_NAME, given, int, real, type TrainCliOptions } from "./train-options.ts";
import type { Seq2seqAccuracy } from "../train/seq2seq-eval.ts";

export interface TrainLog {
  format: "specformer-train-log/1";
  model: string;
  spec: string;
  target: "reference" | "wasm" | "webgpu";
  params: number;
  data: { file: string; bytes: number; sha256: string; trainTokens: number; valTokens: number; documents: { train: number; val: number } };
  config: TrainConfig;
  evalWindows: number;
  steps: Array<{ step: number; loss: number; lr: number; gradNorm: number; seconds: number }>;
  /** accuracy: --task runs, exact match of greedy decoding at the longest training length; encoder–decoders, on the held-out sequences. */
  evals: Array<{ step: number; valLoss: number; seconds: number; accuracy?: number }>;
  resumedAt: number[];
  final?: { step: number; valLoss: number; seconds: number; tokensPerSecond: number; accuracy?: LengthAccuracy[] };
}

// ---- files ------------------------------------------------------------------------------------

function stem(out: string): string {
  return out.endsWith(".safetensors") ? out.slice(0, -".safetensors".length) : out;
}

/** Writes through a temporary file and a rename, so an interrupted run never leaves half a file. */
function writeAtomically(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    throw new CliError(`cannot write ${path}: ${ioProblem(e)}`);
  }
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(`cannot read ${what} ${path}: ${ioProblem(e)}`);
  }
}

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return "?";
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, "0")}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, "0")}m`;
};

// ---- the command ------------------------------------------------------------------------------

export async function runTrain(file: string, o: TrainCliOptions): Promise<number> {
  const target = o.target ?? "reference";
  if (target !== "reference" && target !== "wasm" && target !== "webgpu") throw new CliError(`--target must be reference, wasm or webgpu, got \`${target}\``);
  const threads = int(o.threads, "--threads", 1) ?? 1;
  if (o.threads !== undefined && target !== "wasm") throw new CliError(`--threads is for --target wasm (got --target ${target})`);
  if (threads > 16) throw new CliError(`--threads is at most 16, got ${threads}`);
  const asked = given(o);
  const m = loadModel(file, { ...(o.model !== undefined ? { model: o.model } : {}), color: useColor(o.color) });
  const encdec = m.sections.some((s) => s.role === "encoder");
  if ((o.data === undefined) === (o.task === undefined)) throw new CliError(o.data === undefined ? `train needs --data FILE or --task ${encdec ? "copy|reverse" : "copy|ngram-lookup"}` : "--data and --task exclude each other");
  if (!encdec && o.separator !== undefined) throw new CliError(`--separator applies to an encoder–decoder's parallel text; ${m.name} is decoder-only`);
  // An encoder–decoder's data (train-seq2seq.ts): the Annotated Transformer's tasks, or pairs.
  const s2sPlan = encdec ? readSeq2seq(m, o) : undefined;
  const task = o.task !== undefined && !encdec ? readTask(m, o) : undefined;
  let tokenizer;
  if (!task && !encdec) {
    try {
      tokenizer = tokenizerFor(m);
    } catch (e) {
      throw new CliError(`${(e as Error).message.replace(/; pass token ids with --tokens$/, "")}; \`train --data\` reads text through the spec's byte tokenizer`, EXIT_ERRORS);
    }
  }

  // The configuration: the checkpoint's on --resume, else the options over the defaults.
  let resumed: ReturnType<typeof readCheckpoint> | undefined;
  let config: TrainConfig;
  if (o.resume !== undefined) {
    if (o.weights !== undefined) throw new CliError("--resume and --weights exclude each other (a checkpoint holds its weights)");
    try {
      resumed = readCheckpoint(m, readBytes(o.resume, "checkpoint"));
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(`checkpoint ${o.resume}: ${(e as Error).message}`, EXIT_ERRORS);
    }
    config = { ...resumed.meta.config };
    for (const [k, v] of Object.entries(asked) as Array<[keyof TrainConfig, unknown]>) {
      if (k === "steps") continue;
      if (JSON.stringify(v) !== JSON.stringify(config[k])) {
        throw new CliError(`${OPTION_NAME[k]} ${Array.isArray(v) ? v.join(",") : v} differs from the checkpoint's ${Array.isArray(config[k]) ? (config[k] as number[]).join(",") : config[k]}; a resumed run keeps its configuration (leave the option out)`);
      }
    }
    config.steps = asked.steps!;
    if (config.steps <= resumed.meta.step) throw new CliError(`--steps ${config.steps}: the checkpoint is already at step ${resumed.meta.step}`);
  } else {
    config = recipeDefaults(m, asked); // --steps is required, so the cosine recipe
  }
  if (s2sPlan) config.seq = s2sPlan.seq;
  const context = outputSection(m).maxSeq;
  if (context !== undefined && config.seq > context) throw new CliError(`--seq ${config.seq} exceeds the model's context ${context}`);
  const evalWindows = int(o.evalWindows, "--eval-windows", 0) ?? 32;
  const evalEvery = int(o.evalEvery, "--eval-every", 1) ?? Math.max(1, Math.round(config.steps / 10));
  const valFraction = real(o.valFraction, "--val-fraction", 0, 0.5) ?? 0.05;
  const s2s = s2sPlan && seq2seqRun(m, s2sPlan, { batch: config.batch, seed: config.seed, valFraction, evalCount: evalWindows });

  // The data: a text file's bytes, or a copying task's generated windows.
  const dataName = o.data ?? `--task ${o.task}`;
  const raw = task || s2s ? new Uint8Array(0) : readBytes(o.data!, "data");
  const sha256 = task ? taskData(task).sha256 : s2s ? s2s.data.sha256 : createHash("sha256").update(raw).digest("hex");
  if (resumed && resumed.meta.data.sha256 !== sha256) {
    throw new CliError(`${dataName} is not the data the checkpoint was trained on (SHA-256 ${sha256.slice(0, 12)}…, the checkpoint's ${resumed.meta.data.sha256.slice(0, 12)}…)`, EXIT_ERRORS);
  }
  if (o.valData !== undefined && (task || s2s)) throw new CliError("--val-data applies to --data text of a decoder-only model");
  if (o.valData !== undefined && o.valFraction !== undefined) throw new CliError("--val-data and --val-fraction exclude each other");
  const corpus = task || s2s ? { train: new Int32Array(0), val: new Int32Array(0), documents: { train: 0, val: 0 }, bytes: 0 } : byteCorpus(raw, tokenizer!.vocab, o.valData !== undefined ? 0 : valFraction);
  if (o.valData !== undefined) {
    // A held-out file of its own (e.g. another run's split): every document of it, in order.
    const held = byteCorpus(readBytes(o.valData, "validation data"), tokenizer!.vocab, 0);
    if (held.train.length < config.seq + 1) throw new CliError(`${o.valData} gives ${held.train.length} tokens, fewer than --seq + 1 = ${config.seq + 1}`, EXIT_ERRORS);
    corpus.val = held.train;
    corpus.documents.val = held.documents.train;
  }
  if (!task && !s2s && corpus.train.length < config.seq + 1) {
    throw new CliError(`${o.data} gives ${corpus.train.length} training tokens, fewer than --seq + 1 = ${config.seq + 1}`, EXIT_ERRORS);
  }
  if (task) {
    try {
      taskTrainWindows(task, 1, config.seq, config.seed, 1);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
  }

  // The model's inputs: the tokens, and all-ones for a padding mask over them.
  const out = outputSection(m);
  const others = m.inputs.filter((i) => i.name !== out.input);
  const unsupported = others.find((i) => i.dtype !== "bool");
  if (unsupported && !s2s) throw new CliError(`model ${m.name} takes input "${unsupported.name}" besides its tokens; \`train --data\` feeds tokens (and padding masks) only`, EXIT_ERRORS);
  const asBatch = ({ tokens, targets }: { tokens: Int32Array; targets: Int32Array }, rows: number): Batch => {
    const shape = [rows, config.seq];
    const inputs = new Map<string, { data: Int32Array | Uint8Array; shape: number[] }>([[out.input, { data: tokens, shape }]]);
    for (const i of others) inputs.set(i.name, { data: new Uint8Array(tokens.length).fill(1), shape });
    return bindBatch(m, inputs, targets);
  };
  const batchOf = (starts: number[], stream: Int32Array): Batch => asBatch(windows(stream, starts, config.seq), starts.length);
  const trainBatch = (t: number): Batch => (s2s ? s2s.trainBatch(t) : task ? asBatch(taskTrainWindows(task, config.batch, config.seq, config.seed, t), config.batch) : batchOf(trainStarts(corpus.train.length, config.batch, config.seq, config.seed, t), corpus.train));

  // The parameters.
  let params: Map<string, Float32Array>;
  if (resumed) params = resumed.params;
  else if (o.weights !== undefined) params = new Map([...(await loadWeights(m, o.weights, o.map ? { map: o.map } : {}))].map(([k, v]) => [k, Float32Array.from(v)]));
  else params = initialWeights(m, config.seed);
  const wasmKernels = target === "wasm" ? new WasmTrainKernels(undefined, undefined, { threads }) : undefined;
  // webgpu: no adapter is one line (BackendUnavailableError, exit 1); dispose() at the end frees the device.
  const gpuKernels = target === "webgpu" ? await (await import("../../backends/wgsl/train/kernels.ts")).createWebGpuTrainKernels() : undefined;
  const trainer = new Trainer(m, config, params, resumed?.state, wasmKernels ?? gpuKernels ?? referenceKernels);
  const bidirectional = trainer.program.forward.nodes.find((n) => (n.op === "attention" || n.op === "linear_attention") && n.source === "self" && !n.causal);
  if (bidirectional && !s2s) {
    throw new CliError(`model ${m.name} has bidirectional attention ("${bidirectional.op === "attention" || bidirectional.op === "linear_attention" ? bidirectional.cache : ""}"), so next-token training would see the answers; masked-LM training is not built`, EXIT_ERRORS);
  }

  const starts = s2s ? s2s.heldOut.map((_, i) => i) : task ? Array.from({ length: evalWindows }, (_, i) => i) : evalStarts(corpus.val.length, config.seq, evalWindows);
  const valBatches = (): Batch[] => {
    if (s2s) return s2s.valBatches();
    if (task) return taskValWindows(task, config.batch, config.seq, config.seed, evalWindows).map((w) => asBatch(w, w.rows));
    const out: Batch[] = [];
    for (let i = 0; i < starts.length; i += config.batch) out.push(batchOf(starts.slice(i, i + config.batch), corpus.val));
    return out;
  };

  const log: TrainLog =
    (resumed?.meta.log as TrainLog | undefined) ??
    ({
      format: "specformer-train-log/1",
      model: m.name,
      spec: file,
      target,
      params: paramCount(m),
      data: s2s ? s2s.data : task ? taskData(task) : { file: o.data!, bytes: raw.length, sha256, trainTokens: corpus.train.length, valTokens: corpus.val.length, documents: corpus.documents },
      config,
      evalWindows,
      steps: [],
      evals: [],
      resumedAt: [],
    } satisfies TrainLog);
  if (resumed) {
    log.resumedAt.push(resumed.meta.step);
    log.config = config;
    delete log.final;
  }
  const base = stem(o.out);
  const files = { weights: o.out, log: `${base}.log.json`, svg: `${base}.loss.svg`, ckpt: `${base}.ckpt.safetensors` };
  const offset = log.steps.at(-1)?.seconds ?? 0;
  const t0 = performance.now();
  const elapsed = () => offset + (performance.now() - t0) / 1000;
  const tty = stderrIsTTY();

  const say = (line: string) => process.stderr.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  say(
    `train ${m.name} (${paramCount(m).toLocaleString("en-US")} parameters) on ${s2s ? s2sPlan!.describe : task ? `the ${task.kind} task, strings of ${task.minLength}–${task.maxLength} letters` : `${o.data}: ${corpus.train.length.toLocaleString("en-US")} training / ${corpus.val.length.toLocaleString("en-US")} held-out tokens`}; ` +
      `${config.steps} steps of ${config.batch}×${config.seq}, ${config.optimizer} ${config.schedule} lr ${config.lr} warmup ${config.warmup}, ${target === "wasm" ? `wasm${threads > 1 ? ` (${threads} threads)` : ""}` : target === "webgpu" ? `webgpu (${gpuKernels!.adapterName})` : "reference"} kernels` +
      (resumed ? `; resumed at step ${resumed.meta.step}` : ""),
  );

  const writeOutputs = (final: boolean) => {
    const svg = lossCurveSvg(
      `${m.name}: loss per step (train) and on ${starts.length} held-out windows`,
      log.steps.map((s) => ({ step: s.step, loss: s.loss })),
      log.evals.map((e) => ({ step: e.step, loss: e.valLoss })),
      config.steps,
    );
    writeAtomically(files.svg, svg);
    writeAtomically(files.log, JSON.stringify(log, null, 1) + "\n");
    writeAtomically(files.ckpt, writeCheckpoint(m, trainer.params, trainer.state, { model: m.name, step: trainer.step, config, data: { file: log.data.file, bytes: raw.length, sha256 }, log }));
    if (final) {
      const tensors = weightLayout(m).map((t) => ({ name: t.name, dtype: "F32" as const, shape: t.shape, data: trainer.params.get(t.name)! }));
      writeAtomically(files.weights, writeSafetensors(tensors, { model: m.name, trained_by: "specformer train", steps: String(trainer.step) }));
    }
  };

  let lastAccuracy = "";
  let lastExact: Seq2seqAccuracy | undefined;
  const evaluate = async () => {
    if (starts.length === 0) return NaN;
    const t = performance.now();
    const v = await trainer.evaluate(valBatches());
    const exact = s2s ? (lastExact = await s2s.accuracy(trainer.params)) : undefined;
    if (exact) lastAccuracy = `, exact match ${exact.correct}/${exact.total} (${(100 * exact.accuracy).toFixed(1)}%)`;
    const accuracy = exact ? exact.accuracy : task ? (await taskAccuracy(m, trainer.params, task, [task.maxLength], evalWindows, config.seed))[0]?.accuracy : undefined;
    if (accuracy !== undefined && task) lastAccuracy = `, exact match at ${task!.maxLength} letters ${(100 * accuracy).toFixed(1)}%`;
    log.evals.push({ step: trainer.step, valLoss: v, seconds: elapsed(), ...(accuracy !== undefined ? { accuracy } : {}) });
    evalSeconds += (performance.now() - t) / 1000;
    return v;
  };
  let evalSeconds = 0;
  let recent: number[] = [];
  let rate = NaN; // tokens per second of training steps, excluding evaluation
  const stepTokens = config.batch * config.seq;
  const first = trainer.step;
  const trainStart = performance.now();
  let lastVal = log.evals.at(-1)?.valLoss ?? NaN;
  if (starts.length === 0 && s2s) say("no held-out sequences: no evaluations");
  else if (starts.length === 0) say(`no held-out text (${corpus.documents.val} held-out documents, ${corpus.val.length} tokens; need ${config.seq + 1}): no evaluations`);
  if (!resumed && starts.length > 0) {
    lastVal = await evaluate();
    say(`step 0/${config.steps}: val ${lastVal.toFixed(4)} nats${lastAccuracy}`);
  }
  // Ctrl-C (or SIGTERM) ends the run after the current step, with a checkpoint to resume from.
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = sig;
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    while (trainer.step < config.steps) {
      await new Promise((resolve) => setImmediate(resolve)); // lets a signal in between steps
      if (interrupted) {
        writeOutputs(false);
        say(`interrupted at step ${trainer.step}/${config.steps}: wrote ${files.ckpt}; continue with --resume ${files.ckpt} --steps ${config.steps}`);
        wasmKernels?.close();
        gpuKernels?.dispose();
        return interrupted === "SIGINT" ? 130 : 143;
      }
      const t = trainer.step + 1;
      const r = await trainer.update(trainBatch(t));
      log.steps.push({ step: r.step, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, seconds: elapsed() });
      recent.push(r.loss);
      const trainSeconds = (performance.now() - trainStart) / 1000 - evalSeconds;
      rate = ((trainer.step - first) * stepTokens) / Math.max(trainSeconds, 1e-9);
      const eta = ((config.steps - trainer.step) * stepTokens) / rate;
      const progress = `step ${r.step}/${config.steps}  loss ${r.loss.toFixed(4)}  val ${Number.isFinite(lastVal) ? lastVal.toFixed(4) : "-"}  lr ${r.lr.toExponential(2)}  ${Math.round(rate).toLocaleString("en-US")} tokens/s  ETA ${fmtTime(eta)}`;
      if (tty) process.stderr.write(`\r\x1b[2K${progress}`);
      if (r.step % evalEvery === 0 || r.step === config.steps) {
        lastVal = await evaluate();
        const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
        recent = [];
        say(`step ${r.step}/${config.steps}: train ${mean.toFixed(4)} (mean since the last evaluation), val ${Number.isFinite(lastVal) ? lastVal.toFixed(4) : "-"} nats${lastAccuracy}, lr ${r.lr.toExponential(2)}, ${Math.round(rate).toLocaleString("en-US")} tokens/s, ${fmtTime(elapsed())} elapsed, ETA ${fmtTime(eta)}`);
        if (r.step !== config.steps) writeOutputs(false);
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  log.final = { step: trainer.step, valLoss: lastVal, seconds: elapsed(), tokensPerSecond: rate };
  if (lastExact) {
    log.final.accuracy = lastExact.byLength; // the evaluation at the last step
    say(`exact match of greedy decoding on ${starts.length} held-out sequences, by target length: ${log.final.accuracy.map((a) => `${a.length} ${a.correct}/${a.total}`).join(", ")}`);
  }
  if (task) {
    const L = task.maxLength;
    log.final.accuracy = await taskAccuracy(m, trainer.params, task, [L, 2 * L, 4 * L], evalWindows, config.seed);
    say(`exact match of greedy decoding: ${log.final.accuracy.map((a) => `${a.length} letters ${a.correct}/${a.total}`).join(", ")}`);
  }
  writeOutputs(true);
  wasmKernels?.close();
  gpuKernels?.dispose();
  say(`done: ${trainer.step} steps in ${fmtTime(elapsed())}, val ${Number.isFinite(lastVal) ? lastVal.toFixed(4) : "-"} nats (${Number.isFinite(lastVal) ? (lastVal / Math.LN2).toFixed(3) : "-"} bits/token); wrote ${files.weights}, ${files.log}, ${files.svg}, ${files.ckpt}`);
  return EXIT_OK;
}
