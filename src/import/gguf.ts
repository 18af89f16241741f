/**
 * (Node) Importing a GGUF file: its llama.* / qwen2.* / qwen3.* / phi3.* / gemma2.* metadata written as the Hugging Face config.json
 * keys the llama importer reads (llama.cpp's convert_hf_to_gguf.py wrote them from those keys),
 * then imported like any config. Read from the header (and the small rope_freqs tensor). The keys:
 *
 *   llama.embedding_length → hidden_size           llama.block_count → num_hidden_layers
 *   llama.feed_forward_length → intermediate_size   llama.context_length → max_position_embeddings
 *   llama.attention.head_count(_kv) → num_attention_heads / num_key_value_heads
 *   llama.attention.key_length → head_dim           llama.rope.freq_base → rope_theta (absent: 10000)
 *   llama.attention.layer_norm_rms_epsilon → rms_norm_eps
 *   llama.rope.scaling.type linear + .factor → rope_scaling {rope_type linear, factor}
 *   tensor rope_freqs (Llama 3.1 / 3.2)      → rope_scaling {rope_type llama3, …} fitted to its
 *                                              per-pair divisors (../runtime/gguf/rope-freqs.ts)
 *   phi3.attention.sliding_window → sliding_window (0: none)   phi3.rope.dimension_count → partial_rotary_factor
 *   gemma2.attn_logit_softcapping / final_logit_softcapping / attention.sliding_window → the same keys;
 *   query_pre_attn_scalar as llama.cpp computes the score scale (gemma2Keys)
 *   vocab_size: token_embd's rows; tie_word_embeddings: no `output` tensor; attention_bias /
 *   mlp_bias: whether blk.0 has those biases.
 */
import { basename } from "node:path";
import { ggufArchProblem, ggufF32, ROPE_FREQS } from "../runtime/gguf/llama-gguf.ts";
import { metaNumber } from "../runtime/gguf/magic.ts";
import { openGguf, readGgufHeader, type GgufHeader } from "../runtime/gguf/read-gguf.ts";
import { fitLlama3Scaling } from "../runtime/gguf/rope-freqs.ts";
import type { CheckpointImport } from "./checkpoint.ts";
import { ImportError } from "./config.ts";
import { importConfig, parseConfig } from "./index.ts";

/** A number of the metadata; an f32 one as the shortest decimal that is the same f32 (1e-5, not 9.99999974e-6). */
const num = (h: GgufHeader, key: string): number | undefined => {
  const v = metaNumber(h.metadata, key);
  if (v === undefined || Number.isInteger(v) || Math.fround(v) !== v) return v;
  for (let p = 1; p < 17; p++) if (Math.fround(Number(v.toPrecision(p))) === v) return Number(v.toPrecision(p));
  return v;
};

const CLASS: Record<string, string> = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM", phi3: "Phi3ForCausalLM", gemma2: "Gemma2ForCausalLM" };

/** The config.json a llama / qwen2 / qwen3 / phi3 / gemma2 GGUF header stands for (keys under `<arch>.`); `ropeFactors`: its rope_freqs tensor's values. */
export function llamaConfig(h: GgufHeader, file: string, ropeFactors?: Float32Array): Record<string, unknown> {
  const arch = h.metadata["general.architecture"];
  const problem = ggufArchProblem(arch);
  if (problem) throw new ImportError(file, problem.replace(/^GGUF /, "has "));
  const a = arch as string;
  const need = (key: string): number => {
    const v = num(h, `${a}.${key}`);
    if (v === undefined) throw new ImportError(file, `has no ${a}.${key} in its GGUF metadata`);
    return v;
  };
  const embed = h.tensors.get("token_embd.weight");
  if (!embed) throw new ImportError(file, "has no token_embd.weight tensor");
  const config: Record<string, unknown> = {
    architectures: [CLASS[a]],
    model_type: a,
    vocab_size: embed.shape[0],
    hidden_size: need("embedding_length"),
    num_hidden_layers: need("block_count"),
    intermediate_size: need("feed_forward_length"),
    num_attention_heads: need("attention.head_count"),
    num_key_value_heads: num(h, `${a}.attention.head_count_kv`) ?? need("attention.head_count"),
    max_position_embeddings: need("context_length"),
    rms_norm_eps: need("attention.layer_norm_rms_epsilon"),
    rope_theta: num(h, `${a}.rope.freq_base`) ?? 10000,
    tie_word_embeddings: !h.tensors.has("output.weight"),
  };
  // Qwen2's config has no bias switches: its q / k / v always have biases. Qwen3's attention_bias
  // covers q / k / v / o; it has no mlp_bias.
  if (a === "llama") Object.assign(config, { attention_bias: h.tensors.has("blk.0.attn_q.bias"), mlp_bias: h.tensors.has("blk.0.ffn_gate.bias") });
  if (a === "qwen3") config.attention_bias = h.tensors.has("blk.0.attn_q.bias");
  const headDim = num(h, `${a}.attention.key_length`);
  if (headDim !== undefined) config.head_dim = headDim;
  if (a === "phi3") Object.assign(config, phi3Keys(h, file, config));
  if (a === "gemma2") Object.assign(config, gemma2Keys(h, file, config));
  const scaling = h.metadata[`${a}.rope.scaling.type`];
  if (scaling !== undefined && scaling !== "none") {
    if (scaling !== "linear") throw new ImportError(file, `has ${a}.rope.scaling.type ${JSON.stringify(scaling)}; only linear scaling is read from GGUF`);
    config.rope_scaling = { rope_type: "linear", factor: need("rope.scaling.factor") };
  }
  if (ropeFactors !== undefined) {
    if (config.rope_scaling !== undefined) throw new ImportError(file, `has both ${a}.rope.scaling.type and a rope_freqs tensor; specformer reads one RoPE scaling`);
    const dim = num(h, `${a}.rope.dimension_count`) ?? headDim ?? (config.hidden_size as number) / (config.num_attention_heads as number);
    const fit = fitLlama3Scaling(ropeFactors, dim, config.rope_theta as number);
    if (typeof fit === "string") throw new ImportError(file, `its rope_freqs tensor is not Llama 3's RoPE scaling: ${fit}`);
    if (fit?.kind === "llama3") {
      config.rope_scaling = { rope_type: "llama3", factor: fit.factor, low_freq_factor: fit.lowFreqFactor, high_freq_factor: fit.highFreqFactor, original_max_position_embeddings: fit.originalContext };
    }
  }
  return config;
}

/**
 * Phi-3's keys beyond the llama ones: sliding_window (the converter writes 0 for none: Phi-4),
 * partial_rotary_factor from rope.dimension_count. Its longrope scaling (Phi-3-*-128k) is the
 * rope_factors_long / _short tensors, refused as the Hugging Face importer refuses it.
 */
function phi3Keys(h: GgufHeader, file: string, config: Record<string, unknown>): Record<string, unknown> {
  if (h.tensors.has("rope_factors_long.weight") || h.tensors.has("rope_factors_short.weight")) {
    throw new ImportError(file, "has rope_factors_long / rope_factors_short (Phi-3's longrope scaling): per-frequency factors chosen by the sequence length, which the language has no statement for");
  }
  const out: Record<string, unknown> = {};
  const window = num(h, "phi3.attention.sliding_window");
  if (window !== undefined && window > 0) out.sliding_window = window;
  const headDim = (config.hidden_size as number) / (config.num_attention_heads as number);
  const rotated = num(h, "phi3.rope.dimension_count");
  if (rotated !== undefined && rotated !== headDim) out.partial_rotary_factor = rotated / headDim;
  return out;
}

/**
 * Gemma 2's keys beyond the llama ones. query_pre_attn_scalar is not in the file: llama.cpp
 * scales scores by (d / heads)^-1/2 for the 46-layer 27B and by head_dim^-1/2 otherwise, which
 * is what Gemma-2's configs give (256 = head_dim for 2B and 9B, 144 = d / heads for 27B).
 */
function gemma2Keys(h: GgufHeader, file: string, config: Record<string, unknown>): Record<string, unknown> {
  const need = (key: string): number => {
    const v = num(h, `gemma2.${key}`);
    if (v === undefined) throw new ImportError(file, `has no gemma2.${key} in its GGUF metadata`);
    return v;
  };
  const headDim = need("attention.key_length");
  const layers = config.num_hidden_layers as number;
  return {
    head_dim: headDim,
    attn_logit_softcapping: num(h, "gemma2.attn_logit_softcapping") ?? null,
    final_logit_softcapping: num(h, "gemma2.final_logit_softcapping") ?? null,
    sliding_window: need("attention.sliding_window"),
    query_pre_attn_scalar: layers === 46 ? (config.hidden_size as number) / (config.num_attention_heads as number) : headDim,
  };
}

/** The values of the file's rope_freqs tensor, when it has one (a few hundred bytes, read alone). */
async function ropeFactors(path: string, h: GgufHeader): Promise<Float32Array | undefined> {
  if (!h.tensors.has(ROPE_FREQS)) return undefined;
  const f = await openGguf(path, h);
  try {
    return ggufF32(f.tensors.get(ROPE_FREQS)!);
  } finally {
    f.close();
  }
}

export async function importGguf(path: string): Promise<CheckpointImport> {
  const file = `${path} (GGUF metadata)`;
  const h = await readGgufHeader(path);
  const c = parseConfig(JSON.stringify(llamaConfig(h, path, await ropeFactors(path, h))), file);
  const weightsNote =
    "Each line names the config.json key its GGUF metadata key stands for (src/import/gguf.ts) or the Hugging Face tensors it comes from; `specformer run` / `forward` on the GGUF file read its tensors under llama.cpp's names (Q4_0 / Q8_0 kept as q4 / q8).";
  return { ...importConfig(c, { source: file, name: basename(path).replace(/\.gguf$/i, ""), weightsNote }), dir: path, config: file };
}
