// Streaming-read bandwidth of this machine from Wasm (backends/wasm/kernel-bench.ts
// streamReadModule) on 1 or more threads, over a buffer far larger than the caches: the bound a
// decode step's weight reads are measured against in bench/lowbit.ts.

import { streamReadModule } from "../backends/wasm/kernel-bench.ts";

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { module, memory, start, bytes, flag } = workerData;
const read = new WebAssembly.Instance(module, { env: { memory } }).exports.read;
const i32 = new Int32Array(memory.buffer);
parentPort.postMessage("ready");
for (let gen = 0; ; ) {
  Atomics.wait(i32, flag, gen);
  gen = Atomics.load(i32, flag);
  if (gen < 0) break;
  read(start, bytes);
  Atomics.add(i32, flag + 1, 1);
  Atomics.notify(i32, flag + 1);
}
`;

export interface ReadBandwidth {
  /** Bytes per second of one pass over the buffer by `threads` threads, per repetition. */
  measure(reps: number): number[];
  dispose(): void;
}

/** A buffer of `bytes` split over `threads` (the caller's thread reads the first share). */
export async function readBandwidth(threads: number, bytes: number): Promise<ReadBandwidth> {
  const { Worker } = await import("node:worker_threads");
  const share = Math.floor(bytes / threads / 64) * 64;
  const pages = Math.ceil((4096 + share * threads) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  new Uint8Array(memory.buffer).fill(1, 4096);
  const module = new WebAssembly.Module(streamReadModule(true) as Uint8Array<ArrayBuffer>);
  const read = new WebAssembly.Instance(module, { env: { memory } }).exports.read as (p: number, n: number) => number;
  const i32 = new Int32Array(memory.buffer);
  const flag = 0; // [flag] generation, [flag + 1] workers done
  const workers = await Promise.all(
    Array.from({ length: threads - 1 }, (_, t) => {
      const w = new Worker(WORKER, { eval: true, workerData: { module, memory, start: 4096 + share * (t + 1), bytes: share, flag } });
      return new Promise<InstanceType<typeof Worker>>((resolve) => w.once("message", () => resolve(w)));
    }),
  );
  return {
    measure(reps) {
      const out: number[] = [];
      for (let r = 0; r < reps; r++) {
        Atomics.store(i32, flag + 1, 0);
        const t0 = performance.now();
        Atomics.add(i32, flag, 1);
        Atomics.notify(i32, flag);
        read(4096, share);
        while (Atomics.load(i32, flag + 1) < threads - 1) Atomics.wait(i32, flag + 1, Atomics.load(i32, flag + 1), 1);
        out.push((share * threads) / ((performance.now() - t0) / 1000));
      }
      return out;
    },
    dispose() {
      Atomics.store(i32, flag, -1);
      Atomics.notify(i32, flag);
      for (const w of workers) void w.terminate();
    },
  };
}
