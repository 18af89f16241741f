/**
 * What every generated module's runtime does before a backend takes over: read the weights
 * (bytes, path or URL) with progress, validate them, apply a name map, bind them to the
 * model's layout. Bundled into each target's runtime.js; imports nothing from the compiler.
 */
import type { ModelInfo } from "../../model/model.ts";
import { bindWeights } from "../../runtime/bind-weights.ts";
import { applyNameMap, type MapName } from "../../runtime/name-maps.ts";
import { parseSafetensors } from "../../runtime/safetensors.ts";
import { modelFromJson } from "../../runtime/serialize.ts";
import { readWeights, type Progress, type WeightsSource } from "../../runtime/weights-source.ts";
import type { Manifest } from "../manifest.ts";

export interface LoadOptions {
  onProgress?: (p: Progress) => void;
  threads?: number;
  device?: GPUDevice;
  map?: MapName;
  /** Load weights holding NaN or ±Inf instead of refusing them. */
  allowNonFinite?: boolean;
}

export async function prepare(manifest: Manifest, source: WeightsSource, opts: LoadOptions): Promise<{ model: ModelInfo; weights: Map<string, Float32Array> }> {
  if (manifest.format !== 1) throw new Error(`this module was built with an unknown manifest format ${String(manifest.format)}`);
  const model = modelFromJson(manifest.model);
  const bytes = await readWeights(source, opts.onProgress);
  const file = parseSafetensors(bytes);
  const weights = bindWeights(model, file, { ...(opts.map ? { map: (f, m) => applyNameMap(opts.map!, f, m) } : {}), ...(opts.allowNonFinite ? { allowNonFinite: true } : {}) });
  opts.onProgress?.({ phase: "bind", loaded: weights.size, total: weights.size });
  return { model, weights };
}
