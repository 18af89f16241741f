import type { ModelInfo } from "../model/model.ts";

/**
 * ModelInfo as plain JSON, for the manifest of a generated module: Maps become objects,
 * spans are dropped (a built model has no source to point into).
 */
export type ModelJson = Omit<ModelInfo, "dims" | "runtime"> & {
  dims: Record<string, number>;
  runtime: Record<string, { max?: number }>;
};

export function modelToJson(m: ModelInfo): ModelJson {
  const stripped = JSON.parse(JSON.stringify(m, (k, v) => (k === "span" ? undefined : v instanceof Map ? Object.fromEntries(v) : v)));
  return stripped as ModelJson;
}

/** Backends never read spans (only the checker does), so a built model goes without them. */
export function modelFromJson(j: ModelJson): ModelInfo {
  return { ...j, dims: new Map(Object.entries(j.dims)), runtime: new Map(Object.entries(j.runtime)) } as unknown as ModelInfo;
}
