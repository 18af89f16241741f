// Worker threads for the Wasm training kernels: T − 1 workers (node:worker_threads) instantiate
// every kernel module the calling thread compiles on the one shared memory, and each kernel
// call is split into shares (split.ts) — the calling thread runs the first, worker w the w-th.
// The inference backend (../runtime.ts) keeps its workers inside one module's worker_loop,
// meeting at barriers between ops; the training kernels are many small modules compiled on first
// use and called one at a time from JS, so here the workers wait in JS: on the generation
// counter of a control block at the start of the memory (kernel-memory.ts's CONTROL_BYTES), read
// their share's arguments from it, call the function, count themselves done and notify.
//
// TrainKernels is synchronous, so the calling thread blocks in Atomics.wait until the workers
// are done: allowed in Node's main thread and in workers, not in a browser's main thread — a
// generated package's trainer() therefore trains on one thread (src/emit/runtime/train-wasm.ts
// gives no threads option). Modules reach the workers over a MessagePort each, read there
// synchronously (receiveMessageOnPort) when a call names a function the worker lacks: a worker
// blocked in Atomics.wait runs no event loop. Workers are unref'd (they never keep the process
// alive) and close() ends them.

import type { MessagePort, Worker } from "node:worker_threads";
import { CONTROL_BYTES } from "./kernel-memory.ts";

/** One thread's share of a kernel call: the module's set_thread(tid, nth), then the function's arguments. */
export interface Share {
  tid: number;
  nth: number;
  args: number[];
}

/** The control block, as i32 indices. */
const C = { GEN: 0, DONE: 1, CMD: 2, ERR: 3, FN: 4, SHARES: 5, READY: 6, ARGS: 16, STRIDE: 32, RUN: 1, EXIT: 2 } as const;
/** Arguments a share may carry (the stride less tid, nth and the count). */
const MAX_ARGS = C.STRIDE - 3;
/** The most threads the block has room for (the inference backend's MAX_THREADS as well). */
export const MAX_TRAIN_THREADS = 16;
if (C.ARGS + MAX_TRAIN_THREADS * C.STRIDE > CONTROL_BYTES / 4) throw new Error("thread-pool: the control block does not fit CONTROL_BYTES");

/** Worker body, plain JS so it runs without a TypeScript loader (vitest, tsx, node). */
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { memory, port, tid, baseline, C } = workerData;
const c = new Int32Array(memory.buffer, 0, C.ARGS + ${MAX_TRAIN_THREADS} * C.STRIDE);
const fns = [];
const sets = [];
function load() {
  for (let m; (m = receiveMessageOnPort(port)) !== undefined; ) {
    const { module, names, first } = m.message;
    const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
    for (let k = 0; k < names.length; k++) { fns[first + k] = ex[names[k]]; sets[first + k] = ex.set_thread; }
  }
}
Atomics.add(c, C.READY, 1);
Atomics.notify(c, C.READY);
let seen = baseline;
for (;;) {
  Atomics.wait(c, C.GEN, seen);
  const g = Atomics.load(c, C.GEN);
  if (g === seen) continue;
  seen = g;
  if (Atomics.load(c, C.CMD) === C.EXIT) break;
  try {
    if (tid < Atomics.load(c, C.SHARES)) {
      const id = c[C.FN];
      if (fns[id] === undefined) load();
      if (fns[id] === undefined) throw new Error("kernel function " + id + " never reached worker " + tid);
      const at = C.ARGS + tid * C.STRIDE;
      sets[id](c[at], c[at + 1]);
      fns[id](...c.subarray(at + 3, at + 3 + c[at + 2]));
    }
  } catch (e) {
    Atomics.store(c, C.ERR, 1);
    port.postMessage({ error: String((e && e.stack) || e) });
  }
  Atomics.add(c, C.DONE, 1);
  Atomics.notify(c, C.DONE);
}
`;

type WorkerThreads = typeof import("node:worker_threads");

/** node:worker_threads without an import statement, so train.js (a browser bundle) stays free of it. */
function workerThreads(): WorkerThreads {
  const wt = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("node:worker_threads") as WorkerThreads | undefined;
  if (wt === undefined) throw new Error("wasm training: threads > 1 need Node's worker_threads (a browser's main thread may not block in Atomics.wait); use 1 thread");
  return wt;
}

/** How long the first call waits for the workers to start before it gives up (ms). */
const START_TIMEOUT_MS = 60_000;

export class TrainThreadPool {
  private readonly c: Int32Array;
  private readonly wt: WorkerThreads;
  private workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private nextId = 0;
  private started = false;
  private broken: string | undefined;

  constructor(
    memory: WebAssembly.Memory,
    readonly threads: number,
  ) {
    if (!(memory.buffer instanceof SharedArrayBuffer)) throw new Error("thread-pool: the kernels' memory is not shared");
    if (!Number.isInteger(threads) || threads < 2 || threads > MAX_TRAIN_THREADS) throw new Error(`thread-pool: threads must be an integer from 2 to ${MAX_TRAIN_THREADS}, got ${threads}`);
    this.wt = workerThreads();
    this.c = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
    const baseline = Atomics.load(this.c, C.GEN);
    for (let tid = 1; tid < threads; tid++) {
      const { port1, port2 } = new this.wt.MessageChannel();
      const w = new this.wt.Worker(WORKER_SOURCE, { eval: true, workerData: { memory, port: port2, tid, baseline, C }, transferList: [port2] });
      w.unref();
      port1.unref();
      // A worker that dies outside its call loop's catch: say so at the next call rather than crash the process.
      w.on("error", (e) => (this.broken ??= `a worker thread failed (${e instanceof Error ? e.message : String(e)}); create the kernels again`));
      this.workers.push(w);
      this.ports.push(port1);
    }
  }

  /** Hands a module to every worker; returns the ids its functions `names` are called by. */
  load(module: WebAssembly.Module, names: readonly string[]): number[] {
    const first = this.nextId;
    this.nextId += names.length;
    for (const p of this.ports) p.postMessage({ module, names, first });
    return names.map((_, k) => first + k);
  }

  /** Runs shares[0] here (`local`) and shares[w] on worker w; returns when every share is done. */
  run(id: number, shares: readonly Share[], local: (s: Share) => void): void {
    if (this.broken !== undefined) throw new Error(`wasm training: ${this.broken}`);
    if (shares.length === 0 || shares.length > this.threads) throw new Error(`thread-pool: ${shares.length} shares for ${this.threads} threads`);
    if (shares.length === 1) return local(shares[0]);
    const c = this.c;
    if (!this.started) this.awaitStart();
    for (let t = 1; t < shares.length; t++) {
      const { tid, nth, args } = shares[t];
      if (args.length > MAX_ARGS) throw new Error(`thread-pool: ${args.length} arguments, at most ${MAX_ARGS}`);
      const at = C.ARGS + t * C.STRIDE;
      c[at] = tid;
      c[at + 1] = nth;
      c[at + 2] = args.length;
      c.set(args, at + 3);
    }
    c[C.FN] = id;
    Atomics.store(c, C.SHARES, shares.length);
    Atomics.store(c, C.DONE, 0);
    Atomics.store(c, C.CMD, C.RUN);
    Atomics.add(c, C.GEN, 1);
    Atomics.notify(c, C.GEN);
    try {
      local(shares[0]);
    } finally {
      // Even when this thread's share threw: the workers still write the memory the next call reuses.
      const all = this.threads - 1;
      for (let d; (d = Atomics.load(c, C.DONE)) < all; ) Atomics.wait(c, C.DONE, d);
    }
    if (Atomics.load(c, C.ERR) !== 0) {
      const why = this.ports.map((p) => (this.wt.receiveMessageOnPort(p)?.message as { error?: string } | undefined)?.error).find((e) => e !== undefined);
      this.broken = `a worker thread failed (${why ?? "no message"}); create the kernels again`;
      throw new Error(`wasm training: ${this.broken}`);
    }
  }

  /** Blocks until every worker has started (a worker that cannot start would leave a call waiting forever). */
  private awaitStart(): void {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (let r; (r = Atomics.load(this.c, C.READY)) < this.threads - 1; ) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`wasm training: ${this.threads - 1 - r} of ${this.threads - 1} worker threads did not start within ${START_TIMEOUT_MS / 1000} s`);
      Atomics.wait(this.c, C.READY, r, left);
    }
    this.started = true;
  }

  /** Ends the workers; the pool runs nothing after. */
  close(): void {
    if (this.workers.length === 0) return;
    Atomics.store(this.c, C.CMD, C.EXIT);
    Atomics.add(this.c, C.GEN, 1);
    Atomics.notify(this.c, C.GEN);
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
    this.workers = [];
    this.broken ??= "the kernels were closed";
  }
}
