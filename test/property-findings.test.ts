// What the spec property test (test/spec-property.test.ts) found, pinned: each spec used to
// check clean and then fail on a backend, or be rejected though well-formed.
import { describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkSource } from "../src/check/check.ts";
import { ModelInputError } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";

const model = (inputs: string, body: string) => `
model m {
  dims { vocab = 23, d = 8, heads = 2, layers = 1, context = 16 }
  ${inputs}
  ${body}
  head linear
}`;
const codes = (src: string) => checkSource(src, "m.sf").diagnostics.filter((d) => d.severity === "error").map((d) => d.code);

describe("property-test findings", () => {
  it("a fixed sequence axis is SF0214 with a `where` hint (lowering used to fail on its mask)", () => {
    const src = model("input x: int[batch, 16]\n  input pad: bool[batch, 16]", "embed x(vocab, d)\n  stack layers × encoder { attention self(heads = heads, padding = pad)\n mlp(hidden = 16, act = relu) }");
    const r = checkSource(src, "m.sf");
    expect(r.entry).toBeUndefined();
    const d = r.diagnostics.find((x) => x.code === "SF0214")!;
    expect(d.message).toMatch(/sequence axis of `x` is fixed at 16/);
    expect(d.hint).toMatch(/where seq <= 16/);
  });

  it("an f32 input is SF0214 (every forward used to throw)", () => {
    expect(codes(model("input x: int[batch, seq] where seq <= context\n  input extra: f32[batch, seq]", "embed x(vocab, d)\n  stack layers × decoder { attention self(heads = heads, mask = causal)\n mlp(hidden = 16, act = relu) }"))).toContain("SF0214");
  });

  it("linear cross-attention next to ALiBi positions checks (ALiBi biases self-attention only)", () => {
    const src = `
model m {
  dims { vocab = 23, d = 8, heads = 2, layers = 1, context = 16 }
  input src: int[batch, src_seq] where src_seq <= context
  input tokens: int[batch, seq] where seq <= context
  encoder { embed src(vocab, d)
    stack layers × enc { attention self(heads = heads)
      mlp(hidden = 16, act = relu) } }
  decoder { embed tokens(vocab, d)
    position alibi
    stack layers × dec { attention self(heads = heads, mask = causal)
      attention cross(heads = heads, kind = linear)
      mlp(hidden = 16, act = relu) } }
  head linear
}`;
    expect(codes(src)).toEqual([]);
  });

  it("an encoder with a second input refuses begin() up front instead of failing inside it", async () => {
    const src = `
model m {
  dims { vocab = 23, d = 8, heads = 2, layers = 1, context = 16 }
  input src: int[batch, src_seq] where src_seq <= context
  input src_types: int[batch, src_seq]
  input tokens: int[batch, seq] where seq <= context
  encoder { embed src(vocab, d)
    embed src_types(2, d)
    stack layers × enc { attention self(heads = heads)
      mlp(hidden = 16, act = relu) } }
  decoder { embed tokens(vocab, d)
    stack layers × dec { attention self(heads = heads, mask = causal)
      attention cross(heads = heads)
      mlp(hidden = 16, act = relu) } }
  head linear
}`;
    const m = checkSource(src, "m.sf").entry!;
    const mod = await createModel("reference", m, randomWeights(m, 1));
    const s = { tokens: new Int32Array(3), seq: 3 };
    await expect(mod.begin({ batch: 1, src: s })).rejects.toThrow(ModelInputError);
    await expect(mod.begin({ batch: 1, src: s })).rejects.toThrow(/begin\(\) cannot supply input "src_types"; use forward\(\)/);
    const logits = await mod.forward(new Int32Array(2), { batch: 1, seq: 2, src: s, inputs: { src_types: new Int32Array(3) } });
    expect(logits.length).toBe(2 * 23);
  });
});
