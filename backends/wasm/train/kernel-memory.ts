// The one memory the Wasm training kernels share, as a bump allocator reset at the start of
// every kernel call: operands are copied in (float32) and results copied out (float32 for the
// engine, which keeps them so; float64 for the Mamba kernels and the gradients added into),
// O(rows · width) copies against O(rows · width · width) multiply-adds. With worker threads
// (thread-pool.ts) the memory is shared and declares its maximum (a shared memory cannot grow
// past it; 4 GiB, as the inference backend's), and its first CONTROL_BYTES hold the pool's
// control block instead of the 64 bytes a single thread leaves unused.

import type { Num } from "../../reference/backward/index.ts";
import { BufferPool } from "../../../src/train/buffer-pool.ts";
import { MAX_PAGES } from "../plan.ts";

const PAGE = 65536;
/**
 * Slack after every buffer: training attention reads the key mask four keys at a time over
 * whole 32-key blocks, up to 31 floats past its end.
 */
const SLACK = 4096;

/** Bytes at the start of a shared memory that the thread pool's control block takes. */
export const CONTROL_BYTES = 4096;

/** A memory the kernels' modules import as env.memory; `shared` for worker threads. */
export const trainMemory = (shared = false): WebAssembly.Memory => new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, ...(shared ? { shared: true } : {}) });

export class KernelMemory {
  private top = 0;
  /** The arrays results are copied out into: reused from step to step inside the engine's step scope (WasmTrainKernels' stepBegin / stepEnd). */
  readonly pool = new BufferPool();

  /** `reserved`: bytes at address 0 that no kernel call is given (64, or CONTROL_BYTES with threads). */
  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly reserved = 64,
  ) {}

  reset(): void {
    this.top = this.reserved;
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
