// The SentencePiece BPE tokenizer a GGUF file carries (tokenizer.ggml.model = "llama"), run as
// llama.cpp does (src/runtime/tokenizers/spm.ts: the highest-scoring adjacent pair merged first,
// bytes as <0xXX> pieces), against llama-tokenizer-js — LLaMA's tokenizer with its own encoder —
// over LLaMA's 32,000 pieces, with each merged piece scored by its merge's rank (SentencePiece
// BPE's scores order the merges; llama-tokenizer-js ships the same order as a merge list).

import { LlamaTokenizer } from "llama-tokenizer-js";
import { describe, expect, it } from "vitest";
import { ggufChatIds, ggufChatTemplate } from "../src/runtime/gguf/gguf-chat.ts";
import { ggufTokenizer } from "../src/runtime/gguf/gguf-tokenizer.ts";
import { PIECE } from "../src/runtime/tokenizers/spm.ts";
import { corpus, splitSpecials } from "./helpers/text-corpus.ts";

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

  // llama.cpp's tokenize with parse_special: special pieces in the text are their own ids, and each
  // run of text around them is encoded on its own with the prefix space (what a chat prompt needs).
  it("splits <s>, </s> and <unk> out of the text as llama.cpp does, each run between them encoded with its prefix space", () => {
    const special: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
    const bad: string[] = [];
    for (const s of corpus(3, N / 2, Object.keys(special))) {
      const want = splitSpecials(s, Object.keys(special)).flatMap((part) => (part in special ? [special[part]] : llama.encode(part, false, true)));
      if (arr(tok.encode(s)).join() !== want.join()) bad.push(s);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(arr(tok.encode("Hi</s>\n<s>"))).toEqual([...llama.encode("Hi", false, true), 2, ...llama.encode("\n", false, true), 1]);
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

  // Mistral-7B-Instruct-v0.1's published chat template, which prints bos_token itself: llama.cpp
  // drops that text and adds the tokenizer's BOS, so the ids start with exactly one.
  const MISTRAL =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
  it("renders tokenizer.chat_template with the file's BOS / EOS texts, one BOS in the ids; a failing template names the key", () => {
    const meta = { ...llamaMetadata(), "tokenizer.chat_template": MISTRAL };
    const chat = ggufChatTemplate(meta, "m.gguf");
    expect(chat.template.render([{ role: "user", content: "Hi" }])).toBe("<s>[INST] Hi [/INST]");
    expect(arr(ggufChatIds(chat, tok, [{ role: "user", content: "Hi" }]))).toEqual([1, ...llama.encode("[INST] Hi [/INST]", false, true)]);
    expect(arr(ggufChatIds(chat, tok, [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: "c" }]))).toEqual([
      1,
      ...llama.encode("[INST] a [/INST]b", false, true),
      2,
      ...llama.encode(" [INST] c [/INST]", false, true),
    ]);
    expect(() => ggufChatIds(chat, tok, [{ role: "system", content: "x" }, { role: "user", content: "Hi" }])).toThrow(/m\.gguf \(tokenizer\.chat_template\): chat template failed to render: .*Conversation roles must alternate/);
    expect(() => ggufChatTemplate({ ...meta, "tokenizer.chat_template": "{% for %}" }, "m.gguf")).toThrow(/m\.gguf \(tokenizer\.chat_template\): chat template does not parse/);
    expect(() => ggufChatTemplate(llamaMetadata(), "m.gguf")).toThrow(/m\.gguf has no tokenizer\.chat_template/);
  });

  it("refuses another vocabulary kind, a missing one and malformed arrays, by key", () => {
    expect(() => ggufTokenizer({ "tokenizer.ggml.model": "t5" }, "m.gguf")).toThrow(/tokenizer\.ggml\.model is "t5"; specformer reads SentencePiece \("llama"\) and byte-level BPE/);
    expect(() => ggufTokenizer({}, "m.gguf")).toThrow(/m\.gguf has no tokenizer\.ggml\.model: the file carries no tokenizer; pass --tokens/);
    expect(() => ggufTokenizer({ ...llamaMetadata(), "tokenizer.ggml.scores": [1, 2] }, "m.gguf")).toThrow(/tokenizer\.ggml\.scores is not 32000 finite numbers/);
    expect(() => ggufTokenizer({ ...llamaMetadata(), "tokenizer.ggml.eos_token_id": 40000 }, "m.gguf")).toThrow(/tokenizer\.ggml\.eos_token_id is 40000, not a token of the 32000/);
  });
});
