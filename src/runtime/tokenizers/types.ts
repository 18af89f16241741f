/**
 * What every tokenizer specformer runs offers: the byte tokenizer (../tokenizer.ts) and the
 * Hugging Face ones (hf.ts). Browser-safe.
 */

/** A streaming id → text decoder: push() returns only complete characters, flush() the rest. */
export interface StreamDecoder {
  /** Feeds one token id; returns the text it completes (possibly ""). */
  push(id: number): string;
  /** Ends the stream: returns what is held back (an incomplete character as U+FFFD) and resets. */
  flush(): string;
}

export interface TextTokenizer {
  /** `byte`, or the Hugging Face model type in lower case: `bpe`, `wordpiece`. */
  readonly kind: string;
  /** One more than the largest id the tokenizer can produce or read. */
  readonly vocab: number;
  /** Token ids that end generation (end of text / end of sequence); possibly none. */
  readonly stop: readonly number[];
  /** The text's ids, without the special tokens a model adds around a sequence. */
  encode(text: string): Int32Array;
  /** The ids of a prompt: encode() with the model's sequence tokens (BOS, `[CLS]` … `[SEP]`). */
  encodePrompt(text: string): Int32Array;
  /** All of ids as text. */
  decode(ids: ArrayLike<number>): string;
  /** A fresh streaming decoder. */
  decoder(): StreamDecoder;
}
