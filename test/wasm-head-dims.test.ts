// The Wasm backend at head dims that are not a multiple of 4 (and a few that are, as a
// control): the checker only warns about them (SF2002), so every target must run them. Each
// case is a tiny spec written inline — causal decoders (learned positions, RoPE, ALiBi, GQA,
// sliding window, strided and block-sparse patterns), linear attention, a padded
// bidirectional encoder and an encoder–decoder with cross-attention — with random weights,
// compared against the reference backend: a padded batch-2 forward, and incremental decoding
// (begin + steps in uneven chunks) against the reference forward.

import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { checkSource } from "../src/check/check.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { tinyInputs } from "./helpers/tiny-specs.ts";
import { maxRelError } from "./helpers/rel-error.ts";
import { sharedBuilds, type WasmVariant } from "./helpers/wasm-vs-reference.ts";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

interface Case {
  /** Test title. */
  title: string;
  spec: string;
  /** Extra Wasm runs beyond the default (createModel): plain SIMD, worker threads. */
  variants?: Variant[];
}

type Variant = WasmVariant;

const PLAIN: Variant = { name: "plain SIMD128", relaxed: false };
const threads = (n: number): Variant => ({ name: `${n} threads`, threads: n });

const CONTEXT = 13; // uneven: partial 4-row blocks, partial 8-key blocks

/** A pre-norm causal decoder over `d = heads · hd` (or an explicit head_dim). */
function decoder(o: {
  name: string;
  hd: number;
  heads: number;
  d?: number;
  kvHeads?: number;
  position?: string;
  attn?: string;
  norm?: "layer" | "rms";
  mlp?: string;
  head?: string;
  context?: number;
}): string {
  const d = o.d ?? o.heads * o.hd;
  const norm = o.norm === "rms" ? "norm rms(eps = 1e-5)" : "norm layer(eps = 1e-5)";
  const args = [`heads = ${o.heads}`];
  if (o.kvHeads !== undefined) args.push(`kv_heads = ${o.kvHeads}`);
  if (o.d !== undefined) args.push(`head_dim = ${o.hd}`);
  args.push("mask = causal");
  if (o.attn) args.push(o.attn);
  return `model ${o.name} {
  dims { vocab = 23, d = ${d}, layers = 2, context = ${o.context ?? CONTEXT} }
  input tokens: int[batch, seq] where seq <= context

  embed tokens(vocab, d)
  position ${o.position ?? "learned(context)"}

  stack layers × decoder {
    ${norm}
    attention self(${args.join(", ")})
    ${norm}
    mlp(${o.mlp ?? "hidden = 2 * d + 1, act = gelu"})
  }
  ${norm}
  head ${o.head ?? "tied"}
}`;
}

/** A padded bidirectional encoder (forward only). */
function encoder(o: { name: string; hd: number; heads: number; attn?: string; context?: number }): string {
  const d = o.heads * o.hd;
  return `model ${o.name} {
  dims { vocab = 23, d = ${d}, layers = 2, context = ${o.context ?? CONTEXT} }
  input tokens: int[batch, seq] where seq <= context
  input mask: bool[batch, seq]

  embed tokens(vocab, d)
  position learned(context)

  stack layers × encoder(norm = post) {
    attention self(heads = ${o.heads}, padding = mask, bias = true${o.attn ? `, ${o.attn}` : ""})
    norm layer(eps = 1e-5)
    mlp(hidden = 3 * d, act = relu)
    norm layer(eps = 1e-5)
  }
  head linear(bias = true)
}`;
}

/** A post-norm encoder–decoder: padded source, causal self-attention, cross-attention. */
function seq2seq(o: { name: string; hd: number; heads: number; kvHeads?: number; linear?: boolean }): string {
  const d = o.heads * o.hd;
  const kv = o.kvHeads !== undefined ? `, kv_heads = ${o.kvHeads}` : "";
  const cross = o.linear ? ", kind = linear, feature_map = elu1" : "";
  return `model ${o.name} {
  dims { src_vocab = 19, vocab = 23, d = ${d}, ff = ${2 * d + 1}, layers = 2, context = ${CONTEXT}, src_context = 11 }
  input src_tokens: int[batch, src_seq] where src_seq <= src_context
  input src_mask: bool[batch, src_seq]
  input tokens: int[batch, seq] where seq <= context

  encoder {
    embed src_tokens(src_vocab, d)
    position sinusoidal
    stack layers × encoder_layer(norm = post) {
      attention self(heads = ${o.heads}${kv}, padding = src_mask, bias = true)
      norm layer(eps = 1e-5)
      mlp(hidden = ff, act = relu)
      norm layer(eps = 1e-5)
    }
    norm layer(eps = 1e-5)
  }
  decoder {
    embed tokens(vocab, d)
    position sinusoidal
    stack layers × decoder_layer(norm = post) {
      attention self(heads = ${o.heads}${kv}, mask = causal, bias = true)
      norm layer(eps = 1e-5)
      attention cross(heads = ${o.heads}${kv}, padding = src_mask, bias = true${cross})
      norm layer(eps = 1e-5)
      mlp(hidden = ff, act = relu)
      norm layer(eps = 1e-5)
    }
    norm layer(eps = 1e-5)
  }
  head linear(bias = true)
}`;
}

const CASES: Case[] = [
  // Plain causal decoders over every head dim (heads 2: d = 2 · hd, so d = 2, 6, 10, ...).
  ...[1, 2, 3, 5, 6, 10, 12].map((hd) => ({
    title: `causal decoder, head dim ${hd}`,
    spec: decoder({ name: `dec_hd${hd}`, hd, heads: 2 }),
    ...(hd === 3 || hd === 6 ? { variants: [PLAIN, threads(3)] } : {}),
  })),
  { title: "causal decoder, 3 heads of dim 5 (d = 15)", spec: decoder({ name: "dec_h3_hd5", hd: 5, heads: 3 }) },
  { title: "one head of dim 5, GEGLU MLP of hidden 7", spec: decoder({ name: "dec_h1_hd5", hd: 5, heads: 1, mlp: "hidden = 7, act = geglu" }) },
  { title: "SwiGLU MLP of hidden 13, RMSNorm, untied head, head dim 3", spec: decoder({ name: "swiglu_hd3", hd: 3, heads: 2, norm: "rms", mlp: "hidden = 2 * d + 1, act = swiglu, bias = false", head: "linear" }) },
  { title: "explicit head_dim 3 in d = 8 (q/k/v width 6)", spec: decoder({ name: "dec_explicit", hd: 3, heads: 2, d: 8 }), variants: [PLAIN] },
  { title: "explicit head_dim 6 in d = 10, 3 heads (q/k/v width 18)", spec: decoder({ name: "dec_explicit6", hd: 6, heads: 3, d: 10 }) },
  // GQA / MQA with RoPE (full and partial rotation).
  ...[2, 6, 10].map((hd) => ({
    title: `GQA 4/2 + RoPE, head dim ${hd}`,
    spec: decoder({ name: `gqa_rope_hd${hd}`, hd, heads: 4, kvHeads: 2, position: "rope(base = 10000)", norm: "rms", mlp: "hidden = 3 * d, act = swiglu, bias = false", head: "linear" }),
    ...(hd === 6 ? { variants: [PLAIN, threads(2)] } : {}),
  })),
  { title: "MQA 3/1 + RoPE fraction 0.5, head dim 12 (rotary 6)", spec: decoder({ name: "mqa_rope_hd12", hd: 12, heads: 3, kvHeads: 1, position: "rope(base = 10000, fraction = 0.5)", norm: "rms" }) },
  { title: "GQA 4/2 + RoPE fraction 0.4, head dim 10 (rotary 4)", spec: decoder({ name: "gqa_rope_frac", hd: 10, heads: 4, kvHeads: 2, position: "rope(base = 500, fraction = 0.4)" }) },
  // ALiBi (3 heads: not a power of two).
  ...[3, 5].map((hd) => ({ title: `ALiBi, 3 heads of dim ${hd}`, spec: decoder({ name: `alibi_hd${hd}`, hd, heads: 3, position: "alibi" }) })),
  // Sliding window, strided and block-sparse patterns.
  { title: "sliding window 5 + RoPE + GQA, head dim 6", spec: decoder({ name: "window_hd6", hd: 6, heads: 4, kvHeads: 2, position: "rope(base = 10000)", attn: "window = 5" }), variants: [PLAIN] },
  { title: "sliding window 4, head dim 3", spec: decoder({ name: "window_hd3", hd: 3, heads: 2, attn: "window = 4" }) },
  { title: "strided(3), head dim 5", spec: decoder({ name: "strided_hd5", hd: 5, heads: 2, attn: "sparse = strided(3)", context: 12 }) },
  { title: "padded encoder with block sparse(4, local 1, global 1), head dim 3", spec: encoder({ name: "sparse_hd3", hd: 3, heads: 2, attn: "sparse = block(size = 4, local = 1, global = 1)", context: 12 }) },
  // Linear attention, causal and bidirectional, both feature maps.
  ...[1, 2, 3, 5, 6, 12].map((hd) => ({
    title: `causal linear attention (elu1), head dim ${hd}`,
    spec: decoder({ name: `linear_hd${hd}`, hd, heads: 2, position: "sinusoidal", attn: "kind = linear, feature_map = elu1" }),
    ...(hd === 3 ? { variants: [PLAIN, threads(2)] } : {}),
  })),
  { title: "causal linear attention (relu) + GQA 4/2 + RoPE, head dim 6", spec: decoder({ name: "linear_gqa_rope", hd: 6, heads: 4, kvHeads: 2, position: "rope(base = 10000)", attn: "kind = linear, feature_map = relu" }) },
  { title: "padded bidirectional linear encoder, head dim 5", spec: encoder({ name: "linear_enc_hd5", hd: 5, heads: 2, attn: "kind = linear, feature_map = elu1" }) },
  // Padded bidirectional softmax encoders.
  ...[1, 3, 6].map((hd) => ({ title: `padded encoder, head dim ${hd}`, spec: encoder({ name: `enc_hd${hd}`, hd, heads: 2 }) })),
  // Encoder–decoders: cross-attention reads memory K/V persisted by the encode entry.
  ...[1, 3, 5, 6].map((hd) => ({
    title: `encoder–decoder with cross-attention, head dim ${hd}`,
    spec: seq2seq({ name: `s2s_hd${hd}`, hd, heads: 2 }),
    ...(hd === 3 ? { variants: [PLAIN, threads(2)] } : {}),
  })),
  { title: "encoder–decoder, GQA 4/2, head dim 3", spec: seq2seq({ name: "s2s_gqa_hd3", hd: 3, heads: 4, kvHeads: 2 }) },
  { title: "encoder–decoder with linear cross-attention, head dim 5", spec: seq2seq({ name: "s2s_linear_hd5", hd: 5, heads: 2, linear: true }) },
];

function load(c: Case): ModelInfo {
  const r = checkSource(c.spec, `${c.title}.sf`);
  if (!r.entry) throw new Error(`spec does not check: ${r.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  return r.entry;
}

describe.each(CASES)("wasm, $title", (c) => {
  const m = load(c);
  const w = randomWeights(m, 7, { std: 0.3 });
  const { tokens, opts, causal, stepMask } = tinyInputs(m, 3);
  const variants: Variant[] = [{ name: "default" }, ...(c.variants ?? [])];

  it("checks, with the SF2002 warning exactly when a head dim is not a multiple of 4", () => {
    const dims = m.sections.flatMap((s) => s.steps.flatMap((st) => (st.op === "stack" ? st.stack.sublayers.flatMap((l) => (l.kind === "attention" ? [l.headDim] : [])) : [])));
    expect(dims.length).toBeGreaterThan(0);
    const warned = checkSource(c.spec, `${c.title}.sf`).diagnostics.some((d) => d.code === "SF2002");
    expect(warned).toBe(dims.some((hd) => hd % 4 !== 0));
  });

  const { referenceForward, build } = sharedBuilds(m, w, tokens, opts);

  it.each(variants)("forward matches the reference within 1e-4 ($name)", async (v) => {
    const expected = await referenceForward();
    const got = await (await build(v)).forward(tokens, opts);
    expect(got.length).toBe(expected.length);
    expect(maxRelError(got, expected), v.name).toBeLessThan(1e-4);
  });

  if (!causal) return;

  it.each(variants)("incremental decode (3 + 1 + 5 + rest) matches the forward ($name)", async (v) => {
    const full = await referenceForward();
    const model = await build(v);
    const vocab = m.head.vocab;
    const wasmFull = await model.forward(tokens, opts);
    const state = await model.begin({ batch: opts.batch, ...(opts.src ? { src: opts.src } : {}) });
    const got = new Float32Array(full.length);
    const cuts = [0, 3, 4, 9, opts.seq];
    try {
      for (let k = 0; k + 1 < cuts.length; k++) {
        const [a, z] = [cuts[k], cuts[k + 1]];
        const n = z - a;
        const chunk = new Int32Array(opts.batch * n);
        let mask: Uint8Array | undefined;
        for (let b = 0; b < opts.batch; b++) chunk.set(tokens.subarray(b * opts.seq + a, b * opts.seq + z), b * n);
        if (stepMask) {
          const fm = opts.inputs![stepMask] as Uint8Array;
          mask = new Uint8Array(opts.batch * n);
          for (let b = 0; b < opts.batch; b++) mask.set(fm.subarray(b * opts.seq + a, b * opts.seq + z), b * n);
        }
        const part = await model.step(state, chunk, n, mask ? { mask } : {});
        for (let b = 0; b < opts.batch; b++) got.set(part.subarray(b * n * vocab, (b + 1) * n * vocab), (b * opts.seq + a) * vocab);
      }
    } finally {
      state.dispose();
    }
    expect(maxRelError(got, wasmFull), `${v.name}: steps vs the Wasm forward`).toBeLessThan(1e-4);
    expect(maxRelError(got, full), `${v.name}: steps vs the reference forward`).toBeLessThan(1e-4);
  });
});
