import { describe, expect, it } from "vitest";
import { visibleKeySegments } from "../backends/reference/kernels/attention.ts";
import type { AttentionInfo, ModelInfo, SparsePattern } from "../src/model/model.ts";
import { paramCount } from "../src/model/weights-layout.ts";
import {
  formatBytes,
  formatCount,
  formatFlops,
  renderSummaryText,
  summarize,
  summaryJson,
  type SummaryRow,
} from "../src/inspect/summary.ts";
import {
  attention,
  bertForMaskedLM,
  embed,
  encoderDecoder,
  gpt2,
  llama,
  model,
  section,
  stack,
  tinyGpt,
} from "./helpers/model-factory.ts";

const row = (rows: SummaryRow[], name: string): SummaryRow => {
  const r = rows.find((x) => x.name === name);
  if (!r) throw new Error(`no row ${name}`);
  return r;
};

/** One bare attention layer (no norm, biases or RoPE), so its FLOPs follow the formula exactly. */
function oneAttention(a: Partial<AttentionInfo>, width = 16, heads = 4): ModelInfo {
  const att = attention({ width, heads, ...a });
  return model("one", [section("main", "tokens", width, [embed("tokens", 10, width), stack("layers", 1, [att])])], {
    kind: "tied", vocab: 10, bias: false,
  });
}

/** Projections + (QKᵀ, AV: 2·hd each per pair) + softmax 5 per pair + residual add. */
function softmaxAttentionFlops(width: number, heads: number, batch: number, seq: number, pairs: number): number {
  const T = batch * seq;
  const hd = width / heads;
  return 4 * 2 * T * width * width + batch * heads * pairs * (4 * hd + 5) + T * width;
}

const models: Array<[string, () => ModelInfo]> = [
  ["gpt2", () => gpt2("gpt2", 768, 12, 12)],
  ["tinyllama", () => llama({ name: "tinyllama", width: 2048, layers: 22, heads: 32, kvHeads: 4, hidden: 5632 })],
  ["bert", bertForMaskedLM],
  ["seq2seq", () => encoderDecoder({ vocab: 100, encWidth: 48, decWidth: 32, heads: 4, layers: 2, hidden: 64 })],
];

describe("summarize", () => {
  it.each(models)("%s: totals agree with paramCount and with the rows", (_name, build) => {
    const m = build();
    const s = summarize(m, { seq: 32, batch: 2 });
    const top = s.rows.filter((r) => r.depth === 1);
    expect(s.params).toBe(paramCount(m));
    expect(s.weightBytes).toBe(4 * paramCount(m));
    expect(s.flops).toBe(top.reduce((a, r) => a + r.flops, 0));
    expect(s.activationBytes).toBe(top.reduce((a, r) => a + r.activationBytes, 0));
    // A layer row is exactly the sum of its sublayer rows.
    top.filter((r) => r.kind.endsWith(" layer")).forEach((layer) => {
      const kids = s.rows.filter((r) => r.depth === 2 && r.name.startsWith(`${layer.name}.`));
      expect(kids.length).toBeGreaterThan(0);
      for (const k of ["params", "flops", "activationBytes"] as const) {
        expect(kids.reduce((a, r) => a + r[k], 0)).toBe(layer[k]);
      }
    });
  });

  it("lays out a GPT-2 as steps, layers with sublayers, and the head", () => {
    const s = summarize(gpt2("gpt2", 768, 12, 12), { seq: 128, batch: 2 });
    expect(s.rows).toHaveLength(2 + 12 * 3 + 2);
    expect(s.rows.slice(0, 5).map((r) => [r.name, r.kind, r.depth, r.params])).toEqual([
      ["embed.tokens", "embedding", 1, 38_597_376],
      ["position", "learned positions", 1, 786_432],
      ["decoder.0", "decoder layer", 1, 7_087_872],
      ["decoder.0.attn", "causal self-attention", 2, 2_363_904],
      ["decoder.0.mlp", "gelu_tanh mlp", 2, 4_723_968],
    ]);
    expect(row(s.rows, "decoder.11").outputShape).toEqual([2, 128, 768]);
    expect(s.rows.slice(-2).map((r) => [r.name, r.kind, r.outputShape])).toEqual([
      ["norm.0", "LayerNorm", [2, 128, 768]],
      ["head", "tied LM head", [2, 128, 50257]],
    ]);
    const attn = row(s.rows, "decoder.0.attn");
    expect(attn.activationBytes).toBe(2 * 128 * 768 * 4 + 2 * 12 * 128 * 128 * 4);
    expect(attn.note).toMatch(/12×128×128/);
    expect(row(s.rows, "decoder.0.mlp").note).toBeUndefined();
    expect(row(s.rows, "head").activationBytes).toBe(2 * 128 * 50257 * 4);
  });

  it("puts GPT-2's forward FLOPs near the 2·N·tokens + attention estimate", () => {
    const [L, d, S, V] = [12, 768, 1024, 50257];
    const s = summarize(gpt2("gpt2", d, L, 12), { seq: S });
    // Kaplan et al.: 2 flops per matmul weight per token, plus QKᵀ and AV over the context.
    const estimate = S * (2 * (12 * L * d * d + d * V) + 4 * L * S * d);
    expect(s.flops / estimate).toBeGreaterThan(1);
    expect(s.flops / estimate).toBeLessThan(1.05);
  });

  it("counts full seq×seq for dense attention, causal or not", () => {
    for (const causal of [true, false]) {
      const s = summarize(oneAttention({ causal }), { seq: 12, batch: 3 });
      expect(row(s.rows, "layers.0.attn").flops).toBe(softmaxAttentionFlops(16, 4, 3, 12, 12 * 12));
    }
  });

  it("counts seq×min(window, seq) keys for a causal window, 2w−1 bidirectional, and no score matrix", () => {
    const causal = summarize(oneAttention({ window: 5 }), { seq: 12 });
    const attn = row(causal.rows, "layers.0.attn");
    expect(attn.flops).toBe(softmaxAttentionFlops(16, 4, 1, 12, 12 * 5));
    expect(attn.activationBytes).toBe(12 * 16 * 4);
    expect(attn.note).toBeUndefined();
    expect(attn.kind).toBe("causal window 5 self-attention");
    const wide = summarize(oneAttention({ window: 50 }), { seq: 12 });
    expect(row(wide.rows, "layers.0.attn").flops).toBe(softmaxAttentionFlops(16, 4, 1, 12, 12 * 12));
    const bidi = summarize(oneAttention({ window: 3, causal: false }), { seq: 12 });
    expect(row(bidi.rows, "layers.0.attn").flops).toBe(softmaxAttentionFlops(16, 4, 1, 12, 12 * 5));
  });

  it.each<[string, SparsePattern, number]>([
    ["block", { kind: "block", block: 4, local: 1, global: 1 }, 16],
    ["block wide band", { kind: "block", block: 3, local: 2, global: 2 }, 19],
    ["block local 0", { kind: "block", block: 3, local: 0, global: 1 }, 12],
    ["strided", { kind: "strided", stride: 4 }, 17],
    ["strided 1", { kind: "strided", stride: 1 }, 7],
  ])("counts the keys the kernel visits for %s sparsity", (_n, sparse, seq) => {
    // Independent count: the reference kernel's own visibility walk, without the causal mask.
    let pairs = 0;
    const segs: number[] = [];
    for (let i = 0; i < seq; i++) {
      visibleKeySegments(i, seq, { causal: false, sparse }, segs);
      for (let k = 0; k < segs.length; k += 3) pairs += Math.ceil((segs[k + 1] - segs[k]) / segs[k + 2]);
    }
    const s = summarize(oneAttention({ sparse }), { seq });
    const attn = row(s.rows, "layers.0.attn");
    expect(attn.flops).toBe(softmaxAttentionFlops(16, 4, 1, seq, pairs));
    expect(attn.note).toBeUndefined();
  });

  it("counts linear attention as 4·seq·headDim² per head", () => {
    const s = summarize(oneAttention({ linear: { featureMap: "elu1" } }), { seq: 20, batch: 2 });
    const attn = row(s.rows, "layers.0.attn");
    const T = 2 * 20;
    expect(attn.flops).toBe(4 * 2 * T * 16 * 16 + 2 * 4 * 4 * 20 * 4 * 4 + T * 16);
    expect(attn.kind).toBe("causal linear (elu1) self-attention");
    expect(attn.activationBytes).toBe(T * 16 * 4);
  });

  it("runs the encoder at srcSeq and cross-attention over srcSeq keys", () => {
    const m = encoderDecoder({ vocab: 100, encWidth: 48, decWidth: 32, heads: 4, layers: 1, hidden: 64 });
    const s = summarize(m, { seq: 8, srcSeq: 16, batch: 2 });
    expect(s.srcSeq).toBe(16);
    expect(row(s.rows, "encoder.layers.0").outputShape).toEqual([2, 16, 48]);
    expect(row(s.rows, "encoder.layers.0").kind).toBe("encoder layer");
    expect(row(s.rows, "decoder.layers.0").kind).toBe("decoder layer");
    const cross = row(s.rows, "decoder.layers.0.cross_attn");
    expect(cross.outputShape).toEqual([2, 8, 32]);
    expect(cross.kind).toBe("cross-attention");
    expect(cross.activationBytes).toBe(2 * 8 * 32 * 4 + 2 * 4 * 8 * 16 * 4);
    // q, o over 2·8 decoder tokens; k, v over 2·16 encoder tokens of width 48; 4·hd per pair.
    const T = 16;
    const Tk = 32;
    const expected = 2 * T * 32 * 32 * 2 + 2 * 2 * Tk * 48 * 32 + 2 * 4 * 8 * 16 * (4 * 8 + 5) + 5 * T * 32 + T * 32;
    expect(cross.flops).toBe(expected);
    const defaulted = summarize(m, { seq: 8, batch: 2 });
    expect(defaulted.srcSeq).toBe(8);
    expect(row(defaulted.rows, "decoder.layers.0.attn").flops).toBe(row(s.rows, "decoder.layers.0.attn").flops);
    expect("srcSeq" in summarize(tinyGpt(), { seq: 4 })).toBe(false);
  });

  it("summarises BERT's extra embedding and transform head", () => {
    const s = summarize(bertForMaskedLM(), { seq: 128 });
    expect(s.rows.slice(0, 5).map((r) => [r.name, r.kind, r.params])).toEqual([
      ["embed.tokens", "embedding", 23_440_896],
      ["embed.segments", "embedding", 1536],
      ["position", "learned positions", 393_216],
      ["norm.0", "LayerNorm", 1536],
      ["dropout.0", "dropout 0.1", 0],
    ]);
    expect(row(s.rows, "embed.segments").flops).toBe(128 * 768); // summed into the stream
    expect(row(s.rows, "encoder.0").kind).toBe("encoder layer");
    const head = row(s.rows, "head");
    expect([head.kind, head.params]).toEqual(["tied LM head + transform", 768 * 768 + 768 + 2 * 768 + 30522]);
  });

  it("rejects non-positive or fractional sizes", () => {
    expect(() => summarize(tinyGpt(), { seq: 0 })).toThrow(RangeError);
    expect(() => summarize(tinyGpt(), { seq: 4, batch: 1.5 })).toThrow(/batch/);
  });
});

describe("formatting", () => {
  it("formats counts, FLOPs and bytes", () => {
    expect(formatCount(124_439_808)).toBe("124,439,808");
    expect([formatFlops(0), formatFlops(999), formatFlops(21_700_000_000), formatFlops(1.5e15)]).toEqual([
      "0 FLOP", "999 FLOP", "21.7 GFLOP", "1.5 PFLOP",
    ]);
    expect([formatBytes(512), formatBytes(1536), formatBytes(497_759_232), formatBytes(3 * 2 ** 30)]).toEqual([
      "512 B", "1.5 KiB", "474.7 MiB", "3.0 GiB",
    ]);
  });

  it("renders a torchinfo-style table", () => {
    expect(renderSummaryText(summarize(tinyGpt(), { seq: 4 }))).toMatchInlineSnapshot(`
      "Model: tiny (batch 1, seq 4)
      =============================================================================================
      Layer (type)                                 Output Shape   Param #       FLOPs   Activations
      =============================================================================================
      embed.tokens (embedding)                     [1, 4, 8]           80      0 FLOP         128 B
      position (learned positions)                 [1, 4, 8]          128     32 FLOP         128 B
      decoder.0 (decoder layer)                    [1, 4, 8]          872   8.5 KFLOP         384 B
        decoder.0.attn (causal self-attention) *   [1, 4, 8]          304   3.0 KFLOP         256 B
        decoder.0.mlp (gelu mlp)                   [1, 4, 8]          568   5.5 KFLOP         128 B
      decoder.1 (decoder layer)                    [1, 4, 8]          872   8.5 KFLOP         384 B
        decoder.1.attn (causal self-attention) *   [1, 4, 8]          304   3.0 KFLOP         256 B
        decoder.1.mlp (gelu mlp)                   [1, 4, 8]          568   5.5 KFLOP         128 B
      norm.0 (LayerNorm)                           [1, 4, 8]           16    160 FLOP         128 B
      head (tied LM head)                          [1, 4, 10]           0    640 FLOP         160 B
      =============================================================================================
      Total params: 1,968
      Weights: 7.7 KiB (f32)
      FLOPs (forward): 17.9 KFLOP
      Activations: 1.3 KiB (f32)
      * counts the heads×seq×keys score matrix a naive kernel materialises
      =============================================================================================
      "
    `);
  });

  it("ends GPT-2's table with the totals", () => {
    const text = renderSummaryText(summarize(gpt2("gpt2", 768, 12, 12), { seq: 128 }));
    expect(text).toContain("Total params: 124,439,808\n");
    expect(text).toContain("Weights: 474.7 MiB (f32)\n");
    expect(text).toMatch(/FLOPs \(forward\): \d+\.\d GFLOP\n/);
    expect(text).toMatch(/Activations: \d+\.\d MiB \(f32\)\n/);
    expect(text).toContain("  decoder.11.mlp (gelu_tanh mlp)");
  });

  it("serialises to plain JSON with integer totals and ordered layer objects", () => {
    const s = summarize(tinyGpt(), { seq: 4, batch: 2 });
    const j = summaryJson(s) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(["model", "batch", "seq", "params", "flops", "activationBytes", "weightBytes", "layers"]);
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
    expect(j).toMatchObject({ model: "tiny", batch: 2, seq: 4, params: 1968, weightBytes: 1968 * 4 });
    expect(Number.isInteger(j.params)).toBe(true);
    const layers = j.layers as Array<Record<string, unknown>>;
    expect(layers).toHaveLength(s.rows.length);
    expect(Object.keys(layers[0])).toEqual(["name", "kind", "outputShape", "params", "flops", "activationBytes", "depth"]);
    expect(layers.find((l) => l.name === "decoder.0.attn")).toMatchObject({ depth: 2, note: expect.stringContaining("2×4×4") });
    const seq2seq = summaryJson(summarize(encoderDecoder({ vocab: 10, encWidth: 8, decWidth: 8, heads: 2, layers: 1, hidden: 8 }), { seq: 4, srcSeq: 6 }));
    expect(seq2seq).toMatchObject({ seq: 4, srcSeq: 6 });
  });
});
