/**
 * Checkpoint → the native weight map a backend consumes. Every tensor of weightLayout(m) must
 * be present with exactly its shape, and nothing else may be: a file for a different model (or
 * a different size of the same one) fails here, by name, instead of producing garbage logits.
 */
import type { ModelInfo } from "../model/model.ts";
import { numel, weightLayout } from "../model/weights-layout.ts";
import { WeightsError, expectTensor, formatShape, type SafetensorsFile } from "./safetensors.ts";

export interface BindOptions {
  /** Converts a foreign checkpoint (e.g. Hugging Face names) into native names. */
  map?: (file: SafetensorsFile, m: ModelInfo) => Map<string, Float32Array>;
}

const FLOAT_DTYPES = ["F32", "F16", "BF16"] as const;
/** How many unexpected names an error lists before summarising the rest. */
const LIST_LIMIT = 5;

function unexpected(names: string[], m: ModelInfo): WeightsError {
  const shown = names.slice(0, LIST_LIMIT).map((n) => JSON.stringify(n));
  const more = names.length > LIST_LIMIT ? ` and ${names.length - LIST_LIMIT} more` : "";
  const problem =
    `${names.length} unexpected tensor${names.length === 1 ? "" : "s"} for model ${m.name}: ${shown.join(", ")}${more}; ` +
    "the checkpoint may belong to a different model";
  return new WeightsError(problem, names[0], problem);
}

export function bindWeights(m: ModelInfo, file: SafetensorsFile, opts: BindOptions = {}): Map<string, Float32Array> {
  const layout = weightLayout(m);
  const expected = new Set(layout.map((t) => t.name));

  if (opts.map) {
    const mapped = opts.map(file, m);
    for (const t of layout) {
      const data = mapped.get(t.name);
      if (data === undefined) throw new WeightsError("missing after mapping the checkpoint", t.name);
      if (!(data instanceof Float32Array)) throw new WeightsError("mapped tensor is not a Float32Array", t.name);
      const n = numel(t.shape);
      if (data.length !== n) {
        throw new WeightsError(`mapped tensor has ${data.length} elements, expected shape ${formatShape(t.shape)} = ${n}`, t.name);
      }
    }
    const extra = [...mapped.keys()].filter((n) => !expected.has(n));
    if (extra.length > 0) throw unexpected(extra, m);
    // A fresh map in layout order, so callers see the same order whichever path loaded it.
    return new Map(layout.map((t) => [t.name, mapped.get(t.name)!]));
  }

  const out = new Map<string, Float32Array>();
  for (const t of layout) {
    expectTensor(file, t.name, FLOAT_DTYPES, t.shape);
    out.set(t.name, file.f32(t.name));
  }
  const extra = [...file.tensors.keys()].filter((n) => !expected.has(n));
  if (extra.length > 0) throw unexpected(extra, m);
  return out;
}
