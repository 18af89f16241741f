// A generated module loads a Hugging Face checkpoint directory (or a GGUF file) from a URL in a real browser
// (Debian's headless Chromium via playwright-core, pages served from 127.0.0.1): the shards
// through the index with one progress count across them, tokenizer.json and its companions
// fetched beside them, and the same tokens and text as in Node. Skipped loudly without Chromium
// (a failure under CI), as test/browser.test.ts is.
import { existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, launchChromium, serve } from "./helpers/browser.ts";
import { cli } from "./helpers/cli-in-process.ts";
import { installPeers } from "./helpers/packages.ts";

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`CI is set but ${CHROMIUM} is missing: install Debian's chromium (.ci/apt-packages)`);
if (!haveChromium) console.warn(`SKIPPING browser checkpoint tests: ${CHROMIUM} not installed`);

const work = mkdtempSync(join(tmpdir(), "sf-browser-ckpt-"));
const TARGETS = ["reference", "wasm", "webgpu"] as const;

interface PageResult {
  error?: string;
  ids?: number[];
  text?: string;
  encoded?: number[];
  download?: { loaded: number; total: number }[];
  urls?: string[];
}

/**
 * In the page: import the module, load the directory from its URL, generate, decode. (The code is
 * a string: vitest rewrites a dynamic import() inside a function it compiles.)
 */
async function runInPage(page: Page, moduleUrl: string, dirUrl: string, prompt: string | number[], maxTokens: number): Promise<PageResult> {
  const code = `(async () => {
    try {
      const mod = await import(${JSON.stringify(moduleUrl)});
      const download = [];
      const model = await mod.load(${JSON.stringify(dirUrl)}, { onProgress: (p) => p.phase === "download" && download.push({ loaded: p.loaded, total: p.total }) });
      const prompt = ${JSON.stringify(prompt)};
      const ids0 = typeof prompt === "string" ? model.tokenizer.encode(prompt) : Int32Array.from(prompt);
      const ids = [];
      for await (const id of model.generate(ids0, { maxTokens: ${maxTokens}, stop: [...(model.tokenizer?.stop ?? [])] })) ids.push(id);
      const text = model.tokenizer ? model.tokenizer.decode(ids, { skipSpecial: true }) : undefined;
      model.dispose();
      return { ids, text, encoded: Array.from(ids0), download };
    } catch (e) {
      return { error: String(e?.stack ?? e) };
    }
  })()`;
  // What the page requested, as the browser reports it (in order, before the evaluation's answer).
  const urls: string[] = [];
  page.on("request", (r) => urls.push(new URL(r.url()).pathname));
  return { ...((await page.evaluate(code)) as PageResult), urls };
}

describe.runIf(haveChromium)("checkpoint directories in headless Chromium", () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    for (const t of TARGETS) {
      // gpt2 carries its tokenizer into the package; llama (two shards) has none.
      for (const [name, dir] of [["gpt2", "test/fixtures/hf/gpt2"], ["llama", "test/fixtures/hf/llama"], ["gguf", "test/fixtures/gguf/llama-Q4_0.gguf"]]) {
        const out = join(work, `${name}-${t}`);
        const r = await cli("build", dir, "--target", t, "--out", out);
        if (r.code !== 0) throw new Error(r.stderr);
        installPeers(out);
      }
    }
    writeFileSync(join(work, "blank.html"), "<!doctype html><title>checkpoint</title>");
    server = await serve({ "/built/": work, "/hf/": resolve("test/fixtures/hf"), "/gguf/": resolve("test/fixtures/gguf") });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(TARGETS)("%s: gpt2 from its base URL — the tokenizer's ids, tokens and text as in Node", async (target) => {
    const mod = await import(pathToFileURL(join(work, `gpt2-${target}`, "index.js")).href);
    const model = await mod.load("test/fixtures/hf/gpt2");
    const prompt = model.tokenizer.encode("the cat sat 🎉");
    const node: number[] = [];
    for await (const id of model.generate(prompt, { maxTokens: 8, stop: [...model.tokenizer.stop] })) node.push(id);
    model.dispose();

    const page = await browser.newPage();
    await page.goto(`${server.url}/built/blank.html`);
    const r = await runInPage(page, `/built/gpt2-${target}/index.js`, `${server.url}/hf/gpt2/`, "the cat sat 🎉", 8);
    expect(r.error).toBeUndefined();
    expect(r.encoded).toEqual(Array.from(prompt));
    expect(r.ids).toEqual(node);
    expect(r.text).toBe(model.tokenizer.decode(node, { skipSpecial: true }));
    // The package's own copy of the tokenizer was used: tokenizer.js and tokenizer/tokenizer.json fetched once.
    expect(r.urls!.filter((u) => u.endsWith("/tokenizer.js"))).toHaveLength(1);
    expect(r.urls!.filter((u) => u === `/built/gpt2-${target}/tokenizer/tokenizer.json`)).toHaveLength(1);
    await page.close();
  });

  it.each(TARGETS)("%s: llama's two shards from its base URL, one progress count to their total; no tokenizer.js fetched", async (target) => {
    const mod = await import(pathToFileURL(join(work, `llama-${target}`, "index.js")).href);
    const model = await mod.load("test/fixtures/hf/llama");
    const node: number[] = [];
    for await (const id of model.generate(Int32Array.from([1, 5, 9]), { maxTokens: 6 })) node.push(id);
    model.dispose();

    const page = await browser.newPage();
    await page.goto(`${server.url}/built/blank.html`);
    const r = await runInPage(page, `/built/llama-${target}/index.js`, `${server.url}/hf/llama/`, [1, 5, 9], 6);
    expect(r.error).toBeUndefined();
    expect(r.ids).toEqual(node);
    const total = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"].reduce((a, f) => a + statSync(join("test/fixtures/hf/llama", f)).size, 0);
    expect(r.download!.at(-1)!.loaded).toBe(total);
    expect(new Set(r.download!.map((d) => d.total))).toEqual(new Set([total]));
    expect(r.urls).toContain("/hf/llama/model-00001-of-00002.safetensors");
    expect(r.urls).toContain("/hf/llama/model-00002-of-00002.safetensors");
    // Without a tokenizer the directory is asked for one (404s), and the library is never downloaded.
    expect(r.urls).toContain("/hf/llama/tokenizer.json");
    expect(r.urls!.some((u) => u.endsWith("/tokenizer.js"))).toBe(false);
    await page.close();
  });

  it.each(TARGETS)("%s: a GGUF file by URL (a package built from it) — its tokenizer's ids, tokens and text as in Node; gguf.js fetched, tokenizer.js not", async (target) => {
    const mod = await import(pathToFileURL(join(work, `gguf-${target}`, "index.js")).href);
    const model = await mod.load("test/fixtures/gguf/llama-Q4_0.gguf");
    const prompt = model.tokenizer.encode("the cat sat");
    const node: number[] = [];
    for await (const id of model.generate(prompt, { maxTokens: 6, stop: [...model.tokenizer.stop] })) node.push(id);
    model.dispose();

    const page = await browser.newPage();
    await page.goto(`${server.url}/built/blank.html`);
    const r = await runInPage(page, `/built/gguf-${target}/index.js`, `${server.url}/gguf/llama-Q4_0.gguf`, "the cat sat", 6);
    expect(r.error).toBeUndefined();
    expect(r.encoded).toEqual(Array.from(prompt));
    expect(r.ids).toEqual(node);
    expect(r.text).toBe(model.tokenizer.decode(node, { skipSpecial: true }));
    expect(r.download!.at(-1)!.loaded).toBe(statSync("test/fixtures/gguf/llama-Q4_0.gguf").size);
    expect(r.urls!.filter((u) => u === `/built/gguf-${target}/gguf.js`)).toHaveLength(1);
    expect(r.urls!.some((u) => u.endsWith("/tokenizer.js"))).toBe(false);
    await page.close();
  });
});
