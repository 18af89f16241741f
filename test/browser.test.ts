import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { checkFile } from "../src/check/check.ts";
import { buildArtifacts } from "../src/emit/build.ts";
import type { Target } from "../src/emit/manifest.ts";
import { writePackage } from "../src/emit/package.ts";
import { installPeers } from "./helpers/packages.ts";
import { parseSafetensors, writeSafetensors, type DType } from "../src/runtime/safetensors.ts";
import { CHROMIUM, launchChromium, serve } from "./helpers/browser.ts";

// A real browser runs a generated module: Debian's headless Chromium driven by
// playwright-core, the page served from 127.0.0.1. Without CI and without Chromium the
// test is skipped loudly; with CI set, a missing browser fails it.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`CI is set but ${CHROMIUM} is missing: install Debian's chromium (.ci/apt-packages)`);
if (!haveChromium) console.warn(`SKIPPING browser tests: ${CHROMIUM} not installed`);

const work = mkdtempSync(join(tmpdir(), "sf-browser-"));
const TARGETS: Target[] = ["reference", "wasm", "webgpu"];

describe.runIf(haveChromium)("generated modules in headless Chromium", () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serve>>;
  const weights = join(work, "weights.safetensors");
  const demo = "specs/demo-fortune.sf";

  beforeAll(async () => {
    const f = parseSafetensors(readFileSync("test/fixtures/tiny-gpt2.safetensors"));
    writeFileSync(weights, weightsOnly(f));
    const m = checkFile("specs/tiny-gpt2.sf").entry!;
    const d = checkFile(demo).entry!;
    for (const t of TARGETS) {
      writePackage(join(work, t), m, t, "specs/tiny-gpt2.sf", await buildArtifacts(m, t), "specformer test");
      writePackage(join(work, `demo-${t}`), d, t, demo, await buildArtifacts(d, t), "specformer test");
      installPeers(join(work, t));
      installPeers(join(work, `demo-${t}`));
    }
    server = await serve({ "/examples/": resolve("examples"), "/built/": work, "/models/": resolve("models") });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(TARGETS)("%s target generates the same tokens as in Node, and shows them", async (target) => {
    const mod = await import(pathToFileURL(join(work, target, "index.js")).href);
    const model = await mod.load(weights, { map: "gpt2" });
    const node: number[] = [];
    for await (const id of model.generate(Int32Array.from([5, 7, 11]), { maxTokens: 12 })) node.push(id);
    model.dispose();

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.url}/examples/browser/index.html?module=/built/${target}/index.js&weights=/built/weights.safetensors&map=gpt2&tokens=5,7,11&max=12`);
    await page.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, undefined, { timeout: 60_000 });
    const result = await page.evaluate(() => (window as unknown as { __result: { ids?: number[]; error?: string } }).__result);
    expect(result.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(result.ids).toEqual(node);
    const shown = await page.locator("#generated").innerText();
    expect(shown).toBe(node.join(", "));
    const png = await page.screenshot({ path: join(work, `page-${target}.png`), fullPage: true });
    expect(png.length).toBeGreaterThan(1000);
    expect(await page.locator("#status").innerText()).toMatch(/^done: 12 tokens/);
    await page.close();
  });

  it.each(TARGETS)("%s target: the trained demo model writes text in the page, as in Node", async (target) => {
    const mod = await import(pathToFileURL(join(work, `demo-${target}`, "index.js")).href);
    const model = await mod.load("models/demo-fortune.safetensors");
    const ids: number[] = [];
    for await (const id of model.generate(mod.encode("The "), { maxTokens: 24, stop: mod.stop })) ids.push(id);
    model.dispose();
    const text = mod.decode(ids);
    expect(text.length).toBeGreaterThan(0);

    const page = await browser.newPage();
    await page.goto(`${server.url}/examples/browser/index.html?module=/built/demo-${target}/index.js&weights=/models/demo-fortune.safetensors&prompt=The%20&max=24`);
    await page.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, undefined, { timeout: 60_000 });
    const result = await page.evaluate(() => (window as unknown as { __result: { ids?: number[]; error?: string } }).__result);
    expect(result.error).toBeUndefined();
    expect(result.ids).toEqual(ids);
    expect((await page.locator("#generated").innerText()).trimEnd()).toBe(text.trimEnd());
    expect((await page.locator("#prompt").innerText()).trimEnd()).toBe("The");
    await page.screenshot({ path: join(work, `demo-${target}.png`), fullPage: true });
    await page.close();
  });
});

/** The fixture's weights (GPT-2 names, loaded with map=gpt2) without its inputs and expected logits. */
function weightsOnly(f: ReturnType<typeof parseSafetensors>): Uint8Array {
  return writeSafetensors(
    [...f.tensors.values()].filter((t) => !t.name.startsWith("input.") && !t.name.startsWith("expected.")).map((t) => ({ name: t.name, dtype: t.dtype as DType, shape: t.shape, data: f.raw(t.name) })),
  );
}
