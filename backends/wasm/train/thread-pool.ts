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
// blocked in Atomics.wait runs no event loop. The workers never keep the process alive (their
// watcher, below, is unref'd) and close() ends them.
//
// A worker that dies (its code throwing outside a call's catch, process.exit, out of heap, a
// terminate) never counts itself done, so every wait here is bounded: the workers run under
// ../worker-watch.ts's watcher thread, which writes a dead worker's number into the block's
// DEAD word and notifies DONE and READY; the waits sleep at most WAIT_SLICE_MS at a time and
// look at DEAD between slices. Normal wake-ups still come by notify, at no cost.

import type { MessagePort } from "node:worker_threads";
import { WAIT_SLICE_MS, WatchedWorkers, type WatchedSpec, type WorkerThreads } from "../worker-watch.ts";
import { CONTROL_BYTES } from "./kernel-memory.ts";

/** One thread's share of a kernel call: the module's set_thread(tid, nth), then the function's arguments. */
export interface Share {
  tid: number;
  nth: number;
  args: number[];
}

/**
 * The control block, as i32 indices. DEAD: the first dead worker's number (the watcher's);
 * DIE: test only, a worker (low byte) to die at its next call, and how (the byte above).
 */
const C = { GEN: 0, DONE: 1, CMD: 2, ERR: 3, FN: 4, SHARES: 5, READY: 6, DEAD: 7, DIE: 8, ARGS: 16, STRIDE: 32, RUN: 1, EXIT: 2 } as const;
/** How a test makes a worker die at its next call, as the DIE word's second byte. */
const DIE_HOW = { throw: 1, exit: 2 } as const;
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
  const die = Atomics.load(c, C.DIE);
  if (die !== 0 && (die & 255) === tid) {
    // Outside the call's catch, as a fault of this loop itself would be.
    if (die >> 8 === ${DIE_HOW.exit}) process.exit(3);
    throw new Error("test: worker " + tid + " threw outside its call handler");
  }
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
    port.postMessage({ error: String((e && e.message) || e).split("\\n")[0] });
  }
  Atomics.add(c, C.DONE, 1);
  Atomics.notify(c, C.DONE);
}
`;

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
  private watched: WatchedWorkers | undefined;
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
    Atomics.store(this.c, C.DEAD, 0);
    Atomics.store(this.c, C.DIE, 0);
    const workers: WatchedSpec[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const { port1, port2 } = new this.wt.MessageChannel();
      port1.unref();
      workers.push({ tid, data: { memory, port: port2, tid, baseline, C }, transfer: [port2] });
      this.ports.push(port1);
    }
    this.watched = new WatchedWorkers({ wt: this.wt, memory, deadAt: C.DEAD, wake: [C.DONE, C.READY], source: WORKER_SOURCE, workers });
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
    this.checkAlive();
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
      for (let d; (d = Atomics.load(c, C.DONE)) < all; ) {
        this.checkAlive();
        Atomics.wait(c, C.DONE, d, WAIT_SLICE_MS);
      }
    }
    if (Atomics.load(c, C.ERR) !== 0) {
      const why = this.ports.map((p) => (this.wt.receiveMessageOnPort(p)?.message as { error?: string } | undefined)?.error).find((e) => e !== undefined);
      this.broken = `a worker thread failed (${why ?? "no message"}); create the kernels again`;
      throw new Error(`wasm training: ${this.broken}`);
    }
  }

  /** Throws, now and at every later call, once the pool is closed or a worker has died. */
  private checkAlive(): void {
    if (this.broken === undefined) {
      const death = this.watched?.death();
      if (death === undefined) return;
      this.broken = `${death}; create the kernels again`;
    }
    throw new Error(`wasm training: ${this.broken}`);
  }

  /** Blocks until every worker has started (a worker that cannot start would leave a call waiting forever). */
  private awaitStart(): void {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (let r; (r = Atomics.load(this.c, C.READY)) < this.threads - 1; ) {
      this.checkAlive();
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`wasm training: ${this.threads - 1 - r} of ${this.threads - 1} worker threads did not start within ${START_TIMEOUT_MS / 1000} s`);
      Atomics.wait(this.c, C.READY, r, Math.min(left, WAIT_SLICE_MS));
    }
    this.started = true;
  }

  /**
   * Test only: worker `tid` dies at its next call — throwing outside the call's catch, calling
   * process.exit — or now, terminated from outside as an out-of-memory kill would end it.
   */
  dieForTest(tid: number, how: keyof typeof DIE_HOW | "terminate"): void {
    if (!Number.isInteger(tid) || tid < 1 || tid >= this.threads) throw new Error(`thread-pool: no worker ${tid} among ${this.threads - 1}`);
    if (how === "terminate") this.watched?.terminateForTest(tid);
    else Atomics.store(this.c, C.DIE, tid | (DIE_HOW[how] << 8));
  }

  /** Ends the workers; the pool runs nothing after. */
  close(): void {
    if (this.watched === undefined) return;
    // Closed first: the workers' exits that follow are no death.
    this.broken ??= "the kernels were closed";
    Atomics.store(this.c, C.CMD, C.EXIT);
    Atomics.add(this.c, C.GEN, 1);
    Atomics.notify(this.c, C.GEN);
    this.watched.close();
    for (const p of this.ports) p.close();
    this.watched = undefined;
  }
}
