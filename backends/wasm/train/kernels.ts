// The Wasm training kernels (src/train/kernels.ts's TrainKernels): the inference backend's
// register-tiled matmul microkernel (emit-matmul.ts), specialised per shape, for the forward
// x·Wᵀ (over W's row panels) and dx = dy·W (over W's column panels); a kernel of its own for
// dW = dyᵀ·x (emit-matmul-dw.ts), which reads dy and x as the forward left them; softmax
// attention forward and backward (emit-attention-train.ts); the MLP's activation and its
// derivative (emit-activation-train.ts). Every kernel has its model dims baked in and takes
// the batch's rows at run time; the norms and a bias's column sums (emit-norm-train.ts,
// norm-kernels.ts) likewise, so a model's whole set is known before any batch
// (kernel-set.ts). The kernels come from one of two places, all sharing one memory
// (kernel-memory.ts): a prebuilt, already-instantiated module holding the set (a generated
// package's train.wasm; prebuilt.ts), or, without one, a module per kernel compiled with
// binaryen on first use and cached (the CLI). Functions are looked up by kernel-names.ts's names.
//
// With `threads` T > 1 (Node only; the CLI's --threads) the memory is shared, T − 1 worker
// threads instantiate every kernel module on it (thread-pool.ts), and each call is split into
// shares (split.ts) that give one thread's results bit for bit. The prebuilt modules of a
// generated package are single-threaded builds, and its trainer() runs on one thread: a
// browser's main thread may not block in Atomics.wait, which this synchronous interface needs.
//
// Attention the Wasm kernel does not cover (block-sparse and strided patterns, head dims not a
// multiple of 4) runs the reference kernel, so every program trains on this target.

import { attentionBackward as refAttentionBackward, attentionForward as refAttentionForward, type ConvDims, type Num, type ScanDims, type ScanGrads, type ScanParams, type TrainAttentionOptions } from "../../reference/backward/index.ts";
import { headSlopes } from "../../reference/kernels/position.ts";
import type { AttentionDims } from "../../reference/kernels/shape.ts";
import type { TrainKernels } from "../../../src/train/kernels.ts";
import type { LossResult } from "../../../src/train/loss.ts";
import { relaxedSimdSupported } from "../backend.ts";
import { NR } from "../plan.ts";
import type { EmitFlags } from "../wat.ts";
import type { Activation } from "../../reference/kernels/activation.ts";
import { type AttentionTrainSpec, bwdScratchBytes, fwdScratchBytes } from "./emit-attention-train.ts";
import { compileKernel } from "./compile-kernels.ts";
import { dwScratchBytes } from "./emit-matmul-dw.ts";
import { CONTROL_BYTES, KernelMemory, trainMemory } from "./kernel-memory.ts";
import { kernelExports, kernelName, linearDwKernel, linearDxKernel, linearForwardKernel, type TrainKernel } from "./kernel-names.ts";
import type { PrebuiltTrainModule } from "./prebuilt.ts";
import { WasmNormKernels } from "./norm-kernels.ts";
import { WasmSsmKernels } from "./ssm-kernels.ts";
import { attentionShares, dwShares, elementShares, matmulShares, MIN_SPLIT, type Share, type SplitOptions } from "./split.ts";
import { MAX_TRAIN_THREADS, TrainThreadPool } from "./thread-pool.ts";

export type { PrebuiltTrainModule } from "./prebuilt.ts";

export interface WasmTrainKernelOptions {
  /** Threads splitting each kernel call, the calling one included (default 1; at most 16; Node only). */
  threads?: number;
  /** Multiply-adds below which a call stays on the calling thread (default split.ts's MIN_SPLIT; tests pass 0). */
  minSplit?: number;
  /** Keep each step's float32 results in the kernel memory and pass them on by address (default true; kernel-memory.ts). */
  keepResults?: boolean;
}

/** One kernel function: callable here, and by id on the workers. */
interface KernelFn {
  fn: (...args: number[]) => void;
  /** The pool's id for it (threads only). */
  id: number;
  /** Its module's set_thread (threads only). */
  setThread?: (t: number, n: number) => void;
}
type Fns = Record<string, KernelFn>;

/** Calls that ran on more than one thread, by kernel (tests check that the split paths ran). */
export interface SplitCounts {
  matmul: number;
  dw: number;
  attentionForward: number;
  attentionBackward: number;
  activation: number;
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

/** Multiply-adds of an attention forward, about (q·k and p·v over every pair; masks ignored). */
const attentionWork = (d: AttentionDims): number => 2 * d.batch * d.heads * d.seqQ * d.seqK * d.headDim;

export class WasmTrainKernels implements TrainKernels {
  readonly target = "wasm";
  readonly float32 = true;
  private readonly mem: KernelMemory;
  private readonly flags: EmitFlags;
  /** Kernel name → its functions by role. */
  private readonly kernels = new Map<string, Fns>();
  private readonly pool: TrainThreadPool | undefined;
  private readonly split: SplitOptions;
  readonly splitCalls: SplitCounts = { matmul: 0, dw: 0, attentionForward: 0, attentionBackward: 0, activation: 0 };

  /**
   * With `prebuilt`, every kernel comes from that module (a missing one is an error naming
   * it); without, each is compiled on first use, relaxed SIMD where `relaxed`.
   */
  constructor(
    private readonly prebuilt?: PrebuiltTrainModule,
    relaxed = relaxedSimdSupported(),
    opts: WasmTrainKernelOptions = {},
  ) {
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_TRAIN_THREADS) throw new Error(`wasm training: threads must be an integer from 1 to ${MAX_TRAIN_THREADS}, got ${threads}`);
    if (threads > 1 && prebuilt !== undefined) throw new Error("wasm training: a prebuilt kernel module is a single-threaded build (no shared memory); train on 1 thread");
    this.mem = new KernelMemory(prebuilt?.memory ?? trainMemory(threads > 1), threads > 1 ? CONTROL_BYTES : 64, opts.keepResults ?? true);
    this.flags = { relaxed, threads: threads > 1 };
    this.split = { threads, minSplit: opts.minSplit ?? MIN_SPLIT };
    this.pool = threads > 1 ? new TrainThreadPool(this.mem.memory, threads) : undefined;
  }

  /** Floats copied into the kernel memory, and floats passed on where a kept result already was. */
  get copies(): { copied: number; reused: number } {
    return this.mem.copies;
  }

  /** Threads splitting each call. */
  get threads(): number {
    return this.split.threads;
  }

  /** Opens a step scope: results returned until its stepEnd are reused by the next step (buffer-pool.ts). */
  stepBegin(): void {
    this.mem.openStep();
  }
  stepEnd(): void {
    this.mem.closeStep();
  }

  /** Ends the worker threads (none with 1 thread); the kernels run nothing after. Idempotent. */
  close(): void {
    this.pool?.close();
  }

  private kernel(k: TrainKernel): Fns {
    const name = kernelName(k);
    let fns = this.kernels.get(name);
    if (fns === undefined) {
      let exports: WebAssembly.Exports;
      let module: WebAssembly.Module | undefined;
      if (this.prebuilt !== undefined) exports = this.prebuilt.exports;
      else ({ exports, module } = compileKernel(k, this.flags, this.mem.memory));
      const roles = Object.entries(kernelExports(k));
      const ids = this.pool !== undefined && module !== undefined ? this.pool.load(module, roles.map(([, exported]) => exported)) : [];
      const setThread = exports.set_thread as KernelFn["setThread"];
      fns = {};
      for (const [i, [role, exported]] of roles.entries()) {
        const fn = exports[exported];
        if (typeof fn !== "function") {
          throw new Error(`wasm training: the prebuilt kernel module has no kernel ${exported}, which this program needs; rebuild the package with this specformer (specformer build)`);
        }
        fns[role] = { fn: fn as KernelFn["fn"], id: ids[i] ?? -1, ...(setThread !== undefined ? { setThread } : {}) };
      }
      this.kernels.set(name, fns);
    }
    return fns;
  }

  /** Runs `f`'s shares: the first here, the others on the workers; counts a split call under `what`. */
  private exec(f: KernelFn, shares: Share[], what: keyof SplitCounts): void {
    if (this.pool === undefined) {
      f.fn(...shares[0].args);
      return;
    }
    if (shares.length > 1) this.splitCalls[what]++;
    this.pool.run(f.id, shares, (s) => {
      // A module's thread globals persist: set them on every call.
      f.setThread!(s.tid, s.nth);
      f.fn(...s.args);
    });
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
  /** An operand the kernel reads (or adds into and copies back): a kept result is passed where it is (kernel-memory.ts). */
  private read(src: Num): number {
    return this.mem.read(src);
  }
  private zeros(floats: number): number {
    return this.mem.zeros(floats);
  }
  private take(at: number, floats: number): Float32Array {
    return this.mem.take32(at, floats);
  }
  private addInto(dst: Num, at: number): void {
    this.mem.addInto(dst, at);
  }

  // ---- activations ------------------------------------------------------------------------------

  activationForward(x: Num, act: Activation): Float32Array {
    const fns = this.kernel({ kind: "activation", act });
    this.reset();
    const xp = this.read(x);
    const y = this.alloc(x.length);
    this.exec(fns.fwd, elementShares(this.split, [xp, y], x.length), "activation");
    return this.take(y, x.length);
  }

  activationGrad(dy: Num, x: Num, act: Activation): Float32Array {
    const fns = this.kernel({ kind: "activation", act });
    this.reset();
    const dp = this.read(dy);
    const xp = this.read(x);
    const dx = this.alloc(x.length);
    this.exec(fns.grad, elementShares(this.split, [dp, xp, dx], x.length), "activation");
    return this.take(dx, x.length);
  }

  // ---- linear -----------------------------------------------------------------------------------

  linearForward(x: Num, rows: number, inDim: number, w: Num, bias: Num | null, outDim: number): Float32Array {
    if (x.length !== rows * inDim || w.length !== outDim * inDim) throw new Error(`linear: x ${x.length} / w ${w.length} do not match rows ${rows}, in ${inDim}, out ${outDim}`);
    const run = this.kernel(linearForwardKernel(inDim, outDim, bias !== null)).run;
    this.reset();
    const a = this.read(x);
    const wp = this.alloc(Math.ceil(outDim / NR) * NR * inDim);
    const bp = this.zeros(Math.ceil(outDim / NR) * NR);
    const c = this.alloc(rows * outDim);
    packRows(w, outDim, inDim, this.f32, wp >> 2);
    if (bias !== null) this.f32.set(bias, bp >> 2);
    this.exec(run, matmulShares(this.split, this.flags.relaxed, a, wp, bp, c, rows, inDim, outDim), "matmul");
    return this.take(c, rows * outDim);
  }

  linearBackward(dy: Num, x: Num, rows: number, inDim: number, w: Num, outDim: number, dx: Num | null, dw: Float64Array | null, db: Float64Array | null): void {
    // One copy of dy serves both products and the bias's column sums.
    if (dx === null && dw === null && db === null) return;
    this.reset();
    const dp = this.read(dy);
    if (dx !== null) {
      // dx [rows, inDim] = dy [rows, outDim] · W [outDim, inDim]: W's columns are the panels.
      const run = this.kernel(linearDxKernel(inDim, outDim)).run;
      const wp = this.alloc(Math.ceil(inDim / NR) * NR * outDim);
      // The kernel adds into c: a float32 dx goes in and comes back by memcpy (a JS loop adding
      // into it cost ~2.4 ns an element); a float64 one is added into from zeros.
      const f32dx = dx instanceof Float32Array;
      const c = f32dx ? this.read(dx) : this.zeros(rows * inDim);
      packColumns(w, outDim, inDim, this.f32, wp >> 2);
      this.exec(run, matmulShares(this.split, this.flags.relaxed, dp, wp, 0, c, rows, outDim, inDim), "matmul");
      if (f32dx) {
        dx.set(this.f32.subarray(c >> 2, (c >> 2) + dx.length));
        this.mem.keep(dx, c);
      } else this.addInto(dx, c);
    }
    if (dw !== null) {
      // dW [outDim, inDim] = dyᵀ [outDim, rows] · x [rows, inDim], from both as they are.
      const run = this.kernel(linearDwKernel(inDim, outDim)).run;
      const xp = this.read(x);
      const c = this.zeros(outDim * inDim);
      const scratch = this.alloc((this.split.threads * dwScratchBytes(outDim, inDim)) / 4);
      this.exec(run, dwShares(this.split, dp, xp, c, rows, outDim, inDim, scratch), "dw");
      this.addInto(dw, c);
    }
    if (db !== null) this.norms.columnSums(dp, rows, outDim, db);
  }

  // ---- attention --------------------------------------------------------------------------------

  /**
   * The run-time arguments after the buffers: keep, slopes, head windows, shapes, causal, window,
   * and a scratch of `scratchBytes` per thread (the kernel's packed blocks) with that size.
   */
  private maskArgs(dims: AttentionDims, o: TrainAttentionOptions, scratchBytes: number): number[] {
    const keep = o.keyMask === undefined ? 0 : this.put(o.keyMask);
    const slopes = headSlopes(dims.heads, o.alibi, o.headWindows);
    const sp = slopes === undefined ? 0 : this.put(slopes);
    let hw = 0;
    if (o.headWindows !== undefined) {
      hw = this.alloc(dims.heads);
      new Int32Array(this.mem.memory.buffer, hw, dims.heads).set(o.headWindows);
    }
    const scratch = this.alloc((this.split.threads * scratchBytes) / 4);
    return [keep, sp, hw, dims.batch, dims.seqQ, dims.seqK, dims.heads, dims.kvHeads, o.causal ? 1 : 0, o.window ?? 0, scratch, scratchBytes];
  }

  attentionForward(q: Num, k: Num, v: Num, dims: AttentionDims, o: TrainAttentionOptions): { out: Num; lse: Float64Array } {
    if (!wasmAttentionCovers(dims, o)) return refAttentionForward(q, k, v, dims, o);
    const fns = this.kernel({ kind: "attention", spec: attentionKernelSpec(dims, o) });
    const rows = dims.batch * dims.seqQ * dims.heads;
    this.reset();
    const qp = this.read(q);
    const kp = this.read(k);
    const vp = this.read(v);
    const out = this.alloc(q.length);
    const ml = this.alloc(2 * rows);
    const args = this.maskArgs(dims, o, fwdScratchBytes(dims.headDim, dims.seqK));
    this.exec(fns.fwd, attentionShares(this.split, [qp, kp, vp, out, ml, ...args], dims.batch * dims.heads, attentionWork(dims)), "attentionForward");
    const view = this.f32;
    const lse = this.mem.pool.any64(rows);
    for (let r = 0; r < rows; r++) {
      const l = view[(ml >> 2) + 2 * r + 1];
      lse[r] = l > 0 ? view[(ml >> 2) + 2 * r] + Math.log(l) : -Infinity;
    }
    return { out: this.take(out, q.length), lse };
  }

  attentionBackward(q: Num, k: Num, v: Num, out: Num, lse: Float64Array, dOut: Num, dims: AttentionDims, o: TrainAttentionOptions, dq: Float64Array | null, dk: Float64Array | null, dv: Float64Array | null): void {
    if (!wasmAttentionCovers(dims, o)) return refAttentionBackward(q, k, v, out, lse, dOut instanceof Float64Array ? dOut : new Float64Array(dOut), dims, o, dq, dk, dv);
    const fns = this.kernel({ kind: "attention", spec: attentionKernelSpec(dims, o) });
    this.reset();
    const qp = this.read(q);
    const kp = this.read(k);
    const vp = this.read(v);
    const op = this.read(out);
    const dop = this.read(dOut);
    const lp = this.put(lse);
    const dqp = this.zeros(q.length);
    const dkp = this.zeros(k.length);
    const dvp = this.zeros(v.length);
    const args = this.maskArgs(dims, o, bwdScratchBytes(dims.headDim));
    this.exec(fns.bwd, attentionShares(this.split, [qp, kp, vp, op, dop, lp, dqp, dkp, dvp, ...args], dims.batch * dims.kvHeads, 2 * attentionWork(dims)), "attentionBackward");
    if (dq !== null) this.addInto(dq, dqp);
    if (dk !== null) this.addInto(dk, dkp);
    if (dv !== null) this.addInto(dv, dvp);
  }

  // ---- norms and column sums (norm-kernels.ts; one thread) -------------------------------------

  private normKernels?: WasmNormKernels;
  private get norms(): WasmNormKernels {
    return (this.normKernels ??= new WasmNormKernels(this.mem, (k, role, args) => this.kernel(k)[role].fn(...args)));
  }
  normForward(kind: "layer" | "rms", x: Num, rows: number, dim: number, w: Num, b: Num | null, eps: number, offset = 0): Num {
    return this.norms.forward(kind, x, rows, dim, w, b, eps, offset);
  }
  crossEntropy(logits: Num, targets: Int32Array, vocab: number, smoothing: number, wantGrad: boolean): LossResult {
    return this.norms.crossEntropy(logits, targets, vocab, smoothing, wantGrad);
  }
  normBackward(kind: "layer" | "rms", dy: Float64Array, x: Num, rows: number, dim: number, w: Num, eps: number, dx: Float64Array | null, dw: Float64Array | null, db: Float64Array | null, offset = 0): void {
    this.norms.backward(kind, dy, x, rows, dim, w, eps, dx, dw, db, offset);
  }

  // ---- Mamba (ssm-kernels.ts: packing; emit-ssm-train.ts: the kernels; one thread) -------------

  private ssmKernels?: WasmSsmKernels;
  private get ssm(): WasmSsmKernels {
    return (this.ssmKernels ??= new WasmSsmKernels(this.mem, (k, role, args) => this.kernel(k)[role].fn(...args)));
  }
  ssmConvForward(x: Num, d: ConvDims, w: Num, bias: Num | null): Float64Array {
    return this.ssm.convForward(x, d, w, bias);
  }
  ssmConvBackward(dOut: Float64Array, x: Num, d: ConvDims, w: Num, bias: Num | null, dx: Float64Array | null, dw: Float64Array | null, dBias: Float64Array | null): void {
    this.ssm.convBackward(dOut, x, d, w, bias, dx, dw, dBias);
  }
  ssmScanForward(u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams): Float64Array {
    return this.ssm.scanForward(u, proj, z, dims, w);
  }
  ssmScanBackward(dOut: Float64Array, u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams, g: ScanGrads): void {
    this.ssm.scanBackward(dOut, u, proj, z, dims, w, g);
  }
}
