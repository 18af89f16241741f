import type { ModelInfo } from "../model/model.ts";
import { inferenceGraph } from "../ir/lower.ts";
import { createReferenceModel } from "../../backends/reference/model.ts";
import { BackendUnavailableError, type Model } from "./model-api.ts";

export const BACKENDS = ["reference", "wasm", "webgpu"] as const;
export type BackendName = (typeof BACKENDS)[number];


/** The one backend interface: checked model + native weights → the shared Model API. */
export async function createModel(backend: BackendName, m: ModelInfo, weights: Map<string, Float32Array>): Promise<Model> {
  switch (backend) {
    case "reference":
      return createReferenceModel(m, inferenceGraph(m), weights);
    case "webgpu":
      // Loaded on demand: the Node WebGPU binding is large and only this backend needs it.
      return (await import("../../backends/wgsl/model.ts")).createWebGpuModel(m, inferenceGraph(m), weights);
    default:
      throw new BackendUnavailableError(`the ${backend} backend is not available in this build yet; use --backend reference`);
  }
}
