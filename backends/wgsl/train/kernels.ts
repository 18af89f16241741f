// The WebGPU training kernels (src/train/kernels.ts's TrainKernels, target "webgpu"): linear
// forward / dx / dW / db (matmul-train.ts), flash attention forward and its FlashAttention-2
// backward (attention-train.ts, attention-grad.ts), the MLP activations
// (activation-train.ts) and Mamba's conv and selective scan (ssm-gpu.ts), WGSL specialised per shape — the model's dims baked in, the batch's
// rows and sequence lengths in a uniform — with pipelines cached by that key (runner.ts).
// Every call is one job: upload (float32), dispatch, read back with mapAsync, so each method
// answers with a promise, which the engine awaits.
//
// ACCUMULATION happens on the CPU, after read-back: the gradient arrays the engine passes are
// float64 sums over several nodes (a residual stream, a tied table), and the kernel's part is
// read back anyway (the arrays live on the CPU). Uploading them to add on the GPU would cost
// one more transfer per gradient and round the running float64 sum to float32 on every call.
//
// Calls the kernels do not cover, or that exceed the device's limits, run the reference
// kernels (covers.ts states the rule). Variants: `tiles` (workgroup-memory staging, the GPU
// kernels) unless the adapter is a CPU (llvmpipe), which gets the barrier-free register / walk
// variants (the inference backend makes the same choice).

import {
  attentionBackward as refAttentionBackward,
  attentionForward as refAttentionForward,
  type ConvDims,
  type Num,
  type ScanDims,
  type ScanGrads,
  type ScanParams,
  type TrainAttentionOptions,
} from "../../reference/backward/index.ts";
import type { Activation } from "../../reference/kernels/activation.ts";
import type { AttentionDims } from "../../reference/kernels/shape.ts";
import { referenceKernels, type TrainKernels } from "../../../src/train/kernels.ts";
import { isCpuAdapter, requestDevice } from "../device.ts";
import { ACT_LINE, activationKernel } from "./activation-train.ts";
import { attentionDeltaKernel, attentionDkvKernel, attentionDqKernel, D_LINE, queryBlock } from "./attention-grad.ts";
import { attentionForwardKernel, attentionTrainKey, BKV, BQ, keyBlock, type TrainAttentionSpec } from "./attention-train.ts";
import { attentionFits, elementsFit, linearFits } from "./covers.ts";
import { gpuSsmConvBackward, gpuSsmConvForward, gpuSsmScanBackward, gpuSsmScanForward } from "./ssm-gpu.ts";
import { colsumKernel, gemmKernel, gemmKey, gemmTile, LINE, reduceKernel, type GemmSpec } from "./matmul-train.ts";
import { TrainGpu, type Job, type JobBuffer } from "./runner.ts";

export interface WebGpuTrainOptions {
  /** Dawn backend (vulkan, opengles, metal, d3d12); default: env WEBGPU_BACKEND, else Dawn's choice, then opengles. */
  backend?: string;
  /** Run on this device (kept open by dispose()); default: a device of its own. */
  device?: GPUDevice;
  /** Workgroup-memory variants; default: unless the adapter is a CPU. */
  tiles?: boolean;
  /** Reuse buffers between calls (default true). */
  pool?: boolean;
  /** Row slices of every dW / db reduction (default: by shape and adapter; tests force it). */
  slices?: number;
}

/** Workgroup memory the kernels plan for: the device's, at most 16 KiB (WebGPU's default). */
const WG_BUDGET = 16384;
/** Workgroups a dW reduction aims for: a GPU's worth, or a few per CPU core. */
const GPU_WORKGROUPS = 256;
const CPU_WORKGROUPS = 8;
/** No slice of a dW reduction is shorter than this many rows. */
const MIN_SLICE_ROWS = 64;

/** Opens a device (unless given one) and returns kernels on it; no adapter is an error saying what to install. */
export async function createWebGpuTrainKernels(o: WebGpuTrainOptions = {}): Promise<WebGpuTrainKernels> {
  const device = o.device ?? (await requestDevice(o.backend !== undefined ? { backend: o.backend } : {}));
  return new WebGpuTrainKernels(device, o, o.device === undefined);
}

const add = (dst: Float64Array, src: Float32Array): void => {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
};

export class WebGpuTrainKernels implements TrainKernels {
  readonly target = "webgpu";
  readonly gpu: TrainGpu;
  readonly tiles: boolean;
  /** The adapter, in words (vendor / architecture / device / description). */
  readonly adapterName: string;
  private readonly budget: number;

  constructor(
    device: GPUDevice,
    private readonly o: WebGpuTrainOptions = {},
    private readonly owned = false,
  ) {
    this.gpu = new TrainGpu(device, o.pool ?? true);
    const info = device.adapterInfo;
    this.adapterName = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(" / ") || "unknown adapter";
    this.tiles = o.tiles ?? !isCpuAdapter(info);
    this.budget = Math.min(device.limits.maxComputeWorkgroupStorageSize, WG_BUDGET);
  }

  // Mamba's conv and selective scan: ssm-gpu.ts (its own jobs; the reference kernels past the device's buffer limits).
  ssmConvForward(x: Num, d: ConvDims, w: Num, bias: Num | null): Promise<Float64Array> {
    return gpuSsmConvForward(this.gpu.device, x, d, w, bias);
  }
  ssmConvBackward(dOut: Float64Array, x: Num, d: ConvDims, w: Num, bias: Num | null, dx: Float64Array | null, dw: Float64Array | null, dBias: Float64Array | null): Promise<void> {
    return gpuSsmConvBackward(this.gpu.device, dOut, x, d, w, bias, dx, dw, dBias);
  }
  ssmScanForward(u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams): Promise<Float64Array> {
    return gpuSsmScanForward(this.gpu.device, u, proj, z, dims, w);
  }
  ssmScanBackward(dOut: Float64Array, u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams, g: ScanGrads): Promise<void> {
    return gpuSsmScanBackward(this.gpu.device, dOut, u, proj, z, dims, w, g);
  }

  /** Frees the pooled buffers, and the device when this object opened it. */
  dispose(): void {
    this.gpu.pool.clear();
    if (this.owned) this.gpu.device.destroy();
  }

  // ---- linear -----------------------------------------------------------------------------------

  private gemm(job: Job, s: GemmSpec, rows: number, slice: number, bufs: JobBuffer[], grid: [number, number, number]): Promise<void> {
    return job.dispatch(gemmKey(s), () => gemmKernel(s), { rows, slice }, bufs, grid);
  }

  /** Row slices of a reduction over `rows` whose unsliced grid has `base` workgroups. */
  slicesFor(rows: number, base: number): number {
    if (this.o.slices !== undefined) return Math.max(1, Math.min(this.o.slices, rows));
    const target = this.tiles ? GPU_WORKGROUPS : CPU_WORKGROUPS;
    return Math.max(1, Math.min(Math.ceil(target / base), Math.floor(rows / MIN_SLICE_ROWS)));
  }

  async linearForward(x: Num, rows: number, inDim: number, w: Num, bias: Num | null, outDim: number): Promise<Float64Array> {
    if (x.length !== rows * inDim || w.length !== outDim * inDim) throw new Error(`linear: x ${x.length} / w ${w.length} do not match rows ${rows}, in ${inDim}, out ${outDim}`);
    if (rows === 0) return new Float64Array(0);
    if (!linearFits(this.gpu.limits, rows, inDim, outDim, this.tiles, 1)) return referenceKernels.linearForward(x, rows, inDim, w, bias, outDim);
    const job = this.gpu.job();
    const { bm, bn } = gemmTile(this.tiles);
    const bufs = [job.upload(x), job.upload(w), ...(bias !== null ? [job.upload(bias)] : [])];
    const y = job.scratch(rows * outDim);
    await this.gemm(job, { mode: "nt", N: outDim, K: inDim, bias: bias !== null, tiles: this.tiles }, rows, inDim, [...bufs, y], [Math.ceil(outDim / bn), Math.ceil(rows / bm), 1]);
    const out = new Float64Array(rows * outDim);
    await job.run([y], (_, d) => out.set(d));
    return out;
  }

  async linearBackward(dy: Float64Array, x: Num, rows: number, inDim: number, w: Num, outDim: number, dx: Float64Array | null, dw: Float64Array | null, db: Float64Array | null): Promise<void> {
    if (rows === 0 || (dx === null && dw === null && db === null)) return;
    const { bm, bn } = gemmTile(this.tiles);
    const slices = this.slicesFor(rows, Math.ceil(inDim / bn) * Math.ceil(outDim / bm));
    if (!linearFits(this.gpu.limits, rows, inDim, outDim, this.tiles, slices)) return referenceKernels.linearBackward(dy, x, rows, inDim, w, outDim, dx, dw, db);
    const job = this.gpu.job();
    const g = job.upload(dy);
    const outs: JobBuffer[] = [];
    const into: Float64Array[] = [];
    if (dx !== null) {
      // dx [rows, in] = dy [rows, out] · W [out, in].
      const c = job.scratch(rows * inDim);
      await this.gemm(job, { mode: "nn", N: inDim, K: outDim, tiles: this.tiles }, rows, outDim, [g, job.upload(w), c], [Math.ceil(inDim / bn), Math.ceil(rows / bm), 1]);
      outs.push(c);
      into.push(dx);
    }
    const slice = Math.ceil(rows / slices);
    const n = Math.ceil(rows / slice);
    if (dw !== null) {
      // dW [out, in] = dyᵀ · x, n partial slices summed by the reduce kernel.
      const c = job.scratch(outDim * inDim);
      const part = n > 1 ? job.scratch(n * outDim * inDim) : c;
      await this.gemm(job, { mode: "tn", M: outDim, N: inDim, tiles: this.tiles }, rows, slice, [g, job.upload(x), part], [Math.ceil(inDim / bn), Math.ceil(outDim / bm), n]);
      if (n > 1) await this.reduce(job, part, c, outDim * inDim, n);
      outs.push(c);
      into.push(dw);
    }
    if (db !== null) {
      const c = job.scratch(outDim);
      const part = n > 1 ? job.scratch(n * outDim) : c;
      await job.dispatch(`colsum_${outDim}`, () => colsumKernel(outDim), { rows, slice }, [g, part], [Math.ceil(outDim / 64), 1, n]);
      if (n > 1) await this.reduce(job, part, c, outDim, n);
      outs.push(c);
      into.push(db);
    }
    await job.run(outs, (i, d) => add(into[i], d));
  }

  private reduce(job: Job, part: JobBuffer, out: JobBuffer, len: number, slices: number): Promise<void> {
    return job.dispatch("reduce", reduceKernel, { len, slices }, [part, out], this.gpu.fold(Math.ceil(len / LINE)));
  }

  // ---- activations ------------------------------------------------------------------------------

  private async elementwise(act: Activation, x: Num, dy: Float64Array | null): Promise<Float64Array> {
    const n = x.length;
    const out = new Float64Array(n);
    if (n === 0) return out;
    const job = this.gpu.job();
    const bufs = [...(dy !== null ? [job.upload(dy)] : []), job.upload(x)];
    const y = job.scratch(n);
    await job.dispatch(`act_${act}_${dy !== null ? "grad" : "fwd"}`, () => activationKernel(act, dy !== null), { len: n }, [...bufs, y], this.gpu.fold(Math.ceil(n / ACT_LINE)));
    await job.run([y], (_, d) => out.set(d));
    return out;
  }

  activationForward(x: Num, act: Activation): Promise<Float64Array> | Float64Array {
    if (!elementsFit(this.gpu.limits, x.length)) return referenceKernels.activationForward(x, act);
    return this.elementwise(act, x, null);
  }

  activationGrad(dy: Float64Array, x: Num, act: Activation): Promise<Float64Array> | Float64Array {
    if (dy.length !== x.length) throw new Error(`activation grad: dy ${dy.length} / x ${x.length} differ`);
    if (!elementsFit(this.gpu.limits, x.length)) return referenceKernels.activationGrad(dy, x, act);
    return this.elementwise(act, x, dy);
  }

  // ---- attention --------------------------------------------------------------------------------

  private attentionSpec(dims: AttentionDims, o: TrainAttentionOptions): TrainAttentionSpec {
    const base = {
      heads: dims.heads,
      kvHeads: dims.kvHeads,
      headDim: dims.headDim,
      causal: o.causal,
      ...(o.window !== undefined ? { window: o.window } : {}),
      alibi: o.alibi,
      ...(o.headWindows !== undefined ? { headWindows: [...o.headWindows] } : {}),
      mask: o.keyMask !== undefined,
      scale: o.scale ?? 1 / Math.sqrt(dims.headDim),
      ...(o.softcap !== undefined ? { softcap: o.softcap } : {}),
    };
    // Staged blocks that do not fit the workgroup memory: walk instead.
    const tiled = { ...base, tiles: true };
    const fits = keyBlock(tiled, this.budget) > 0 && queryBlock(tiled, this.budget) > 0;
    return { ...base, tiles: this.tiles && fits };
  }

  /** The key padding mask as u32 0 / 1 per key. */
  private maskBuffer(job: Job, o: TrainAttentionOptions): JobBuffer[] {
    return o.keyMask === undefined ? [] : [job.upload(Uint32Array.from(o.keyMask, (m) => (m === 0 ? 0 : 1)))];
  }

  async attentionForward(q: Num, k: Num, v: Num, dims: AttentionDims, o: TrainAttentionOptions): Promise<{ out: Float64Array; lse: Float64Array }> {
    if (!attentionFits(this.gpu.limits, dims, o)) return refAttentionForward(q, k, v, dims, o);
    const s = this.attentionSpec(dims, o);
    const rows = dims.batch * dims.seqQ * dims.heads;
    const out = new Float64Array(q.length);
    const lse = new Float64Array(rows).fill(-Infinity);
    if (rows === 0 || dims.seqK === 0) return { out, lse };
    const job = this.gpu.job();
    const ins = [job.upload(q), job.upload(k), job.upload(v), ...this.maskBuffer(job, o)];
    const y = job.scratch(q.length);
    const ml = job.scratch(2 * rows);
    const key = attentionTrainKey(s);
    await job.dispatch(`attn_fwd_${key}`, () => attentionForwardKernel(s, this.budget), { seqQ: dims.seqQ, seqK: dims.seqK }, [...ins, y, ml], [Math.ceil(dims.seqQ / BQ), dims.heads, dims.batch]);
    await job.run([y, ml], (i, d) => {
      if (i === 0) {
        out.set(d);
        return;
      }
      for (let r = 0; r < rows; r++) if (d[2 * r + 1] > 0) lse[r] = d[2 * r] + Math.log(d[2 * r + 1]);
    });
    return { out, lse };
  }

  async attentionBackward(q: Num, k: Num, v: Num, out: Num, lse: Float64Array, dOut: Float64Array, dims: AttentionDims, o: TrainAttentionOptions, dq: Float64Array | null, dk: Float64Array | null, dv: Float64Array | null): Promise<void> {
    if (!attentionFits(this.gpu.limits, dims, o)) return refAttentionBackward(q, k, v, out, lse, dOut, dims, o, dq, dk, dv);
    const rows = dims.batch * dims.seqQ * dims.heads;
    if (rows === 0 || dims.seqK === 0 || (dq === null && dk === null && dv === null)) return;
    const s = this.attentionSpec(dims, o);
    const key = attentionTrainKey(s);
    const job = this.gpu.job();
    // LD [rows, 2]: the lse (+3e38 for a row that saw no key: its p is then 0), and D from pass 1.
    const ldHost = new Float32Array(2 * rows);
    for (let r = 0; r < rows; r++) ldHost[2 * r] = lse[r] === -Infinity ? 3e38 : lse[r];
    const [qb, kb, vb, go, ld] = [job.upload(q), job.upload(k), job.upload(v), job.upload(dOut), job.upload(ldHost)];
    const mask = this.maskBuffer(job, o);
    const sizes = { seqQ: dims.seqQ, seqK: dims.seqK };
    await job.dispatch(`attn_delta_${key}`, () => attentionDeltaKernel(s), { len: rows }, [go, job.upload(out), ld], this.gpu.fold(Math.ceil(rows / D_LINE)));
    const outs: JobBuffer[] = [];
    const into: Float64Array[] = [];
    if (dk !== null || dv !== null) {
      const gk = job.scratch(k.length);
      const gv = job.scratch(v.length);
      await job.dispatch(`attn_dkv_${key}`, () => attentionDkvKernel(s, this.budget), sizes, [qb, kb, vb, go, ld, ...mask, gk, gv], [Math.ceil(dims.seqK / BKV), dims.kvHeads, dims.batch]);
      if (dk !== null) outs.push(gk), into.push(dk);
      if (dv !== null) outs.push(gv), into.push(dv);
    }
    if (dq !== null) {
      const gq = job.scratch(q.length);
      await job.dispatch(`attn_dq_${key}`, () => attentionDqKernel(s, this.budget), sizes, [qb, kb, vb, go, ld, ...mask, gq], [Math.ceil(dims.seqQ / BQ), dims.heads, dims.batch]);
      outs.push(gq);
      into.push(dq);
    }
    await job.run(outs, (i, d) => add(into[i], d));
  }
}
