// A TinyLlama-1.1B-shaped model (specs/tinyllama-1.1b.sf, 1.1B parameters) with q4 weights made
// directly in q4 (src/runtime/weights/random-lowbit.ts: never materialised in f32, which would
// be 4.4 GB) loaded and decoded on Wasm in Node: weight bytes, Wasm memory, JS heap and RSS
// after load (the store dropped and collected), decode tokens/s (median of 16 steps after an
// 8-token prompt, per thread count). `npx tsx bench/tinyllama-q4.ts [--threads 1,2]`; re-runs
// itself with --expose-gc and relaxed SIMD. The machine is shared: figures are noisy.

import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { createWasmModel, relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { planWasm } from "../backends/wasm/plan.ts";
import { checkFile } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { STORAGE_DTYPES, bytesByDtype } from "../src/runtime/weights/format.ts";
import { randomLowBitStore } from "../src/runtime/weights/random-lowbit.ts";
import { withStorage } from "../src/runtime/weights/store.ts";
import { median } from "./lowbit.ts";
import { mib, timeDecodeSteps } from "./decode-steps.ts";
import { compileWasmWithTurbofan } from "./turbofan.ts";

const FLAGS = ["--experimental-wasm-relaxed-simd", "--expose-gc"];
const CHILD = "SPECFORMER_TINYLLAMA_BENCH_CHILD";

async function main(args: string[]): Promise<void> {
  compileWasmWithTurbofan();
  const ti = args.indexOf("--threads");
  const threadCounts = (ti >= 0 ? args[ti + 1] : "1,2").split(",").map((t) => Math.max(1, Number(t) | 0));
  const m = checkFile("specs/tinyllama-1.1b.sf").entry!;
  const graph = inferenceGraph(m);
  const rows: Record<string, unknown>[] = [];
  for (const threads of threadCounts) {
    let store: ReturnType<typeof randomLowBitStore> | undefined = randomLowBitStore(m, graph, "q4", 1);
    const totals = bytesByDtype(store);
    const program = withStorage(graph, store);
    const t0 = performance.now();
    const model = await createWasmModel(m, program, store, { threads, relaxed: relaxedSimdSupported(), maxSeq: 256 });
    const loadS = (performance.now() - t0) / 1000;
    store = undefined;
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    const inWasm = planWasm(m, program, { maxSeq: 256 }).layout.weights.reduce((a, w) => a + w.bytes, 0);
    const steps = await timeDecodeSteps(model);
    model.dispose();
    rows.push({
      threads,
      "weights (file bytes)": mib(STORAGE_DTYPES.reduce((a, d) => a + totals[d].bytes, 0)),
      "weights in Wasm memory": mib(inWasm),
      "q4 / q8 / f32 tensors": `${totals.q4.tensors} / ${totals.q8.tensors} / ${totals.f32.tensors}`,
      "load + compile s": Math.round(loadS * 10) / 10,
      "RSS after load": mib(mem.rss),
      "JS heap used": mib(mem.heapUsed),
      "array buffers": mib(mem.arrayBuffers),
      "decode ms (median)": Math.round(median(steps) * 10) / 10,
      "tokens/s": Math.round((1000 / median(steps)) * 10) / 10,
    });
  }
  console.log(`\n## ${m.name} (${(1.1).toFixed(1)}B parameters) q4 on Wasm, ${os.cpus()[0]?.model ?? "?"}, load average ${os.loadavg()[0].toFixed(1)}, relaxed SIMD ${relaxedSimdSupported() ? "on" : "off"}\n`);
  console.table(rows);
}

if (process.env[CHILD] === undefined) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...FLAGS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
  process.exit(r.status ?? 1);
} else {
  await main(process.argv.slice(2));
}
