// The SentencePiece BPE tokenizer a GGUF file carries (tokenizer.ggml.model = "llama"), run as
// llama.cpp does (src/runtime/tokenizers/spm.ts: the highest-scoring adjacent pair merged first,
// bytes as <0xXX> pieces), against llama-tokenizer-js — LLaMA's tokenizer with its own encoder —
// over LLaMA's 32,000 pieces, with each merged piece scored by its merge's rank (SentencePiece
// BPE's scores order the merges; llama-tokenizer-js ships the same order as a merge list).

import { LlamaTokenizer } from "llama-tokenizer-js";
import { describe, expect, it } from "vitest";
import { ggufTokenizer } from "../src/runtime/gguf/gguf-tokenizer.ts";
import { PIECE } from "../src/runtime/tokenizers/spm.ts";
import { corpus } from "./helpers/text-corpus.ts";

const llama = new LlamaTokenizer();
const N = 800;

/** LLaMA's vocabulary as a GGUF file's tokenizer.ggml.* metadata. */
function llamaMetadata(): Record<string, unknown> {
  const pieces = llama.vocabById;
  const scores = new Array<number>(pieces.length).fill(0);
  for (const [pair, rank] of llama.merges) {
    const id = llama.vocabByString.get(pair.replace(" ", ""));
    if (id !== undefined) scores[id] = Math.max(scores[id] === 0 ? -Infinity : scores[id], -rank);
  }
  const types = pieces.map((_, id) => (id === 0 ? PIECE.unknown : id < 3 ? PIECE.control : id < 259 ? PIECE.byte : PIECE.normal));
  return {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": pieces,
    "tokenizer.ggml.scores": scores,
    "tokenizer.ggml.token_type": types,
    "tokenizer.ggml.bos_token_id": 1,
    "tokenizer.ggml.eos_token_id": 2,
    "tokenizer.ggml.unknown_token_id": 0,
  };
}

describe("a GGUF file's SentencePiece tokenizer", () => {
  const tok = ggufTokenizer(llamaMetadata(), "llama.gguf");
  const arr = (a: ArrayLike<number>) => Array.from(a);

  it("has LLaMA's vocab, BOS and stop token", () => {
    expect(tok.vocab).toBe(32000);
    expect(tok.stop).toEqual([2]);
    expect(arr(tok.encodePrompt("Hello world!"))).toEqual([1, 15043, 3186, 29991]);
  });

  it(`gives llama-tokenizer-js's ids on ${N} seeded strings (byte fallback included) and decodes them back`, () => {
    const bad: string[] = [];
    let fallback = 0;
    for (const s of corpus(2, N)) {
      const want = llama.encode(s, false, true);
      fallback += want.filter((id) => id >= 3 && id < 259).length;
      const got = arr(tok.encode(s));
      if (got.join() !== want.join()) bad.push(s);
      if (!s.includes("▁") && tok.decode(got) !== s) bad.push(`decode: ${s}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(fallback).toBeGreaterThan(N / 4);
  });

  it("streams without splitting a character", () => {
    const s = "naïve café — 日本語 🦙 test";
    const ids = tok.encode(s);
    const d = tok.decoder();
    let out = "";
    for (const id of ids) {
      const piece = d.push(id);
      expect(piece.includes("\uFFFD")).toBe(false);
      out += piece;
    }
    expect(out + d.flush()).toBe(s);
  });

  it("refuses another vocabulary kind, a missing one and malformed arrays, by key", () => {
    expect(() => ggufTokenizer({ "tokenizer.ggml.model": "t5" }, "m.gguf")).toThrow(/tokenizer\.ggml\.model is "t5"; specformer reads SentencePiece \("llama"\) and byte-level BPE/);
    expect(() => ggufTokenizer({}, "m.gguf")).toThrow(/m\.gguf has no tokenizer\.ggml\.model: the file carries no tokenizer; pass --tokens/);
    expect(() => ggufTokenizer({ ...llamaMetadata(), "tokenizer.ggml.scores": [1, 2] }, "m.gguf")).toThrow(/tokenizer\.ggml\.scores is not 32000 finite numbers/);
    expect(() => ggufTokenizer({ ...llamaMetadata(), "tokenizer.ggml.eos_token_id": 40000 }, "m.gguf")).toThrow(/tokenizer\.ggml\.eos_token_id is 40000, not a token of the 32000/);
  });
});
