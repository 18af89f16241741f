// Generated modules built for Hugging Face checkpoint directories (issue 10, items 3 and 5):
// `build DIR` and `build SPEC --weights DIR` copy the tokenizer into the package; the module's
// load() takes the directory (shards through the index, progress across all of them) and its
// encode / decode / decoder / stop are the checkpoint's tokenizer. Ids are checked against
// @huggingface/tokenizers run directly on the directory's files, and, on GPT-2's real vocabulary
// (gpt-3-encoder's data), against gpt-3-encoder.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import gpt3 from "gpt-3-encoder";
import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { cli } from "./helpers/cli-in-process.ts";
import { corpus } from "./helpers/text-corpus.ts";
import { maxRelError } from "./helpers/rel-error.ts";

const HF = "test/fixtures/hf";
const tmp = mkdtempSync(join(tmpdir(), "sf-ckpt-module-"));
const pkg = (p: string) => join(import.meta.dirname, "..", "node_modules", p);
const N = 1000;

/** `specformer build ARGS --out DIR` in process; the imported module. */
async function built(name: string, ...args: string[]) {
  const out = join(tmp, name);
  const r = await cli("build", ...args, "--out", out);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return { out, r, mod: await import(pathToFileURL(join(out, "index.js")).href) };
}

function parity(name: string) {
  const f = parseSafetensors(readFileSync(`${HF}/parity/${name}.safetensors`));
  return { tokens: f.i32("input.tokens"), shape: f.get("input.tokens")!.shape, logits: f.f32("expected.logits"), prompt: f.i32("greedy.prompt"), greedy: Array.from(f.i32("greedy.tokens")) };
}

type Progress = { phase: string; loaded: number; total: number };

/** The download events are monotone, share one total, and end at it. */
function expectWholeDownload(events: Progress[], total: number): void {
  const dl = events.filter((e) => e.phase === "download");
  expect(dl.length).toBeGreaterThan(0);
  for (let i = 1; i < dl.length; i++) expect(dl[i].loaded).toBeGreaterThanOrEqual(dl[i - 1].loaded);
  expect(new Set(dl.map((e) => e.total))).toEqual(new Set([total]));
  expect(dl.at(-1)!.loaded).toBe(total);
  expect(events.at(-1)!.phase).toBe("bind");
}

async function greedy(model: { generate(p: Int32Array, o: { maxTokens: number }): AsyncIterable<number> }, prompt: Int32Array, n: number) {
  const ids: number[] = [];
  for await (const id of model.generate(prompt, { maxTokens: n })) ids.push(id);
  return ids;
}

describe.each(["reference", "wasm"] as const)("build DIR (gpt2 fixture, %s): the module loads the directory", (target) => {
  it("forward matches PyTorch, greedy decoding its continuation; progress counts the file; the tokenizer came along", async () => {
    const { out, r, mod } = await built(`gpt2-${target}`, `${HF}/gpt2`, "--target", target);
    expect(r.stdout).toMatch(/tokenizer\.js, tokenizer\/generation_config\.json, tokenizer\/tokenizer\.json, tokenizer\/tokenizer_config\.json/);
    const manifest = readFileSync(join(out, "index.js"), "utf8");
    expect(manifest).toContain('\\"checkpoint\\":{\\"map\\":\\"gpt2\\",\\"tokenizer\\":\\"tokenizer/\\"}');
    const events: Progress[] = [];
    const model = await mod.load(`${HF}/gpt2`, { onProgress: (p: Progress) => events.push({ ...p }) });
    expectWholeDownload(events, statSync(`${HF}/gpt2/model.safetensors`).size);
    const p = parity("gpt2");
    expect(maxRelError(await model.forward(p.tokens, { batch: p.shape[0], seq: p.shape[1] }), p.logits, 1e-9)).toBeLessThan(1e-4);
    expect(await greedy(model, p.prompt, p.greedy.length)).toEqual(p.greedy);
    // The prompt of the parity fixture is "the cat" under the directory's tokenizer.
    expect(Array.from(mod.encode("the cat"))).toEqual(Array.from(p.prompt));
    expect(model.tokenizer.kind).toBe("bpe");
    expect(mod.stop).toEqual([256]);
    model.dispose();
  });
});

describe("the module's tokenizer (gpt2 fixture)", async () => {
  const { mod } = await built("gpt2-tok", `${HF}/gpt2`, "--target", "reference");
  const text = corpus(101, N, ["<|endoftext|>"]);

  it("before load() or loadTokenizer(), encode says so", () => {
    expect(() => mod.encode("x")).toThrow("the tokenizer is not loaded yet: await load(…) or loadTokenizer() first");
  });

  it(`encode gives @huggingface/tokenizers' ids on the directory's own files, ${N} strings; decode round-trips`, async () => {
    const tok = await mod.loadTokenizer();
    expect(await mod.loadTokenizer()).toBe(tok);
    const lib = new HfLibTokenizer(JSON.parse(readFileSync(`${HF}/gpt2/tokenizer.json`, "utf8")), JSON.parse(readFileSync(`${HF}/gpt2/tokenizer_config.json`, "utf8")));
    for (const s of text) {
      const ids = Array.from(mod.encode(s) as Int32Array);
      expect(ids).toEqual(lib.encode(s).ids);
      expect(mod.decode(ids)).toBe(s);
    }
    expect(mod.decode(mod.encode("a<|endoftext|>b"), { skipSpecial: true })).toBe("ab");
  });

  it("the streaming decoder holds back an emoji's bytes until its last token", () => {
    const ids = Array.from(mod.encode("ok 🎉👨‍👩‍👧!") as Int32Array);
    const d = mod.decoder();
    const chunks = ids.map((id) => d.push(id) as string);
    chunks.push(d.flush());
    expect(chunks.join("")).toBe("ok 🎉👨‍👩‍👧!");
    for (const c of chunks) expect(c.includes("\uFFFD") || /[\uD800-\uDBFF]$/.test(c)).toBe(false);
    // 🎉 is four byte tokens here: three pushes give nothing, the fourth the whole character.
    const party = Array.from(mod.encode("🎉") as Int32Array);
    expect(party).toHaveLength(4);
    const e = mod.decoder();
    expect(party.map((id) => e.push(id))).toEqual(["", "", "", "🎉"]);
  });
});

describe("GPT-2's real vocabulary (gpt-3-encoder's data) in a checkpoint directory", () => {
  const GPT2_EOT = 50256;
  const vocab = JSON.parse(readFileSync(pkg("gpt-3-encoder/encoder.json"), "utf8"));
  const bpe = readFileSync(pkg("gpt-3-encoder/vocab.bpe"), "utf8");
  const merges = bpe.split("\n").slice(1).filter((l) => l.trim() !== "");
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  /** A GPT-2-layout directory with the real vocabulary: config.json at vocab 50257, no weights needed to build. */
  function gpt2Dir(name: string, files: Record<string, string | Buffer>): string {
    const d = join(tmp, name);
    mkdirSync(d);
    const config = JSON.parse(readFileSync(`${HF}/gpt2/config.json`, "utf8"));
    writeFileSync(join(d, "config.json"), JSON.stringify({ ...config, vocab_size: 50257, bos_token_id: GPT2_EOT, eos_token_id: GPT2_EOT }));
    writeFileSync(join(d, "tokenizer_config.json"), JSON.stringify({ bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>", tokenizer_class: "GPT2Tokenizer" }));
    for (const [f, data] of Object.entries(files)) writeFileSync(join(d, f), data);
    return d;
  }
  const oracle = (s: string) => s.split(/(<\|endoftext\|>)/).filter((x) => x !== "").flatMap((p) => (p === "<|endoftext|>" ? [GPT2_EOT] : gpt3.encode(p)));
  const text = corpus(202, N, ["<|endoftext|>"]);

  it.each([
    ["tokenizer.json", () => ({ "tokenizer.json": JSON.stringify({ version: "1.0", truncation: null, padding: null, added_tokens: [{ id: GPT2_EOT, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }], normalizer: null, pre_tokenizer: byteLevel, post_processor: byteLevel, decoder: byteLevel, model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges } }) })],
    ["vocab.json + merges.txt", () => ({ "vocab.json": readFileSync(pkg("gpt-3-encoder/encoder.json")), "merges.txt": bpe })],
  ])(`from %s: the module's encode is gpt-3-encoder on ${N} strings`, async (form, files) => {
    const d = gpt2Dir(`gpt2-real-${form.replace(/\W+/g, "-")}`, files());
    const { mod } = await built(`gpt2-real-pkg-${form.replace(/\W+/g, "-")}`, d, "--target", "reference");
    const tok = await mod.loadTokenizer();
    expect(tok.vocab).toBe(50257);
    expect(mod.stop).toEqual([GPT2_EOT]);
    for (const s of text) {
      const ids = Array.from(mod.encode(s) as Int32Array);
      expect(ids).toEqual(oracle(s));
      expect(mod.decode(ids)).toBe(s);
    }
  });
});

describe("build SPEC --weights DIR, sharded directories, refusals", () => {
  it("a spec with --weights DIR: the tokenizer is copied, the map found from the directory's names at load", async () => {
    const spec = join(tmp, "gpt2.sf");
    expect((await cli("import", `${HF}/gpt2`, "--out", spec)).code).toBe(0);
    const { out, mod } = await built("gpt2-spec", spec, "--weights", `${HF}/gpt2`, "--target", "reference");
    expect(readdirSync(join(out, "tokenizer")).sort()).toEqual(["generation_config.json", "tokenizer.json", "tokenizer_config.json"]);
    const model = await mod.load(pathToFileURL(resolve(`${HF}/gpt2`) + "/"));
    const p = parity("gpt2");
    expect(maxRelError(await model.forward(p.tokens, { batch: p.shape[0], seq: p.shape[1] }), p.logits, 1e-9)).toBeLessThan(1e-4);
    expect(Array.from(model.tokenizer.encode("the cat"))).toEqual(Array.from(p.prompt));
    model.dispose();
  });

  it("llama (two shards, no tokenizer): progress runs across both shards to their total; no tokenizer to offer", async () => {
    const { mod } = await built("llama", `${HF}/llama`, "--target", "reference");
    expect(mod.encode).toBeUndefined();
    await expect(mod.loadTokenizer()).rejects.toThrow(/has no tokenizer of its own; give loadTokenizer\(\) a checkpoint directory/);
    const events: Progress[] = [];
    const model = await mod.load(`${HF}/llama`, { onProgress: (p: Progress) => events.push({ ...p }) });
    const shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"].map((f) => statSync(join(HF, "llama", f)).size);
    expectWholeDownload(events, shards[0] + shards[1]);
    // Events on both sides of the first shard's end: one count across the shards, not per shard.
    expect(events.some((e) => e.phase === "download" && e.loaded <= shards[0])).toBe(true);
    expect(events.some((e) => e.phase === "download" && e.loaded > shards[0])).toBe(true);
    expect(model.tokenizer).toBeUndefined();
    const p = parity("llama");
    expect(maxRelError(await model.forward(p.tokens, { batch: p.shape[0], seq: p.shape[1] }), p.logits, 1e-9)).toBeLessThan(1e-4);
    model.dispose();
  });

  it("a missing shard and a directory without weights: load() rejects naming the file", async () => {
    const { mod } = await built("llama-bad", `${HF}/llama`, "--target", "reference");
    const d = join(tmp, "llama-missing");
    mkdirSync(d);
    for (const f of readdirSync(`${HF}/llama`)) if (!f.startsWith("model-00002")) copyFileSync(join(HF, "llama", f), join(d, f));
    await expect(mod.load(d)).rejects.toThrow(`${join(d, "model-00002-of-00002.safetensors")}: missing (model.safetensors.index.json lists`);
    const empty = join(tmp, "no-weights");
    mkdirSync(empty);
    await expect(mod.load(empty)).rejects.toThrow(`${empty}: has no weights: no model.safetensors and no model.safetensors.index.json`);
  });

  it("build refusals: --weights that is not a checkpoint directory (exit 2); a tokenizer.json that does not parse (exit 1)", async () => {
    const notDir = await cli("build", "specs/tiny-gpt2.sf", "--weights", `${HF}/gpt2/model.safetensors`, "--target", "reference", "--out", join(tmp, "x"));
    expect(notDir.code).toBe(2);
    expect(notDir.stderr).toMatch(/^specformer: build --weights takes a Hugging Face checkpoint directory/);
    const d = join(tmp, "gpt2-broken-tok");
    mkdirSync(d);
    for (const f of readdirSync(`${HF}/gpt2`)) copyFileSync(join(HF, "gpt2", f), join(d, f));
    writeFileSync(join(d, "tokenizer.json"), "{ not json");
    const bad = await cli("build", d, "--target", "reference", "--out", join(tmp, "y"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`^specformer: ${join(d, "tokenizer.json").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: does not parse as JSON`));
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("the generated declarations of a checkpoint package", () => {
  it("type-check a consumer: the tokenizer API where the package has one, none where it has not", async () => {
    const dir = join(tmp, "consumer");
    mkdirSync(dir);
    expect((await cli("build", `${HF}/gpt2`, "--target", "reference", "--out", join(dir, "gpt2"))).code).toBe(0);
    expect((await cli("build", `${HF}/llama`, "--target", "reference", "--out", join(dir, "llama"))).code).toBe(0);
    const consumer = `import { load, loadTokenizer, encode, decode, decoder, stop } from "./gpt2/index.js";
import * as llama from "./llama/index.js";
export async function run(): Promise<string> {
  const model = await load("dir/");
  const ids: Int32Array = encode("hi", { special: false });
  const d = decoder({ skipSpecial: true });
  let text = d.push(ids[0]) + d.flush() + decode(ids) + model.tokenizer.decode(ids);
  const first: number | undefined = stop[0];
  const t = await loadTokenizer();
  text += t.kind + String(first);
  const m2 = await llama.load(new URL("https://example.org/llama/"));
  text += m2.tokenizer?.encode("x").length ?? 0;
  await llama.loadTokenizer("some/dir");
  // @ts-expect-error a package without a tokenizer of its own needs a directory
  await llama.loadTokenizer();
  // @ts-expect-error no module-level encode without a tokenizer
  llama.encode("x");
  // @ts-expect-error decode takes ids
  decode("x");
  return text;
}
`;
    writeFileSync(join(dir, "consumer.ts"), consumer);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2022", "DOM"], skipLibCheck: false, types: [] }, files: ["consumer.ts"] }),
    );
    const tsc = () => spawnSync(process.execPath, [join(process.cwd(), "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8" });
    const r = tsc();
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    // The checker really checks: without one @ts-expect-error it fails.
    writeFileSync(join(dir, "consumer.ts"), consumer.replace("// @ts-expect-error no module-level encode without a tokenizer", ""));
    expect(tsc().status).not.toBe(0);
  }, 60_000);
});
