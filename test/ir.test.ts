import { describe, expect, it } from "vitest";
import { checkSource, checkFile } from "../src/check/check.ts";
import { inferenceGraph, lowerModel } from "../src/ir/lower.ts";
import { printGraph } from "../src/ir/print.ts";
import { verify, IrError } from "../src/ir/verify.ts";
import type { Graph } from "../src/ir/ir.ts";

const model = (body: string, dims = "vocab = 50, d = 32, heads = 4, layers = 2, context = 64") =>
  checkSource(`model t {\n  dims { ${dims} }\n  input tokens: int[batch, seq] where seq <= context\n${body}\n}`, "t.sf").entry!;

describe("lowering", () => {
  it("keeps sliding-window and linear attention as O(n) fused ops, never an n×n mask", () => {
    for (const att of ["window = 8", "kind = linear"]) {
      const m = model(`  embed tokens(vocab, d)\n  stack layers × dec {\n    attention self(heads = heads, mask = causal, ${att})\n    mlp(hidden = 64, act = relu)\n  }\n  head tied`);
      const g = inferenceGraph(m);
      // No value anywhere has two sequence axes: nothing is seq × seq.
      for (const v of g.values) expect(v.shape.filter((d) => d === "seq").length).toBeLessThanOrEqual(1);
      const op = g.nodes.find((n) => n.op === "attention" || n.op === "linear_attention")!;
      expect(op.op).toBe(att.startsWith("window") ? "attention" : "linear_attention");
      if (op.op === "attention") expect(op.window).toBe(8);
    }
  });

  it("lowers GQA, RoPE with a rotary fraction, and ALiBi into attention attributes", () => {
    const rope = model(`  embed tokens(vocab, d)\n  position rope(base = 500, fraction = 0.5)\n  stack layers × dec {\n    norm rms\n    attention self(heads = heads, kv_heads = 2, mask = causal)\n    norm rms\n    mlp(hidden = 64, act = swiglu, bias = false)\n  }\n  norm rms\n  head linear`);
    const a = inferenceGraph(rope).nodes.find((n) => n.op === "attention")!;
    expect(a).toMatchObject({ heads: 4, kvHeads: 2, headDim: 8, rope: { dim: 4, base: 500 }, alibi: false });
    const alibi = model(`  embed tokens(vocab, d)\n  position alibi\n  stack layers × dec {\n    attention self(heads = heads, mask = causal)\n    mlp(hidden = 64, act = gelu)\n  }\n  head tied`);
    expect(inferenceGraph(alibi).nodes.find((n) => n.op === "attention")).toMatchObject({ alibi: true });
  });

  it("puts cross-attention keys of the encoder output in the encoder phase", () => {
    const m = checkFile("specs/transformer-base.sf").entry!;
    const g = inferenceGraph(m);
    const cross = g.nodes.find((n) => n.op === "attention" && n.source === "memory")!;
    if (cross.op !== "attention") throw new Error("unreachable");
    expect(g.nodes.find((n) => n.out === cross.k)!.phase).toBe("encoder");
    expect(cross.phase).toBe("decoder");
  });

  it("carries dropout in the lowered graph and strips it for inference", () => {
    const m = checkFile("specs/bert-base.sf").entry!;
    expect(lowerModel(m).nodes.some((n) => n.op === "dropout")).toBe(true);
    expect(inferenceGraph(m).nodes.some((n) => n.op === "dropout")).toBe(false);
    expect(printGraph(inferenceGraph(checkFile("specs/transformer-base.sf").entry!))).toContain("label_smoothing=0.1");
  });
});

describe("verifier", () => {
  const g = () => inferenceGraph(checkFile("specs/gpt2-small.sf").entry!);
  const broken = (f: (g: Graph) => void) => {
    const x = structuredClone(g());
    f(x);
    return () => verify(x);
  };

  it("accepts every lowered spec", () => expect(() => verify(g())).not.toThrow());

  it("rejects use before definition", () => {
    expect(broken((x) => x.nodes.reverse())).toThrow(IrError);
  });

  it("rejects a linear whose weight does not match its input width", () => {
    expect(
      broken((x) => {
        const lin = x.nodes.find((n) => n.op === "linear")!;
        x.values[lin.out].shape = ["batch", "seq", 999];
      }),
    ).toThrow(/output width 999/);
  });

  it("rejects attention whose heads do not match q's width", () => {
    expect(
      broken((x) => {
        const a = x.nodes.find((n) => n.op === "attention")!;
        if (a.op === "attention") a.heads = 5;
      }),
    ).toThrow(IrError);
  });

  it("rejects a graph with no logits output", () => {
    expect(broken((x) => (x.nodes = x.nodes.filter((n) => n.op !== "output")))).toThrow(/logits outputs/);
  });
});
