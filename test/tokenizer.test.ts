// The byte-level tokenizer (src/runtime/tokenizer.ts): encode/decode, streaming decode across
// multi-byte UTF-8 sequences, the end-of-text token of vocab-257 models, and the clear error
// for tokenizers specformer does not ship.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkFile, checkSource } from "../src/check/check.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { ByteDecoder, ByteTokenizer, END_OF_TEXT, TokenizerUnavailableError, tokenizerFor } from "../src/runtime/tokenizer.ts";

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

function spec(path: string): ModelInfo {
  const r = checkFile(root(path));
  if (!r.entry) throw new Error(`${path} does not check`);
  return r.entry;
}

/** Pushes ids one at a time; returns what each push produced. */
function stream(d: ByteDecoder, ids: ArrayLike<number>): string[] {
  return Array.from(ids, (id) => d.push(id));
}

describe("ByteTokenizer", () => {
  const tok = new ByteTokenizer(257);

  it("encodes ASCII as its bytes and decodes it back", () => {
    const ids = tok.encode("Hello, world!\n");
    expect(ids).toBeInstanceOf(Int32Array);
    expect(Array.from(ids)).toEqual([...Buffer.from("Hello, world!\n")]);
    expect(tok.decode(ids)).toBe("Hello, world!\n");
    expect(tok.encode("")).toEqual(new Int32Array(0));
  });

  it("encodes multi-byte characters as their UTF-8 bytes", () => {
    expect(Array.from(tok.encode("é"))).toEqual([0xc3, 0xa9]);
    expect(Array.from(tok.encode("日本"))).toEqual([0xe6, 0x97, 0xa5, 0xe6, 0x9c, 0xac]);
    expect(Array.from(tok.encode("😀"))).toEqual([0xf0, 0x9f, 0x98, 0x80]);
    const text = "naïve café, 日本語, 🎉👍🏽!";
    expect(tok.decode(tok.encode(text))).toBe(text);
  });

  it("starts a prompt with END_OF_TEXT when the vocab has it, as the demo models were trained", () => {
    expect(tok.eot).toBe(END_OF_TEXT);
    expect(tok.stop).toEqual([256]);
    expect(Array.from(tok.encodePrompt("The "))).toEqual([256, 84, 104, 101, 32]);
    const bare = new ByteTokenizer(256);
    expect(bare.eot).toBeUndefined();
    expect(bare.stop).toEqual([]);
    expect(Array.from(bare.encodePrompt("The "))).toEqual([84, 104, 101, 32]);
  });

  it("decodes END_OF_TEXT as the separator", () => {
    const ids = [256, ...tok.encode("one"), 256, ...tok.encode("two"), 256];
    expect(tok.decode(ids)).toBe("\n\none\n\ntwo\n\n");
    expect(tok.decode(ids, { separator: "\n%\n" })).toBe("\n%\none\n%\ntwo\n%\n");
    expect(tok.decode(ids, { separator: "" })).toBe("onetwo");
  });

  it("refuses a vocab that is not 256 or 257", () => {
    expect(() => new ByteTokenizer(300)).toThrow(/vocab 256 \(bytes\) or 257/);
  });
});

describe("ByteDecoder streams complete characters only", () => {
  it.each([
    ["é", 2],
    ["日", 3],
    ["本", 3],
    ["😀", 4],
  ])("%s (%i bytes) appears at its last byte", (ch, n) => {
    const d = new ByteDecoder();
    const out = stream(d, new TextEncoder().encode(ch));
    expect(out).toHaveLength(n);
    expect(out.slice(0, -1)).toEqual(Array(n - 1).fill(""));
    expect(out[n - 1]).toBe(ch);
    expect(d.flush()).toBe("");
  });

  it("passes ASCII through byte by byte", () => {
    const d = new ByteDecoder();
    expect(stream(d, new TextEncoder().encode("A man"))).toEqual(["A", " ", "m", "a", "n"]);
  });

  it("reassembles mixed text without ever emitting a replacement character", () => {
    const text = "Ünïcödé: 日本語のテキスト, emoji 🎉👍🏽🇫🇷, done.";
    const d = new ByteDecoder();
    const pieces = stream(d, new TextEncoder().encode(text));
    expect(pieces.join("") + d.flush()).toBe(text);
    expect(pieces.some((p) => p.includes("\uFFFD"))).toBe(false);
    // Every piece is whole characters: it round-trips through UTF-8 unchanged.
    for (const p of pieces) expect(new TextDecoder().decode(new TextEncoder().encode(p))).toBe(p);
  });

  it("turns a sequence cut short by flush or END_OF_TEXT into U+FFFD, then continues cleanly", () => {
    const d = new ByteDecoder({ separator: "|" });
    expect(d.push(0xe6)).toBe("");
    expect(d.push(0x97)).toBe("");
    expect(d.push(END_OF_TEXT)).toBe("\uFFFD|");
    expect(stream(d, [0xc3, 0xa9])).toEqual(["", "é"]);
    expect(d.push(0xf0)).toBe("");
    expect(d.flush()).toBe("\uFFFD");
    expect(d.push(0x41)).toBe("A");
  });

  it("replaces an invalid byte immediately", () => {
    const d = new ByteDecoder();
    expect(d.push(0xff)).toBe("\uFFFD");
    expect(d.push(0x62)).toBe("b");
  });

  it("rejects ids outside the vocab", () => {
    const d = new ByteDecoder({ vocab: 257 });
    expect(() => d.push(257)).toThrow(RangeError);
    expect(() => d.push(-1)).toThrow(/outside the byte tokenizer's vocab \[0, 257\)/);
    expect(() => d.push(1.5)).toThrow(RangeError);
    expect(() => new ByteDecoder({ vocab: 256 }).push(256)).toThrow(/\[0, 256\)/);
  });
});

describe("tokenizerFor", () => {
  it("returns the byte tokenizer for the demo specs", () => {
    for (const path of ["specs/demo-fortune.sf", "specs/demo-fortune-window.sf"]) {
      const tok = tokenizerFor(spec(path));
      expect(tok.kind).toBe("byte");
      expect(tok.vocab).toBe(257);
      expect(tok.stop).toEqual([256]);
      expect(tok.decode(tok.encode("A man"))).toBe("A man");
    }
  });

  it("says clearly that specformer does not ship a BPE or SentencePiece tokenizer", () => {
    const gpt2 = spec("specs/gpt2-small.sf");
    expect(() => tokenizerFor(gpt2)).toThrow(TokenizerUnavailableError);
    expect(() => tokenizerFor(gpt2)).toThrow(
      'model gpt2_small needs the bpe tokenizer "gpt2", which specformer does not ship; pass token ids with --tokens',
    );
    expect(() => tokenizerFor(spec("specs/mistral-7b.sf"))).toThrow(
      'model mistral_7b needs the sentencepiece tokenizer "mistral", which specformer does not ship; pass token ids with --tokens',
    );
  });

  it("says when a spec names no tokenizer", () => {
    expect(() => tokenizerFor(spec("specs/tiny-gpt2.sf"))).toThrow(/model tiny_gpt2 declares no tokenizer.*--tokens/);
  });

  it("refuses `tokenizer byte` on a vocab that is not bytes (the checker's SF0121; tokenizerFor on a hand-made model)", () => {
    const src = `model bytes_300 {
  dims { vocab = 300, d = 16, heads = 2, layers = 1, context = 8 }
  input tokens: int[batch, seq] where seq <= context
  tokenizer byte
  embed tokens(vocab, d)
  position learned(context)
  stack layers × decoder {
    norm layer
    attention self(heads = heads, mask = causal)
    norm layer
    mlp(hidden = 4 * d, act = gelu)
  }
  norm layer
  head tied
}
`;
    const r = checkSource(src, "bytes-300.sf", { read: () => undefined });
    expect(r.entry).toBeUndefined();
    expect(r.diagnostics.map((d) => d.code)).toContain("SF0121");
    // A model that did not come through the checker (e.g. a hand-edited manifest) still gets the runtime's refusal.
    const ok = checkSource(src.replace("vocab = 300", "vocab = 256"), "bytes-256.sf", { read: () => undefined }).entry!;
    const forged = { ...ok, name: "bytes_300", head: { ...ok.head, vocab: 300 } };
    expect(() => tokenizerFor(forged)).toThrow(/model bytes_300 declares `tokenizer byte` but has vocab 300/);
  });
});
