/**
 * `specformer import`: a Hugging Face checkpoint's config.json → a readable, commented spec.
 *
 *   importConfig(config, opts)   the spec text for a parsed config (browser-safe, no I/O)
 *   readConfig(path)             (Node) config.json from a checkpoint directory or the file itself
 *
 * Supported families (one importer each): llama, mistral, qwen2, qwen3 (llama.ts), phi3
 * (phi3.ts), gemma2 (gemma2.ts), gpt2 (gpt2.ts), gpt_neox (gpt-neox.ts), bert (bert.ts), mamba (mamba.ts). Every other model_type is refused with what the language lacks for it (REFUSED);
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
import { importGemma2 } from "./gemma2.ts";
import { importGpt2 } from "./gpt2.ts";
import { importGptNeox } from "./gpt-neox.ts";
import { importLlama } from "./llama.ts";
import { importMamba } from "./mamba.ts";
import { importPhi3 } from "./phi3.ts";
import { SpecWriter, identifier } from "./spec-text.ts";

export { ImportError, parseConfig, Config } from "./config.ts";

/** The families `import` writes specs for, by model_type. */
export const IMPORTERS: Record<string, FamilyImporter> = {
  llama: importLlama,
  mistral: importLlama,
  qwen2: importLlama,
  qwen3: importLlama,
  phi3: importPhi3,
  gemma2: importGemma2,
  gpt2: importGpt2,
  gpt_neox: importGptNeox,
  bert: importBert,
  mamba: importMamba,
};

/**
 * Families people run that the language cannot express yet, and what it lacks: a refusal names
 * them instead of building a near miss.
 */
export const REFUSED: Record<string, string> = {
  gemma: "Gemma (1)'s (1 + w) RMSNorm, √d embedding scale and GeGLU are in the language, but its importer is not written yet (gemma2 is)",
  gemma3:
    "Gemma-3 rotates its sliding and global layers at different RoPE bases (rope_local_base_freq), and RoPE is one per section in the language; its importer is not written",
  qwen3_moe: "Qwen3-MoE's MLPs are mixtures of experts, which the language has no statement for",
  qwen2_moe: "Qwen2-MoE has mixture-of-experts MLPs with a shared expert, which the language has no statement for",
  mixtral: "Mixtral's MLPs are mixtures of experts (a router over 8 SwiGLU experts), which the language has no statement for",
  phi: "Phi-1/2 run attention and the MLP in parallel off one shared LayerNorm, with a dense head bias; its importer is not written (gpt_neox's parallel residual has a norm per branch)",
  gptj: "GPT-J runs attention and the MLP in parallel off one norm and uses interleaved (rotate-every-two) RoPE; the language has no interleaved RoPE",
  falcon: "Falcon runs attention and the MLP in parallel off one (or two) norms and fuses q/k/v in its own multi-query layout; its importer is not written",
  mamba2: "Mamba-2's SSD mixer (a scalar decay per head, grouped B and C, a gated RMSNorm before out_proj) is not the language's `ssm mamba` (Mamba-1); its importer is not written",
  falcon_mamba: "Falcon-Mamba RMS-normalises B, C and dt inside the mixer (mixer_rms_eps), which the language's `ssm mamba` does not; its importer is not written",
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
  /** The header note on where the weights load from (default: a checkpoint directory's shards). */
  weightsNote?: string;
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
      opts.weightsNote ??
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
