// The blocked prefill path of the Wasm attention (backends/wasm/emit-attention-blocked.ts: 32
// query rows × 32-key blocks) at its edges, against the reference backend: sequences of 45 rows
// (a full and a partial query block, a ragged last key block), steps of 33 rows starting at
// position 5 (blocks that do not start at a block boundary), GQA, RoPE, a sliding window that
// spans several key blocks (a ring cache in decode), ALiBi and Hard-ALiBi head windows, soft-cap,
// key padding in the middle and at the end of a row, a head dim that is not a multiple of 4 (every
// key block copied), cross-attention, plain SIMD and two threads.

import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { checkSource } from "../src/check/check.ts";
import type { ModelInfo } from "../src/model/model.ts";
import type { ForwardOptions } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { maxRelError } from "./helpers/rel-error.ts";
import { sharedBuilds, type WasmVariant } from "./helpers/wasm-vs-reference.ts";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

const SEQ = 45;
const CONTEXT = 64;

interface Case {
  title: string;
  spec: string;
  /** Extra Wasm builds beyond the default one. */
  variants?: WasmVariant[];
  /** Whether the model has a causal self-attention to decode step by step. */
  steps: boolean;
}

function decoder(name: string, o: { hd: number; heads: number; kvHeads?: number; position?: string; attn?: string; padding?: boolean }): string {
  const args = [`heads = ${o.heads}`, ...(o.kvHeads ? [`kv_heads = ${o.kvHeads}`] : []), "mask = causal", ...(o.padding ? ["padding = mask"] : []), ...(o.attn ? [o.attn] : [])];
  return `model ${name} {
  dims { vocab = 31, d = ${o.heads * o.hd}, layers = 2, context = ${CONTEXT} }
  input tokens: int[batch, seq] where seq <= context
  ${o.padding ? "input mask: bool[batch, seq]" : ""}
  embed tokens(vocab, d)
  position ${o.position ?? "learned(context)"}
  stack layers × decoder {
    norm rms(eps = 1e-5)
    attention self(${args.join(", ")})
    norm rms(eps = 1e-5)
    mlp(hidden = 2 * d, act = gelu)
  }
  norm rms(eps = 1e-5)
  head tied
}`;
}

function encoder(name: string, hd: number, heads: number, attn = ""): string {
  return `model ${name} {
  dims { vocab = 31, d = ${heads * hd}, layers = 2, context = ${CONTEXT} }
  input tokens: int[batch, seq] where seq <= context
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  position learned(context)
  stack layers × encoder(norm = post) {
    attention self(heads = ${heads}, padding = mask, bias = true${attn})
    norm layer(eps = 1e-5)
    mlp(hidden = 2 * d, act = relu)
    norm layer(eps = 1e-5)
  }
  head linear(bias = true)
}`;
}

const seq2seq = `model blk_s2s {
  dims { src_vocab = 19, vocab = 23, d = 16, layers = 1, context = ${CONTEXT}, src_context = 40 }
  input src_tokens: int[batch, src_seq] where src_seq <= src_context
  input src_mask: bool[batch, src_seq]
  input tokens: int[batch, seq] where seq <= context
  encoder {
    embed src_tokens(src_vocab, d)
    position sinusoidal
    stack layers × encoder_layer(norm = post) {
      attention self(heads = 2, padding = src_mask)
      norm layer(eps = 1e-5)
      mlp(hidden = 2 * d, act = relu)
      norm layer(eps = 1e-5)
    }
  }
  decoder {
    embed tokens(vocab, d)
    position sinusoidal
    stack layers × decoder_layer(norm = post) {
      attention self(heads = 4, kv_heads = 2, mask = causal)
      norm layer(eps = 1e-5)
      attention cross(heads = 4, kv_heads = 2, padding = src_mask)
      norm layer(eps = 1e-5)
      mlp(hidden = 2 * d, act = relu)
      norm layer(eps = 1e-5)
    }
  }
  head linear(bias = true)
}`;

const CASES: Case[] = [
  { title: "causal, head dim 8", spec: decoder("blk_causal", { hd: 8, heads: 2 }), steps: true, variants: [{ name: "plain SIMD", relaxed: false }, { name: "2 threads", threads: 2 }] },
  { title: "GQA 4/2 + RoPE, head dim 8", spec: decoder("blk_gqa", { hd: 8, heads: 4, kvHeads: 2, position: "rope(base = 10000)" }), steps: true },
  { title: "sliding window 20 across key blocks + GQA + padding", spec: decoder("blk_window", { hd: 8, heads: 4, kvHeads: 2, position: "rope(base = 10000)", attn: "window = 20", padding: true }), steps: true, variants: [{ name: "2 threads", threads: 2 }] },
  { title: "ALiBi, 3 heads of dim 8", spec: decoder("blk_alibi", { hd: 8, heads: 3, position: "alibi" }), steps: true },
  { title: "Hard-ALiBi head windows, 4 heads of dim 4", spec: decoder("blk_hard", { hd: 4, heads: 4, position: "hard_alibi(2)" }), steps: true },
  { title: "soft-cap 2, scale 0.5, padding", spec: decoder("blk_cap", { hd: 8, heads: 2, attn: "softcap = 2, scale = 0.5", padding: true }), steps: true },
  { title: "head dim 6 (every key block copied), GQA 4/2", spec: decoder("blk_hd6", { hd: 6, heads: 4, kvHeads: 2 }), steps: true },
  { title: "padded bidirectional encoder, head dim 8", spec: encoder("blk_enc", 8, 2), steps: false },
  { title: "padded bidirectional encoder with window 9, head dim 4", spec: encoder("blk_enc_win", 4, 2, ", window = 9"), steps: false },
  { title: "encoder–decoder: padded source of 37, GQA cross-attention", spec: seq2seq, steps: true },
];

function load(c: Case): ModelInfo {
  const r = checkSource(c.spec, `${c.title}.sf`);
  if (!r.entry) throw new Error(`spec does not check: ${r.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  return r.entry;
}

/** Two sequences of SEQ tokens; the second's mask (where the model has one) pads a run in the middle and the last three. */
function inputs(m: ModelInfo): { tokens: Int32Array; opts: ForwardOptions } {
  let x = 12345;
  const rnd = (k: number) => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) % k;
  const tokens = Int32Array.from({ length: 2 * SEQ }, () => rnd(19));
  const mask = (len: number) => Uint8Array.from({ length: 2 * len }, (_, i) => (i >= len && ((i - len >= 10 && i - len < 14) || i - len >= len - 3) ? 0 : 1));
  const opts: ForwardOptions = { batch: 2, seq: SEQ };
  if (m.inputs.some((i) => i.name === "src_tokens")) opts.src = { tokens: Int32Array.from({ length: 2 * 37 }, () => rnd(19)), seq: 37, mask: mask(37) };
  if (m.inputs.some((i) => i.name === "mask")) opts.inputs = { mask: mask(SEQ) };
  return { tokens, opts };
}

describe.each(CASES)("wasm blocked prefill, $title", (c) => {
  const m = load(c);
  const w = randomWeights(m, 11, { std: 0.4 });
  const { tokens, opts } = inputs(m);
  const variants: WasmVariant[] = [{ name: "default" }, ...(c.variants ?? [])];
  const { referenceForward, build } = sharedBuilds(m, w, tokens, opts);

  it.each(variants)("forward of 2 × 45 rows matches the reference ($name)", async (v) => {
    const got = await (await build(v)).forward(tokens, opts);
    expect(maxRelError(got, await referenceForward())).toBeLessThan(1e-4);
  });

  if (!c.steps) return;
  it.each(variants)("steps of 5, 33 and 7 rows match the reference forward ($name)", async (v) => {
    const full = await referenceForward();
    const model = await build(v);
    const vocab = m.head.vocab;
    const state = await model.begin({ batch: 2, ...(opts.src ? { src: opts.src } : {}) });
    const got = new Float32Array(full.length);
    const cuts = [0, 5, 38, SEQ];
    try {
      for (let k = 0; k + 1 < cuts.length; k++) {
        const [a, z] = [cuts[k], cuts[k + 1]];
        const n = z - a;
        const chunk = new Int32Array(2 * n);
        for (let b = 0; b < 2; b++) chunk.set(tokens.subarray(b * SEQ + a, b * SEQ + z), b * n);
        const fm = opts.inputs?.mask as Uint8Array | undefined;
        const mask = fm ? Uint8Array.from({ length: 2 * n }, (_, i) => fm[Math.floor(i / n) * SEQ + a + (i % n)]) : undefined;
        const part = await model.step(state, chunk, n, mask ? { mask } : {});
        for (let b = 0; b < 2; b++) got.set(part.subarray(b * n * vocab, (b + 1) * n * vocab), (b * SEQ + a) * vocab);
      }
    } finally {
      state.dispose();
    }
    expect(maxRelError(got, full)).toBeLessThan(1e-4);
  });
});
