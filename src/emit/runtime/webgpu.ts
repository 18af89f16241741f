// Runtime of a module built with `--target webgpu`: WGSL pipelines on navigator.gpu in a
// browser, or on Dawn's Node binding (npm `webgpu`, loaded only then) in Node.
import { createWebGpuModel } from "../../../backends/wgsl/backend.ts";
import type { Model } from "../../runtime/model-api.ts";
import type { WeightsSource } from "../../runtime/weights-source.ts";
import type { Manifest } from "../manifest.ts";
import { prepare, type LoadOptions } from "./shared.ts";

export { ModelInputError } from "../../runtime/model-api.ts";
export { WeightsError } from "../../runtime/safetensors.ts";
export { ByteTokenizer } from "../../runtime/tokenizer.ts";

export async function createModel(manifest: Manifest, _base: URL, source: WeightsSource, opts: LoadOptions = {}): Promise<Model> {
  const { model, weights } = await prepare(manifest, source, opts);
  return createWebGpuModel(model, manifest.graph, weights, opts.device ? { device: opts.device } : {});
}
