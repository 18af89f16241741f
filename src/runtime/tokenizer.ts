/**
 * Tokenizers specformer ships: the byte-level one (`tokenizer byte`). Browser-safe: only
 * TextEncoder / TextDecoder, no Node APIs, so generated ES modules can carry this file.
 *
 * Byte-level convention (the demo models, scripts/train-demo.py, docs/demo-training.md):
 *   - ids 0–255 are the UTF-8 bytes of the text;
 *   - with vocab 257, id 256 is END OF TEXT. It separates documents in training (the stream is
 *     `EOT doc EOT doc … EOT`), so it both ends a document and starts one: a prompt for such a
 *     model is `[256, ...bytes]` (encodePrompt), and generation should stop at it (`stop`).
 * Hugging Face tokenizers (tokenizer.json, vocab.json + merges.txt) are in tokenizers/; a spec's
 * `tokenizer bpe(NAME)` / `sentencepiece(NAME)` is not yet tied to them, so tokenizerFor still
 * says, by name, that it does not ship them. Both kinds offer TextTokenizer.
 */
import type { ModelInfo } from "../model/model.ts";
import type { TextTokenizer } from "./tokenizers/types.ts";

export type { StreamDecoder, TextTokenizer } from "./tokenizers/types.ts";

/** Number of byte tokens. */
export const BYTE_TOKENS = 256;
/** The end-of-text id of a vocab-257 byte model. */
export const END_OF_TEXT = 256;
/** What decode / ByteDecoder write for END_OF_TEXT unless told otherwise. */
export const DEFAULT_SEPARATOR = "\n\n";

export interface ByteDecoderOptions {
  /** 256 (bytes only) or 257 (bytes + END_OF_TEXT). Default 257. */
  vocab?: number;
  /** Text written for END_OF_TEXT; default "\n\n" (a blank line between documents). */
  separator?: string;
}

function checkVocab(vocab: number): void {
  if (vocab !== BYTE_TOKENS && vocab !== BYTE_TOKENS + 1) {
    throw new RangeError(`the byte tokenizer has vocab 256 (bytes) or 257 (bytes + end of text), not ${vocab}`);
  }
}

/**
 * Streaming byte-id → text decoder. push() returns only complete characters: the bytes of a
 * multi-byte UTF-8 sequence are held back until its last byte arrives. A sequence cut short by
 * END_OF_TEXT or flush(), and any invalid byte, becomes U+FFFD (as TextDecoder does).
 */
export class ByteDecoder {
  readonly vocab: number;
  readonly separator: string;
  private utf8 = new TextDecoder("utf-8");
  private readonly one = new Uint8Array(1);

  constructor(opts: ByteDecoderOptions = {}) {
    this.vocab = opts.vocab ?? BYTE_TOKENS + 1;
    checkVocab(this.vocab);
    this.separator = opts.separator ?? DEFAULT_SEPARATOR;
  }

  /** Feeds one token id; returns the text it completes (possibly ""). */
  push(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab) {
      throw new RangeError(`token id ${id} is outside the byte tokenizer's vocab [0, ${this.vocab})`);
    }
    if (id === END_OF_TEXT) return this.flush() + this.separator;
    this.one[0] = id;
    return this.utf8.decode(this.one, { stream: true });
  }

  /** Ends the stream: returns what is held back (an incomplete sequence, as U+FFFD) and resets. */
  flush(): string {
    return this.utf8.decode();
  }
}

export interface Tokenizer extends TextTokenizer {
  readonly kind: "byte";
  readonly vocab: number;
  /** END_OF_TEXT when the vocab has it (257), else undefined. */
  readonly eot: number | undefined;
  /** Token ids that end generation: [END_OF_TEXT] for vocab 257, else none. */
  readonly stop: readonly number[];
  /** The UTF-8 bytes of the text, one id each. */
  encode(text: string): Int32Array;
  /** encode(), preceded by END_OF_TEXT when the vocab has it: a document start, as in training. */
  encodePrompt(text: string): Int32Array;
  /** All of ids as text; END_OF_TEXT becomes the separator, a trailing partial character U+FFFD. */
  decode(ids: ArrayLike<number>, opts?: { separator?: string }): string;
  /** A fresh streaming decoder. */
  decoder(opts?: { separator?: string }): ByteDecoder;
}

export class ByteTokenizer implements Tokenizer {
  readonly kind = "byte" as const;
  readonly eot: number | undefined;
  readonly stop: readonly number[];
  private readonly utf8 = new TextEncoder();

  constructor(readonly vocab: number = BYTE_TOKENS + 1) {
    checkVocab(vocab);
    this.eot = vocab > BYTE_TOKENS ? END_OF_TEXT : undefined;
    this.stop = this.eot === undefined ? [] : [this.eot];
  }

  encode(text: string): Int32Array {
    return Int32Array.from(this.utf8.encode(text));
  }

  encodePrompt(text: string): Int32Array {
    const bytes = this.utf8.encode(text);
    if (this.eot === undefined) return Int32Array.from(bytes);
    const out = new Int32Array(bytes.length + 1);
    out[0] = this.eot;
    out.set(bytes, 1);
    return out;
  }

  decode(ids: ArrayLike<number>, opts: { separator?: string } = {}): string {
    const d = this.decoder(opts);
    let s = "";
    for (let i = 0; i < ids.length; i++) s += d.push(ids[i]);
    return s + d.flush();
  }

  decoder(opts: { separator?: string } = {}): ByteDecoder {
    return new ByteDecoder({ vocab: this.vocab, ...opts });
  }
}

/** A tokenizer the spec names but specformer does not ship, or a spec that names none. */
export class TokenizerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenizerUnavailableError";
  }
}

/**
 * The tokenizer a checked model declares. Only `tokenizer byte` is shipped; anything else throws
 * a TokenizerUnavailableError that says what the model needs and how to run it anyway.
 */
export function tokenizerFor(m: Pick<ModelInfo, "name" | "tokenizer" | "head">): Tokenizer {
  const t = m.tokenizer;
  if (t === undefined) {
    throw new TokenizerUnavailableError(
      `model ${m.name} declares no tokenizer (add \`tokenizer byte\` to its spec if it reads bytes); pass token ids with --tokens`,
    );
  }
  if (t.kind === "byte") {
    const vocab = m.head.vocab;
    if (vocab !== BYTE_TOKENS && vocab !== BYTE_TOKENS + 1) {
      throw new TokenizerUnavailableError(
        `model ${m.name} declares \`tokenizer byte\` but has vocab ${vocab}; the byte tokenizer needs vocab 256 (bytes) or 257 (bytes + end of text)`,
      );
    }
    return new ByteTokenizer(vocab);
  }
  const which = t.name !== undefined ? `the ${t.kind} tokenizer "${t.name}"` : `a ${t.kind} tokenizer`;
  throw new TokenizerUnavailableError(`model ${m.name} needs ${which}, which specformer does not ship; pass token ids with --tokens`);
}
