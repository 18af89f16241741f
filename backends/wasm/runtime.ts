// One instantiated module and its memory: the heap of state regions above the static part,
// the call descriptor, and (optionally) worker threads that run the same entry points over a
// shared memory, each on its share of every op, meeting at barriers inside the module.
//
// A worker that dies mid-call (terminated, out of heap) would leave thread 0 at a barrier for
// good: the barriers wait in 1 ms slices and stop at the abort word, so the workers run under
// ./worker-watch.ts's watcher thread, which sets abort (and the dead word, with the worker's
// number) when one ends, whatever ended it.

import { SplitChoice } from "./split-choice.ts";
import { WatchedWorkers, type WatchedSpec } from "./worker-watch.ts";
import { DESC, MAX_BYTES, SLOT, SLOT_BYTES, WASM_PAGE, align, type WasmPlan } from "./plan.ts";

/** Rows (sequences × new tokens) from which a call always splits: prefill and batched steps. */
const SPLIT_ROWS = 8;
/**
 * Packed weight bytes per op from which a one-row step splits too: two threads then stream
 * more bytes per second than one (bench/lowbit.ts's read kernel: ~1.7× here) and the meetings
 * at the barriers cost little beside the reads.
 */
const SPLIT_BYTES_PER_OP = 1 << 20;

/** How long a call whose worker trapped waits for that worker's reason before it throws without one (ms). */
const TRAP_REASON_MS = 1000;

/** Worker body, as plain JS so it runs without a TypeScript loader (vitest, tsx, node). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { module, memory, tid, nth, baseline, abortAt, barGenAt } = workerData;
const inst = new WebAssembly.Instance(module, { env: { memory } });
inst.exports.set_thread(tid, nth);
parentPort.postMessage("ready");
try {
  inst.exports.worker_loop(baseline);
} catch (e) {
  // Release whoever waits at a barrier, and tell the main thread why.
  const i32 = new Int32Array(memory.buffer);
  Atomics.store(i32, abortAt >> 2, 1);
  Atomics.add(i32, barGenAt >> 2, 1);
  Atomics.notify(i32, barGenAt >> 2);
  parentPort.postMessage({ error: String((e && e.message) || e).split("\\n")[0] });
}
`;

export interface Region {
  offset: number;
  bytes: number;
}

/** Bytes as a readable size for error messages. */
export function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

export class WasmRuntime {
  readonly exports: { encode(): void; decode(): void; set_thread(t: number, n: number): void };
  private free: Region[] = [];
  private top: number;
  private watched: WatchedWorkers | undefined;
  private readonly weightBytesPerOp: number;
  private readonly splitChoice = new SplitChoice();
  broken: string | undefined;

  private constructor(
    readonly plan: WasmPlan,
    readonly memory: WebAssembly.Memory,
    instance: WebAssembly.Instance,
    readonly threads: number,
    private readonly splitEveryCall: boolean,
  ) {
    this.exports = instance.exports as unknown as WasmRuntime["exports"];
    this.top = plan.layout.staticBytes;
    const ops = Math.max(1, plan.decode.length);
    // The packed matrices are what a decode step reads whole (an embedding, one row of).
    this.weightBytesPerOp = plan.layout.weights.reduce((n, w) => n + (w.packed || w.storage ? w.bytes : 0), 0) / ops;
  }

  static async create(plan: WasmPlan, module: WebAssembly.Module, threads: number, splitEveryCall = false): Promise<WasmRuntime> {
    const pages = plan.layout.staticBytes / WASM_PAGE;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, ...(threads > 1 ? { shared: true } : {}) });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const rt = new WasmRuntime(plan, memory, instance, threads, splitEveryCall);
    rt.exports.set_thread(0, threads);
    if (threads > 1) await rt.startWorkers(module);
    return rt;
  }

  private async startWorkers(module: WebAssembly.Module): Promise<void> {
    const desc = this.plan.layout.desc;
    const baseline = Atomics.load(this.i32(), (desc + DESC.gen) >> 2);
    // Loaded only for threads: a single-threaded model must also run in a browser bundle.
    const wt = await import("node:worker_threads");
    const workers: WatchedSpec[] = [];
    for (let tid = 1; tid < this.threads; tid++) {
      workers.push({ tid, data: { module, memory: this.memory, tid, nth: this.threads, baseline, abortAt: desc + DESC.abort, barGenAt: desc + DESC.barGen } });
    }
    const at = (field: number) => (desc + field) >> 2;
    this.watched = new WatchedWorkers({ wt, memory: this.memory, deadAt: at(DESC.dead), abortAt: [at(DESC.abort)], wake: [at(DESC.barGen)], source: WORKER_SOURCE, workers });
    await new Promise<void>((resolve, reject) => {
      let waiting = workers.length;
      this.watched!.onMessage(
        (_, m) => {
          if (m === "ready" && --waiting === 0) resolve();
        },
        (tid, why) => {
          // Between calls (or before the first) this thread's event loop hears of it first.
          this.broken ??= tid === 0 ? why : `worker thread ${tid} died: ${why}`;
          reject(new Error(`wasm backend: ${this.broken}`));
        },
      );
    });
  }

  i32(): Int32Array {
    return new Int32Array(this.memory.buffer);
  }
  u32(): Uint32Array {
    return new Uint32Array(this.memory.buffer);
  }
  f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  /** First-fit allocation above the static part, growing memory (up to 4 GiB) as needed. */
  alloc(bytes: number, what: string): Region {
    bytes = align(Math.max(bytes, 64));
    for (let i = 0; i < this.free.length; i++) {
      const r = this.free[i];
      if (r.bytes >= bytes) {
        this.free.splice(i, 1);
        if (r.bytes > bytes) this.free.push({ offset: r.offset + bytes, bytes: r.bytes - bytes });
        return { offset: r.offset, bytes };
      }
    }
    const offset = this.top;
    const end = offset + bytes;
    if (end > MAX_BYTES) {
      throw new RangeError(
        `wasm backend: ${what} needs ${bytes} bytes (${formatBytes(bytes)}) of Wasm memory on top of ${offset} already in use; ` +
          `that is ${end} bytes, beyond the 4 GiB (${MAX_BYTES} bytes) wasm32 limit`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / WASM_PAGE));
    this.top = end;
    return { offset, bytes };
  }

  release(r: Region): void {
    this.free.push(r);
    this.free.sort((a, b) => a.offset - b.offset);
    const merged: Region[] = [];
    for (const x of this.free) {
      const prev = merged[merged.length - 1];
      if (prev && prev.offset + prev.bytes === x.offset) prev.bytes += x.bytes;
      else merged.push({ ...x });
    }
    // Give the tail back to the bump pointer so a later larger state can reuse it.
    const last = merged[merged.length - 1];
    if (last && last.offset + last.bytes === this.top) {
      this.top = last.offset;
      merged.pop();
    }
    this.free = merged;
  }

  setCall(fields: { g: number; n: number; pos0: number; srcLen: number }): void {
    const i = this.i32();
    const d = this.plan.layout.desc >> 2;
    i[d + DESC.g / 4] = fields.g;
    i[d + DESC.n / 4] = fields.n;
    i[d + DESC.pos0 / 4] = fields.pos0;
    i[d + DESC.srcLen / 4] = fields.srcLen;
  }

  setSlot(index: number, rec: { k: number; v: number; stride: number; mask: number; maskStride: number }): void {
    const u = this.u32();
    const at = (this.plan.layout.desc + DESC.slots + SLOT_BYTES * index) >> 2;
    u[at + SLOT.k / 4] = rec.k;
    u[at + SLOT.v / 4] = rec.v;
    u[at + SLOT.stride / 4] = rec.stride;
    u[at + SLOT.mask / 4] = rec.mask;
    u[at + SLOT.maskStride / 4] = rec.maskStride;
  }

  /**
   * Whether a call of `rows` rows splits across the threads, where a fixed rule decides: prefill
   * and batched steps always (each op has rows enough for every thread), and steps whose ops each
   * read enough weight bytes that two readers pay. Other calls (undefined) are measured both
   * ways, per kind, by ./split-choice.ts: there the barriers' cost against the work saved depends
   * on the machine and its load (bench-peers' decode step, two threads: 3x slower on a loaded
   * machine, 1.4x faster on a quiet one).
   */
  private splitFixed(rows: number): boolean | undefined {
    if (this.threads <= 1) return false;
    if (rows >= SPLIT_ROWS || this.splitEveryCall || this.weightBytesPerOp >= SPLIT_BYTES_PER_OP) return true;
    return undefined;
  }

  /** Runs an entry point on every thread, or on this one alone where a split does not pay; returns when all are done. */
  run(entry: "encode" | "decode"): void {
    this.broken ??= this.watched?.death();
    if (this.broken) throw new Error(`wasm backend: ${this.broken}`);
    const i = this.i32();
    const d = this.plan.layout.desc >> 2;
    const rows = i[d + DESC.g / 4] * i[d + DESC.n / 4];
    const fixed = this.splitFixed(rows);
    const kind = `${entry} ${rows}`;
    const split = fixed ?? this.splitChoice.choose(kind);
    const t0 = fixed === undefined ? performance.now() : 0;
    if (split) {
      Atomics.store(i, d + DESC.cmd / 4, entry === "encode" ? 1 : 2);
      Atomics.add(i, d + DESC.gen / 4, 1);
      Atomics.notify(i, d + DESC.gen / 4);
    } else if (this.threads > 1) {
      // The workers sleep on; thread 0 takes every share and its barriers return at once.
      this.exports.set_thread(0, 1);
    }
    try {
      this.exports[entry]();
    } catch (e) {
      this.broken = `a call trapped (${e instanceof Error ? e.message : String(e)}); create the model again`;
      throw e;
    } finally {
      if (!split && this.threads > 1) this.exports.set_thread(0, this.threads);
    }
    if (split && Atomics.load(i, d + DESC.abort / 4) !== 0) {
      // A worker that trapped is still on its way out: its reason comes with its exit.
      this.broken ??= this.watched?.awaitDeath(TRAP_REASON_MS) ?? "a worker thread trapped";
      throw new Error(`wasm backend: ${this.broken}`);
    }
    if (fixed === undefined) this.splitChoice.record(kind, split, performance.now() - t0);
  }

  dispose(): void {
    if (this.threads > 1 && !this.broken) {
      const i = this.i32();
      const d = this.plan.layout.desc >> 2;
      Atomics.store(i, d + DESC.cmd / 4, 3);
      Atomics.add(i, d + DESC.gen / 4, 1);
      Atomics.notify(i, d + DESC.gen / 4);
    }
    this.watched?.close();
    this.watched = undefined;
  }

  /** Test only: ends worker `tid` from outside (terminate), as an out-of-memory kill would. */
  terminateWorkerForTest(tid: number): void {
    if (this.watched === undefined) throw new Error("wasm backend: this model runs no worker threads");
    this.watched.terminateForTest(tid);
  }
}
