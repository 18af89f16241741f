// Issue 14: the wasm compile cache verifies what it reads (a truncated, altered, foreign or
// empty entry is rebuilt, never trusted), writes atomically, and `forward --target wasm` uses it
// like `run` does.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CompiledWasm } from "../backends/wasm/compile.ts";
import { checkFile } from "../src/check/check.ts";
import { cachedWasm, cacheEntryPath, cacheKey, decodeEntry, encodeEntry } from "../src/cli/compile-cache.ts";
import { parseSafetensors, writeSafetensors, type DType } from "../src/runtime/safetensors.ts";
import { maxRelError } from "./helpers/rel-error.ts";

const dir = mkdtempSync(join(tmpdir(), "sf-cache-"));

// ---- the entry format, in process ---------------------------------------------------------

/** The smallest valid module, and a different valid one (a foreign build). */
const EMPTY_MODULE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
const OTHER_MODULE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0]);

function fakeBuild(binary = EMPTY_MODULE, rows = 64): CompiledWasm {
  const plan = { model: "m", rows, context: 32, layout: { inputs: { tokens: 128 } } } as unknown as CompiledWasm["plan"];
  return {
    binary,
    text: "",
    plan,
    variants: [
      { relaxed: false, threads: false, binary, text: "" },
      { relaxed: true, threads: false, binary: OTHER_MODULE, text: "" },
    ],
  };
}

describe("cache entries", () => {
  const key = "k".repeat(32);
  const entry = encodeEntry(key, fakeBuild());

  it("round-trip", () => {
    const back = decodeEntry(key, entry)!;
    expect(back.plan).toEqual(fakeBuild().plan);
    expect(back.variants.map((v) => [v.relaxed, v.threads, [...v.binary]])).toEqual([
      [false, false, [...EMPTY_MODULE]],
      [true, false, [...OTHER_MODULE]],
    ]);
  });

  it("a truncated entry is refused", () => {
    for (const cut of [1, 5, entry.length - 1, entry.length - 20]) expect(decodeEntry(key, entry.subarray(0, cut))).toBeUndefined();
  });

  it("an altered plan is refused (it would compute wrong tokens)", () => {
    const text = Buffer.from(entry).toString("latin1");
    const at = text.indexOf('"rows":64');
    expect(at).toBeGreaterThan(0);
    const altered = Buffer.from(text.slice(0, at) + '"rows":32' + text.slice(at + 9), "latin1");
    expect(altered.length).toBe(entry.length);
    expect(decodeEntry(key, altered)).toBeUndefined();
  });

  it("an altered binary is refused", () => {
    const altered = Buffer.from(entry);
    altered[altered.length - 1] ^= 1;
    expect(decodeEntry(key, altered)).toBeUndefined();
  });

  it("another key's entry (a foreign, valid build) is refused", () => {
    expect(decodeEntry("x".repeat(32), entry)).toBeUndefined();
  });

  it("`{}`, empty files and the old directory layout's files are refused", () => {
    expect(decodeEntry(key, Buffer.from("{}"))).toBeUndefined();
    expect(decodeEntry(key, new Uint8Array(0))).toBeUndefined();
    expect(decodeEntry(key, EMPTY_MODULE)).toBeUndefined();
  });
});

describe("cachedWasm", () => {
  const m = checkFile("specs/tiny-gpt2.sf").entry!;
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.SPECFORMER_CACHE;
    process.env.SPECFORMER_CACHE = mkdtempSync(join(dir, "unit-"));
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.SPECFORMER_CACHE;
    else process.env.SPECFORMER_CACHE = saved;
  });

  it("keys by model and flavour", () => {
    const other = checkFile("specs/tiny-llama.sf").entry!;
    expect(cacheKey(m, false)).toBe(cacheKey(m, false));
    expect(cacheKey(m, false)).not.toBe(cacheKey(m, true));
    expect(cacheKey(m, false)).not.toBe(cacheKey(other, false));
  });

  it("builds once, then reads; rebuilds and replaces a damaged entry", async () => {
    let builds = 0;
    const build = async () => (builds++, fakeBuild());
    expect((await cachedWasm(m, build)).hit).toBe(false);
    expect((await cachedWasm(m, build)).hit).toBe(true);
    expect(builds).toBe(1);
    const path = cacheEntryPath(m, false);
    for (const damage of [(b: Buffer) => b.subarray(0, b.length - 3), () => Buffer.from("{}"), () => Buffer.from(encodeEntry(cacheKey(m, true), fakeBuild(OTHER_MODULE)))]) {
      writeFileSync(path, damage(readFileSync(path)));
      const r = await cachedWasm(m, build);
      expect(r.hit).toBe(false);
      expect([...r.compiled.binary]).toEqual([...EMPTY_MODULE]);
      expect((await cachedWasm(m, build)).hit).toBe(true);
    }
    expect(builds).toBe(4);
  });

  it("writes through a temporary file and leaves none behind", async () => {
    await Promise.all([cachedWasm(m, async () => fakeBuild()), cachedWasm(m, async () => fakeBuild())]);
    expect(readdirSync(join(process.env.SPECFORMER_CACHE!, "wasm"))).toEqual([`${cacheKey(m, false)}.bin`]);
  });
});

// ---- through the CLI ---------------------------------------------------------------------

const cache = join(dir, "cli-cache");
mkdirSync(cache);
const env = { ...process.env, SPECFORMER_CACHE: cache };
const cli = (...args: string[]) => spawnSync("node", ["bin/specformer.js", ...args], { encoding: "utf8", env });
const cliAsync = (...args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const c = spawn("node", ["bin/specformer.js", ...args], { env });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d) => (stdout += d));
    c.stderr.on("data", (d) => (stderr += d));
    c.on("close", (status) => resolve({ status, stdout, stderr }));
  });

/** The tiny-llama fixture split into weights (llama names) and inputs. */
function fixture() {
  const f = parseSafetensors(readFileSync("test/fixtures/tiny-llama.safetensors"));
  const pick = (keep: (n: string) => boolean, rename = (n: string) => n) =>
    writeSafetensors([...f.tensors.values()].filter((t) => keep(t.name)).map((t) => ({ name: rename(t.name), dtype: t.dtype as DType, shape: t.shape, data: f.raw(t.name) })));
  const w = join(dir, "llama.w.safetensors");
  const i = join(dir, "llama.in.safetensors");
  writeFileSync(w, pick((n) => !n.startsWith("input.") && !n.startsWith("expected.")));
  writeFileSync(i, pick((n) => n.startsWith("input."), (n) => n.slice("input.".length)));
  return { w, i, expected: f.f32("expected.logits") };
}

const entries = () => {
  try {
    return readdirSync(join(cache, "wasm")).filter((f) => f.endsWith(".bin"));
  } catch {
    return [];
  }
};

describe("forward --target wasm uses the compile cache", () => {
  const { w, i, expected } = fixture();
  const forward = (out: string, ...extra: string[]) => cli("forward", "specs/tiny-llama.sf", "--weights", w, "--input", i, "--out", out, "--map", "llama", ...extra);

  it("two concurrent cold runs both succeed and leave one whole entry", async () => {
    const args = (n: number) => ["forward", "specs/tiny-llama.sf", "--weights", w, "--input", i, "--out", join(dir, `cold${n}.safetensors`), "--map", "llama", "--target", "wasm"];
    const [a, b] = await Promise.all([cliAsync(...args(1)), cliAsync(...args(2))]);
    expect([a.status, a.stderr, b.status, b.stderr]).toEqual([0, "", 0, ""]);
    for (const n of [1, 2]) expect(maxRelError(parseSafetensors(readFileSync(join(dir, `cold${n}.safetensors`))).f32("logits"), expected)).toBeLessThan(1e-4);
    expect(entries()).toHaveLength(1);
    expect(readdirSync(join(cache, "wasm")).some((f) => f.includes(".tmp-"))).toBe(false);
  });

  it("a warm run reads the entry instead of compiling (the file is not rewritten)", () => {
    const [entry] = entries();
    const before = statSync(join(cache, "wasm", entry)).ino;
    const out = join(dir, "warm.safetensors");
    const r = forward(out, "--target", "wasm", "--verbose");
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("compiled: cached");
    expect(statSync(join(cache, "wasm", entry)).ino).toBe(before);
    expect(maxRelError(parseSafetensors(readFileSync(out)).f32("logits"), expected)).toBeLessThan(1e-4);
  });

  it("an altered entry is rebuilt, and the logits stay right", () => {
    const [entry] = entries();
    const path = join(cache, "wasm", entry);
    const text = readFileSync(path).toString("latin1");
    // Shrink the plan's rows: a valid-looking plan that would compute garbage if trusted.
    const altered = text.replace(/"rows":(\d*)(\d)/, (_, head: string, last: string) => `"rows":${head}${(Number(last) + 1) % 10}`);
    expect(altered).not.toBe(text);
    writeFileSync(path, Buffer.from(altered, "latin1"));
    const out = join(dir, "altered.safetensors");
    const r = forward(out, "--target", "wasm", "--verbose");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/\(compiled\)/);
    expect(maxRelError(parseSafetensors(readFileSync(out)).f32("logits"), expected)).toBeLessThan(1e-4);
    expect(forward(join(dir, "again.safetensors"), "--target", "wasm", "--verbose").stderr).toContain("compiled: cached");
  });

  it("--backend is another name for --target; the two must agree", () => {
    expect(forward(join(dir, "alias.safetensors"), "--backend", "wasm").status).toBe(0);
    const r = forward(join(dir, "x.safetensors"), "--backend", "wasm", "--target", "reference");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^specformer: --target reference and --backend wasm disagree/);
  });
});

describe("run --target wasm with a damaged cache", () => {
  // The same model as above: run and forward share its entry.
  const { w } = fixture();
  const gen = (target: string) => cli("run", "specs/tiny-llama.sf", "--weights", w, "--map", "llama", "--tokens", "1,2,3", "--max-tokens", "8", "--target", target);

  it("a truncated entry (exit 70 on every run before) is rebuilt, giving the reference's tokens", () => {
    const reference = gen("reference");
    expect(reference.status).toBe(0);
    if (entries().length === 0) expect(gen("wasm").status).toBe(0); // run on its own (-t)
    const [entry] = entries();
    const p = join(cache, "wasm", entry);
    const b = readFileSync(p);
    writeFileSync(p, b.subarray(0, b.length - 1000));
    const r = gen("wasm");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/compiled; wasm\)/);
    expect(r.stdout).toBe(reference.stdout);
    const warm = gen("wasm");
    expect(warm.stderr).toMatch(/compiled: cached; wasm\)/);
    expect(warm.stdout).toBe(reference.stdout);
  });
});
