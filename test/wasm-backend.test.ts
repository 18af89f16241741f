// The Wasm backend's own cases against the reference backend (the oracle): decode states that
// must not share caches, worker threads, bad inputs, and the emitted module itself (validation
// in both SIMD flavours, baked-in constants). Forwards, padded batches, incremental decoding,
// greedy generation and the bidirectional refusal, in both SIMD flavours, are in
// test/conformance.test.ts, for every spec of its corpus.

import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { compileWasm } from "../backends/wasm/compile.ts";
import { createWasmModel } from "../backends/wasm/backend.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { ModelInputError, type ForwardOptions, type Model } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";

// Node 20 keeps relaxed SIMD behind a flag; turning it on in this worker process lets the
// tests instantiate the relaxed flavour (pair(key, true)).
v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

const decoder = (name: string, dims: string, pos: string, attn: string, mlp: string, norm: string, head: string) => `
model ${name} {
  dims { ${dims} }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position ${pos}
  stack layers × decoder {
    norm ${norm}
    attention self(${attn})
    norm ${norm}
    mlp(${mlp})
  }
  norm ${norm}
  head ${head}
}`;

const SPECS: Record<string, string> = {
  gpt: decoder("t_gpt", "vocab = 101, d = 32, heads = 4, layers = 2, context = 48", "learned(context)", "heads = heads, mask = causal, bias = true", "hidden = 4 * d, act = gelu_tanh", "layer(eps = 1e-5)", "tied"),
  // hidden 88 is not a multiple of the matmul's 8-column panels; vocab 101 neither.
  llama: decoder(
    "t_llama",
    "vocab = 101, d = 64, heads = 4, kv_heads = 2, layers = 2, hidden = 88, context = 48",
    "rope(base = 10000)",
    "heads = heads, kv_heads = kv_heads, mask = causal",
    "hidden = hidden, act = swiglu, bias = false",
    "rms(eps = 1e-5)",
    "linear",
  ),
  linear: decoder("t_linear", "vocab = 101, d = 32, heads = 4, kv_heads = 2, layers = 2, context = 48", "sinusoidal", "heads = heads, kv_heads = kv_heads, mask = causal, kind = linear, feature_map = elu1, bias = true", "hidden = 4 * d, act = gelu", "layer(eps = 1e-5)", "tied"),
  sparse: `
model t_sparse {
  dims { vocab = 101, d = 32, heads = 4, ff = 64, layers = 2, context = 48 }
  input tokens: int[batch, seq] where seq <= context
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  position learned(context)
  norm layer(eps = 1e-12)
  stack layers × encoder(norm = post) {
    attention self(heads = heads, padding = mask, bias = true, sparse = block(size = 6, local = 2, global = 1))
    norm layer(eps = 1e-12)
    mlp(hidden = ff, act = gelu)
    norm layer(eps = 1e-12)
  }
  head tied(bias = true)
}`,
  bert: `
model t_bert {
  dims { vocab = 101, d = 48, heads = 4, layers = 2, ff = 96, context = 40, segments = 2 }
  input tokens: int[batch, seq] where seq <= context
  input types: int[batch, seq]
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  embed types(segments, d)
  position learned(context)
  norm layer(eps = 1e-12)
  stack layers × encoder(norm = post) {
    attention self(heads = heads, mask = none, padding = mask, bias = true)
    norm layer(eps = 1e-12)
    mlp(hidden = ff, act = gelu)
    norm layer(eps = 1e-12)
  }
  head tied(bias = true, transform = gelu, eps = 1e-12)
}`,
  // The shipped nn.Transformer fixture spec, with this file's context bound.
  seq2seq: `
import "specs/tiny-torch-transformer.sf"
model t_seq2seq extends tiny_torch_transformer { dims { context = 40 } }`,
};

function load(key: string): ModelInfo {
  const r = checkSource(SPECS[key], `${key}.sf`);
  if (!r.entry) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.entry;
}

function tokens(n: number, vocab: number, seed: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i * 37 + seed * 11 + 5) % vocab);
}

/** Batch 2; the second row ends in 3 padding positions where the model has a mask. */
function request(m: ModelInfo, seq: number): { tokens: Int32Array; opts: ForwardOptions } {
  const B = 2;
  const vocab = m.sections[m.sections.length - 1].steps.find((s) => s.op === "embed")!;
  const opts: ForwardOptions = { batch: B, seq };
  const names = new Set(m.inputs.map((i) => i.name));
  const pad = (len: number) => Uint8Array.from({ length: B * len }, (_, i) => (i >= 2 * len - 3 ? 0 : 1));
  if (names.has("mask")) opts.mask = pad(seq);
  if (names.has("types")) opts.inputs = { types: Int32Array.from({ length: B * seq }, (_, i) => (i % seq < seq / 2 ? 0 : 1)) };
  if (names.has("src_tokens")) opts.src = { tokens: tokens(B * 9, 61, 3), seq: 9, mask: pad(9) };
  return { tokens: tokens(B * seq, vocab.op === "embed" ? vocab.vocab : 50, 1), opts };
}

function expectClose(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  let scale = 1;
  for (const x of want) scale = Math.max(scale, Math.abs(x));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst, `${what}: max |diff| ${worst} vs tolerance ${1e-4 * scale}`).toBeLessThanOrEqual(1e-4 * scale);
}

const SEQ: Record<string, number> = { gpt: 40, llama: 33, linear: 40, sparse: 45, bert: 23, seq2seq: 13 };
const CAUSAL = ["gpt", "llama", "linear", "seq2seq"];

interface Pair {
  m: ModelInfo;
  ref: Model;
  wasm: Model;
}
const built = new Map<string, Pair>();
async function pair(key: string, relaxed: boolean): Promise<Pair> {
  const id = `${key}:${relaxed}`;
  if (!built.has(id)) {
    const m = load(key);
    const g = inferenceGraph(m);
    // std 0.2 (not GPT-2's 0.02) makes attention peaked, so a wrong mask shows in the logits.
    const w = randomWeights(m, 7, { std: 0.2 });
    built.set(id, { m, ref: createReferenceModel(m, g, w), wasm: await createWasmModel(m, g, w, { relaxed }) });
  }
  return built.get(id)!;
}

async function decodeInChunks(model: Model, m: ModelInfo, chunks: number[]): Promise<Float32Array> {
  const total = chunks.reduce((a, b) => a + b, 0);
  const { tokens: t, opts } = request(m, total);
  const B = opts.batch;
  const vocab = model.config.vocab;
  const state = await model.begin({ batch: B, ...(opts.src ? { src: opts.src } : {}) });
  const out = new Float32Array(B * total * vocab);
  let at = 0;
  for (const n of chunks) {
    const piece = new Int32Array(B * n);
    for (let b = 0; b < B; b++) piece.set(t.subarray(b * total + at, b * total + at + n), b * n);
    const logits = await model.step(state, piece, n);
    for (let b = 0; b < B; b++) out.set(logits.subarray(b * n * vocab, (b + 1) * n * vocab), (b * total + at) * vocab);
    at += n;
  }
  expect(state.position).toBe(total);
  state.dispose();
  return out;
}

describe("wasm backend: decode states", () => {
  it("two decode states of one model do not share caches", async () => {
    const { m, wasm } = await pair("llama", true);
    const a = await wasm.begin({ batch: 1 });
    const b = await wasm.begin({ batch: 1 });
    const la = await wasm.step(a, Int32Array.of(1, 2, 3), 3);
    await wasm.step(b, Int32Array.of(9, 9, 9, 9), 4);
    const la2 = await wasm.step(a, Int32Array.of(4), 1);
    const whole = await wasm.forward(Int32Array.of(1, 2, 3, 4), { batch: 1, seq: 4 });
    expectClose(la, whole.subarray(0, 3 * m.head.vocab), "state a, prompt");
    expectClose(la2, whole.subarray(3 * m.head.vocab), "state a after b stepped");
    a.dispose();
    b.dispose();
  });
});

describe("wasm backend: worker threads", () => {
  // Auto: small steps run split or alone as measured (split-choice.ts); every call: the threaded kernels on one-row steps always.
  it.each(["gpt", "linear", "sparse", "seq2seq"].flatMap((k) => [[k, false], [k, true]] as const))("%s with 2 threads matches the reference, forward and decode (split every call: %s)", async (key, splitEveryCall) => {
    const m = load(key);
    const g = inferenceGraph(m);
    const w = randomWeights(m, 7, { std: 0.2 });
    const ref = createReferenceModel(m, g, w);
    const wasm = await createWasmModel(m, g, w, { threads: 2, splitEveryCall });
    try {
      const { tokens: t, opts } = request(m, SEQ[key]);
      expectClose(await wasm.forward(t, opts), await ref.forward(t, opts), `${key} forward, 2 threads`);
      if (CAUSAL.includes(key)) {
        const { tokens: t2, opts: o2 } = request(m, 9);
        expectClose(await decodeInChunks(wasm, m, [4, 1, 1, 3]), await ref.forward(t2, o2), `${key} decode, 2 threads`);
      }
    } finally {
      wasm.dispose();
    }
  });
});

describe("wasm backend: bad inputs", () => {
  it("rejects a token outside the vocabulary", async () => {
    const { wasm } = await pair("gpt", true);
    await expect(wasm.forward(Int32Array.of(1, 101), { batch: 1, seq: 2 })).rejects.toThrow(ModelInputError);
    const s = await wasm.begin({ batch: 1 });
    await expect(wasm.step(s, Int32Array.of(-1), 1)).rejects.toThrow(ModelInputError);
    s.dispose();
  });

  it("rejects a sequence beyond the context bound, in forward and in step", async () => {
    const { wasm } = await pair("gpt", true);
    await expect(wasm.forward(tokens(49, 101, 1), { batch: 1, seq: 49 })).rejects.toThrow(ModelInputError);
    const s = await wasm.begin({ batch: 1 });
    await wasm.step(s, tokens(45, 101, 1), 45);
    await expect(wasm.step(s, tokens(4, 101, 1), 4)).rejects.toThrow(/context bound of 48/);
    s.dispose();
  });

  it("rejects a missing second embedding input and a source over its bound", async () => {
    const bert = await pair("bert", true);
    await expect(bert.wasm.forward(tokens(4, 101, 1), { batch: 1, seq: 4 })).rejects.toThrow(ModelInputError);
    const s2s = await pair("seq2seq", true);
    await expect(s2s.wasm.forward(tokens(2, 71, 1), { batch: 1, seq: 2, src: { tokens: tokens(41, 61, 1), seq: 41 } })).rejects.toThrow(ModelInputError);
  });

  it("a spec without a sequence bound gets the build's cap (maxSeq), enforced with ModelInputError", async () => {
    const m = checkSource(SPECS.llama.replace("where seq <= context", ""), "unbounded.sf").entry!;
    const g = inferenceGraph(m);
    const w = randomWeights(m, 3, { std: 0.2 });
    const wasm = await createWasmModel(m, g, w, { maxSeq: 16 });
    try {
      const t = tokens(16, 101, 2);
      expectClose(await wasm.forward(t, { batch: 1, seq: 16 }), await createReferenceModel(m, g, w).forward(t, { batch: 1, seq: 16 }), "seq at the cap");
      await expect(wasm.forward(tokens(17, 101, 2), { batch: 1, seq: 17 })).rejects.toThrow(/cap of 16/);
      const s = await wasm.begin({ batch: 1 });
      await wasm.step(s, t, 16);
      await expect(wasm.step(s, Int32Array.of(1), 1)).rejects.toThrow(ModelInputError);
      s.dispose();
    } finally {
      wasm.dispose();
    }
  });

  it("a model whose weights cannot fit in 4 GiB fails with the bytes it needs", async () => {
    const m = checkSource(SPECS.gpt.replace("vocab = 101, d = 32", "vocab = 1000003, d = 1280"), "big.sf").entry!;
    await expect(createWasmModel(m, inferenceGraph(m), new Map())).rejects.toThrow(/needs \d+ bytes .* beyond the 4 GiB/);
  });

  it("a decode state that cannot fit fails with ModelInputError naming the bytes", async () => {
    const { wasm } = await pair("gpt", true);
    await expect(wasm.begin({ batch: 5_000_000 })).rejects.toThrow(/needs \d+ bytes/);
  });
});

describe("wasm backend: the emitted module", () => {
  it("validates with and without relaxed SIMD, and bakes the model's shapes in", () => {
    const m = load("llama");
    const c = compileWasm(m, inferenceGraph(m));
    expect(WebAssembly.validate(c.binary as Uint8Array<ArrayBuffer>)).toBe(true);
    const relaxed = c.variants.find((v) => v.relaxed)!;
    expect(WebAssembly.validate(relaxed.binary as Uint8Array<ArrayBuffer>)).toBe(true);
    expect(relaxed.text).toContain("f32x4.relaxed_madd");
    expect(c.text).not.toContain("relaxed_madd");
    // The q projection: K = d = 64, N = heads · head dim = 64; the MLP: N = hidden = 88.
    expect(c.text).toContain("(func $mm_k64_n64");
    expect(c.text).toContain("(func $mm_k64_n88");
    expect(c.text).toContain("(func $mm_k88_n64");
    expect(c.text).toContain("attn_h4_kv2_d16_self_causal_rope16");
    // Row strides of a [rows, 88] buffer and the panel stride of K = 64 are constants.
    expect(c.text).toContain("(i32.const 352)");
    expect(c.text).toContain("(i32.const 2048)");
    expect(c.plan.context).toBe(48);
  });
});
