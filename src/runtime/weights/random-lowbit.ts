// Seeded random weights generated directly in a low-bit storage — never materialised in f32 —
// for models too large to build in f32 first (a TinyLlama-1.1B-shaped spec: 4.4 GB in f32,
// about 650 MB in q4). Which tensor gets which storage is planStorage's choice (linear weights
// `to`, tables q8 for q4, the rest f32). Codes are uniform and block scales vary ±25% around a
// value giving the weights a standard deviation near `std`, like randomWeights' GPT-2 init.

import type { Graph } from "../../ir/ir.ts";
import type { ModelInfo } from "../../model/model.ts";
import { numel, weightLayout } from "../../model/weights-layout.ts";
import { f32ToF16 } from "../safetensors.ts";
import { mulberry32 } from "../sample.ts";
import { BLOCK, blocksOf, type Q4Weight, type Q8Weight, type WeightStore } from "./format.ts";
import { planStorage } from "./store.ts";

/** Standard deviation of a uniform code: q4 nibble − 8 over −8..7, q8 over −127..127. */
const CODE_STD = { q4: Math.sqrt((16 * 16 - 1) / 12), q8: Math.sqrt((255 * 255 - 1) / 12) };

function scales(rng: () => number, n: number, base: number): Uint16Array {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = f32ToF16(base * (0.75 + 0.5 * rng()));
  return out;
}

function randomQ4(rng: () => number, N: number, K: number, std: number): Q4Weight {
  const nb = blocksOf(K);
  const words = new Uint32Array(N * nb * 4);
  for (let i = 0; i < words.length; i++) words[i] = (rng() * 2 ** 32) >>> 0;
  if (K % BLOCK !== 0) {
    // Past K: the nibble 8 (value 0), as the format pads.
    for (let n = 0; n < N; n++) for (let j = K % BLOCK; j < BLOCK; j++) {
      const at = (n * nb + nb - 1) * 4 + (j >> 3);
      words[at] = ((words[at] & ~(15 << (4 * (j & 7)))) | (8 << (4 * (j & 7)))) >>> 0;
    }
  }
  return { dtype: "q4", shape: [N, K], blocks: nb, words, scales: scales(rng, N * nb, std / CODE_STD.q4) };
}

function randomQ8(rng: () => number, N: number, K: number, std: number): Q8Weight {
  const nb = blocksOf(K);
  const q = new Int8Array(N * nb * BLOCK);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) q[n * nb * BLOCK + k] = Math.floor(rng() * 255) - 127;
  return { dtype: "q8", shape: [N, K], blocks: nb, q, scales: scales(rng, N * nb, std / CODE_STD.q8) };
}

/** Every tensor of `m` in the storage planStorage(graph, to) gives it, from `seed`. */
export function randomLowBitStore(m: ModelInfo, graph: Graph, to: "q8" | "q4", seed: number, opts: { std?: number } = {}): WeightStore {
  const rng = mulberry32(seed);
  const std = opts.std ?? 0.02;
  const plan = planStorage(graph, to);
  const out: WeightStore = new Map();
  for (const t of weightLayout(m)) {
    const dtype = plan.get(t.name) ?? "f32";
    const [N, K] = t.shape;
    if (dtype === "q4") out.set(t.name, randomQ4(rng, N, K, std));
    else if (dtype === "q8") out.set(t.name, randomQ8(rng, N, K, std));
    else {
      const a = new Float32Array(numel(t.shape));
      const isNorm = /norm(\.\d+)?\.weight$/.test(t.name);
      // Uniform with the same spread: these tensors are small, their values barely matter here.
      for (let i = 0; i < a.length; i++) a[i] = (isNorm ? 1 : 0) + std * Math.sqrt(12) * (rng() - 0.5);
      out.set(t.name, a);
    }
  }
  return out;
}
