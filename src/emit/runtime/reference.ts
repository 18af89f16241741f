// Runtime of a module built with `--target reference`: the plain TypeScript backend.
import { referenceBackend } from "../../../backends/reference/backend.ts";
import { CompiledModel } from "../../runtime/model.ts";
import type { Model } from "../../runtime/model-api.ts";
import type { WeightsSource } from "../../runtime/weights-source.ts";
import type { Manifest } from "../manifest.ts";
import { prepare, withTokenizer, type LoadOptions, type OwnTokenizer } from "./shared.ts";

export { ModelInputError, WeightsError, CheckpointError, ByteTokenizer, byteTokenizer, openTokenizer } from "./shared.ts";

export async function createModel(manifest: Manifest, base: URL, source: WeightsSource, opts: LoadOptions = {}, own?: OwnTokenizer): Promise<Model> {
  const { model, weights, tokenizer } = await prepare(manifest, base, source, opts, own);
  return withTokenizer(new CompiledModel(model, manifest.graph, await referenceBackend.instantiate(model, manifest.graph, undefined, weights), "reference"), tokenizer);
}
