/**
 * `llama`, `mistral` and `qwen2`: the LLaMA layout (transformers' modeling_llama.py and the
 * Mistral / Qwen2 files built from it). Pre-norm RMSNorm decoder, rotate-half RoPE over each
 * head, grouped-query attention, SwiGLU MLP (down(silu(gate(x)) · up(x))), final RMSNorm, an
 * lm_head that may share the embedding table.
 *
 * What differs between the three:
 *   llama    optional biases: `attention_bias` (q, k, v and o), `mlp_bias`
 *   mistral  `sliding_window` (every layer; null = full attention)
 *   qwen2    q/k/v biases always, no o bias; a window only with `use_sliding_window`, and then on
 *            layers max_window_layers.. (all or none can be expressed; a mixed stack is refused)
 */
import type { Config } from "./config.ts";
import { dims, ropeBase, type FamilyImport } from "./family.ts";
import { num, type SpecWriter } from "./spec-text.ts";

type LlamaType = "llama" | "mistral" | "qwen2";

const CLASS: Record<LlamaType, string> = { llama: "LlamaForCausalLM", mistral: "MistralForCausalLM", qwen2: "Qwen2ForCausalLM" };
const LABEL: Record<LlamaType, string> = { llama: "LLaMA", mistral: "Mistral", qwen2: "Qwen2" };
/** transformers' defaults where a key is absent (configuration_*.py). */
const DEFAULT_CONTEXT: Record<LlamaType, number> = { llama: 2048, mistral: 4096 * 32, qwen2: 32768 };

/** Which layers use a sliding window: the window, or undefined for full attention everywhere. */
function slidingWindow(c: Config, type: LlamaType, layers: number): { window?: number; comment?: string } {
  let window: number | undefined;
  let windowed: boolean[];
  let key = "sliding_window";
  if (type === "llama") {
    windowed = new Array<boolean>(layers).fill(false);
  } else if (type === "mistral") {
    // MistralConfig's default is 4096; null turns the window off.
    const v = c.value("sliding_window");
    window = v === undefined ? 4096 : v === null ? undefined : c.int("sliding_window");
    windowed = new Array<boolean>(layers).fill(window !== undefined);
  } else {
    // Qwen2: the window applies only with use_sliding_window, and then from layer
    // max_window_layers on (configuration_qwen2.py: layer_types).
    const use = c.bool("use_sliding_window", false);
    const v = c.value("sliding_window");
    const maxWindowLayers = c.int("max_window_layers", 28, 0);
    window = use && v !== null ? (v === undefined ? 4096 : c.int("sliding_window")) : undefined;
    windowed = Array.from({ length: layers }, (_, i) => window !== undefined && i >= maxWindowLayers);
    key = "max_window_layers";
  }
  const types = c.value("layer_types");
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.length !== layers || !types.every((t) => t === "full_attention" || t === "sliding_attention")) {
      c.refuse("layer_types", `expected ${layers} entries, each "full_attention" or "sliding_attention"`);
    }
    windowed = types.map((t) => t === "sliding_attention");
    key = "layer_types";
    if (windowed.some(Boolean) && window === undefined) c.refuse("layer_types", "names sliding-attention layers, but the config sets no sliding_window");
  }
  const n = windowed.filter(Boolean).length;
  if (n > 0 && n < layers) {
    c.refuse(key, `${n} of ${layers} layers use a sliding window and the others full attention; the language has no per-layer attention kinds yet (every layer of a stack is the same), so this stack cannot be written`);
  }
  if (n === 0) return {};
  return { window, comment: type === "qwen2" ? "sliding_window (use_sliding_window, every layer)" : "sliding_window" };
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
  const headDim = c.int("head_dim", implied ?? 0);
  if (headDim === 0) c.refuse("num_attention_heads", `does not divide hidden_size (${d}) and the config sets no head_dim`);
  const act = c.str("hidden_act", "silu");
  if (act !== "silu") c.refuse("hidden_act", `the ${LABEL[type]} MLP is act(gate(x)) · up(x); the language has it for silu (swiglu) only`);
  const eps = c.num("rms_norm_eps", 1e-6);
  if (!(eps > 0)) c.refuse("rms_norm_eps", "must be above 0");
  const base = ropeBase(c);
  const tied = c.bool("tie_word_embeddings", false);
  const { window, comment: windowComment } = slidingWindow(c, type, layers);
  const attnBias = type === "llama" ? c.bool("attention_bias", false) : type === "qwen2";
  const outBias = type === "llama" ? attnBias : false;
  const mlpBias = type === "llama" ? c.bool("mlp_bias", false) : false;
  // Keys that do not change the function: pretraining_tp > 1 slices the same matmuls (a
  // tensor-parallel reproduction detail); is_llama_config is a converter's marker.
  c.ignore("pretraining_tp", "is_llama_config");
  c.only("rope_interleaved", (v) => v === false, "interleaved (GPT-J style) RoPE pairs channels 2i, 2i+1; the language rotates halves as LLaMA does");
  if (type === "qwen2") c.only("use_mrope", (v) => v === false, "multimodal RoPE (Qwen2-VL's position sections) is not in the language");
  c.finish();

  // A window at least the context long never drops a key.
  const useWindow = window !== undefined && window < context;
  const about = [
    `Hugging Face ${architecture} (model_type ${type}): a pre-norm decoder with RMSNorm, rotate-half RoPE, ${kvHeads === heads ? "multi-head" : kvHeads === 1 ? "multi-query" : "grouped-query"} attention${useWindow ? ` over a sliding window of ${window} tokens` : ""} and a SwiGLU MLP.`,
  ];
  if (window !== undefined && !useWindow) about.push(`sliding_window ${window} is at least the context (${context}), so every layer attends to every earlier token.`);

  const body = (w: SpecWriter) => {
    const entries: [string, number, string][] = [
      ["vocab", vocab, "vocab_size"],
      ["d", d, "hidden_size"],
      ["heads", heads, "num_attention_heads"],
      ["kv_heads", kvHeads, c.has("num_key_value_heads") ? "num_key_value_heads" : "num_key_value_heads (absent: = heads)"],
    ];
    if (headDim !== implied) entries.push(["head_dim", headDim, "head_dim (not hidden_size / heads)"]);
    entries.push(["layers", layers, "num_hidden_layers"], ["hidden", hidden, "intermediate_size"]);
    if (useWindow) entries.push(["window", window!, windowComment!]);
    entries.push(["context", context, "max_position_embeddings"]);
    dims(w, entries);
    w.line("input tokens: int[batch, seq] where seq <= context", "input_ids");
    w.blank();
    w.line("embed tokens(vocab, d)", "model.embed_tokens");
    w.line(`position rope(base = ${num(base)})`, "rope_theta; rotate-half RoPE on every head channel");
    w.blank();
    w.open("stack layers × decoder", "model.layers.N");
    w.line(`norm rms(eps = ${num(eps)})`, "input_layernorm (rms_norm_eps)");
    const args = ["heads = heads", "kv_heads = kv_heads"];
    if (headDim !== implied) args.push("head_dim = head_dim");
    args.push("mask = causal");
    if (useWindow) args.push("window = window");
    if (attnBias) args.push("bias = true");
    if (attnBias && !outBias) args.push("out_bias = false");
    const biasNote = type === "qwen2" ? "; q/k/v biases, none on o_proj" : attnBias ? "; attention_bias: biases on q/k/v/o" : "";
    w.line(`attention self(${args.join(", ")})`, `self_attn.{q,k,v,o}_proj${biasNote}`);
    w.line(`norm rms(eps = ${num(eps)})`, "post_attention_layernorm");
    w.line(`mlp(hidden = hidden, act = swiglu, bias = ${mlpBias})`, `mlp: down_proj(silu(gate_proj(x)) · up_proj(x))${mlpBias ? "; mlp_bias" : ""}`);
    w.close();
    w.line(`norm rms(eps = ${num(eps)})`, "model.norm");
    w.line(tied ? "head tied" : "head linear", tied ? "lm_head shares embed_tokens (tie_word_embeddings)" : "lm_head (tie_word_embeddings false)");
  };
  return { architecture, map: "llama", body, about };
}
