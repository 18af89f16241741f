// Models with an encoder on the reference backend: encoder–decoders (decoding against a fixed
// source) and BERT-style bidirectional encoders (padding, a second embedded input).
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../src/runtime/sample.ts";
import { GraphExecutor } from "../backends/reference/executor.ts";
import { planInputs } from "../src/runtime/inputs.ts";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { randomWeights as seededWeights } from "../src/runtime/random-weights.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { ModelInputError, type Model } from "../src/runtime/model-api.ts";

/** Larger than the GPT-2 init, so logits of tiny random models differ visibly between tokens. */
const randomWeights = (m: ModelInfo, seed: number) => seededWeights(m, seed, { std: 0.2 });

function build(text: string, seed = 1): { m: ModelInfo; model: Model } {
  const r = checkSource(text, "inline.sf");
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  const m = r.entry!;
  return { m, model: createReferenceModel(m, inferenceGraph(m), randomWeights(m, seed)) };
}

const randomTokens = (n: number, vocab: number, seed: number): Int32Array => {
  const rng = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rng() * vocab));
};

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function rejects(p: Promise<unknown>, pattern: RegExp, type: new (...a: never[]) => Error = ModelInputError): Promise<void> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(type);
  expect((e as Error).message).toMatch(pattern);
}

async function collect(it: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const t of it) out.push(t);
  return out;
}

const POST_NORM_SEQ2SEQ = `model seq2seq {
  dims { vocab = 40, d = 16, heads = 2, ff = 32, layers = 2, context = 12 }
  input src_tokens: int[batch, src_seq] where src_seq <= context
  input src_mask: bool[batch, src_seq]
  input tokens: int[batch, seq] where seq <= context
  encoder {
    embed src_tokens(vocab, d, scale = sqrt(d))
    position sinusoidal
    dropout(0.1)
    stack layers × encoder_layer(norm = post) {
      attention self(heads = heads, padding = src_mask, bias = true)
      norm layer(eps = 1e-6)
      mlp(hidden = ff, act = relu)
      norm layer(eps = 1e-6)
    }
  }
  decoder {
    embed tokens(vocab, d, scale = sqrt(d), tie = src_tokens)
    position sinusoidal
    dropout(0.1)
    stack layers × decoder_layer(norm = post) {
      attention self(heads = heads, mask = causal, bias = true)
      norm layer(eps = 1e-6)
      attention cross(heads = heads, padding = src_mask, bias = true)
      norm layer(eps = 1e-6)
      mlp(hidden = ff, act = relu)
      norm layer(eps = 1e-6)
    }
  }
  head tied
}`;

const PRE_NORM_SEQ2SEQ = `model seq2seq_wide {
  dims { vocab = 40, de = 24, d = 16, heads = 2, layers = 2, context = 12 }
  input src_tokens: int[batch, src_seq] where src_seq <= context
  input src_mask: bool[batch, src_seq]
  input tokens: int[batch, seq] where seq <= context
  encoder {
    embed src_tokens(vocab, de)
    position learned(context)
    stack layers × enc {
      norm layer
      attention self(heads = heads, padding = src_mask)
      norm layer
      mlp(hidden = 2 * de, act = gelu)
    }
    norm layer
  }
  decoder {
    embed tokens(vocab, d)
    position rope(base = 10000)
    stack layers × dec {
      norm rms
      attention self(heads = heads, mask = causal)
      norm rms
      attention cross(heads = heads, memory_dim = de, padding = src_mask, kind = linear)
      norm rms
      mlp(hidden = 2 * d, act = swiglu, bias = false)
    }
    norm rms
  }
  head linear
}`;

describe.each([
  ["post-norm Transformer (shared embeddings, sinusoidal)", POST_NORM_SEQ2SEQ],
  ["pre-norm, wider encoder, RoPE decoder, linear cross-attention", PRE_NORM_SEQ2SEQ],
])("encoder–decoder: %s", (_name, spec) => {
  const { model } = build(spec);
  const batch = 2;
  const srcSeq = 7;
  const seq = 8;
  const src = {
    tokens: randomTokens(batch * srcSeq, 40, 21),
    seq: srcSeq,
    // Sequence 1 has 2 padded source positions at the end.
    mask: Uint8Array.from({ length: batch * srcSeq }, (_, i) => (i >= 2 * srcSeq - 2 ? 0 : 1)),
  };
  const tokens = randomTokens(batch * seq, 40, 22);

  it.each([
    ["token by token", Array<number>(8).fill(1)],
    ["in chunks of 3, 1, 4", [3, 1, 4]],
  ])("decoding %s against a fixed source matches forward", async (_how, chunks) => {
    const full = await model.forward(tokens, { batch, seq, src });
    expect(full.every(Number.isFinite)).toBe(true);
    const V = 40;
    const out = new Float32Array(full.length);
    const state = await model.begin({ batch, src });
    let pos = 0;
    for (const n of chunks) {
      const step = Int32Array.from({ length: batch * n }, (_, i) => tokens[Math.floor(i / n) * seq + pos + (i % n)]);
      const logits = await model.step(state, step, n);
      for (let b = 0; b < batch; b++) out.set(logits.subarray(b * n * V, (b + 1) * n * V), (b * seq + pos) * V);
      pos += n;
    }
    expect(maxDiff(out, full)).toBeLessThan(1e-5);
  });

  it("computes the encoder and cross-attention K/V once per source, not per step", () => {
    const { m } = build(spec);
    const g = inferenceGraph(m);
    const ex = new GraphExecutor(g, randomWeights(m, 1), planInputs(m).stepInputs);
    const names = (nodes: typeof ex.stepNodes) => nodes.map((n) => g.values[n.out].name);
    expect(names(ex.staticNodes)).toContain("memory");
    expect(names(ex.staticNodes).filter((n) => /cross_attn\.[kv]$/.test(n))).toHaveLength(4);
    expect(names(ex.stepNodes).filter((n) => /^encoder\.|cross_attn\.[kv]$/.test(n))).toEqual([]);
    expect(names(ex.stepNodes)).toContain("logits");
  });

  it("ignores the tokens at padded source positions", async () => {
    const a = await model.forward(tokens, { batch, seq, src });
    const changed = { ...src, tokens: src.tokens.slice() };
    changed.tokens[2 * srcSeq - 1] = (changed.tokens[2 * srcSeq - 1] + 5) % 40;
    expect(maxDiff(a, await model.forward(tokens, { batch, seq, src: changed }))).toBeLessThan(1e-6);
    changed.tokens[srcSeq + 1] = (changed.tokens[srcSeq + 1] + 5) % 40; // a real position this time
    expect(maxDiff(a, await model.forward(tokens, { batch, seq, src: changed }))).toBeGreaterThan(1e-4);
  });

  it("requires a valid source", async () => {
    await rejects(model.forward(tokens, { batch, seq }), /has an encoder: pass src.*"src_tokens"/);
    await rejects(model.begin({ batch }), /has an encoder/);
    await rejects(model.forward(tokens, { batch, seq, src: { ...src, seq: 13, tokens: new Int32Array(26), mask: undefined } }), /src\.seq is 13, beyond its bound of 12/);
    await rejects(model.forward(tokens, { batch, seq, src: { ...src, mask: new Uint8Array(3) } }), /input "src_mask" has length 3, expected 14/);
    await rejects(model.forward(tokens, { batch, seq, src: { ...src, tokens: Int32Array.from(src.tokens, () => 40) } }), /input "src_tokens"\[0\] is 40/);
  });

  it("generates deterministically for a seed, with the source fixed", async () => {
    const one = { tokens: src.tokens.slice(0, srcSeq), seq: srcSeq };
    const run = () => collect(model.generate(Int32Array.of(1), { maxTokens: 6, temperature: 1, seed: 9, src: one }));
    const a = await run();
    expect(a).toHaveLength(6);
    expect(await run()).toEqual(a);
  });
});

const bertSpec = (attention: string) => `model bert {
  dims { vocab = 60, d = 16, heads = 2, layers = 2, ff = 32, context = 12, segments = 2 }
  input tokens: int[batch, seq] where seq <= context
  input types: int[batch, seq]
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  embed types(segments, d)
  position learned(context)
  norm layer(eps = 1e-12)
  dropout(0.1)
  stack layers × encoder(norm = post) {
    attention self(heads = heads, mask = none, padding = mask, bias = true, dropout = 0.1${attention})
    norm layer(eps = 1e-12)
    mlp(hidden = ff, act = gelu, dropout = 0.1)
    norm layer(eps = 1e-12)
  }
  head tied(bias = true, transform = gelu, eps = 1e-12)
}`;

describe.each([
  ["BERT-style", bertSpec("")],
  ["BigBird-style block sparse", bertSpec(", sparse = block(size = 2, local = 1, global = 1)")],
])("%s encoder (post-norm, padding, token types)", (_name, spec) => {
  const { model } = build(spec);
  const batch = 2;
  const seq = 10;
  const tokens = randomTokens(batch * seq, 60, 31);
  const types = Int32Array.from({ length: batch * seq }, (_, i) => (i % seq < 5 ? 0 : 1));
  // Sequence 0 is right-padded by 3.
  const mask = Uint8Array.from({ length: batch * seq }, (_, i) => (i < seq && i >= seq - 3 ? 0 : 1));

  it("padded tokens do not affect real positions; types do", async () => {
    const a = await model.forward(tokens, { batch, seq, mask, inputs: { types } });
    expect(a.every(Number.isFinite)).toBe(true);
    const changed = tokens.slice();
    changed[seq - 1] = (changed[seq - 1] + 7) % 60;
    const b = await model.forward(changed, { batch, seq, mask, inputs: { types } });
    expect(maxDiff(a.subarray(0, 7 * 60), b.subarray(0, 7 * 60))).toBeLessThan(1e-6);
    const otherTypes = types.map((t) => 1 - t);
    const c = await model.forward(tokens, { batch, seq, mask, inputs: { types: otherTypes } });
    expect(maxDiff(a, c)).toBeGreaterThan(1e-4);
  });

  it("the mask may also be passed by its input name", async () => {
    const a = await model.forward(tokens, { batch, seq, mask, inputs: { types } });
    expect(maxDiff(a, await model.forward(tokens, { batch, seq, inputs: { types, mask } }))).toBe(0);
  });

  it("requires the token types and checks their range", async () => {
    await rejects(model.forward(tokens, { batch, seq, mask }), /input "types" is required/);
    await rejects(model.forward(tokens, { batch, seq, inputs: { types: types.map(() => 2) } }), /input "types"\[0\] is 2, outside the vocabulary \[0, 2\)/);
  });

  it("refuses incremental decoding: the attention is bidirectional", async () => {
    await rejects(model.begin({ batch: 1 }), /cannot decode incrementally: attention "encoder\.0\.attn" is bidirectional/, Error);
  });
});
