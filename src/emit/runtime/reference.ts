// Runtime of a module built with `--target reference`: the plain TypeScript backend.
import { referenceBackend } from "../../../backends/reference/backend.ts";
import { CompiledModel } from "../../runtime/model.ts";
import type { Model } from "../../runtime/model-api.ts";
import type { WeightsSource } from "../../runtime/weights-source.ts";
import type { Manifest } from "../manifest.ts";
import { prepare, type LoadOptions } from "./shared.ts";

export { ModelInputError } from "../../runtime/model-api.ts";
export { WeightsError } from "../../runtime/safetensors.ts";
export { ByteTokenizer } from "../../runtime/tokenizer.ts";

export async function createModel(manifest: Manifest, _base: URL, source: WeightsSource, opts: LoadOptions = {}): Promise<Model> {
  const { model, weights } = await prepare(manifest, source, opts);
  return new CompiledModel(model, manifest.graph, await referenceBackend.instantiate(model, manifest.graph, undefined, weights), "reference");
}
