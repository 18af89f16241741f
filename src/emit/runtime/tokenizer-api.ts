/**
 * The tokenizer a generated module offers (index.d.ts `Tokenizer`), over either kind: the byte
 * tokenizer (bundled into runtime.js) or a Hugging Face one (tokenizer.js, loaded only when a
 * model has one). `encode` gives a prompt's ids (with the sequence tokens a tokenizer adds unless
 * `special: false`); `decode` keeps special tokens unless `skipSpecial`, as transformers does.
 */
import type { ByteTokenizer } from "../../runtime/tokenizer.ts";
import type { ModelTokenizer } from "../../runtime/tokenizers/model-tokenizer.ts";
import type { StreamDecoder } from "../../runtime/tokenizers/types.ts";

export interface Tokenizer {
  readonly kind: string;
  readonly vocab: number;
  readonly stop: readonly number[];
  encode(text: string, opts?: { special?: boolean }): Int32Array;
  decode(ids: ArrayLike<number>, opts?: { skipSpecial?: boolean }): string;
  decoder(opts?: { skipSpecial?: boolean }): StreamDecoder;
}

/** A Hugging Face tokenizer bound to its model. */
export function textTokenizer(t: ModelTokenizer): Tokenizer {
  return Object.freeze({
    kind: t.kind,
    vocab: t.vocab,
    stop: Object.freeze([...t.stop]),
    encode: (text: string, o: { special?: boolean } = {}) => (o.special === false ? t.encode(text) : t.encodePrompt(text)),
    decode: (ids: ArrayLike<number>, o: { skipSpecial?: boolean } = {}) => t.decode(ids, o),
    decoder: (o: { skipSpecial?: boolean } = {}) => t.decoder(o),
  });
}

/** The byte tokenizer: end of text is its special token, written as a blank line unless skipped. */
export function byteTokenizer(t: ByteTokenizer): Tokenizer {
  const sep = (o: { skipSpecial?: boolean }) => (o.skipSpecial === true ? { separator: "" } : {});
  return Object.freeze({
    kind: t.kind,
    vocab: t.vocab,
    stop: Object.freeze([...t.stop]),
    encode: (text: string, o: { special?: boolean } = {}) => (o.special === false ? t.encode(text) : t.encodePrompt(text)),
    decode: (ids: ArrayLike<number>, o: { skipSpecial?: boolean } = {}) => t.decode(ids, sep(o)),
    decoder: (o: { skipSpecial?: boolean } = {}) => t.decoder(sep(o)),
  });
}
