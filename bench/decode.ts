// Decode latency against the memory-bandwidth bound (issue "Speed"): ms per one-token step at
// positions 128 / 1,024 / 4,096 on 1 and 2 threads, next to the bound — the bytes a step reads
// (every packed weight, one embedding row, the small tensors, K and V up to the position:
// bench/lowbit.ts's bytesPerToken) ÷ the streaming-read bandwidth that bench/read-bandwidth.ts
// measures on as many threads in the same round. Random weights.
//
//   npx tsx bench/decode.ts [--positions 128,1024,4096] [--threads 1,2] [--rounds 3] [--big]
//
// Default model: specs/bench-peers.sf with its context raised to 8,192 (the shipped spec stops
// at 2,048; the weights grow by the longer learned position table only, which a step reads one
// row of). --big adds bench/bandwidth-bound.sf (166M parameters, context 512 → 4,608 here) at
// the positions up to 1,024 (filling a 4,096-token cache of that model takes minutes here).
// Node 20 needs --experimental-wasm-relaxed-simd for relaxed SIMD, so without it the bench re-runs
// itself with the flag. The machine is shared: figures are noisy; a table, never a timed test.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { createWasmModel, relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { planWasm } from "../backends/wasm/plan.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { bytesPerToken, median } from "./lowbit.ts";
import { readBandwidth } from "./read-bandwidth.ts";
import { compileWasmWithTurbofan } from "./turbofan.ts";

const CHILD = "SPECFORMER_DECODE_BENCH_CHILD";
const FLAG = "--experimental-wasm-relaxed-simd";
const r2 = (x: number) => Math.round(x * 100) / 100;

function withContext(path: string, context: number): ModelInfo {
  const text = readFileSync(path, "utf8").replace(/context = \d+/, `context = ${context}`);
  const r = checkSource(text, path);
  if (!r.entry) throw new Error(`${path} with context ${context} does not check`);
  return r.entry;
}

/** Fills a cache to `at` positions in 128-token steps (a prompt), then times one-token steps. */
async function decodeAt(model: Awaited<ReturnType<typeof createWasmModel>>, vocab: number, at: number, steps: number): Promise<number> {
  const tokens = Int32Array.from({ length: at }, (_, i) => (i * 31 + 7) % vocab);
  const state = await model.begin({ batch: 1 });
  try {
    for (let p = 0; p < at; p += 128) await model.step(state, tokens.subarray(p, Math.min(at, p + 128)), Math.min(128, at - p));
    const one = Int32Array.of(3);
    for (let i = 0; i < 3; i++) await model.step(state, one, 1);
    const ts: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      await model.step(state, one, 1);
      ts.push(performance.now() - t);
    }
    return median(ts);
  } finally {
    state.dispose();
  }
}

async function bench(m: ModelInfo, label: string, positions: number[], threadCounts: number[], rounds: number): Promise<void> {
  const graph = inferenceGraph(m);
  const w = randomWeights(m, 1);
  const plan = planWasm(m, graph);
  const rows: Record<string, unknown>[] = [];
  const one = new Map<number, number>();
  for (const threads of threadCounts) {
    const reader = await readBandwidth(threads, 256 * 2 ** 20);
    const model = await createWasmModel(m, graph, w, { threads, relaxed: relaxedSimdSupported() });
    try {
      // V8 tiers Wasm up in the background once a function is hot: warm the one-row path first.
      await decodeAt(model, m.head.vocab, 128, 64);
      for (const at of positions) {
        const ms: number[] = [];
        const bw: number[] = [];
        for (let r = 0; r < rounds; r++) {
          bw.push(median(reader.measure(3)));
          ms.push(await decodeAt(model, m.head.vocab, at, 24));
        }
        const d = median(ms);
        const gbs = median(bw) / 1e9;
        const b = bytesPerToken(plan, at);
        const bound = ((b.weights + b.kv) / (gbs * 1e9)) * 1000;
        if (threads === threadCounts[0]) one.set(at, d);
        rows.push({
          threads,
          position: at,
          "MB read / token": r2((b.weights + b.kv) / 1e6),
          "read GB/s": r2(gbs),
          "bound ms": r2(bound),
          "ms / token": r2(d),
          "× bound": r2(d / bound),
          [`vs ${threadCounts[0]} thread`]: r2(one.get(at)! / d),
        });
      }
    } finally {
      model.dispose();
      reader.dispose();
    }
  }
  console.log(`\n## ${label}: one-token decode steps, relaxed SIMD ${relaxedSimdSupported() ? "on" : "off"}, medians of ${rounds} rounds\n`);
  console.table(rows);
}

async function main(args: string[]): Promise<void> {
  compileWasmWithTurbofan();
  const opt = (name: string, dflt: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const list = (s: string) => s.split(",").map((t) => Math.max(1, Number(t) | 0));
  const positions = list(opt("--positions", "128,1024,4096"));
  const threads = list(opt("--threads", "1,2"));
  const rounds = Math.max(1, Number(opt("--rounds", "3")) | 0);
  console.log(`\nDecode on ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} threads available, load average ${os.loadavg()[0].toFixed(1)}, Node ${process.version}`);
  await bench(withContext("specs/bench-peers.sf", 8192), "specs/bench-peers.sf, context 8,192 (3.8M parameters + position rows)", positions, threads, rounds);
  if (args.includes("--big")) {
    const big = positions.filter((p) => p <= 1024);
    await bench(withContext("bench/bandwidth-bound.sf", 4608), "bench/bandwidth-bound.sf (166M parameters)", big, threads, rounds);
  }
  console.log(`load average at the end ${os.loadavg()[0].toFixed(1)}`);
}

if (!relaxedSimdSupported() && process.env[CHILD] === undefined) {
  const r = spawnSync(process.execPath, [...process.execArgv, FLAG, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
  process.exit(r.status ?? 1);
} else {
  await main(process.argv.slice(2));
}
