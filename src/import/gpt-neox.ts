/**
 * `gpt_neox`: transformers' modeling_gpt_neox.py (GPT-NeoX-20B, Pythia). Pre-norm LayerNorm
 * layers whose attention and MLP run in parallel off the layer input
 * (`use_parallel_residual`: x + attn(ln1(x)) + mlp(ln2(x))), q/k/v fused per head in
 * `attention.query_key_value` ([heads, 3, head_dim] rows; the `gpt_neox` name map splits them),
 * rotate-half RoPE on the first `rotary_pct` of each head's channels, biases on every
 * projection, a final LayerNorm and an untied `embed_out`.
 */
import type { Config } from "./config.ts";
import { activation, decoderPreamble, type FamilyImport } from "./family.ts";
import { ropeText } from "./rope.ts";
import { num, type SpecWriter } from "./spec-text.ts";

/** The rotated fraction: rotary_pct (or the newer partial_rotary_factor; both must agree). */
function rotaryFraction(c: Config, headDim: number): { value: number; rotated: number; comment: string } {
  const pct = c.num("rotary_pct", 0.25);
  const prf = c.value("partial_rotary_factor");
  if (prf !== undefined && prf !== null && prf !== pct && c.has("rotary_pct")) c.refuse("partial_rotary_factor", `disagrees with rotary_pct = ${pct}`);
  const factor = prf !== undefined && prf !== null ? c.num("partial_rotary_factor") : pct;
  // GPTNeoXAttention: rotary_ndims = int(head_size * rotary_pct).
  const rotated = Math.floor(headDim * factor);
  const key = c.has("rotary_pct") ? "rotary_pct" : prf !== undefined && prf !== null ? "partial_rotary_factor" : "rotary_pct (absent: 0.25)";
  if (!(factor > 0 && factor <= 1) || rotated < 2 || rotated % 2 !== 0) c.refuse(c.has("rotary_pct") ? "rotary_pct" : "partial_rotary_factor", `must rotate an even number of the ${headDim} channels of a head (int(head_size · ${factor}) = ${rotated})`);
  return { value: rotated / headDim, rotated, comment: `${key}: the first ${rotated} of ${headDim} channels` };
}

export function importGptNeox(c: Config): FamilyImport {
  const architecture = c.architecture(["GPTNeoXForCausalLM"], (x) => `${x} is not GPTNeoXForCausalLM; specformer imports the causal language model (with embed_out), not other heads`);
  const vocab = c.int("vocab_size", 50432);
  const d = c.int("hidden_size", 6144);
  const layers = c.int("num_hidden_layers", 44);
  const heads = c.int("num_attention_heads", 64);
  if (d % heads !== 0) c.refuse("num_attention_heads", `does not divide hidden_size (${d})`);
  const headDim = d / heads;
  const hidden = c.int("intermediate_size", 24576);
  const context = c.int("max_position_embeddings", 2048);
  const actName = c.str("hidden_act", "gelu");
  const act = activation(actName);
  if (!act) c.refuse("hidden_act", "not an activation the language has (relu, gelu, gelu_new / gelu_pytorch_tanh, silu)");
  const eps = c.positive("layer_norm_eps", 1e-5);
  const fraction = rotaryFraction(c, headDim);
  // The base is rotary_emb_base in GPTNeoXConfig; newer transformers spell it rope_theta.
  const baseKey = c.has("rotary_emb_base") || !c.has("rope_theta") ? "rotary_emb_base" : "rope_theta";
  if (c.has("rotary_emb_base") && c.has("rope_theta") && c.raw.rotary_emb_base !== c.raw.rope_theta) c.refuse("rope_theta", `disagrees with rotary_emb_base = ${String(c.raw.rotary_emb_base)}`);
  c.ignore(baseKey === "rotary_emb_base" ? "rope_theta" : "rotary_emb_base");
  const rope = ropeText(c, { baseKey, fraction });
  const parallel = c.bool("use_parallel_residual", true);
  const bias = c.bool("attention_bias", true);
  const tied = c.bool("tie_word_embeddings", false);
  c.finish();

  const about = [
    `Hugging Face ${architecture} (model_type gpt_neox): pre-norm LayerNorm layers with ${parallel ? "attention and the MLP in parallel off the layer input (use_parallel_residual)" : "attention then the MLP (use_parallel_residual false)"}, q/k/v fused per head (query_key_value, split on load), RoPE on ${fraction.rotated} of ${headDim} channels per head, a ${actName} MLP, ${tied ? "the head tied to embed_in" : "an untied embed_out"}.`,
  ];
  const body = (w: SpecWriter) => {
    decoderPreamble(w, {
      dims: [
        ["vocab", vocab, "vocab_size"],
        ["d", d, "hidden_size"],
        ["heads", heads, "num_attention_heads"],
        ["layers", layers, "num_hidden_layers"],
        ["hidden", hidden, "intermediate_size"],
      ],
      context,
      embed: ["embed tokens(vocab, d)", "gpt_neox.embed_in"],
      rope,
    });
    w.open(`stack layers × decoder${parallel ? "(residual = parallel)" : ""}`, `gpt_neox.layers.N${parallel ? "; x + attn(ln1(x)) + mlp(ln2(x))" : ""}`);
    w.line(`norm layer(eps = ${num(eps)})`, "input_layernorm (layer_norm_eps)");
    w.line(`attention self(heads = heads, mask = causal, bias = ${bias})`, `attention.query_key_value (per head [q, k, v]), attention.dense${bias ? "" : "; attention_bias false"}`);
    w.line(`norm layer(eps = ${num(eps)})`, "post_attention_layernorm");
    w.line(`mlp(hidden = hidden, act = ${act}, bias = true)`, `mlp.dense_h_to_4h, mlp.dense_4h_to_h (hidden_act ${actName})`);
    w.close();
    w.line(`norm layer(eps = ${num(eps)})`, "gpt_neox.final_layer_norm");
    w.line(tied ? "head tied" : "head linear", tied ? "embed_out shares embed_in (tie_word_embeddings)" : "embed_out (tie_word_embeddings false)");
  };
  return { architecture, map: "gpt_neox", body, about };
}
