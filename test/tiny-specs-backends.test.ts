import { describe, expect, it } from "vitest";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import type { Model } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { loadTiny, tinyInputs, TINY_SPECS } from "./helpers/tiny-specs.ts";

// Every tiny spec in specs/, on every compiled backend, against the reference backend:
// a padded batch-2 forward (enc–dec included) and incremental decoding.
type Factory = (m: ModelInfo, w: Map<string, Float32Array>) => Promise<Model | undefined>;

const BACKENDS: Record<string, Factory> = {
  wasm: async (m, w) => {
    const { createWasmModel } = await import("../backends/wasm/backend.ts");
    return createWasmModel(m, inferenceGraph(m), w);
  },
  webgpu: async (m, w) => {
    const device = await gpuDevice();
    if (!device) return undefined;
    const { createWebGpuModel } = await import("../backends/wgsl/backend.ts");
    return createWebGpuModel(m, inferenceGraph(m), w, { device });
  },
};

const close = (got: Float32Array, ref: Float32Array): number => {
  let err = 0;
  let scale = 1;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return err / scale;
};

describe.each(Object.keys(BACKENDS))("%s backend", (backend) => {
  describe.each(TINY_SPECS)("specs/%s", (file) => {
    const m = loadTiny(file);
    const w = randomWeights(m, 5, { std: 0.2 });
    const ref = createReferenceModel(m, inferenceGraph(m), w);
    const { tokens, opts, causal, stepMask } = tinyInputs(m, 2);

    it("forward matches the reference within 1e-4", async () => {
      const model = await BACKENDS[backend](m, w);
      if (!model) return;
      try {
        expect(close(await model.forward(tokens, opts), await ref.forward(tokens, opts))).toBeLessThan(1e-4);
      } finally {
        model.dispose();
      }
    });

    // A bidirectional model has no incremental form: every backend must refuse to start one.
    if (!causal) {
      it("refuses incremental decoding (bidirectional attention)", async () => {
        const model = await BACKENDS[backend](m, w);
        if (!model) return;
        await expect(model.begin({ batch: 1, ...(opts.src ? { src: opts.src } : {}) })).rejects.toThrow(/bidirectional/);
        model.dispose();
      });
      return;
    }

    it("incremental decode (4 + 1 + rest) matches the reference forward", async () => {
      const model = await BACKENDS[backend](m, w);
      if (!model) return;
      const full = await ref.forward(tokens, opts);
      const vocab = m.head.vocab;
      const state = await model.begin({ batch: opts.batch, ...(opts.src ? { src: opts.src } : {}) });
      const got = new Float32Array(full.length);
      const cuts = [0, 4, 5, opts.seq];
      try {
        for (let c = 0; c + 1 < cuts.length; c++) {
          const [a, z] = [cuts[c], cuts[c + 1]];
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
        model.dispose();
      }
      expect(close(got, full)).toBeLessThan(1e-4);
    });
  });
});
