// The training benches' one batch: `batch` windows of `seq` next-token pairs from a fixed
// pseudo-random token stream (Park–Miller, seed 1), so every bench trains on the same data.

import { outputSection, type ModelInfo } from "../src/model/model.ts";
import { bindBatch, windows } from "../src/train/data.ts";
import type { Batch } from "../src/train/engine.ts";

export function benchBatch(m: ModelInfo, batch: number, seq: number): Batch {
  const out = outputSection(m);
  let x = 1;
  const tokens = Int32Array.from({ length: batch * (seq + 1) }, () => (x = (x * 48271) % 2147483647) % m.head.vocab);
  const { tokens: ids, targets } = windows(tokens, Array.from({ length: batch }, (_, b) => b * (seq + 1)), seq);
  const inputs = new Map<string, { data: Int32Array | Uint8Array; shape: number[] }>([[out.input, { data: ids, shape: [batch, seq] }]]);
  for (const i of m.inputs) if (i.name !== out.input) inputs.set(i.name, { data: new Uint8Array(ids.length).fill(1), shape: [batch, seq] });
  return bindBatch(m, inputs, targets);
}
