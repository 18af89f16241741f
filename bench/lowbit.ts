// Low-bit weights on the Wasm backend: weight bytes, prefill (batch 1, seq 128) and KV-cache
// decode latency (one token per step at position 128) of specs/bench-peers.sf at f32, f16, q8
// and q4, random weights (GPT-2 init). `npx tsx bench/lowbit.ts [--big] [--threads N]`; Node 20
// needs --experimental-wasm-relaxed-simd for relaxed SIMD, so without it the bench re-runs itself
// with the flag (as bench/wasm.ts does). `--big` adds the bandwidth-bound model (d 1024,
// 8 layers, vocab 32,000, ~130M parameters): slow to quantise and compile, minutes on two cores.
// Figures are medians after a warm-up; on a loaded machine they are noisy, not timed tests.

import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { createWasmModel, relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { planWasm } from "../backends/wasm/plan.ts";
import { checkFile, checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { STORAGE_DTYPES, bytesByDtype } from "../src/runtime/weights/format.ts";
import { convertStore, withStorage } from "../src/runtime/weights/store.ts";

const CHILD = "SPECFORMER_LOWBIT_BENCH_CHILD";
const FLAG = "--experimental-wasm-relaxed-simd";

const BIG = `model bandwidth_bound {
  dims { vocab = 32000, d = 1024, heads = 16, layers = 8, ff = 4 * d, context = 512 }
  input tokens: int[batch, seq] where seq <= context
  lint(allow = [SF2001])
  embed tokens(vocab, d)
  position rope(base = 10000)
  stack layers × decoder {
    norm rms(eps = 1e-5)
    attention self(heads = heads, mask = causal)
    norm rms(eps = 1e-5)
    mlp(hidden = ff, act = silu)
  }
  norm rms(eps = 1e-5)
  head linear
}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;

async function bench(m: ModelInfo, label: string, threads: number, steps: number): Promise<void> {
  const graph = inferenceGraph(m);
  const w = randomWeights(m, 1);
  const f32Bytes = [...w.values()].reduce((a, x) => a + 4 * x.length, 0);
  const rows: Record<string, unknown>[] = [];
  const tokens = Int32Array.from({ length: 256 }, (_, i) => (i * 31 + 7) % m.head.vocab);
  let f32Decode = 0;
  for (const dtype of STORAGE_DTYPES) {
    const store = convertStore(graph, w, dtype);
    const program = withStorage(graph, store);
    const totals = bytesByDtype(store);
    const bytes = STORAGE_DTYPES.reduce((a, d) => a + totals[d].bytes, 0);
    const inWasm = planWasm(m, program).layout.weights.reduce((a, p) => a + p.bytes, 0);
    const model = await createWasmModel(m, program, store, { threads, relaxed: relaxedSimdSupported() });
    try {
      const prompt = tokens.subarray(0, 128);
      // V8 runs Wasm in its baseline tier first and optimises hot functions in the background
      // (busy for a while after binaryen ran): warm up for a fixed time before timing anything.
      await new Promise((r) => setTimeout(r, 1000));
      const warm = async (ms: number, fn: () => Promise<unknown>) => {
        const t0 = performance.now();
        while (performance.now() - t0 < ms) await fn();
      };
      await warm(2000, () => model.forward(prompt.subarray(0, 32), { batch: 1, seq: 32 }));
      const pre: number[] = [];
      for (let i = 0; i < 8; i++) {
        const t = performance.now();
        await model.forward(prompt, { batch: 1, seq: 128 });
        pre.push(performance.now() - t);
      }
      const state = await model.begin({ batch: 1 });
      await model.step(state, prompt, 128);
      const one = Int32Array.of(3);
      await warm(1500, () => (state.position < m.sections[0].maxSeq! - 1 ? model.step(state, one, 1) : Promise.resolve())); // the one-row path
      const s2 = await model.begin({ batch: 1 });
      await model.step(s2, prompt, 128);
      const dec: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t = performance.now();
        await model.step(s2, one, 1);
        dec.push(performance.now() - t);
      }
      state.dispose();
      s2.dispose();
      const d = median(dec);
      if (dtype === "f32") f32Decode = d;
      rows.push({
        dtype,
        "weight bytes (file)": bytes,
        "weights in Wasm memory": mb(inWasm),
        "vs f32": `${(f32Bytes / bytes).toFixed(2)}× smaller`,
        "prefill 128 ms (median)": Math.round(median(pre) * 100) / 100,
        "decode ms / token (median)": Math.round(d * 1000) / 1000,
        "decode ms (best)": Math.round(Math.min(...dec) * 1000) / 1000,
        "decode speed-up": `${(f32Decode / d).toFixed(2)}×`,
      });
    } finally {
      model.dispose();
    }
  }
  console.log(`\n## ${label}: ${threads} thread${threads === 1 ? "" : "s"}, relaxed SIMD ${relaxedSimdSupported() ? "on" : "off"}, decode at position 128\n`);
  console.table(rows);
}

export async function benchLowBit(args: string[]): Promise<void> {
  if (!relaxedSimdSupported() && process.env[CHILD] === undefined) {
    const r = spawnSync(process.execPath, [...process.execArgv, FLAG, fileURLToPath(import.meta.url), ...args], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
    if (r.status === 0) return;
    console.log(`\n(child with ${FLAG} failed; measuring plain SIMD only)`);
  }
  const ti = args.indexOf("--threads");
  const threads = ti >= 0 ? Math.max(1, Number(args[ti + 1]) | 0) : 1;
  console.log(`\nLow-bit weights on ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} threads available, load average ${os.loadavg()[0].toFixed(1)}, Node ${process.version}`);
  await bench(checkFile("specs/bench-peers.sf").entry!, "specs/bench-peers.sf (3.8M parameters, tied head, learned positions)", threads, 96);
  if (args.includes("--big")) {
    const big = checkSource(BIG, "bandwidth-bound.sf").entry!;
    await bench(big, "bandwidth-bound model (d 1024, 8 layers, vocab 32,000)", threads, 16);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchLowBit(process.argv.slice(2));
}
