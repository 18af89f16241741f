/**
 * A GGUF file's byte-level BPE vocabulary (tokenizer.ggml.model = "gpt2") as the tokenizer.json
 * it was converted from, run by the same library as a Hugging Face directory's (../tokenizers/hf.ts).
 *
 * llama.cpp's converter writes tokenizer.json's vocabulary (tokenizer.ggml.tokens, byte-level
 * strings such as "Ġthe"), its merges ("Ġ t") and, per token, a type: CONTROL for the special
 * added tokens, USER_DEFINED for the other added ones. What it does not write is the
 * pre-tokenizer: tokenizer.ggml.pre names it instead, one name per model family, and llama.cpp
 * keeps a regular expression for each name (src/llama-vocab.cpp). Those below are the families'
 * own tokenizer.json pre-tokenizers, for the names whose model specformer reads:
 *
 *   gpt-2                          GPT-2's ByteLevel split (its built-in regex)
 *   llama-bpe, llama3, llama-v3    Llama 3: a Split on the cl100k-style regex (digits in threes),
 *                                  ignore_merges, BOS added
 *   qwen2, deepseek-r1-qwen        Qwen2 / 2.5: the same regex with single digits, NFC first
 *   smollm                         SmolLM / SmolLM2 (StarCoder's tokenizer): each digit its own
 *                                  piece, then GPT-2's ByteLevel split (llama.cpp: \p{N}, then
 *                                  GPT-2's regex)
 *
 * Any other name is refused: its split rule is not one we can test here. Decoding cleans up
 * spaces before punctuation where llama.cpp does (gpt-2, llama-bpe: clean_spaces), not for qwen2 or smollm.
 */
import { WeightsError } from "../dtype.ts";
import { HfTokenizer, TokenizerFileError } from "../tokenizers/hf.ts";
import { PIECE } from "../tokenizers/spm.ts";

interface PreTokenizer {
  /** tokenizer.json's normalizer and pre_tokenizer for the family. */
  normalizer: unknown;
  pre_tokenizer: unknown;
  /** llama.cpp's defaults for the family (tokenizer.ggml.add_bos_token overrides addBos). */
  ignoreMerges: boolean;
  addBos: boolean;
  cleanSpaces: boolean;
}

const byteLevel = (useRegex: boolean) => ({ type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const split = (regex: string) => ({
  type: "Sequence",
  pretokenizers: [{ type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false }, byteLevel(false)],
});
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const GPT2: PreTokenizer = { normalizer: null, pre_tokenizer: byteLevel(true), ignoreMerges: false, addBos: false, cleanSpaces: true };
const LLAMA3: PreTokenizer = { normalizer: null, pre_tokenizer: split(LLAMA3_REGEX), ignoreMerges: true, addBos: true, cleanSpaces: true };
const QWEN2: PreTokenizer = { normalizer: { type: "NFC" }, pre_tokenizer: split(QWEN2_REGEX), ignoreMerges: false, addBos: false, cleanSpaces: false };

const SMOLLM: PreTokenizer = {
  normalizer: null,
  pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, byteLevel(true)] },
  ignoreMerges: false,
  addBos: false,
  cleanSpaces: false,
};

/** tokenizer.ggml.pre → the family's pre-tokenizer (llama.cpp's names). */
export const BPE_PRE: Record<string, PreTokenizer> = {
  "gpt-2": GPT2,
  "llama-bpe": LLAMA3,
  llama3: LLAMA3,
  "llama-v3": LLAMA3,
  qwen2: QWEN2,
  "deepseek-r1-qwen": QWEN2,
  smollm: SMOLLM,
};

/** Token texts llama.cpp also treats as ending a turn when the file names no such id (its EOG list). */
const END_OF_TURN = ["<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>"];

export interface GgufVocabIds {
  bos?: number;
  eos?: number;
  /** tokenizer.ggml.eot_token_id / eom_token_id, where written. */
  eot?: number;
  eom?: number;
}

/** The byte-level BPE tokenizer of `metadata` (tokens and types already checked by the caller). */
export function ggufBpeTokenizer(metadata: Record<string, unknown>, tokens: readonly string[], types: ArrayLike<number> | undefined, ids: GgufVocabIds, where: string): HfTokenizer {
  const preName = metadata["tokenizer.ggml.pre"];
  const pre = typeof preName === "string" && Object.hasOwn(BPE_PRE, preName) ? BPE_PRE[preName] : undefined;
  if (pre === undefined) {
    throw new WeightsError(
      `${where}: tokenizer.ggml.pre is ${JSON.stringify(preName)}; specformer splits byte-level BPE text as ${Object.keys(BPE_PRE).join(", ")} (one rule per model family); pass --tokens, or run the model's Hugging Face directory`,
    );
  }
  const merges = metadata["tokenizer.ggml.merges"];
  if (!Array.isArray(merges) || !merges.every((m) => typeof m === "string")) throw new WeightsError(`${where}: tokenizer.ggml.merges is not an array of strings (a byte-level BPE vocabulary needs its merges)`);

  const vocab: Record<string, number> = {};
  const added: Record<string, unknown>[] = [];
  tokens.forEach((t, id) => {
    const type = types?.[id] ?? PIECE.normal;
    if (type === PIECE.control || type === PIECE.userDefined) {
      added.push({ id, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: type === PIECE.control });
    }
    if (!Object.hasOwn(vocab, t)) vocab[t] = id;
  });
  const addBos = typeof metadata["tokenizer.ggml.add_bos_token"] === "boolean" ? (metadata["tokenizer.ggml.add_bos_token"] as boolean) : pre.addBos;
  const addEos = metadata["tokenizer.ggml.add_eos_token"] === true;
  if (addBos && ids.bos === undefined) throw new WeightsError(`${where}: the tokenizer adds a BOS token (tokenizer.ggml.add_bos_token) but the file names none (tokenizer.ggml.bos_token_id)`);
  if (addEos && ids.eos === undefined) throw new WeightsError(`${where}: tokenizer.ggml.add_eos_token is true but the file names no tokenizer.ggml.eos_token_id`);
  const special = (id: number) => ({ SpecialToken: { id: tokens[id], type_id: 0 } });
  const single = [...(addBos ? [special(ids.bos!)] : []), { Sequence: { id: "A", type_id: 0 } }, ...(addEos ? [special(ids.eos!)] : [])];
  const specialTokens: Record<string, unknown> = {};
  for (const id of [...(addBos ? [ids.bos!] : []), ...(addEos ? [ids.eos!] : [])]) specialTokens[tokens[id]] = { id: tokens[id], ids: [id], tokens: [tokens[id]] };

  const tokenizer = {
    version: "1.0",
    added_tokens: added,
    normalizer: pre.normalizer,
    pre_tokenizer: pre.pre_tokenizer,
    post_processor: { type: "TemplateProcessing", single, pair: [...single, { Sequence: { id: "B", type_id: 1 } }], special_tokens: specialTokens },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: pre.ignoreMerges, vocab, merges },
  };
  // The stop ids: llama.cpp's end-of-generation set — EOS, EOT / EOM, and the end-of-turn tokens
  // it recognises by text.
  const stop = new Set<number>([ids.eos, ids.eot, ids.eom].filter((x): x is number => x !== undefined));
  for (const t of END_OF_TURN) if (Object.hasOwn(vocab, t) && (types?.[vocab[t]] ?? PIECE.control) === PIECE.control) stop.add(vocab[t]);
  const config = {
    clean_up_tokenization_spaces: pre.cleanSpaces,
    ...(ids.bos !== undefined ? { bos_token: tokens[ids.bos] } : {}),
    ...(ids.eos !== undefined ? { eos_token: tokens[ids.eos] } : {}),
  };
  try {
    return HfTokenizer.fromFiles({ tokenizer, config, generationConfig: { eos_token_id: [...stop] }, source: { tokenizer: `${where} (tokenizer.ggml.*)` } });
  } catch (e) {
    if (e instanceof TokenizerFileError) throw new WeightsError(e.message);
    throw e;
  }
}
