// The decode matrix–vector kernels alone (one row, one thread), in GB/s of weights streamed, for
// each storage dtype at the bandwidth-bound model's shapes (bench/bandwidth-bound.sf: d 1024,
// ff 4096), beside the streaming-read bandwidth (bench/read-bandwidth.ts) measured in the same
// run. Each shape is packed in enough copies to pass 256 MB, and one timed pass runs the kernel
// over every copy in turn, so the weights come from memory as in a decode step, not from cache.
//
//   npx tsx bench/lowbit-kernels.ts [--reps 15] [--plain]
//
// Without --experimental-wasm-relaxed-simd (Node 20) the bench re-runs itself with it and with
// --no-liftoff (so the timed code is TurboFan's from the first call). --plain measures the plain
// SIMD kernels instead of the relaxed ones. Figures are medians (and best) of --reps passes, each
// right after one read pass; "÷ read" is the median of the per-pass ratios (1 = the kernel
// streams its weights as fast as the read kernel reads).

import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { decodeBenchModule } from "../backends/wasm/kernel-bench.ts";
import { packedBytes } from "../backends/wasm/lowbit.ts";
import { STORAGE_DTYPES } from "../src/runtime/weights/format.ts";
import { readBandwidth } from "./read-bandwidth.ts";
import { compileWasmWithTurbofan } from "./turbofan.ts";

const CHILD = "SPECFORMER_LOWBIT_KERNELS_CHILD";
const FLAGS = ["--experimental-wasm-relaxed-simd", "--no-liftoff"];
const TOTAL = 256 * 2 ** 20;

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 0.1 * (s / 2 ** 32 - 0.5);
  });
}

const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

async function main(args: string[]): Promise<void> {
  compileWasmWithTurbofan();
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const reps = Math.max(3, Number(opt("--reps") ?? 15) | 0);
  const relaxed = relaxedSimdSupported() && !args.includes("--plain");
  console.log(`\nDecode matrix–vector kernels on ${os.cpus()[0]?.model ?? "?"}, load average ${os.loadavg()[0].toFixed(1)}, Node ${process.version}, ${relaxed ? "relaxed" : "plain"} SIMD, one thread`);
  const reader = await readBandwidth(1, TOTAL);
  const rows: Record<string, unknown>[] = [];
  for (const [K, N] of [
    [1024, 4096],
    [4096, 1024],
  ]) {
    for (const dtype of STORAGE_DTYPES) {
      const bytes = packedBytes(dtype, N, K);
      const k = decodeBenchModule(relaxed, dtype, rand(N * K, 11), N, K, Math.max(2, Math.ceil(TOTAL / bytes)));
      const pass = (): number => {
        const t = performance.now();
        for (let i = 0; i < k.copies; i++) k.run(i);
        return performance.now() - t;
      };
      for (let i = 0; i < 3; i++) pass();
      // Each pass right after a read pass: on a shared machine the ratio of the two moves less
      // than either.
      const gbs: number[] = [];
      const read: number[] = [];
      for (let r = 0; r < reps; r++) {
        read.push(reader.measure(1)[0] / 1e9);
        gbs.push((k.bytes * k.copies) / (pass() / 1000) / 1e9);
      }
      rows.push({
        dtype,
        "K × N": `${K} × ${N}`,
        "MB / call": r1(k.bytes / 1e6),
        "GB/s median": r1(median(gbs)),
        "GB/s best": r1(Math.max(...gbs)),
        "read GB/s": r1(median(read)),
        "÷ read": r2(median(gbs.map((g, i) => g / read[i]))),
      });
    }
  }
  reader.dispose();
  console.table(rows);
  console.log(`load average at the end ${os.loadavg()[0].toFixed(1)}`);
}

if (!relaxedSimdSupported() && process.env[CHILD] === undefined) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...FLAGS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
  process.exit(r.status ?? 1);
}
await main(process.argv.slice(2));
