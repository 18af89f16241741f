// Layer structure: layer-pattern stacks (`stack N × (local, global) { layer local {…} … }`, runs
// `name × n`), the parallel residual (GPT-NeoX), sandwich norms (Gemma-2), the norm weight
// offset (x̂ · (1 + w)), GeGLU with gelu's tanh approximation and per-head q/k norm (Qwen3):
// the checker's rules, exact parameter counts and inspect rows, the IR, the norm's VJP by
// finite differences, and every backend against independent PyTorch models
// (scripts/make-structure-fixtures.py, written from Hugging Face's Gemma2DecoderLayer,
// GPTNeoXLayer and Qwen3Attention), as a forward and as begin/step decoding in uneven chunks.
// Tolerance: max |error| ≤ 1e-4 × max(1, max |expected|).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { printGraph } from "../src/ir/print.ts";
import { planStates } from "../src/ir/state-plan.ts";
import { EXPAND_LAYERS, summarize } from "../src/inspect/summary.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { paramCount, weightLayout } from "../src/model/weights-layout.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import type { Model } from "../src/runtime/model-api.ts";
import { parseSafetensors, writeSafetensors, type SafetensorsFile } from "../src/runtime/safetensors.ts";
import { TARGETS } from "../src/runtime/targets.ts";
import { differentiate } from "../src/train/autodiff.ts";
import { bindBatch } from "../src/train/data.ts";
import { TrainingEngine } from "../src/train/engine.ts";
import { trainingGraph } from "../src/train/graph.ts";
import { normals, streamRng } from "../src/train/rng.ts";
import { decodeInChunks, unevenChunks } from "./helpers/conformance.ts";
import { directionalErrors } from "./helpers/gradcheck.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { maxRelError } from "./helpers/rel-error.ts";

const device = await gpuDevice();
afterAll(() => device?.destroy());

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

const RMS = "norm rms(eps = 1e-6)";
const GEMMA_NORM = "norm rms(eps = 1e-6, offset = 1)";
const SWIGLU = "mlp(hidden = hidden, act = swiglu, bias = false)";
/** A LLaMA layer body with these extra attention arguments. */
const llama = (attn = "", mlp = SWIGLU) => `${RMS}
      attention self(heads = 4, kv_heads = 2, mask = causal${attn})
      ${RMS}
      ${mlp}`;
const gemma = (attn = "") => `${GEMMA_NORM}
      attention self(heads = 4, kv_heads = 2, mask = causal${attn})
      ${GEMMA_NORM}
      ${GEMMA_NORM}
      mlp(hidden = hidden, act = geglu_tanh, bias = false)
      ${GEMMA_NORM}`;

/** A decoder of `layers` layers: everything but the stack (and its norms) fixed. */
const spec = (name: string, layers: number, stack: string, o: { embed?: string; final?: string; head?: string } = {}) => `
model ${name} {
  dims { vocab = 101, d = 32, layers = ${layers}, hidden = 64, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d${o.embed ?? ""})
  position rope(base = 10000)
  ${stack}
  ${o.final ?? RMS}
  head ${o.head ?? "linear"}
}`;

const neoxLayer = `norm layer(eps = 1e-5)
    attention self(heads = 4, mask = causal, bias = true)
    norm layer(eps = 1e-5)
    mlp(hidden = hidden, act = gelu)`;

/** Each fixture's spec, what it covers, and the same model without the feature (to show it matters). */
const CASES: Record<string, { covers: string; text: string; without: string }> = {
  "structure-pattern": {
    covers: "a (local, global) pattern: window 4 on layers 0 and 2, full causal on layer 1",
    text: spec("pattern", 3, `stack layers × (local, global) {
    layer local { ${llama(", window = 4")} }
    layer global { ${llama()} }
  }`),
    without: spec("plain", 3, `stack layers × decoder { ${llama(", window = 4")} }`),
  },
  "structure-runs": {
    covers: "a pattern of runs (wide × 2, narrow): windows 8, 8, 3, 8, 8 (two ring sizes)",
    text: spec("runs", 5, `stack layers × (wide × 2, narrow) {
    layer wide { ${llama(", window = 8")} }
    layer narrow { ${llama(", window = 3")} }
  }`),
    without: spec("plain", 5, `stack layers × decoder { ${llama(", window = 8")} }`),
  },
  "structure-neox": {
    covers: "GPT-NeoX parallel residual, LayerNorm with bias, biased projections, GELU",
    text: spec("neox", 2, `stack layers × decoder(residual = parallel) {
    ${neoxLayer}
  }`, { final: "norm layer(eps = 1e-5)" }),
    without: spec("plain", 2, `stack layers × decoder {
    ${neoxLayer}
  }`, { final: "norm layer(eps = 1e-5)" }),
  },
  "structure-gemma": {
    covers: "Gemma-2 sandwich norms, (1 + w) RMSNorm, GeGLU-tanh, √d embedding scale, (local, global) windows, tied head",
    text: spec("gemma", 4, `stack layers × (local, global)(norm = sandwich) {
    layer local { ${gemma(", window = 4")} }
    layer global { ${gemma()} }
  }`, { embed: ", scale = 5.656854249492381", final: GEMMA_NORM, head: "tied" }),
    without: spec("plain", 4, `stack layers × (local, global)(norm = sandwich) {
    layer local { ${gemma(", window = 4").replaceAll(", offset = 1", "")} }
    layer global { ${gemma().replaceAll(", offset = 1", "")} }
  }`, { embed: ", scale = 5.656854249492381", final: RMS, head: "tied" }),
  },
  "structure-qwen3": {
    covers: "Qwen3 per-head q/k RMSNorm before RoPE, head_dim 16 (q 64 wide on a 32-wide stream), GQA 4/2, a full and a window-6 layer",
    text: spec("qwen3", 2, `stack layers × (full, sliding) {
    layer full { ${llama(", head_dim = 16, qk_norm = rms(eps = 1e-6)")} }
    layer sliding { ${llama(", head_dim = 16, window = 6, qk_norm = rms(eps = 1e-6)")} }
  }`),
    without: spec("plain", 2, `stack layers × (full, sliding) {
    layer full { ${llama(", head_dim = 16")} }
    layer sliding { ${llama(", head_dim = 16, window = 6")} }
  }`),
  },
};

function checked(text: string): ModelInfo {
  const r = checkSource(text, "structure.sf");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.entry || errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("; "));
  return r.entry;
}

const errorCodes = (text: string): string[] =>
  checkSource(text, "bad.sf")
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => d.code);

const two = (pattern: string, a: string, b: string, args = "") => spec("bad", 4, `stack layers × ${pattern}${args} {
    ${a}
    ${b}
  }`);
const local = `layer local { ${llama(", window = 4")} }`;
const global = `layer global { ${llama()} }`;

describe("checker", () => {
  it.each([
    ["a pattern naming an undeclared kind", two("(local, globl)", local, global), ["SF0122"]],
    ["a declared kind never used", two("(local, local)", local, global), ["SF0123"]],
    ["a kind only past the stack's last layer (pattern longer than the stack)", two("(local × 4, global)", local, global), ["SF0123"]],
    ["a sublayer outside every layer of a pattern stack", two("(local, global)", local, `${global}\n    mlp(hidden = hidden, act = gelu)`), ["SF0123"]],
    ["a `layer` in a named stack", spec("bad", 2, `stack layers × decoder { ${local} }`), ["SF0123"]],
    ["a kind declared twice", two("(local, global)", local, `${global}\n    layer local { ${llama()} }`), ["SF0119"]],
    ["a `layer` without a name", two("(local, global)", local, `${global}\n    layer { ${llama()} }`), ["SF0110"]],
    ["a `layer` with arguments", two("(local, global)", local, `layer global(norm = post) { ${llama()} }`), ["SF0109"]],
    ["a run of 0 layers", two("(local × 0, global)", local, global), ["SF0202"]],
    ["a `layer` in the model body", spec("bad", 2, `stack layers × decoder { ${llama()} }\n  ${local}`), ["SF0116"]],
    ["two pattern stacks in one section", spec("bad", 2, `stack layers × (local, global) { ${local} ${global} }\n  stack layers × (local, global) { ${local} ${global} }`), ["SF0119"]],
    ["a parallel residual with post-norm", spec("bad", 2, `stack layers × decoder(residual = parallel, norm = post) { attention self(heads = 4, mask = causal)\n ${RMS}\n ${SWIGLU}\n ${RMS} }`), ["SF0124"]],
    ["a parallel residual with sandwich norms", spec("bad", 2, `stack layers × decoder(residual = parallel, norm = sandwich) { ${gemma()} }`), ["SF0124"]],
    ["a sandwich sublayer without its post-norm", spec("bad", 2, `stack layers × decoder(norm = sandwich) { ${RMS}\n attention self(heads = 4, mask = causal)\n ${RMS}\n ${SWIGLU}\n ${RMS} }`), ["SF0215"]],
    ["a sandwich sublayer without any norm after it", spec("bad", 2, `stack layers × decoder(norm = sandwich) { ${RMS}\n attention self(heads = 4, mask = causal)\n ${RMS}\n ${RMS}\n ${SWIGLU} }`), ["SF0215"]],
    ["qk_norm of another kind", spec("bad", 2, `stack layers × decoder { ${llama(", qk_norm = layer(eps = 1e-6)")} }`), ["SF0113"]],
    ["a non-finite offset", spec("bad", 2, `stack layers × decoder { ${llama()} }`, { final: "norm rms(offset = 1e39)" }), ["SF0217"]],
    ["an unknown activation near geglu_tanh", spec("bad", 2, `stack layers × decoder { ${llama("", "mlp(hidden = hidden, act = geglu_tahn)")} }`), ["SF0113"]],
  ])("%s is an error", (_what, text, codes) => {
    expect([...new Set(errorCodes(text))].sort()).toEqual(codes);
  });

  it("keeps the pattern as runs, the kinds, placement, residual, offset and q/k norm", () => {
    const runs = checked(CASES["structure-runs"].text).sections[0].steps.find((s) => s.op === "stack")!;
    expect(runs.op === "stack" && runs.stack).toMatchObject({ name: "decoder", count: 5, pattern: [{ kind: 0, count: 2 }, { kind: 1, count: 1 }], residual: "sequential" });
    const g = checked(CASES["structure-gemma"].text).sections[0].steps.find((s) => s.op === "stack")!;
    if (g.op !== "stack") throw new Error("no stack");
    expect(g.stack.kinds.map((k) => k.name)).toEqual(["local", "global"]);
    expect(g.stack.placement).toBe("sandwich");
    expect(g.stack.kinds[0].sublayers[0]).toMatchObject({ norm: { offset: 1 }, postNorm: { offset: 1 }, window: 4 });
    const q = checked(CASES["structure-qwen3"].text).sections[0].steps.find((s) => s.op === "stack")!;
    expect(q.op === "stack" && q.stack.kinds[1].sublayers[0]).toMatchObject({ qkNorm: { kind: "rms", eps: 1e-6 }, window: 6 });
    const n = checked(CASES["structure-neox"].text).sections[0].steps.find((s) => s.op === "stack")!;
    expect(n.op === "stack" && n.stack.residual).toBe("parallel");
  });
});

describe("parameters and inspect", () => {
  const d = 32;
  const vocab = 101;
  const hidden = 64;
  const llamaLayer = (qDim: number, kvDim: number, qk: number) => 2 * d + d * qDim + 2 * d * kvDim + qDim * d + 3 * d * hidden + 2 * qk;
  const expected: Record<string, number> = {
    "structure-pattern": vocab * d + 3 * llamaLayer(32, 16, 0) + d + vocab * d,
    "structure-runs": vocab * d + 5 * llamaLayer(32, 16, 0) + d + vocab * d,
    // LayerNorms with bias; q/k/v/o and the MLP with biases.
    "structure-neox": vocab * d + 2 * (2 * 2 * d + 4 * (d * d + d) + (d * hidden + hidden) + (hidden * d + d)) + 2 * d + vocab * d,
    // Four norms a layer, the head tied to the embedding.
    "structure-gemma": vocab * d + 4 * (4 * d + 4 * d * d - 2 * d * 16 + 3 * d * hidden) + d,
    "structure-qwen3": vocab * d + 2 * llamaLayer(64, 32, 16) + d + vocab * d,
  };

  it.each(Object.keys(CASES))("%s: exact count, equal to the fixture's tensors and to inspect's total", (name) => {
    const m = checked(CASES[name].text);
    expect(paramCount(m)).toBe(expected[name]);
    const file = loadFixture(name);
    const inFile = [...file.tensors.values()].filter((t) => !t.name.startsWith("input.") && !t.name.startsWith("expected.")).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    expect(inFile).toBe(expected[name]);
    expect(summarize(m, { seq: 16 }).params).toBe(expected[name]);
  });

  it("lists each layer under its kind, and a deep stack of two kinds as one row per kind", () => {
    const s = summarize(checked(CASES["structure-gemma"].text), { seq: 16 });
    expect(s.rows.filter((r) => r.depth === 1 && r.name.startsWith("decoder.")).map((r) => r.kind)).toEqual([
      "decoder layer (local)",
      "decoder layer (global)",
      "decoder layer (local)",
      "decoder layer (global)",
    ]);
    expect(s.rows.find((r) => r.name === "decoder.0.attn")!.params).toBe(4 * d * d - 2 * d * 16 + 2 * d);
    const q = summarize(checked(CASES["structure-qwen3"].text), { seq: 16 });
    expect(q.rows.find((r) => r.name === "decoder.0.attn")!).toMatchObject({ kind: "causal self-attention, q/k norm", params: d + 64 * d + 2 * 32 * d + 64 * d + 32 });

    const layers = 2 * EXPAND_LAYERS + 1;
    const deep = checked(spec("deep", layers, `stack layers × (local, global) { ${local} ${global} }`));
    const ds = summarize(deep, { seq: 16 });
    const stackRows = ds.rows.filter((r) => r.depth === 1 && r.name.startsWith("decoder"));
    expect(stackRows.map((r) => [r.name, r.repeat])).toEqual([
      ["decoder[local]", EXPAND_LAYERS + 1],
      ["decoder[global]", EXPAND_LAYERS],
    ]);
    expect(ds.params).toBe(paramCount(deep));
    expect(ds.params).toBe(vocab * d + layers * llamaLayer(32, 16, 0) + d + vocab * d);
  });

  it("inspect's flops count the sandwich's and the q/k norms", () => {
    const withNorms = summarize(checked(CASES["structure-qwen3"].text), { seq: 16 }).flops;
    const without = summarize(checked(CASES["structure-qwen3"].without), { seq: 16 }).flops;
    expect(withNorms - without).toBe(2 * 5 * 16 * (4 + 2) * 16);
  });
});

describe("IR and state plan", () => {
  it("lowers q/k norm as a grouped norm before attention, the offset and GeGLU-tanh as attributes", () => {
    const ir = printGraph(inferenceGraph(checked(CASES["structure-qwen3"].text)));
    expect(ir).toMatch(/norm +rms %\d+ w=%\d+ eps=0\.000001 groups=4 .*decoder\.0\.attn\.q_norm/);
    expect(ir).toMatch(/norm +rms %\d+ w=%\d+ eps=0\.000001 groups=2 .*decoder\.0\.attn\.k_norm/);
    const g = printGraph(inferenceGraph(checked(CASES["structure-gemma"].text)));
    expect(g).toMatch(/rms %\d+ w=%\d+ \+ 1 eps=0\.000001 .*decoder\.0\.attn_post_norm/);
    expect(g).toMatch(/× gelu_tanh\(%\d+\)/);
  });

  it("parallel residual: both sublayers read the layer's input", () => {
    const g = inferenceGraph(checked(CASES["structure-neox"].text));
    const byName = new Map(g.nodes.map((n) => [g.values[n.out].name, n]));
    const attnNorm = byName.get("decoder.1.attn_norm")!;
    const mlpNorm = byName.get("decoder.1.mlp_norm")!;
    expect(attnNorm.op === "norm" && mlpNorm.op === "norm" && attnNorm.x === mlpNorm.x).toBe(true);
  });

  it("plans a ring per window size and full caches for the global layers", () => {
    const plan = planStates(inferenceGraph(checked(CASES["structure-runs"].text)), { context: 16 });
    expect(Object.values(plan.caches).map((c) => [c.cache, c.kind, c.kind === "ring" ? c.rows : undefined])).toEqual([
      ["decoder.0.attn", "ring", 7 + 3],
      ["decoder.1.attn", "ring", 7 + 3],
      ["decoder.2.attn", "ring", 2 + 3],
      ["decoder.3.attn", "ring", 7 + 3],
      ["decoder.4.attn", "ring", 7 + 3],
    ]);
    expect(plan.chunk).toBe(3);
    const p = planStates(inferenceGraph(checked(CASES["structure-pattern"].text)), { context: 16 });
    expect(Object.values(p.caches).map((c) => c.kind)).toEqual(["ring", "full", "ring"]);
  });
});

describe("norm offset and grouped norms: finite differences (float64) of the VJP", () => {
  it("matches ∇L · u for every parameter of a sandwich, offset, q/k-norm, parallel model", async () => {
    const m = checked(`
model fd_structure {
  dims { vocab = 13, d = 8, layers = 2, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position rope(base = 100)
  stack layers × (a, b)(norm = sandwich) {
    layer a {
      norm rms(eps = 1e-5, offset = 1)
      attention self(heads = 2, kv_heads = 1, mask = causal, qk_norm = rms(eps = 1e-5))
      norm layer(eps = 1e-5, offset = 0.5)
    }
    layer b {
      norm rms(eps = 1e-5, offset = -0.25)
      mlp(hidden = 2 * d, act = geglu_tanh)
      norm rms(eps = 1e-5, offset = 1)
    }
  }
  norm rms(eps = 1e-5, offset = 1)
  head tied
}`);
    const worst = (await structureGradErrors(m, 5))[0];
    expect(worst[1], `worst: ${worst[0]}`).toBeLessThan(1e-6);
    const par = checked(CASES["structure-neox"].text.replace("vocab = 101, d = 32", "vocab = 13, d = 8").replace("hidden = 64", "hidden = 16"));
    const w2 = (await structureGradErrors(par, 6))[0];
    expect(w2[1], `worst: ${w2[0]}`).toBeLessThan(1e-6);
  });
});

/** The engine, N(0, 1/fan_in) matrices, N(0, 1) tables, gains U(-0.5, 0.5) (the offsets bring them near 1), biases N(0, 0.1²), batch 2 × 7. */
function structureGradErrors(m: ModelInfo, seed: number): Promise<Array<[string, number]>> {
  const rng = streamRng(seed);
  const seq = 7;
  const ids = () => Int32Array.from({ length: 2 * seq }, () => Math.floor(rng() * m.head.vocab));
  const batch = bindBatch(m, new Map([["tokens", { data: ids(), shape: [2, seq] }]]), ids());
  const n = normals(streamRng(seed, 1));
  const u01 = streamRng(seed, 2);
  const params = new Map<string, Float64Array>();
  for (const t of weightLayout(m)) {
    const a = new Float64Array(t.shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < a.length; i++) a[i] = t.shape.length === 1 ? (t.name.endsWith(".bias") ? 0.1 * n() : u01() - 0.5) : t.name.startsWith("embed.") ? n() : n() / Math.sqrt(t.shape[1]);
    params.set(t.name, a);
  }
  return directionalErrors(new TrainingEngine(differentiate(trainingGraph(m))), params, batch, seed);
}

function loadFixture(name: string): SafetensorsFile {
  return parseSafetensors(readFileSync(root(`test/fixtures/${name}.safetensors`)));
}

/** The fixture's tensors that the model's layout names (a model without a feature has fewer). */
function weightsOf(m: ModelInfo, file: SafetensorsFile): Map<string, Float32Array> {
  const names = new Set(weightLayout(m).map((t) => t.name));
  const keep = [...file.tensors.values()].filter((t) => names.has(t.name));
  return bindWeights(m, parseSafetensors(writeSafetensors(keep.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: file.raw(t.name) })))));
}

describe.each(Object.entries(CASES))("%s matches PyTorch", (name, c) => {
  const m = checked(c.text);
  const file = loadFixture(name);
  const weights = weightsOf(m, file);
  const [batch, seq] = file.get("input.tokens").shape;
  const tokens = file.i32("input.tokens");
  const opts = { batch, seq };
  const want = file.f32("expected.logits");

  it(`without the feature, the model differs (${c.covers})`, async () => {
    const plain = checked(c.without);
    const model = await createModel("reference", plain, weightsOf(plain, file));
    try {
      expect(maxRelError(await model.forward(tokens, opts), want)).toBeGreaterThan(1e-2);
    } finally {
      model.dispose();
    }
  });

  it.each(TARGETS)("%s: forward and begin/step", async (target) => {
    if (target === "webgpu" && !device) return;
    const model: Model = await createModel(target, m, weights, target === "webgpu" ? { device: device! } : {});
    try {
      const fwd = await model.forward(tokens, opts);
      expect(maxRelError(fwd, want), `${target} forward`).toBeLessThanOrEqual(1e-4);
      const stepped = await decodeInChunks(model, { tokens, opts, padded: false }, unevenChunks(seq));
      expect(maxRelError(stepped, want), `${target} begin/step`).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  });
});
