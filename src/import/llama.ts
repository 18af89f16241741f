/**
 * `llama`, `mistral`, `qwen2` and `qwen3`: the LLaMA layout (transformers' modeling_llama.py and
 * the Mistral / Qwen2 / Qwen3 files built from it). Pre-norm RMSNorm decoder, rotate-half RoPE
 * over each head (optionally scaled: rope_scaling linear or llama3), grouped-query attention, a
 * gated MLP (down(act(gate(x)) · up(x))), final RMSNorm, an lm_head that may share the
 * embedding table.
 *
 * What differs between them:
 *   llama    optional biases: `attention_bias` (q, k, v and o), `mlp_bias`
 *   mistral  `sliding_window` (every layer; null = full attention)
 *   qwen2    q/k/v biases always, no o bias; a window only with `use_sliding_window`, and then on
 *            layers max_window_layers.. (a layer pattern `(full × N, sliding × L − N)`)
 *   qwen3    as qwen2's windows, `attention_bias` (q, k, v and o), q_norm / k_norm (an RMSNorm
 *            over each head's head_dim channels of q and k, before RoPE), head_dim default 128
 */
import type { Config } from "./config.ts";
import { decoderPreamble, gatedActivation, type FamilyImport } from "./family.ts";
import { configLayerTypes, writeStack, type LayerType } from "./layer-pattern.ts";
import { ropeText } from "./rope.ts";
import { num, type SpecWriter } from "./spec-text.ts";

type LlamaType = "llama" | "mistral" | "qwen2" | "qwen3";

const CLASS: Record<LlamaType, string> = { llama: "LlamaForCausalLM", mistral: "MistralForCausalLM", qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM" };
const LABEL: Record<LlamaType, string> = { llama: "LLaMA", mistral: "Mistral", qwen2: "Qwen2", qwen3: "Qwen3" };
/** transformers' defaults where a key is absent (configuration_*.py). */
const DEFAULT_CONTEXT: Record<LlamaType, number> = { llama: 2048, mistral: 4096 * 32, qwen2: 32768, qwen3: 32768 };

interface Windows {
  /** The window of the sliding layers (undefined: no layer has one). */
  window?: number;
  types: LayerType[];
  comment?: string;
}

/** Which layers use a sliding window, and how wide it is. */
function slidingWindows(c: Config, type: LlamaType, layers: number): Windows {
  let window: number | undefined;
  let types: LayerType[];
  let comment = "sliding_window";
  if (type === "llama") {
    types = new Array<LayerType>(layers).fill("full");
  } else if (type === "mistral") {
    // MistralConfig's default is 4096; null turns the window off.
    const v = c.value("sliding_window");
    window = v === undefined ? 4096 : v === null ? undefined : c.int("sliding_window");
    types = new Array<LayerType>(layers).fill(window === undefined ? "full" : "sliding");
  } else {
    // Qwen2 / Qwen3: the window applies only with use_sliding_window, and then from layer
    // max_window_layers on (configuration_qwen2.py: layer_types).
    const use = c.bool("use_sliding_window", false);
    const v = c.value("sliding_window");
    const maxWindowLayers = c.int("max_window_layers", 28, 0);
    window = use && v !== null ? (v === undefined ? 4096 : c.int("sliding_window")) : undefined;
    types = Array.from({ length: layers }, (_, i) => (window !== undefined && i >= maxWindowLayers ? "sliding" : "full"));
    comment = types.every((t) => t === "sliding") ? "sliding_window (use_sliding_window, every layer)" : `sliding_window (use_sliding_window; layers ${maxWindowLayers}.. by max_window_layers)`;
  }
  const fromConfig = configLayerTypes(c, layers);
  if (fromConfig) {
    types = fromConfig;
    comment = "sliding_window (the layers layer_types names sliding_attention)";
    if (types.includes("sliding") && window === undefined) c.refuse("layer_types", "names sliding-attention layers, but the config sets no sliding_window");
  }
  return { window, types, comment };
}

export function importLlama(c: Config): FamilyImport {
  const type = c.modelType as LlamaType;
  const cls = CLASS[type];
  const architecture = c.architecture([cls], (x) => `${x} is not ${cls}; specformer imports the causal language model (${cls}, with its lm_head), not other heads`);

  const vocab = c.int("vocab_size");
  const d = c.int("hidden_size");
  const layers = c.int("num_hidden_layers");
  const heads = c.int("num_attention_heads");
  const kvHeads = c.int("num_key_value_heads", heads);
  if (heads % kvHeads !== 0) c.refuse("num_key_value_heads", `must divide num_attention_heads (${heads})`);
  const hidden = c.int("intermediate_size");
  const context = c.int("max_position_embeddings", DEFAULT_CONTEXT[type]);
  const implied = d % heads === 0 ? d / heads : undefined;
  // Qwen3Config's head_dim defaults to 128, the others' to hidden_size / heads.
  const headDim = c.int("head_dim", type === "qwen3" ? 128 : (implied ?? 0));
  if (headDim === 0) c.refuse("num_attention_heads", `does not divide hidden_size (${d}) and the config sets no head_dim`);
  const actName = c.str("hidden_act", "silu");
  const act = gatedActivation(actName);
  if (!act) c.refuse("hidden_act", `the ${LABEL[type]} MLP is act(gate(x)) · up(x); the language has that gate for silu (swiglu), gelu (geglu) and gelu_pytorch_tanh / gelu_new (geglu_tanh)`);
  const eps = c.positive("rms_norm_eps", 1e-6);
  const rope = ropeText(c);
  const tied = c.bool("tie_word_embeddings", false);
  const { window, types: rawTypes, comment: windowComment } = slidingWindows(c, type, layers);
  const attnBias = type === "llama" || type === "qwen3" ? c.bool("attention_bias", false) : type === "qwen2";
  const outBias = type === "qwen2" ? false : attnBias;
  const mlpBias = type === "llama" ? c.bool("mlp_bias", false) : false;
  // Keys that do not change the function: pretraining_tp > 1 slices the same matmuls (a
  // tensor-parallel reproduction detail); is_llama_config is a converter's marker.
  c.ignore("pretraining_tp", "is_llama_config");
  c.only("rope_interleaved", (v) => v === false, "interleaved (GPT-J style) RoPE pairs channels 2i, 2i+1; the language rotates halves as LLaMA does");
  if (type === "qwen2") c.only("use_mrope", (v) => v === false, "multimodal RoPE (Qwen2-VL's position sections) is not in the language");
  c.finish();

  // A window at least the context long never drops a key: every layer is then full attention.
  const useWindow = window !== undefined && window < context;
  const types: LayerType[] = useWindow ? rawTypes : rawTypes.map(() => "full");
  const nSliding = types.filter((t) => t === "sliding").length;
  const attnKind = kvHeads === heads ? "multi-head" : kvHeads === 1 ? "multi-query" : "grouped-query";
  const windowNote = nSliding === 0 ? "" : nSliding === layers ? ` over a sliding window of ${window} tokens` : ` (a sliding window of ${window} tokens on ${nSliding} of ${layers} layers)`;
  const about = [
    `Hugging Face ${architecture} (model_type ${type}): a pre-norm decoder with RMSNorm, rotate-half RoPE, ${attnKind} attention${windowNote}${type === "qwen3" ? ", q/k RMSNorm per head" : ""} and a gated MLP (${actName}).`,
  ];
  if (window !== undefined && !useWindow && rawTypes.includes("sliding")) about.push(`sliding_window ${window} is at least the context (${context}), so every layer attends to every earlier token.`);

  const body = (w: SpecWriter) => {
    const entries: [string, number, string][] = [
      ["vocab", vocab, "vocab_size"],
      ["d", d, "hidden_size"],
      ["heads", heads, "num_attention_heads"],
      ["kv_heads", kvHeads, c.has("num_key_value_heads") ? "num_key_value_heads" : "num_key_value_heads (absent: = heads)"],
    ];
    if (headDim !== implied) entries.push(["head_dim", headDim, c.has("head_dim") ? "head_dim (not hidden_size / heads)" : "head_dim (absent: Qwen3Config's 128)"]);
    entries.push(["layers", layers, "num_hidden_layers"], ["hidden", hidden, "intermediate_size"]);
    decoderPreamble(w, { dims: entries, ...(nSliding > 0 ? { window: [window!, windowComment!] } : {}), context, embed: ["embed tokens(vocab, d)", "model.embed_tokens"], rope });
    writeStack(w, {
      types,
      args: "",
      comment: "model.layers.N",
      layer: (w, kind) => {
        w.line(`norm rms(eps = ${num(eps)})`, "input_layernorm (rms_norm_eps)");
        const args = ["heads = heads", "kv_heads = kv_heads"];
        if (headDim !== implied) args.push("head_dim = head_dim");
        args.push("mask = causal");
        if (kind === "sliding") args.push("window = window");
        if (attnBias) args.push("bias = true");
        if (attnBias && !outBias) args.push("out_bias = false");
        if (type === "qwen3") args.push(`qk_norm = rms(eps = ${num(eps)})`);
        const notes = [type === "qwen2" ? "q/k/v biases, none on o_proj" : attnBias ? "attention_bias: biases on q/k/v/o" : "", type === "qwen3" ? "self_attn.q_norm / k_norm" : ""].filter(Boolean);
        w.line(`attention self(${args.join(", ")})`, `self_attn.{q,k,v,o}_proj${notes.length ? `; ${notes.join("; ")}` : ""}`);
        w.line(`norm rms(eps = ${num(eps)})`, "post_attention_layernorm");
        w.line(`mlp(hidden = hidden, act = ${act}, bias = ${mlpBias})`, `mlp: down_proj(${actName}(gate_proj(x)) · up_proj(x))${mlpBias ? "; mlp_bias" : ""}`);
      },
    });
    w.line(`norm rms(eps = ${num(eps)})`, "model.norm");
    w.line(tied ? "head tied" : "head linear", tied ? "lm_head shares embed_tokens (tie_word_embeddings)" : "lm_head (tie_word_embeddings false)");
  };
  return { architecture, map: "llama", body, about };
}
