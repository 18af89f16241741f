// Attention score scale (`scale = x`), attention logit soft-capping (`softcap = c`, Gemma-2),
// RoPE frequency scaling (`scaling = llama3(...)` / `linear(...)`) and partial rotary
// (`rope(fraction = …)`, GPT-NeoX's rotary_pct): the checker's rules, inspect and IR, and
// every backend against independent PyTorch models (scripts/make-attention-fixtures.py, written
// from Hugging Face's Gemma2Attention, LlamaRotaryEmbedding with rope_type llama3 and
// GPTNeoXAttention), both as a forward and as begin/step incremental decoding in uneven chunks.
// Tolerance: max |error| ≤ 1e-4 × max |expected|.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { applyRope } from "../backends/reference/kernels/position.ts";
import { createWebGpuModel } from "../backends/wgsl/backend.ts";
import { isCpuAdapter } from "../backends/wgsl/device.ts";
import { createModel } from "../backends/registry.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { printGraph } from "../src/ir/print.ts";
import { summarize } from "../src/inspect/summary.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { ropeInverseFrequencies } from "../src/model/rope.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import type { ForwardOptions, Model } from "../src/runtime/model-api.ts";
import { parseSafetensors, writeSafetensors, type SafetensorsFile } from "../src/runtime/safetensors.ts";
import { TARGETS, type Target } from "../src/runtime/targets.ts";
import { decodeInChunks, relError as relativeError, unevenChunks } from "./helpers/conformance.ts";
import { gpuDevice } from "./helpers/gpu.ts";

const device = await gpuDevice();
afterAll(() => device?.destroy());

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

interface SpecParts {
  dims: string;
  norm: string;
  position: string;
  attn: string;
  mlp: string;
  mask?: boolean;
}

const specText = (name: string, p: SpecParts) => `
model ${name} {
  dims { vocab = 101, d = 32, layers = 2, hidden = 64, context = 16, ${p.dims} }
  input tokens: int[batch, seq] where seq <= context${p.mask ? "\n  input mask: bool[batch, seq]" : ""}
  embed tokens(vocab, d)
  position ${p.position}
  stack layers × decoder {
    norm ${p.norm}
    attention self(${p.attn})
    norm ${p.norm}
    mlp(${p.mlp})
  }
  norm ${p.norm}
  head linear
}`;

/** Each fixture's spec, and the same model without the feature under test (to show it matters). */
const CASES: Record<string, { covers: string; parts: SpecParts; without: Partial<SpecParts> }> = {
  "attn-softcap": {
    covers: "Gemma-2 attention: scale 16^-0.5, logit softcap 2, window 6, GQA 4/2, causal, key padding",
    parts: {
      dims: "heads = 4, kv_heads = 2, head_dim = 8",
      norm: "rms(eps = 1e-6)",
      position: "rope(base = 10000)",
      attn: "heads = heads, kv_heads = kv_heads, head_dim = head_dim, mask = causal, window = 6, padding = mask, scale = 0.25, softcap = 2",
      mlp: "hidden = hidden, act = swiglu, bias = false",
      mask: true,
    },
    without: { attn: "heads = heads, kv_heads = kv_heads, head_dim = head_dim, mask = causal, window = 6, padding = mask, scale = 0.25" },
  },
  "attn-llama3": {
    covers: "Llama-3 RoPE scaling (factor 8, bands 1–4 of an original context of 64), MQA",
    parts: {
      dims: "heads = 2, kv_heads = 1",
      norm: "rms(eps = 1e-5)",
      position: "rope(base = 10000, scaling = llama3(factor = 8, low_freq_factor = 1, high_freq_factor = 4, original_context = 64))",
      attn: "heads = heads, kv_heads = kv_heads, mask = causal",
      mlp: "hidden = hidden, act = swiglu, bias = false",
    },
    without: { position: "rope(base = 10000)" },
  },
  "attn-neox": {
    covers: "GPT-NeoX partial rotary (rotary_pct 0.25 of head dim 16) with linear RoPE scaling ×4, biases, LayerNorm",
    parts: {
      dims: "heads = 2",
      norm: "layer(eps = 1e-5)",
      position: "rope(base = 10000, fraction = 0.25, scaling = linear(factor = 4))",
      attn: "heads = heads, mask = causal, bias = true",
      mlp: "hidden = hidden, act = gelu",
    },
    without: { position: "rope(base = 10000, fraction = 0.25)" },
  },
};

function checked(text: string): ModelInfo {
  const r = checkSource(text, "attn.sf");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.entry || errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("; "));
  return r.entry;
}

/** The codes of the errors a spec gets. */
function errorCodes(text: string): string[] {
  const r = checkSource(text, "bad.sf");
  return r.diagnostics.filter((d) => d.severity === "error").map((d) => d.code);
}

const base = CASES["attn-softcap"].parts;
const withAttn = (attn: string, extra: Partial<SpecParts> = {}) => specText("bad", { ...base, ...extra, attn });
const withPosition = (position: string) => specText("bad", { ...CASES["attn-llama3"].parts, position });

describe("checker", () => {
  it.each([
    ["scale = 0", withAttn("heads = heads, mask = causal, padding = mask, scale = 0"), "SF0217"],
    ["scale = -1", withAttn("heads = heads, mask = causal, padding = mask, scale = -1"), "SF0217"],
    ["softcap = 0", withAttn("heads = heads, mask = causal, padding = mask, softcap = 0"), "SF0217"],
    ["softcap past f32", withAttn("heads = heads, mask = causal, padding = mask, softcap = 1e39"), "SF0217"],
    ["softcap on linear attention", withAttn("heads = heads, mask = causal, kind = linear, softcap = 30"), "SF0213"],
    ["scale on linear attention", withAttn("heads = heads, mask = causal, kind = linear, scale = 0.5"), "SF0213"],
    ["an unknown scaling kind", withPosition("rope(scaling = yarn(factor = 4))"), "SF0113"],
    ["a scaling that is not a call", withPosition("rope(scaling = 4)"), "SF0113"],
    ["low_freq_factor = high_freq_factor", withPosition("rope(scaling = llama3(factor = 8, low_freq_factor = 4, high_freq_factor = 4, original_context = 64))"), "SF0240"],
    ["low_freq_factor > high_freq_factor", withPosition("rope(scaling = llama3(factor = 8, low_freq_factor = 5, high_freq_factor = 4, original_context = 64))"), "SF0240"],
    ["llama3 without original_context", withPosition("rope(scaling = llama3(factor = 8, low_freq_factor = 1, high_freq_factor = 4))"), "SF0110"],
    ["a scaling factor of 0", withPosition("rope(scaling = linear(factor = 0))"), "SF0217"],
    ["an unknown scaling argument", withPosition("rope(scaling = linear(factor = 2, beta = 3))"), "SF0109"],
    ["scaling without RoPE", withPosition("learned(context, scaling = linear(factor = 2))"), "SF0109"],
  ])("%s is an error", (_what, text, code) => {
    expect(errorCodes(text)).toEqual([code]);
  });

  it("accepts the fixtures' specs, a positional factor, and keeps the values", () => {
    const m = checked(specText("ok", { ...CASES["attn-llama3"].parts, position: "rope(base = 500000, scaling = llama3(32, low_freq_factor = 1, high_freq_factor = 4, original_context = 8192))" }));
    const attn = m.sections[0].steps.flatMap((s) => (s.op === "stack" ? s.stack.sublayers : [])).find((s) => s.kind === "attention");
    expect(attn).toMatchObject({ ropeScaling: { kind: "llama3", factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 } });
    const g = checked(specText("g", base));
    const ga = g.sections[0].steps.flatMap((s) => (s.op === "stack" ? s.stack.sublayers : [])).find((s) => s.kind === "attention");
    expect(ga).toMatchObject({ scale: 0.25, softcap: 2 });
  });
});

describe("inspect and IR", () => {
  it("add no parameters and show in the rows and the IR", () => {
    for (const [name, c] of Object.entries(CASES)) {
      const m = checked(specText("m", c.parts));
      const plain = checked(specText("p", { ...c.parts, ...c.without }));
      const a = summarize(m, { batch: 1, seq: 16 });
      expect(a.params, name).toBe(summarize(plain, { batch: 1, seq: 16 }).params);
    }
    const soft = summarize(checked(specText("m", base)), { batch: 1, seq: 16 });
    expect(soft.rows.find((r) => r.name === "decoder.0.attn")!.kind).toBe("causal window 6 self-attention, scale 0.25, softcap 2");
    const llama = summarize(checked(specText("m", CASES["attn-llama3"].parts)), { batch: 1, seq: 16 });
    expect(llama.rows.find((r) => r.name === "position")!.kind).toBe("rope positions, llama3(8, 1–4, 64) scaling");
    const neox = summarize(checked(specText("m", CASES["attn-neox"].parts)), { batch: 1, seq: 16 });
    expect(neox.rows.find((r) => r.name === "position")!.kind).toBe("rope positions, 0.25 of each head, linear(4) scaling");

    expect(printGraph(inferenceGraph(checked(specText("m", base))))).toMatch(/attention .*rope\(dim=8, base=10000\) scale=0\.25 softcap=2/);
    expect(printGraph(inferenceGraph(checked(specText("m", CASES["attn-neox"].parts))))).toMatch(/rope\(dim=4, base=10000, scaling=linear\(4\)\)/);
  });

  it("costs the soft-cap's flops", () => {
    const soft = summarize(checked(specText("m", base)), { batch: 1, seq: 16 });
    const plain = summarize(checked(specText("p", { ...base, ...CASES["attn-softcap"].without })), { batch: 1, seq: 16 });
    expect(soft.flops).toBeGreaterThan(plain.flops);
  });
});

describe("RoPE frequencies and partial rotary", () => {
  it("llama3 keeps high frequencies, divides low ones, blends the band between", () => {
    const plain = ropeInverseFrequencies(16, 10000);
    const scaled = ropeInverseFrequencies(16, 10000, { kind: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 64 });
    const wavelen = (f: number) => (2 * Math.PI) / f;
    let kept = 0;
    let divided = 0;
    let blended = 0;
    plain.forEach((f, c) => {
      if (wavelen(f) < 64 / 4) {
        expect(scaled[c]).toBe(f);
        kept++;
      } else if (wavelen(f) > 64 / 1) {
        expect(scaled[c]).toBeCloseTo(f / 8, 15);
        divided++;
      } else {
        expect(scaled[c]).toBeGreaterThan(f / 8);
        expect(scaled[c]).toBeLessThan(f);
        blended++;
      }
    });
    expect([kept, blended, divided]).toEqual([1, 2, 5]);
    expect(Array.from(ropeInverseFrequencies(8, 100, { kind: "linear", factor: 4 }))).toEqual(Array.from(ropeInverseFrequencies(8, 100), (f) => f / 4));
  });

  it("fraction rotates the first channels of each head by rotate_half and passes the rest through", () => {
    const headDim = 16;
    const rot = 4;
    const x = Float32Array.from({ length: 2 * headDim }, (_, i) => Math.sin(i + 1));
    const y = applyRope(x.slice(), 1, 1, 2, headDim, [3], rot, 10000);
    for (let h = 0; h < 2; h++) {
      const o = h * headDim;
      for (let c = rot; c < headDim; c++) expect(y[o + c]).toBe(x[o + c]);
      // GPT-NeoX: channel c pairs with c + rot/2 at inv_freq base^(-2c/rot).
      for (let c = 0; c < rot / 2; c++) {
        const th = 3 * Math.pow(10000, (-2 * c) / rot);
        expect(y[o + c]).toBeCloseTo(x[o + c] * Math.cos(th) - x[o + c + rot / 2] * Math.sin(th), 6);
        expect(y[o + c + rot / 2]).toBeCloseTo(x[o + c + rot / 2] * Math.cos(th) + x[o + c] * Math.sin(th), 6);
      }
    }
  });
});

function loadFixture(name: string): SafetensorsFile {
  return parseSafetensors(readFileSync(root(`test/fixtures/${name}.safetensors`)));
}

function weightsOf(m: ModelInfo, file: SafetensorsFile): Map<string, Float32Array> {
  const keep = [...file.tensors.values()].filter((t) => !t.name.startsWith("input.") && !t.name.startsWith("expected."));
  return bindWeights(m, parseSafetensors(writeSafetensors(keep.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: file.raw(t.name) })))));
}

const cpuAdapter = device ? isCpuAdapter(device.adapterInfo) : false;
const otherAttention = cpuAdapter ? "tiles" : "walk";

async function create(target: Target | "webgpu-other", m: ModelInfo, w: Map<string, Float32Array>): Promise<Model> {
  if (target === "webgpu-other") return createWebGpuModel(m, inferenceGraph(m), w, { device: device!, attention: otherAttention });
  return createModel(target, m, w, target === "webgpu" ? { device: device! } : {});
}

describe.each(Object.entries(CASES))("%s matches PyTorch", (name, c) => {
  const m = checked(specText(name.replace("-", "_"), c.parts));
  const file = loadFixture(name);
  const weights = weightsOf(m, file);
  const [batch, seq] = file.get("input.tokens").shape;
  const tokens = file.i32("input.tokens");
  const opts: ForwardOptions = { batch, seq, ...(file.tensors.has("input.mask") ? { mask: file.bool("input.mask") } : {}) };
  const want = file.f32("expected.logits");
  /** max |got − want| / max |want| (the fixtures' logits reach about 3.5). */
  const relError = (got: Float32Array) => relativeError(got, want, m.head.vocab, seq).err;

  it(`without the feature, the model differs (${c.covers})`, async () => {
    const plain = checked(specText("plain", { ...c.parts, ...c.without }));
    const model = await createModel("reference", plain, weightsOf(plain, file));
    try {
      expect(relError(await model.forward(tokens, opts))).toBeGreaterThan(1e-2);
    } finally {
      model.dispose();
    }
  });

  const targets: Array<Target | "webgpu-other"> = [...TARGETS, "webgpu-other"];
  it.each(targets)("%s: forward and begin/step", async (target) => {
    if (target.startsWith("webgpu") && !device) return;
    const model = await create(target, m, weights);
    try {
      const fwd = relError(await model.forward(tokens, opts));
      const stepped = relError(await decodeInChunks(model, { tokens, opts, padded: opts.mask !== undefined }, unevenChunks(seq)));
      console.log(`${name} on ${target}: max relative error ${fwd.toExponential(1)} forward, ${stepped.toExponential(1)} begin/step`);
      expect(fwd, `${target} forward`).toBeLessThanOrEqual(1e-4);
      expect(stepped, `${target} begin/step`).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  });
});
