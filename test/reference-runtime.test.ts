// The backend-independent runtime pieces: binding a checkpoint to a model's layout, and
// generate() over begin/step.
import { describe, expect, it } from "vitest";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { randomWeights as seededWeights } from "../src/runtime/random-weights.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import { generate } from "../src/runtime/generate.ts";
import { ModelInputError, type DecodeState, type Model } from "../src/runtime/model-api.ts";
import { WeightsError, parseSafetensors, writeSafetensors, type DType, type TensorToWrite } from "../src/runtime/safetensors.ts";

/** Larger than the GPT-2 init, so logits of tiny random models differ visibly between tokens. */
const randomWeights = (m: ModelInfo, seed: number) => seededWeights(m, seed, { std: 0.2 });

const SPEC = `model small {
  dims { vocab = 30, d = 8, heads = 2, layers = 1, context = 10 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position learned(context)
  stack layers × decoder {
    norm layer
    attention self(heads = heads, mask = causal, bias = true)
    norm layer
    mlp(hidden = 16, act = gelu)
  }
  norm layer
  head linear
}`;

const m: ModelInfo = checkSource(SPEC, "inline.sf").entry!;
const W = randomWeights(m, 5);
const layout = weightLayout(m);

function file(dtype: DType = "F32", edit: (ts: TensorToWrite[]) => TensorToWrite[] = (ts) => ts) {
  const ts = layout.map((t) => ({ name: t.name, dtype, shape: t.shape, data: W.get(t.name)! }));
  return parseSafetensors(writeSafetensors(edit(ts)));
}

function weightsError(f: () => unknown): WeightsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WeightsError);
    return e as WeightsError;
  }
  throw new Error("expected a WeightsError");
}

describe("bindWeights", () => {
  it("loads every tensor of the layout, in layout order", () => {
    const bound = bindWeights(m, file());
    expect([...bound.keys()]).toEqual(layout.map((t) => t.name));
    for (const [name, data] of bound) expect(data).toEqual(W.get(name));
  });

  it.each(["F16", "BF16"] as const)("loads %s tensors as f32", (dtype) => {
    const bound = bindWeights(m, file(dtype));
    const tol = dtype === "F16" ? 1e-3 : 1e-2;
    for (const [name, data] of bound) data.forEach((x, i) => expect(Math.abs(x - W.get(name)![i])).toBeLessThan(tol));
  });

  it("names a missing tensor", () => {
    const e = weightsError(() => bindWeights(m, file("F32", (ts) => ts.filter((t) => t.name !== "decoder.0.attn.k.bias"))));
    expect(e.tensor).toBe("decoder.0.attn.k.bias");
    expect(e.message).toMatch(/missing tensor "decoder\.0\.attn\.k\.bias"/);
  });

  it("names a tensor of the wrong shape or dtype", () => {
    const reshaped = weightsError(() =>
      bindWeights(m, file("F32", (ts) => ts.map((t) => (t.name === "head.weight" ? { ...t, shape: [8, 30] } : t)))),
    );
    expect(reshaped.message).toMatch(/"head\.weight": expected shape \[30, 8\], found \[8, 30\]/);
    const ints = weightsError(() =>
      bindWeights(m, file("F32", (ts) => ts.map((t) => (t.name === "norm.0.bias" ? { ...t, dtype: "I32", data: new Int32Array(8) } : t)))),
    );
    expect(ints.message).toMatch(/"norm\.0\.bias": expected dtype F32 or F16 or BF16, found I32/);
  });

  it("rejects unexpected tensors, listing a few", () => {
    const extra = (n: number) => (ts: TensorToWrite[]) => [
      ...ts,
      ...Array.from({ length: n }, (_, i) => ({ name: `transformer.h.${i}.weight`, dtype: "F32" as const, shape: [1], data: new Float32Array(1) })),
    ];
    expect(weightsError(() => bindWeights(m, file("F32", extra(1)))).message).toMatch(/1 unexpected tensor for model small: "transformer\.h\.0\.weight"/);
    const many = weightsError(() => bindWeights(m, file("F32", extra(8)))).message;
    expect(many).toMatch(/8 unexpected tensors .*"transformer\.h\.4\.weight" and 3 more; the checkpoint may belong to a different model/);
  });

  it("validates what a name map produces", () => {
    const hf = parseSafetensors(writeSafetensors(layout.map((t) => ({ name: `model.${t.name}`, dtype: "F32", shape: t.shape, data: W.get(t.name)! }))));
    const map = (f: typeof hf) => new Map([...f.tensors.keys()].map((n) => [n.slice("model.".length), f.f32(n)]));
    expect(bindWeights(m, hf, { map }).get("head.weight")).toEqual(W.get("head.weight"));
    const short = (f: typeof hf) => new Map([...map(f)].map(([n, d]) => [n, n === "position.weight" ? d.subarray(1) : d]));
    expect(weightsError(() => bindWeights(m, hf, { map: short })).message).toMatch(/"position\.weight": mapped tensor has 79 elements, expected shape \[10, 8\] = 80/);
    const lossy = (f: typeof hf) => new Map([...map(f)].filter(([n]) => n !== "head.weight"));
    expect(weightsError(() => bindWeights(m, hf, { map: lossy })).tensor).toBe("head.weight");
    const noisy = (f: typeof hf) => new Map([...map(f), ["lm_head.weight", new Float32Array(1)]]);
    expect(weightsError(() => bindWeights(m, hf, { map: noisy })).message).toMatch(/unexpected tensor .*"lm_head\.weight"/);
  });

  it("feeds the reference model", async () => {
    const model = createReferenceModel(m, inferenceGraph(m), bindWeights(m, file()));
    const direct = createReferenceModel(m, inferenceGraph(m), W);
    const tokens = Int32Array.of(1, 2, 3);
    expect(await model.forward(tokens, { batch: 1, seq: 3 })).toEqual(await direct.forward(tokens, { batch: 1, seq: 3 }));
  });
});

/** A model whose next token is always (last token + 1) % vocab, to test generate's control flow alone. */
function counter(vocab: number, context?: number): Pick<Model, "config" | "begin" | "step"> & { disposed: number } {
  const fake = {
    disposed: 0,
    config: { name: "counter", vocab, ...(context !== undefined ? { context } : {}), dims: {} },
    async begin(): Promise<DecodeState> {
      const s = { batch: 1, position: 0, dispose: () => void fake.disposed++ };
      return s;
    },
    async step(state: DecodeState, tokens: Int32Array, n: number): Promise<Float32Array> {
      if (context !== undefined && state.position + n > context) throw new ModelInputError("past the context");
      (state as { position: number }).position += n;
      const out = new Float32Array(n * vocab);
      for (let r = 0; r < n; r++) out[r * vocab + ((tokens[r] + 1) % vocab)] = 10;
      return out;
    },
  };
  return fake;
}

async function collect(it: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const t of it) out.push(t);
  return out;
}

describe("generate", () => {
  it("stops at maxTokens, at a stop token (not yielded), and at the context bound", async () => {
    expect(await collect(generate(counter(10), Int32Array.of(2), { maxTokens: 4 }))).toEqual([3, 4, 5, 6]);
    expect(await collect(generate(counter(10), Int32Array.of(2), { maxTokens: 9, stop: [6, 8] }))).toEqual([3, 4, 5]);
    // Prompt at positions 0..1; tokens fill positions 2..5 and the last one needs no step.
    expect(await collect(generate(counter(10, 5), Int32Array.of(0, 1), { maxTokens: 50 }))).toEqual([2, 3, 4, 5]);
    expect(await collect(generate(counter(10), Int32Array.of(2), { maxTokens: 0 }))).toEqual([]);
  });

  it("disposes its state, also when the consumer stops early", async () => {
    const fake = counter(10);
    for await (const t of generate(fake, Int32Array.of(1), { maxTokens: 5 })) if (t === 3) break;
    expect(fake.disposed).toBe(1);
  });

  it("rejects bad options and prompts", async () => {
    const bad = async (prompt: Int32Array, opts: Parameters<typeof generate>[2], pattern: RegExp) => {
      await expect(collect(generate(counter(10, 4), prompt, opts))).rejects.toThrow(pattern);
    };
    await bad(new Int32Array(0), { maxTokens: 1 }, /prompt is empty/);
    await bad(Int32Array.of(1), { maxTokens: -1 }, /maxTokens must be an integer >= 0/);
    await bad(Int32Array.of(1), { maxTokens: 1, temperature: -1 }, /temperature/);
    await bad(Int32Array.of(1), { maxTokens: 1, topK: 1.5 }, /topK/);
    await bad(new Int32Array(5), { maxTokens: 1 }, /past the context/);
  });

  it("samples reproducibly from a seed on the reference model", async () => {
    const model = createReferenceModel(m, inferenceGraph(m), W);
    const run = (seed: number) => collect(model.generate(Int32Array.of(4, 2), { maxTokens: 6, temperature: 1.5, seed }));
    expect(await run(123)).toEqual(await run(123));
    // topK 1 is greedy whatever the temperature.
    const greedy = await collect(model.generate(Int32Array.of(4, 2), { maxTokens: 6 }));
    expect(await collect(model.generate(Int32Array.of(4, 2), { maxTokens: 6, temperature: 3, topK: 1, seed: 1 }))).toEqual(greedy);
  });
});
