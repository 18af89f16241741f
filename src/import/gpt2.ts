/**
 * `gpt2`: transformers' modeling_gpt2.py. Learned positions, pre-norm LayerNorm blocks, fused
 * q/k/v (`c_attn`, a Conv1D stored [in, out]; the `gpt2` name map splits and transposes it),
 * a GELU MLP, final `ln_f`, the head tied to `wte` (GPT2LMHeadModel).
 */
import type { Config } from "./config.ts";
import { activation, dims, type FamilyImport } from "./family.ts";
import { num, type SpecWriter } from "./spec-text.ts";

export function importGpt2(c: Config): FamilyImport {
  const architecture = c.architecture(["GPT2LMHeadModel", "GPT2Model", "GPT2DoubleHeadsModel"], (x) => `${x} is not GPT2LMHeadModel; specformer imports the language model, not other heads`);
  const vocab = c.int("vocab_size", 50257);
  const d = c.int("n_embd", 768);
  const layers = c.int("n_layer", 12);
  const heads = c.int("n_head", 12);
  if (d % heads !== 0) c.refuse("n_head", `does not divide n_embd (${d})`);
  const context = c.int("n_positions", 1024);
  const innerRaw = c.value("n_inner");
  const hidden = innerRaw === undefined || innerRaw === null ? 4 * d : c.int("n_inner");
  const actName = c.str("activation_function", "gelu_new");
  const act = activation(actName);
  if (!act) c.refuse("activation_function", "not an activation the language has (relu, gelu, gelu_new / gelu_pytorch_tanh, silu)");
  const eps = c.positive("layer_norm_epsilon", 1e-5);
  const tied = c.bool("tie_word_embeddings", true);
  c.only("scale_attn_weights", (v) => v === true, "unscaled attention scores (no 1/√head_dim) are not in the language");
  c.only("scale_attn_by_inverse_layer_idx", (v) => v === false, "scores scaled by 1/(layer + 1) differ per layer, which the language cannot express");
  // reorder_and_upcast_attn changes only the precision the scores are computed in (f32 here anyway);
  // n_ctx is an older name transformers no longer reads; the summary_* keys configure
  // GPT2DoubleHeadsModel's multiple-choice head, whose logits are not the language model's.
  c.ignore("reorder_and_upcast_attn", "n_ctx", "summary_type", "summary_use_proj", "summary_activation", "summary_proj_to_labels");
  c.finish();

  const about = [`Hugging Face ${architecture} (model_type gpt2): learned positions, pre-norm LayerNorm blocks, fused q/k/v (c_attn, split on load), a ${actName} MLP, ${tied ? "the head tied to wte" : "an untied lm_head"}.`];
  const body = (w: SpecWriter) => {
    dims(w, [
      ["vocab", vocab, "vocab_size"],
      ["d", d, "n_embd"],
      ["heads", heads, "n_head"],
      ["layers", layers, "n_layer"],
      ["hidden", hidden, innerRaw === undefined || innerRaw === null ? "n_inner (null: 4 · n_embd)" : "n_inner"],
      ["context", context, "n_positions"],
    ]);
    w.line("input tokens: int[batch, seq] where seq <= context", "input_ids");
    w.blank();
    w.line("embed tokens(vocab, d)", "wte");
    w.line("position learned(context)", "wpe");
    w.blank();
    w.open("stack layers × decoder", "h.N");
    w.line(`norm layer(eps = ${num(eps)})`, "ln_1 (layer_norm_epsilon)");
    w.line("attention self(heads = heads, mask = causal, bias = true)", "attn.c_attn (fused q/k/v), attn.c_proj");
    w.line(`norm layer(eps = ${num(eps)})`, "ln_2");
    w.line(`mlp(hidden = hidden, act = ${act}, bias = true)`, `mlp.c_fc, mlp.c_proj (activation_function ${actName})`);
    w.close();
    w.line(`norm layer(eps = ${num(eps)})`, "ln_f");
    w.line(tied ? "head tied" : "head linear", tied ? "lm_head shares wte" : "lm_head (tie_word_embeddings false)");
  };
  return { architecture, map: "gpt2", body, about };
}
