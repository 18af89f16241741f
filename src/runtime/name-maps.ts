/**
 * Checkpoints named the PyTorch way → our native weight names (src/model/weights-layout.ts).
 *
 * `applyNameMap(kind, file, m)` returns every tensor of weightLayout(m), in layout order, as a
 * fresh Float32Array in the native [out, in] layout. It is driven by the model, not by the file:
 * each native tensor names the PyTorch tensor it comes from, which must exist with exactly the
 * shape the model implies. Tensors the model does not need (buffers, a tied lm_head, the
 * encoder's positional table) are ignored. A missing tensor, a wrong shape or a model the
 * convention cannot express is a WeightsError naming both the PyTorch and the native tensor.
 *
 * Notation below: `L` is the layer index (stacks of a section counted on from each other),
 * E = heads·headDim, KV = kvHeads·headDim. "rows a..b" slices along the output axis.
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
 * llama — Hugging Face LlamaForCausalLM (also Mistral, Qwen2-style biases). Every name may
 * carry a `model.` prefix (LlamaForCausalLM's state_dict) except lm_head. No transposes.
 *   embed.<tokens>.weight                  model.embed_tokens.weight
 *   <stack>.L.attn_norm.weight             model.layers.L.input_layernorm.weight
 *   <stack>.L.attn.{q,k,v,o}.{weight,bias} model.layers.L.self_attn.{q,k,v,o}_proj.{weight,bias}
 *   <stack>.L.mlp_norm.weight              model.layers.L.post_attention_layernorm.weight
 *   <stack>.L.mlp.{gate,up,down}.{w,b}     model.layers.L.mlp.{gate,up,down}_proj.{weight,bias}
 *   norm.K (the norm after the stack)      model.norm.weight
 *   head.weight (untied head only)         lm_head.weight           (never prefixed)
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
 * bert, a head bias under gpt2 or llama, gated MLPs under gpt2, torch and bert, and layers of any
 * other shape.
 */
import type { AttentionInfo, MlpInfo, ModelInfo, SectionInfo, StackInfo } from "../model/model.ts";
import { numel, sectionPrefix, sublayerNames, weightLayout } from "../model/weights-layout.ts";
import { WeightsError, formatShape, type SafetensorsFile } from "./safetensors.ts";

export type MapName = "gpt2" | "llama" | "torch" | "bert";

export const MAP_NAMES: readonly MapName[] = Object.freeze(["gpt2", "llama", "torch", "bert"]);

/** One way to read a native tensor: a PyTorch tensor, optionally transposed and/or sliced. */
interface Alt {
  name: string;
  /** The optional prefix this spelling carries ("" for none). */
  prefix?: string;
  /** Stored [in, out] (Conv1D); the native tensor is [out, in]. */
  transpose?: boolean;
  /** The native tensor is rows start..start+n (along the output axis) of a fused tensor of `total` rows. */
  slice?: { start: number; total: number };
}

/** Where a native tensor comes from: alternatives in order of preference, the first is canonical. */
type Source = Alt[];

/** What a native tensor is, structurally: what each map names. */
type Slot =
  | { kind: "embed"; sec: SectionInfo; first: boolean; index: number }
  | { kind: "position"; sec: SectionInfo }
  | { kind: "norm"; sec: SectionInfo; final: boolean; beforeStacks: boolean; param: string }
  | { kind: "sub_norm"; sec: SectionInfo; layer: number; sub: string; stack: StackInfo; param: string }
  | { kind: "attn"; sec: SectionInfo; layer: number; sub: string; a: AttentionInfo; proj: "q" | "k" | "v" | "o"; param: string }
  | { kind: "mlp"; sec: SectionInfo; layer: number; sub: string; proj: "gate" | "up" | "down"; param: string }
  | { kind: "head"; param: string };

const LABEL: Record<MapName, string> = { gpt2: "GPT-2", llama: "LLaMA", torch: "torch.nn", bert: "BERT" };

/** Every native tensor's slot, keyed by native name (mirrors weightLayout's walk). */
function slots(m: ModelInfo): Map<string, Slot> {
  const out = new Map<string, Slot>();
  for (const sec of m.sections) {
    const p = sectionPrefix(sec);
    const lastStack = sec.steps.map((s) => s.op).lastIndexOf("stack");
    const firstStack = sec.steps.findIndex((s) => s.op === "stack");
    let normIndex = 0;
    let layerBase = 0;
    let embeds = 0;
    sec.steps.forEach((step, i) => {
      switch (step.op) {
        case "embed":
          out.set(`${p}embed.${step.input}.weight`, { kind: "embed", sec, first: embeds === 0, index: embeds });
          embeds++;
          break;
        case "position":
          out.set(`${p}position.weight`, { kind: "position", sec });
          break;
        case "norm": {
          const name = `${p}norm.${normIndex++}`;
          // Only a norm after the last stack is a "final" norm (ln_f, model.norm, encoder.norm).
          const final = lastStack >= 0 && i > lastStack && !sec.steps.slice(lastStack + 1, i).some((s) => s.op === "norm");
          const beforeStacks = firstStack < 0 || i < firstStack;
          for (const param of ["weight", "bias"]) out.set(`${name}.${param}`, { kind: "norm", sec, final, beforeStacks, param });
          break;
        }
        case "dropout":
          break;
        case "stack": {
          const st = step.stack;
          const names = sublayerNames(st);
          for (let l = 0; l < st.count; l++) {
            const layer = layerBase + l;
            const lp = `${p}${st.name}.${l}.`;
            st.sublayers.forEach((sub, j) => {
              const sn = names[j];
              for (const param of ["weight", "bias"]) {
                out.set(`${lp}${sn}_norm.${param}`, { kind: "sub_norm", sec, layer, sub: sn, stack: st, param });
                if (sub.kind === "attention") {
                  for (const proj of ["q", "k", "v", "o"] as const) out.set(`${lp}${sn}.${proj}.${param}`, { kind: "attn", sec, layer, sub: sn, a: sub, proj, param });
                } else {
                  for (const proj of ["gate", "up", "down"] as const) out.set(`${lp}${sn}.${proj}.${param}`, { kind: "mlp", sec, layer, sub: sn, proj, param });
                }
              }
            });
          }
          layerBase += st.count;
          break;
        }
      }
    });
  }
  for (const param of ["weight", "bias", "transform.weight", "transform.bias", "transform_norm.weight", "transform_norm.bias"]) {
    out.set(`head.${param}`, { kind: "head", param });
  }
  return out;
}

/** The layer shape a map can express, as sublayer names; undefined when it fits. */
function layerProblem(kind: MapName, st: StackInfo): string | undefined {
  const names = sublayerNames(st).join(", ");
  const ok = kind === "torch" ? names === "attn, mlp" || names === "attn, cross_attn, mlp" : names === "attn, mlp";
  if (!ok) {
    const want = kind === "torch" ? "[attn, mlp] or [attn, cross_attn, mlp]" : "[attn, mlp]";
    return `stack "${st.name}" has sublayers [${names}]; the ${kind} map expects ${want}`;
  }
  if (kind === "bert" && st.placement !== "post") {
    return `stack "${st.name}" is pre-norm; BERT layers are post-norm`;
  }
  if (kind !== "torch" && kind !== "bert" && st.placement !== "pre") {
    return `stack "${st.name}" is post-norm; ${LABEL[kind]} layers are pre-norm`;
  }
  const f = st.sublayers.find((s): s is MlpInfo => s.kind === "mlp");
  if (kind !== "llama" && f && (f.act === "swiglu" || f.act === "geglu")) {
    return `stack "${st.name}" has a gated (${f.act}) MLP, which ${LABEL[kind]} layers do not have`;
  }
  return undefined;
}

/** Spellings of `name`: bare, and with each optional prefix (prefixed first when `preferPrefixed`). */
function withPrefixes(name: string, prefixes: readonly string[], opts: Omit<Alt, "name"> = {}, preferPrefixed = false): Source {
  const plain: Alt = { name, prefix: "", ...opts };
  const prefixed = prefixes.map((pre): Alt => ({ name: pre + name, prefix: pre, ...opts }));
  return preferPrefixed ? [...prefixed, plain] : [plain, ...prefixed];
}

/** Rows of a fused q/k/v projection: [q (E rows); k (KV rows); v (KV rows)]. */
function qkvSlice(a: AttentionInfo, proj: "q" | "k" | "v"): { start: number; total: number } {
  const e = a.heads * a.headDim;
  const kv = a.kvHeads * a.headDim;
  return { start: proj === "q" ? 0 : proj === "k" ? e : e + kv, total: e + 2 * kv };
}

function gpt2Source(s: Slot): Source | undefined {
  const pre = (name: string, opts: Omit<Alt, "name"> = {}) => withPrefixes(name, ["transformer."], opts);
  switch (s.kind) {
    case "embed":
      return s.sec.role === "main" && s.first ? pre("wte.weight") : undefined;
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

function llamaSource(s: Slot): Source | undefined {
  const pre = (name: string) => withPrefixes(name, ["model."], {}, true);
  switch (s.kind) {
    case "embed":
      return s.sec.role === "main" && s.first ? pre("embed_tokens.weight") : undefined;
    case "position":
      return undefined;
    case "norm":
      return s.final && s.sec.role === "main" ? pre(`norm.${s.param}`) : undefined;
    case "sub_norm":
      return pre(`layers.${s.layer}.${s.sub === "attn" ? "input_layernorm" : "post_attention_layernorm"}.${s.param}`);
    case "attn":
      return pre(`layers.${s.layer}.self_attn.${s.proj}_proj.${s.param}`);
    case "mlp":
      return pre(`layers.${s.layer}.mlp.${s.proj}_proj.${s.param}`);
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

const SOURCES: Record<MapName, (s: Slot) => Source | undefined> = { gpt2: gpt2Source, llama: llamaSource, torch: torchSource, bert: bertSource };

/** The PyTorch shape an alternative must have for a native tensor of `shape`. */
function pytorchShape(alt: Alt, shape: readonly number[]): number[] {
  const out = [...shape];
  if (alt.slice) out[0] = alt.slice.total;
  if (alt.transpose && out.length === 2) out.reverse();
  return out;
}

/** The native tensor from the PyTorch one (already shape-checked). */
function extract(src: Float32Array, alt: Alt, shape: readonly number[]): Float32Array {
  const start = alt.slice?.start ?? 0;
  if (shape.length !== 2 || !alt.transpose) {
    const row = shape.length === 2 ? shape[1] : 1;
    const n = numel(shape);
    return src.slice(start * row, start * row + n);
  }
  const [out, inn] = shape;
  const total = alt.slice?.total ?? out;
  const dst = new Float32Array(out * inn);
  for (let i = 0; i < inn; i++) {
    const so = i * total + start;
    for (let o = 0; o < out; o++) dst[o * inn + i] = src[so + o];
  }
  return dst;
}

const quote = (s: string) => JSON.stringify(s);

/**
 * The spelling a "missing" error names: one whose prefix the file uses (a checkpoint saved
 * with `transformer.` names lacks the prefixed tensor, not the bare one), else the canonical one.
 */
function spelling(alts: Source, file: SafetensorsFile): Alt {
  const names = [...file.tensors.keys()];
  const used = (pre: string) => names.some((n) => n.startsWith(pre));
  return alts.find((a) => a.prefix && used(a.prefix)) ?? alts[0];
}

/**
 * Every native tensor of weightLayout(m), read from a checkpoint that uses the `kind` naming
 * convention (see the table at the top of this file).
 */
export function applyNameMap(kind: MapName, file: SafetensorsFile, m: ModelInfo): Map<string, Float32Array> {
  const source = SOURCES[kind];
  if (!source) throw new WeightsError(`unknown name map ${quote(String(kind))} (expected one of ${MAP_NAMES.join(", ")})`);
  for (const sec of m.sections) {
    for (const st of sec.steps) {
      if (st.op !== "stack") continue;
      const problem = layerProblem(kind, st.stack);
      if (problem) throw new WeightsError(`model ${m.name} cannot load a ${LABEL[kind]} checkpoint: ${problem}`);
    }
  }
  const bySlot = slots(m);
  // First every tensor's source, so a model the convention cannot express fails as that,
  // before any data is read.
  const plan = weightLayout(m).map((t) => {
    const slot = bySlot.get(t.name);
    if (!slot) throw new Error(`name map: native tensor ${quote(t.name)} has no slot (weights-layout and name-maps disagree)`);
    const alts = source(slot);
    if (!alts) {
      const problem = `the ${kind} map has no ${LABEL[kind]} counterpart for native tensor ${quote(t.name)} ${formatShape(t.shape)}`;
      throw new WeightsError(problem, undefined, `model ${m.name}: ${problem}`);
    }
    return { t, alts };
  });
  const cache = new Map<string, Float32Array>();
  const out = new Map<string, Float32Array>();
  for (const { t, alts } of plan) {
    const alt = alts.find((a) => file.tensors.has(a.name));
    if (!alt) {
      const named = spelling(alts, file);
      const others = alts.filter((a) => a !== named).map((a) => quote(a.name));
      const tried = others.length ? ` (also tried ${others.join(", ")})` : "";
      throw new WeightsError(
        "missing",
        named.name,
        `missing ${LABEL[kind]} tensor ${quote(named.name)}${tried}, needed for native tensor ${quote(t.name)} ${formatShape(t.shape)}`,
      );
    }
    const info = file.tensors.get(alt.name)!;
    const want = pytorchShape(alt, t.shape);
    if (info.shape.length !== want.length || info.shape.some((d, i) => d !== want[i])) {
      const how = [alt.slice ? "fused" : "", alt.transpose ? "stored [in, out]" : ""].filter(Boolean).join(", ");
      const problem = `expected shape ${formatShape(want)}${how ? ` (${how})` : ""} for native tensor ${quote(t.name)} ${formatShape(t.shape)}, found ${formatShape(info.shape)}`;
      throw new WeightsError(problem, alt.name);
    }
    let data = cache.get(alt.name);
    if (!data) {
      data = file.f32(alt.name);
      cache.set(alt.name, data);
    }
    out.set(t.name, extract(data, alt, t.shape));
  }
  return out;
}

/**
 * The convention a checkpoint's names suggest, or undefined (native names, or unknown). A hint
 * for tools; loading still checks every tensor.
 */
export function guessNameMap(file: SafetensorsFile): MapName | undefined {
  const names = [...file.tensors.keys()];
  if (names.some((n) => /(^|\.)h\.\d+\.attn\.c_attn\.weight$/.test(n))) return "gpt2";
  if (names.some((n) => /(^|\.)layers\.\d+\.self_attn\.q_proj\.weight$/.test(n))) return "llama";
  if (names.some((n) => /(^|\.)layers\.\d+\.self_attn\.(in_proj_weight|q_proj_weight)$/.test(n))) return "torch";
  if (names.some((n) => /(^|\.)encoder\.layer\.\d+\.attention\.self\.query\.weight$/.test(n))) return "bert";
  return undefined;
}
