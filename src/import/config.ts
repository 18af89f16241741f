/**
 * Reading a Hugging Face `config.json` for `specformer import`: typed accessors that remember
 * which keys were read, so that every key no family importer read can be refused by name.
 *
 * The rule the importers follow: a key is either honoured (it becomes part of the spec), or
 * ignored because it cannot change the computed function (dropout rates, token ids, dtypes,
 * generation defaults — listed in GENERIC_IGNORED or by the family), or accepted only at the
 * value the spec implies (`rope_interleaved: false`), or refused. A key nobody knows is refused
 * too: an unknown key may change the architecture, and a silently different model is worse than
 * no model.
 */

/** A config.json that cannot be imported: the file and the problem, as one line. */
export class ImportError extends Error {
  constructor(
    /** The file at fault (config.json, or the directory that lacks it). */
    readonly file: string,
    /** What is wrong, in words. */
    readonly problem: string,
    /** True where the file cannot be read at all (exit 2); false for content (exit 1). */
    readonly io: boolean = false,
  ) {
    super(`${file}: ${problem}`);
    this.name = "ImportError";
  }
}

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v) ?? String(v);

/**
 * Keys of transformers' PretrainedConfig (and of the files it writes) that do not change the
 * function a checkpoint computes at inference: dropout, initialisation, token ids, dtypes, the
 * generation defaults older files carry, label maps, bookkeeping. Ignored for every family.
 */
export const GENERIC_IGNORED: readonly string[] = Object.freeze([
  "_name_or_path", "transformers_version", "torch_dtype", "dtype", "use_cache", "initializer_range",
  "bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id", "decoder_start_token_id",
  "return_dict", "output_attentions", "output_hidden_states", "output_past", "torchscript", "use_bfloat16",
  "tf_legacy_loss", "id2label", "label2id", "num_labels", "problem_type", "finetuning_task", "prefix",
  "task_specific_params", "tokenizer_class", "gradient_checkpointing", "chunk_size_feed_forward",
  // generation defaults that old config.json files carry (generation_config.json holds them now)
  "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups", "diversity_penalty",
  "temperature", "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
  "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences", "output_scores",
  "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values",
  "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens",
  // dropout (inference runs without it)
  "attention_dropout", "hidden_dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop", "hidden_dropout_prob",
  "attention_probs_dropout_prob", "classifier_dropout", "summary_first_dropout",
]);

/**
 * Keys of PretrainedConfig that are harmless only at their default; any other value changes the
 * model (a decoder BERT is causal, pruned heads change shapes, quantised weights need kernels).
 */
const GENERIC_AT_DEFAULT: Record<string, { ok: (v: unknown) => boolean; why: string }> = {
  is_decoder: { ok: (v) => v === false, why: "a decoder variant (causal mask, cross-attention)" },
  add_cross_attention: { ok: (v) => v === false, why: "cross-attention layers" },
  is_encoder_decoder: { ok: (v) => v === false, why: "an encoder–decoder layout" },
  tie_encoder_decoder: { ok: (v) => v === false, why: "tied encoder and decoder weights" },
  cross_attention_hidden_size: { ok: (v) => v === null, why: "cross-attention" },
  pruned_heads: { ok: (v) => isObject(v) && Object.keys(v).length === 0, why: "pruned attention heads (layers of different shapes)" },
  quantization_config: { ok: () => false, why: "quantised weights (specformer reads F32 / F16 / BF16 checkpoints)" },
  auto_map: { ok: () => false, why: "its own modeling code (trust_remote_code), which may differ from the model_type's" },
};

/** One config.json being read. */
export class Config {
  /** model_type is read by whoever picked the importer. */
  private readonly read = new Set<string>(["model_type"]);

  constructor(
    /** For messages: the config.json path. */
    readonly file: string,
    readonly raw: Json,
  ) {}

  get modelType(): string {
    return String(this.raw.model_type);
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.raw, key) && this.raw[key] !== undefined;
  }

  /** The raw value, marked as read. */
  value(key: string): unknown {
    this.read.add(key);
    return this.has(key) ? this.raw[key] : undefined;
  }

  /** A refusal naming the key: the import stops. */
  refuse(key: string, why: string): never {
    const v = this.has(key) ? ` = ${show(this.raw[key])}` : "";
    throw new ImportError(this.file, `config key "${key}"${v}: ${why}`);
  }

  /** A positive integer; `fallback` (transformers' default) where the key is absent or null. */
  int(key: string, fallback?: number, min = 1): number {
    const v = this.value(key);
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ImportError(this.file, `config key "${key}" is missing (model_type ${this.modelType} needs it)`);
    }
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) this.refuse(key, `must be an integer ≥ ${min}`);
    return v;
  }

  /** A finite number. */
  num(key: string, fallback?: number): number {
    const v = this.value(key);
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ImportError(this.file, `config key "${key}" is missing (model_type ${this.modelType} needs it)`);
    }
    if (typeof v !== "number" || !Number.isFinite(v)) this.refuse(key, "must be a number");
    return v;
  }

  /** A number above 0 (an epsilon, a scalar); `fallback` where absent or null. */
  positive(key: string, fallback?: number): number {
    const v = this.num(key, fallback);
    if (!(v > 0)) this.refuse(key, "must be above 0");
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean") this.refuse(key, "must be true or false");
    return v;
  }

  str(key: string, fallback: string): string {
    const v = this.value(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "string") this.refuse(key, "must be a string");
    return v;
  }

  /** Keys that do not change the model at inference, for this family. */
  ignore(...keys: string[]): void {
    for (const k of keys) this.read.add(k);
  }

  /** A key accepted only where `ok` holds (absent counts as the default, which is fine). */
  only(key: string, ok: (v: unknown) => boolean, why: string): void {
    const v = this.value(key);
    if (v !== undefined && !ok(v)) this.refuse(key, why);
  }

  /**
   * `architectures`: absent, or a list of exactly one of `allowed` (the classes whose weights the
   * spec describes). Returns the class, or the first allowed one when absent.
   */
  architecture(allowed: readonly string[], why: (cls: string) => string): string {
    const v = this.value("architectures");
    if (v === undefined || v === null) return allowed[0];
    if (!Array.isArray(v) || v.length !== 1 || typeof v[0] !== "string") this.refuse("architectures", `expected a list of one class name, e.g. ["${allowed[0]}"]`);
    const cls = v[0] as string;
    if (!allowed.includes(cls)) this.refuse("architectures", why(cls));
    return cls;
  }

  /** Refuses the first key nobody read, after the generic rules. Call last. */
  finish(): void {
    for (const key of Object.keys(this.raw)) {
      if (this.read.has(key) || GENERIC_IGNORED.includes(key)) continue;
      const rule = GENERIC_AT_DEFAULT[key];
      if (rule) {
        if (!rule.ok(this.raw[key])) this.refuse(key, `the checkpoint has ${rule.why}, which specformer does not import`);
        continue;
      }
      this.refuse(
        key,
        `not a key specformer knows for model_type ${this.modelType}; it may change the architecture, so the import stops rather than build a different model (README "Hugging Face checkpoints" lists the keys each family honours)`,
      );
    }
  }
}

/** Parses config.json text into a Config; anything that is not a JSON object is refused. */
export function parseConfig(text: string, file: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ImportError(file, `does not parse as JSON (${(e as Error).message.replace(/\s+/g, " ")})`);
  }
  if (!isObject(raw)) throw new ImportError(file, "is not a Hugging Face config: the top level is not a JSON object");
  if (!("model_type" in raw)) throw new ImportError(file, 'has no "model_type" key, so the model family is unknown');
  if (typeof raw.model_type !== "string") throw new ImportError(file, `"model_type" must be a string, found ${show(raw.model_type)}`);
  return new Config(file, raw);
}
