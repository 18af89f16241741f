// Training throughput: tokens per second of whole AdamW steps (forward, backward, clipping,
// update) of a spec on the reference and wasm training targets, one thread, next to PyTorch on
// the CPU of the same machine in the same sitting (bench/train-torch.py, the demo recipe's
// model written independently in scripts/train-demo.py). Default: specs/demo-fortune.sf at the
// demo recipe's batch (8 × 256 tokens).
//
//   npx tsx bench/train.ts [--spec S] [--batch B] [--seq T] [--steps N] [--no-reference] [--no-torch]
//
// PyTorch's row needs python3-torch with a tuned BLAS behind libblas.so.3 (Debian's
// libopenblas0-pthread; with the reference BLAS torch's matmuls run ~25× slower); the row
// names the library torch loaded.
// Re-runs itself with Node 20's --experimental-wasm-relaxed-simd. Times are this process's CPU
// time (process.cpuUsage), so other load on the machine mostly cancels; PyTorch's are its
// process CPU time too (time.process_time, one thread). Each row also gives the share of the
// step spent in the target's kernels (matmuls, attention, activations; copies in and out
// included); the rest (norms, embeddings, the loss, the optimiser) runs the reference kernels.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { WasmTrainKernels } from "../backends/wasm/train/kernels.ts";
import { checkFile } from "../src/check/check.ts";
import { bindBatch } from "../src/train/data.ts";
import { initialWeights } from "../src/train/init.ts";
import { referenceKernels, type TrainKernels } from "../src/train/kernels.ts";
import { Trainer, type TrainConfig } from "../src/train/trainer.ts";
import { outputSection } from "../src/model/model.ts";

const CHILD = "SPECFORMER_TRAIN_BENCH_CHILD";
const FLAG = "--experimental-wasm-relaxed-simd";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const has = (name: string) => process.argv.includes(name);

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** TrainKernels that add the CPU time of every call to `spent` (in all, and by kernel). */
function timed(k: TrainKernels, spent: { ms: number; by: Map<string, number> }): TrainKernels {
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    (...a: A): R => {
      const t = cpuMs();
      try {
        return fn(...a);
      } finally {
        const dt = cpuMs() - t;
        spent.ms += dt;
        spent.by.set(fn.name, (spent.by.get(fn.name) ?? 0) + dt);
      }
    };
  return {
    target: k.target,
    linearForward: wrap(k.linearForward.bind(k)),
    linearBackward: wrap(k.linearBackward.bind(k)),
    attentionForward: wrap(k.attentionForward.bind(k)),
    attentionBackward: wrap(k.attentionBackward.bind(k)),
    activationForward: wrap(k.activationForward.bind(k)),
    activationGrad: wrap(k.activationGrad.bind(k)),
  };
}

interface Row {
  target: string;
  msPerStep: number;
  tokensPerS: number;
  kernelShare?: number;
  /** ms per step in each kernel. */
  byKernel?: Map<string, number>;
}

async function benchTarget(specPath: string, kernels: TrainKernels, batch: number, seq: number, steps: number): Promise<Row> {
  const m = checkFile(specPath).entry;
  if (!m) throw new Error(`${specPath} does not check`);
  const config: TrainConfig = {
    steps: 2000, batch, seq, schedule: "cosine", lr: 3e-3, warmup: 100, minLrRatio: 0.1, optimizer: "adamw",
    betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1, labelSmoothing: 0, dropout: 0, seed: 1,
  };
  const spent = { ms: 0, by: new Map<string, number>() };
  const trainer = new Trainer(m, config, initialWeights(m, 1), undefined, timed(kernels, spent));
  const out = outputSection(m);
  const vocab = m.head.vocab;
  let x = 1;
  const tokens = Int32Array.from({ length: batch * (seq + 1) }, () => (x = (x * 48271) % 2147483647) % vocab);
  const ids = new Int32Array(batch * seq);
  const targets = new Int32Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    ids.set(tokens.subarray(b * (seq + 1), b * (seq + 1) + seq), b * seq);
    targets.set(tokens.subarray(b * (seq + 1) + 1, (b + 1) * (seq + 1)), b * seq);
  }
  const inputs = new Map<string, { data: Int32Array | Uint8Array; shape: number[] }>([[out.input, { data: ids, shape: [batch, seq] }]]);
  for (const i of m.inputs) if (i.name !== out.input) inputs.set(i.name, { data: new Uint8Array(ids.length).fill(1), shape: [batch, seq] });
  const data = bindBatch(m, inputs, targets);
  // Compiles the kernels, then lets V8 tier them up from its baseline compiler (Liftoff, ~7×
  // slower here) to TurboFan, which it does in the background once a function is hot.
  for (let s = 0; s < 3; s++) await trainer.update(data);
  const times: number[] = [];
  spent.ms = 0;
  spent.by.clear();
  for (let s = 0; s < steps; s++) {
    const t = cpuMs();
    await trainer.update(data);
    times.push(cpuMs() - t);
  }
  const total = times.reduce((a, b) => a + b, 0);
  const ms = median(times);
  return { target: kernels.target === "wasm" ? `wasm (${relaxedSimdSupported() ? "relaxed SIMD" : "SIMD128"}), 1 thread` : "reference (JS float64)", msPerStep: ms, tokensPerS: (batch * seq * 1000) / ms, kernelShare: spent.ms / total, byKernel: new Map([...spent.by].map(([k, v]) => [k.replace(/^bound /, ""), v / steps])) };
}

function torchRow(batch: number, seq: number, steps: number): Row | string {
  const py = spawnSync(process.env.PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3"), [fileURLToPath(new URL("./train-torch.py", import.meta.url)), "--batch", String(batch), "--seq", String(seq), "--steps", String(steps)], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" } });
  if (py.status !== 0) return `PyTorch run failed: ${(py.stderr || py.stdout).trim().split("\n").at(-1)}`;
  const r = JSON.parse(py.stdout.trim().split("\n").at(-1)!) as { ms_per_step: number; torch: string; threads: number; blas: string };
  return { target: `PyTorch ${r.torch} CPU, ${r.threads} thread (${r.blas})`, msPerStep: r.ms_per_step, tokensPerS: (batch * seq * 1000) / r.ms_per_step };
}

async function main(): Promise<void> {
  const spec = arg("--spec", "specs/demo-fortune.sf");
  const batch = Number(arg("--batch", "8"));
  const seq = Number(arg("--seq", "256"));
  const steps = Number(arg("--steps", "5"));
  readFileSync(spec); // a clear error for a missing spec before anything runs
  const rows: Array<Row | string> = [];
  if (!has("--no-torch") && spec === "specs/demo-fortune.sf") rows.push(torchRow(batch, seq, steps));
  rows.push(await benchTarget(spec, new WasmTrainKernels(), batch, seq, steps));
  if (!has("--no-reference")) rows.push(await benchTarget(spec, referenceKernels, batch, seq, Math.min(steps, 2)));
  const load = os.loadavg()[0].toFixed(1);
  console.log(`\ntraining throughput: ${spec}, batch ${batch} × ${seq} tokens, median of ${steps} steps (CPU time), load average ${load}, ${os.cpus()[0]?.model ?? "?"}\n`);
  console.log("| target | ms / step | tokens / s | in the target's kernels |");
  console.log("|---|---:|---:|---:|");
  for (const r of rows) {
    if (typeof r === "string") console.log(`| ${r} | | | |`);
    else console.log(`| ${r.target} | ${r.msPerStep.toFixed(0)} | ${r.tokensPerS.toFixed(0)} | ${r.kernelShare === undefined ? "" : `${(100 * r.kernelShare).toFixed(0)}%`} |`);
  }
  for (const r of rows) {
    if (typeof r === "string" || !r.byKernel) continue;
    console.log(`\n${r.target}, ms per step by kernel: ${[...r.byKernel].map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
  }
}

if (!process.env[CHILD] && !process.execArgv.includes(FLAG)) {
  const r = spawnSync(process.execPath, [FLAG, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
  process.exit(r.status ?? 1);
} else {
  await main();
}
