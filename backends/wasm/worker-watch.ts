// Worker threads whose death reaches a thread blocked in Atomics.wait (the Wasm backend's
// inference runtime, ./runtime.ts, and its training thread pool, ./train/thread-pool.ts).
//
// Both block the calling thread until their workers are done, and a thread blocked in
// Atomics.wait (or in a Wasm memory.atomic.wait32) runs no event loop: a Worker's 'error' and
// 'exit' events never fire there. Node has no synchronous way to ask whether a worker still
// runs — threadId, performance.eventLoopUtilization() and the like change only when the
// parent's event loop handles the exit — and a worker that is terminated or killed for
// running out of heap runs none of its own code on the way out (no try/finally, no
// process.on('exit')). So the workers are started by a watcher thread that runs nothing else:
// its event loop is free while the caller waits, and when one of its workers ends it posts the
// reason on a MessagePort the caller reads synchronously (receiveMessageOnPort), then writes
// the worker's number into an i32 of the shared memory, sets the caller's abort words and
// notifies the words the caller may be waiting on. The callers wait in bounded slices and
// read the dead word between them, so even a notify that lands before the wait begins costs
// one slice, never a hang.
//
// Limit: the watcher itself runs only these listeners, so none of the ways a worker dies
// (its code throwing, process.exit, running out of heap, a Wasm trap escaping) can reach it;
// but were it terminated from outside, its workers would end with it unreported. Nothing in
// specformer does that. A whole-process kill (the OS's out-of-memory killer) ends the caller too.

import type { MessagePort, Worker } from "node:worker_threads";

export type WorkerThreads = typeof import("node:worker_threads");

/** One worker: its number (1 up; 0 means none dead) and what its source reads as workerData. */
export interface WatchedSpec {
  tid: number;
  data: Record<string, unknown>;
  /** Objects of `data` to transfer rather than clone (MessagePorts). */
  transfer?: readonly MessagePort[];
}

export interface WatchOptions {
  /** node:worker_threads, passed in so a browser bundle never imports it. */
  wt: WorkerThreads;
  /** The shared memory the words below index (as i32). */
  memory: WebAssembly.Memory;
  /** Set to the number of the first worker that ends. */
  deadAt: number;
  /** Set to 1 when a worker ends (the inference barriers' abort word). */
  abortAt?: readonly number[];
  /** Notified when a worker ends: every word the caller may be blocked on. */
  wake: readonly number[];
  /** The workers' source (run with eval). */
  source: string;
  workers: readonly WatchedSpec[];
}

/** The watcher's body, plain JS so it runs without a TypeScript loader (vitest, tsx, node). */
const WATCHER_SOURCE = `
const { workerData, parentPort, Worker } = require("node:worker_threads");
const { memory, deadAt, abortAt, wake, source, workers, port } = workerData;
const i32 = new Int32Array(memory.buffer);
const running = new Map();
const text = (e) => String((e && e.message) || e).split("\\n")[0];
function report(tid, why) {
  running.delete(tid);
  // The reason first: the caller reads it as soon as it sees the dead word.
  port.postMessage({ tid, why });
  parentPort.postMessage({ tid, died: why });
  Atomics.compareExchange(i32, deadAt, 0, tid);
  for (const at of abortAt) Atomics.store(i32, at, 1);
  for (const at of [deadAt, ...wake]) Atomics.notify(i32, at);
}
for (const { tid, data, transfer } of workers) {
  let why;
  let w;
  try {
    w = new Worker(source, { eval: true, workerData: data, transferList: transfer });
  } catch (e) {
    report(tid, "could not start: " + text(e));
    continue;
  }
  running.set(tid, w);
  // A worker's own { error } message is why it is about to end (the inference worker's trap).
  w.on("message", (m) => {
    if (m && typeof m === "object" && typeof m.error === "string") why ??= m.error;
    parentPort.postMessage({ tid, message: m });
  });
  w.on("error", (e) => (why = text(e)));
  w.on("exit", (code) => report(tid, why ?? "it exited (exit code " + code + ")"));
}
// Tests end a worker from outside, as an out-of-memory kill would.
port.on("message", (m) => void running.get(m.terminate)?.terminate());
port.unref();
`;

/** How long a caller's Atomics.wait may sleep before it looks at the dead word again (ms). */
export const WAIT_SLICE_MS = 100;

export class WatchedWorkers {
  private readonly i32: Int32Array;
  private readonly watcher: Worker;
  /** The watcher's reports, read synchronously. */
  private readonly port: MessagePort;
  private readonly reasons = new Map<number, string>();
  /** The watcher's own failure, heard on this thread's event loop (it runs no product code: a bug here). */
  private failure: string | undefined;
  private died: ((tid: number, why: string) => void) | undefined;

  constructor(private readonly o: WatchOptions) {
    if (!(o.memory.buffer instanceof SharedArrayBuffer)) throw new Error("worker-watch: the memory is not shared");
    this.i32 = new Int32Array(o.memory.buffer);
    const { port1, port2 } = new o.wt.MessageChannel();
    const transfer = [port2, ...o.workers.flatMap((w) => w.transfer ?? [])];
    const workers = o.workers.map(({ tid, data, transfer }) => ({ tid, data, transfer: transfer ?? [] }));
    const workerData = { memory: o.memory, deadAt: o.deadAt, abortAt: o.abortAt ?? [], wake: o.wake, source: o.source, workers, port: port2 };
    this.watcher = new o.wt.Worker(WATCHER_SOURCE, { eval: true, workerData, transferList: transfer });
    // Never keeps the process alive; its workers end with it.
    this.watcher.unref();
    this.watcher.on("error", (e) => {
      this.failure ??= `the watcher thread failed: ${e instanceof Error ? e.message : String(e)}`;
      this.died?.(0, this.failure);
    });
    port1.unref();
    this.port = port1;
  }

  /** The number of the first worker that ended; 0 while all run. */
  dead(): number {
    return Atomics.load(this.i32, this.o.deadAt);
  }

  /** "worker thread N died: why" for the first worker that ended, or undefined while all run. */
  death(): string | undefined {
    const tid = this.dead();
    if (tid === 0) return this.failure;
    for (let m; (m = this.o.wt.receiveMessageOnPort(this.port)) !== undefined; ) {
      const { tid, why } = m.message as { tid: number; why: string };
      this.reasons.set(tid, why);
    }
    return `worker thread ${tid} died: ${this.reasons.get(tid) ?? "no reason reported"}`;
  }

  /** death(), after waiting up to `ms` for one (a worker that trapped is still on its way out). */
  awaitDeath(ms: number): string | undefined {
    const deadline = Date.now() + ms;
    for (let left; this.dead() === 0 && (left = deadline - Date.now()) > 0; ) Atomics.wait(this.i32, this.o.deadAt, 0, Math.min(left, WAIT_SLICE_MS));
    return this.death();
  }

  /**
   * Messages the workers post on their parentPort, and deaths, on this thread's event loop
   * (for work that awaits, such as start-up).
   */
  onMessage(f: (tid: number, message: unknown) => void, died: (tid: number, why: string) => void): void {
    this.died = died;
    this.watcher.on("message", (m: { tid: number; message?: unknown; died?: string }) => (m.died !== undefined ? died(m.tid, m.died) : f(m.tid, m.message)));
  }

  /** Test only: ends worker `tid` from outside (Worker.terminate), as an out-of-memory kill would. */
  terminateForTest(tid: number): void {
    this.port.postMessage({ terminate: tid });
  }

  /** Ends the watcher and with it every worker. */
  close(): void {
    this.port.close();
    void this.watcher.terminate();
  }
}
