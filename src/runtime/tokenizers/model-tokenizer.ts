/**
 * A Hugging Face tokenizer bound to the model it feeds, for `run` and for generated modules.
 * Browser-safe.
 *
 *  - A tokenizer with more ids than the model's vocabulary is refused: its ids would index past
 *    the embedding table.
 *  - A model's vocabulary may be padded past the tokenizer's (Qwen2: 151,936 rows for 151,665
 *    tokens): ids with no token decode to nothing, as Hugging Face's decode skips them.
 */
import { TokenizerFileError, type HfTokenizer } from "./hf.ts";
import type { StreamDecoder, TextTokenizer } from "./types.ts";

export interface DecodeOptions {
  /** Leave out special tokens (BOS, EOS, `<|endoftext|>`, `[CLS]` …). */
  skipSpecial?: boolean;
}

/** TextTokenizer, whose decode and decoder take DecodeOptions (defaults as bound). */
export interface ModelTokenizer extends TextTokenizer {
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  decoder(opts?: DecodeOptions): StreamDecoder;
}

/**
 * `tok` for a model of `vocab` ids named `model`; `where` (the directory or URL the tokenizer
 * came from) names the problem. `skipSpecial` is the decoding default.
 */
/** Why a tokenizer of `vocab` ids cannot feed model `model`, or undefined when it can. */
export function vocabProblem(vocab: number, model: { name: string; vocab: number }): string | undefined {
  return vocab > model.vocab ? `the tokenizer has ${vocab} ids but model ${model.name} has vocab ${model.vocab}; ids past the vocabulary would index past the embedding table` : undefined;
}

export function bindTokenizer(tok: HfTokenizer, model: { name: string; vocab: number }, where: string, defaults: DecodeOptions = {}): ModelTokenizer {
  const problem = vocabProblem(tok.vocab, model);
  if (problem !== undefined) throw new TokenizerFileError(where, problem);
  const known = (id: number) => tok.idToToken(id) !== undefined;
  const skip = (o: DecodeOptions) => ({ skipSpecial: o.skipSpecial ?? defaults.skipSpecial === true });
  return {
    kind: tok.kind,
    vocab: tok.vocab,
    stop: tok.stop,
    encode: (text) => tok.encode(text),
    encodePrompt: (text) => tok.encodePrompt(text),
    decode: (ids, o = {}) => tok.decode(Array.from(ids).filter(known), skip(o)),
    decoder: (o = {}) => {
      const d = tok.decoder(skip(o));
      return { push: (id) => (known(id) ? d.push(id) : ""), flush: () => d.flush() };
    },
  };
}
