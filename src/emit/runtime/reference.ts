// Runtime of a module built with `--target reference`: the plain TypeScript backend.
import { referenceBackend } from "../../../backends/reference/backend.ts";
import { CompiledModel } from "../../runtime/model.ts";
import type { Model } from "../../runtime/model-api.ts";
import type { WeightsSource } from "../../runtime/weights-source.ts";
import type { Manifest } from "../manifest.ts";
import { prepare, withTokenizer, type LoadOptions, type OwnTokenizer } from "./shared.ts";

export { ModelInputError, WeightsError, CheckpointError, ByteTokenizer, byteTokenizer, openTokenizer } from "./shared.ts";

export async function createModel(manifest: Manifest, base: URL, source: WeightsSource, opts: LoadOptions = {}, own?: OwnTokenizer): Promise<Model> {
  const { model, weights, graph, tokenizer } = await prepare(manifest, base, source, opts, own, true);
  // The Backend interface names f32 maps; the reference backend reads any stored weight.
  return withTokenizer(new CompiledModel(model, graph, await referenceBackend.instantiate(model, graph, undefined, weights as Map<string, Float32Array>), "reference"), tokenizer);
}
