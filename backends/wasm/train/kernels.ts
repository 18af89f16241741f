// The Wasm training kernels (src/train/kernels.ts's TrainKernels): the inference backend's
// register-tiled matmul microkernel (emit-matmul.ts), specialised per shape, for the forward
// x·Wᵀ (over W's row panels) and dx = dy·W (over W's column panels); a kernel of its own for
// dW = dyᵀ·x (emit-matmul-dw.ts), which reads dy and x as the forward left them; softmax
// attention forward and backward (emit-attention-train.ts); the MLP's activation and its
// derivative (emit-activation-train.ts). Every kernel has its model dims baked in and takes
// the batch's rows at run time, so a model's whole set is known before any batch
// (kernel-set.ts). The kernels come from one of two places, all sharing one memory
// (kernel-memory.ts): a prebuilt, already-instantiated module holding the set (a generated
// package's train.wasm; prebuilt.ts), or, without one, a module per kernel compiled with
// binaryen on first use and cached (the CLI). Functions are looked up by kernel-names.ts's names.
//
// Attention the Wasm kernel does not cover (block-sparse and strided patterns, head dims not a
// multiple of 4) runs the reference kernel, so every program trains on this target.

import { attentionBackward as refAttentionBackward, attentionForward as refAttentionForward, type Num, type TrainAttentionOptions } from "../../reference/backward/index.ts";
import { headSlopes } from "../../reference/kernels/position.ts";
import type { AttentionDims } from "../../reference/kernels/shape.ts";
import type { TrainKernels } from "../../../src/train/kernels.ts";
import { relaxedSimdSupported } from "../backend.ts";
import { NR } from "../plan.ts";
import type { EmitFlags } from "../wat.ts";
import type { Activation } from "../../reference/kernels/activation.ts";
import type { AttentionTrainSpec } from "./emit-attention-train.ts";
import { compileKernel } from "./compile-kernels.ts";
import { KernelMemory, trainMemory } from "./kernel-memory.ts";
import { kernelExports, kernelName, linearDwKernel, linearDxKernel, linearForwardKernel, type TrainKernel } from "./kernel-names.ts";
import type { PrebuiltTrainModule } from "./prebuilt.ts";

export type { PrebuiltTrainModule } from "./prebuilt.ts";

type MatmulFn = (a: number, w: number, bias: number, c: number, rows: number) => void;
type DwFn = (dy: number, x: number, c: number, rows: number) => void;
interface AttentionFns {
  fwd: (...args: number[]) => void;
  bwd: (...args: number[]) => void;
}
interface ActivationFns {
  fwd: (x: number, y: number, n: number) => void;
  grad: (dy: number, x: number, dx: number, n: number) => void;
}

/** W [R, C] row-major → panels [ceil(C/NR)][R][NR] of its columns (zero past C). */
function packColumns(w: Num, R: number, C: number, out: Float32Array, at: number): void {
  const panels = Math.ceil(C / NR);
  for (let p = 0; p < panels; p++) {
    const c0 = p * NR;
    const lanes = Math.min(NR, C - c0);
    let o = at + p * R * NR;
    for (let r = 0; r < R; r++, o += NR) {
      const src = r * C + c0;
      for (let c = 0; c < lanes; c++) out[o + c] = w[src + c];
      for (let c = lanes; c < NR; c++) out[o + c] = 0;
    }
  }
}

/** W [N, K] → panels [ceil(N/NR)][K][NR] of its rows (the forward matmul's layout). */
function packRows(w: Num, N: number, K: number, out: Float32Array, at: number): void {
  const panels = Math.ceil(N / NR);
  for (let p = 0; p < panels; p++) {
    const base = at + p * K * NR;
    for (let c = 0; c < NR; c++) {
      const n = p * NR + c;
      if (n >= N) {
        for (let k = 0; k < K; k++) out[base + k * NR + c] = 0;
        continue;
      }
      const row = n * K;
      for (let k = 0; k < K; k++) out[base + k * NR + c] = w[row + k];
    }
  }
}

/** Whether the Wasm attention kernel covers these options (else the reference kernel runs). */
export function wasmAttentionCovers(dims: AttentionDims, o: TrainAttentionOptions): boolean {
  return o.sparse === undefined && o.dropout === undefined && dims.headDim % 4 === 0 && dims.heads % dims.kvHeads === 0;
}

/** The Wasm kernel for attention these options select (with wasmAttentionCovers). */
export function attentionKernelSpec(dims: AttentionDims, o: TrainAttentionOptions): AttentionTrainSpec {
  return { headDim: dims.headDim, scale: o.scale ?? 1 / Math.sqrt(dims.headDim), ...(o.softcap !== undefined ? { softcap: o.softcap } : {}) };
}

export class WasmTrainKernels implements TrainKernels {
  readonly target = "wasm";
  private readonly mem: KernelMemory;
  private readonly flags: EmitFlags;
  /** Kernel name → its functions by role. */
  private readonly kernels = new Map<string, Record<string, Function>>();

  /**
   * With `prebuilt`, every kernel comes from that module (a missing one is an error naming
   * it); without, each is compiled on first use, relaxed SIMD where `relaxed`.
   */
  constructor(
    private readonly prebuilt?: PrebuiltTrainModule,
    relaxed = relaxedSimdSupported(),
  ) {
    this.mem = new KernelMemory(prebuilt?.memory ?? trainMemory());
    this.flags = { relaxed, threads: false };
  }

  private kernel<T>(k: TrainKernel): T {
    const name = kernelName(k);
    let fns = this.kernels.get(name);
    if (fns === undefined) {
      const exports = this.prebuilt?.exports ?? compileKernel(k, this.flags, this.mem.memory);
      fns = {};
      for (const [role, exported] of Object.entries(kernelExports(k))) {
        const fn = exports[exported];
        if (typeof fn !== "function") {
          throw new Error(`wasm training: the prebuilt kernel module has no kernel ${exported}, which this program needs; rebuild the package with this specformer (specformer build)`);
        }
        fns[role] = fn;
      }
      this.kernels.set(name, fns);
    }
    return fns as T;
  }

  private reset(): void {
    this.mem.reset();
  }
  private alloc(floats: number): number {
    return this.mem.alloc(floats);
  }
  private get f32(): Float32Array {
    return this.mem.f32;
  }
  private put(src: Num | Uint8Array): number {
    return this.mem.put(src);
  }
  private zeros(floats: number): number {
    return this.mem.zeros(floats);
  }
  private take(at: number, floats: number): Float64Array {
    return this.mem.take(at, floats);
  }
  private addInto(dst: Float64Array, at: number): void {
    this.mem.addInto(dst, at);
  }

  // ---- activations ------------------------------------------------------------------------------

  activationForward(x: Num, act: Activation): Float64Array {
    const fns = this.kernel<ActivationFns>({ kind: "activation", act });
    this.reset();
    const xp = this.put(x);
    const y = this.alloc(x.length);
    fns.fwd(xp, y, x.length);
    return this.take(y, x.length);
  }

  activationGrad(dy: Float64Array, x: Num, act: Activation): Float64Array {
    const fns = this.kernel<ActivationFns>({ kind: "activation", act });
    this.reset();
    const dp = this.put(dy);
    const xp = this.put(x);
    const dx = this.alloc(x.length);
    fns.grad(dp, xp, dx, x.length);
    return this.take(dx, x.length);
  }

  // ---- linear -----------------------------------------------------------------------------------

  linearForward(x: Num, rows: number, inDim: number, w: Num, bias: Num | null, outDim: number): Float64Array {
    if (x.length !== rows * inDim || w.length !== outDim * inDim) throw new Error(`linear: x ${x.length} / w ${w.length} do not match rows ${rows}, in ${inDim}, out ${outDim}`);
    const run = this.kernel<{ run: MatmulFn }>(linearForwardKernel(inDim, outDim, bias !== null)).run;
    this.reset();
    const a = this.put(x);
    const wp = this.alloc(Math.ceil(outDim / NR) * NR * inDim);
    const bp = this.zeros(Math.ceil(outDim / NR) * NR);
    const c = this.alloc(rows * outDim);
    packRows(w, outDim, inDim, this.f32, wp >> 2);
    if (bias !== null) this.f32.set(bias, bp >> 2);
    run(a, wp, bp, c, rows);
    return this.take(c, rows * outDim);
  }

  linearBackward(dy: Float64Array, x: Num, rows: number, inDim: number, w: Num, outDim: number, dx: Float64Array | null, dw: Float64Array | null, db: Float64Array | null): void {
    if (dx !== null) {
      // dx [rows, inDim] = dy [rows, outDim] · W [outDim, inDim]: W's columns are the panels.
      const run = this.kernel<{ run: MatmulFn }>(linearDxKernel(inDim, outDim)).run;
      this.reset();
      const a = this.put(dy);
      const wp = this.alloc(Math.ceil(inDim / NR) * NR * outDim);
      const c = this.alloc(rows * inDim);
      packColumns(w, outDim, inDim, this.f32, wp >> 2);
      run(a, wp, 0, c, rows);
      this.addInto(dx, c);
    }
    if (dw !== null) {
      // dW [outDim, inDim] = dyᵀ [outDim, rows] · x [rows, inDim], from both as they are.
      const run = this.kernel<{ run: DwFn }>(linearDwKernel(inDim, outDim)).run;
      this.reset();
      const dp = this.put(dy);
      const xp = this.put(x);
      const c = this.zeros(outDim * inDim);
      run(dp, xp, c, rows);
      this.addInto(dw, c);
    }
    if (db !== null) {
      for (let r = 0; r < rows; r++) {
        const yo = r * outDim;
        for (let o = 0; o < outDim; o++) db[o] += dy[yo + o];
      }
    }
  }

  // ---- attention --------------------------------------------------------------------------------

  /** The run-time arguments after the buffers: keep, slopes, head windows, shapes, causal, window. */
  private maskArgs(dims: AttentionDims, o: TrainAttentionOptions): number[] {
    const keep = o.keyMask === undefined ? 0 : this.put(o.keyMask);
    const slopes = headSlopes(dims.heads, o.alibi, o.headWindows);
    const sp = slopes === undefined ? 0 : this.put(slopes);
    let hw = 0;
    if (o.headWindows !== undefined) {
      hw = this.alloc(dims.heads);
      new Int32Array(this.mem.memory.buffer, hw, dims.heads).set(o.headWindows);
    }
    return [keep, sp, hw, dims.batch, dims.seqQ, dims.seqK, dims.heads, dims.kvHeads, o.causal ? 1 : 0, o.window ?? 0];
  }

  attentionForward(q: Num, k: Num, v: Num, dims: AttentionDims, o: TrainAttentionOptions): { out: Float64Array; lse: Float64Array } {
    if (!wasmAttentionCovers(dims, o)) return refAttentionForward(q, k, v, dims, o);
    const fns = this.kernel<AttentionFns>({ kind: "attention", spec: attentionKernelSpec(dims, o) });
    const rows = dims.batch * dims.seqQ * dims.heads;
    this.reset();
    const qp = this.put(q);
    const kp = this.put(k);
    const vp = this.put(v);
    const out = this.alloc(q.length);
    const ml = this.alloc(2 * rows);
    const args = this.maskArgs(dims, o);
    fns.fwd(qp, kp, vp, out, ml, ...args);
    const view = this.f32;
    const lse = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const l = view[(ml >> 2) + 2 * r + 1];
      lse[r] = l > 0 ? view[(ml >> 2) + 2 * r] + Math.log(l) : -Infinity;
    }
    return { out: this.take(out, q.length), lse };
  }

  attentionBackward(q: Num, k: Num, v: Num, out: Num, lse: Float64Array, dOut: Float64Array, dims: AttentionDims, o: TrainAttentionOptions, dq: Float64Array | null, dk: Float64Array | null, dv: Float64Array | null): void {
    if (!wasmAttentionCovers(dims, o)) return refAttentionBackward(q, k, v, out, lse, dOut, dims, o, dq, dk, dv);
    const fns = this.kernel<AttentionFns>({ kind: "attention", spec: attentionKernelSpec(dims, o) });
    this.reset();
    const qp = this.put(q);
    const kp = this.put(k);
    const vp = this.put(v);
    const op = this.put(out);
    const dop = this.put(dOut);
    const lp = this.put(lse);
    const dqp = this.zeros(q.length);
    const dkp = this.zeros(k.length);
    const dvp = this.zeros(v.length);
    const args = this.maskArgs(dims, o);
    fns.bwd(qp, kp, vp, op, dop, lp, dqp, dkp, dvp, ...args);
    if (dq !== null) this.addInto(dq, dqp);
    if (dk !== null) this.addInto(dk, dkp);
    if (dv !== null) this.addInto(dv, dvp);
  }
}
