// The Wasm training kernels as data: what one kernel is (its baked-in dims), and the names its
// functions are exported under. The same names serve both ways the kernels are made — one small
// module per kernel compiled on first use (the CLI), or one module holding a model's whole set,
// built with the package (kernel-set.ts, emit-train-module.ts) — so WasmTrainKernels looks every
// function up by name alone. Kept free of the emitters and the compiler: a generated module's
// train.js bundles this file, not those.

import type { Activation } from "../../reference/kernels/activation.ts";
import { matmulName, type MatmulSpec } from "../emit-matmul.ts";
import { attentionTrainKey, type AttentionTrainSpec } from "./emit-attention-train.ts";
import { matmulDwName } from "./emit-matmul-dw.ts";
import type { NormTrainSpec } from "./emit-norm-train.ts";
import type { SsmConvTrainSpec, SsmScanTrainSpec } from "./emit-ssm-train.ts";

export type TrainKernel =
  /** C = A · Wᵀ over W's panels: a linear's forward, or its dx (over W's column panels). */
  | { kind: "matmul"; spec: MatmulSpec }
  /** dW [N, K] += dyᵀ · x. */
  | { kind: "dw"; N: number; K: number }
  /** Softmax attention forward and backward. */
  | { kind: "attention"; spec: AttentionTrainSpec }
  /** act(x) and dy · act'(x). */
  | { kind: "activation"; act: Activation }
  /** LayerNorm / RMSNorm forward and backward over rows of a width. */
  | { kind: "norm"; spec: NormTrainSpec }
  /** A bias gradient: column sums of dy into float64. */
  | { kind: "colsum" }
  /** Softmax cross-entropy's row sums and gradient over rows of `vocab` logits. */
  | { kind: "xent"; vocab: number }
  /** Mamba's causal depthwise conv (+ silu), forward and backward (emit-ssm-train.ts). */
  | { kind: "ssm_conv"; spec: SsmConvTrainSpec }
  /** Mamba's selective scan, forward and backward. */
  | { kind: "ssm_scan"; spec: SsmScanTrainSpec };

/** A linear's x · Wᵀ (+ b): x [rows, inDim], W [outDim, inDim]. */
export const linearForwardKernel = (inDim: number, outDim: number, bias: boolean): TrainKernel => ({ kind: "matmul", spec: { K: inDim, N: outDim, bias, residual: false } });
/**
 * A linear's dx += dy · W: the same microkernel over W's columns, adding into C in place (its
 * residual epilogue reading C), so a float32 dx is accumulated by two memcpys around the call
 * instead of a JS loop over it.
 */
export const linearDxKernel = (inDim: number, outDim: number): TrainKernel => ({ kind: "matmul", spec: { K: outDim, N: inDim, bias: false, residual: true } });
export const linearDwKernel = (inDim: number, outDim: number): TrainKernel => ({ kind: "dw", N: outDim, K: inDim });

/** The functions a kernel exports, by role. */
export function kernelExports(k: TrainKernel): Record<string, string> {
  switch (k.kind) {
    case "matmul":
      return { run: matmulName(k.spec) };
    case "dw":
      return { run: matmulDwName(k.N, k.K) };
    case "attention": {
      const key = attentionTrainKey(k.spec);
      return { fwd: `attn_fwd_${key}`, bwd: `attn_bwd_${key}` };
    }
    case "activation":
      return { fwd: `act_fwd_${k.act}`, grad: `act_grad_${k.act}` };
    case "norm":
      return { fwd: `norm_fwd_${k.spec.kind}_d${k.spec.dim}`, bwd: `norm_bwd_${k.spec.kind}_d${k.spec.dim}` };
    case "colsum":
      return { run: "colsum" };
    case "xent":
      return { run: `xent_v${k.vocab}` };
    case "ssm_conv": {
      const key = `e${k.spec.channels}_k${k.spec.width}`;
      return { fwd: `ssm_conv_fwd_${key}`, bwd: `ssm_conv_bwd_${key}` };
    }
    case "ssm_scan": {
      const key = `e${k.spec.inner}_n${k.spec.stateSize}_r${k.spec.dtRank}`;
      return { fwd: `ssm_scan_fwd_${key}`, bwd: `ssm_scan_bwd_${key}` };
    }
  }
}

/** One name for the kernel in messages and lists: its first export. */
export const kernelName = (k: TrainKernel): string => Object.values(kernelExports(k))[0];
