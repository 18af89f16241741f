// State-space layers: `ssm mamba(...)` (Mamba-1's selective scan, Hugging Face MambaMixer's
// parameterisation) alone and in a hybrid layer pattern with attention: the checker's rules,
// exact parameter counts (Mamba-130m's published 129,135,360), inspect rows, the IR and state
// plan, every backend against an independent PyTorch loop (scripts/make-ssm-fixtures.py) as a
// forward and as begin/step decoding in uneven chunks, and the VJP by finite differences.
// Tolerance: max |error| ≤ 1e-4 × max(1, max |expected|).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkFile, checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { printGraph } from "../src/ir/print.ts";
import { planStates } from "../src/ir/state-plan.ts";
import { summarize } from "../src/inspect/summary.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { paramCount, weightLayout } from "../src/model/weights-layout.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import { applyNameMap, guessNameMap } from "../src/runtime/name-maps.ts";
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

const device = await gpuDevice();
afterAll(() => device?.destroy());

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

const MAMBA_LAYER = "norm rms(eps = 1e-5)\n    ssm mamba(state = 8, conv = 4, expand = 2, dt_rank = 4)";
const spec = (name: string, layers: number, stack: string, extra = "") => `
model ${name} {
  dims { vocab = 101, d = 32, layers = ${layers}, context = 32 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  ${extra}
  ${stack}
  norm rms(eps = 1e-5)
  head tied
}`;

const CASES: Record<string, { covers: string; text: string }> = {
  "ssm-mamba": {
    covers: "a pure Mamba LM: 2 layers, state 8, conv 4, expand 2, dt_rank 4, conv bias",
    text: spec("mamba", 2, `stack layers × decoder {
    ${MAMBA_LAYER}
  }`),
  },
  "ssm-hybrid": {
    covers: "a hybrid pattern (ssm × 2, attn): state 4, conv 3, default dt_rank, biased projections, no conv bias; a LLaMA layer with RoPE",
    text: spec(
      "hybrid",
      3,
      `stack layers × (ssm × 2, attn) {
    layer ssm {
      norm rms(eps = 1e-5)
      ssm mamba(state = 4, conv = 3, bias = true, conv_bias = false)
    }
    layer attn {
      norm rms(eps = 1e-5)
      attention self(heads = 4, kv_heads = 2, mask = causal)
      norm rms(eps = 1e-5)
      mlp(hidden = 64, act = swiglu, bias = false)
    }
  }`,
      "position rope(base = 10000)",
    ),
  },
};

function checked(text: string): ModelInfo {
  const r = checkSource(text, "ssm.sf");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.entry || errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("; "));
  return r.entry;
}

const errorCodes = (text: string): string[] =>
  checkSource(text, "bad.sf")
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => d.code);

const one = (ssm: string) => spec("bad", 1, `stack layers × decoder {\n    norm rms(eps = 1e-5)\n    ${ssm}\n  }`);

describe("checker", () => {
  it.each([
    ["an unknown ssm kind", one("ssm mamba2(state = 16)"), ["SF0113"]],
    ["an ssm without a kind", one("ssm(state = 16)"), ["SF0110"]],
    ["an unknown argument", one("ssm mamba(stat = 16)"), ["SF0109"]],
    ["expand giving a fractional d_inner", one("ssm mamba(expand = 1.01)"), ["SF0241"]],
    ["dt_rank above d_inner", one("ssm mamba(expand = 1, dt_rank = 33)"), ["SF0241"]],
    ["a conv wider than the context", one("ssm mamba(conv = 33)"), ["SF0241"]],
    ["a zero state size", one("ssm mamba(state = 0)"), ["SF0202"]],
    ["an ssm in the model body", spec("bad", 1, `stack layers × decoder { ${MAMBA_LAYER} }\n  ssm mamba()`), ["SF0116"]],
  ])("%s is an error", (_what, text, codes) => {
    expect([...new Set(errorCodes(text))].sort()).toEqual(codes);
  });

  it("an ssm in an encoder is SF0242", () => {
    const text = `
model bad {
  dims { vocab = 50, d = 16 }
  input src: int[batch, src_seq]
  input tokens: int[batch, seq]
  encoder { embed src(vocab, d)  stack 1 × enc { norm rms(eps = 1e-5)  ssm mamba() } }
  decoder { embed tokens(vocab, d)  stack 1 × dec { norm rms(eps = 1e-5)  attention self(heads = 2, mask = causal)  attention cross(heads = 2) } }
  head linear
}`;
    expect(errorCodes(text)).toContain("SF0242");
  });

  it("defaults: state 16, conv 4, expand 2, dt_rank ceil(d / 16), no bias, conv bias", () => {
    const m = checked(one("ssm mamba()"));
    const st = m.sections[0].steps.find((s) => s.op === "stack")!;
    expect(st.op === "stack" && st.stack.sublayers[0]).toMatchObject({ kind: "ssm", inner: 64, stateSize: 16, convWidth: 4, dtRank: 2, bias: false, convBias: true });
  });
});

describe("parameters and inspect", () => {
  const d = 32;
  const vocab = 101;
  /** One Mamba block: norm, in_proj, conv1d, x_proj, dt_proj (+ bias), A_log, D, out_proj. */
  const mamba = (e: number, n: number, k: number, r: number, bias: boolean, convBias: boolean) =>
    d + 2 * e * d + (bias ? 2 * e : 0) + e * k + (convBias ? e : 0) + (r + 2 * n) * e + e * r + e + e * n + e + d * e + (bias ? d : 0);
  const llama = 2 * d + d * 32 + 2 * d * 16 + 32 * d + 3 * d * 64;
  const expected: Record<string, number> = {
    "ssm-mamba": vocab * d + 2 * mamba(64, 8, 4, 4, false, true) + d,
    "ssm-hybrid": vocab * d + 2 * mamba(64, 4, 3, 2, true, false) + llama + d,
  };

  it.each(Object.keys(CASES))("%s: exact count, equal to the fixture's tensors and to inspect's total", (name) => {
    const m = checked(CASES[name].text);
    expect(paramCount(m)).toBe(expected[name]);
    const file = loadFixture(name);
    const inFile = [...file.tensors.values()].filter((t) => !t.name.startsWith("input.") && !t.name.startsWith("expected.")).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    expect(inFile).toBe(expected[name]);
    expect(summarize(m, { seq: 16 }).params).toBe(expected[name]);
  });

  it("specs/mamba-130m.sf has Mamba-130m's published 129,135,360 parameters", () => {
    const r = checkFile(root("specs/mamba-130m.sf"));
    expect(r.diagnostics.filter((x) => x.severity === "error")).toEqual([]);
    // d_model 768, 24 layers, vocab 50277 padded to a multiple of 8 = 50280, d_inner 1536, d_state 16, d_conv 4, dt_rank 48; tied head.
    const e = 1536;
    const layer = 768 + 2 * e * 768 + e * 4 + e + (48 + 32) * e + e * 48 + e + e * 16 + e + 768 * e;
    expect(50280 * 768 + 24 * layer + 768).toBe(129_135_360);
    expect(paramCount(r.entry!)).toBe(129_135_360);
    expect(summarize(r.entry!, { seq: 16 }).params).toBe(129_135_360);
  });

  it("lists the ssm sublayer with its sizes, and hybrid layers under their kinds", () => {
    const s = summarize(checked(CASES["ssm-hybrid"].text), { seq: 16 });
    expect(s.rows.filter((r) => r.depth === 1 && r.name.startsWith("decoder.")).map((r) => r.kind)).toEqual(["decoder layer (ssm)", "decoder layer (ssm)", "decoder layer (attn)"]);
    const row = s.rows.find((r) => r.name === "decoder.0.ssm")!;
    expect(row).toMatchObject({ kind: "mamba ssm (state 4, conv 3, d_inner 64, dt_rank 2)", params: mamba(64, 4, 3, 2, true, false) });
    expect(row.flops).toBeGreaterThan(2 * 16 * 3 * 64 * d);
  });
});

describe("IR and state plan", () => {
  it("lowers in_proj, the conv, x_proj, the scan and out_proj", () => {
    const ir = printGraph(inferenceGraph(checked(CASES["ssm-mamba"].text)));
    expect(ir).toMatch(/silu\(conv1d\(%\d+\[\.\.\., :64\], %\d+ \+ %\d+, width=4, causal\)\)/);
    expect(ir).toMatch(/u=%\d+ dtBC=%\d+ z=%\d+\[\.\.\., E:\] .* state=8 dt_rank=4/);
  });

  it("plans fixed-size recurrent states: the conv window and h", () => {
    const plan = planStates(inferenceGraph(checked(CASES["ssm-hybrid"].text)), { context: 32 });
    expect(Object.values(plan.caches).map((c) => [c.cache, c.kind, c.kind === "recurrent" ? c.floats : undefined])).toEqual([
      ["decoder.2.attn", "full", undefined],
      ["decoder.0.ssm.conv", "recurrent", 2 * 64],
      ["decoder.0.ssm.scan", "recurrent", 64 * 4],
      ["decoder.1.ssm.conv", "recurrent", 2 * 64],
      ["decoder.1.ssm.scan", "recurrent", 64 * 4],
    ]);
    expect(plan.chunk).toBeUndefined();
  });
});

function loadFixture(name: string): SafetensorsFile {
  return parseSafetensors(readFileSync(root(`test/fixtures/${name}.safetensors`)));
}

/** The fixture's tensors that the model's layout names. */
function weightsOf(m: ModelInfo, file: SafetensorsFile): Map<string, Float32Array> {
  const names = new Set(weightLayout(m).map((t) => t.name));
  const keep = [...file.tensors.values()].filter((t) => names.has(t.name));
  return bindWeights(m, parseSafetensors(writeSafetensors(keep.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: file.raw(t.name) })))));
}

function relError(got: Float32Array, want: Float32Array): number {
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    const diff = Math.abs(got[i] - want[i]);
    worst = Number.isNaN(diff) ? Infinity : Math.max(worst, diff);
  }
  return worst / scale;
}

describe.each(Object.entries(CASES))("%s matches PyTorch", (name, c) => {
  const m = checked(c.text);
  const file = loadFixture(name);
  const weights = weightsOf(m, file);
  const [batch, seq] = file.get("input.tokens").shape;
  const tokens = file.i32("input.tokens");
  const opts = { batch, seq };
  const want = file.f32("expected.logits");

  it.each(TARGETS)(`%s: forward and begin/step (${c.covers})`, async (target) => {
    if (target === "webgpu" && !device) return;
    const model: Model = await createModel(target, m, weights, target === "webgpu" ? { device: device! } : {});
    try {
      const fwd = await model.forward(tokens, opts);
      const f = relError(fwd, want);
      console.log(`${name} ${target} forward: ${f.toExponential(2)}`);
      expect(f, `${target} forward`).toBeLessThanOrEqual(1e-4);
      const stepped = await decodeInChunks(model, { tokens, opts, padded: false }, unevenChunks(seq));
      const s = relError(stepped, want);
      console.log(`${name} ${target} begin/step: ${s.toExponential(2)}`);
      expect(s, `${target} begin/step`).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  });
});

// The weight layout names every tensor the fixture holds (none left over, none missing).
it("the fixtures hold exactly the layout's tensors", () => {
  for (const [name, c] of Object.entries(CASES)) {
    const names = weightLayout(checked(c.text)).map((t) => t.name).sort();
    const inFile = [...loadFixture(name).tensors.keys()].filter((t) => !t.startsWith("input.") && !t.startsWith("expected.")).sort();
    expect(inFile).toEqual(names);
  }
});

describe("the VJP: finite differences (float64)", () => {
  it("matches ∇L · u for every parameter of a hybrid Mamba / attention model", async () => {
    const m = checked(`
model fd_ssm {
  dims { vocab = 13, d = 8, layers = 3, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position rope(base = 100)
  stack layers × (s, a, t) {
    layer s { norm rms(eps = 1e-5)  ssm mamba(state = 3, conv = 3, expand = 2, dt_rank = 2) }
    layer a { norm rms(eps = 1e-5)  attention self(heads = 2, mask = causal)  norm rms(eps = 1e-5)  mlp(hidden = 16, act = swiglu) }
    layer t { norm layer(eps = 1e-5)  ssm mamba(state = 2, conv = 4, expand = 1.5, bias = true, conv_bias = false) }
  }
  norm rms(eps = 1e-5)
  head tied
}`);
    const worst = (await ssmGradErrors(m, 7))[0];
    console.log(`ssm VJP worst relative error: ${worst[1].toExponential(2)} (${worst[0]})`);
    expect(worst[1], `worst: ${worst[0]}`).toBeLessThan(1e-6);
  });
});

/** N(0, 1/fan_in) matrices and conv taps, N(0, 1) tables, gains and D U(0.5, 1.5), biases N(0, 0.1²), A_log N(0, 1/N); batch 2 × 7. */
function ssmGradErrors(m: ModelInfo, seed: number): Promise<Array<[string, number]>> {
  const rng = streamRng(seed);
  const seq = 7;
  const ids = () => Int32Array.from({ length: 2 * seq }, () => Math.floor(rng() * m.head.vocab));
  const batch = bindBatch(m, new Map([["tokens", { data: ids(), shape: [2, seq] }]]), ids());
  const n = normals(streamRng(seed, 1));
  const u01 = streamRng(seed, 2);
  const params = new Map<string, Float64Array>();
  for (const t of weightLayout(m)) {
    const a = new Float64Array(t.shape.reduce((x, y) => x * y, 1));
    const fanIn = t.shape[t.shape.length - 1];
    for (let i = 0; i < a.length; i++) a[i] = t.shape.length === 1 ? (t.name.endsWith(".bias") ? 0.1 * n() : 0.5 + u01()) : t.name.startsWith("embed.") ? n() : n() / Math.sqrt(fanIn);
    params.set(t.name, a);
  }
  return directionalErrors(new TrainingEngine(differentiate(trainingGraph(m))), params, batch, seed);
}

describe("the mamba name map (Hugging Face MambaForCausalLM)", () => {
  /** The fixture under HF names: backbone.embeddings, backbone.layers.N.{norm, mixer.*}, backbone.norm_f. */
  const hfNamed = (file: SafetensorsFile, prefix: string) => {
    const rename = (n: string) =>
      n === "embed.tokens.weight" ? `${prefix}embeddings.weight` : n === "norm.0.weight" ? `${prefix}norm_f.weight` : n.replace(/^decoder\.(\d+)\.ssm_norm\./, `${prefix}layers.$1.norm.`).replace(/^decoder\.(\d+)\.ssm\./, `${prefix}layers.$1.mixer.`);
    const keep = [...file.tensors.values()].filter((t) => !t.name.startsWith("input.") && !t.name.startsWith("expected."));
    return parseSafetensors(writeSafetensors(keep.map((t) => ({ name: rename(t.name), dtype: t.dtype, shape: t.shape, data: file.raw(t.name) }))));
  };

  it.each(["backbone.", ""])("loads the fixture under HF names (prefix %j) and matches PyTorch", async (prefix) => {
    const m = checked(CASES["ssm-mamba"].text);
    const file = loadFixture("ssm-mamba");
    const hf = hfNamed(file, prefix);
    expect(guessNameMap(hf)).toBe("mamba");
    const model = await createModel("reference", m, applyNameMap("mamba", hf, m));
    try {
      const [batch, seq] = file.get("input.tokens").shape;
      expect(relError(await model.forward(file.i32("input.tokens"), { batch, seq }), file.f32("expected.logits"))).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  });

  it("refuses a hybrid (attention layers are not Mamba's) and names the layer", () => {
    const m = checked(CASES["ssm-hybrid"].text);
    expect(() => applyNameMap("mamba", hfNamed(loadFixture("ssm-hybrid"), "backbone."), m)).toThrow(/layer attn .*expects \[ssm\]/);
  });
});
