/**
 * `bert`: transformers' modeling_bert.py as BertForMaskedLM. Word + token-type + learned position
 * embeddings summed, the embedding LayerNorm, post-norm encoder layers with a padding mask, and
 * the masked-LM head: dense + act + LayerNorm, then the word embeddings (tied) plus an output
 * bias. Bidirectional: `forward` gives its logits; `run` cannot generate with it.
 */
import type { Config } from "./config.ts";
import { activation, dims, type FamilyImport } from "./family.ts";
import { num, type SpecWriter } from "./spec-text.ts";

export function importBert(c: Config): FamilyImport {
  const architecture = c.architecture(["BertForMaskedLM", "BertForPreTraining"], (x) =>
    x === "BertModel"
      ? "BertModel has no masked-LM head; the imported spec ends in BERT's MLM head (cls.predictions), which such a checkpoint lacks"
      : `${x} is not BertForMaskedLM; specformer imports BERT with its masked-LM head, not other heads`,
  );
  const vocab = c.int("vocab_size", 30522);
  const d = c.int("hidden_size", 768);
  const layers = c.int("num_hidden_layers", 12);
  const heads = c.int("num_attention_heads", 12);
  if (d % heads !== 0) c.refuse("num_attention_heads", `does not divide hidden_size (${d})`);
  const ff = c.int("intermediate_size", 3072);
  const context = c.int("max_position_embeddings", 512);
  const segments = c.int("type_vocab_size", 2);
  const actName = c.str("hidden_act", "gelu");
  const act = activation(actName);
  if (!act) c.refuse("hidden_act", "not an activation the language has (relu, gelu, gelu_new / gelu_pytorch_tanh, silu)");
  const eps = c.positive("layer_norm_eps", 1e-12);
  c.only("position_embedding_type", (v) => v === "absolute", 'relative position embeddings (relative_key, relative_key_query) are not in the language; only "absolute"');
  c.only("tie_word_embeddings", (v) => v === true, "an untied MLM decoder (cls.predictions.decoder) is not imported; BERT ties it to the word embeddings");
  c.finish();

  const about = [
    `Hugging Face ${architecture} (model_type bert): a bidirectional post-norm encoder, learned positions, token-type embeddings, the embedding LayerNorm and the masked-LM head (dense + ${actName} + LayerNorm, then the tied word embeddings plus a bias). Inputs: tokens (input_ids), types (token_type_ids; zeros for one segment), mask (attention_mask, 1 = real token).`,
  ];
  const body = (w: SpecWriter) => {
    dims(w, [
      ["vocab", vocab, "vocab_size"],
      ["d", d, "hidden_size"],
      ["heads", heads, "num_attention_heads"],
      ["layers", layers, "num_hidden_layers"],
      ["ff", ff, "intermediate_size"],
      ["context", context, "max_position_embeddings"],
      ["segments", segments, "type_vocab_size"],
    ]);
    w.line("input tokens: int[batch, seq] where seq <= context", "input_ids");
    w.line("input types: int[batch, seq]", "token_type_ids");
    w.line("input mask: bool[batch, seq]", "attention_mask (1 = real token)");
    w.blank();
    w.line("embed tokens(vocab, d)", "embeddings.word_embeddings");
    w.line("embed types(segments, d)", "embeddings.token_type_embeddings");
    w.line("position learned(context)", "embeddings.position_embeddings (position_embedding_type absolute)");
    w.line(`norm layer(eps = ${num(eps)})`, "embeddings.LayerNorm (layer_norm_eps)");
    w.blank();
    w.open("stack layers × encoder(norm = post)", "encoder.layer.N: each norm follows its sublayer's residual add");
    w.line("attention self(heads = heads, mask = none, padding = mask, bias = true)", "attention.self.{query,key,value}, attention.output.dense");
    w.line(`norm layer(eps = ${num(eps)})`, "attention.output.LayerNorm");
    w.line(`mlp(hidden = ff, act = ${act}, bias = true)`, `intermediate.dense, output.dense (hidden_act ${actName})`);
    w.line(`norm layer(eps = ${num(eps)})`, "output.LayerNorm");
    w.close();
    w.line(`head tied(bias = true, transform = ${act}, eps = ${num(eps)})`, "cls.predictions: transform.dense, transform.LayerNorm, bias; decoder tied");
  };
  return { architecture, map: "bert", body, about };
}
