/**
 * The older GPT-2 / RoBERTa file pair — `vocab.json` (token → id) and `merges.txt` (one merge
 * "a b" per line, after a `#version` line) — as the tokenizer.json that transformers'
 * GPT2TokenizerFast would build from it: byte-level BPE, GPT-2's split regex, no normalizer.
 * Browser-safe.
 */
import { TokenizerFileError } from "./hf.ts";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function tokenContent(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (isObject(v) && typeof v.content === "string") return v.content;
  return undefined;
}

/** The merges of a merges.txt: `#` lines (the version header) and blank lines are skipped. */
export function parseMerges(text: string, file = "merges.txt"): string[] {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === "" || (line.startsWith("#version") && out.length === 0)) continue;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new TokenizerFileError(file, `line ${i + 1} is ${JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line)}, not a merge "a b"`);
    }
    out.push(line);
  }
  return out;
}

export interface VocabMergesOptions {
  /** The parsed tokenizer_config.json: special tokens, add_prefix_space. */
  config?: unknown;
  /** The parsed special_tokens_map.json. */
  specialTokensMap?: unknown;
  /** File names for messages. */
  source?: { vocab?: string; merges?: string };
}

/** A tokenizer.json (as a parsed object) for a vocab.json + merges.txt pair. */
export function tokenizerJsonFromVocabMerges(vocab: unknown, mergesText: string, opts: VocabMergesOptions = {}): Json {
  const vocabFile = opts.source?.vocab ?? "vocab.json";
  if (!isObject(vocab)) throw new TokenizerFileError(vocabFile, "is not a JSON object of token → id");
  for (const [tok, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw new TokenizerFileError(vocabFile, `token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}, not a non-negative integer`);
  }
  const merges = parseMerges(mergesText, opts.source?.merges);
  const config: Json = { ...(isObject(opts.specialTokensMap) ? opts.specialTokensMap : {}), ...(isObject(opts.config) ? opts.config : {}) };

  // Special tokens: those the config names, its added_tokens_decoder, and GPT-2's <|endoftext|>.
  const specials = new Map<string, { id: number; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean }>();
  const add = (content: string | undefined, id: number | undefined, extra: Json = {}) => {
    if (content === undefined || id === undefined || specials.has(content)) return;
    specials.set(content, {
      id,
      lstrip: extra.lstrip === true,
      rstrip: extra.rstrip === true,
      normalized: extra.normalized === true,
      special: extra.special !== false,
    });
  };
  const decoderMap = config.added_tokens_decoder;
  if (isObject(decoderMap)) {
    for (const [id, tok] of Object.entries(decoderMap)) {
      if (isObject(tok) && typeof tok.content === "string" && /^\d+$/.test(id)) add(tok.content, Number(id), tok);
    }
  }
  const v = vocab as Record<string, number>;
  for (const key of ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"]) {
    const c = tokenContent(config[key]);
    if (c !== undefined) add(c, v[c], isObject(config[key]) ? (config[key] as Json) : {});
  }
  if (Array.isArray(config.additional_special_tokens)) for (const x of config.additional_special_tokens) add(tokenContent(x), v[tokenContent(x) ?? ""]);
  add("<|endoftext|>", v["<|endoftext|>"]);

  const addPrefixSpace = config.add_prefix_space === true;
  const byteLevel = { type: "ByteLevel", add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [...specials].map(([content, s]) => ({ id: s.id, content, single_word: false, lstrip: s.lstrip, rstrip: s.rstrip, normalized: s.normalized, special: s.special })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}
