// Lowered specs on the reference backend with seeded random weights: incremental decoding
// must reproduce the full forward for every decoder, whatever the attention variant.
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../src/runtime/sample.ts";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { randomWeights as seededWeights } from "../src/runtime/random-weights.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { ModelInputError, type Model } from "../src/runtime/model-api.ts";

/** Larger than the GPT-2 init, so logits of tiny random models differ visibly between tokens. */
const randomWeights = (m: ModelInfo, seed: number) => seededWeights(m, seed, { std: 0.2 });

function checked(text: string): ModelInfo {
  const r = checkSource(text, "inline.sf");
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  return r.entry!;
}

function build(text: string, seed = 1): { m: ModelInfo; model: Model } {
  const m = checked(text);
  return { m, model: createReferenceModel(m, inferenceGraph(m), randomWeights(m, seed)) };
}

const decoderSpec = (o: { dims: string; pos: string; norm: string; attn: string; mlp: string; head: string; mask?: boolean }) => `model m {
  dims { vocab = 50, layers = 2, context = 16, ${o.dims} }
  input tokens: int[batch, seq] where seq <= context
  ${o.mask ? "input mask: bool[batch, seq]" : ""}
  embed tokens(vocab, d)
  ${o.pos}
  stack layers × decoder {
    ${o.norm}
    attention self(${o.attn})
    ${o.norm}
    mlp(${o.mlp})
  }
  ${o.norm}
  head ${o.head}
}`;

const DECODERS: Array<[string, string, boolean]> = [
  ["GPT-style (learned positions, LayerNorm, tied head, padding)", decoderSpec({
    dims: "d = 16, heads = 2", pos: "position learned(context)", norm: "norm layer(eps = 1e-5)",
    attn: "heads = heads, mask = causal, bias = true, padding = mask", mlp: "hidden = 4 * d, act = gelu_tanh", head: "tied", mask: true,
  }), true],
  ["LLaMA-style (RoPE, GQA 4/2, SwiGLU, RMSNorm)", decoderSpec({
    dims: "d = 32, heads = 4, kv_heads = 2, hidden = 48", pos: "position rope(base = 10000)", norm: "norm rms(eps = 1e-5)",
    attn: "heads = heads, kv_heads = kv_heads, mask = causal", mlp: "hidden = hidden, act = swiglu, bias = false", head: "linear",
  }), false],
  ["sliding window 3 with partial RoPE and padding", decoderSpec({
    dims: "d = 32, heads = 4, kv_heads = 1, hidden = 48", pos: "position rope(base = 500, fraction = 0.5)", norm: "norm rms(eps = 1e-5)",
    attn: "heads = heads, kv_heads = kv_heads, mask = causal, window = 3, padding = mask", mlp: "hidden = hidden, act = geglu, bias = false", head: "linear", mask: true,
  }), true],
  ["linear attention (elu1, sinusoidal)", decoderSpec({
    dims: "d = 16, heads = 2", pos: "position sinusoidal", norm: "norm layer(eps = 1e-5)",
    attn: "heads = heads, mask = causal, kind = linear, feature_map = elu1, bias = true", mlp: "hidden = 4 * d, act = gelu", head: "tied",
  }), false],
  ["linear attention (relu, padding)", decoderSpec({
    dims: "d = 16, heads = 2", pos: "position sinusoidal", norm: "norm layer(eps = 1e-5)",
    attn: "heads = heads, mask = causal, kind = linear, feature_map = relu, padding = mask", mlp: "hidden = 4 * d, act = relu", head: "tied", mask: true,
  }), true],
  ["ALiBi with 3 heads", decoderSpec({
    dims: "d = 24, heads = 3", pos: "position alibi", norm: "norm layer(eps = 1e-5)",
    attn: "heads = heads, mask = causal, bias = true", mlp: "hidden = 2 * d, act = gelu", head: "tied",
  }), false],
  ["block sparse (size 2, local 1, global 1)", decoderSpec({
    dims: "d = 16, heads = 2", pos: "position learned(context)", norm: "norm layer(eps = 1e-5)",
    attn: "heads = heads, mask = causal, sparse = block(size = 2, local = 1, global = 1)", mlp: "hidden = 32, act = silu", head: "tied",
  }), false],
  ["strided sparse (stride 4)", decoderSpec({
    dims: "d = 16, heads = 2", pos: "position none", norm: "norm rms(eps = 1e-5)",
    attn: "heads = heads, mask = causal, sparse = strided(stride = 4)", mlp: "hidden = 32, act = gelu", head: "linear",
  }), false],
];

function randomTokens(n: number, vocab: number, seed: number): Int32Array {
  const rng = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rng() * vocab));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function decodeInChunks(
  model: Model, tokens: Int32Array, batch: number, seq: number, chunks: number[],
  opts: { mask?: Uint8Array; src?: { tokens: Int32Array; seq: number; mask?: Uint8Array } } = {},
): Promise<Float32Array> {
  const V = model.config.vocab;
  const out = new Float32Array(batch * seq * V);
  const state = await model.begin({ batch, ...(opts.src ? { src: opts.src } : {}) });
  let pos = 0;
  for (const n of chunks) {
    const cols = <T extends Int32Array | Uint8Array>(src: T, make: (len: number) => T): T => {
      const c = make(batch * n);
      for (let i = 0; i < batch * n; i++) c[i] = src[Math.floor(i / n) * seq + pos + (i % n)];
      return c;
    };
    const mask = opts.mask ? { mask: cols(opts.mask, (l) => new Uint8Array(l)) } : {};
    const logits = await model.step(state, cols(tokens, (l) => new Int32Array(l)), n, mask);
    for (let b = 0; b < batch; b++) out.set(logits.subarray(b * n * V, (b + 1) * n * V), (b * seq + pos) * V);
    pos += n;
  }
  state.dispose();
  return out;
}

async function collect(it: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const t of it) out.push(t);
  return out;
}

const argmaxRow = (logits: Float32Array, row: number, V: number): number => {
  let best = 0;
  for (let i = 1; i < V; i++) if (logits[row * V + i] > logits[row * V + best]) best = i;
  return best;
};

describe.each(DECODERS)("%s", (_name, spec, hasMask) => {
  const { model } = build(spec);
  const batch = 2;
  const seq = 10;
  const tokens = randomTokens(batch * seq, 50, 11);
  // Sequence 1 is left-padded by 3 when the model takes a mask.
  const mask = hasMask ? Uint8Array.from({ length: batch * seq }, (_, i) => (i >= seq && i < seq + 3 ? 0 : 1)) : undefined;
  const fwd = () => model.forward(tokens, { batch, seq, ...(mask ? { mask } : {}) });

  it("forward gives finite logits of the right size", async () => {
    const logits = await fwd();
    expect(logits.length).toBe(batch * seq * 50);
    expect(logits.every(Number.isFinite)).toBe(true);
  });

  it.each([
    ["token by token", Array<number>(10).fill(1)],
    ["in chunks of 3, 1, 4, 2", [3, 1, 4, 2]],
  ])("decoding %s matches forward", async (_how, chunks) => {
    const full = await fwd();
    expect(maxDiff(await decodeInChunks(model, tokens, batch, seq, chunks, mask ? { mask } : {}), full)).toBeLessThan(1e-5);
  });

  it("is causal: a later token does not change earlier logits", async () => {
    const a = await fwd();
    const changed = tokens.slice();
    changed[seq - 1] = (changed[seq - 1] + 1) % 50;
    const b = await model.forward(changed, { batch, seq, ...(mask ? { mask } : {}) });
    expect(maxDiff(a.subarray(0, (seq - 1) * 50), b.subarray(0, (seq - 1) * 50))).toBe(0);
    expect(maxDiff(a.subarray((seq - 1) * 50, seq * 50), b.subarray((seq - 1) * 50, seq * 50))).toBeGreaterThan(0);
  });

  it("generates greedily what forward's argmax predicts, and deterministically with a seed", async () => {
    const prompt = Int32Array.of(3, 1, 4);
    const greedy = await collect(model.generate(prompt, { maxTokens: 5 }));
    const seqSoFar = [...prompt];
    for (const t of greedy) {
      const logits = await model.forward(Int32Array.from(seqSoFar), { batch: 1, seq: seqSoFar.length });
      expect(t).toBe(argmaxRow(logits, seqSoFar.length - 1, 50));
      seqSoFar.push(t);
    }
    const sampled = (seed: number) => collect(model.generate(prompt, { maxTokens: 8, temperature: 2, topK: 20, seed }));
    const [a, b] = [await sampled(5), await sampled(5)];
    expect(a).toEqual(b);
    const others = await Promise.all([6, 7, 8].map(sampled));
    expect(others.some((o) => o.join() !== a.join())).toBe(true);
    // The context bound (16) ends generation even when maxTokens asks for more.
    expect(await collect(model.generate(prompt, { maxTokens: 100 }))).toHaveLength(16 - prompt.length + 1);
  });
});

describe("batching", () => {
  it("each sequence of a batch gets the logits it gets alone", async () => {
    const { model } = build(DECODERS[0][1]);
    const tokens = randomTokens(2 * 6, 50, 3);
    const both = await model.forward(tokens, { batch: 2, seq: 6 });
    const second = await model.forward(tokens.slice(6), { batch: 1, seq: 6 });
    expect(maxDiff(both.subarray(6 * 50), second)).toBeLessThan(1e-6);
  });
});
