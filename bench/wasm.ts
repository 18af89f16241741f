// Wasm backend benchmark: the machine's Wasm SIMD peak, the matmul kernel against it, whole
// forwards of the peers.md model (GPT-style, 4 layers, d 256, 8 heads, MLP 1024 GELU, vocab 512,
// batch 1, seq 128) and KV-cache decode latency. `npx tsx bench/wasm.ts` runs it alone; Node 20
// needs --experimental-wasm-relaxed-simd for relaxed SIMD, so without it the benchmark re-runs
// itself in a child process with the flag (SPECFORMER_WASM_BENCH_CHILD marks the child).
//
// V8 first runs Wasm in its baseline compiler and tiers hot functions up in the background;
// binaryen (itself a big Wasm module) keeps those background threads busy for a second or two
// after a build, so every measurement below first warms up for a fixed time, then reports the
// median (and best) of repeated runs.

import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { attentionModule, loadMatmul, matmulModule, peakModule } from "../backends/wasm/kernel-bench.ts";
import { createWasmModel, relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { checkFile } from "../src/check/check.ts";
import { summarize } from "../src/inspect/summary.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { Model } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { compileWasmWithTurbofan } from "./turbofan.ts";

const CHILD = "SPECFORMER_WASM_BENCH_CHILD";
const FLAG = "--experimental-wasm-relaxed-simd";

/** The peers.md benchmark model, shipped as a spec so every bench (and a user) runs the same one. */
export const BENCH_SPEC_FILE = "specs/bench-peers.sf";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs fn for warmMs, then `reps` timed runs; returns [median, best] in ms. */
async function time(fn: () => unknown, warmMs: number, reps: number): Promise<[number, number]> {
  const t0 = performance.now();
  while (performance.now() - t0 < warmMs) await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return [ts[Math.floor(ts.length / 2)], ts[0]];
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

async function peaks(flavours: boolean[]): Promise<Map<boolean, number>> {
  const rows: Record<string, unknown>[] = [];
  const best = new Map<boolean, number>();
  // x64 V8 has 15 usable xmm registers: 14 chains plus the two operands spill.
  const built = flavours.flatMap((relaxed) => [8, 10, 12].map((chains) => ({ relaxed, chains, mod: peakModule(relaxed, chains) })));
  const runs = built.map((b) => ({ ...b, run: new WebAssembly.Instance(new WebAssembly.Module(b.mod.binary as Uint8Array<ArrayBuffer>)).exports.peak as (n: number) => number }));
  await sleep(1500);
  for (const { relaxed, chains, mod, run } of runs) {
    const n = 200_000;
    const [med, min] = await time(() => run(n), 800, 15);
    const gf = (n * mod.flopsPerIter) / min / 1e6;
    rows.push({
      kernel: relaxed ? "f32x4.relaxed_madd chains" : "f32x4.mul / f32x4.add chains",
      chains,
      "GFLOP/s (best)": r1(gf),
      "GFLOP/s (median)": r1((n * mod.flopsPerIter) / med / 1e6),
    });
    best.set(relaxed, Math.max(best.get(relaxed) ?? 0, gf));
  }
  console.log("\n## Wasm SIMD peak (1 thread)\n");
  console.table(rows);
  return best;
}

async function matmuls(flavours: boolean[], peak: Map<boolean, number>): Promise<void> {
  const shapes: Array<[number, number, number]> = [
    [128, 256, 768],
    [128, 256, 1024],
    [128, 1024, 256],
    [128, 256, 512],
  ];
  const rows: Record<string, unknown>[] = [];
  const built = flavours.flatMap((relaxed) => shapes.map(([M, K, N]) => ({ relaxed, M, K, N, mod: matmulModule(relaxed, M, K, N, { bias: true }) })));
  await sleep(1500);
  for (const { relaxed, M, K, N, mod } of built) {
    const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
    const mm = loadMatmul(mod, rnd(M * K), rnd(N * K), rnd(N), K, N);
    const [med, min] = await time(() => mm.run(M), 700, 30);
    const gf = (2 * M * K * N) / min / 1e6;
    rows.push({
      "M×K×N": `${M}×${K}×${N}`,
      simd: relaxed ? "relaxed" : "plain",
      "GFLOP/s (best)": r1(gf),
      "GFLOP/s (median)": r1((2 * M * K * N) / med / 1e6),
      "of peak": `${Math.round((100 * gf) / peak.get(relaxed)!)}%`,
    });
  }
  console.log("\n## Matmul kernel (packed weights, 1 thread), fraction of the peak above\n");
  console.table(rows);
}

async function attentions(flavours: boolean[]): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  const built = flavours.flatMap((relaxed) => [128, 512].map((n) => ({ relaxed, n, mod: attentionModule(relaxed, 8, 32, n) })));
  await sleep(1500);
  for (const { relaxed, n, mod } of built) {
    const [med, min] = await time(() => mod.run(), 700, 30);
    rows.push({ "heads×hd, rows": `8×32, ${n}`, simd: relaxed ? "relaxed" : "plain", "ms (median)": r2(med), "GFLOP/s (best)": r1(mod.flops / min / 1e6), "GFLOP/s (median)": r1(mod.flops / med / 1e6) });
  }
  console.log("\n## Fused causal attention kernel (prefill, 1 thread, useful FLOPs: 4·hd per visible key)\n");
  console.table(rows);
}

async function forwards(flavours: boolean[], threadCounts: number[], peak: Map<boolean, number>): Promise<void> {
  const m = checkFile(BENCH_SPEC_FILE).entry!;
  const g = inferenceGraph(m);
  const w = randomWeights(m, 1);
  const flops = summarize(m, { batch: 1, seq: 128 }).flops;
  const tokens = Int32Array.from({ length: 2048 }, (_, i) => (i * 31 + 7) % 512);
  const fwd: Record<string, unknown>[] = [];
  const dec: Record<string, unknown>[] = [];
  /** ms / token of one-token steps from `at` cached positions. */
  const decodeAt = async (model: Model, at: number): Promise<[number, number]> => {
    const state = await model.begin({ batch: 1 });
    for (let p = 0; p < at; p += 128) await model.step(state, tokens.subarray(p, Math.min(at, p + 128)), Math.min(128, at - p));
    // Warm the one-row path on a throw-away state, then time 48 steps from exactly `at`.
    const one = Int32Array.of(3);
    const ts: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < 1500 && state.position < at + 400) await model.step(state, one, 1);
    const s2 = await model.begin({ batch: 1 });
    for (let p = 0; p < at; p += 128) await model.step(s2, tokens.subarray(p, Math.min(at, p + 128)), Math.min(128, at - p));
    for (let i = 0; i < 48; i++) {
      const t = performance.now();
      await model.step(s2, one, 1);
      ts.push(performance.now() - t);
    }
    ts.sort((a, b) => a - b);
    state.dispose();
    s2.dispose();
    return [ts[24], ts[0]];
  };
  for (const relaxed of flavours) {
    for (const threads of threadCounts) {
      // With threads, also every call split (the round-1 rule), beside the measured choice.
      for (const splitEveryCall of threads > 1 ? [false, true] : [false]) {
        const model: Model = await createWasmModel(m, g, w, { relaxed, threads, splitEveryCall });
        const split = threads === 1 ? "-" : splitEveryCall ? "every call" : "as measured (split-choice.ts)";
        try {
          if (!splitEveryCall) {
            const prompt = tokens.subarray(0, 128);
            const [med, min] = await time(() => model.forward(prompt, { batch: 1, seq: 128 }), 3000, 25);
            fwd.push({ simd: relaxed ? "relaxed" : "plain", threads, "ms / forward (median)": r2(med), "ms (best)": r2(min), "GFLOP/s (median)": r1(flops / med / 1e6), "GFLOP/s (best)": r1(flops / min / 1e6), "median, of 1-thread peak": `${Math.round((100 * flops) / med / 1e6 / peak.get(relaxed)!)}%` });
          }
          for (const at of [128, 1024]) {
            const [med, best] = await decodeAt(model, at);
            dec.push({ simd: relaxed ? "relaxed" : "plain", threads, split, position: at, "ms / token (median)": r2(med), "ms (best)": r2(best) });
          }
        } finally {
          model.dispose();
        }
      }
    }
  }
  console.log(`\n## Forward: peers.md model, batch 1, seq 128 (${(flops / 1e9).toFixed(3)} GFLOP by summarize)\n`);
  console.table(fwd);
  console.log("\n## Decode with the KV cache (same model, context 2048), one token per step\n");
  console.table(dec);
}

export async function benchWasm(): Promise<void> {
  compileWasmWithTurbofan();
  if (!relaxedSimdSupported() && process.env[CHILD] === undefined) {
    // Re-run in a child with the flag; the tables print from there.
    const r = spawnSync(process.execPath, [...process.execArgv, FLAG, fileURLToPath(import.meta.url)], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
    if (r.status === 0) return;
    console.log(`\n(child with ${FLAG} failed; measuring plain SIMD only)`);
  }
  const flavours = relaxedSimdSupported() ? [false, true] : [false];
  const threads = [1, ...(os.availableParallelism() > 1 ? [os.availableParallelism()] : [])];
  console.log(`\nWasm backend on ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} threads, Node ${process.version}${relaxedSimdSupported() ? ", relaxed SIMD on" : ""}`);
  const peak = await peaks(flavours);
  await matmuls(flavours, peak);
  if (process.env.SPECFORMER_WASM_BENCH_ONLY === "attention") return attentions(flavours);
  await attentions(flavours);
  await forwards(flavours, threads, peak);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchWasm();
}
