/**
 * Hugging Face tokenizers (`tokenizer.json`, and the older `vocab.json` + `merges.txt` pair via
 * vocab-merges.ts), run by `@huggingface/tokenizers` behind specformer's own interface.
 * Browser-safe: no Node APIs, so generated ES modules can carry this file; the files are read
 * by load.ts (Node paths) or fetch.ts (URLs).
 *
 * Why the library, and how exact it is: README "Tokenizers"; test/hf-tokenizers.test.ts checks
 * it against gpt-3-encoder (GPT-2 byte-level BPE), llama-tokenizer-js (LLaMA SentencePiece BPE
 * with byte fallback) and an independent WordPiece.
 *
 * What this file adds to the library: checking the files (one line naming the problem), the
 * model types we test (BPE, WordPiece), Int32Array ids, range-checked decode, a streaming
 * decoder that never splits a character, the stop ids, the tokenizer_config.json settings that
 * transformers applies on load (clean_up_tokenization_spaces, add_bos_token / add_eos_token).
 */
import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import { WindowDecoder } from "./stream.ts";
import type { StreamDecoder, TextTokenizer } from "./types.ts";

/** A tokenizer file that is missing, does not parse, or asks for what is not supported. */
export class TokenizerFileError extends Error {
  constructor(
    /** The file (path or URL) at fault. */
    readonly file: string,
    /** What is wrong with it, in words. */
    readonly problem: string,
    /** True where the file cannot be read at all (missing, a directory, no permission); false for bad content. */
    readonly io: boolean = false,
  ) {
    super(`${file}: ${problem}`);
    this.name = "TokenizerFileError";
  }
}

/** The model types we run and test. (The library also has Unigram; no oracle for it here yet.) */
export const SUPPORTED_MODELS = ["BPE", "WordPiece"] as const;

/** What the files beside tokenizer.json add; all optional. */
export interface HfTokenizerFiles {
  /** The parsed tokenizer.json. */
  tokenizer: unknown;
  /** The parsed tokenizer_config.json. */
  config?: unknown;
  /** The parsed generation_config.json: its eos_token_id decides the stop ids. */
  generationConfig?: unknown;
  /** The parsed special_tokens_map.json (older directories). */
  specialTokensMap?: unknown;
  /** Names for messages: where tokenizer.json and tokenizer_config.json came from. */
  source?: { tokenizer?: string; config?: string; generationConfig?: string };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** A special token as tokenizer_config.json writes it: a string, or {content: "…"} (an AddedToken). */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (isObject(v) && typeof v.content === "string") return v.content;
  return undefined;
}

/** The model types, and the ids they return from tokens. */
function checkTokenizerJson(t: unknown, file: string): Json {
  if (!isObject(t)) throw new TokenizerFileError(file, "is not a tokenizer.json: the top level is not a JSON object");
  const model = t.model;
  if (!isObject(model)) throw new TokenizerFileError(file, 'is not a tokenizer.json: it has no "model" object');
  const type = model.type ?? (isObject(model.vocab) && Array.isArray(model.merges) ? "BPE" : undefined);
  if (typeof type !== "string") throw new TokenizerFileError(file, 'has a "model" without a "type"');
  if (!(SUPPORTED_MODELS as readonly string[]).includes(type)) {
    throw new TokenizerFileError(file, `model type ${JSON.stringify(type)} is not supported (supported: ${SUPPORTED_MODELS.join(", ")})`);
  }
  if (!isObject(model.vocab)) throw new TokenizerFileError(file, `the ${type} model has no "vocab" object`);
  const vocab = model.vocab;
  for (const tok in vocab) {
    const id = vocab[tok];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) throw new TokenizerFileError(file, `vocab entry ${JSON.stringify(tok)} has id ${JSON.stringify(id)}, not a non-negative integer`);
  }
  if (type === "BPE") {
    if (!Array.isArray(model.merges)) throw new TokenizerFileError(file, 'the BPE model has no "merges" list');
    const merges: unknown[] = model.merges;
    for (let i = 0; i < merges.length; i++) {
      const m = merges[i];
      let ok: boolean;
      if (typeof m === "string") {
        const sp = m.indexOf(" ");
        ok = sp > 0 && sp < m.length - 1 && m.indexOf(" ", sp + 1) < 0;
      } else ok = Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string";
      if (!ok) throw new TokenizerFileError(file, `merge ${i + 1} is ${JSON.stringify(m)}, not "a b" or ["a", "b"]`);
    }
    if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0) {
      throw new TokenizerFileError(file, `BPE dropout ${JSON.stringify(model.dropout)} is for training; inference needs none`);
    }
  }
  const added = t.added_tokens ?? [];
  if (!Array.isArray(added)) throw new TokenizerFileError(file, '"added_tokens" is not a list');
  for (const a of added) {
    if (!isObject(a) || typeof a.content !== "string" || !Number.isInteger(a.id) || (a.id as number) < 0) {
      throw new TokenizerFileError(file, `added token ${JSON.stringify(a)} needs a string "content" and a non-negative integer "id"`);
    }
  }
  // The library wants every component key present (null where a tokenizer has none).
  const out: Json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...t, model: { ...model, type }, added_tokens: added };
  return { ...out, pre_tokenizer: numericDigits(out.pre_tokenizer) };
}

/**
 * A Digits pre-tokenizer as tokenizers (Rust) runs it: it splits on char::is_numeric, every
 * numeral (\p{N}: ٣, ⑰, Ⅻ as well as 0–9), one by one or in runs; @huggingface/tokenizers'
 * Digits splits on ASCII \d only. The same split as a Split on \p{N}.
 */
function numericDigits(pre: unknown): unknown {
  if (!isObject(pre)) return pre;
  if (pre.type === "Digits") return { type: "Split", pattern: { Regex: pre.individual_digits === true ? "\\p{N}" : "\\p{N}+" }, behavior: "Isolated", invert: false };
  if (pre.type === "Sequence" && Array.isArray(pre.pretokenizers)) return { ...pre, pretokenizers: pre.pretokenizers.map(numericDigits) };
  return pre;
}

/**
 * transformers' Llama and Gemma tokenizers rebuild the post-processor on load from
 * tokenizer_config.json's add_bos_token / add_eos_token; so do we, for those classes.
 */
const TEMPLATE_CLASSES = /^(Llama|CodeLlama|Gemma)Tokenizer(Fast)?$/;

interface TokenIds {
  get(token: string): number | undefined;
  has(token: string): boolean;
}

function applyBosEos(t: Json, config: Json, bos: string | undefined, eos: string | undefined, ids: TokenIds): Json {
  const cls = typeof config.tokenizer_class === "string" ? config.tokenizer_class : "";
  if (!TEMPLATE_CLASSES.test(cls)) return t;
  const addBos = config.add_bos_token;
  const addEos = config.add_eos_token;
  if (typeof addBos !== "boolean" && typeof addEos !== "boolean") return t;
  const useBos = (addBos ?? true) === true && bos !== undefined && ids.has(bos);
  const useEos = addEos === true && eos !== undefined && ids.has(eos);
  const special = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  const seq = (id: string) => ({ Sequence: { id, type_id: 0 } });
  const single = [...(useBos ? [special(bos!)] : []), seq("A"), ...(useEos ? [special(eos!)] : [])];
  const pair = [...single, ...(useBos ? [special(bos!)] : []), seq("B"), ...(useEos ? [special(eos!)] : [])];
  const special_tokens: Json = {};
  for (const [use, tok] of [
    [useBos, bos],
    [useEos, eos],
  ] as const) {
    if (use) special_tokens[tok!] = { id: tok, ids: [ids.get(tok!)], tokens: [tok] };
  }
  return { ...t, post_processor: { type: "TemplateProcessing", single, pair, special_tokens } };
}

export class HfTokenizer implements TextTokenizer {
  readonly kind: "bpe" | "wordpiece";
  readonly vocab: number;
  readonly stop: readonly number[];
  /** The beginning-of-sequence id, where the tokenizer names one. */
  readonly bos: number | undefined;
  /** The end-of-sequence id, where the tokenizer names one. */
  readonly eos: number | undefined;
  /** The ids of the special added tokens. */
  readonly specialIds: ReadonlySet<number>;
  private readonly lib: HfLibTokenizer;
  /** The library's own id → token table (added tokens included), not a copy. */
  private readonly idToTok: readonly (string | undefined)[];

  private constructor(lib: HfLibTokenizer, kind: "bpe" | "wordpiece", opts: { bos?: number; eos?: number; stop: number[]; special: Set<number> }) {
    this.lib = lib;
    this.kind = kind;
    this.bos = opts.bos;
    this.eos = opts.eos;
    this.stop = opts.stop;
    this.specialIds = opts.special;
    this.idToTok = lib.model!.vocab;
    this.vocab = this.idToTok.length;
  }

  /** A tokenizer from parsed files; throws TokenizerFileError naming the file at fault. */
  static fromFiles(files: HfTokenizerFiles): HfTokenizer {
    const file = files.source?.tokenizer ?? "tokenizer.json";
    const configFile = files.source?.config ?? "tokenizer_config.json";
    let t = checkTokenizerJson(files.tokenizer, file);
    if (files.config !== undefined && !isObject(files.config)) throw new TokenizerFileError(configFile, "is not a JSON object");
    const config: Json = { ...(isObject(files.specialTokensMap) ? files.specialTokensMap : {}), ...(files.config ?? {}) };

    // token → id as the library will know it: the added tokens, else the model's vocab.
    const modelVocab = (t.model as Json).vocab as Record<string, number>;
    const added = new Map<string, number>((t.added_tokens as Json[]).map((a) => [a.content as string, a.id as number]));
    const ids = { get: (tok: string) => added.get(tok) ?? (Object.hasOwn(modelVocab, tok) ? modelVocab[tok] : undefined), has: (tok: string) => ids.get(tok) !== undefined };
    const bosTok = tokenContent(config.bos_token);
    const eosTok = tokenContent(config.eos_token);
    t = applyBosEos(t, config, bosTok, eosTok, ids);

    // transformers decodes without clean-up unless the config asks for it.
    const libConfig: Json = { ...config, clean_up_tokenization_spaces: config.clean_up_tokenization_spaces === true };
    let lib: HfLibTokenizer;
    try {
      lib = new HfLibTokenizer(t, libConfig);
    } catch (e) {
      throw new TokenizerFileError(file, `cannot be loaded: ${(e as Error).message}`);
    }
    const type = (t.model as Json).type as string;
    const special = new Set<number>();
    for (const a of t.added_tokens as Json[]) if (a.special === true) special.add(a.id as number);

    const bos = bosTok !== undefined ? ids.get(bosTok) : undefined;
    let eos = eosTok !== undefined ? ids.get(eosTok) : undefined;
    // The stop ids: generation_config.json's eos_token_id (one or a list), else the eos token,
    // else GPT-2's convention (<|endoftext|> ends a document).
    let stop: number[] = [];
    const g = files.generationConfig;
    if (isObject(g) && g.eos_token_id !== undefined && g.eos_token_id !== null) {
      const list = Array.isArray(g.eos_token_id) ? g.eos_token_id : [g.eos_token_id];
      if (!list.every((x) => Number.isInteger(x) && x >= 0)) {
        throw new TokenizerFileError(files.source?.generationConfig ?? "generation_config.json", `eos_token_id ${JSON.stringify(g.eos_token_id)} is not a token id or a list of them`);
      }
      stop = list as number[];
    } else if (eos !== undefined) stop = [eos];
    else if (ids.has("<|endoftext|>")) stop = [ids.get("<|endoftext|>")!];
    if (eos === undefined && stop.length > 0) eos = stop[0];
    return new HfTokenizer(lib, type === "WordPiece" ? "wordpiece" : "bpe", {
      ...(bos !== undefined ? { bos } : {}),
      ...(eos !== undefined ? { eos } : {}),
      stop,
      special,
    });
  }

  /** The text's ids; with `special`, the sequence tokens the post-processor adds (as encodePrompt). */
  encode(text: string, opts: { special?: boolean } = {}): Int32Array {
    if (text === "" && !opts.special) return new Int32Array(0);
    return Int32Array.from(this.lib.encode(text, { add_special_tokens: opts.special === true }).ids);
  }

  encodePrompt(text: string): Int32Array {
    return this.encode(text, { special: true });
  }

  /** All of ids as text; `skipSpecial` leaves out the special tokens (BOS, EOS, `[CLS]`, …). */
  decode(ids: ArrayLike<number>, opts: { skipSpecial?: boolean } = {}): string {
    const list = Array.from(ids);
    for (const id of list) this.checkId(id);
    return this.decodeRun(list, opts.skipSpecial === true);
  }

  /** A streaming decoder: push(id) returns only complete characters. */
  decoder(opts: { skipSpecial?: boolean } = {}): StreamDecoder {
    const skip = opts.skipSpecial === true;
    return new WindowDecoder(
      (ids) => this.decodeRun(ids, skip),
      (id) => this.checkId(id),
    );
  }

  /** The token string of an id (byte-level tokens as the file writes them, e.g. `Ġthe`). */
  idToToken(id: number): string | undefined {
    return this.idToTok[id];
  }

  tokenToId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab || this.idToTok[id] === undefined) {
      throw new RangeError(`token id ${id} is not in the tokenizer's vocab (ids 0 to ${this.vocab - 1})`);
    }
  }

  private decodeRun(ids: number[], skipSpecial: boolean): string {
    const kept = skipSpecial ? ids.filter((id) => !this.specialIds.has(id)) : ids;
    if (kept.length === 0) return "";
    return this.lib.decode(kept, { skip_special_tokens: false });
  }
}
