// The host side of the Wasm norm and column-sum kernels (emit-norm-train.ts): copies the
// operands into the kernel memory, folds a norm's weight offset into its scale, calls the
// kernel on the calling thread (a norm is O(rows · width), a few microseconds a layer) and
// hands the results on as TrainKernels' contract wants: the forward's output as Float32Array,
// gradients added (+=) into the caller's float64 arrays. Widths the kernel does not cover (not a
// multiple of 4) run the reference kernels.

import { normBackward as refNormBackward, normForward as refNormForward, type Num } from "../../reference/backward/index.ts";
import type { KernelMemory } from "./kernel-memory.ts";
import type { TrainKernel } from "./kernel-names.ts";

/** Calls kernel `k`'s function `role` with `args` (WasmTrainKernels' lookup; compiled on first use). */
export type RowKernelCall = (k: TrainKernel, role: "fwd" | "bwd" | "run", args: number[]) => void;

/** Whether the Wasm norm kernel covers rows of this width (else the reference kernel runs). */
export const wasmNormCovers = (dim: number): boolean => dim % 4 === 0 && dim > 0;

export class WasmNormKernels {
  constructor(
    private readonly mem: KernelMemory,
    private readonly call: RowKernelCall,
  ) {}

  /** offset + w, the scale the kernels multiply by. */
  private putScale(w: Num, offset: number): number {
    const at = this.mem.put(w);
    if (offset !== 0) {
      const f = this.mem.f32;
      for (let i = at >> 2, end = (at >> 2) + w.length; i < end; i++) f[i] += offset;
    }
    return at;
  }

  forward(kind: "layer" | "rms", x: Num, rows: number, dim: number, w: Num, b: Num | null, eps: number, offset = 0): Num {
    if (!wasmNormCovers(dim)) return refNormForward(kind, x, rows, dim, w, b, eps, offset);
    this.mem.reset();
    const xp = this.mem.put(x);
    const sp = this.putScale(w, offset);
    const bp = b === null ? this.mem.zeros(dim) : this.mem.put(b);
    const y = this.mem.alloc(rows * dim);
    this.call({ kind: "norm", spec: { kind, dim } }, "fwd", [xp, sp, bp, y, rows, eps]);
    return this.mem.take32(y, rows * dim);
  }

  backward(kind: "layer" | "rms", dy: Float64Array, x: Num, rows: number, dim: number, w: Num, eps: number, dx: Float64Array | null, dw: Float64Array | null, db: Float64Array | null, offset = 0): void {
    if (!wasmNormCovers(dim)) return refNormBackward(kind, dy, x, rows, dim, w, eps, dx, dw, db, offset);
    this.mem.reset();
    const dyp = this.mem.put(dy);
    const xp = this.mem.put(x);
    const sp = this.putScale(w, offset);
    const dxp = this.mem.alloc(rows * dim);
    const dwp = this.mem.zeros(dim);
    const dbp = this.mem.zeros(dim);
    this.call({ kind: "norm", spec: { kind, dim } }, "bwd", [dyp, xp, sp, dxp, dwp, dbp, rows, eps]);
    if (dx !== null) this.mem.addInto(dx, dxp);
    if (dw !== null) this.mem.addInto(dw, dwp);
    if (db !== null) this.mem.addInto(db, dbp);
  }

  /**
   * db [N] += Σ_r dy [r, :] of a dy already in the kernel memory at `dyp` (linearBackward's
   * copy), summed in float64; allocates after the caller's buffers, so call it last.
   */
  columnSums(dyp: number, rows: number, N: number, db: Float64Array): void {
    const N4 = Math.ceil(N / 4) * 4;
    const out = this.mem.alloc(2 * N4); // float64
    new Float64Array(this.mem.memory.buffer, out, N4).fill(0);
    this.call({ kind: "colsum" }, "run", [dyp, rows, N, out]);
    const sums = new Float64Array(this.mem.memory.buffer, out, N);
    for (let i = 0; i < N; i++) db[i] += sums[i];
  }
}
