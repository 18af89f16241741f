// The reference executor on a hand-built graph, against the same model computed directly with
// the kernels: independent of the lowering, so a bug in either shows up as a disagreement.
import { describe, expect, it } from "vitest";
import { createReferenceModel } from "../backends/reference/backend.ts";
import * as K from "../backends/reference/kernels/index.ts";
import { mulberry32 } from "../src/runtime/sample.ts";
import { randomWeights as seededWeights } from "../src/runtime/random-weights.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { Dim, DType, Graph, Node, Op } from "../src/ir/ir.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { ModelInputError, type Model } from "../src/runtime/model-api.ts";

/** Larger than the GPT-2 init, so logits of tiny random models differ visibly between tokens. */
const randomWeights = (m: ModelInfo, seed: number) => seededWeights(m, seed, { std: 0.2 });

const TINY = `model tiny {
  dims { vocab = 100, d = 16, heads = 2, layers = 1, context = 12 }
  input tokens: int[batch, seq] where seq <= context
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  position learned(context)
  stack layers × decoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, mask = causal, bias = true, padding = mask)
    norm layer(eps = 1e-5)
    mlp(hidden = 4 * d, act = gelu)
  }
  norm layer(eps = 1e-5)
  head tied
}`;

function checked(text: string): ModelInfo {
  const r = checkSource(text, "inline.sf");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  expect(errors.map((d) => d.message)).toEqual([]);
  return r.entry!;
}

/** The one-layer decoder of TINY, written out node by node. */
function handGraph(m: ModelInfo): Graph {
  const shapes = new Map(weightLayout(m).map((t) => [t.name, t.shape]));
  const g: Graph = { model: m.name, values: [], nodes: [], train: {} };
  const emit = (op: Op, shape: Dim[], name: string, dtype: DType = "f32"): number => {
    const id = g.values.length;
    g.values.push({ id, dtype, shape, name });
    g.nodes.push({ ...op, out: id, phase: "decoder" } as Node);
    return id;
  };
  const w = (name: string) => emit({ op: "weight", weight: name }, shapes.get(name)!, name);
  const act = (d: number): Dim[] => ["batch", "seq", d];
  const lin = (x: number, p: string, out: number) => emit({ op: "linear", x, weight: w(`${p}.weight`), bias: w(`${p}.bias`) }, act(out), p);
  const ln = (x: number, p: string) => emit({ op: "norm", kind: "layer", x, weight: w(`${p}.weight`), bias: w(`${p}.bias`), eps: 1e-5 }, act(16), p);

  const tokens = emit({ op: "input", input: "tokens" }, ["batch", "seq"], "tokens", "i32");
  const mask = emit({ op: "input", input: "mask" }, ["batch", "seq"], "mask", "bool");
  const table = w("embed.tokens.weight");
  let x = emit({ op: "embed", table, ids: tokens, scale: 1 }, act(16), "embed");
  x = emit({ op: "add_position", x, kind: "learned", table: w("position.weight") }, act(16), "position");
  let h = ln(x, "decoder.0.attn_norm");
  const q = lin(h, "decoder.0.attn.q", 16);
  const k = lin(h, "decoder.0.attn.k", 16);
  const v = lin(h, "decoder.0.attn.v", 16);
  const a = emit(
    { op: "attention", q, k, v, heads: 2, kvHeads: 2, headDim: 8, causal: true, alibi: false, padding: mask, source: "self", cache: "decoder.0.attn" },
    act(16),
    "attn",
  );
  x = emit({ op: "add", a: x, b: lin(a, "decoder.0.attn.o", 16) }, act(16), "res1");
  h = ln(x, "decoder.0.mlp_norm");
  const up = emit({ op: "activation", x: lin(h, "decoder.0.mlp.up", 64), act: "gelu" }, act(64), "gelu");
  x = emit({ op: "add", a: x, b: lin(up, "decoder.0.mlp.down", 16) }, act(16), "res2");
  x = ln(x, "norm.0");
  const logits = emit({ op: "linear", x, weight: table }, act(100), "logits");
  emit({ op: "output", x: logits, output: "logits" }, act(100), "logits");
  return g;
}

/** TINY computed straight from the kernels, no graph involved. */
function direct(W: Map<string, Float32Array>, tokens: Int32Array, batch: number, seq: number, mask: Uint8Array): Float32Array {
  const d = 16;
  const rows = batch * seq;
  const get = (n: string) => W.get(n)!;
  const x = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const pos = r % seq;
    for (let c = 0; c < d; c++) x[r * d + c] = get("embed.tokens.weight")[tokens[r] * d + c] + get("position.weight")[pos * d + c];
  }
  const ln = (y: Float32Array, p: string) => K.layerNorm(y, rows, d, get(`${p}.weight`), get(`${p}.bias`), 1e-5);
  const lin = (y: Float32Array, p: string, i: number, o: number) => K.linear(y, rows, i, get(`${p}.weight`), get(`${p}.bias`), o);
  let h = ln(x, "decoder.0.attn_norm");
  const [q, k, v] = ["q", "k", "v"].map((n) => lin(h, `decoder.0.attn.${n}`, d, d));
  const dims = { batch, seqQ: seq, seqK: seq, heads: 2, kvHeads: 2, headDim: 8 };
  const att = K.attention(q, k, v, dims, { causal: true, keyMask: mask });
  K.add(x, lin(att, "decoder.0.attn.o", d, d));
  h = ln(x, "decoder.0.mlp_norm");
  const up = K.activate(lin(h, "decoder.0.mlp.up", d, 64), "gelu");
  K.add(x, K.linear(up, rows, 64, get("decoder.0.mlp.down.weight"), get("decoder.0.mlp.down.bias"), d));
  h = ln(x, "norm.0");
  return K.linear(h, rows, d, get("embed.tokens.weight"), null, 100);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function randomTokens(n: number, vocab: number, seed: number): Int32Array {
  const rng = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rng() * vocab));
}

/** Decodes [batch, seq] tokens in the given chunk sizes; returns the concatenated logits. */
async function decodeInChunks(model: Model, tokens: Int32Array, batch: number, seq: number, chunks: number[], mask?: Uint8Array): Promise<Float32Array> {
  const V = model.config.vocab;
  const out = new Float32Array(batch * seq * V);
  const state = await model.begin({ batch });
  let pos = 0;
  for (const n of chunks) {
    const cols = <T extends Int32Array | Uint8Array>(src: T, out: T): T => {
      for (let i = 0; i < out.length; i++) out[i] = src[Math.floor(i / n) * seq + pos + (i % n)];
      return out;
    };
    const stepMask = mask ? { mask: cols(mask, new Uint8Array(batch * n)) } : {};
    const logits = await model.step(state, cols(tokens, new Int32Array(batch * n)), n, stepMask);
    for (let b = 0; b < batch; b++) out.set(logits.subarray(b * n * V, (b + 1) * n * V), (b * seq + pos) * V);
    pos += n;
  }
  expect(state.position).toBe(seq);
  state.dispose();
  return out;
}

describe("reference executor on a hand-built one-layer decoder", () => {
  const m = checked(TINY);
  const W = randomWeights(m, 1);
  const model = createReferenceModel(m, handGraph(m), W);
  const batch = 2;
  const seq = 8;
  const tokens = randomTokens(batch * seq, 100, 7);

  it("matches the direct kernel computation", async () => {
    const ones = new Uint8Array(batch * seq).fill(1);
    const logits = await model.forward(tokens, { batch, seq });
    expect(logits.length).toBe(batch * seq * 100);
    expect(maxDiff(logits, direct(W, tokens, batch, seq, ones))).toBeLessThan(1e-6);
  });

  it("applies the padding mask like the direct computation", async () => {
    const mask = Uint8Array.from({ length: batch * seq }, (_, i) => (i % seq < 2 && i >= seq ? 0 : 1)); // left-pad sequence 1
    const logits = await model.forward(tokens, { batch, seq, mask });
    expect(maxDiff(logits, direct(W, tokens, batch, seq, mask))).toBeLessThan(1e-6);
    const unmasked = await model.forward(tokens, { batch, seq });
    expect(maxDiff(logits.subarray(seq * 100), unmasked.subarray(seq * 100))).toBeGreaterThan(1e-4);
  });

  it.each([
    ["one token at a time", [1, 1, 1, 1, 1, 1, 1, 1]],
    ["chunks of 3, 1, 4", [3, 1, 4]],
    ["one chunk", [8]],
  ])("decoding %s reproduces forward", async (_name, chunks) => {
    const mask = Uint8Array.from({ length: batch * seq }, (_, i) => (i === seq || i === seq + 1 ? 0 : 1));
    const full = await model.forward(tokens, { batch, seq, mask });
    expect(maxDiff(await decodeInChunks(model, tokens, batch, seq, chunks, mask), full)).toBeLessThan(1e-5);
  });

  it("the lowering of TINY gives the hand-built graph's logits", async () => {
    const lowered = createReferenceModel(m, inferenceGraph(m), W);
    const mask = Uint8Array.from({ length: batch * seq }, (_, i) => (i % 5 === 4 ? 0 : 1));
    const a = await lowered.forward(tokens, { batch, seq, mask });
    expect(maxDiff(a, await model.forward(tokens, { batch, seq, mask }))).toBeLessThan(1e-6);
  });

  it("config reports name, vocab, context and dims", () => {
    expect(model.config).toEqual({ name: "tiny", vocab: 100, context: 12, dims: { vocab: 100, d: 16, heads: 2, layers: 1, context: 12 } });
  });
});

describe("input validation", () => {
  const m = checked(TINY);
  const model = createReferenceModel(m, handGraph(m), randomWeights(m, 2));
  const err = async (p: Promise<unknown>, pattern: RegExp) => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(ModelInputError);
    expect((e as Error).message).toMatch(pattern);
  };

  it("rejects a token outside the vocabulary", async () => {
    await err(model.forward(Int32Array.of(1, 999, 3), { batch: 1, seq: 3 }), /input "tokens"\[1\] is 999, outside the vocabulary \[0, 100\)/);
    await err(model.forward(Int32Array.of(-1), { batch: 1, seq: 1 }), /input "tokens"\[0\] is -1/);
  });

  it("rejects a sequence beyond the context bound", async () => {
    await err(model.forward(new Int32Array(13), { batch: 1, seq: 13 }), /input "tokens": seq 13 exceeds the context bound of 12/);
  });

  it("rejects buffers of the wrong length", async () => {
    await err(model.forward(new Int32Array(5), { batch: 1, seq: 4 }), /input "tokens" has length 5, expected 4/);
    await err(model.forward(new Int32Array(4), { batch: 1, seq: 4, mask: new Uint8Array(3) }), /input "mask" has length 3, expected 4/);
    await err(model.forward(new Int32Array(4), { batch: 1, seq: 4, mask: Uint8Array.of(1, 1, 2, 1) }), /input "mask"\[2\] is 2/);
  });

  it("rejects bad sizes, unknown inputs and inputs given twice", async () => {
    await err(model.forward(new Int32Array(0), { batch: 1, seq: 0 }), /seq must be an integer >= 1/);
    await err(model.forward(new Int32Array(2), { batch: 0.5, seq: 4 }), /batch must be an integer >= 1/);
    await err(model.forward(new Int32Array(2), { batch: 1, seq: 2, inputs: { typo: new Int32Array(2) } }), /unknown input "typo"/);
    const mask = Uint8Array.of(1, 1);
    await err(model.forward(new Int32Array(2), { batch: 1, seq: 2, mask, inputs: { mask } }), /input "mask" is given twice/);
    await err(model.forward(new Int32Array(2), { batch: 1, seq: 2, src: { tokens: new Int32Array(2), seq: 2 } }), /has no encoder/);
  });

  it("rejects a step past the context bound, and keeps the state usable", async () => {
    const state = await model.begin({ batch: 1 });
    await model.step(state, new Int32Array(10), 10);
    await err(model.step(state, new Int32Array(3), 3), /3 more token\(s\) at position 10 would exceed the context bound of 12/);
    await model.step(state, new Int32Array(2), 2);
    expect(state.position).toBe(12);
    await err(model.step(state, new Int32Array(1), 1), /context bound of 12/);
    await err(model.step(state, Int32Array.of(100, 0), 2), /context bound|outside the vocabulary/);
    state.dispose();
    await err(model.step(state, new Int32Array(1), 1), /disposed/);
  });

  it("rejects a state from another model", async () => {
    const other = createReferenceModel(m, handGraph(m), randomWeights(m, 3));
    const state = await other.begin({ batch: 1 });
    await err(model.step(state, new Int32Array(1), 1), /not created by this model/);
  });

  it("fails loudly on a weight map that does not fit the graph", () => {
    const W = randomWeights(m, 4);
    W.delete("decoder.0.attn.q.bias");
    expect(() => createReferenceModel(m, handGraph(m), W)).toThrow(/decoder\.0\.attn\.q\.bias.*missing/);
    const W2 = randomWeights(m, 4);
    W2.set("norm.0.weight", new Float32Array(3));
    expect(() => createReferenceModel(m, handGraph(m), W2)).toThrow(/norm\.0\.weight.*3 elements/);
  });
});
