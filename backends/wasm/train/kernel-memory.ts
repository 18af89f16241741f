// The one memory the Wasm training kernels share, as a bump allocator reset at the start of
// every kernel call: operands are copied in (float32) and results copied out (float32 for the
// engine, which keeps them so; float64 for the Mamba kernels and the gradients added into),
// O(rows · width) copies against O(rows · width · width) multiply-adds. With worker threads
// (thread-pool.ts) the memory is shared and declares its maximum (a shared memory cannot grow
// past it; 4 GiB, as the inference backend's), and its first CONTROL_BYTES hold the pool's
// control block instead of the 64 bytes a single thread leaves unused.
//
// Inside a step scope (openStep … closeStep) the float32 results handed out stay where the
// kernel wrote them: the reset after them starts above them, and `read` passes such an array
// to the next kernel by its address instead of copying it in again — a linear's output read by
// its activation, by attention, by its backward's dW and so on. On the demo model that skipped
// ~40 M of a step's ~50 M float32 elements copied in. A result is JS's array and the kernels'
// copy at once only while neither is written: results are fresh arrays (the pool's) that the
// engine does not write, kernels only read what `read` returns, and the one kind of array a
// kernel adds into and copies back (a linear's float32 dx) is kept again after the copy. The
// kept region ends at KEEP_LIMIT; results past it are copied as before.

import type { Num } from "../../reference/backward/index.ts";
import { BufferPool } from "../../../src/train/buffer-pool.ts";
import { MAX_PAGES } from "../plan.ts";

const PAGE = 65536;
/**
 * Slack after every buffer: training attention reads the key mask four keys at a time over
 * whole 32-key blocks, up to 31 floats past its end.
 */
const SLACK = 4096;

/** Results are kept (and reused by address) only below this byte address: the rest of the 4 GiB stays for each call's own buffers. */
const KEEP_LIMIT = 1 << 30;

/** Bytes at the start of a shared memory that the thread pool's control block takes. */
export const CONTROL_BYTES = 4096;

/** A memory the kernels' modules import as env.memory; `shared` for worker threads. */
export const trainMemory = (shared = false): WebAssembly.Memory => new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, ...(shared ? { shared: true } : {}) });

export class KernelMemory {
  private top = 0;
  /** Where each call's buffers start: above the results kept in this step. */
  private floor: number;
  /** The step's kept results: JS array → the byte address of the kernels' identical copy. */
  private kept = new Map<Float32Array, number>();
  /** Floats copied in by put, and floats `read` passed by address instead (a test's evidence). */
  readonly copies = { copied: 0, reused: 0 };
  /** The arrays results are copied out into: reused from step to step inside the engine's step scope (WasmTrainKernels' stepBegin / stepEnd). */
  readonly pool = new BufferPool();

  /** `reserved`: bytes at address 0 that no kernel call is given (64, or CONTROL_BYTES with threads). */
  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly reserved = 64,
    /** Whether results are kept for the step (false: every operand is copied in, as before). */
    private readonly keepResults = true,
  ) {
    this.floor = reserved;
  }

  /** Starts a call's buffers (above the step's kept results). */
  reset(): void {
    this.top = this.floor;
  }

  /** Opens a step scope: results lent by the pool, and kept here, until the matching closeStep. */
  openStep(): void {
    this.pool.open();
  }

  closeStep(): void {
    this.pool.close();
    if (this.pool.active) return;
    this.kept.clear();
    this.floor = this.reserved;
  }

  /**
   * The address of a copy of `src` for a kernel to read (or to add into, where the caller then
   * copies the sum back and keeps it again): a kept result's own, else a fresh copy.
   */
  read(src: Num | Uint8Array): number {
    if (src instanceof Float32Array) {
      const at = this.kept.get(src);
      if (at !== undefined) {
        this.copies.reused += src.length;
        return at;
      }
    }
    return this.put(src);
  }

  /** Records that `arr` (a step-scoped array) equals the floats at `at`, and keeps them for the step. */
  keep(arr: Float32Array, at: number): void {
    if (!this.keepResults || !this.pool.active) return;
    const end = Math.ceil((at + arr.length * 4 + SLACK) / 64) * 64;
    if (end > KEEP_LIMIT) return;
    this.kept.set(arr, at);
    this.floor = Math.max(this.floor, end);
  }

  /** `floats` f32 slots (plus slack), 64-byte aligned; grows the memory. Returns a byte address. */
  alloc(floats: number): number {
    const at = this.top;
    this.top = Math.ceil((at + floats * 4 + SLACK) / 64) * 64;
    const need = Math.ceil(this.top / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > have) {
      if (need > MAX_PAGES) throw new Error(`wasm training: a kernel needs ${this.top} bytes, past the 4 GiB wasm32 limit; use smaller --batch or --seq`);
      this.memory.grow(need - have);
    }
    return at;
  }

  get f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  put(src: Num | Uint8Array): number {
    const at = this.alloc(src.length);
    this.copies.copied += src.length;
    this.f32.set(src, at >> 2); // typed-array set converts natively (an element loop is ~5× slower)
    return at;
  }

  zeros(floats: number): number {
    const at = this.alloc(floats);
    this.f32.fill(0, at >> 2, (at >> 2) + floats);
    return at;
  }

  /** A float64 copy, lent by the pool inside a step scope. */
  take(at: number, floats: number): Float64Array {
    const src = this.f32.subarray(at >> 2, (at >> 2) + floats);
    const lent = this.pool.lend64(floats);
    if (lent === null) return new Float64Array(src); // converts natively, without zeroing first
    lent.set(src);
    return lent;
  }

  /** A float32 copy: the kernels' results handed on as they computed them. */
  take32(at: number, floats: number): Float32Array {
    const lent = this.pool.lend32(floats);
    if (lent === null) return this.f32.slice(at >> 2, (at >> 2) + floats);
    lent.set(this.f32.subarray(at >> 2, (at >> 2) + floats));
    this.keep(lent, at);
    return lent;
  }

  addInto(dst: Num, at: number): void {
    const view = new Float32Array(this.memory.buffer, at, dst.length);
    if (dst instanceof Float64Array) addF64(dst, view);
    else addF32(dst, view);
  }
}

// One function per destination type, so each stays monomorphic: one loop over both types ran
// ~2× slower once it had seen both (1 M elements, node: 2.4–2.9 ms against 1.2–1.4).
// Four at a time over a view of exactly dst's length: ~1.5× the plain loop (fewer bounds checks).
function addF64(dst: Float64Array, view: Float32Array): void {
  const n = dst.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    dst[i] += view[i];
    dst[i + 1] += view[i + 1];
    dst[i + 2] += view[i + 2];
    dst[i + 3] += view[i + 3];
  }
  for (; i < n; i++) dst[i] += view[i];
}

function addF32(dst: Float32Array, view: Float32Array): void {
  const n = dst.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    dst[i] += view[i];
    dst[i + 1] += view[i + 1];
    dst[i + 2] += view[i + 2];
    dst[i + 3] += view[i + 3];
  }
  for (; i < n; i++) dst[i] += view[i];
}
