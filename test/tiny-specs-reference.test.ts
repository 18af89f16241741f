import { describe, expect, it } from "vitest";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { loadTiny, tinyInputs, TINY_SPECS } from "./helpers/tiny-specs.ts";

// Every tiny spec in specs/ runs forward, and decoders decode incrementally to the same logits.
describe.each(TINY_SPECS)("reference backend on specs/%s", (file) => {
  const m = loadTiny(file);
  const model = createReferenceModel(m, inferenceGraph(m), randomWeights(m, 3, { std: 0.2 }));
  const { tokens, opts, causal, stepMask } = tinyInputs(m);
  const vocab = m.head.vocab;

  it("runs a batch-2 forward to finite logits", async () => {
    const logits = await model.forward(tokens, opts);
    expect(logits.length).toBe(opts.batch * opts.seq * vocab);
    expect(logits.every(Number.isFinite)).toBe(true);
  });

  if (!causal) {
    it("refuses incremental decoding (bidirectional attention)", async () => {
      await expect(model.begin({ batch: 1, ...(opts.src ? { src: opts.src } : {}) })).rejects.toThrow(/bidirectional/);
    });
    return;
  }

  it("decodes incrementally (3 + 1 + rest) to the full forward's logits", async () => {
    const full = await model.forward(tokens, opts);
    const row = (b: number, from: number, to: number) => tokens.slice(b * opts.seq + from, b * opts.seq + to);
    const state = await model.begin({ batch: opts.batch, ...(opts.src ? { src: opts.src } : {}) });
    const cuts = [0, 3, 4, opts.seq];
    const got = new Float32Array(full.length);
    for (let c = 0; c + 1 < cuts.length; c++) {
      const [a, z] = [cuts[c], cuts[c + 1]];
      const chunk = new Int32Array(opts.batch * (z - a));
      for (let b = 0; b < opts.batch; b++) chunk.set(row(b, a, z), b * (z - a));
      let mask: Uint8Array | undefined;
      if (stepMask) {
        const full = opts.inputs![stepMask] as Uint8Array;
        mask = new Uint8Array(opts.batch * (z - a));
        for (let b = 0; b < opts.batch; b++) mask.set(full.subarray(b * opts.seq + a, b * opts.seq + z), b * (z - a));
      }
      const part = await model.step(state, chunk, z - a, mask ? { mask } : {});
      for (let b = 0; b < opts.batch; b++) got.set(part.subarray(b * (z - a) * vocab, (b + 1) * (z - a) * vocab), (b * opts.seq + a) * vocab);
    }
    state.dispose();
    let err = 0;
    for (let k = 0; k < full.length; k++) err = Math.max(err, Math.abs(full[k] - got[k]));
    expect(err).toBeLessThan(1e-4);
  });
});
