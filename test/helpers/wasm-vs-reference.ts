// Wasm builds of one model against the reference's forward, shared by the tests of a describe
// block: a Wasm build is most of each test's time, so the forward and decode tests of a variant
// share one build (and the reference's forward), started by whichever test runs first, and all
// builds are disposed after the block (wasm-head-dims, wasm-attention-blocked).

import { afterAll } from "vitest";
import type { ModelInfo } from "../../src/model/model.ts";
import { createModel } from "../../backends/registry.ts";
import type { ForwardOptions, Model } from "../../src/runtime/model-api.ts";

/** A Wasm build: the default (createModel), or plain / relaxed SIMD chosen, on `threads` threads. */
export interface WasmVariant {
  name: string;
  relaxed?: boolean;
  threads?: number;
}

async function wasmModel(m: ModelInfo, w: Map<string, Float32Array>, v: WasmVariant): Promise<Model> {
  if (v.relaxed === undefined) return createModel("wasm", m, w, v.threads ? { threads: v.threads } : {});
  const { createWasmModel } = await import("../../backends/wasm/backend.ts");
  const { inferenceGraph } = await import("../../src/ir/lower.ts");
  return createWasmModel(m, inferenceGraph(m), w, { relaxed: v.relaxed, ...(v.threads ? { threads: v.threads } : {}) });
}

/** Call inside a describe block: the reference's forward of (tokens, opts) and each variant's build, made once. */
export function sharedBuilds(m: ModelInfo, w: Map<string, Float32Array>, tokens: Int32Array, opts: ForwardOptions): { referenceForward(): Promise<Float32Array>; build(v: WasmVariant): Promise<Model> } {
  let reference: Promise<Float32Array> | undefined;
  const built = new Map<string, Promise<Model>>();
  afterAll(async () => {
    for (const model of await Promise.allSettled(built.values())) if (model.status === "fulfilled") model.value.dispose();
  });
  return {
    referenceForward: () =>
      (reference ??= createModel("reference", m, w).then(async (ref) => {
        try {
          return await ref.forward(tokens, opts);
        } finally {
          ref.dispose();
        }
      })),
    build: (v) => built.get(v.name) ?? built.set(v.name, wasmModel(m, w, v)).get(v.name)!,
  };
}
