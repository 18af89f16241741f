// Low-bit weights on the Wasm backend, decode against the bandwidth bound. For each storage
// (f32, f16, q8, q4) and thread count: bytes read per decoded token (every packed linear weight,
// one embedding row, the small f32 tensors, the KV cache at the decode position), decode
// ms / token and tokens/s, the bound — those bytes ÷ the read bandwidth a streaming-read kernel
// (bench/read-bandwidth.ts) measures in the same run, on as many threads — and a 128-token
// prefill. Random weights (GPT-2 init).
//
//   npx tsx bench/lowbit.ts [--small] [--threads 1,2] [--rounds 3] [--webgpu]
//
// --webgpu adds the WebGPU table (bench/lowbit-webgpu.ts): llvmpipe here; a real GPU with
// WEBGPU_BACKEND=vulkan.
//
// Default model: bench/bandwidth-bound.sf (the d 1024, 8 layers, vocab 32,000); --small
// runs specs/bench-peers.sf instead (3.8M parameters, cache-resident: not bandwidth-bound).
// Node 20 needs --experimental-wasm-relaxed-simd for relaxed SIMD, so without it the bench
// re-runs itself with the flag. Each round measures the read bandwidth, 16 decode steps and 3
// prefills; the table shows medians over rounds (of per-round medians). The machine is shared
// and loaded: figures are noisy, not timed tests.

import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { createWasmModel, relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { planWasm, type WasmPlan } from "../backends/wasm/plan.ts";
import { checkFile } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { STORAGE_DTYPES } from "../src/runtime/weights/format.ts";
import { convertStore, withStorage } from "../src/runtime/weights/store.ts";
import { readBandwidth } from "./read-bandwidth.ts";
import { benchWebGpuLowBit } from "./lowbit-webgpu.ts";
import { compileWasmWithTurbofan } from "./turbofan.ts";

const CHILD = "SPECFORMER_LOWBIT_BENCH_CHILD";
const FLAG = "--experimental-wasm-relaxed-simd";
const POSITION = 128;

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Bytes one decode step at `position` reads: packed weights whole, a gathered table's one row, every other tensor, K and V rows. */
export function bytesPerToken(plan: WasmPlan, position: number): { weights: number; kv: number } {
  const gathered = new Map<string, number>();
  for (const op of plan.decode) {
    if (op.op === "embed") gathered.set(op.table, op.vocab);
    // A learned position table: one row per step, like an embedding.
    if (op.op === "add_position" && op.table !== undefined) gathered.set(op.table, plan.context);
  }
  let weights = 0;
  for (const w of plan.layout.weights) weights += w.packed ? w.bytes : w.bytes / (gathered.get(w.name) ?? 1);
  let kv = 0;
  for (const op of plan.decode) if (op.op === "attention") kv += 2 * position * op.kvHeads * op.headDim * 4;
  return { weights, kv };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bench(m: ModelInfo, label: string, threadCounts: number[], rounds: number, webgpu = false): Promise<void> {
  const graph = inferenceGraph(m);
  const w = randomWeights(m, 1);
  const rows: Record<string, unknown>[] = [];
  const tokens = Int32Array.from({ length: POSITION }, (_, i) => (i * 31 + 7) % m.head.vocab);
  const base = new Map<number, { decode: number; prefill: number }>();
  const readers = new Map<number, Awaited<ReturnType<typeof readBandwidth>>>();
  for (const t of threadCounts) readers.set(t, await readBandwidth(t, 256 * 2 ** 20));
  for (const dtype of STORAGE_DTYPES) {
    const store = convertStore(graph, w, dtype);
    const program = withStorage(graph, store);
    const bytes = bytesPerToken(planWasm(m, program), POSITION);
    for (const threads of threadCounts) {
      const model = await createWasmModel(m, program, store, { threads, relaxed: relaxedSimdSupported() });
      try {
        // V8 tiers Wasm up in the background (busy for a while after binaryen ran): warm up first.
        await sleep(1000);
        const t0 = performance.now();
        while (performance.now() - t0 < 1500) await model.forward(tokens.subarray(0, 16), { batch: 1, seq: 16 });
        const one = Int32Array.of(3);
        const decode: number[] = [];
        const prefill: number[] = [];
        const bw: number[] = [];
        for (let r = 0; r < rounds; r++) {
          bw.push(median(readers.get(threads)!.measure(3)));
          const state = await model.begin({ batch: 1 });
          await model.step(state, tokens, POSITION);
          for (let i = 0; i < 2; i++) await model.step(state, one, 1);
          const steps: number[] = [];
          for (let i = 0; i < 16; i++) {
            const t = performance.now();
            await model.step(state, one, 1);
            steps.push(performance.now() - t);
          }
          state.dispose();
          decode.push(median(steps));
          const pre: number[] = [];
          for (let i = 0; i < 3; i++) {
            const t = performance.now();
            await model.forward(tokens, { batch: 1, seq: POSITION });
            pre.push(performance.now() - t);
          }
          prefill.push(median(pre));
        }
        const d = median(decode);
        const p = median(prefill);
        const gbs = median(bw) / 1e9;
        const read = bytes.weights + bytes.kv;
        const bound = (read / (gbs * 1e9)) * 1000;
        if (dtype === "f32") base.set(threads, { decode: d, prefill: p });
        const f32 = base.get(threads)!;
        rows.push({
          dtype,
          threads,
          "MB read / token": r2(read / 1e6),
          "read GB/s": r2(gbs),
          "bound ms": r2(bound),
          "decode ms": r2(d),
          "tokens/s": Math.round(1000 / d),
          "× bound": r2(d / bound),
          "× f32 speed": r2(f32.decode / d),
          "prefill 128 ms": Math.round(p),
          "prefill vs f32": `${p >= f32.prefill ? "+" : ""}${Math.round((p / f32.prefill - 1) * 100)}%`,
        });
      } finally {
        model.dispose();
      }
    }
  }
  for (const r of readers.values()) r.dispose();
  console.log(`\n## ${label}: decode at position ${POSITION}, relaxed SIMD ${relaxedSimdSupported() ? "on" : "off"}, medians of ${rounds} rounds\n`);
  console.table(rows);
  if (webgpu) {
    const g = await benchWebGpuLowBit(m, w, POSITION, rounds);
    console.log(`\n## ${label} on WebGPU (${g.adapter}): decode at position ${POSITION}, medians of ${rounds} rounds\n`);
    console.table(g.rows);
  }
}

export async function benchLowBit(args: string[]): Promise<void> {
  compileWasmWithTurbofan();
  if (!relaxedSimdSupported() && process.env[CHILD] === undefined) {
    const r = spawnSync(process.execPath, [...process.execArgv, FLAG, fileURLToPath(import.meta.url), ...args], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
    if (r.status === 0) return;
    console.log(`\n(child with ${FLAG} failed; measuring plain SIMD only)`);
  }
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const threads = (opt("--threads") ?? "1,2").split(",").map((t) => Math.max(1, Number(t) | 0));
  const rounds = Math.max(1, Number(opt("--rounds") ?? 3) | 0);
  console.log(`\nLow-bit weights on ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} threads available, load average ${os.loadavg()[0].toFixed(1)}, Node ${process.version}`);
  const webgpu = args.includes("--webgpu");
  if (args.includes("--small")) await bench(checkFile("specs/bench-peers.sf").entry!, "specs/bench-peers.sf (3.8M parameters)", threads, rounds, webgpu);
  else await bench(checkFile("bench/bandwidth-bound.sf").entry!, "bench/bandwidth-bound.sf (d 1024, 8 layers, vocab 32,000, 166M parameters)", threads, rounds, webgpu);
  console.log(`load average at the end ${os.loadavg()[0].toFixed(1)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchLowBit(process.argv.slice(2));
}
