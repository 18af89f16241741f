// The host side of the Wasm norm, column-sum and cross-entropy kernels (emit-norm-train.ts): copies the
// operands into the kernel memory, folds a norm's weight offset into its scale, calls the
// kernel on the calling thread (a norm is O(rows · width), a few microseconds a layer) and
// hands the results on as TrainKernels' contract wants: the forward's output as Float32Array,
// gradients added (+=) into the caller's float64 arrays. Widths the kernel does not cover (not a
// multiple of 4) run the reference kernels.

import { normBackward as refNormBackward, normForward as refNormForward, type Num } from "../../reference/backward/index.ts";
import { checkLossInputs, type LossResult } from "../../../src/train/loss.ts";
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

  /**
   * Mean softmax cross-entropy with label smoothing and its gradient (src/train/loss.ts's
   * crossEntropy): the kernel's float32 row sums and gradient, the log, the loss and the
   * target's share of the gradient here in float64.
   */
  crossEntropy(logits: Num, targets: Int32Array, vocab: number, smoothing: number, wantGrad: boolean): LossResult {
    const count = checkLossInputs(logits, targets, vocab, smoothing);
    const rows = targets.length;
    const invCount = count > 0 ? 1 / count : 0;
    this.mem.reset();
    const zp = this.mem.put(logits);
    const gp = this.mem.alloc(rows * vocab);
    const tp = this.mem.alloc(rows);
    new Int32Array(this.mem.memory.buffer, tp, rows).set(targets);
    const sp = this.mem.alloc(3 * rows);
    this.call({ kind: "xent", vocab }, "run", [zp, gp, rows, tp, sp, invCount, (smoothing / vocab) * invCount]);
    const f = this.mem.f32;
    const [z, st] = [zp >> 2, sp >> 2];
    let total = 0;
    for (let r = 0; r < rows; r++) {
      const y = targets[r];
      if (y < 0) continue;
      const lse = f[st + 3 * r] + Math.log(f[st + 3 * r + 1]);
      total += (1 - smoothing) * (lse - f[z + r * vocab + y]) + smoothing * (lse - f[st + 3 * r + 2] / vocab);
    }
    const dLogits = wantGrad ? this.mem.take(gp, rows * vocab) : new Float64Array(0);
    if (wantGrad) for (let r = 0; r < rows; r++) if (targets[r] >= 0) dLogits[r * vocab + targets[r]] -= (1 - smoothing) * invCount;
    return { loss: count > 0 ? total / count : 0, count, dLogits };
  }
}
