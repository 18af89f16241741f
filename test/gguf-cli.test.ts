// The CLI on a GGUF file beyond `run --tokens` (test/gguf.test.ts): `inspect M.gguf` (the imported
// spec and the weight bytes by storage dtype as the file loads), `tokenize M.gguf`, `check M.gguf`'s
// hint, and `run M.gguf --chat` through the file's tokenizer.chat_template. The fixtures are
// scripts/make-gguf-fixtures.py's.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ggufTokenizer } from "../src/runtime/gguf/gguf-tokenizer.ts";
import { readGgufHeader } from "../src/runtime/gguf/read-gguf.ts";
import { cli } from "./helpers/hf.ts";

const DIR = "test/fixtures/gguf";
const file = (kind: string) => `${DIR}/llama-${kind}.gguf`;

describe("inspect, tokenize and check on a GGUF file", () => {
  it("`inspect M.gguf` summarises the imported spec and prints the weight bytes as the file loads (Q4_0 matrices q4, the Q4_0 table f32)", async () => {
    const h = await readGgufHeader(file("Q4_0"));
    let q4 = 0;
    let f32 = 0;
    for (const t of h.tensors.values()) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (t.type === "Q4_0" && t.name !== "token_embd.weight") q4 += (n / 32) * 18;
      else f32 += 4 * n;
    }
    const r = await cli("inspect", file("Q4_0"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Weights by storage dtype (${file("Q4_0")}, as stored):`);
    expect(r.stdout).toMatch(new RegExp(`q4 +15 +[\\d,]+ +${q4.toLocaleString("en-US")}`));
    expect(r.stdout).toMatch(new RegExp(`f32 +6 +[\\d,]+ +${f32.toLocaleString("en-US")}`));
    const spec = await cli("inspect", `${DIR}/llama-hf`);
    expect(spec.code, spec.stderr).toBe(0);
    expect(spec.stdout.trimEnd()).toBe(r.stdout.split("Weights by")[0].trimEnd().replaceAll("llama_q4_0", "llama_hf"));
    const asQ8 = await cli("inspect", `${DIR}/llama-hf`, "--weights-file", file("Q8_0"));
    expect(asQ8.stdout).toMatch(/q8 +16 /); // the Q8_0 table stays q8 too
  });

  it("`tokenize M.gguf` uses the file's tokenizer (BOS unless --no-special); a file without one, and `check M.gguf`, say what to do", async () => {
    const tok = ggufTokenizer((await readGgufHeader(file("F32"))).metadata, "F32");
    const r = await cli("tokenize", file("F32"), "the cat sat</s>");
    expect(r.stdout.trim()).toBe(Array.from(tok.encodePrompt("the cat sat</s>")).join(","));
    expect(r.stdout.trim().split(",")[0]).toBe("1");
    const bare = await cli("tokenize", file("F32"), "the cat", "--no-special");
    expect(bare.stdout.trim()).toBe(Array.from(tok.encode("the cat")).join(","));
    const back = await cli("tokenize", file("F32"), bare.stdout.trim(), "--decode");
    expect(back.stdout).toBe("the cat\n");
    const none = await cli("tokenize", `${DIR}/qwen2-F32.gguf`, "hi");
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/qwen2-F32\.gguf has no tokenizer\.ggml\.model/);
    const check = await cli("check", file("F32"));
    expect(check.code).toBe(1);
    expect(check.stdout + check.stderr).toMatch(/this is a GGUF model file: `specformer import FILE --out M\.sf` writes its spec/);
  });
});

describe("`run M.gguf --chat`", () => {
  // The fixture carries TinyLlama-Chat's (Zephyr's) template in tokenizer.chat_template
  // (scripts/make-gguf-fixtures.py). Rendered by hand from the template (trim_blocks drops the
  // newline after each tag, the one after each {{ }} stays), then tokenized as llama.cpp does:
  // BOS first (the template prints none), </s> its own id.
  it("renders the file's chat template and generates from BOS + its ids, printing the reply alone", async () => {
    const tok = ggufTokenizer((await readGgufHeader(file("F32"))).metadata, "F32");
    const text = "<|system|>\nbe brief.</s>\n<|user|>\nthe cat</s>\n<|assistant|>\n";
    const ids = [1, ...tok.encode(text)];
    expect(ids.filter((id) => id === 2)).toHaveLength(2);
    const byChat = await cli("run", file("F32"), "--system", "be brief.", "--chat", "the cat", "--max-tokens", "6", "--target", "wasm");
    const byIds = await cli("run", file("F32"), "--tokens", ids.join(","), "--max-tokens", "6", "--target", "wasm");
    expect(byChat.code, byChat.stderr).toBe(0);
    expect(byIds.code, byIds.stderr).toBe(0);
    const generated = byIds.stdout.trim().split("\n")[0].split(",").map(Number);
    expect(byChat.stdout.trim()).toBe(tok.decode(generated).trim());
  });

  it("a file without tokenizer.chat_template is refused by key", async () => {
    const bytes = readFileSync(file("F32"));
    const renamed = Buffer.from(bytes);
    const at = renamed.indexOf("tokenizer.chat_template");
    renamed.write("tokenizer.chat_templatX", at, "latin1");
    const path = join(mkdtempSync(join(tmpdir(), "sf-gguf-chat-")), "nochat.gguf");
    writeFileSync(path, renamed);
    const r = await cli("run", path, "--chat", "hi", "--target", "wasm");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nochat\.gguf has no tokenizer\.chat_template, so the model has no chat format; use --prompt/);
  });
});
