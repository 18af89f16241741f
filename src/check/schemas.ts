import type { ArgSpec } from "./args.ts";

/** The argument schemas of every statement: the language's vocabulary in one place. */

const prob: ArgSpec["type"] = { t: "real", min: 0, max: 1, maxExclusive: true };
const eps: ArgSpec["type"] = { t: "real", min: 0, minExclusive: true };
/**
 * Constants that multiply activations (an embedding or score scale, a soft-cap, a norm offset):
 * bounded so that ordinary activations times them, and their squares in a norm, stay finite in
 * f32 (past 1e18 a unit activation squared is 1e36, near f32's 3.4e38).
 */
const MULTIPLIER_MAX = 1e18;
const multiplier: ArgSpec["type"] = { t: "real", min: 0, minExclusive: true, max: MULTIPLIER_MAX };

export const ACTIVATIONS = ["relu", "gelu", "gelu_tanh", "silu"] as const;
/** Gated: swiglu = silu(gate) · up, geglu = gelu(gate) · up, geglu_tanh with gelu's tanh approximation (Gemma). */
export const MLP_ACTIVATIONS = [...ACTIVATIONS, "swiglu", "geglu", "geglu_tanh"] as const;

export const EMBED: ArgSpec[] = [
  { name: "vocab", type: { t: "size" }, required: true, positional: 0 },
  { name: "dim", type: { t: "size" }, required: true, positional: 1 },
  { name: "scale", type: multiplier },
  { name: "tie", type: { t: "name" } },
];

/** RoPE frequency scalings (`scaling = llama3(...)`), as Hugging Face's rope_scaling types. */
export const ROPE_SCALING: Record<string, ArgSpec[]> = {
  linear: [{ name: "factor", type: { t: "real", min: 0, minExclusive: true }, required: true, positional: 0 }],
  llama3: [
    { name: "factor", type: { t: "real", min: 0, minExclusive: true }, required: true, positional: 0 },
    { name: "low_freq_factor", type: { t: "real", min: 0, minExclusive: true }, required: true },
    { name: "high_freq_factor", type: { t: "real", min: 0, minExclusive: true }, required: true },
    { name: "original_context", type: { t: "size" }, required: true },
  ],
};

export const POSITION_KINDS = ["learned", "sinusoidal", "rope", "alibi", "hard_alibi", "none"] as const;
export const POSITION: Record<(typeof POSITION_KINDS)[number], ArgSpec[]> = {
  learned: [{ name: "length", type: { t: "size" }, required: true, positional: 0 }, { name: "dim", type: { t: "size" }, positional: 1 }],
  sinusoidal: [],
  rope: [
    { name: "base", type: { t: "real", min: 1, minExclusive: true } },
    { name: "fraction", type: { t: "real", min: 0, max: 1, minExclusive: true } },
    { name: "scaling", type: { t: "call", of: ROPE_SCALING } },
  ],
  alibi: [],
  /** Jelassi et al. 2024: head h < local_heads sees only the last h + 1 tokens; the rest ALiBi or NoPE. */
  hard_alibi: [
    { name: "local_heads", type: { t: "size" }, required: true, positional: 0 },
    { name: "rest", type: { t: "choice", of: ["alibi", "none"] } },
  ],
  none: [],
};

export const NORM_KINDS = ["layer", "rms"] as const;
export const NORM: ArgSpec[] = [
  { name: "eps", type: eps },
  { name: "bias", type: { t: "bool" } },
  /** y = x̂ · (offset + w): Gemma's RMSNorm is offset = 1. */
  { name: "offset", type: { t: "real", min: -MULTIPLIER_MAX, max: MULTIPLIER_MAX } },
];

/** `qk_norm = rms(eps = 1e-6)`: the per-head norm of q and k. */
export const QK_NORM: Record<string, ArgSpec[]> = { rms: [{ name: "eps", type: eps }] };

export const SPARSE: Record<string, ArgSpec[]> = {
  block: [
    { name: "size", type: { t: "size" }, required: true, positional: 0 },
    { name: "local", type: { t: "size" } },
    { name: "global", type: { t: "count" } },
  ],
  strided: [{ name: "stride", type: { t: "size" }, required: true, positional: 0 }],
};

export const ATTENTION_KINDS = ["self", "cross"] as const;
export const ATTENTION: ArgSpec[] = [
  { name: "heads", type: { t: "size" }, required: true, positional: 0 },
  { name: "kv_heads", type: { t: "size" } },
  { name: "head_dim", type: { t: "size" } },
  { name: "mask", type: { t: "choice", of: ["causal", "none"] } },
  { name: "window", type: { t: "size" } },
  { name: "kind", type: { t: "choice", of: ["softmax", "linear"] } },
  { name: "feature_map", type: { t: "choice", of: ["elu1", "relu"] } },
  { name: "sparse", type: { t: "call", of: SPARSE } },
  { name: "bias", type: { t: "bool" } },
  { name: "out_bias", type: { t: "bool" } },
  { name: "padding", type: { t: "name" } },
  { name: "memory", type: { t: "choice", of: ["encoder"] } },
  { name: "memory_dim", type: { t: "size" } },
  { name: "dropout", type: prob },
  { name: "qk_norm", type: { t: "call", of: QK_NORM } },
  /** Score scale (default head_dim^-0.5; Gemma-2's query_pre_attn_scalar^-0.5). */
  { name: "scale", type: multiplier },
  /** Gemma-2's attention logit soft-capping: scores ← cap · tanh(scores / cap). */
  { name: "softcap", type: multiplier },
];

export const MLP: ArgSpec[] = [
  { name: "hidden", type: { t: "size" }, required: true, positional: 0 },
  { name: "act", type: { t: "choice", of: MLP_ACTIVATIONS }, required: true },
  { name: "bias", type: { t: "bool" } },
  { name: "dropout", type: prob },
];

export const SSM_KINDS = ["mamba"] as const;
/** Mamba-1 (HF MambaConfig): state_size, conv_kernel, expand, time_step_rank, use_bias, use_conv_bias. */
export const SSM: ArgSpec[] = [
  { name: "state", type: { t: "size" } },
  { name: "conv", type: { t: "size" } },
  { name: "expand", type: { t: "real", min: 0, minExclusive: true } },
  { name: "dt_rank", type: { t: "size" } },
  { name: "bias", type: { t: "bool" } },
  { name: "conv_bias", type: { t: "bool" } },
  { name: "dropout", type: prob },
];

export const DROPOUT: ArgSpec[] = [{ name: "p", type: prob, required: true, positional: 0 }];

export const STACK: ArgSpec[] = [
  { name: "norm", type: { t: "choice", of: ["pre", "post", "sandwich"] } },
  { name: "residual", type: { t: "choice", of: ["sequential", "parallel"] } },
];

export const HEAD_KINDS = ["tied", "linear"] as const;
export const HEAD: ArgSpec[] = [
  { name: "vocab", type: { t: "size" }, positional: 0 },
  { name: "bias", type: { t: "bool" } },
  { name: "transform", type: { t: "choice", of: ACTIVATIONS } },
  { name: "eps", type: eps },
  /** Gemma-2's final logit soft-capping: cap · tanh(logits / cap). */
  { name: "softcap", type: multiplier },
];

export const TOKENIZER_KINDS = ["byte", "bpe", "sentencepiece"] as const;
export const TOKENIZER: ArgSpec[] = [{ name: "name", type: { t: "name" }, positional: 0 }];

export const TRAIN: ArgSpec[] = [
  { name: "dropout", type: prob },
  { name: "label_smoothing", type: prob },
];

/** Statements by where they may stand, for SF0108/SF0116 messages. */
export const SECTION_STATEMENTS = ["embed", "position", "norm", "dropout"] as const;
export const LAYER_STATEMENTS = ["attention", "mlp", "ssm", "norm", "dropout"] as const;
/** What a stack with a layer pattern holds: its layer kinds. */
export const PATTERN_STACK_STATEMENTS = ["layer"] as const;
export const MODEL_STATEMENTS = ["encoder", "decoder", "head", "tokenizer", "train", "lint"] as const;
export const ALL_STATEMENTS = [...new Set([...SECTION_STATEMENTS, ...LAYER_STATEMENTS, ...PATTERN_STACK_STATEMENTS, ...MODEL_STATEMENTS, "stack"])];
