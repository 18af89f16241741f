/**
 * A checked model: every dim evaluated, every option resolved, every shape known up to
 * the run-time dims (batch, seq). The checker produces it; inspect, the IR lowering and
 * the weight layout consume it. Nothing here refers back to syntax except spans for
 * messages.
 */
import type { Span } from "../syntax/source.ts";

export type Activation = "relu" | "gelu" | "gelu_tanh" | "silu";
export type MlpActivation = Activation | "swiglu" | "geglu";
export type FeatureMap = "elu1" | "relu";

export interface NormInfo {
  kind: "layer" | "rms";
  eps: number;
  /** LayerNorm's additive bias (beta); always false for RMSNorm. */
  bias: boolean;
  span: Span;
}

export type SparsePattern =
  | { kind: "block"; block: number; local: number; global: number }
  | { kind: "strided"; stride: number };

export type PositionInfo =
  | { kind: "none" }
  | { kind: "learned"; length: number }
  | { kind: "sinusoidal" }
  | { kind: "rope"; base: number; fraction: number; scaling?: RopeScaling }
  | { kind: "alibi" };

/**
 * RoPE frequency scaling for contexts past the trained one (src/model/rope.ts computes the
 * frequencies): `linear` divides every frequency by factor (positions / factor); `llama3` is
 * Hugging Face's _compute_llama3_parameters (high frequencies kept, low ones divided by factor,
 * a smooth blend between the two wavelength bands).
 */
export type RopeScaling =
  | { kind: "linear"; factor: number }
  | { kind: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };

export interface AttentionInfo {
  kind: "attention";
  /** self-attention, or cross-attention over the encoder's output. */
  source: "self" | "cross";
  heads: number;
  kvHeads: number;
  headDim: number;
  causal: boolean;
  window?: number;
  /** Softmax attention, or kernelized linear attention with a feature map. */
  linear?: { featureMap: FeatureMap };
  sparse?: SparsePattern;
  qkvBias: boolean;
  outBias: boolean;
  /** Name of the bool input masking padded keys (1 = real token). */
  padding?: string;
  /** Width of the keys/values' source: the stream width for self, the encoder's for cross. */
  sourceDim: number;
  /** Channels per head that RoPE rotates (0 when the section has no RoPE). */
  ropeDim: number;
  ropeBase: number;
  ropeScaling?: RopeScaling;
  /** Score scale; absent: headDim^-0.5. */
  scale?: number;
  /** Scores soft-capped to (−cap, cap) before masks and softmax: cap · tanh(s / cap) (Gemma-2). */
  softcap?: number;
  alibi: boolean;
  dropout: number;
  norm?: NormInfo;
  span: Span;
}

export interface MlpInfo {
  kind: "mlp";
  hidden: number;
  act: MlpActivation;
  bias: boolean;
  dropout: number;
  norm?: NormInfo;
  span: Span;
}

export type Sublayer = AttentionInfo | MlpInfo;

export interface StackInfo {
  name: string;
  count: number;
  placement: "pre" | "post";
  sublayers: Sublayer[];
  span: Span;
}

export type Step =
  | {
      op: "embed";
      input: string;
      vocab: number;
      dim: number;
      scale: number;
      /** Shares the table of an earlier section's embedding (Vaswani et al.'s shared source/target embedding). */
      tie?: { role: SectionInfo["role"]; input: string };
      span: Span;
    }
  | { op: "position"; position: PositionInfo; span: Span }
  | { op: "norm"; norm: NormInfo; span: Span }
  | { op: "dropout"; p: number; span: Span }
  | { op: "stack"; stack: StackInfo; span: Span };

export interface SectionInfo {
  role: "main" | "encoder" | "decoder";
  /** Token input this section embeds. */
  input: string;
  /** Residual stream width. */
  width: number;
  /** The run-time sequence dim of `input` and its bound, if declared. */
  seqDim: string;
  maxSeq?: number;
  position: PositionInfo;
  steps: Step[];
}

export interface HeadInfo {
  kind: "tied" | "linear";
  vocab: number;
  bias: boolean;
  /** BERT-style prediction transform before the output projection: dense → act → LayerNorm. */
  transform?: { act: Activation; eps: number };
  /** Logits soft-capped to (−cap, cap): cap · tanh(logits / cap) (Gemma-2). */
  softcap?: number;
  span: Span;
}

export interface InputInfo {
  name: string;
  dtype: "int" | "bool" | "f32";
  /** Each axis: a static size or a run-time dim's name. */
  shape: Array<number | string>;
  span: Span;
}

export interface ModelInfo {
  name: string;
  file: string;
  span: Span;
  dims: ReadonlyMap<string, number>;
  /** Run-time dims (batch, seq, ...) with their upper bounds where declared. */
  runtime: ReadonlyMap<string, { max?: number }>;
  inputs: InputInfo[];
  /** Decoder-only and encoder-only models have one `main` section. */
  sections: SectionInfo[];
  head: HeadInfo;
  tokenizer?: { kind: string; name?: string };
  /** Training hyper-parameters: carried for completeness, ignored at inference. */
  train: { dropout?: number; labelSmoothing?: number };
}

/** The section whose output feeds the head: the decoder, or the only section. */
export function outputSection(m: ModelInfo): SectionInfo {
  return m.sections[m.sections.length - 1];
}
export function encoderSection(m: ModelInfo): SectionInfo | undefined {
  return m.sections.find((s) => s.role === "encoder");
}
