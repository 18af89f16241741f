// Finite-difference checks, in float64, of the VJP rules the PyTorch fixtures do not reach:
// softcap (of the logits, and of attention scores with a score scale and llama3-scaled RoPE), linear attention (causal elu1 with partial RoPE; bidirectional relu with padding),
// ALiBi (3 heads: the non-power-of-two slopes), block-sparse and strided attention, a
// bidirectional sliding window, MQA, exact GELU, ReLU, GeGLU, SiLU, BERT's head transform, a
// head bias, token-type embeddings, tied encoder–decoder embeddings with cross-attention, and
// seeded dropout. For every parameter tensor, along a random direction u:
//   the central difference (L(θ + hu) - L(θ - hu)) / 2h, Richardson-extrapolated from h = 1e-4
//   and 5e-5, must equal ∇L · u within 1e-6 (relative to max(|FD|, 1e-3)),
// where L is the label-smoothed cross-entropy. Parameters are Float64Array here, so the
// forward runs entirely in float64 and the extrapolated quotient is good to ~1e-10.
import { describe, expect, it } from "vitest";
import { checkSource } from "../src/check/check.ts";
import type { Graph, Node } from "../src/ir/ir.ts";
import { OPS } from "../src/ir/ops.ts";
import { verify } from "../src/ir/verify.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { encoderSection, outputSection } from "../src/model/model.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { differentiate, printBackward, VJP_RULES } from "../src/train/autodiff.ts";
import { bindBatch } from "../src/train/data.ts";
import { TrainingEngine, type Batch } from "../src/train/engine.ts";
import { trainingGraph } from "../src/train/graph.ts";
import { streamRng, normals } from "../src/train/rng.ts";
import { directionalErrors } from "./helpers/gradcheck.ts";

function spec(text: string): ModelInfo {
  const r = checkSource(text, "fd.sf");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.entry || errors.length) throw new Error(errors.map((d) => d.message).join("; "));
  return r.entry;
}

const SPECS: Record<string, string> = {
  "causal linear attention (elu1, partial RoPE), exact GELU, tied head": `
model fd_linear {
  dims { vocab = 13, d = 8, heads = 2, layers = 2, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position rope(base = 100, fraction = 0.5)
  stack layers × decoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, mask = causal, kind = linear, feature_map = elu1, bias = true)
    norm layer(eps = 1e-5)
    mlp(hidden = 2 * d, act = gelu)
  }
  norm layer(eps = 1e-5)
  head tied
}`,
  "bidirectional linear attention (relu) with padding, post-norm, ReLU, head bias": `
model fd_linear_bi {
  dims { vocab = 13, d = 8, heads = 2, layers = 1, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  position learned(context)
  stack layers × encoder(norm = post) {
    attention self(heads = heads, padding = mask, kind = linear, feature_map = relu, bias = true)
    norm layer(eps = 1e-5)
    mlp(hidden = 2 * d, act = relu)
    norm layer(eps = 1e-5)
  }
  head linear(bias = true)
}`,
  "ALiBi with 3 heads, embedding LayerNorm, gelu_tanh, softcap on the logits": `
model fd_alibi {
  dims { vocab = 13, d = 12, heads = 3, layers = 1, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position alibi
  norm layer(eps = 1e-5)
  stack layers × decoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, mask = causal, bias = true)
    norm layer(eps = 1e-5)
    mlp(hidden = 2 * d, act = gelu_tanh)
  }
  norm layer(eps = 1e-5)
  head tied
}`,
  "block-sparse attention with padding, GeGLU, token types, BERT head transform with bias": `
model fd_sparse {
  dims { vocab = 13, d = 8, heads = 2, layers = 1, context = 16, segments = 2 }
  input tokens: int[batch, seq] where seq <= context
  input types: int[batch, seq]
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  embed types(segments, d)
  position learned(context)
  norm layer(eps = 1e-12)
  stack layers × encoder(norm = post) {
    attention self(heads = heads, padding = mask, bias = true, sparse = block(size = 2, local = 1, global = 1))
    norm layer(eps = 1e-12)
    mlp(hidden = 2 * d, act = geglu)
    norm layer(eps = 1e-12)
  }
  head tied(bias = true, transform = gelu, eps = 1e-12)
}`,
  "strided attention, MQA (1 kv head), sinusoidal positions, SiLU, RMSNorm": `
model fd_strided {
  dims { vocab = 13, d = 8, heads = 2, kv_heads = 1, layers = 1, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position sinusoidal
  stack layers × decoder {
    norm rms(eps = 1e-5)
    attention self(heads = heads, kv_heads = kv_heads, mask = causal, sparse = strided(2))
    norm rms(eps = 1e-5)
    mlp(hidden = 2 * d, act = silu, bias = false)
  }
  norm rms(eps = 1e-5)
  head linear
}`,
  "attention scale and logit softcap (cap 0.5: saturating), GQA, causal window with padding, llama3-scaled partial RoPE": `
model fd_softcap {
  dims { vocab = 13, d = 16, heads = 4, kv_heads = 2, layers = 1, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  position rope(base = 100, fraction = 0.5, scaling = llama3(factor = 4, low_freq_factor = 1, high_freq_factor = 2, original_context = 8))
  stack layers × decoder {
    norm rms(eps = 1e-5)
    attention self(heads = heads, kv_heads = kv_heads, mask = causal, window = 5, padding = mask, scale = 0.9, softcap = 0.5)
    norm rms(eps = 1e-5)
    mlp(hidden = 2 * d, act = swiglu)
  }
  norm rms(eps = 1e-5)
  head linear
}`,
  "bidirectional sliding window with RoPE, SwiGLU": `
model fd_window {
  dims { vocab = 13, d = 8, heads = 2, layers = 1, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position rope(base = 10000)
  stack layers × encoder {
    norm rms(eps = 1e-5)
    attention self(heads = heads, mask = none, window = 3)
    norm rms(eps = 1e-5)
    mlp(hidden = 2 * d, act = swiglu, bias = false)
  }
  norm rms(eps = 1e-5)
  head linear
}`,
  "encoder–decoder, shared embeddings, cross-attention with padding, dropout 0.3": `
model fd_seq2seq {
  dims { vocab = 13, d = 8, heads = 2, ff = 16, layers = 1, context = 16 }
  input src_tokens: int[batch, src_seq] where src_seq <= context
  input src_mask: bool[batch, src_seq]
  input tokens: int[batch, seq] where seq <= context
  train(dropout = 0.3, label_smoothing = 0.1)
  encoder {
    embed src_tokens(vocab, d, scale = sqrt(d))
    position sinusoidal
    stack layers × encoder_layer(norm = post) {
      attention self(heads = heads, padding = src_mask, bias = true)
      norm layer(eps = 1e-6)
      mlp(hidden = ff, act = relu)
      norm layer(eps = 1e-6)
    }
  }
  decoder {
    embed tokens(vocab, d, scale = sqrt(d), tie = src_tokens)
    position sinusoidal
    stack layers × decoder_layer(norm = post) {
      attention self(heads = heads, mask = causal, bias = true)
      norm layer(eps = 1e-6)
      attention cross(heads = heads, padding = src_mask, bias = true)
      norm layer(eps = 1e-6)
      mlp(hidden = ff, act = relu)
      norm layer(eps = 1e-6)
    }
  }
  head tied
}`,
};

/** The graph with cap · tanh(x / cap) between the logits projection and the output (Gemma-2's final soft-capping). */
function withSoftcap(g: Graph, cap: number): Graph {
  const values = [...g.values];
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (n.op === "output" && n.output === "logits") {
      const id = values.length;
      values.push({ ...values[n.x], id, name: "logits.softcap" });
      nodes.push({ op: "softcap", x: n.x, cap, out: id, phase: n.phase }, { ...n, x: id });
    } else nodes.push(n);
  }
  const out = { ...g, values, nodes };
  verify(out);
  return out;
}

/** Random batch-2 inputs (row 2 padded in its last 3 positions), targets with ignored padding. */
function randomBatch(m: ModelInfo, seed: number): Batch {
  const rng = streamRng(seed);
  const seq = 7;
  const srcSeq = 6;
  const inputs = new Map<string, { data: Int32Array | Uint8Array; shape: number[] }>();
  const out = outputSection(m);
  const enc = encoderSection(m);
  const vocabOf = (input: string) => {
    for (const s of m.sections) for (const st of s.steps) if (st.op === "embed" && st.input === input) return st.vocab;
    return m.head.vocab;
  };
  for (const inp of m.inputs) {
    const len = inp.shape[1] === "src_seq" ? srcSeq : seq;
    if (inp.dtype === "bool") {
      const mask = new Uint8Array(2 * len).fill(1);
      mask.fill(0, 2 * len - 3);
      inputs.set(inp.name, { data: mask, shape: [2, len] });
    } else {
      inputs.set(inp.name, { data: Int32Array.from({ length: 2 * len }, () => Math.floor(rng() * vocabOf(inp.name))), shape: [2, len] });
    }
  }
  const targets = Int32Array.from({ length: 2 * seq }, () => Math.floor(rng() * m.head.vocab));
  if (m.inputs.some((i) => i.dtype === "bool" && i.shape[1] === "seq") || enc) targets.fill(-1, 2 * seq - 3);
  void out;
  return bindBatch(m, inputs, targets);
}

/** Non-trivial float64 parameters: N(0, 1/fan_in) matrices, N(0, 1) tables, gains U(0.5, 1.5), biases N(0, 0.1²). */
function randomParams(m: ModelInfo, seed: number): Map<string, Float64Array> {
  const n = normals(streamRng(seed, 1));
  const u = streamRng(seed, 2);
  const out = new Map<string, Float64Array>();
  for (const t of weightLayout(m)) {
    const a = new Float64Array(t.shape.reduce((x, y) => x * y, 1));
    const isTable = /embed\.|position\.weight/.test(t.name);
    for (let i = 0; i < a.length; i++) {
      if (t.shape.length === 1) a[i] = t.name.endsWith(".bias") ? 0.1 * n() : 0.5 + u();
      else a[i] = isTable ? n() : n() / Math.sqrt(t.shape[1]);
    }
    out.set(t.name, a);
  }
  return out;
}

function check(m: ModelInfo, g: Graph, seed: number): Promise<Array<[string, number]>> {
  return directionalErrors(new TrainingEngine(differentiate(g)), randomParams(m, seed), randomBatch(m, seed), seed);
}

describe("finite differences (float64) of the VJP rules", () => {
  for (const [what, text] of Object.entries(SPECS)) {
    it(what, async () => {
      const m = spec(text);
      let g = trainingGraph(m);
      if (m.name === "fd_alibi") g = withSoftcap(g, 5);
      const ops = new Set(g.nodes.map((n) => n.op));
      if (m.name === "fd_alibi") expect(ops.has("softcap")).toBe(true);
      if (m.name === "fd_seq2seq") expect(ops.has("dropout")).toBe(true);
      const errors = await check(m, g, 11);
      console.log(`${m.name}: worst directional-derivative error ${errors[0][1].toExponential(2)} (${errors[0][0]}) over ${errors.length} tensors`);
      expect(errors[0][1], `worst: ${errors[0][0]}`).toBeLessThan(1e-6);
    });
  }

  it("every op of the IR has a VJP rule, and the backward program prints", () => {
    // The op table is the one list of ops: a new op without a VJP rule fails here.
    expect(Object.keys(VJP_RULES).sort()).toEqual(Object.keys(OPS).sort());
    expect(Object.keys(OPS)).toEqual(expect.arrayContaining(["attention", "linear_attention", "ssm_conv", "ssm_scan", "softcap"]));
    const text = printBackward(differentiate(trainingGraph(spec(SPECS["strided attention, MQA (1 kv head), sinusoidal positions, SiLU, RMSNorm"]!))));
    expect(text.split("\n")[0]).toMatch(/vjp output "logits"/);
    expect(text).toMatch(/vjp attention/);
  });
});
