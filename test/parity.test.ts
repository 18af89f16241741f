// PyTorch parity: each fixture in test/fixtures (made by scripts/make-fixtures.py from a PyTorch
// model mirroring specs/<name>.sf) holds the weights under PyTorch's names (or ours), the inputs
// and PyTorch's float32 logits. The reference backend, fed the spec, the mapped weights and the
// same inputs, must reproduce those logits: max |error| <= 1e-4 × max(1, max |expected|).
//
// Padded positions: the fixtures' expected logits come from PyTorch's plain (non-fused) path,
// where a padded *query* row still attends to the real keys and gets well-defined logits, so
// every position is compared, padded rows included. (PyTorch's fused inference fast path
// returns zeros at padded rows instead; the script checks that it agrees on the real ones.)
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { checkFile } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import type { ForwardOptions } from "../src/runtime/model-api.ts";
import { applyNameMap, type MapName } from "../src/runtime/name-maps.ts";
import { parseSafetensors, writeSafetensors, type SafetensorsFile } from "../src/runtime/safetensors.ts";

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

/** Fixture → its spec (specs/<name>.sf), the name map its weights need, and what it covers. */
const FIXTURES: ReadonlyArray<{ name: string; map?: MapName; covers: string }> = [
  { name: "tiny-torch-encoder", map: "torch", covers: "nn.TransformerEncoder, post-norm, relu, learned positions, key padding mask, linear head with bias" },
  { name: "tiny-torch-transformer", map: "torch", covers: "nn.Transformer enc-dec, sqrt(d)-scaled src/tgt embeddings, sinusoidal positions, final norms, cross-attention, source padding" },
  { name: "tiny-gpt2", map: "gpt2", covers: "HF GPT-2: Conv1D layout, fused c_attn, learned positions, gelu_tanh, tied head" },
  { name: "tiny-llama", map: "llama", covers: "HF LLaMA: RMSNorm, RoPE rotate_half, GQA 4/2, SwiGLU, untied head" },
  { name: "tiny-window", covers: "sliding-window (8) causal attention with RoPE, GQA, RMSNorm, SwiGLU (Mistral-style)" },
  { name: "tiny-linear", covers: "causal linear attention elu(x)+1, eps 1e-6, sinusoidal positions, exact GELU, tied head" },
  { name: "tiny-alibi", covers: "ALiBi with 5 heads (non-power-of-two slopes), embedding LayerNorm, gelu_tanh, tied head (BLOOM-style)" },
];

function loadSpec(name: string): ModelInfo {
  const r = checkFile(root(`specs/${name}.sf`));
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.entry || errors.length > 0) throw new Error(`specs/${name}.sf does not check: ${errors.map((d) => d.message).join("; ")}`);
  return r.entry;
}

function loadFixture(name: string): SafetensorsFile {
  return parseSafetensors(readFileSync(root(`test/fixtures/${name}.safetensors`)));
}

/** The fixture without its `input.*` / `expected.*` tensors: a plain weights file. */
function weightsOnly(file: SafetensorsFile): SafetensorsFile {
  const keep = [...file.tensors.values()].filter((t) => !t.name.startsWith("input.") && !t.name.startsWith("expected."));
  return parseSafetensors(writeSafetensors(keep.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: file.raw(t.name) }))));
}

function loadWeights(m: ModelInfo, file: SafetensorsFile, map: MapName | undefined): Map<string, Float32Array> {
  return map ? bindWeights(m, file, { map: (f, mi) => applyNameMap(map, f, mi) }) : bindWeights(m, weightsOnly(file));
}

function forwardInputs(file: SafetensorsFile): { tokens: Int32Array; opts: ForwardOptions } {
  const [batch, seq] = file.get("input.tokens").shape;
  const opts: ForwardOptions = { batch, seq };
  if (file.tensors.has("input.mask")) opts.mask = file.bool("input.mask");
  if (file.tensors.has("input.src_tokens")) {
    opts.src = { tokens: file.i32("input.src_tokens"), seq: file.get("input.src_tokens").shape[1] };
    if (file.tensors.has("input.src_mask")) opts.src.mask = file.bool("input.src_mask");
  }
  return { tokens: file.i32("input.tokens"), opts };
}

interface Comparison {
  maxErr: number;
  maxAbs: number;
  /** [batch, seq, vocab] index of the largest error. */
  at: [number, number, number];
  nonFinite: number;
}

function compare(got: Float32Array, want: Float32Array, seq: number, vocab: number): Comparison {
  let maxErr = 0;
  let maxAbs = 0;
  let worst = 0;
  let nonFinite = 0;
  for (let i = 0; i < want.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(want[i]));
    if (!Number.isFinite(got[i])) nonFinite++;
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= maxErr)) {
      maxErr = Number.isNaN(e) ? Infinity : e;
      worst = i;
    }
  }
  const at: [number, number, number] = [Math.floor(worst / (seq * vocab)), Math.floor(worst / vocab) % seq, worst % vocab];
  return { maxErr, maxAbs, at, nonFinite };
}

describe("reference backend matches PyTorch", () => {
  it.each(FIXTURES)("$name ($covers)", async ({ name, map }) => {
    const m = loadSpec(name);
    const file = loadFixture(name);
    const weights = loadWeights(m, file, map);
    const model = createReferenceModel(m, inferenceGraph(m), weights);
    try {
      const { tokens, opts } = forwardInputs(file);
      const want = file.f32("expected.logits");
      expect(file.get("expected.logits").shape).toEqual([opts.batch, opts.seq, m.head.vocab]);
      const got = await model.forward(tokens, opts);
      expect(got.length).toBe(want.length);
      const c = compare(got, want, opts.seq, m.head.vocab);
      const tol = 1e-4 * Math.max(1, c.maxAbs);
      const where = `[batch ${c.at[0]}, pos ${c.at[1]}, token ${c.at[2]}]`;
      expect(c.nonFinite, `${name}: non-finite logits`).toBe(0);
      expect(c.maxErr, `${name}: max |error| ${c.maxErr.toExponential(3)} at ${where} (max |expected| ${c.maxAbs.toFixed(3)}, tolerance ${tol.toExponential(2)})`).toBeLessThanOrEqual(tol);
    } finally {
      model.dispose();
    }
  });
});
