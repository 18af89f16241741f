// The conformance corpus and its requests: every tiny spec in specs/, plus a few inline specs
// for what no tiny spec has (a causal decoder with a padding input, a second embedded input,
// MQA with partial RoPE, GQA linear attention, one 64-wide head, attention scale / softcap and
// scaled RoPE, Hard-ALiBi). Used by test/conformance.test.ts.

import { expect } from "vitest";
import { checkSource } from "../../src/check/check.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import { encoderSection, outputSection } from "../../src/model/model.ts";
import type { ForwardOptions, Model } from "../../src/runtime/model-api.ts";
import { mulberry32 } from "../../src/runtime/sample.ts";
import { loadTiny, TINY_SPECS } from "./tiny-specs.ts";

const decoder = (name: string, dims: string, pos: string, attn: string, mlp: string, norm: string, head: string, inputs = "") => `
model ${name} {
  dims { ${dims} }
  input tokens: int[batch, seq] where seq <= context${inputs}
  embed tokens(vocab, d)
  position ${pos}
  stack layers × decoder {
    norm ${norm}
    attention self(${attn})
    norm ${norm}
    mlp(${mlp})
  }
  norm ${norm}
  head ${head}
}`;

/** Inline specs: each covers something the tiny specs do not (said on its line). */
export const EXTRA_SPECS: Record<string, string> = {
  // A causal decoder with a padding input, left-padded: decoding keeps a mask history, and the
  // first queries of the padded row see no key at all.
  "causal-pad": decoder(
    "conf_causal_pad",
    "vocab = 101, d = 32, heads = 2, layers = 2, context = 32",
    "learned(context)",
    "heads = heads, mask = causal, padding = mask, bias = true",
    "hidden = 64, act = gelu",
    "layer(eps = 1e-5)",
    "tied",
    "\n  input mask: bool[batch, seq]",
  ),
  // BERT-like: a second embedded input (token types), mask = none with padding, head dim 12,
  // the MLM head's gelu transform.
  "bert-types": `
model conf_bert_types {
  dims { vocab = 101, d = 48, heads = 4, layers = 2, ff = 96, context = 32, segments = 2 }
  input tokens: int[batch, seq] where seq <= context
  input types: int[batch, seq]
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  embed types(segments, d)
  position learned(context)
  norm layer(eps = 1e-12)
  stack layers × encoder(norm = post) {
    attention self(heads = heads, mask = none, padding = mask, bias = true)
    norm layer(eps = 1e-12)
    mlp(hidden = ff, act = gelu)
    norm layer(eps = 1e-12)
  }
  head tied(bias = true, transform = gelu, eps = 1e-12)
}`,
  // MQA (one KV head), partial RoPE (4 of each head's 8 channels rotate), a window of 6, GEGLU.
  "mqa-window": decoder(
    "conf_mqa_window",
    "vocab = 97, d = 32, heads = 4, kv_heads = 1, layers = 2, hidden = 64, window = 6, context = 32",
    "rope(base = 500, fraction = 0.5)",
    "heads = heads, kv_heads = kv_heads, mask = causal, window = window",
    "hidden = hidden, act = geglu, bias = false",
    "rms(eps = 1e-6)",
    "linear",
  ),
  // Linear attention with grouped KV heads; SiLU.
  "linear-gqa": decoder(
    "conf_linear_gqa",
    "vocab = 101, d = 32, heads = 4, kv_heads = 2, layers = 2, context = 32",
    "sinusoidal",
    "heads = heads, kv_heads = kv_heads, mask = causal, kind = linear, feature_map = elu1, bias = true",
    "hidden = 4 * d, act = silu",
    "layer(eps = 1e-5)",
    "tied",
  ),
  // Gemma-2-style scores: scale 0.25 and softcap 1.5 with GQA and padding, no window (so the
  // Wasm multi-row prefill path caps too), llama3-scaled RoPE.
  "gemma-attn": decoder(
    "conf_gemma_attn",
    "vocab = 97, d = 32, heads = 4, kv_heads = 2, layers = 2, context = 32",
    "rope(base = 10000, scaling = llama3(factor = 8, low_freq_factor = 1, high_freq_factor = 4, original_context = 16))",
    "heads = heads, kv_heads = kv_heads, mask = causal, padding = mask, scale = 0.25, softcap = 1.5",
    "hidden = 64, act = swiglu, bias = false",
    "rms(eps = 1e-6)",
    "linear",
    "\n  input mask: bool[batch, seq]",
  ),
  // GPT-NeoX-style partial rotary (4 of 16 channels) with linear scaling, MQA, a softcapped window.
  "neox-rotary": decoder(
    "conf_neox_rotary",
    "vocab = 101, d = 32, heads = 2, kv_heads = 1, layers = 2, window = 5, context = 32",
    "rope(base = 10000, fraction = 0.25, scaling = linear(factor = 4))",
    "heads = heads, kv_heads = kv_heads, mask = causal, window = window, softcap = 3, bias = true",
    "hidden = 64, act = gelu",
    "layer(eps = 1e-5)",
    "tied",
  ),
  // Hard-ALiBi (Jelassi et al. 2024): heads 0 and 1 see their last 1 and 2 keys, heads 2 and 3
  // everything with ALiBi slopes of their own count; GQA and left padding (a padded row's
  // window-1 head sees no key at all), rows past every 8-key block of the Wasm prefill.
  "hard-alibi": decoder(
    "conf_hard_alibi",
    "vocab = 101, d = 32, heads = 4, kv_heads = 2, layers = 2, context = 32",
    "hard_alibi(local_heads = 2)",
    "heads = heads, kv_heads = kv_heads, mask = causal, padding = mask, bias = true",
    "hidden = 64, act = gelu",
    "layer(eps = 1e-5)",
    "tied",
    "\n  input mask: bool[batch, seq]",
  ),
  // Hard-ALiBi's windows inside a sliding window of 5 (a ring cache), NoPE for the other heads.
  "hard-alibi-window": decoder(
    "conf_hard_alibi_window",
    "vocab = 101, d = 32, heads = 4, layers = 2, window = 5, context = 32",
    "hard_alibi(local_heads = 3, rest = none)",
    "heads = heads, mask = causal, window = window",
    "hidden = 64, act = gelu",
    "rms(eps = 1e-6)",
    "linear",
  ),
  // One 64-wide head (the attention row does not fit in registers), strided(6), ReLU.
  "wide-head": decoder(
    "conf_wide_head",
    "vocab = 101, d = 64, heads = 1, layers = 2, context = 48",
    "learned(context)",
    "heads = heads, mask = causal, bias = true, sparse = strided(6)",
    "hidden = 2 * d, act = relu",
    "layer(eps = 1e-5)",
    "tied",
  ),
};

export interface Case {
  /** specs/FILE for a tiny spec, `inline:NAME` for an extra one. */
  name: string;
  model: ModelInfo;
}

/** The corpus: every tiny spec, then the inline extras. */
export function conformanceCases(): Case[] {
  const extra = Object.entries(EXTRA_SPECS).map(([name, src]) => {
    const r = checkSource(src, `${name}.sf`);
    if (!r.entry) throw new Error(`inline spec ${name} does not check:\n${r.diagnostics.map((d) => d.message).join("\n")}`);
    return { name: `inline:${name}`, model: r.entry };
  });
  return [...TINY_SPECS.map((f) => ({ name: `specs/${f}`, model: loadTiny(f) })), ...extra];
}

/** The model's incremental form exists: its output section's self-attention is causal. */
export function isCausal(m: ModelInfo): boolean {
  return outputSection(m).steps.some((s) => s.op === "stack" && s.stack.sublayers.some((l) => l.kind === "attention" && l.source === "self" && l.causal));
}

/** Sequence bound of the output section (the spec's `where seq <= ...`), capped at `cap`. */
export function maxSeq(m: ModelInfo, cap = 64): number {
  return Math.min(outputSection(m).maxSeq ?? cap, cap);
}

export interface Request {
  tokens: Int32Array;
  opts: ForwardOptions;
  /** Some position of some mask is padding. */
  padded: boolean;
}

/** Pads: the last 3 positions of every row after the first (bidirectional), the first 3 (causal). */
function padMask(batch: number, len: number, left: boolean): Uint8Array {
  const mask = new Uint8Array(batch * len).fill(1);
  const pads = Math.min(3, len - 1);
  for (let b = 1; b < batch; b++) for (let j = 0; j < pads; j++) mask[b * len + (left ? j : len - 1 - j)] = 0;
  return mask;
}

/**
 * A request of `batch` rows of `seq` tokens (and `srcSeq` source tokens for an encoder–decoder):
 * seeded random tokens, random ids for other int inputs (token types), and padding in every row
 * after the first where the model has a padding input (`pad: false` leaves every token real).
 * A causal decoder is padded on the left, as batched generation pads a prompt.
 */
export function request(m: ModelInfo, o: { batch: number; seq: number; srcSeq?: number; seed: number; pad?: boolean }): Request {
  const rng = mulberry32(o.seed);
  const out = outputSection(m);
  const enc = encoderSection(m);
  const vocabOf = (input: string) => {
    for (const s of m.sections) for (const st of s.steps) if (st.op === "embed" && st.input === input) return st.vocab;
    throw new Error(`${m.name}: no embedding reads input ${input}`);
  };
  const ids = (n: number, vocab: number) => Int32Array.from({ length: n }, () => Math.floor(rng() * vocab));
  const { batch, seq } = o;
  const srcSeq = o.srcSeq ?? 11;
  const opts: ForwardOptions = { batch, seq };
  const tokens = ids(batch * seq, vocabOf(out.input));
  if (enc) opts.src = { tokens: ids(batch * srcSeq, vocabOf(enc.input)), seq: srcSeq };
  const inputs: Record<string, Int32Array | Uint8Array> = {};
  let padded = false;
  for (const inp of m.inputs) {
    if (inp.name === out.input || inp.name === enc?.input) continue;
    const overSource = enc !== undefined && inp.shape[1] === enc.seqDim;
    const len = overSource ? srcSeq : seq;
    if (inp.dtype === "bool") {
      if (o.pad === false || batch < 2 || len < 2) continue;
      const mask = padMask(batch, len, !overSource && isCausal(m));
      padded = true;
      if (overSource) opts.src!.mask = mask;
      else if (inp.name === "mask") opts.mask = mask;
      else inputs[inp.name] = mask;
    } else inputs[inp.name] = ids(batch * len, vocabOf(inp.name));
  }
  if (Object.keys(inputs).length) opts.inputs = inputs;
  return { tokens, opts, padded };
}

/** Columns [from, from + n) of every row of a [batch, seq] array. */
export function columns<T extends Int32Array | Uint8Array>(a: T, batch: number, seq: number, from: number, n: number): T {
  const out = a.slice(0, batch * n) as T;
  for (let b = 0; b < batch; b++) out.set(a.subarray(b * seq + from, b * seq + from + n), b * n);
  return out;
}

/**
 * Decodes the request incrementally: begin() (with the source), then step() over `chunks` new
 * tokens per row in turn (their sum is the request's seq). Returns the logits laid out as
 * forward's, [batch, seq, vocab].
 */
export async function decodeInChunks(model: Model, r: Request, chunks: number[]): Promise<Float32Array> {
  const { batch, seq } = r.opts;
  const total = chunks.reduce((a, b) => a + b, 0);
  if (total !== seq) throw new Error(`chunks sum to ${total}, the request has ${seq} tokens`);
  const vocab = model.config.vocab;
  const out = new Float32Array(batch * seq * vocab);
  const state = await model.begin({ batch, ...(r.opts.src ? { src: r.opts.src } : {}) });
  try {
    let at = 0;
    // A causal model's padding input is fed with each step, its columns as forward's.
    const mask = r.opts.mask;
    for (const n of chunks) {
      const logits = await model.step(state, columns(r.tokens, batch, seq, at, n), n, mask ? { mask: columns(mask, batch, seq, at, n) } : {});
      expect(logits.length, `step of ${n} at ${at}`).toBe(batch * n * vocab);
      for (let b = 0; b < batch; b++) out.set(logits.subarray(b * n * vocab, (b + 1) * n * vocab), (b * seq + at) * vocab);
      at += n;
      expect(state.position).toBe(at);
    }
  } finally {
    state.dispose();
  }
  return out;
}

/** Uneven chunks summing to `seq`: a 3-token prompt, then 1, 2, 1, 5, 1, 4, 2, 1, ... */
export function unevenChunks(seq: number): number[] {
  const pattern = [3, 1, 2, 1, 5, 1, 4, 2];
  const out: number[] = [];
  let left = seq;
  for (let i = 0; left > 0; i++) {
    const n = Math.min(pattern[i % pattern.length], left);
    out.push(n);
    left -= n;
  }
  return out;
}

export const TOLERANCE = 1e-4;

/**
 * max |got - want| / max |want|, with where the worst element is ([batch, position, vocab] for
 * logits of `vocab` columns in rows of `seq`). NaN anywhere in `got` is an infinite error.
 */
export function relError(got: Float32Array, want: Float32Array, vocab: number, seq: number): { err: number; worst: number; scale: number; at: string } {
  if (got.length !== want.length) throw new Error(`length ${got.length}, expected ${want.length}`);
  let scale = 0;
  for (const x of want) scale = Math.max(scale, Math.abs(x));
  let worst = 0;
  let k = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Number.isNaN(got[i]) ? Infinity : Math.abs(got[i] - want[i]);
    if (d > worst) [worst, k] = [d, i];
  }
  const row = Math.floor(k / vocab);
  const at = `[batch ${Math.floor(row / seq)}, position ${row % seq}, logit ${k % vocab}]: got ${got[k]}, want ${want[k]}`;
  return { err: scale > 0 ? worst / scale : worst, worst, scale, at };
}

/** Fails unless max |got - want| ≤ 1e-4 × max |want|, naming the worst element. */
export function expectClose(got: Float32Array, want: Float32Array, vocab: number, seq: number, what: string): void {
  expect(want.every(Number.isFinite), `${what}: the reference's logits are not finite`).toBe(true);
  const e = relError(got, want, vocab, seq);
  expect(e.err, `${what}: max |diff| ${e.worst.toExponential(3)} against max |ref| ${e.scale.toFixed(3)} (relative ${e.err.toExponential(3)}) at ${e.at}`).toBeLessThanOrEqual(TOLERANCE);
}
