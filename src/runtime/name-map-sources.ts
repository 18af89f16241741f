/**
 * The name maps' tables: which PyTorch / Hugging Face tensor each native tensor reads, per
 * naming convention. Used by name-maps.ts (applyNameMap).
 *
 * Notation: `L` is the layer index (stacks of a section counted on from each other),
 * E = heads·headDim, KV = kvHeads·headDim, H = the MLP's hidden width. "rows a..b" slices along
 * the output axis.
 *
 * gpt2 — Hugging Face GPT2Model / GPT2LMHeadModel. Every name may carry a `transformer.`
 * prefix (GPT2LMHeadModel's state_dict) except lm_head. Conv1D weights are stored [in, out]
 * and are transposed. `h.L.attn.bias` / `h.L.attn.masked_bias` (mask buffers) are ignored.
 *   embed.<tokens>.weight                  wte.weight
 *   position.weight                        wpe.weight
 *   <stack>.L.attn_norm.{weight,bias}      h.L.ln_1.{weight,bias}
 *   <stack>.L.attn.q.weight                h.L.attn.c_attn.weight   [d, E+2KV], columns 0..E, transposed
 *   <stack>.L.attn.k.weight                h.L.attn.c_attn.weight   columns E..E+KV, transposed
 *   <stack>.L.attn.v.weight                h.L.attn.c_attn.weight   columns E+KV..E+2KV, transposed
 *   <stack>.L.attn.{q,k,v}.bias            h.L.attn.c_attn.bias     the same slices
 *   <stack>.L.attn.o.{weight,bias}         h.L.attn.c_proj.{weight (transposed),bias}
 *   <stack>.L.mlp_norm.{weight,bias}       h.L.ln_2.{weight,bias}
 *   <stack>.L.mlp.up.{weight,bias}         h.L.mlp.c_fc.{weight (transposed),bias}
 *   <stack>.L.mlp.down.{weight,bias}       h.L.mlp.c_proj.{weight (transposed),bias}
 *   norm.K (the norm after the stack)      ln_f.{weight,bias}
 *   head.weight (untied head only)         lm_head.weight           (never prefixed)
 *
 * llama — Hugging Face LlamaForCausalLM and the families laid out like it: Mistral, Qwen2
 * (biases), Qwen3 (q/k norms), Phi-3 (fused projections), Gemma-2 (sandwich norms). Every name
 * may carry a `model.` prefix (the *ForCausalLM state_dict) except lm_head. No transposes.
 *   embed.<tokens>.weight                  model.embed_tokens.weight
 *   <stack>.L.attn_norm.weight             model.layers.L.input_layernorm.weight
 *   <stack>.L.attn.{q,k,v,o}.{weight,bias} model.layers.L.self_attn.{q,k,v,o}_proj.{weight,bias}
 *   <stack>.L.attn.{q,k,v}.{weight,bias}   or model.layers.L.self_attn.qkv_proj.{weight,bias}  (Phi-3)
 *                                          rows 0..E, E..E+KV, E+KV..E+2KV
 *   <stack>.L.attn.{q,k}_norm.weight       model.layers.L.self_attn.{q,k}_norm.weight  (Qwen3, [head_dim])
 *   <stack>.L.mlp_norm.weight              model.layers.L.post_attention_layernorm.weight
 *   <stack>.L.mlp.{gate,up,down}.{w,b}     model.layers.L.mlp.{gate,up,down}_proj.{weight,bias}
 *   <stack>.L.mlp.{gate,up}.weight         or model.layers.L.mlp.gate_up_proj.weight  (Phi-3) rows 0..H, H..2H
 *   norm.K (the norm after the stack)      model.norm.weight
 *   head.weight (untied head only)         lm_head.weight           (never prefixed)
 *  In a sandwich stack (Gemma-2) the four norms of a layer are
 *   <stack>.L.attn_norm.weight             model.layers.L.input_layernorm.weight
 *   <stack>.L.attn_post_norm.weight        model.layers.L.post_attention_layernorm.weight
 *   <stack>.L.mlp_norm.weight              model.layers.L.pre_feedforward_layernorm.weight
 *   <stack>.L.mlp_post_norm.weight         model.layers.L.post_feedforward_layernorm.weight
 *  Gemma's (1 + w) RMSNorm is the spec's `offset = 1`: the stored w loads unchanged.
 *
 * gpt_neox — Hugging Face GPTNeoXForCausalLM (Pythia). Every name may carry a `gpt_neox.` prefix
 * except embed_out. query_key_value is fused per head: viewed [heads, 3, head_dim, d], so q is
 * rows h·3·hd + 0..hd of each head h, k rows h·3·hd + hd..2hd, v rows h·3·hd + 2hd..3hd. The
 * attention.bias / masked_bias / rotary_emb.inv_freq buffers older versions save are not read.
 *   embed.<tokens>.weight                  gpt_neox.embed_in.weight
 *   <stack>.L.attn_norm.{weight,bias}      gpt_neox.layers.L.input_layernorm.{weight,bias}
 *   <stack>.L.attn.{q,k,v}.{weight,bias}   gpt_neox.layers.L.attention.query_key_value.{weight,bias}  per head, as above
 *   <stack>.L.attn.o.{weight,bias}         gpt_neox.layers.L.attention.dense.{weight,bias}
 *   <stack>.L.mlp_norm.{weight,bias}       gpt_neox.layers.L.post_attention_layernorm.{weight,bias}
 *   <stack>.L.mlp.up.{weight,bias}         gpt_neox.layers.L.mlp.dense_h_to_4h.{weight,bias}
 *   <stack>.L.mlp.down.{weight,bias}       gpt_neox.layers.L.mlp.dense_4h_to_h.{weight,bias}
 *   norm.K (the norm after the stack)      gpt_neox.final_layer_norm.{weight,bias}
 *   head.weight                            embed_out.weight         (never prefixed)
 *
 * torch — torch.nn.TransformerEncoder / nn.Transformer state_dict names. Layer and final-norm
 * names may carry a `transformer.` prefix (a module holding an nn.Transformer as
 * `self.transformer`, as the PyTorch translation tutorial's Seq2SeqTransformer does). A layer
 * must be [attention self, (attention cross,) mlp], as nn.TransformerEncoderLayer /
 * nn.TransformerDecoderLayer are. <part> is `encoder` for the main section of a decoder- or
 * encoder-only model (nn.TransformerEncoder serves both) and for an encoder section, `decoder`
 * for a decoder section.
 *   <stack>.L.attn.q.weight                <part>.layers.L.self_attn.in_proj_weight   rows 0..E
 *   <stack>.L.attn.k.weight                <part>.layers.L.self_attn.in_proj_weight   rows E..E+KV
 *   <stack>.L.attn.v.weight                <part>.layers.L.self_attn.in_proj_weight   rows E+KV..E+2KV
 *                                          (or self_attn.{q,k,v}_proj_weight, which nn.MultiheadAttention
 *                                          keeps instead when kdim/vdim differ from embed_dim)
 *   <stack>.L.attn.{q,k,v}.bias            <part>.layers.L.self_attn.in_proj_bias     the same rows
 *   <stack>.L.attn.o.{weight,bias}         <part>.layers.L.self_attn.out_proj.{weight,bias}
 *   <stack>.L.cross_attn.*                 <part>.layers.L.multihead_attn.*           as self_attn
 *   <stack>.L.mlp.up.{weight,bias}         <part>.layers.L.linear1.{weight,bias}
 *   <stack>.L.mlp.down.{weight,bias}       <part>.layers.L.linear2.{weight,bias}
 *   <stack>.L.attn_norm.*                  <part>.layers.L.norm1.*
 *   <stack>.L.cross_attn_norm.*            <part>.layers.L.norm2.*
 *   <stack>.L.mlp_norm.*                   <part>.layers.L.norm2.* (encoder layer), norm3.* (decoder layer)
 *   norm.K / encoder.norm.K / decoder.norm.K   <part>.norm.*  (the final norm, after the stack)
 *  Embeddings and head (torch.nn has no standard names for these; our convention, after the
 *  PyTorch tutorials — the sinusoidal table, a buffer there, is not read):
 *   embed.<tokens>.weight   (main section) embedding.weight
 *   position.weight         (main section) pos_embedding.weight
 *   encoder.embed.<x>.weight               src_tok_emb.embedding.weight
 *   decoder.embed.<x>.weight               tgt_tok_emb.embedding.weight   (absent when tied to the source table)
 *   encoder.position.weight                src_pos_embedding.weight
 *   decoder.position.weight                tgt_pos_embedding.weight
 *   head.weight, head.bias                 generator.weight, generator.bias (nn.Linear to the vocabulary)
 *
 * bert — Hugging Face BertForMaskedLM / BertForPreTraining (also BertModel's names, without the
 * head). Every name may carry a `bert.` prefix except the `cls.` head. No transposes. LayerNorm
 * parameters may be spelled `gamma` / `beta` (the original TensorFlow conversion) instead of
 * `weight` / `bias`. The layer must be post-norm [attention self, mlp]. The pooler and the
 * next-sentence head (cls.seq_relationship) are not read.
 *   embed.<first input>.weight             bert.embeddings.word_embeddings.weight
 *   embed.<second input>.weight            bert.embeddings.token_type_embeddings.weight
 *   position.weight                        bert.embeddings.position_embeddings.weight
 *   norm.0 (before the stack)              bert.embeddings.LayerNorm.{weight,bias}
 *   <stack>.L.attn.{q,k,v}.{weight,bias}   bert.encoder.layer.L.attention.self.{query,key,value}.{weight,bias}
 *   <stack>.L.attn.o.{weight,bias}         bert.encoder.layer.L.attention.output.dense.{weight,bias}
 *   <stack>.L.attn_norm.{weight,bias}      bert.encoder.layer.L.attention.output.LayerNorm.{weight,bias}
 *   <stack>.L.mlp.up.{weight,bias}         bert.encoder.layer.L.intermediate.dense.{weight,bias}
 *   <stack>.L.mlp.down.{weight,bias}       bert.encoder.layer.L.output.dense.{weight,bias}
 *   <stack>.L.mlp_norm.{weight,bias}       bert.encoder.layer.L.output.LayerNorm.{weight,bias}
 *   head.transform.{weight,bias}           cls.predictions.transform.dense.{weight,bias}
 *   head.transform_norm.{weight,bias}      cls.predictions.transform.LayerNorm.{weight,bias}
 *   head.bias                              cls.predictions.bias (or cls.predictions.decoder.bias)
 *   head.weight (untied head only)         cls.predictions.decoder.weight
 *
 * Not expressible in any map (a WeightsError says so): extra section norms outside bert (BERT's
 * embedding LayerNorm), a second embedding outside bert (token types), the head transform outside
 * bert, a head bias under gpt2, llama or gpt_neox, gated MLPs under gpt2, torch, bert and gpt_neox,
 * q/k norms outside llama, sandwich stacks outside llama, and layers of any other shape.
 */

import type { AttentionInfo, MlpInfo, SectionInfo, StackInfo } from "../model/model.ts";
import { sublayerNames } from "../model/weights-layout.ts";

export type MapName = "gpt2" | "llama" | "torch" | "bert" | "gpt_neox" | "mamba";

export const MAP_NAMES: readonly MapName[] = Object.freeze(["gpt2", "llama", "torch", "bert", "gpt_neox", "mamba"]);

export const LABEL: Record<MapName, string> = { gpt2: "GPT-2", llama: "LLaMA", torch: "torch.nn", bert: "BERT", gpt_neox: "GPT-NeoX", mamba: "Mamba" };

/**
 * Rows of a fused tensor that make a native one (along the output axis): blocks of `block` rows
 * starting at start, start + stride, start + 2·stride, … of a tensor of `total` rows. A plain
 * contiguous slice is one block (block and stride absent).
 */
export interface Rows {
  start: number;
  total: number;
  block?: number;
  stride?: number;
}

/** One way to read a native tensor: a PyTorch tensor, optionally transposed and/or sliced. */
export interface Alt {
  name: string;
  /** The optional prefix this spelling carries ("" for none). */
  prefix?: string;
  /** Stored [in, out] (Conv1D); the native tensor is [out, in]. */
  transpose?: boolean;
  /** The native tensor is these rows of a fused tensor. */
  slice?: Rows;
}

/** Where a native tensor comes from: alternatives in order of preference, the first is canonical. */
export type Source = Alt[];

/** What a native tensor is, structurally: what each map names. */
export type Slot =
  | { kind: "embed"; sec: SectionInfo; first: boolean; index: number }
  | { kind: "position"; sec: SectionInfo }
  | { kind: "norm"; sec: SectionInfo; final: boolean; beforeStacks: boolean; param: string }
  /** A sublayer's norm: its input norm, or (`post`, sandwich stacks) its output norm. */
  | { kind: "sub_norm"; sec: SectionInfo; layer: number; sub: string; stack: StackInfo; post: boolean; param: string }
  | { kind: "attn"; sec: SectionInfo; layer: number; sub: string; a: AttentionInfo; proj: "q" | "k" | "v" | "o"; param: string }
  | { kind: "qk_norm"; sec: SectionInfo; layer: number; sub: string; which: "q" | "k"; param: string }
  | { kind: "mlp"; sec: SectionInfo; layer: number; sub: string; f: MlpInfo; proj: "gate" | "up" | "down"; param: string }
  /** A state-space sublayer's tensor: `tensor` is its name under the sublayer (in_proj.weight, A_log, …). */
  | { kind: "ssm"; sec: SectionInfo; layer: number; sub: string; tensor: string }
  | { kind: "head"; param: string };

function withPrefixes(name: string, prefixes: readonly string[], opts: Omit<Alt, "name"> = {}, preferPrefixed = false): Source {
  const plain: Alt = { name, prefix: "", ...opts };
  const prefixed = prefixes.map((pre): Alt => ({ name: pre + name, prefix: pre, ...opts }));
  return preferPrefixed ? [...prefixed, plain] : [plain, ...prefixed];
}

/** Rows of a fused q/k/v projection: [q (E rows); k (KV rows); v (KV rows)]. */
function qkvSlice(a: AttentionInfo, proj: "q" | "k" | "v"): Rows {
  const e = a.heads * a.headDim;
  const kv = a.kvHeads * a.headDim;
  return { start: proj === "q" ? 0 : proj === "k" ? e : e + kv, total: e + 2 * kv };
}

/** Rows of GPT-NeoX's per-head fused q/k/v: [heads, 3, head_dim] along the output axis. */
function perHeadQkvSlice(a: AttentionInfo, proj: "q" | "k" | "v"): Rows {
  const hd = a.headDim;
  return { start: (proj === "q" ? 0 : proj === "k" ? 1 : 2) * hd, total: 3 * a.heads * hd, block: hd, stride: 3 * hd };
}

function gpt2Source(s: Slot): Source | undefined {
  const pre = (name: string, opts: Omit<Alt, "name"> = {}) => withPrefixes(name, ["transformer."], opts);
  switch (s.kind) {
    case "embed":
      return s.sec.role === "main" && s.first ? pre("wte.weight") : undefined;
    case "qk_norm":
      return undefined;
    case "position":
      return s.sec.role === "main" ? pre("wpe.weight") : undefined;
    case "norm":
      return s.final && s.sec.role === "main" ? pre(`ln_f.${s.param}`) : undefined;
    case "sub_norm":
      return pre(`h.${s.layer}.${s.sub === "attn" ? "ln_1" : "ln_2"}.${s.param}`);
    case "attn": {
      const base = `h.${s.layer}.attn.`;
      if (s.proj === "o") return pre(`${base}c_proj.${s.param}`, { transpose: s.param === "weight" });
      return pre(`${base}c_attn.${s.param}`, { transpose: s.param === "weight", slice: qkvSlice(s.a, s.proj) });
    }
    case "mlp":
      if (s.proj === "gate") return undefined;
      return pre(`h.${s.layer}.mlp.${s.proj === "up" ? "c_fc" : "c_proj"}.${s.param}`, { transpose: s.param === "weight" });
    case "head":
      return s.param === "weight" ? [{ name: "lm_head.weight" }] : undefined;
  }
}

/** A Gemma-2 sandwich layer's four norms; otherwise LLaMA's two. */
function llamaNormName(s: Extract<Slot, { kind: "sub_norm" }>): string {
  const attn = s.sub === "attn";
  if (s.stack.placement !== "sandwich") return attn ? "input_layernorm" : "post_attention_layernorm";
  if (attn) return s.post ? "post_attention_layernorm" : "input_layernorm";
  return s.post ? "post_feedforward_layernorm" : "pre_feedforward_layernorm";
}

function llamaSource(s: Slot): Source | undefined {
  const pre = (name: string, opts: Omit<Alt, "name"> = {}) => withPrefixes(name, ["model."], opts, true);
  switch (s.kind) {
    case "embed":
      return s.sec.role === "main" && s.first ? pre("embed_tokens.weight") : undefined;
    case "position":
      return undefined;
    case "norm":
      return s.final && s.sec.role === "main" ? pre(`norm.${s.param}`) : undefined;
    case "sub_norm":
      return pre(`layers.${s.layer}.${llamaNormName(s)}.${s.param}`);
    case "attn": {
      const base = `layers.${s.layer}.self_attn.`;
      const own = pre(`${base}${s.proj}_proj.${s.param}`);
      // Phi-3 keeps q, k and v in one qkv_proj.
      return s.proj === "o" ? own : [...own, ...pre(`${base}qkv_proj.${s.param}`, { slice: qkvSlice(s.a, s.proj) })];
    }
    case "qk_norm":
      return s.param === "weight" ? pre(`layers.${s.layer}.self_attn.${s.which}_norm.weight`) : undefined;
    case "mlp": {
      const base = `layers.${s.layer}.mlp.`;
      const own = pre(`${base}${s.proj}_proj.${s.param}`);
      // Phi-3 keeps gate and up in one gate_up_proj: [gate; up] (chunk(2) in Phi3MLP).
      const h = s.f.hidden;
      return s.proj === "down" ? own : [...own, ...pre(`${base}gate_up_proj.${s.param}`, { slice: { start: s.proj === "gate" ? 0 : h, total: 2 * h } })];
    }
    case "head":
      return s.param === "weight" || s.param === "bias" ? [{ name: `lm_head.${s.param}` }] : undefined;
  }
}

function torchSource(s: Slot): Source | undefined {
  const pre = (name: string, opts: Omit<Alt, "name"> = {}) => withPrefixes(name, ["transformer."], opts);
  const part = (sec: SectionInfo) => (sec.role === "decoder" ? "decoder" : "encoder");
  switch (s.kind) {
    case "embed":
      if (!s.first) return undefined;
      if (s.sec.role === "main") return [{ name: "embedding.weight" }];
      return [{ name: `${s.sec.role === "encoder" ? "src" : "tgt"}_tok_emb.embedding.weight` }];
    case "qk_norm":
      return undefined;
    case "position":
      if (s.sec.role === "main") return [{ name: "pos_embedding.weight" }];
      return [{ name: `${s.sec.role === "encoder" ? "src" : "tgt"}_pos_embedding.weight` }];
    case "norm":
      return s.final ? pre(`${part(s.sec)}.norm.${s.param}`) : undefined;
    case "sub_norm": {
      const hasCross = sublayerNames(s.stack).includes("cross_attn");
      const n = s.sub === "attn" ? 1 : s.sub === "cross_attn" ? 2 : hasCross ? 3 : 2;
      return pre(`${part(s.sec)}.layers.${s.layer}.norm${n}.${s.param}`);
    }
    case "attn": {
      const base = `${part(s.sec)}.layers.${s.layer}.${s.sub === "cross_attn" ? "multihead_attn" : "self_attn"}.`;
      if (s.proj === "o") return pre(`${base}out_proj.${s.param}`);
      const slice = qkvSlice(s.a, s.proj);
      if (s.param === "bias") return pre(`${base}in_proj_bias`, { slice });
      return [...pre(`${base}in_proj_weight`, { slice }), ...pre(`${base}${s.proj}_proj_weight`)];
    }
    case "mlp":
      if (s.proj === "gate") return undefined;
      return pre(`${part(s.sec)}.layers.${s.layer}.${s.proj === "up" ? "linear1" : "linear2"}.${s.param}`);
    case "head":
      return s.param === "weight" || s.param === "bias" ? [{ name: `generator.${s.param}` }] : undefined;
  }
}

/** A LayerNorm parameter: `weight` / `bias`, or the TensorFlow conversion's `gamma` / `beta`. */
function layerNormAlts(base: string, param: string, pre: (name: string) => Source): Source {
  const tf = param === "weight" ? "gamma" : param === "bias" ? "beta" : undefined;
  return [...pre(`${base}.${param}`), ...(tf ? pre(`${base}.${tf}`) : [])];
}

function bertSource(s: Slot): Source | undefined {
  const pre = (name: string) => withPrefixes(name, ["bert."], {}, true);
  const bare = (name: string): Source => [{ name }];
  switch (s.kind) {
    case "embed":
      if (s.sec.role !== "main") return undefined;
      if (s.index === 0) return pre("embeddings.word_embeddings.weight");
      return s.index === 1 ? pre("embeddings.token_type_embeddings.weight") : undefined;
    case "qk_norm":
      return undefined;
    case "position":
      return s.sec.role === "main" ? pre("embeddings.position_embeddings.weight") : undefined;
    case "norm":
      return s.sec.role === "main" && s.beforeStacks ? layerNormAlts("embeddings.LayerNorm", s.param, pre) : undefined;
    case "sub_norm":
      return layerNormAlts(`encoder.layer.${s.layer}.${s.sub === "attn" ? "attention.output" : "output"}.LayerNorm`, s.param, pre);
    case "attn": {
      const base = `encoder.layer.${s.layer}.attention.`;
      if (s.proj === "o") return pre(`${base}output.dense.${s.param}`);
      return pre(`${base}self.${{ q: "query", k: "key", v: "value" }[s.proj]}.${s.param}`);
    }
    case "mlp":
      if (s.proj === "gate") return undefined;
      return pre(`encoder.layer.${s.layer}.${s.proj === "up" ? "intermediate" : "output"}.dense.${s.param}`);
    case "head":
      switch (s.param) {
        case "weight":
          return bare("cls.predictions.decoder.weight");
        case "bias":
          return [...bare("cls.predictions.bias"), ...bare("cls.predictions.decoder.bias")];
        case "transform.weight":
        case "transform.bias":
          return bare(`cls.predictions.transform.dense.${s.param.slice("transform.".length)}`);
        default:
          return layerNormAlts("cls.predictions.transform.LayerNorm", s.param.slice("transform_norm.".length), bare);
      }
  }
}

function gptNeoxSource(s: Slot): Source | undefined {
  const pre = (name: string, opts: Omit<Alt, "name"> = {}) => withPrefixes(name, ["gpt_neox."], opts, true);
  switch (s.kind) {
    case "embed":
      return s.sec.role === "main" && s.first ? pre("embed_in.weight") : undefined;
    case "position":
    case "qk_norm":
      return undefined;
    case "norm":
      return s.final && s.sec.role === "main" ? pre(`final_layer_norm.${s.param}`) : undefined;
    case "sub_norm":
      return pre(`layers.${s.layer}.${s.sub === "attn" ? "input_layernorm" : "post_attention_layernorm"}.${s.param}`);
    case "attn": {
      const base = `layers.${s.layer}.attention.`;
      if (s.proj === "o") return pre(`${base}dense.${s.param}`);
      return pre(`${base}query_key_value.${s.param}`, { slice: perHeadQkvSlice(s.a, s.proj) });
    }
    case "mlp":
      if (s.proj === "gate") return undefined;
      return pre(`layers.${s.layer}.mlp.${s.proj === "up" ? "dense_h_to_4h" : "dense_4h_to_h"}.${s.param}`);
    case "head":
      return s.param === "weight" ? [{ name: "embed_out.weight" }] : undefined;
  }
}

/**
 * mamba — Hugging Face MambaForCausalLM (`backbone.` prefix optional):
 *   embed.<tokens>.weight        backbone.embeddings.weight
 *   <stack>.L.ssm_norm.weight    backbone.layers.L.norm.weight
 *   <stack>.L.ssm.<tensor>       backbone.layers.L.mixer.<tensor> (in_proj, conv1d, x_proj, dt_proj, A_log, D, out_proj)
 *   norm.K (after the stack)     backbone.norm_f.weight
 *   head.weight (untied)         lm_head.weight
 */
function mambaSource(s: Slot): Source | undefined {
  const pre = (name: string) => withPrefixes(name, ["backbone."], {}, true);
  switch (s.kind) {
    case "embed":
      return s.sec.role === "main" && s.first ? pre("embeddings.weight") : undefined;
    case "norm":
      return s.final && s.sec.role === "main" ? pre(`norm_f.${s.param}`) : undefined;
    case "sub_norm":
      return s.sub === "ssm" && !s.post ? pre(`layers.${s.layer}.norm.${s.param}`) : undefined;
    case "ssm":
      return pre(`layers.${s.layer}.mixer.${s.tensor}`);
    case "head":
      return s.param === "weight" ? [{ name: "lm_head.weight" }] : undefined;
    default:
      return undefined;
  }
}

export const SOURCES: Record<MapName, (s: Slot) => Source | undefined> = { gpt2: gpt2Source, llama: llamaSource, torch: torchSource, bert: bertSource, gpt_neox: gptNeoxSource, mamba: mambaSource };
