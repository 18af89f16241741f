// Training throughput: tokens per second of whole AdamW steps (forward, backward, clipping,
// update) of a spec on the reference and wasm training targets — wasm on each thread count of
// --threads — next to PyTorch on the CPU of the same machine in the same sitting
// (bench/train-torch.py, the demo recipe's model written independently in scripts/train-demo.py).
// Default: specs/demo-fortune.sf at the demo recipe's batch (8 × 256 tokens).
//
//   npx tsx bench/train.ts [--spec S] [--batch B] [--seq T] [--steps N] [--threads 1,2] [--warmup-seconds 15] [--no-reference] [--no-torch]
//
// PyTorch's row needs python3-torch with a tuned BLAS behind libblas.so.3 (Debian's
// libopenblas0-pthread; with the reference BLAS torch's matmuls run ~25× slower); the row
// names the library torch loaded.
// Re-runs itself with Node 20's --experimental-wasm-relaxed-simd. Two times per step:
//   wall  elapsed time (performance.now): the figure for threads — what the user waits — but
//         other load on the machine stretches it (a descheduled worker stalls the step), so the
//         table prints the load average before and after;
//   CPU   this process's CPU time, all its threads (process.cpuUsage): load mostly cancels, but
//         T threads that each do 1/T of the work cost about as much CPU as one, so CPU time
//         cannot show a speed-up from threads.
// The trainers take their measured steps in turn (one step of each, then again), so a change of
// load falls on every row alike. PyTorch's time is its process CPU time (time.process_time, one
// thread), median and fastest step: on the AMD EPYC its steps took 204–808 ms of user time
// within one run (no page faults in the slow ones), where the wasm steps stay within ~5%. Each
// row also gives the share of the step's wall time spent in the target's kernels (matmuls,
// attention, activations; the norms and the loss where the target has them; copies in and out
// included); the rest (embeddings, the optimiser) runs the reference kernels.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { WasmTrainKernels } from "../backends/wasm/train/kernels.ts";
import { checkFile } from "../src/check/check.ts";
import { benchBatch } from "./train-batch.ts";
import { initialWeights } from "../src/train/init.ts";
import { referenceKernels, type TrainKernels } from "../src/train/kernels.ts";
import { Trainer, type TrainConfig } from "../src/train/trainer.ts";

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
const wallMs = (): number => performance.now();
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Wall ms in the kernels, in all and by kernel. */
interface Spent {
  ms: number;
  by: Map<string, number>;
}

/** TrainKernels that add the wall time of every call to `spent` (in all, and by kernel). */
function timed(k: TrainKernels, spent: Spent): TrainKernels {
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    (...a: A): R => {
      const t = wallMs();
      try {
        return fn(...a);
      } finally {
        const dt = wallMs() - t;
        spent.ms += dt;
        spent.by.set(fn.name, (spent.by.get(fn.name) ?? 0) + dt);
      }
    };
  return {
    target: k.target,
    ...(k.float32 ? { float32: true } : {}),
    linearForward: wrap(k.linearForward.bind(k)),
    linearBackward: wrap(k.linearBackward.bind(k)),
    attentionForward: wrap(k.attentionForward.bind(k)),
    attentionBackward: wrap(k.attentionBackward.bind(k)),
    activationForward: wrap(k.activationForward.bind(k)),
    activationGrad: wrap(k.activationGrad.bind(k)),
    ssmConvForward: wrap(k.ssmConvForward.bind(k)),
    ssmConvBackward: wrap(k.ssmConvBackward.bind(k)),
    ssmScanForward: wrap(k.ssmScanForward.bind(k)),
    ssmScanBackward: wrap(k.ssmScanBackward.bind(k)),
    ...(k.normForward ? { normForward: wrap(k.normForward.bind(k)) } : {}),
    ...(k.normBackward ? { normBackward: wrap(k.normBackward.bind(k)) } : {}),
    ...(k.crossEntropy ? { crossEntropy: wrap(k.crossEntropy.bind(k)) } : {}),
    // Not timed (bookkeeping, no arithmetic), but passed on: without them the step reuses no arrays.
    ...(k.stepBegin && k.stepEnd ? { stepBegin: k.stepBegin.bind(k), stepEnd: k.stepEnd.bind(k) } : {}),
  };
}

interface Row {
  target: string;
  /** Median wall ms per step (absent for PyTorch, which reports CPU time). */
  wallMs?: number;
  /** Median CPU ms per step, all threads. */
  cpuMs: number;
  /** The fastest step's CPU ms. */
  cpuBestMs: number;
  kernelShare?: number;
  /** Wall ms per step in each kernel. */
  byKernel?: Map<string, number>;
}

/** A trainer ready to time: warmed up, then one measured step per call of `step`. */
interface Bench {
  target: string;
  steps: number;
  spent: Spent;
  step(): Promise<void>;
  cpu: number[];
  wall: number[];
}

async function prepare(specPath: string, kernels: TrainKernels, target: string, batch: number, seq: number, steps: number, warmupMs: number): Promise<Bench> {
  const m = checkFile(specPath).entry;
  if (!m) throw new Error(`${specPath} does not check`);
  const config: TrainConfig = {
    steps: 2000, batch, seq, schedule: "cosine", lr: 3e-3, warmup: 100, minLrRatio: 0.1, optimizer: "adamw",
    betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1, labelSmoothing: 0, dropout: 0, seed: 1,
  };
  const spent: Spent = { ms: 0, by: new Map<string, number>() };
  const trainer = new Trainer(m, config, initialWeights(m, 1), undefined, timed(kernels, spent));
  const data = benchBatch(m, batch, seq);
  // Compiles the kernels, then lets V8 tier them up from its baseline compiler (Liftoff, ~7×
  // slower here) to TurboFan, which it does in the background once a function is hot — in each
  // worker's isolate on its own, after the fewer calls its shares make: three steps left the
  // workers' kernels in Liftoff, so two threads timed no faster than one. Warm up for a fixed
  // time (at least three steps), as bench/wasm.ts does.
  const warmStart = wallMs();
  for (let s = 0; s < 3 || wallMs() - warmStart < warmupMs; s++) await trainer.update(data);
  spent.ms = 0;
  spent.by.clear();
  const b: Bench = {
    target,
    steps,
    spent,
    cpu: [],
    wall: [],
    async step() {
      const [c, w] = [cpuMs(), wallMs()];
      await trainer.update(data);
      b.wall.push(wallMs() - w);
      b.cpu.push(cpuMs() - c);
    },
  };
  return b;
}

function rowOf(b: Bench): Row {
  const wall = b.wall.reduce((a, x) => a + x, 0);
  return { target: b.target, wallMs: median(b.wall), cpuMs: median(b.cpu), cpuBestMs: Math.min(...b.cpu), kernelShare: b.spent.ms / wall, byKernel: new Map([...b.spent.by].map(([k, v]) => [k.replace(/^bound /, ""), v / b.steps])) };
}

/** --threads: a comma-separated list of thread counts, each 1–16. */
function threadCounts(v: string): number[] {
  const out = v.split(",").map((t) => t.trim());
  for (const t of out) if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 16) throw new Error(`--threads takes thread counts from 1 to 16 separated by commas (1,2), got \`${v}\``);
  return out.map(Number);
}

function torchRow(batch: number, seq: number, steps: number): Row | string {
  const py = spawnSync(process.env.PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3"), [fileURLToPath(new URL("./train-torch.py", import.meta.url)), "--batch", String(batch), "--seq", String(seq), "--steps", String(steps)], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" } });
  if (py.status !== 0) return `PyTorch run failed: ${(py.stderr || py.stdout).trim().split("\n").at(-1)}`;
  const r = JSON.parse(py.stdout.trim().split("\n").at(-1)!) as { ms_per_step: number; best_ms: number; torch: string; threads: number; blas: string };
  return { target: `PyTorch ${r.torch} CPU, ${r.threads} thread (${r.blas})`, cpuMs: r.ms_per_step, cpuBestMs: r.best_ms };
}

async function main(): Promise<void> {
  const spec = arg("--spec", "specs/demo-fortune.sf");
  const batch = Number(arg("--batch", "8"));
  const seq = Number(arg("--seq", "256"));
  const steps = Number(arg("--steps", "5"));
  const warmupMs = 1000 * Number(arg("--warmup-seconds", "15"));
  const threads = threadCounts(arg("--threads", "1"));
  readFileSync(spec); // a clear error for a missing spec before anything runs
  const loadBefore = os.loadavg();
  const rows: Array<Row | string> = [];
  if (!has("--no-torch") && spec === "specs/demo-fortune.sf") rows.push(torchRow(batch, seq, steps));
  const simd = relaxedSimdSupported() ? "relaxed SIMD" : "SIMD128";
  const wasm = threads.map((t) => new WasmTrainKernels(undefined, undefined, { threads: t }));
  try {
    const benches: Bench[] = [];
    for (const [i, k] of wasm.entries()) benches.push(await prepare(spec, k, `wasm (${simd}), ${threads[i]} thread${threads[i] > 1 ? "s" : ""}`, batch, seq, steps, warmupMs));
    if (!has("--no-reference")) benches.push(await prepare(spec, referenceKernels, "reference (JS float64)", batch, seq, Math.min(steps, 2), 0));
    // In turn, so that load changing during the run falls on every row alike.
    for (let s = 0; s < steps; s++) for (const b of benches) if (s < b.steps) await b.step();
    rows.push(...benches.map(rowOf));
  } finally {
    for (const k of wasm) k.close();
  }
  const loadAfter = os.loadavg();
  const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(1)).join(" / ");
  const tps = (ms: number | undefined) => (ms === undefined ? "" : ((batch * seq * 1000) / ms).toFixed(0));
  console.log(`\ntraining throughput: ${spec}, batch ${batch} × ${seq} tokens, median of ${steps} steps, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"})`);
  console.log(`load average (1 / 5 / 15 min): ${fmtLoad(loadBefore)} before, ${fmtLoad(loadAfter)} after`);
  console.log("wall: elapsed time per step, the figure for threads (other load stretches it); CPU: this process's CPU time per step, all its threads together\n");
  console.log("| target | wall ms / step | tokens / s (wall) | CPU ms / step | fastest step, CPU ms | tokens / CPU-s | in the target's kernels (wall) |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    if (typeof r === "string") console.log(`| ${r} | | | | | | |`);
    else console.log(`| ${r.target} | ${r.wallMs?.toFixed(0) ?? ""} | ${tps(r.wallMs)} | ${r.cpuMs.toFixed(0)} | ${r.cpuBestMs.toFixed(0)} | ${tps(r.cpuMs)} | ${r.kernelShare === undefined ? "" : `${(100 * r.kernelShare).toFixed(0)}%`} |`);
  }
  for (const r of rows) {
    if (typeof r === "string" || !r.byKernel) continue;
    console.log(`\n${r.target}, wall ms per step by kernel: ${[...r.byKernel].map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
  }
}

if (!process.env[CHILD] && !process.execArgv.includes(FLAG)) {
  const r = spawnSync(process.execPath, [FLAG, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
  process.exit(r.status ?? 1);
} else {
  await main();
}
