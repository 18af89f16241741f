// The models every low-bit backend test runs: two tiny specs and one whose widths are no
// multiple of 32, 8 or 4 (K = 20: one partial block; K = 50: a block and 18; N = 37: a tail
// panel / tile; a 20-wide embedding row), so padding past K is exercised everywhere.

import { checkSource } from "../../src/check/check.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import type { Model } from "../../src/runtime/model-api.ts";
import type { StorageDType } from "../../src/runtime/weights/format.ts";
import { unevenChunks } from "./conformance.ts";
import { loadTiny } from "./tiny-specs.ts";

const ODD = `model odd_widths {
  dims { vocab = 37, d = 20, heads = 2, layers = 1, hidden = 50, context = 24 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position rope(base = 10000)
  stack layers × decoder {
    norm rms(eps = 1e-5)
    attention self(heads = heads, mask = causal)
    norm rms(eps = 1e-5)
    mlp(hidden = hidden, act = swiglu)
  }
  norm rms(eps = 1e-5)
  head tied
}`;

function odd(): ModelInfo {
  const r = checkSource(ODD, "odd.sf");
  if (!r.entry) throw new Error(r.diagnostics.map((d) => d.message).join("; "));
  return r.entry;
}

export const LOWBIT_CASES: Array<{ name: string; model: () => ModelInfo }> = [
  { name: "tiny-gpt2 (tied head, biases, K 32 / 128)", model: () => loadTiny("tiny-gpt2.sf") },
  { name: "tiny-llama (GQA, SwiGLU, hidden 88, untied head)", model: () => loadTiny("tiny-llama.sf") },
  { name: "odd widths (K 20 / 50, N 37)", model: odd },
];

export const LOWBIT_DTYPES: StorageDType[] = ["f16", "q8", "q4"];

/** One sequence's logits decoded by begin/step in uneven chunks (conformance's pattern). */
export async function decodeInChunks(model: Model, t: Int32Array, vocab: number): Promise<Float32Array> {
  const out = new Float32Array(t.length * vocab);
  const state = await model.begin({ batch: 1 });
  let at = 0;
  for (const n of unevenChunks(t.length)) {
    out.set(await model.step(state, t.subarray(at, at + n), n), at * vocab);
    at += n;
  }
  state.dispose();
  return out;
}
