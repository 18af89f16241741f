/**
 * The tensor-graph IR: a flat list of nodes in execution order, each producing one value.
 * Shapes mix static sizes and run-time dims by name ("batch", "seq", "src_seq"). Backends
 * are thin: they map each op to a kernel. Each op is defined once, in ops.ts. Passes are
 * functions Graph → Graph, and the verifier runs after every one (see passes.ts).
 */
import type { Activation, FeatureMap, RopeScaling, SparsePattern } from "../model/model.ts";

export type Dim = number | string;
export type DType = "f32" | "i32" | "bool";

/** Which part of a model a node belongs to: an encoder runs once per source, a decoder per step. */
export type Phase = "encoder" | "decoder";

export interface Value {
  id: number;
  dtype: DType;
  shape: Dim[];
  /** Readable name for dumps and errors, e.g. "decoder.3.attn.q". */
  name: string;
}

/**
 * Rotary embedding of the first `dim` channels of each q/k head (rotate_half pairs c, c + dim/2)
 * at inverse frequencies ropeInverseFrequencies(dim, base, scaling) (src/model/rope.ts).
 */
export interface Rope {
  dim: number;
  base: number;
  scaling?: RopeScaling;
}

export type Op =
  /** A model input: tokens, a padding mask, source tokens. */
  | { op: "input"; input: string }
  /**
   * A weight tensor, by its native name (src/model/weights-layout.ts). Its value is f32; `storage`
   * says how the backend holds it (absent: f32): f16, or q8 / q4 in blocks of 32 along the
   * input dim with one f16 scale each (layouts: src/runtime/weights/format.ts). Only linear
   * weights and embedding tables are stored low-bit; kernels dequantise on read, accumulate in f32.
   */
  | { op: "weight"; weight: string; storage?: "f32" | "f16" | "q8" | "q4" }
  /** Row gather from table [vocab, d] by ids [b, s], times scale. */
  | { op: "embed"; table: number; ids: number; scale: number }
  /** x [b, s, d] plus positional encodings of positions offset .. offset+s-1 (offset: tokens already decoded). */
  | { op: "add_position"; x: number; kind: "learned" | "sinusoidal"; table?: number }
  | { op: "add"; a: number; b: number }
  /**
   * LayerNorm / RMSNorm over the last axis, y = x̂ · (offset + w) (+ bias); offset absent: 0.
   * With `groups`, the last axis is that many runs of weight-length channels, each normed on
   * its own (per-head q/k norm): rows = numel / weight length.
   */
  | { op: "norm"; kind: "layer" | "rms"; x: number; weight: number; bias?: number; eps: number; offset?: number; groups?: number }
  /**
   * x [..., in] · Wᵀ (+ bias), W in nn.Linear layout [out, in], then the epilogue the
   * fuse-epilogues pass folds in, in this order: act(y), or y × gateAct(gate); then + residual.
   */
  | { op: "linear"; x: number; weight: number; bias?: number; act?: Activation; gate?: number; gateAct?: Activation; residual?: number }
  | { op: "activation"; x: number; act: Activation }
  /** act(gate) * up: SwiGLU (silu) and GeGLU (gelu). */
  | { op: "gated"; gate: number; up: number; act: Activation }
  /** cap · tanh(x / cap): Gemma-2's soft-capping of the final logits. */
  | { op: "softcap"; x: number; cap: number }
  /**
   * Fused softmax attention. q [b, sq, heads*headDim], k/v [b, sk, kvHeads*headDim].
   * `cache` names the KV-cache slot used in incremental decoding; keys of a "memory"
   * source (cross-attention) are computed once per source sequence.
   */
  | {
      op: "attention";
      q: number;
      k: number;
      v: number;
      heads: number;
      kvHeads: number;
      headDim: number;
      causal: boolean;
      window?: number;
      sparse?: SparsePattern;
      alibi: boolean;
      /** Per query head, causal: head h sees keys i - w_h < j <= i only (w_h = 0: no limit; Hard-ALiBi). With alibi, only the w_h = 0 heads get slopes, computed for their count. */
      headWindows?: readonly number[];
      rope?: Rope;
      /** Score scale, absent: headDim^-0.5. */
      scale?: number;
      /** Scores ← softcap · tanh(scores / softcap) after scaling, before ALiBi, masks and softmax. */
      softcap?: number;
      /** Input value of the key padding mask [b, sk], 1 = real token. */
      padding?: number;
      /** Training only: dropout rate of the attention probabilities (after softmax, before they weight v); inference strips it with the dropout nodes. */
      dropout?: number;
      source: "self" | "memory";
      cache: string;
    }
  /** Kernelized attention as an O(n) prefix-state scan; `cache` holds the state (S, z). */
  | {
      op: "linear_attention";
      q: number;
      k: number;
      v: number;
      heads: number;
      kvHeads: number;
      headDim: number;
      featureMap: FeatureMap;
      causal: boolean;
      rope?: Rope;
      padding?: number;
      source: "self" | "memory";
      cache: string;
    }
  /**
   * Mamba's causal depthwise conv of width `width` over channels [0, channels) of x [b, s, ≥ channels]
   * (the x half of in_proj's output), plus bias, then silu: out [b, s, channels]. `cache` holds
   * the last width − 1 inputs of each channel between decode steps (zeros before the first token).
   */
  | { op: "ssm_conv"; x: number; weight: number; bias?: number; channels: number; width: number; cache: string }
  /**
   * Mamba-1's selective scan over u [b, s, E] (the conv's output): proj [b, s, dtRank + 2N] is
   * x_proj's (dt, B, C), dt = softplus(dt_proj(dt) + dtBias) [E], A = −exp(aLog) [E, N];
   * h ← exp(dt·A)·h + dt·B·u, y = C·h + d·u, out = y · silu(z) with z the channels [E, 2E) of
   * z's rows (in_proj's z half). `cache` holds h [E, N] between decode steps.
   */
  | { op: "ssm_scan"; u: number; proj: number; z: number; dtWeight: number; dtBias: number; aLog: number; d: number; dtRank: number; stateSize: number; cache: string }
  /** Training only: carried from the spec, removed by the inference pass. */
  | { op: "dropout"; x: number; p: number }
  /** Marks a graph result: "logits" [b, s, vocab], "memory" (the encoder's output). */
  | { op: "output"; x: number; output: "logits" | "memory" };

export type Node = Op & { out: number; phase: Phase };

export interface Graph {
  model: string;
  values: Value[];
  nodes: Node[];
  /** Training hyper-parameters from the spec (label smoothing, ...), ignored at inference. */
  train: { dropout?: number; labelSmoothing?: number };
}

export { operands } from "./ops.ts";
