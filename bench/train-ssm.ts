// Training throughput of the copy experiment's Mamba (src/train/copy-experiment.ts: 3 Mamba-1
// blocks of width 64, expand 2, state 16, conv 4) on the wasm target, with its SSM ops on the
// float64 reference kernels (as before the Wasm SSM kernels, backends/wasm/train/emit-ssm-train.ts)
// and on the Wasm SSM kernels; the experiment's RoPE transformer on wasm for comparison. Whole AdamW steps through
// Trainer on copy-task batches (8 × 64 by default, the experiment's), after warm-up steps per
// trainer (5 by default: binaryen compiles each kernel on first use, and V8 runs a Wasm function
// in its baseline tier until it has been called enough to be optimised — the first ~20 calls of
// a scan kernel measured ~10× slower than later ones); the trainers take their steps in turn so
// a change of load falls on every row alike. Prints wall ms per step, tokens/s and the share of the step in the
// SSM ops (forward and backward, copies in and out included).
//
//   npx tsx bench/train-ssm.ts [--steps N] [--warmup W] [--batch B] [--seq T] [--threads T]

import { WasmTrainKernels } from "../backends/wasm/train/kernels.ts";
import { checkSource } from "../src/check/check.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { copyExperimentBatch, copyExperimentConfig, copyExperimentTask, COPY_MODELS } from "../src/train/copy-experiment.ts";
import { initialWeights } from "../src/train/init.ts";
import { referenceKernels, type TrainKernels } from "../src/train/kernels.ts";
import { Trainer } from "../src/train/trainer.ts";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    process.stderr.write(`train-ssm: --${name} must be a positive integer, got \`${process.argv[i + 1]}\`\n`);
    process.exit(2);
  }
  return v;
}
const steps = option("steps", 10);
const warmup = option("warmup", 5);
const batch = option("batch", 8);
const seq = option("seq", 64);
const threads = option("threads", 1);

function checked(text: string): ModelInfo {
  const r = checkSource(text, "train-ssm.sf");
  if (!r.entry) throw new Error(r.diagnostics.map((d) => `${d.code} ${d.message}`).join("; "));
  return r.entry;
}

/** `k` with every ssm method timed into `spent.ms`, and (with `reference`) run on the reference kernels. */
function ssmTimed(k: TrainKernels, spent: { ms: number }, reference: boolean): TrainKernels {
  const src = reference ? referenceKernels : k;
  const timed =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    async (...a: A): Promise<Awaited<R>> => {
      const t = performance.now();
      try {
        return await fn(...a);
      } finally {
        spent.ms += performance.now() - t;
      }
    };
  return {
    target: k.target,
    linearForward: k.linearForward.bind(k),
    linearBackward: k.linearBackward.bind(k),
    attentionForward: k.attentionForward.bind(k),
    attentionBackward: k.attentionBackward.bind(k),
    activationForward: k.activationForward.bind(k),
    activationGrad: k.activationGrad.bind(k),
    ssmConvForward: timed(src.ssmConvForward.bind(src)),
    ssmConvBackward: timed(src.ssmConvBackward.bind(src)),
    ssmScanForward: timed(src.ssmScanForward.bind(src)),
    ssmScanBackward: timed(src.ssmScanBackward.bind(src)),
  };
}

const task = copyExperimentTask("copy", 8);
// The experiment's rule at this bench's shape, with a one-step warm-up of the rate.
const config = copyExperimentConfig({ steps: steps + warmup, batch, seq, lr: 3e-3, warmup: 1 });

interface Row {
  label: string;
  trainer: Trainer;
  model: ModelInfo;
  ssm: { ms: number };
  ms: number;
  kernels: WasmTrainKernels;
}
const rows: Row[] = [];
for (const [label, spec, reference] of [
  ["Mamba, wasm, SSM on the reference kernels (before)", COPY_MODELS.mamba.spec, true],
  ["Mamba, wasm, SSM on the Wasm kernels (after)", COPY_MODELS.mamba.spec, false],
  ["Transformer (RoPE), wasm", COPY_MODELS.rope.spec, false],
] as const) {
  const model = checked(spec);
  const kernels = new WasmTrainKernels(undefined, undefined, { threads });
  const ssm = { ms: 0 };
  rows.push({ label, model, ssm, ms: 0, kernels, trainer: new Trainer(model, config, initialWeights(model, 1), undefined, ssmTimed(kernels, ssm, reference)) });
}

const batchAt = (m: ModelInfo, t: number) => copyExperimentBatch(m, task, config, t);
for (let t = 1; t <= warmup; t++) for (const r of rows) await r.trainer.update(batchAt(r.model, t));
for (const r of rows) r.ssm.ms = 0;
const losses = new Map<string, number[]>();
for (let t = warmup + 1; t <= warmup + steps; t++) {
  for (const r of rows) {
    const b = batchAt(r.model, t);
    const t0 = performance.now();
    const res = await r.trainer.update(b);
    r.ms += performance.now() - t0;
    losses.set(r.label, [...(losses.get(r.label) ?? []), res.loss]);
  }
}
for (const r of rows) r.kernels.close();

console.log(`${steps} AdamW steps of ${batch} × ${seq} tokens each, ${threads} thread${threads > 1 ? "s" : ""}, after ${warmup} warm-up steps\n`);
console.log("| trainer | ms / step | tokens / s | SSM ops' share |");
console.log("|---|---:|---:|---:|");
for (const r of rows) {
  const ms = r.ms / steps;
  console.log(`| ${r.label} | ${ms.toFixed(0)} | ${Math.round((batch * seq) / (ms / 1000)).toLocaleString("en-US")} | ${r.ssm.ms > 0 ? `${((100 * r.ssm.ms) / r.ms).toFixed(0)}%` : "–"} |`);
}
const [before, after] = rows;
console.log(`\nMamba speed-up: ${(before.ms / after.ms).toFixed(1)}×; losses before / after: ${losses.get(before.label)!.map((l) => l.toFixed(4)).join(", ")} / ${losses.get(after.label)!.map((l) => l.toFixed(4)).join(", ")}`);
