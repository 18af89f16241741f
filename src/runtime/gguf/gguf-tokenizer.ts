/**
 * The tokenizer a GGUF file carries in its tokenizer.ggml.* metadata, for `run M.gguf --prompt`:
 * a SentencePiece BPE vocabulary (tokenizer.ggml.model = "llama": Llama 2, TinyLlama, Mistral)
 * as llama.cpp runs it (../tokenizers/spm.ts). Byte-level BPE vocabularies ("gpt2") are
 * refused: their split rule depends on tokenizer.ggml.pre, one regular expression per model.
 */
import { WeightsError } from "../dtype.ts";
import { SpmTokenizer } from "../tokenizers/spm.ts";
import { metaNumber } from "./magic.ts";

export function ggufTokenizer(metadata: Record<string, unknown>, where: string): SpmTokenizer {
  const model = metadata["tokenizer.ggml.model"];
  if (model === undefined) throw new WeightsError(`${where} has no tokenizer.ggml.model: the file carries no tokenizer; pass --tokens`);
  if (model !== "llama") throw new WeightsError(`${where}: tokenizer.ggml.model is ${JSON.stringify(model)}; specformer reads SentencePiece ("llama") vocabularies from GGUF, not byte-level BPE ones; pass --tokens, or run the model's Hugging Face directory`);
  const pieces = metadata["tokenizer.ggml.tokens"];
  const scores = metadata["tokenizer.ggml.scores"];
  const types = metadata["tokenizer.ggml.token_type"];
  if (!Array.isArray(pieces) || !pieces.every((p) => typeof p === "string")) throw new WeightsError(`${where}: tokenizer.ggml.tokens is not an array of strings`);
  const n = pieces.length;
  const numbers = (v: unknown, key: string): number[] => {
    if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === "number" && Number.isFinite(x))) throw new WeightsError(`${where}: ${key} is not ${n} finite numbers, one per token`);
    return v as number[];
  };
  const check = (key: string): number | undefined => {
    const id = metaNumber(metadata, key);
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < n)) throw new WeightsError(`${where}: ${key} is ${id}, not a token of the ${n}`);
    return id;
  };
  const bos = check("tokenizer.ggml.bos_token_id");
  const eos = check("tokenizer.ggml.eos_token_id");
  const unk = check("tokenizer.ggml.unknown_token_id");
  return new SpmTokenizer({
    pieces: pieces as string[],
    scores: numbers(scores, "tokenizer.ggml.scores"),
    types: numbers(types, "tokenizer.ggml.token_type"),
    ...(bos !== undefined ? { bos } : {}),
    ...(eos !== undefined ? { eos } : {}),
    ...(unk !== undefined ? { unk } : {}),
    addBos: metadata["tokenizer.ggml.add_bos_token"] !== false,
    addSpacePrefix: metadata["tokenizer.ggml.add_space_prefix"] !== false,
  });
}
