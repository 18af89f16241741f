/**
 * A checked model: every dim evaluated, every option resolved, every shape known up to
 * the run-time dims (batch, seq). The checker produces it; inspect, the IR lowering and
 * the weight layout consume it. Nothing here refers back to syntax except spans for
 * messages.
 */
import type { Span } from "../syntax/source.ts";

export type Activation = "relu" | "gelu" | "gelu_tanh" | "silu";
export type MlpActivation = Activation | "swiglu" | "geglu" | "geglu_tanh";
export type FeatureMap = "elu1" | "relu";

export interface NormInfo {
  kind: "layer" | "rms";
  eps: number;
  /** LayerNorm's additive bias (beta); always false for RMSNorm. */
  bias: boolean;
  /** y = x̂ · (offset + w): Gemma stores RMSNorm weights as w with 1 + w applied. Absent: 0. */
  offset?: number;
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
  | { kind: "alibi" }
  /** Hard-ALiBi (Jelassi et al. 2024): head h < localHeads attends to the last h + 1 tokens only; the other heads use ALiBi (`rest: "alibi"`, slopes for their count) or nothing. */
  | { kind: "hard_alibi"; localHeads: number; rest: "alibi" | "none" };

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
  /** Per query head: the head sees only its last w keys (w = 0: no per-head limit); Hard-ALiBi's local heads. With alibi, the slopes go to the w = 0 heads. */
  headWindows?: number[];
  dropout: number;
  /** Per-head RMSNorm of q and of k over head_dim, after the projections, before RoPE (Qwen3, OLMo-2). */
  qkNorm?: NormInfo;
  norm?: NormInfo;
  /** Sandwich placement: the norm of the sublayer's output, before the residual add. */
  postNorm?: NormInfo;
  span: Span;
}

export interface MlpInfo {
  kind: "mlp";
  hidden: number;
  act: MlpActivation;
  bias: boolean;
  dropout: number;
  norm?: NormInfo;
  /** Sandwich placement: the norm of the sublayer's output, before the residual add. */
  postNorm?: NormInfo;
  span: Span;
}

/**
 * Mamba-1's selective state-space mixer (Gu & Dao 2023; Hugging Face MambaMixer): in_proj to
 * x and z halves of `inner` channels each, a causal depthwise conv of width `convWidth` on x
 * then silu, x_proj to (dt, B, C) = (dtRank, stateSize, stateSize), dt = softplus(dt_proj(dt)),
 * the scan h ← exp(dt·A)·h + dt·B·x with A = −exp(A_log), y = C·h + D·x, y · silu(z), out_proj.
 */
export interface SsmInfo {
  kind: "ssm";
  variant: "mamba";
  /** d_inner = expand · d. */
  inner: number;
  stateSize: number;
  convWidth: number;
  dtRank: number;
  /** in_proj / out_proj biases (HF `use_bias`). */
  bias: boolean;
  /** conv1d bias (HF `use_conv_bias`). */
  convBias: boolean;
  dropout: number;
  norm?: NormInfo;
  postNorm?: NormInfo;
  span: Span;
}

export type Sublayer = AttentionInfo | MlpInfo | SsmInfo;

/** One kind of layer of a stack: its sublayers in order (a later kind may hold other sublayer kinds). */
export interface LayerKind {
  name: string;
  sublayers: Sublayer[];
}

export interface StackInfo {
  name: string;
  count: number;
  /**
   * Where a sublayer's norm stands: before it (pre), after the residual add (post), or both
   * around it, the output normed before the add (sandwich: y = post(sub(pre(x))), x ← x + y).
   */
  placement: "pre" | "post" | "sandwich";
  /** sequential: x ← x + sub(x) per sublayer; parallel (GPT-NeoX, GPT-J): x ← x + Σ sub(x), every sublayer reading the layer's input. */
  residual: "sequential" | "parallel";
  /** The layer kinds in declaration order; a stack written `N × name { ... }` has one. */
  kinds: LayerKind[];
  /**
   * The layer pattern as runs of one kind (indices into `kinds`), cycled by layer index: layer
   * i is the pattern's entry i mod its length (HF `layer_types`). Runs, not one entry per
   * layer, so a stack costs O(pattern) however deep it is.
   */
  pattern: Array<{ kind: number; count: number }>;
  /** Every sublayer of every kind, kinds in order: for questions about the stack as a whole. */
  sublayers: Sublayer[];
  span: Span;
}

const patternLength = (st: StackInfo): number => st.pattern.reduce((a, r) => a + r.count, 0);

/** Index into `st.kinds` of layer i. */
export function layerKindOf(st: StackInfo, i: number): number {
  let at = i % patternLength(st);
  for (const r of st.pattern) {
    if (at < r.count) return r.kind;
    at -= r.count;
  }
  throw new Error(`layer ${i} outside the pattern of stack ${st.name}`);
}

/** The sublayers layer i of a stack runs. */
export function layerSublayers(st: StackInfo, i: number): Sublayer[] {
  return st.kinds[layerKindOf(st, i)].sublayers;
}

/** How many layers of each kind the stack has, by kind index, in O(pattern). */
export function layersPerKind(st: StackInfo): number[] {
  const out = st.kinds.map(() => 0);
  const len = patternLength(st);
  const cycles = Math.floor(st.count / len);
  let rest = st.count - cycles * len;
  for (const r of st.pattern) {
    const partial = Math.min(rest, r.count);
    out[r.kind] += cycles * r.count + partial;
    rest -= partial;
  }
  return out;
}

/** The first layer of each kind (undefined for a kind no layer has). */
export function firstLayerOfKind(st: StackInfo): Array<number | undefined> {
  const out: Array<number | undefined> = st.kinds.map(() => undefined);
  let at = 0;
  for (const r of st.pattern) {
    if (at < st.count) out[r.kind] ??= at;
    at += r.count;
  }
  return out;
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
