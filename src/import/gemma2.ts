/**
 * `gemma2`: transformers' modeling_gemma2.py (Gemma-2 2B / 9B / 27B). The LLaMA layout with:
 *   - embeddings × √hidden_size (Gemma2Model's normalizer)            embed … (scale = sqrt(d))
 *   - Gemma2RMSNorm, x̂ · (1 + w) with w stored                        norm rms(…, offset = 1)
 *   - sandwich norms: input / post_attention around attention,
 *     pre_feedforward / post_feedforward around the MLP                stack …(norm = sandwich)
 *   - scores × query_pre_attn_scalar^-½, then cap · tanh(· / cap)       attention …(scale, softcap)
 *     (attn_logit_softcapping)
 *   - a sliding window on even layers (layer_idx % 2 == 0), global
 *     attention on odd ones                                             stack layers × (sliding, full)
 *   - GeGLU with gelu_pytorch_tanh (hidden_activation)                  mlp(act = geglu_tanh)
 *   - the head tied to the embeddings, logits soft-capped
 *     (final_logit_softcapping)                                         head tied(softcap = …)
 */
import type { Config } from "./config.ts";
import { decoderPreamble, gatedActivation, type FamilyImport } from "./family.ts";
import { configLayerTypes, writeStack, type LayerType } from "./layer-pattern.ts";
import { ropeText } from "./rope.ts";
import { num, type SpecWriter } from "./spec-text.ts";

/** A soft-cap key: a positive number, or null / absent for none. */
function softcap(c: Config, key: string, fallback: number | undefined): number | undefined {
  const v = c.value(key);
  if (v === null) return undefined;
  if (v === undefined) return fallback;
  const cap = c.num(key);
  if (!(cap > 0)) c.refuse(key, "must be above 0 (or null for no soft-capping)");
  return cap;
}

export function importGemma2(c: Config): FamilyImport {
  const architecture = c.architecture(["Gemma2ForCausalLM"], (x) => `${x} is not Gemma2ForCausalLM; specformer imports the causal language model, not other heads`);
  const vocab = c.int("vocab_size", 256000);
  const d = c.int("hidden_size", 2304);
  const layers = c.int("num_hidden_layers", 26);
  const heads = c.int("num_attention_heads", 8);
  const kvHeads = c.int("num_key_value_heads", 4);
  if (heads % kvHeads !== 0) c.refuse("num_key_value_heads", `must divide num_attention_heads (${heads})`);
  const headDim = c.int("head_dim", 256);
  const hidden = c.int("intermediate_size", 9216);
  const context = c.int("max_position_embeddings", 8192);
  // Gemma2MLP reads hidden_activation; hidden_act is the older Gemma key Gemma2 never reads.
  const actName = c.str("hidden_activation", "gelu_pytorch_tanh");
  const act = gatedActivation(actName);
  if (!act) c.refuse("hidden_activation", "Gemma2MLP is act(gate(x)) · up(x); the language has that gate for gelu_pytorch_tanh / gelu_new (geglu_tanh), gelu (geglu) and silu (swiglu)");
  c.ignore("hidden_act");
  const eps = c.positive("rms_norm_eps", 1e-6);
  const rope = ropeText(c);
  const bias = c.bool("attention_bias", false);
  const scalar = c.num("query_pre_attn_scalar", 256);
  if (!(scalar > 0)) c.refuse("query_pre_attn_scalar", "must be above 0 (scores are scaled by its inverse square root)");
  const scale = Math.pow(scalar, -0.5);
  const attnCap = softcap(c, "attn_logit_softcapping", 50);
  const finalCap = softcap(c, "final_logit_softcapping", 30);
  const windowRaw = c.value("sliding_window");
  const window = windowRaw === undefined ? 4096 : windowRaw === null ? undefined : c.int("sliding_window");
  // Gemma2Attention: sliding_window if not bool(layer_idx % 2), so layer 0 is local.
  let types: LayerType[] = Array.from({ length: layers }, (_, i) => (i % 2 === 0 ? "sliding" : "full"));
  const fromConfig = configLayerTypes(c, layers);
  if (fromConfig) types = fromConfig;
  const tied = c.bool("tie_word_embeddings", true);
  // cache_implementation ("hybrid") picks the KV-cache class generate() uses, not the function.
  c.ignore("cache_implementation");
  c.finish();

  const useWindow = window !== undefined && window < context && types.includes("sliding");
  if (!useWindow) types = types.map(() => "full");
  const about = [
    `Hugging Face ${architecture} (model_type gemma2): embeddings scaled by √d, (1 + w) RMSNorm, sandwich norms around attention and the MLP, ${useWindow ? `sliding-window (${window}) and global layers alternating` : "global attention on every layer"}, soft-capped attention${attnCap === undefined ? " (off)" : ""} and logits${finalCap === undefined ? " (off)" : ""}, a GeGLU MLP.`,
  ];
  if (window !== undefined && !useWindow) about.push(`sliding_window ${window} is at least the context (${context}), so every layer attends to every earlier token.`);
  const norm = `norm rms(eps = ${num(eps)}, offset = 1)`;
  const body = (w: SpecWriter) => {
    decoderPreamble(w, {
      dims: [
        ["vocab", vocab, "vocab_size"],
        ["d", d, "hidden_size"],
        ["heads", heads, "num_attention_heads"],
        ["kv_heads", kvHeads, "num_key_value_heads"],
        ["head_dim", headDim, "head_dim"],
        ["layers", layers, "num_hidden_layers"],
        ["hidden", hidden, "intermediate_size"],
      ],
      ...(useWindow ? { window: [window!, "sliding_window"] } : {}),
      context,
      embed: ["embed tokens(vocab, d, scale = sqrt(d))", "model.embed_tokens, × √hidden_size (Gemma2Model's normalizer)"],
      rope,
    });
    writeStack(w, {
      types,
      args: "(norm = sandwich)",
      comment: "model.layers.N",
      layer: (w, kind) => {
        w.line(norm, "input_layernorm: x̂ · (1 + w)");
        const args = ["heads = heads", "kv_heads = kv_heads", "head_dim = head_dim", "mask = causal"];
        if (kind === "sliding") args.push("window = window");
        if (bias) args.push("bias = true");
        args.push(`scale = ${num(scale)}`);
        if (attnCap !== undefined) args.push(`softcap = ${num(attnCap)}`);
        w.line(
          `attention self(${args.join(", ")})`,
          `self_attn.{q,k,v,o}_proj; scale = query_pre_attn_scalar (${num(scalar)})^-½${attnCap !== undefined ? "; softcap: attn_logit_softcapping" : ""}${bias ? "; attention_bias" : ""}`,
        );
        w.line(norm, "post_attention_layernorm");
        w.line(norm, "pre_feedforward_layernorm");
        w.line(`mlp(hidden = hidden, act = ${act}, bias = false)`, `mlp: down_proj(${actName}(gate_proj(x)) · up_proj(x)) (hidden_activation)`);
        w.line(norm, "post_feedforward_layernorm");
      },
    });
    w.line(norm, "model.norm");
    const head = tied ? "head tied" : "head linear";
    w.line(finalCap !== undefined ? `${head}(softcap = ${num(finalCap)})` : head, `${tied ? "lm_head shares embed_tokens" : "lm_head (tie_word_embeddings false)"}${finalCap !== undefined ? "; final_logit_softcapping" : ""}`);
  };
  return { architecture, map: "llama", body, about };
}
