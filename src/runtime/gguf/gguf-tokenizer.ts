/**
 * The tokenizer a GGUF file carries in its tokenizer.ggml.* metadata, for `run M.gguf --prompt`.
 * Two vocabulary kinds, as llama.cpp names them in tokenizer.ggml.model:
 *
 *   llama   SentencePiece BPE (Llama 2, TinyLlama, Mistral), run as llama.cpp does (../tokenizers/spm.ts)
 *   gpt2    byte-level BPE (GPT-2, Llama 3, Qwen2), rebuilt as its tokenizer.json (./gguf-bpe.ts)
 *
 * Anything else (WordPiece "bert", Unigram "t5", RWKV) is refused by name.
 */
import { WeightsError } from "../dtype.ts";
import { SpmTokenizer } from "../tokenizers/spm.ts";
import type { TextTokenizer } from "../tokenizers/types.ts";
import { ggufBpeTokenizer } from "./gguf-bpe.ts";
import { metaNumber } from "./magic.ts";

export function ggufTokenizer(metadata: Record<string, unknown>, where: string): TextTokenizer {
  const model = metadata["tokenizer.ggml.model"];
  if (model === undefined) throw new WeightsError(`${where} has no tokenizer.ggml.model: the file carries no tokenizer; pass --tokens`);
  if (model !== "llama" && model !== "gpt2") {
    throw new WeightsError(`${where}: tokenizer.ggml.model is ${JSON.stringify(model)}; specformer reads SentencePiece ("llama") and byte-level BPE ("gpt2") vocabularies from GGUF; pass --tokens, or run the model's Hugging Face directory`);
  }
  const pieces = metadata["tokenizer.ggml.tokens"];
  if (!Array.isArray(pieces) || !pieces.every((p) => typeof p === "string")) throw new WeightsError(`${where}: tokenizer.ggml.tokens is not an array of strings`);
  const n = pieces.length;
  const numbers = (key: string): number[] => {
    const v = metadata[key];
    if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === "number" && Number.isFinite(x))) throw new WeightsError(`${where}: ${key} is not ${n} finite numbers, one per token`);
    return v as number[];
  };
  const id = (key: string): number | undefined => {
    const v = metaNumber(metadata, key);
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v < n)) throw new WeightsError(`${where}: ${key} is ${v}, not a token of the ${n}`);
    return v;
  };
  const bos = id("tokenizer.ggml.bos_token_id");
  const eos = id("tokenizer.ggml.eos_token_id");
  if (model === "gpt2") {
    // token_type is optional for byte-level files (then every token is a plain one).
    const types = metadata["tokenizer.ggml.token_type"] === undefined ? undefined : numbers("tokenizer.ggml.token_type");
    const eot = id("tokenizer.ggml.eot_token_id");
    const eom = id("tokenizer.ggml.eom_token_id");
    return ggufBpeTokenizer(metadata, pieces as string[], types, { bos, eos, eot, eom }, where);
  }
  const unk = id("tokenizer.ggml.unknown_token_id");
  return new SpmTokenizer({
    pieces: pieces as string[],
    scores: numbers("tokenizer.ggml.scores"),
    types: numbers("tokenizer.ggml.token_type"),
    ...(bos !== undefined ? { bos } : {}),
    ...(eos !== undefined ? { eos } : {}),
    ...(unk !== undefined ? { unk } : {}),
    addBos: metadata["tokenizer.ggml.add_bos_token"] !== false,
    addSpacePrefix: metadata["tokenizer.ggml.add_space_prefix"] !== false,
  });
}
