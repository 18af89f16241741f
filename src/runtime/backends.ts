import type { ModelInfo } from "../model/model.ts";
import { inferenceGraph } from "../ir/lower.ts";
import { createReferenceModel } from "../../backends/reference/model.ts";
import { BackendUnavailableError, type Model } from "./model-api.ts";

export const BACKENDS = ["reference", "wasm", "webgpu"] as const;
export type BackendName = (typeof BACKENDS)[number];


/** The one backend interface: checked model + native weights → the shared Model API. */
export async function createModel(backend: BackendName, m: ModelInfo, weights: Map<string, Float32Array>, opts: { threads?: number } = {}): Promise<Model> {
  switch (backend) {
    case "reference":
      return createReferenceModel(m, inferenceGraph(m), weights);
    case "wasm":
      return (await import("../../backends/wasm/model.ts")).createWasmModel(m, inferenceGraph(m), weights, opts.threads ? { threads: opts.threads } : {});
    case "webgpu":
      // Loaded on demand: the Node WebGPU binding is large and only this backend needs it.
      return (await import("../../backends/wgsl/model.ts")).createWebGpuModel(m, inferenceGraph(m), weights);
    default:
      throw new BackendUnavailableError(`unknown backend ${String(backend)}; use reference, wasm or webgpu`);
  }
}
