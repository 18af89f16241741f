// Llama 3.1 / 3.2 GGUF files: the RoPE scaling is the rope_freqs tensor, one frequency divisor per
// channel pair (convert_hf_to_gguf.py), and the config's rope_scaling numbers are gone.
// src/runtime/gguf/rope-freqs.ts recovers a llama3 scaling that gives the same frequencies. The
// fixture (scripts/make-gguf-fixtures.py) is test/fixtures/hf/llama3 converted as llama.cpp does,
// its divisors computed in Python from the converter's rule; its expected logits are PyTorch's
// (test/fixtures/hf/parity/llama3.safetensors, the Hugging Face checkpoint's).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkSource } from "../src/check/check.ts";
import { loadWeightStore } from "../src/cli/load-weights.ts";
import { importCheckpoint } from "../src/import/checkpoint.ts";
import { importGguf } from "../src/import/gguf.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { fitLlama3Scaling, ropeFactorsMismatch } from "../src/runtime/gguf/rope-freqs.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { relError } from "./helpers/conformance.ts";
import { cli } from "./helpers/hf.ts";

const FILE = "test/fixtures/gguf/llama3-F32.gguf";
const parity = parseSafetensors(readFileSync("test/fixtures/hf/parity/llama3.safetensors"));
const tokens = Int32Array.from(parity.i32("input.tokens"));
const [B, S] = parity.get("input.tokens").shape;

/** Llama 3.1's published rope_scaling and head (config.json of Meta-Llama-3.1-8B): the divisors as the converter computes them. */
function converterFactors(dim: number, base: number, factor: number, low: number, high: number, original: number): Float32Array {
  const out: number[] = [];
  for (let c = 0; c < dim / 2; c++) {
    const wavelen = (2 * Math.PI) / base ** ((-2 * c) / dim);
    if (wavelen < original / high) out.push(1);
    else if (wavelen > original / low) out.push(factor);
    else {
      const smooth = (original / wavelen - low) / (high - low);
      out.push(1 / ((1 - smooth) / factor + smooth));
    }
  }
  return Float32Array.from(out);
}

describe("fitting rope_freqs to a llama3 scaling", () => {
  it("gives back Llama 3.1's and Llama 3.2's published numbers from their divisors", () => {
    expect(fitLlama3Scaling(converterFactors(128, 500000, 8, 1, 4, 8192), 128, 500000)).toEqual({ kind: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 });
    expect(fitLlama3Scaling(converterFactors(64, 500000, 32, 1, 4, 8192), 64, 500000)).toEqual({ kind: "llama3", factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 });
  });

  it("where few pairs blend, finds a scaling with the same frequencies; all ones is no scaling", () => {
    for (const [dim, base, factor, low, high, original] of [[16, 500000, 8, 1, 4, 64], [16, 10000, 4, 1, 4, 64], [32, 500000, 8, 2, 8, 4096]]) {
      const f = converterFactors(dim, base, factor, low, high, original);
      const fit = fitLlama3Scaling(f, dim, base);
      expect(typeof fit).toBe("object");
      expect(ropeFactorsMismatch(f, dim, base, fit as Exclude<typeof fit, string>)).toBeUndefined();
    }
    expect(fitLlama3Scaling(new Float32Array(8).fill(1), 16, 10000)).toBeUndefined();
  });

  it("refuses divisors no llama3 rule gives, saying why", () => {
    expect(fitLlama3Scaling(Float32Array.from([8, 1, 8, 1, 8, 1, 8, 1]), 16, 10000)).toMatch(/no llama3 scaling reproduces them|do not (fall|split)/);
    expect(fitLlama3Scaling(Float32Array.from([1, 1, 1, 0, 1, 1, 1, 1]), 16, 10000)).toMatch(/not a positive number/);
    expect(fitLlama3Scaling(new Float32Array(0), 16, 10000)).toMatch(/it has 0 factors but the model rotates 8 channel pairs/);
    expect(fitLlama3Scaling(Float32Array.from([1, 1, 1, 1, 1, 1, 1, 0.5]), 16, 10000)).toMatch(/do not fall from the low frequencies to the high ones/);
  });
});

describe("a Llama 3.1 GGUF file (rope_freqs)", () => {
  it("imports with llama3 RoPE scaling; its logits equal PyTorch's on reference and wasm", async () => {
    const imp = await importGguf(FILE);
    expect(imp.text).toMatch(/scaling = llama3\(factor = 8,/);
    const m = checkSource(imp.text, "llama3.sf").entry as ModelInfo;
    const store = await loadWeightStore(m, FILE, {});
    expect([...store.keys()].some((n) => n.includes("rope"))).toBe(false);
    for (const target of ["reference", "wasm"] as const) {
      const model = await createModel(target, m, store);
      const got = await model.forward(tokens, { batch: B, seq: S });
      model.dispose();
      expect(relError(got, parity.f32("expected.logits"), m.head.vocab, S).err, target).toBeLessThan(1e-5);
    }
  });

  it("loads under the Hugging Face directory's spec (the config's own numbers); a spec without the scaling is refused by tensor", async () => {
    const dirSpec = (await importCheckpoint("test/fixtures/hf/llama3")).text;
    const m = checkSource(dirSpec, "dir.sf").entry as ModelInfo;
    await expect(loadWeightStore(m, FILE, {})).resolves.toBeDefined();
    const unscaled = dirSpec.replace(/, scaling = llama3\([^)]*\)/, "");
    expect(unscaled).not.toBe(dirSpec);
    const plain = checkSource(unscaled, "plain.sf").entry as ModelInfo;
    await expect(loadWeightStore(plain, FILE, {})).rejects.toThrow(/tensor "rope_freqs\.weight": does not match model \w+'s RoPE \(base 500000, scaling none\): channel pair 1/);
  });

  it("`run M.gguf --tokens` gives PyTorch's greedy continuation", async () => {
    const prompt = Array.from(parity.i32("greedy.prompt"));
    const want = Array.from(parity.i32("greedy.tokens"));
    const r = await cli("run", FILE, "--tokens", prompt.join(","), "--max-tokens", String(want.length), "--target", "wasm");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")[0]).toBe(want.join(","));
  });
});
