/**
 * A SentencePiece BPE vocabulary (pieces, scores, piece types) as llama.cpp's `llama`
 * tokenizer runs it — what a GGUF file's tokenizer.ggml.* metadata holds for Llama 2,
 * TinyLlama and Mistral. Browser-safe.
 *
 * Encoding: spaces become U+2581 "▁" (with one in front when add_space_prefix), the text splits
 * into characters, and the adjacent pair whose concatenation is the highest-scoring piece is
 * merged, repeatedly (ties: the leftmost pair), until no pair is a piece. A symbol that is no
 * piece falls back to its UTF-8 bytes' <0xXX> pieces (or the unknown piece). Decoding is the
 * reverse: ▁ → space, byte pieces gathered into UTF-8, control pieces dropped, and the prefix
 * space of the first piece removed.
 *
 * Special pieces in the text (control, user-defined and unknown pieces: `<s>`, `</s>`, `<unk>`, a
 * chat format's markers) are their own ids, as llama.cpp tokenizes with parse_special — which is
 * how a rendered chat prompt reaches the model. The text between them is encoded as above, each
 * run with the prefix space (llama.cpp prefixes the first run and every run after a special).
 */
import { WindowDecoder } from "./stream.ts";
import type { StreamDecoder, TextTokenizer } from "./types.ts";

const UTF8 = new TextEncoder();

/** llama.cpp's token types (llama_token_type). */
export const PIECE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

const SPECIAL_TYPES = new Set<number>([PIECE.control, PIECE.userDefined, PIECE.unknown]);

export interface SpmVocab {
  pieces: readonly string[];
  scores: ArrayLike<number>;
  types: ArrayLike<number>;
  bos?: number;
  eos?: number;
  unk?: number;
  addBos: boolean;
  addSpacePrefix: boolean;
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  /** The merged text's length when queued: a symbol that changed since makes it stale. */
  size: number;
}

/** Max-heap on score, then the smaller left index. */
class BigramQueue {
  private heap: Bigram[] = [];
  private before = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);
  push(b: Bigram): void {
    const h = this.heap;
    h.push(b);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): Bigram | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l], h[m])) m = l;
        if (r < h.length && this.before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

export class SpmTokenizer implements TextTokenizer {
  readonly kind = "spm";
  readonly vocab: number;
  readonly stop: readonly number[];
  private readonly ids = new Map<string, number>();
  private readonly byteIds = new Map<number, number>();
  /** The special pieces, longest first (a longer marker wins over its prefix), as one alternation; undefined when none. */
  private readonly specials: RegExp | undefined;

  constructor(private readonly v: SpmVocab) {
    this.vocab = v.pieces.length;
    this.stop = v.eos === undefined ? [] : [v.eos];
    v.pieces.forEach((p, id) => {
      if (v.types[id] === PIECE.byte) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p);
        if (m) this.byteIds.set(parseInt(m[1], 16), id);
      } else if (!this.ids.has(p)) this.ids.set(p, id);
    });
    const special = v.pieces.filter((p, id) => p !== "" && SPECIAL_TYPES.has(v.types[id]) && this.ids.get(p) === id).sort((a, b) => b.length - a.length);
    this.specials = special.length === 0 ? undefined : new RegExp(special.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  }

  encode(text: string): Int32Array {
    if (this.specials === undefined) return Int32Array.from(this.encodeRun(text));
    const out: number[] = [];
    let at = 0;
    for (const m of text.matchAll(this.specials)) {
      if (m.index > at) out.push(...this.encodeRun(text.slice(at, m.index)));
      out.push(this.ids.get(m[0])!);
      at = m.index + m[0].length;
    }
    if (at < text.length) out.push(...this.encodeRun(text.slice(at)));
    return Int32Array.from(out);
  }

  /** Text with no special piece in it. */
  private encodeRun(text: string): number[] {
    if (text === "") return [];
    const sym = Array.from((this.v.addSpacePrefix ? "▁" : "") + text.replaceAll(" ", "▁"));
    // A doubly linked list of symbols; merged-away symbols get text "".
    const prev = sym.map((_, i) => i - 1);
    const next = sym.map((_, i) => (i + 1 < sym.length ? i + 1 : -1));
    const queue = new BigramQueue();
    const tryAdd = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const text = sym[left] + sym[right];
      const id = this.ids.get(text);
      if (id !== undefined && this.v.types[id] !== PIECE.control) queue.push({ left, right, score: this.v.scores[id], size: text.length });
    };
    for (let i = 1; i < sym.length; i++) tryAdd(i - 1, i);
    for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
      const { left, right } = b;
      if (sym[left] === "" || sym[right] === "" || sym[left].length + sym[right].length !== b.size || next[left] !== right) continue;
      sym[left] += sym[right];
      sym[right] = "";
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      tryAdd(prev[left], left);
      tryAdd(left, next[left]);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < sym.length; i = next[i]) {
      const id = this.ids.get(sym[i]);
      if (id !== undefined) out.push(id);
      else for (const byte of UTF8.encode(sym[i])) out.push(this.byteIds.get(byte) ?? this.v.unk ?? 0);
    }
    return out;
  }

  encodePrompt(text: string): Int32Array {
    const ids = this.encode(text);
    if (!this.v.addBos || this.v.bos === undefined) return ids;
    const out = new Int32Array(ids.length + 1);
    out[0] = this.v.bos;
    out.set(ids, 1);
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      const type = this.v.types[id];
      if (type === PIECE.control || id < 0 || id >= this.vocab) continue;
      const p = this.v.pieces[id];
      const m = type === PIECE.byte ? /^<0x([0-9A-Fa-f]{2})>$/.exec(p) : null;
      if (m) bytes.push(parseInt(m[1], 16));
      else bytes.push(...UTF8.encode(p.replaceAll("▁", " ")));
    }
    const text = new TextDecoder().decode(Uint8Array.from(bytes));
    return this.v.addSpacePrefix && text.startsWith(" ") ? text.slice(1) : text;
  }

  decoder(): StreamDecoder {
    return new WindowDecoder((ids) => this.decode(ids));
  }
}
