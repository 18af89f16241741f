/**
 * `specformer import`: a Hugging Face checkpoint's config.json → a readable, commented spec.
 *
 *   importConfig(config, opts)   the spec text for a parsed config (browser-safe, no I/O)
 *   readConfig(path)             (Node) config.json from a checkpoint directory or the file itself
 *
 * Supported families (one importer each): llama, mistral, qwen2 (llama.ts), gpt2 (gpt2.ts), bert
 * (bert.ts). Every other model_type is refused with what the language lacks for it (REFUSED);
 * within a family, every config key is honoured, ignored as inference-neutral, or refused by
 * name (config.ts). The spec is checked before it is returned; warnings it draws that are the
 * published design (full attention at a long context) are acknowledged with `lint(allow)`.
 */
import { checkSource } from "../check/check.ts";
import { hasErrors } from "../diagnostics/diagnostic.ts";
import type { MapName } from "../runtime/name-maps.ts";
import { importBert } from "./bert.ts";
import { ImportError, parseConfig, type Config } from "./config.ts";
import type { FamilyImporter } from "./family.ts";
import { importGpt2 } from "./gpt2.ts";
import { importLlama } from "./llama.ts";
import { SpecWriter, identifier } from "./spec-text.ts";

export { ImportError, parseConfig, Config } from "./config.ts";

/** The families `import` writes specs for, by model_type. */
export const IMPORTERS: Record<string, FamilyImporter> = {
  llama: importLlama,
  mistral: importLlama,
  qwen2: importLlama,
  gpt2: importGpt2,
  bert: importBert,
};

/**
 * Families people run that the language cannot express yet, and what it lacks: a refusal names
 * them instead of building a near miss.
 */
export const REFUSED: Record<string, string> = {
  gemma: "Gemma's (1 + w) RMSNorm and √d embedding scale with a tied head are not written by the importer yet",
  gemma2:
    "Gemma-2 alternates sliding-window and global layers (the language has no per-layer attention kinds yet), uses a (1 + w) RMSNorm, extra pre/post feed-forward norms, query_pre_attn_scalar and attention-logit soft-capping",
  gemma3: "Gemma-3 interleaves sliding and global layers (no per-layer attention kinds in the language yet) and normalises q and k per head",
  qwen3: "Qwen3 normalises q and k per head (q_norm / k_norm RMSNorm), which the language has no statement for yet",
  qwen3_moe: "Qwen3-MoE has q/k norms and mixture-of-experts MLPs, neither of which the language has",
  qwen2_moe: "Qwen2-MoE has mixture-of-experts MLPs with a shared expert, which the language has no statement for",
  mixtral: "Mixtral's MLPs are mixtures of experts (a router over 8 SwiGLU experts), which the language has no statement for",
  phi3: "Phi-3 stores fused qkv_proj and gate_up_proj weights (no name map splits them yet) and uses longrope RoPE scaling, which the language lacks",
  phi: "Phi-1/2 run attention and the MLP in parallel off one norm (a parallel residual) with partial rotary embeddings; the language has no parallel residual",
  gpt_neox:
    "GPT-NeoX runs attention and the MLP in parallel (use_parallel_residual), rotates only rotary_pct of each head, and fuses q/k/v per head in query_key_value; the language has no parallel residual yet",
  gptj: "GPT-J runs attention and the MLP in parallel off one norm and uses interleaved (rotate-every-two) RoPE; the language has neither",
  falcon: "Falcon runs attention and the MLP in parallel off one norm and fuses q/k/v; the language has no parallel residual",
  mamba: "Mamba is a state-space model (selective scan, no attention), which the language has no statement for",
  roberta: "RoBERTa offsets positions by padding_idx + 1 (position ids depend on the padding), which the bert importer does not express",
  distilbert: "DistilBERT's layout (no token types, sinusoidal or learned positions, its own names) is not imported yet",
  t5: "T5 uses relative position buckets as an attention bias and an unscaled RMSNorm encoder–decoder, which the language lacks",
  bloom: "BLOOM's ALiBi decoder has a LayerNorm after the embeddings and fused per-head q/k/v; its importer is not written yet",
  opt: "OPT offsets learned positions by 2 and may project embeddings (word_embed_proj_dim); its importer is not written yet",
};

export interface ImportOptions {
  /** Where the config came from, for the header comment and messages. */
  source: string;
  /** The spec's model name (made a valid identifier); default: the model_type. */
  name?: string;
}

export interface ImportResult {
  /** The spec text. */
  text: string;
  /** The config's model_type. */
  family: string;
  /** The transformers class the spec describes (LlamaForCausalLM, BertForMaskedLM, …). */
  architecture: string;
  /** The model's name in the spec. */
  name: string;
  /** The name map that reads this family's Hugging Face tensor names. */
  map: MapName;
}

/** Supported model types, for messages. */
export const SUPPORTED = Object.keys(IMPORTERS);

/** The importer for a config's model_type, or an ImportError saying why there is none. */
function importerFor(c: Config): FamilyImporter {
  const type = c.modelType;
  const importer = Object.prototype.hasOwnProperty.call(IMPORTERS, type) ? IMPORTERS[type] : undefined;
  if (importer) return importer;
  const why = Object.prototype.hasOwnProperty.call(REFUSED, type) ? REFUSED[type] : undefined;
  if (why) throw new ImportError(c.file, `model_type ${type} is not supported: ${why} (supported: ${SUPPORTED.join(", ")})`);
  throw new ImportError(c.file, `model_type ${JSON.stringify(type)} is not one specformer imports (supported: ${SUPPORTED.join(", ")})`);
}

/** The spec text for a parsed config.json. */
export function importConfig(c: Config, opts: ImportOptions): ImportResult {
  const fam = importerFor(c)(c);
  const name = identifier(opts.name ?? c.modelType, c.modelType);
  const write = (allow: { code: string; why: string }[]) => {
    const w = new SpecWriter();
    w.note(`Imported by \`specformer import\` from ${opts.source}.`);
    for (const a of fam.about) w.note(a);
    w.note(
      `Each line names the config.json key or the Hugging Face tensors it comes from. Weights load from the directory's safetensors under their Hugging Face names (the \`${fam.map}\` name map); \`specformer run\` / \`forward\` on the directory read its tokenizer.json and shards.`,
    );
    w.open(`model ${name}`);
    fam.body(w);
    if (allow.length) {
      w.blank();
      for (const a of allow) w.note(`${a.code}: ${a.why} — the checkpoint's design, not a slip`);
      w.line(`lint(allow = [${allow.map((a) => a.code).join(", ")}])`);
    }
    w.close();
    return w.text();
  };
  let text = write([]);
  const path = `${opts.source} (imported)`;
  let r = checkSource(text, path);
  if (hasErrors(r.diagnostics) || !r.entry) {
    const first = r.diagnostics.find((d) => d.severity === "error");
    // The importers write only what the checker accepts: reaching this is a bug in them.
    throw new Error(`the spec imported from ${opts.source} does not check: ${first ? `${first.code} ${first.message}` : "no model"}`);
  }
  const warnings = [...new Map(r.diagnostics.filter((d) => d.severity === "warning").map((d) => [d.code, d.message])).entries()];
  if (warnings.length) {
    text = write(warnings.map(([code, why]) => ({ code, why })));
    r = checkSource(text, path);
    if (hasErrors(r.diagnostics) || !r.entry) throw new Error(`the spec imported from ${opts.source} does not check after lint(allow)`);
  }
  return { text, family: c.modelType, architecture: fam.architecture, name, map: fam.map };
}
