// WebGPU backend benchmarks: matmul GFLOP/s per kernel variant, and ms per forward of the
// peers.md model (GPT-style, 4 layers, d=256, 8 heads, MLP 1024 GELU, vocab 512, batch 1,
// seq 128). Runs on whatever adapter is present; WEBGPU_BACKEND=vulkan (or opengles, metal,
// d3d12) picks Dawn's backend. Alone: `npx tsx bench/webgpu.ts`.

import { pathToFileURL } from "node:url";
import { mulberry32 } from "../src/runtime/sample.ts";
import { requestAdapter, openDevice } from "../backends/wgsl/device.ts";
import { KernelHarness } from "../backends/wgsl/harness.ts";
import type { AttentionMode } from "../backends/wgsl/kernels/attention.ts";
import { matmulKernel, type MatmulVariant } from "../backends/wgsl/kernels/matmul.ts";
import { createWebGpuModel } from "../backends/wgsl/backend.ts";
import { checkFile } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";

const VARIANTS: MatmulVariant[] = ["naive", "tiled", "blocked", "register"];
const SHAPES: Array<[number, number, number]> = [
  [128, 256, 1024], // MLP up of the peers model
  [128, 1024, 256], // MLP down
  [128, 256, 512], // logits
  [512, 512, 512],
];

const PEERS_SPEC_FILE = "specs/bench-peers.sf";

function random(n: number, seed: number): Float32Array<ArrayBuffer> {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rng() * 2 - 1);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function benchMatmul(h: KernelHarness): Promise<Record<string, string | number>[]> {
  const rows: Record<string, string | number>[] = [];
  for (const [M, K, N] of SHAPES) {
    const row: Record<string, string | number> = { "M×K×N": `${M}×${K}×${N}` };
    const x = random(M * K, 1);
    const w = random(N * K, 2);
    for (const variant of VARIANTS) {
      const k = matmulKernel({ variant, rows: "seq", K, N, nOff: 0, bias: false, outs: [{ c0: 0, c1: N, stride: N, store: false }] });
      const grid: [number, number, number] = [Math.ceil(N / k.tileN), Math.ceil(M / k.tileM), 1];
      const run = (repeat: number) => h.run(k, { params: { batch: 1, seq: M }, buffers: [x, w, new Float32Array(M * N)], grid, repeat });
      await run(1); // pipeline compilation and first-touch costs
      // Enough repeats for ~0.3 s per sample, judged from one timed run.
      const once = (await run(1)).ms;
      const repeat = Math.max(1, Math.min(200, Math.round(300 / Math.max(once, 0.05))));
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) samples.push((await run(repeat)).ms / repeat);
      row[`${variant} GFLOP/s`] = Number(((2 * M * K * N) / (median(samples) * 1e6)).toFixed(2));
    }
    rows.push(row);
  }
  return rows;
}

async function benchForward(device: GPUDevice): Promise<Record<string, string | number>[]> {
  const m = checkFile(PEERS_SPEC_FILE).entry!;
  const graph = inferenceGraph(m);
  const weights = randomWeights(m, 1);
  const rng = mulberry32(3);
  const seq = 128;
  const tokens = Int32Array.from({ length: seq }, () => Math.floor(rng() * 512));
  const rows: Record<string, string | number>[] = [];
  // The GPU kernel set and the CPU one (what a model picks on llvmpipe) are the last two rows.
  const configs: Array<{ matmul: MatmulVariant; attention: AttentionMode; decode?: boolean }> = [
    { matmul: "naive", attention: "tiles" },
    { matmul: "tiled", attention: "tiles" },
    { matmul: "blocked", attention: "tiles", decode: true },
    { matmul: "register", attention: "walk", decode: true },
  ];
  for (const { matmul: variant, attention, decode } of configs) {
    const t0 = performance.now();
    const model = await createWebGpuModel(m, graph, weights, { device, matmul: variant, attention });
    const load = performance.now() - t0;
    await model.forward(tokens, { batch: 1, seq }); // warm-up
    const n = decode ? 10 : 5;
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await model.forward(tokens, { batch: 1, seq });
      times.push(performance.now() - s);
    }
    const ms = median(times);
    const row: Record<string, string | number> = { matmul: variant, attention, "load ms": Math.round(load), "ms / forward (median)": Number(ms.toFixed(1)), "≈ GFLOP/s": Number((0.9e9 / (ms * 1e6)).toFixed(1)) };
    if (decode) {
      // Incremental decoding after a 64-token prompt: one token per step, split-KV attention.
      const state = await model.begin({ batch: 1 });
      await model.step(state, tokens.subarray(0, 64), 64);
      const steps: number[] = [];
      for (let i = 64; i < 96; i++) {
        const s = performance.now();
        await model.step(state, tokens.subarray(i, i + 1), 1);
        steps.push(performance.now() - s);
      }
      state.dispose();
      row["ms / decoded token"] = Number(median(steps).toFixed(2));
    }
    rows.push(row);
    model.dispose();
  }
  return rows;
}

export async function benchWebGpu(): Promise<void> {
  const adapter = await requestAdapter();
  if (!adapter) {
    console.log("No WebGPU adapter: skipping the WebGPU benchmarks (without a GPU set EGL_PLATFORM=surfaceless; see .ci/apt-packages).");
    return;
  }
  const info = adapter.info;
  console.log(`Adapter: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" / ") || "unknown"} (backend ${process.env.WEBGPU_BACKEND ?? "default"})`);
  const device = await openDevice(adapter);
  try {
    console.log("\n### Matmul kernels (y = x · Wᵀ, f32)\n");
    console.table(await benchMatmul(new KernelHarness(device)));
    console.log("\n### peers.md model: GPT-style, 4 layers, d=256, 8 heads, MLP 1024, vocab 512, batch 1, seq 128 (≈0.9 GFLOP)\n");
    console.table(await benchForward(device));
  } finally {
    device.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await benchWebGpu();
