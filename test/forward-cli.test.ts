import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSafetensors, writeSafetensors, type DType } from "../src/runtime/safetensors.ts";
import { maxRelError } from "./helpers/rel-error.ts";

// The CLI contract other tools rely on: `specformer forward` and `specformer weights`.
const run = (...args: string[]) => spawnSync("node", ["bin/specformer.js", ...args], { encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "sf-forward-"));

/** Split a fixture into the files a user would have: weights, inputs, expected logits. */
function splitFixture(name: string) {
  const f = parseSafetensors(readFileSync(`test/fixtures/${name}.safetensors`));
  const pick = (keep: (n: string) => boolean, rename = (n: string) => n) =>
    writeSafetensors(
      [...f.tensors.values()].filter((t) => keep(t.name)).map((t) => ({ name: rename(t.name), dtype: t.dtype as DType, shape: t.shape, data: f.raw(t.name) })),
    );
  const w = join(dir, `${name}.w.safetensors`);
  const i = join(dir, `${name}.in.safetensors`);
  writeFileSync(w, pick((n) => !n.startsWith("input.") && !n.startsWith("expected.")));
  writeFileSync(i, pick((n) => n.startsWith("input."), (n) => n.slice("input.".length)));
  return { w, i, expected: f.f32("expected.logits"), file: f };
}

describe("specformer forward", () => {
  it.each([
    ["tiny-gpt2", "gpt2"],
    ["tiny-llama", "llama"],
    ["tiny-torch-transformer", "torch"],
    ["tiny-window", undefined],
  ] as const)("%s: logits match PyTorch through the CLI", (name, map) => {
    const { w, i, expected } = splitFixture(name);
    const out = join(dir, `${name}.out.safetensors`);
    const r = run("forward", `specs/${name}.sf`, "--weights", w, "--input", i, "--out", out, ...(map ? ["--map", map] : []));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(maxRelError(parseSafetensors(readFileSync(out)).f32("logits"), expected)).toBeLessThan(1e-4);
  });

  it.each(["wasm", "webgpu"])("--backend %s gives PyTorch's logits too", (backend) => {
    const { w, i, expected } = splitFixture("tiny-llama");
    const out = join(dir, `llama-${backend}.out.safetensors`);
    const r = run("forward", "specs/tiny-llama.sf", "--weights", w, "--input", i, "--out", out, "--map", "llama", "--backend", backend);
    expect(r.status).toBe(0);
    expect(maxRelError(parseSafetensors(readFileSync(out)).f32("logits"), expected)).toBeLessThan(1e-4);
  });

  it("rejects a truncated weights file with a clear message", () => {
    const { w, i } = splitFixture("tiny-gpt2");
    const cut = join(dir, "cut.safetensors");
    const bytes = readFileSync(w);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const r = run("forward", "specs/tiny-gpt2.sf", "--weights", cut, "--input", i, "--out", join(dir, "x.safetensors"), "--map", "gpt2");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^specformer: /);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it("rejects weights of another model, naming a tensor", () => {
    const { i } = splitFixture("tiny-gpt2");
    const { w } = splitFixture("tiny-window");
    const r = run("forward", "specs/tiny-gpt2.sf", "--weights", w, "--input", i, "--out", join(dir, "x.safetensors"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/tensor "/);
  });

  it("rejects tokens out of range", () => {
    const { w } = splitFixture("tiny-gpt2");
    const bad = join(dir, "bad-in.safetensors");
    writeFileSync(bad, writeSafetensors([{ name: "tokens", dtype: "I32", shape: [1, 3], data: Int32Array.from([1, 2, 100000]) }]));
    const r = run("forward", "specs/tiny-gpt2.sf", "--weights", w, "--input", bad, "--out", join(dir, "x.safetensors"), "--map", "gpt2");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/100000/);
  });

  it("reports missing files and unknown input tensors", () => {
    const { w, i } = splitFixture("tiny-gpt2");
    expect(run("forward", "specs/tiny-gpt2.sf", "--weights", join(dir, "nope"), "--input", i, "--out", join(dir, "x")).status).toBe(2);
    const extra = join(dir, "extra-in.safetensors");
    writeFileSync(extra, writeSafetensors([{ name: "tokens", dtype: "I32", shape: [1, 2], data: Int32Array.from([1, 2]) }, { name: "tokenz", dtype: "I32", shape: [1, 2], data: Int32Array.from([1, 2]) }]));
    const r = run("forward", "specs/tiny-gpt2.sf", "--weights", w, "--input", extra, "--out", join(dir, "x"), "--map", "gpt2");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("tokenz");
  });
});

describe("specformer weights", () => {
  it("lists expected tensors as JSON", () => {
    const r = run("weights", "specs/tiny-llama.sf", "--list", "--format", "json");
    expect(r.status).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{ name: string; shape: number[] }>;
    expect(list.map((t) => t.name)).toContain("decoder.0.attn.k.weight");
  });

  it("writes seeded random weights that the forward command accepts, deterministically", () => {
    const a = join(dir, "r1.safetensors");
    const b = join(dir, "r2.safetensors");
    expect(run("weights", "specs/tiny-sparse.sf", "--init", "random", "--seed", "7", "--out", a).status).toBe(0);
    expect(run("weights", "specs/tiny-sparse.sf", "--init", "random", "--seed", "7", "--out", b).status).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const inp = join(dir, "sparse-in.safetensors");
    writeFileSync(inp, writeSafetensors([{ name: "tokens", dtype: "I64", shape: [1, 16], data: BigInt64Array.from({ length: 16 }, (_, k) => BigInt(k + 1)) }]));
    const out = join(dir, "sparse-out.safetensors");
    const r = run("forward", "specs/tiny-sparse.sf", "--weights", a, "--input", inp, "--out", out);
    expect(r.stderr).toBe("");
    const logits = parseSafetensors(readFileSync(out)).f32("logits");
    expect(logits.every(Number.isFinite)).toBe(true);
  });
});

describe("specformer run", () => {
  it.each(["reference", "wasm"])("generates text from the trained demo model (%s), reporting tokens/s", (target) => {
    const r = run("run", "specs/demo-fortune-window.sf", "--weights", "models/demo-fortune-window.safetensors", "--target", target, "--prompt", "A man ", "--max-tokens", "40", "--seed", "1", "--temperature", "0.8", "--top-k", "40");
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith("A man ")).toBe(true);
    expect(r.stdout.length).toBeGreaterThan("A man ".length);
    expect(r.stderr).toMatch(/\d+ tokens in [\d.]+ s: [\d.]+ tokens\/s/);
  });

  it("is deterministic for a seed, across backends", () => {
    const args = ["run", "specs/demo-fortune.sf", "--weights", "models/demo-fortune.safetensors", "--prompt", "The ", "--max-tokens", "30", "--seed", "7", "--temperature", "0.8"];
    const a = run(...args, "--target", "reference").stdout;
    const b = run(...args, "--target", "wasm").stdout;
    expect(a).toBe(b);
  });

  it("takes token ids, and says clearly when the model's tokenizer is not shipped", () => {
    const { w } = splitFixture("tiny-gpt2");
    const ok = run("run", "specs/tiny-gpt2.sf", "--weights", w, "--map", "gpt2", "--tokens", "1,2,3", "--max-tokens", "5");
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim().split(",")).toHaveLength(5);
    const bpe = run("run", "specs/gpt2-small.sf", "--weights", w, "--prompt", "hello");
    expect(bpe.status).toBe(1);
    expect(bpe.stderr).toMatch(/tokenizer "gpt2"/);
    expect(run("run", "specs/tiny-gpt2.sf", "--weights", w, "--tokens", "1,x").status).toBe(2);
  });
});
