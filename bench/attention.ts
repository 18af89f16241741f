// Attention kernel benchmark, one thread: prefill GFLOP/s of the fused softmax kernel against
// the machine's relaxed-SIMD peak (measured in the same run) for causal, full, window, ALiBi,
// soft-cap and GQA attention at 128 / 512 / 2,048 rows, then how the cost grows with the
// sequence (1k / 4k / 16k tokens) for causal, sliding-window and linear attention.
// `npx tsx bench/attention.ts` (re-runs itself with Node 20's --experimental-wasm-relaxed-simd).
// Times are this process's CPU time (process.cpuUsage), not wall time: on a machine loaded by
// other processes the wall clock counts the time this one waits for a core, which changes from
// one second to the next, while the kernel and the peak loop it is compared with only run when
// scheduled. SPECFORMER_BENCH_ROUNDS (default 5) rounds of timed runs; every figure is the
// median over all of them. SPECFORMER_BENCH_PLAIN=1 measures plain SIMD as well.

import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { peakModule } from "../backends/wasm/kernel-bench.ts";
import { type AttentionBenchSpec, attentionBenchModule } from "../backends/wasm/kernel-bench-attention.ts";
import { relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { compileWasmWithTurbofan } from "./turbofan.ts";

const CHILD = "SPECFORMER_ATTN_BENCH_CHILD";
const FLAG = "--experimental-wasm-relaxed-simd";
const ROUNDS = Math.max(1, Number(process.env.SPECFORMER_BENCH_ROUNDS ?? 5));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

/** CPU milliseconds this process has used. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Times fn: a short warm-up, then ROUNDS rounds of `reps` runs; the median and the spread (min–max of round medians) in CPU ms. */
function time(fn: () => void, reps: number, warmMs = 300): { med: number; lo: number; hi: number } {
  const t0 = cpuMs();
  do fn();
  while (cpuMs() - t0 < warmMs);
  const all: number[] = [];
  const perRound: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const ts: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t = cpuMs();
      fn();
      ts.push(cpuMs() - t);
    }
    all.push(...ts);
    perRound.push(median(ts));
  }
  return { med: median(all), lo: Math.min(...perRound), hi: Math.max(...perRound) };
}

function peak(relaxed: boolean): number {
  // x64 V8 has 15 usable xmm registers: 14 chains plus the two operands spill.
  const best = [8, 10, 12].map((chains) => {
    const mod = peakModule(relaxed, chains);
    const run = new WebAssembly.Instance(new WebAssembly.Module(mod.binary as Uint8Array<ArrayBuffer>)).exports.peak as (n: number) => number;
    const n = 200_000;
    return (n * mod.flopsPerIter) / time(() => run(n), 9, 400).med / 1e6;
  });
  return Math.max(...best);
}

const PREFILL: Array<[string, Omit<AttentionBenchSpec, "n">]> = [
  ["causal", { kind: "softmax", heads: 8, kvHeads: 8, headDim: 32, causal: true }],
  ["full", { kind: "softmax", heads: 8, kvHeads: 8, headDim: 32, causal: false }],
  ["window 128", { kind: "softmax", heads: 8, kvHeads: 8, headDim: 32, causal: true, window: 128 }],
  ["ALiBi causal", { kind: "softmax", heads: 8, kvHeads: 8, headDim: 32, causal: true, alibi: true }],
  ["soft-cap 50 causal", { kind: "softmax", heads: 8, kvHeads: 8, headDim: 32, causal: true, softcap: 50 }],
  ["GQA 8/2 causal", { kind: "softmax", heads: 8, kvHeads: 2, headDim: 32, causal: true }],
  ["causal hd 64", { kind: "softmax", heads: 4, kvHeads: 4, headDim: 64, causal: true }],
];

function prefill(relaxed: boolean, pk: number): void {
  const rows: Record<string, unknown>[] = [];
  for (const [name, spec] of PREFILL) {
    for (const n of [128, 512, 2048]) {
      const mod = attentionBenchModule(relaxed, { ...spec, n });
      const reps = Math.max(3, Math.min(30, Math.round(2e8 / mod.flops)));
      const t = time(() => mod.run(), reps);
      const gf = mod.flops / t.med / 1e6;
      rows.push({ attention: `${name} (${spec.heads}×${spec.headDim})`, rows: n, "ms (median)": Math.round(t.med * 1000) / 1000, "GFLOP/s": r1(gf), "of peak": `${Math.round((100 * gf) / pk)}%`, "round medians, ms": `${t.lo.toFixed(3)}–${t.hi.toFixed(3)}` });
    }
  }
  console.log(`\n## Prefill attention kernel, ${relaxed ? "relaxed" : "plain"} SIMD, 1 thread (useful FLOPs: 4·hd per visible key and head)\n`);
  console.table(rows);
}

const GROWTH: Array<[string, Omit<AttentionBenchSpec, "n">]> = [
  ["causal", { kind: "softmax", heads: 1, kvHeads: 1, headDim: 32, causal: true }],
  ["window 256", { kind: "softmax", heads: 1, kvHeads: 1, headDim: 32, causal: true, window: 256 }],
  ["linear (elu+1)", { kind: "linear", heads: 1, kvHeads: 1, headDim: 32, causal: true }],
];

function growth(relaxed: boolean): void {
  const rows: Record<string, unknown>[] = [];
  for (const [name, spec] of GROWTH) {
    let prev = 0;
    for (const n of [1024, 4096, 16384]) {
      const mod = attentionBenchModule(relaxed, { ...spec, n });
      const reps = Math.max(2, Math.min(20, Math.round(1e8 / mod.flops)));
      const t = time(() => mod.run(), reps, 100);
      rows.push({ attention: `${name} (1×32)`, tokens: n, "ms (median)": Math.round(t.med * 100) / 100, "µs / token": Math.round((1000 * t.med) / n * 100) / 100, "× previous (4× tokens)": prev ? r1(t.med / prev) : "", "GFLOP/s": r1(mod.flops / t.med / 1e6) });
      prev = t.med;
    }
  }
  console.log(`\n## Cost against sequence length, ${relaxed ? "relaxed" : "plain"} SIMD, 1 thread (linear growth: ×4 per row; quadratic: ×16)\n`);
  console.table(rows);
}

export function benchAttention(): void {
  compileWasmWithTurbofan();
  if (!relaxedSimdSupported() && process.env[CHILD] === undefined) {
    const r = spawnSync(process.execPath, [...process.execArgv, FLAG, fileURLToPath(import.meta.url)], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
    if (r.status === 0) return;
    console.log(`\n(child with ${FLAG} failed; measuring plain SIMD only)`);
  }
  const flavours = relaxedSimdSupported() ? (process.env.SPECFORMER_BENCH_PLAIN ? [false, true] : [true]) : [false];
  const load = os.loadavg()[0].toFixed(1);
  console.log(`\nAttention kernels on ${os.cpus()[0]?.model ?? "?"}, Node ${process.version}, load average ${load} at start; medians of ${ROUNDS} rounds`);
  for (const relaxed of flavours) {
    const pk = peak(relaxed);
    console.log(`\n${relaxed ? "relaxed" : "plain"} SIMD peak (1 thread, independent f32x4 chains): ${r1(pk)} GFLOP/s`);
    if (process.env.SPECFORMER_BENCH_ONLY !== "growth") prefill(relaxed, pk);
    if (process.env.SPECFORMER_BENCH_ONLY !== "prefill") growth(relaxed);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) benchAttention();
