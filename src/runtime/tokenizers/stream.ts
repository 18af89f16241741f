/**
 * Streaming decode for tokenizers whose decoders look at neighbouring tokens (a leading space
 * stripped from the first token, byte-fallback tokens fused into one character, WordPiece's
 * `##`). Browser-safe.
 *
 * The window method of Hugging Face's text-generation-inference: keep `prefix` (the start of
 * the window: the token before what is still unread) and `read` (how far text went out). Each
 * push decodes the window with and without the unread tokens and emits the difference, but only
 * when it does not end in U+FFFD — a character whose bytes are split across tokens is held back
 * until its last byte arrives. Each decode sees a few tokens, so a push costs O(window).
 */
import type { StreamDecoder } from "./types.ts";

const REPLACEMENT = "\uFFFD";

export class WindowDecoder implements StreamDecoder {
  private ids: number[] = [];
  private prefix = 0;
  private read = 0;

  constructor(
    /** Decodes a run of ids (already checked) to text. */
    private readonly decodeRun: (ids: number[]) => string,
    /** Throws for an id the tokenizer cannot decode. */
    private readonly check: (id: number) => void = () => {},
  ) {}

  push(id: number): string {
    this.check(id);
    this.ids.push(id);
    const before = this.decodeRun(this.ids.slice(this.prefix, this.read));
    const now = this.decodeRun(this.ids.slice(this.prefix));
    if (now.length > before.length && !now.endsWith(REPLACEMENT)) {
      const out = difference(before, now);
      this.prefix = this.read;
      this.read = this.ids.length;
      // The window restarts at the last emitted token: drop what lies before it.
      if (this.prefix > 64) {
        this.ids = this.ids.slice(this.prefix);
        this.read -= this.prefix;
        this.prefix = 0;
      }
      return out;
    }
    return "";
  }

  flush(): string {
    const before = this.decodeRun(this.ids.slice(this.prefix, this.read));
    const now = this.decodeRun(this.ids.slice(this.prefix));
    this.ids = [];
    this.prefix = this.read = 0;
    return difference(before, now);
  }
}

/** What `now` adds to `before`; where a decoder rewrote the end of `before`, what follows the common start. */
function difference(before: string, now: string): string {
  if (now.startsWith(before)) return now.slice(before.length);
  let i = 0;
  while (i < before.length && i < now.length && before.charCodeAt(i) === now.charCodeAt(i)) i++;
  return now.slice(Math.max(i, before.length));
}
