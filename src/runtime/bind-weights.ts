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
  /** Skip the check that every value is finite (NaN / ±Inf weights load as they are). */
  allowNonFinite?: boolean;
}

/** A weight holding NaN or ±Inf: the model would compute garbage (or NaN) without saying why. */
export class NonFiniteWeightsError extends WeightsError {
  constructor(
    tensor: string,
    readonly index: number[],
    readonly value: number,
  ) {
    super(`holds ${String(value)} at index [${index.join(", ")}]; weights must be finite`, tensor);
    this.name = "NonFiniteWeightsError";
  }
}

/** Throws NonFiniteWeightsError at the first NaN / ±Inf, naming the tensor and its index. */
export function checkFinite(name: string, shape: readonly number[], data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    // x - x is 0 for every finite x, NaN for NaN and ±Inf: one compare per element.
    const v = data[i];
    if (v - v !== 0) {
      const index = new Array<number>(shape.length);
      let rest = i;
      for (let a = shape.length - 1; a >= 0; a--) {
        index[a] = shape[a] > 0 ? rest % shape[a] : 0;
        rest = shape[a] > 0 ? Math.floor(rest / shape[a]) : 0;
      }
      throw new NonFiniteWeightsError(name, shape.length ? index : [i], v);
    }
  }
}

const FLOAT_DTYPES = ["F32", "F16", "BF16"] as const;
/** The float dtypes a name map may read: scanned to name a non-finite tensor as the file does. */
const SCANNED_DTYPES = new Set<string>([...FLOAT_DTYPES, "F64"]);
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
    if (!opts.allowNonFinite) {
      try {
        for (const t of layout) checkFinite(t.name, t.shape, mapped.get(t.name)!);
      } catch (e) {
        // Name the tensor as the checkpoint does: the first non-finite one in the file.
        if (e instanceof NonFiniteWeightsError) for (const f of file.tensors.values()) if (SCANNED_DTYPES.has(f.dtype)) checkFinite(f.name, f.shape, file.f32(f.name));
        throw e;
      }
    }
    // A fresh map in layout order, so callers see the same order whichever path loaded it.
    return new Map(layout.map((t) => [t.name, mapped.get(t.name)!]));
  }

  const out = new Map<string, Float32Array>();
  for (const t of layout) {
    expectTensor(file, t.name, FLOAT_DTYPES, t.shape);
    const data = file.f32(t.name);
    if (!opts.allowNonFinite) checkFinite(t.name, t.shape, data);
    out.set(t.name, data);
  }
  const extra = [...file.tensors.keys()].filter((n) => !expected.has(n));
  if (extra.length > 0) throw unexpected(extra, m);
  return out;
}
