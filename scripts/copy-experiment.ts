// The copying experiment of Jelassi et al. 2024 ("Repeat After Me"), scaled to a shared 2-core
// machine: tiny transformers (RoPE, NoPE, Hard-ALiBi) and a Mamba of about the same parameter
// count, trained from their specs by specformer's trainer on the copy task with strings of at
// most L letters, then tested by greedy decoding on strings up to 10 × L. The models, the task's
// settings and the update rule are src/train/copy-experiment.ts's (bench/train-ssm.ts uses them too).
//
//   npm run copying    # docs/copying.md's two runs (copy, then n-gram lookup): the defaults below
//   npx tsx scripts/copy-experiment.ts [--quick] [--task copy|ngram-lookup] [--target wasm|reference]
//        [--steps N] [--lr LR] [--warmup N] [--batch B] [--seq S] [--max-length L]
//        [--models rope,nope,hard-alibi,mamba] [--out docs/copying] [--resume]
//
// --target picks the kernels of both training (src/train/kernels.ts: matmuls, attention,
// activations and Mamba's conv and selective scan in Wasm SIMD; norms, embeddings, the loss and
// the optimiser on the reference kernels) and evaluation. Writes OUT.json (configuration, per model: parameters, training loss and accuracy
// at L per evaluation, final accuracy per length), OUT-length.svg and OUT-steps.svg after every
// model, and prints the table. --resume keeps the models an earlier run of the same
// configuration left in OUT.json and trains only the others, so a long run can be done a model
// at a time. --quick trains a few steps of a smaller setup: a smoke test, not a result.
// The defaults are docs/copying.md's runs: 6,000 steps, warm-up 100, an evaluation every 500,
// L = 8 for copy and 12 for the lookup (whose strings need at least 7 letters).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createModel } from "../backends/registry.ts";
import { checkSource } from "../src/check/check.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { paramCount } from "../src/model/weights-layout.ts";
import { copyAccuracy } from "../src/train/copy-eval.ts";
import { copyExperimentBatch, copyExperimentConfig, copyExperimentTask, COPY_MODELS } from "../src/train/copy-experiment.ts";
import { COPY_TASKS, type CopyTask, type CopyTaskKind } from "../src/train/copy-task.ts";
import { initialWeights } from "../src/train/init.ts";
import { referenceKernels } from "../src/train/kernels.ts";
import { WasmTrainKernels } from "../backends/wasm/train/kernels.ts";
import { Trainer } from "../src/train/trainer.ts";
import { accuracyPlot } from "./copy-plot.ts";

// ---- options ----------------------------------------------------------------------------------

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function fail(message: string): never {
  process.stderr.write(`copy-experiment: ${message}\n`);
  process.exit(2);
}
function numberOption(name: string, fallback: number, integer = true): number {
  const text = option(name);
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) fail(`--${name} must be a positive ${integer ? "integer" : "number"}, got \`${text}\``);
  return v;
}
const quick = process.argv.includes("--quick");
const kind = (option("task") ?? "copy") as CopyTaskKind;
if (!(COPY_TASKS as readonly string[]).includes(kind)) fail(`--task must be one of ${COPY_TASKS.join(", ")}, got \`${kind}\``);
const target = (option("target") ?? "wasm") as "reference" | "wasm";
if (target !== "reference" && target !== "wasm") fail(`--target must be wasm or reference, got \`${target}\``);
const L = numberOption("max-length", quick ? 6 : kind === "copy" ? 8 : 12);
const steps = numberOption("steps", quick ? 4 : 6000);
const evalEvery = numberOption("eval-every", quick ? 2 : 500);
const evalCount = numberOption("eval-count", quick ? 4 : 50);
const out = option("out") ?? (quick ? "out/copy-quick" : kind === "copy" ? "docs/copying" : "docs/copying-lookup");
const names = (option("models") ?? Object.keys(COPY_MODELS).join(",")).split(",");
for (const n of names) if (!(n in COPY_MODELS)) fail(`unknown model \`${n}\`; known: ${Object.keys(COPY_MODELS).join(", ")}`);
const task = copyExperimentTask(kind, L);
// Training windows hold about four of the longest examples; test lengths reach 10 × L.
const seq = numberOption("seq", quick ? 32 : 8 * L);
const batch = numberOption("batch", quick ? 2 : 8);
const lr = numberOption("lr", 3e-3, false);
const lengths = quick ? [L, 2 * L] : [...new Set([Math.max(task.minLength, L / 2), L, 2 * L, 3 * L, 4 * L, 6 * L, 8 * L, 10 * L].map(Math.round))];
const config = copyExperimentConfig({ steps, batch, seq, lr, warmup: numberOption("warmup", quick ? 1 : 100) });

// ---- the run ----------------------------------------------------------------------------------

interface ModelResult {
  name: string;
  label: string;
  params: number;
  /** Wall time of training and evaluation, and of the training updates alone. */
  seconds: number;
  trainSeconds: number;
  /** Training-window tokens per second of the updates alone (noisy on a shared machine). */
  tokensPerSecond: number;
  losses: Array<{ step: number; loss: number }>;
  /** Accuracy at length L on held-out strings, per evaluation. */
  curve: Array<{ step: number; accuracy: number }>;
  final: Array<{ length: number; accuracy: number; correct: number; total: number }>;
}

function checked(text: string): ModelInfo | string {
  const r = checkSource(text, "copy-experiment.sf");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.entry || errors.length) return errors.map((d) => `${d.code} ${d.message}`).join("; ") || "no model";
  return r.entry;
}

async function accuracyAt(m: ModelInfo, params: Map<string, Float32Array>, ls: number[], count: number, seed: number) {
  const model = await createModel(target, m, params);
  try {
    return await copyAccuracy(model, task, ls, count, seed);
  } finally {
    model.dispose();
  }
}

async function runModel(name: string): Promise<ModelResult | { name: string; skipped: string }> {
  const { label, spec } = COPY_MODELS[name];
  const m = checked(spec);
  if (typeof m === "string") return { name, skipped: `does not check here: ${m}` };
  let trainer: Trainer;
  try {
    const params = initialWeights(m, config.seed);
    trainer = new Trainer(m, config, params, undefined, target === "wasm" ? new WasmTrainKernels() : referenceKernels);
  } catch (e) {
    return { name, skipped: `cannot be trained here: ${(e as Error).message}` };
  }
  const t0 = performance.now();
  const res: ModelResult = { name, label, params: paramCount(m), seconds: 0, trainSeconds: 0, tokensPerSecond: 0, losses: [], curve: [], final: [] };
  process.stderr.write(`${label}: ${res.params.toLocaleString("en-US")} parameters, ${steps} steps of ${batch}×${seq} on ${target} kernels\n`);
  let trainMs = 0;
  for (let t = 1; t <= steps; t++) {
    const b = copyExperimentBatch(m, task, config, t);
    const u0 = performance.now();
    const r = await trainer.update(b);
    trainMs += performance.now() - u0;
    res.losses.push({ step: t, loss: r.loss });
    if (t % evalEvery === 0 || t === steps) {
      const [acc] = await accuracyAt(m, trainer.params, [L], evalCount, 7);
      res.curve.push({ step: t, accuracy: acc.accuracy });
      const secs = (performance.now() - t0) / 1000;
      process.stderr.write(`  step ${t}/${steps}: loss ${r.loss.toFixed(4)}, exact match at length ${L}: ${(100 * acc.accuracy).toFixed(0)}%, ${secs.toFixed(0)} s, ${((t * batch * seq) / (trainMs / 1000)).toFixed(0)} tokens/s\n`);
    }
  }
  res.final = (await accuracyAt(m, trainer.params, lengths, evalCount, 11)).map(({ length, accuracy, correct, total }) => ({ length, accuracy, correct, total }));
  res.seconds = (performance.now() - t0) / 1000;
  res.trainSeconds = trainMs / 1000;
  res.tokensPerSecond = Math.round((steps * batch * seq) / res.trainSeconds);
  process.stderr.write(`  by length: ${res.final.map((f) => `${f.length}: ${(100 * f.accuracy).toFixed(0)}%`).join(", ")} (${res.seconds.toFixed(0)} s)\n`);
  return res;
}

function table(results: ModelResult[]): string {
  const head = `| model | params | ${lengths.map((l) => `L=${l}`).join(" | ")} |`;
  const rule = `|---|---:|${lengths.map(() => "---:").join("|")}|`;
  const rows = results.map((r) => `| ${r.label} | ${r.params.toLocaleString("en-US")} | ${r.final.map((f) => `${(100 * f.accuracy).toFixed(0)}%`).join(" | ")} |`);
  return [head, rule, ...rows].join("\n");
}

const results: ModelResult[] = [];
const skipped: Array<{ name: string; skipped: string }> = [];
// --combine A.json,B.json: the models of earlier runs (e.g. two halves run side by side) in one
// table and one pair of plots; their configurations must agree.
const combine = option("combine");
const parts = combine ? combine.split(",").map((f) => JSON.parse(readFileSync(f, "utf8")) as { task: CopyTask; lengths: number[]; train: unknown; models: ModelResult[]; skipped: typeof skipped }) : [];
for (const p of parts) {
  if (JSON.stringify([p.task, p.lengths, p.train]) !== JSON.stringify([parts[0].task, parts[0].lengths, parts[0].train])) fail("--combine: the runs were configured differently");
  results.push(...p.models);
  skipped.push(...p.skipped);
}
if (parts.length > 0) lengths.splice(0, lengths.length, ...parts[0].lengths);
const train = { ...config, evalEvery, evalCount, target };
// --resume: the models an interrupted (or model-at-a-time) run of this configuration finished;
// all of them stay in OUT.json, so `--models mamba --resume` adds Mamba to the transformers.
if (process.argv.includes("--resume") && parts.length === 0 && existsSync(`${out}.json`)) {
  const earlier = JSON.parse(readFileSync(`${out}.json`, "utf8")) as { task: CopyTask; lengths: number[]; train: unknown; models: ModelResult[] };
  if (JSON.stringify([earlier.task, earlier.lengths, earlier.train]) !== JSON.stringify([task, lengths, train])) fail(`--resume: ${out}.json was written by a run configured differently`);
  results.push(...earlier.models);
  if (results.length) process.stderr.write(`resuming: ${results.map((r) => r.name).join(", ")} already in ${out}.json\n`);
}
const todo = names.filter((n) => !results.some((r) => r.name === n));
for (const name of parts.length > 0 || todo.length === 0 ? [""] : todo) {
  if (name !== "") {
    const r = await runModel(name);
    if ("skipped" in r) {
      skipped.push(r);
      process.stderr.write(`${name}: skipped, ${r.skipped}\n`);
    } else results.push(r);
  }
  // Written after every model, so a long run's finished models survive an interruption.
  mkdirSync(dirname(out), { recursive: true });
  const json = parts.length > 0 ? { ...parts[0], models: results, skipped } : { format: "specformer-copy-experiment/1", task, train, lengths, models: results, skipped };
  writeFileSync(`${out}.json`, JSON.stringify(json, null, 1) + "\n");
  const what = kind === "copy" ? "copy" : "n-gram lookup";
  writeFileSync(`${out}-length.svg`, accuracyPlot(`${what}: exact match by string length (trained on ≤ ${L})`, "string length", results.map((x) => ({ name: x.label, points: x.final.map((f) => ({ x: f.length, y: f.accuracy })) })), { marks: [{ x: L, label: "train L" }] }));
  writeFileSync(`${out}-steps.svg`, accuracyPlot(`${what}: exact match at length ${L} during training`, "training step", results.map((x) => ({ name: x.label, points: x.curve.map((c) => ({ x: c.step, y: c.accuracy })) }))));
}
process.stdout.write(`${table(results)}\n`);
for (const s of skipped) process.stdout.write(`${s.name}: skipped (${s.skipped})\n`);
process.stdout.write(`wrote ${out}.json, ${out}-length.svg, ${out}-steps.svg\n`);
