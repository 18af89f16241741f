// Training throughput on the WebGPU training kernels (backends/wgsl/train): tokens per second
// of whole AdamW steps (forward, backward, clipping, update) of a spec, the median wall time of
// a step after warm-up steps (which compile the pipelines and fill the buffer pool), and the
// share of the step spent in each kernel call (upload, dispatch and read-back included; the
// rest — norms, embeddings, the loss, the optimiser — runs the reference kernels on the CPU).
// Wall time, not CPU time: the GPU's work is not this process's (on llvmpipe it is, on the
// driver's own threads).
//
//   npx tsx bench/train-webgpu.ts [--spec S] [--batch B] [--seq T] [--steps N] [--warmup W] [--no-pool] [--variant tiles|register]
//
// The adapter: Dawn's default, else OpenGL ES (llvmpipe on a machine without a GPU); on a
// real GPU run it with WEBGPU_BACKEND=vulkan (or metal, d3d12), as bench/webgpu.ts does.

import os from "node:os";
import { createWebGpuTrainKernels } from "../backends/wgsl/train/kernels.ts";
import { checkFile } from "../src/check/check.ts";
import { benchBatch } from "./train-batch.ts";
import { initialWeights } from "../src/train/init.ts";
import type { TrainKernels } from "../src/train/kernels.ts";
import { Trainer, type TrainConfig } from "../src/train/trainer.ts";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const has = (name: string) => process.argv.includes(name);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The kernels with every method's wall time added to `by` (a Proxy, so methods added to the interface are timed too). */
function timed(k: TrainKernels, by: Map<string, number>): TrainKernels {
  return new Proxy(k, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function" || typeof prop !== "string") return v;
      return async (...args: unknown[]) => {
        const t = performance.now();
        try {
          return await v.apply(target, args);
        } finally {
          by.set(prop, (by.get(prop) ?? 0) + performance.now() - t);
        }
      };
    },
  });
}

function batchOf(specPath: string, batch: number, seq: number) {
  const m = checkFile(specPath).entry;
  if (!m) throw new Error(`${specPath} does not check`);
  return { m, data: benchBatch(m, batch, seq) };
}

async function main(): Promise<void> {
  const spec = arg("--spec", "specs/demo-fortune.sf");
  const batch = Number(arg("--batch", "8"));
  const seq = Number(arg("--seq", "256"));
  const steps = Number(arg("--steps", "5"));
  const warmup = Number(arg("--warmup", "2"));
  const variant = arg("--variant", "");
  const pool = !has("--no-pool");
  const kernels = await createWebGpuTrainKernels({ pool, ...(variant !== "" ? { tiles: variant === "tiles" } : {}) });
  const { m, data } = batchOf(spec, batch, seq);
  const config: TrainConfig = {
    steps: 2000, batch, seq, schedule: "cosine", lr: 3e-3, warmup: 100, minLrRatio: 0.1, optimizer: "adamw",
    betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1, labelSmoothing: 0, dropout: 0, seed: 1,
  };
  const by = new Map<string, number>();
  const trainer = new Trainer(m, config, initialWeights(m, 1), undefined, timed(kernels, by));
  const t0 = performance.now();
  for (let s = 0; s < warmup; s++) await trainer.update(data);
  const warmMs = performance.now() - t0;
  by.clear();
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t = performance.now();
    await trainer.update(data);
    times.push(performance.now() - t);
  }
  const total = times.reduce((a, b) => a + b, 0);
  const ms = median(times);
  const load = os.loadavg().map((l) => l.toFixed(1)).join(" ");
  console.log(`\nwebgpu training throughput: ${spec}, batch ${batch} × ${seq} tokens, median wall time of ${steps} steps after ${warmup} warm-up steps (${(warmMs / 1000).toFixed(1)} s, pipelines compiled there)`);
  console.log(`adapter: ${kernels.adapterName} (backend ${process.env.WEBGPU_BACKEND ?? "default"}); ${kernels.tiles ? "tiles" : "register / walk"} variants; buffer pool ${pool ? "on" : "off"} (${kernels.gpu.pool.created} buffers created, ${kernels.gpu.pool.reused} reuses); load average ${load}, ${os.cpus().length} CPUs\n`);
  console.log("| adapter | ms / step | tokens / s |");
  console.log("|---|---:|---:|");
  console.log(`| ${kernels.adapterName} | ${ms.toFixed(0)} | ${((batch * seq * 1000) / ms).toFixed(0)} |`);
  console.log("\n| kernel | ms / step | share |");
  console.log("|---|---:|---:|");
  let inKernels = 0;
  for (const [name, v] of [...by].sort((a, b) => b[1] - a[1])) {
    inKernels += v;
    console.log(`| ${name} | ${(v / steps).toFixed(0)} | ${((100 * v) / total).toFixed(1)}% |`);
  }
  console.log(`| the rest (reference kernels on the CPU, optimiser) | ${((total - inKernels) / steps).toFixed(0)} | ${((100 * (total - inKernels)) / total).toFixed(1)}% |`);
  kernels.dispose();
}

await main().catch((e: unknown) => {
  // No adapter (or a kernel that fails): one line, not a stack.
  console.error(`bench/train-webgpu: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
