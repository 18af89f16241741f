// The training engine's kernels for the ops that carry nearly all of a step's arithmetic —
// matmuls (linear forward, dx and dW), softmax attention (forward with log-sum-exp, and its
// vector–Jacobian product), the MLP's elementwise activation and Mamba's conv and selective
// scan (forward and VJP) — behind one interface, so one engine (engine.ts) runs a backward
// program on any backend. Every other op (embeddings, the loss, the optimiser; the norms on
// targets without kernels for them) is O(rows · width) and runs the reference kernels.
//
// Contract, shared by all implementations: inputs are read as given (float32 or float64),
// outputs are fresh arrays — Float64Array, or Float32Array where `float32` says the kernels
// compute in float32 and hand their results on unconverted (wasm) — and gradients are
// accumulated (+=) into the arrays passed in: Float64Array, but for the Float32Array a float32
// target's linearBackward may get as dx, and its output gradients (engine.ts's float32Gradients).
// A kernel may answer now or with a promise (WebGPU reads its results back asynchronously);
// the engine awaits every call, so the CPU targets stay synchronous and pay one microtask.

import {
  activationForward,
  activationGrad,
  attentionBackward,
  attentionForward,
  linearBackward,
  linearForward,
  normBackward,
  normForward,
  type ConvDims,
  type Num,
  type ScanDims,
  type ScanGrads,
  type ScanParams,
  ssmConvBackward,
  ssmConvForward,
  ssmScanBackward,
  ssmScanForward,
  type TrainAttentionOptions,
} from "../../backends/reference/backward/index.ts";
import type { Activation } from "../../backends/reference/kernels/activation.ts";
import type { AttentionDims } from "../../backends/reference/kernels/shape.ts";
import { crossEntropy, type LossResult } from "./loss.ts";

/** A kernel's answer: now, or later. */
export type Awaitable<T> = T | Promise<T>;

export interface TrainKernels {
  /** Where the kernels run, as `--target` names it. */
  readonly target: "reference" | "wasm" | "webgpu";
  /**
   * The kernels compute in float32, return Float32Array and read float32 inputs without a
   * conversion: the engine then passes parameters as given instead of as float64 copies.
   */
  readonly float32?: boolean;
  /** y = x Wᵀ + b: x [rows, inDim], W [outDim, inDim]. */
  linearForward(x: Num, rows: number, inDim: number, w: Num, bias: Num | null, outDim: number): Awaitable<Num>;
  /** dx += dy W, dW += dyᵀ x, db += Σ dy (each only where its array is given); dy may be activationGrad's answer. */
  linearBackward(dy: Num, x: Num, rows: number, inDim: number, w: Num, outDim: number, dx: Num | null, dw: Float64Array | null, db: Float64Array | null): Awaitable<void>;
  attentionForward(q: Num, k: Num, v: Num, dims: AttentionDims, o: TrainAttentionOptions): Awaitable<{ out: Num; lse: Float64Array }>;
  /** act(x), elementwise. */
  activationForward(x: Num, act: Activation): Awaitable<Num>;
  /** dy · act'(x), elementwise, fresh. */
  activationGrad(dy: Num, x: Num, act: Activation): Awaitable<Num>;
  attentionBackward(q: Num, k: Num, v: Num, out: Num, lse: Float64Array, dOut: Num, dims: AttentionDims, o: TrainAttentionOptions, dq: Float64Array | null, dk: Float64Array | null, dv: Float64Array | null): Awaitable<void>;
  /**
   * LayerNorm / RMSNorm over rows of `dim` (backends/reference/backward/dense.ts's normForward,
   * which the engine runs where a target has none); the backward adds into dx, dw, db.
   */
  normForward?(kind: "layer" | "rms", x: Num, rows: number, dim: number, w: Num, b: Num | null, eps: number, offset?: number): Awaitable<Num>;
  normBackward?(kind: "layer" | "rms", dy: Float64Array, x: Num, rows: number, dim: number, w: Num, eps: number, dx: Float64Array | null, dw: Float64Array | null, db: Float64Array | null, offset?: number): Awaitable<void>;
  /**
   * Mean softmax cross-entropy with label smoothing over rows of `vocab` logits and its
   * gradient (loss.ts's crossEntropy, which the engine runs where a target has none).
   * Synchronous: the loss is read on the host at once.
   */
  crossEntropy?(logits: Num, targets: Int32Array, vocab: number, smoothing: number, wantGrad: boolean): LossResult;
  /** Mamba's causal depthwise conv + silu over the first `channels` of x's rows: [batch, seq, channels]. */
  ssmConvForward(x: Num, d: ConvDims, w: Num, bias: Num | null): Awaitable<Float64Array>;
  ssmConvBackward(dOut: Float64Array, x: Num, d: ConvDims, w: Num, bias: Num | null, dx: Float64Array | null, dw: Float64Array | null, dBias: Float64Array | null): Awaitable<void>;
  /** Mamba's selective scan (ir.ts's ssm_scan), gated by silu(z): [batch, seq, inner]. */
  ssmScanForward(u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams): Awaitable<Float64Array>;
  ssmScanBackward(dOut: Float64Array, u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams, g: ScanGrads): Awaitable<void>;
  /**
   * A step scope (the engine's lossAndGrads, whose tape dies with it): the arrays returned
   * between stepBegin and the matching stepEnd may be reused after it, so that a step does not
   * allocate afresh what the last one freed (buffer-pool.ts). Scopes nest.
   */
  stepBegin?(): void;
  stepEnd?(): void;
}

/** The float64 oracle (backends/reference/backward). */
export const referenceKernels = {
  target: "reference" as const,
  linearForward,
  linearBackward,
  attentionForward,
  attentionBackward,
  activationForward,
  normForward,
  normBackward,
  crossEntropy,
  ssmConvForward,
  ssmConvBackward,
  ssmScanForward,
  ssmScanBackward,
  activationGrad(dy: Num, x: Num, act: Activation): Float64Array {
    const out = new Float64Array(dy.length);
    for (let i = 0; i < dy.length; i++) if (dy[i] !== 0) out[i] = dy[i] * activationGrad(act, x[i]);
    return out;
  },
} satisfies TrainKernels;
