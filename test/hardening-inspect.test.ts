/**
 * Issue 14: `inspect` in O(distinct layers) and O(1) per sparse pattern, not O(layers) and
 * O(seq). `layers = 1e8` died of V8's out-of-memory; `--seq 2^40` on a sparse model would
 * walk 2^40 rows. The closed forms are held to the row-by-row count they replace.
 */
import { describe, expect, it } from "vitest";
import type { AttentionInfo, SparsePattern } from "../src/model/model.ts";
import { paramCount } from "../src/model/weights-layout.ts";
import { EXPAND_LAYERS, summarize } from "../src/inspect/summary.ts";
import { attention, embed, gpt2, model, section, stack } from "./helpers/model-factory.ts";

/** The row-by-row count summary.ts used before: the reference for its closed forms. */
function pairsByRow(sp: SparsePattern, seq: number, keys: number): number {
  let pairs = 0;
  for (let i = 0; i < seq; i++) {
    let visible: number;
    if (sp.kind === "strided") {
      const band = Math.min(i + sp.stride, keys) - Math.max(i - sp.stride + 1, 0);
      visible = band + Math.floor(i / sp.stride) + Math.floor(Math.max(keys - 1 - i, 0) / sp.stride);
    } else {
      const bi = Math.floor(i / sp.block);
      const globalEnd = Math.min(sp.global * sp.block, keys);
      if (bi < sp.global) visible = keys;
      else if (sp.local <= 0) visible = globalEnd;
      else {
        const lo = Math.max((bi - sp.local + 1) * sp.block, globalEnd);
        const hi = Math.min((bi + sp.local) * sp.block, keys);
        visible = globalEnd + Math.max(hi - lo, 0);
      }
    }
    pairs += Math.min(visible, keys);
  }
  return pairs;
}

const WIDTH = 16;
const HEADS = 4;
function oneAttention(a: Partial<AttentionInfo>, layers = 1) {
  return model("one", [section("main", "tokens", WIDTH, [embed("tokens", 10, WIDTH), stack("layers", layers, [attention({ width: WIDTH, heads: HEADS, ...a })])])], { kind: "tied", vocab: 10, bias: false });
}
/** The attention row's FLOPs less the pair-independent part give the pairs back. */
function pairsOf(a: Partial<AttentionInfo>, seq: number): number {
  const rowFlops = (p: Partial<AttentionInfo>) => summarize(oneAttention(p), { seq }).rows.find((r) => r.name === "layers.0.attn")!.flops;
  const dense = rowFlops({});
  const hd = WIDTH / HEADS;
  return (rowFlops(a) - dense) / (HEADS * (4 * hd + 5)) + seq * seq;
}

/** mulberry32, seeded: a failure names its parameters. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("sparse attention in closed form", () => {
  it("matches the row-by-row count on 400 random patterns and lengths", () => {
    const rnd = prng(14);
    const int = (n: number) => 1 + Math.floor(rnd() * n);
    for (let k = 0; k < 400; k++) {
      const seq = int(90);
      const sp: SparsePattern = rnd() < 0.5 ? { kind: "strided", stride: int(12) } : { kind: "block", block: int(9), local: Math.floor(rnd() * 4), global: Math.floor(rnd() * 4) };
      expect(pairsOf({ sparse: sp }, seq), `${JSON.stringify(sp)} at seq ${seq}`).toBe(pairsByRow(sp, seq, seq));
    }
  });

  it("counts a 2^40-long sequence without walking it", () => {
    const seq = 2 ** 40;
    // Block 1024, local 1, global 1: the rows of the first block see every key, those of every
    // other block their own block and the global one, 2B keys: exact, and known without a loop.
    const B = 1024;
    const blocks = seq / B;
    const expected = B * seq + (blocks - 1) * B * 2 * B;
    const s = summarize(oneAttention({ sparse: { kind: "block", block: B, local: 1, global: 1 } }), { seq });
    const attn = s.rows.find((r) => r.name === "layers.0.attn")!;
    const hd = WIDTH / HEADS;
    const projections = 4 * 2 * seq * WIDTH * WIDTH + seq * WIDTH;
    expect((attn.flops - projections) / (HEADS * (4 * hd + 5))).toBe(expected);
    const strided = summarize(oneAttention({ sparse: { kind: "strided", stride: 4096 } }), { seq });
    expect(Number.isFinite(strided.flops)).toBe(true);
  });
});

describe("deep stacks", () => {
  it(`lists up to ${EXPAND_LAYERS} layers one by one, and a deeper stack as one row`, () => {
    const listed = summarize(gpt2("g", 64, EXPAND_LAYERS, 4), { seq: 8 });
    expect(listed.rows.filter((r) => r.kind === "decoder layer")).toHaveLength(EXPAND_LAYERS);
    const grouped = summarize(gpt2("g", 64, EXPAND_LAYERS + 1, 4), { seq: 8 });
    const layers = grouped.rows.filter((r) => r.kind.startsWith("decoder layer"));
    expect(layers.map((r) => [r.name, r.kind, r.repeat])).toEqual([["decoder.0-64", "decoder layer × 65", 65]]);
    expect(grouped.rows.filter((r) => r.depth === 2).map((r) => r.name)).toEqual(["decoder.0-64.attn", "decoder.0-64.mlp"]);
  });

  it("gives a grouped stack the same totals as listing it", () => {
    const m = gpt2("g", 64, 100, 4);
    const s = summarize(m, { seq: 16, batch: 2 });
    expect(s.params).toBe(paramCount(m));
    // 100 layers are 100 times one layer: compare with a one-layer model plus 99 more layers.
    const one = summarize(gpt2("g", 64, 1, 4), { seq: 16, batch: 2 });
    const layer1 = one.rows.find((r) => r.name === "decoder.0")!;
    const layer100 = s.rows.find((r) => r.name === "decoder.0-99")!;
    for (const k of ["params", "flops", "activationBytes"] as const) expect(layer100[k]).toBe(100 * layer1[k]);
    const kids = s.rows.filter((r) => r.depth === 2);
    for (const k of ["params", "flops", "activationBytes"] as const) expect(kids.reduce((a, r) => a + r[k], 0)).toBe(layer100[k]);
  });

  it("summarises 10^8 layers in a handful of rows", () => {
    const s = summarize(gpt2("g", 8, 1e8, 2), { seq: 4 });
    expect(s.rows.length).toBeLessThan(10);
    const perLayer = paramCount(gpt2("g", 8, 2, 2)) - paramCount(gpt2("g", 8, 1, 2));
    expect(s.rows.find((r) => r.repeat === 1e8 && r.depth === 1)?.params).toBe(1e8 * perLayer);
    expect(Number.isSafeInteger(s.params)).toBe(true);
  });
});
