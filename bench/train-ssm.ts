// Training throughput of the copy experiment's Mamba (scripts/copy-experiment.ts: 3 Mamba-1
// blocks of width 64, expand 2, state 16, conv 4; the spec is repeated here because that script
// runs on import) on the wasm target, with its SSM ops on the float64 reference kernels (as
// before the Wasm SSM kernels, backends/wasm/train/emit-ssm-train.ts) and on the Wasm SSM
// kernels; the experiment's RoPE transformer on wasm for comparison. Whole AdamW steps through
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
import { copyBatch, type CopyTask, minStringLength } from "../src/train/copy-task.ts";
import { bindBatch } from "../src/train/data.ts";
import { initialWeights } from "../src/train/init.ts";
import { referenceKernels, type TrainKernels } from "../src/train/kernels.ts";
import { Trainer, type TrainConfig } from "../src/train/trainer.ts";

const MAMBA = `model copy_mamba {
  dims { vocab = 29, d = 64, layers = 3 }
  input tokens: int[batch, seq]
  embed tokens(vocab, d)
  stack layers × decoder {
    norm rms(eps = 1e-5)
    ssm mamba(state = 16, conv = 4, expand = 2)
  }
  norm rms(eps = 1e-5)
  head tied
}`;
const ROPE = `model copy_rope {
  dims { vocab = 29, d = 64, heads = 8, layers = 2, context = 512 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position rope
  stack layers × decoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, mask = causal)
    norm layer(eps = 1e-5)
    mlp(hidden = 4 * d, act = gelu)
  }
  norm layer(eps = 1e-5)
  head tied
}`;

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

const L = 8;
const task: CopyTask = { kind: "copy", minLength: minStringLength({ kind: "copy", ngram: 3, answerLength: 3 }), maxLength: L, ngram: 3, answerLength: 3 };
const config: TrainConfig = {
  steps: steps + warmup,
  batch,
  seq,
  schedule: "cosine",
  lr: 3e-3,
  warmup: 1,
  minLrRatio: 0.1,
  optimizer: "adamw",
  betas: [0.9, 0.98],
  eps: 1e-8,
  weightDecay: 0.01,
  clip: 1,
  labelSmoothing: 0,
  dropout: 0,
  seed: 1,
};

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
  ["Mamba, wasm, SSM on the reference kernels (before)", MAMBA, true],
  ["Mamba, wasm, SSM on the Wasm kernels (after)", MAMBA, false],
  ["Transformer (RoPE), wasm", ROPE, false],
] as const) {
  const model = checked(spec);
  const kernels = new WasmTrainKernels(undefined, undefined, { threads });
  const ssm = { ms: 0 };
  rows.push({ label, model, ssm, ms: 0, kernels, trainer: new Trainer(model, config, initialWeights(model, 1), undefined, ssmTimed(kernels, ssm, reference)) });
}

const batchAt = (m: ModelInfo, t: number) => {
  const { tokens, targets } = copyBatch(task, batch, seq, 1, t);
  return bindBatch(m, new Map([[m.inputs[0].name, { data: tokens, shape: [batch, seq] }]]), targets);
};
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
