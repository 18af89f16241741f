// Issue 14: `run` parses token ids strictly, refuses models it cannot drive with a one-line
// error, drives encoder–decoders (--src-tokens / --src-prompt), and says why it stopped.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSafetensors, writeSafetensors, type DType } from "../src/runtime/safetensors.ts";

const dir = mkdtempSync(join(tmpdir(), "sf-hrun-"));
const run = (...args: string[]) => spawnSync("node", ["bin/specformer.js", "run", ...args], { encoding: "utf8", env: { ...process.env, SPECFORMER_CACHE: join(dir, "cache") } });
const DEMO = ["specs/demo-fortune.sf", "--weights", "models/demo-fortune.safetensors"];

/** A fixture's weights without its inputs and expected outputs. */
function fixtureWeights(name: string): string {
  const f = parseSafetensors(readFileSync(`test/fixtures/${name}.safetensors`));
  const path = join(dir, `${name}.w.safetensors`);
  const keep = [...f.tensors.values()].filter((t) => !t.name.startsWith("input.") && !t.name.startsWith("expected."));
  writeFileSync(path, writeSafetensors(keep.map((t) => ({ name: t.name, dtype: t.dtype as DType, shape: t.shape, data: f.raw(t.name) }))));
  return path;
}

const oneLine = (stderr: string) => {
  expect(stderr).toMatch(/^specformer: [^\n]+\n$/);
  expect(stderr).not.toMatch(/internal error/);
};

describe("token ids", () => {
  it.each([
    ["99999999999999999999", /`99999999999999999999` is not a token id \(the vocabulary is \[0, 257\)\)/],
    ["4294967297", /`4294967297` is not a token id/],
    ["257", /`257` is not a token id/],
    ["1.5", /--tokens takes comma-separated token ids/],
    ["-1", /--tokens takes comma-separated token ids/],
    ["1,,2", /--tokens takes comma-separated token ids/],
    ["", /--tokens takes comma-separated token ids/],
  ])("--tokens %j is a usage error, not a wrapped id", (ids, message) => {
    const r = run(...DEMO, "--tokens", ids, "--max-tokens", "1");
    expect(r.status).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(message);
  });
});

describe("models run cannot drive", () => {
  it("an encoder-only spec: exit 1, one line, pointing at forward", () => {
    const r = run("specs/tiny-torch-encoder.sf", "--weights", fixtureWeights("tiny-torch-encoder"), "--map", "torch", "--tokens", "1,2");
    expect(r.status).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/bidirectional/);
    expect(r.stderr).toMatch(/specformer forward/);
  });
});

describe("encoder–decoder models", () => {
  const spec = "specs/tiny-torch-transformer.sf";
  const w = fixtureWeights("tiny-torch-transformer");
  const tt = (...args: string[]) => run(spec, "--weights", w, "--map", "torch", ...args);

  it("generate from --src-tokens", () => {
    const r = tt("--tokens", "1", "--src-tokens", "3,4,5,6", "--max-tokens", "5");
    expect(r.stderr).toMatch(/^stopped: --max-tokens 5 reached\n5 tokens in /);
    expect(r.status).toBe(0);
    const ids = r.stdout.trim().split(",").map(Number);
    expect(ids).toHaveLength(5);
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 71)).toBe(true);
  });

  it("the source matters (the encoder's output reaches the decoder)", () => {
    const outs = new Set(["3,4,5,6", "50,40,30,20,10,9,8", "7"].map((src) => tt("--tokens", "1", "--src-tokens", src, "--max-tokens", "6").stdout));
    expect(outs.size).toBeGreaterThan(1);
  });

  it("without a source: exit 2 saying which flags give it", () => {
    const r = tt("--tokens", "1");
    expect(r.status).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/--src-tokens/);
  });

  it("source ids are checked against the encoder's vocabulary", () => {
    const r = tt("--tokens", "1", "--src-tokens", "61");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--src-tokens: `61` is not a token id \(the vocabulary is \[0, 61\)\)/);
  });

  it("--src-prompt needs the model's tokenizer; --src-* on a decoder-only model is a usage error", () => {
    const r = tt("--tokens", "1", "--src-prompt", "hello");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/declares no tokenizer/);
    const d = run(...DEMO, "--prompt", "a", "--src-tokens", "1");
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/has no encoder/);
  });

  it("stops at the context and says so", () => {
    const r = tt("--tokens", "1", "--src-tokens", "3,4", "--max-tokens", "500");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split(",")).toHaveLength(32);
    expect(r.stderr).toMatch(/^stopped: context 32 reached\n32 tokens in /);
  });
});

describe("why generation stopped", () => {
  // A byte-level model whose head bias makes one token always the most likely.
  const spec = join(dir, "biased.sf");
  writeFileSync(
    spec,
    `model biased {
  dims { vocab = 257, d = 8, heads = 2, layers = 1, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position learned(context)
  stack layers × decoder {
    norm layer
    attention self(heads = heads, mask = causal)
    norm layer
    mlp(hidden = 16, act = gelu)
  }
  norm layer
  head linear(bias = true)
  tokenizer byte
}
`,
  );
  const base = join(dir, "biased.safetensors");
  const init = spawnSync("node", ["bin/specformer.js", "weights", spec, "--init", "random", "--seed", "1", "--out", base], { encoding: "utf8" });
  /** Weights whose head always picks `token`. */
  function favouring(token: number): string {
    const f = parseSafetensors(readFileSync(base));
    const path = join(dir, `biased-${token}.safetensors`);
    const tensors = [...f.tensors.values()].map((t) => {
      const data = f.f32(t.name);
      if (t.name === "head.bias") data[token] = 50;
      return { name: t.name, dtype: "F32" as DType, shape: t.shape, data };
    });
    writeFileSync(path, writeSafetensors(tensors));
    return path;
  }

  it("the spec and its weights are sound", () => {
    expect(init.stderr).toMatch(/^wrote /);
    expect(init.status).toBe(0);
  });

  it("at the end-of-text token", () => {
    const r = run(spec, "--weights", favouring(256), "--prompt", "ab");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("ab\n");
    expect(r.stderr).toMatch(/^stopped: end of text\n0 tokens in /);
  });

  it("at --max-tokens, with the singular for one token", () => {
    const r = run(spec, "--weights", favouring(97), "--prompt", "ab", "--max-tokens", "1");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("aba\n");
    expect(r.stderr).toMatch(/^stopped: --max-tokens 1 reached\n1 token in /);
  });

  it("at the context (prompt of 3 with end-of-text first, context 16: 14 tokens)", () => {
    const r = run(spec, "--weights", favouring(97), "--prompt", "ab", "--max-tokens", "100");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`ab${"a".repeat(14)}\n`);
    expect(r.stderr).toMatch(/^stopped: context 16 reached\n14 tokens in /);
  });

  it("text ending in a newline gets no second one before the statistics", () => {
    const r = run(spec, "--weights", favouring(10), "--prompt", "ab", "--max-tokens", "2");
    expect(r.stdout).toBe("ab\n\n");
  });
});
