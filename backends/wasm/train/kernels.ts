// The Wasm training kernels (src/train/kernels.ts's TrainKernels): the inference backend's
// register-tiled matmul microkernel (emit-matmul.ts), specialised per shape, for the forward
// x·Wᵀ (over W's row panels) and dx = dy·W (over W's column panels); a kernel of its own for
// dW = dyᵀ·x (emit-matmul-dw.ts), which reads dy and x as the forward left them; softmax
// attention forward and backward (emit-attention-train.ts); the MLP's activation and its
// derivative (emit-activation-train.ts). Every kernel has its model dims baked in and takes
// the batch's rows at run time. One module per kernel, compiled on first use and cached, all
// sharing one memory. Operands are copied into that memory per call (float32) and results
// copied out (float64): O(rows · width) copies against O(rows · width · width) multiply-adds.
//
// Attention the Wasm kernel does not cover (block-sparse and strided patterns, head dims not a
// multiple of 4) runs the reference kernel, so every program trains on this target.

import { attentionBackward as refAttentionBackward, attentionForward as refAttentionForward, type Num, type TrainAttentionOptions } from "../../reference/backward/index.ts";
import { headSlopes } from "../../reference/kernels/position.ts";
import type { AttentionDims } from "../../reference/kernels/shape.ts";
import type { TrainKernels } from "../../../src/train/kernels.ts";
import { relaxedSimdSupported } from "../backend.ts";
import { assemble } from "../compile.ts";
import { emitMatmul, matmulName, type MatmulSpec } from "../emit-matmul.ts";
import { emitHelpers } from "../emit-rows.ts";
import { NR, MAX_PAGES } from "../plan.ts";
import type { EmitFlags } from "../wat.ts";
import type { Activation } from "../../reference/kernels/activation.ts";
import { emitMatmulDw, matmulDwName } from "./emit-matmul-dw.ts";
import { emitActivationForward, emitActivationGrad } from "./emit-activation-train.ts";
import { attentionTrainKey, emitAttentionBackward, emitAttentionForward, type AttentionTrainSpec } from "./emit-attention-train.ts";

const PAGE = 65536;
/** Slack after every buffer: a four-key block may read three rows past k or v. */
const SLACK = 4096;

type MatmulFn = (a: number, w: number, bias: number, c: number, rows: number) => void;
interface AttentionFns {
  fwd: (...args: number[]) => void;
  bwd: (...args: number[]) => void;
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

export class WasmTrainKernels implements TrainKernels {
  readonly target = "wasm";
  private readonly memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
  private readonly flags: EmitFlags;
  private readonly matmuls = new Map<string, MatmulFn>();
  private readonly attentions = new Map<string, AttentionFns>();
  private readonly activations = new Map<Activation, { fwd: (x: number, y: number, n: number) => void; grad: (dy: number, x: number, dx: number, n: number) => void }>();
  private top = 0;

  constructor(relaxed = relaxedSimdSupported()) {
    this.flags = { relaxed, threads: false };
  }

  // ---- memory: a bump allocator reset at the start of every kernel call ----------------------

  private reset(): void {
    this.top = 64;
  }

  /** `floats` f32 slots (plus slack), 64-byte aligned; grows the memory. Returns a byte address. */
  private alloc(floats: number): number {
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

  private get f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  private put(src: Num | Uint8Array): number {
    const at = this.alloc(src.length);
    this.f32.set(src, at >> 2); // typed-array set converts natively (an element loop is ~5× slower)
    return at;
  }

  private zeros(floats: number): number {
    const at = this.alloc(floats);
    this.f32.fill(0, at >> 2, (at >> 2) + floats);
    return at;
  }

  private take(at: number, floats: number): Float64Array {
    // Not Float64Array.from: that walks the iterator protocol, ~20× slower than set.
    const out = new Float64Array(floats);
    out.set(this.f32.subarray(at >> 2, (at >> 2) + floats));
    return out;
  }

  private addInto(dst: Float64Array, at: number): void {
    const view = this.f32;
    const o = at >> 2;
    for (let i = 0; i < dst.length; i++) dst[i] += view[o + i];
  }

  // ---- modules ---------------------------------------------------------------------------------

  private instantiate(body: string): WebAssembly.Exports {
    const text = `(module
  (import "env" "memory" (memory 1 ${MAX_PAGES}))
  (global $tid (mut i32) (i32.const 0))
  (global $nth (mut i32) (i32.const 1))
  ${emitHelpers()}
  ${body})`;
    const module = new WebAssembly.Module(assemble(text, this.flags) as Uint8Array<ArrayBuffer>);
    return new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports;
  }

  private matmul(s: MatmulSpec): MatmulFn {
    const key = matmulName(s);
    let fn = this.matmuls.get(key);
    if (fn === undefined) {
      const ex = this.instantiate(`${emitMatmul(this.flags, s)}
  (func (export "run") (param $a i32) (param $w i32) (param $bias i32) (param $c i32) (param $rows i32)
    (call $${key} (local.get $a) (local.get $w) (local.get $bias) (local.get $c) (i32.const 0) (i32.const 0) (local.get $rows)))`);
      fn = ex.run as MatmulFn;
      this.matmuls.set(key, fn);
    }
    return fn;
  }

  private matmulDw(N: number, K: number): (dy: number, x: number, c: number, rows: number) => void {
    const key = matmulDwName(N, K);
    let fn = this.matmuls.get(key);
    if (fn === undefined) {
      const ex = this.instantiate(`${emitMatmulDw(this.flags, N, K)}\n  (export "run" (func $${key}))`);
      fn = ex.run as MatmulFn;
      this.matmuls.set(key, fn);
    }
    return fn as unknown as (dy: number, x: number, c: number, rows: number) => void;
  }

  private attention(s: AttentionTrainSpec): AttentionFns {
    const key = attentionTrainKey(s);
    let fns = this.attentions.get(key);
    if (fns === undefined) {
      const ex = this.instantiate(`${emitAttentionForward(this.flags, s)}
  ${emitAttentionBackward(this.flags, s)}
  (export "fwd" (func $attn_fwd))
  (export "bwd" (func $attn_bwd))`);
      fns = { fwd: ex.fwd as AttentionFns["fwd"], bwd: ex.bwd as AttentionFns["bwd"] };
      this.attentions.set(key, fns);
    }
    return fns;
  }

  private activation(act: Activation) {
    let fns = this.activations.get(act);
    if (fns === undefined) {
      const ex = this.instantiate(`${emitActivationForward(this.flags, act)}
  ${emitActivationGrad(this.flags, act)}
  (export "fwd" (func $act_fwd))
  (export "grad" (func $act_grad))`);
      fns = { fwd: ex.fwd as (x: number, y: number, n: number) => void, grad: ex.grad as (dy: number, x: number, dx: number, n: number) => void };
      this.activations.set(act, fns);
    }
    return fns;
  }

  // ---- activations ------------------------------------------------------------------------------

  activationForward(x: Num, act: Activation): Float64Array {
    const fns = this.activation(act);
    this.reset();
    const xp = this.put(x);
    const y = this.alloc(x.length);
    fns.fwd(xp, y, x.length);
    return this.take(y, x.length);
  }

  activationGrad(dy: Float64Array, x: Num, act: Activation): Float64Array {
    const fns = this.activation(act);
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
    const run = this.matmul({ K: inDim, N: outDim, bias: bias !== null, residual: false });
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
      const run = this.matmul({ K: outDim, N: inDim, bias: false, residual: false });
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
      const run = this.matmulDw(outDim, inDim);
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

  private attentionSpec(dims: AttentionDims, o: TrainAttentionOptions): AttentionTrainSpec {
    return { headDim: dims.headDim, scale: o.scale ?? 1 / Math.sqrt(dims.headDim), ...(o.softcap !== undefined ? { softcap: o.softcap } : {}) };
  }

  /** The run-time arguments after the buffers: keep, slopes, head windows, shapes, causal, window. */
  private maskArgs(dims: AttentionDims, o: TrainAttentionOptions): number[] {
    const keep = o.keyMask === undefined ? 0 : this.put(o.keyMask);
    const slopes = headSlopes(dims.heads, o.alibi, o.headWindows);
    const sp = slopes === undefined ? 0 : this.put(slopes);
    let hw = 0;
    if (o.headWindows !== undefined) {
      hw = this.alloc(dims.heads);
      new Int32Array(this.memory.buffer, hw, dims.heads).set(o.headWindows);
    }
    return [keep, sp, hw, dims.batch, dims.seqQ, dims.seqK, dims.heads, dims.kvHeads, o.causal ? 1 : 0, o.window ?? 0];
  }

  attentionForward(q: Num, k: Num, v: Num, dims: AttentionDims, o: TrainAttentionOptions): { out: Float64Array; lse: Float64Array } {
    if (!wasmAttentionCovers(dims, o)) return refAttentionForward(q, k, v, dims, o);
    const fns = this.attention(this.attentionSpec(dims, o));
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
    const fns = this.attention(this.attentionSpec(dims, o));
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
