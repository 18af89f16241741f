// Runtime of a module built with `--target webgpu`: WGSL pipelines on navigator.gpu in a
// browser, or on Dawn's Node binding (npm `webgpu`, loaded only then) in Node.
import { createWebGpuModel } from "../../../backends/wgsl/backend.ts";
import type { Model } from "../../runtime/model-api.ts";
import type { WeightsSource } from "../../runtime/weights-source.ts";
import type { Manifest } from "../manifest.ts";
import { prepare, withTokenizer, type LoadOptions, type OwnTokenizer } from "./shared.ts";

export { ModelInputError, WeightsError, CheckpointError, ByteTokenizer, byteTokenizer, openTokenizer } from "./shared.ts";

export async function createModel(manifest: Manifest, base: URL, source: WeightsSource, opts: LoadOptions = {}, own?: OwnTokenizer): Promise<Model> {
  // Shaders are compiled at load against the device: a low-bit file runs in its storage.
  const { model, weights, graph, tokenizer } = await prepare(manifest, base, source, opts, own, true);
  return withTokenizer(await createWebGpuModel(model, graph, weights, opts.device ? { device: opts.device } : {}), tokenizer);
}
