import { describe, expect, it } from "vitest";
import {
  paramCount,
  sublayerNames,
  tiedEmbeddingName,
  weightLayout,
  type TensorSpec,
} from "../src/model/weights-layout.ts";
import {
  attention,
  bertForMaskedLM,
  encoderDecoder,
  gpt2,
  llama,
  mlp,
  model,
  norm,
  position,
  section,
  embed,
  stack,
} from "./helpers/model-factory.ts";

const byName = (specs: TensorSpec[]) => new Map(specs.map((t) => [t.name, t.shape]));
const rows = (specs: TensorSpec[], group: string) => specs.filter((t) => t.group === group).map((t) => [t.name, t.shape]);

describe("paramCount matches published figures", () => {
  it.each([
    ["GPT-2 small", () => gpt2("gpt2", 768, 12, 12), 124_439_808],
    ["GPT-2 medium", () => gpt2("gpt2-medium", 1024, 24, 16), 354_823_168],
    ["LLaMA-2 7B", () => llama({ name: "llama2-7b", width: 4096, layers: 32, heads: 32, hidden: 11008 }), 6_738_415_616],
    ["TinyLlama 1.1B", () => llama({ name: "tinyllama", width: 2048, layers: 22, heads: 32, kvHeads: 4, hidden: 5632 }), 1_100_048_384],
    ["Mistral 7B", () => llama({ name: "mistral-7b", width: 4096, layers: 32, heads: 32, kvHeads: 8, hidden: 14336, window: 4096 }), 7_241_732_096],
    ["BERT-base (MLM)", bertForMaskedLM, 109_514_298],
  ])("%s", (_name, build, expected) => {
    expect(paramCount(build())).toBe(expected);
  });
});

describe("weightLayout", () => {
  const g = weightLayout(gpt2("gpt2", 768, 12, 12));

  it("names and shapes a GPT-2 layer in state_dict order, [out, in]", () => {
    expect(rows(g, "decoder.3")).toEqual([
      ["decoder.3.attn_norm.weight", [768]],
      ["decoder.3.attn_norm.bias", [768]],
      ["decoder.3.attn.q.weight", [768, 768]],
      ["decoder.3.attn.q.bias", [768]],
      ["decoder.3.attn.k.weight", [768, 768]],
      ["decoder.3.attn.k.bias", [768]],
      ["decoder.3.attn.v.weight", [768, 768]],
      ["decoder.3.attn.v.bias", [768]],
      ["decoder.3.attn.o.weight", [768, 768]],
      ["decoder.3.attn.o.bias", [768]],
      ["decoder.3.mlp_norm.weight", [768]],
      ["decoder.3.mlp_norm.bias", [768]],
      ["decoder.3.mlp.up.weight", [3072, 768]],
      ["decoder.3.mlp.up.bias", [3072]],
      ["decoder.3.mlp.down.weight", [768, 3072]],
      ["decoder.3.mlp.down.bias", [768]],
    ]);
  });

  it("puts section steps around the stack and gives a tied head no tensor", () => {
    expect(g.slice(0, 2)).toEqual([
      { name: "embed.tokens.weight", shape: [50257, 768], group: "embed.tokens" },
      { name: "position.weight", shape: [1024, 768], group: "position" },
    ]);
    expect(g.slice(-2).map((t) => t.name)).toEqual(["norm.0.weight", "norm.0.bias"]);
    expect(new Set(g.map((t) => t.group))).toEqual(
      new Set(["embed.tokens", "position", ...Array.from({ length: 12 }, (_, i) => `decoder.${i}`), "norm.0"]),
    );
    expect(g.some((t) => t.name.startsWith("head"))).toBe(false);
    expect(tiedEmbeddingName(gpt2("gpt2", 768, 12, 12))).toBe("embed.tokens.weight");
  });

  it("is deterministic and never repeats a name", () => {
    const m = encoderDecoder({ vocab: 100, encWidth: 32, decWidth: 32, heads: 4, layers: 2, hidden: 64 });
    const a = weightLayout(m);
    expect(weightLayout(m)).toEqual(a);
    expect(new Set(a.map((t) => t.name)).size).toBe(a.length);
  });

  it("shrinks k and v to kvHeads under GQA", () => {
    const t = byName(weightLayout(llama({ name: "tinyllama", width: 2048, layers: 22, heads: 32, kvHeads: 4, hidden: 5632 })));
    expect(t.get("decoder.0.attn.q.weight")).toEqual([2048, 2048]);
    expect(t.get("decoder.0.attn.k.weight")).toEqual([256, 2048]);
    expect(t.get("decoder.0.attn.v.weight")).toEqual([256, 2048]);
    expect(t.get("decoder.0.attn.o.weight")).toEqual([2048, 2048]);
  });

  it("gives gated MLPs gate/up/down, RMSNorm no bias, and an untied head its own matrix", () => {
    const l = weightLayout(llama({ name: "llama2-7b", width: 4096, layers: 32, heads: 32, hidden: 11008 }));
    expect(rows(l, "decoder.31").filter(([n]) => String(n).includes("mlp"))).toEqual([
      ["decoder.31.mlp_norm.weight", [4096]],
      ["decoder.31.mlp.gate.weight", [11008, 4096]],
      ["decoder.31.mlp.up.weight", [11008, 4096]],
      ["decoder.31.mlp.down.weight", [4096, 11008]],
    ]);
    expect(l.some((t) => t.name.endsWith(".bias"))).toBe(false);
    expect(l.some((t) => t.name.startsWith("position"))).toBe(false); // RoPE has no weights
    expect(l.at(-1)).toEqual({ name: "head.weight", shape: [32000, 4096], group: "head" });
  });

  it("gives gated MLP biases their own shapes", () => {
    const m = model("g", [section("main", "tokens", 8, [embed("tokens", 10, 8), stack("layers", 1, [mlp(12, "geglu", { bias: true })])])], {
      kind: "tied", vocab: 10, bias: false,
    });
    expect(weightLayout(m).slice(1).map((t) => [t.name, t.shape])).toEqual([
      ["layers.0.mlp.gate.weight", [12, 8]],
      ["layers.0.mlp.gate.bias", [12]],
      ["layers.0.mlp.up.weight", [12, 8]],
      ["layers.0.mlp.up.bias", [12]],
      ["layers.0.mlp.down.weight", [8, 12]],
      ["layers.0.mlp.down.bias", [8]],
    ]);
  });

  it("prefixes encoder/decoder sections and reads cross-attention keys from the encoder width", () => {
    const m = encoderDecoder({ vocab: 100, encWidth: 48, decWidth: 32, heads: 4, layers: 2, hidden: 64 });
    const l = weightLayout(m);
    expect(l[0]).toEqual({ name: "encoder.embed.src.weight", shape: [100, 48], group: "encoder.embed.src" });
    expect(rows(l, "decoder.layers.1").map(([n]) => n)).toEqual([
      ...["attn_norm.weight", "attn_norm.bias", "attn.q.weight", "attn.k.weight", "attn.v.weight", "attn.o.weight"],
      ...["cross_attn_norm.weight", "cross_attn_norm.bias"],
      ...["cross_attn.q.weight", "cross_attn.k.weight", "cross_attn.v.weight", "cross_attn.o.weight"],
      ...["mlp_norm.weight", "mlp_norm.bias", "mlp.up.weight", "mlp.down.weight"],
    ].map((n) => `decoder.layers.1.${n}`));
    const t = byName(l);
    expect(t.get("decoder.layers.1.cross_attn.q.weight")).toEqual([32, 32]);
    expect(t.get("decoder.layers.1.cross_attn.k.weight")).toEqual([32, 48]);
    expect(t.get("decoder.layers.1.cross_attn.v.weight")).toEqual([32, 48]);
    expect(t.get("encoder.norm.0.weight")).toEqual([48]);
    expect(t.get("decoder.norm.0.weight")).toEqual([32]);
    expect(l.at(-1)).toEqual({ name: "head.weight", shape: [100, 32], group: "head" });
    expect(tiedEmbeddingName(m)).toBeUndefined();
  });

  it("suffixes repeated sublayers from the second on", () => {
    const s = stack("layers", 1, [
      attention({ width: 8, heads: 2, norm: norm("rms") }),
      attention({ width: 8, heads: 2, norm: norm("rms") }),
      mlp(16, "relu"),
      attention({ width: 8, heads: 2 }),
    ]);
    if (s.op !== "stack") throw new Error("unreachable");
    expect(sublayerNames(s.stack)).toEqual(["attn", "attn1", "mlp", "attn2"]);
    const m = model("dup", [section("main", "tokens", 8, [embed("tokens", 10, 8), s])], { kind: "tied", vocab: 10, bias: false });
    const names = weightLayout(m).map((t) => t.name);
    expect(names).toContain("layers.0.attn1_norm.weight");
    expect(names).toContain("layers.0.attn2.q.weight");
    expect(names).not.toContain("layers.0.attn1_norm.bias");
  });

  it("lists post-norm sublayer norms after the sublayer, and the BERT head's transform", () => {
    const b = weightLayout(bertForMaskedLM());
    const layer = rows(b, "encoder.0").map(([n]) => n);
    expect(layer.indexOf("encoder.0.attn_norm.weight")).toBeGreaterThan(layer.indexOf("encoder.0.attn.o.bias"));
    expect(b.slice(0, 5).map((t) => [t.name, t.shape])).toEqual([
      ["embed.tokens.weight", [30522, 768]],
      ["embed.segments.weight", [2, 768]],
      ["position.weight", [512, 768]],
      ["norm.0.weight", [768]],
      ["norm.0.bias", [768]],
    ]);
    expect(rows(b, "head")).toEqual([
      ["head.transform.weight", [768, 768]],
      ["head.transform.bias", [768]],
      ["head.transform_norm.weight", [768]],
      ["head.transform_norm.bias", [768]],
      ["head.bias", [30522]],
    ]);
  });

  it("gives only learned positions a table", () => {
    for (const p of [{ kind: "none" }, { kind: "sinusoidal" }, { kind: "alibi" }, { kind: "rope", base: 1e4, fraction: 0.5 }] as const) {
      const m = model("p", [section("main", "tokens", 8, [embed("tokens", 10, 8), position(p)])], { kind: "tied", vocab: 10, bias: false });
      expect(weightLayout(m).map((t) => t.name)).toEqual(["embed.tokens.weight"]);
    }
  });
});
