/**
 * Checkpoint → the native weight map a backend consumes. Every tensor of weightLayout(m) must
 * be present with exactly its shape, and nothing else may be: a file for a different model (or
 * a different size of the same one) fails here, by name, instead of producing garbage logits.
 */
import type { Graph } from "../ir/ir.ts";
import type { ModelInfo } from "../model/model.ts";
import { numel, weightLayout } from "../model/weights-layout.ts";
import { WeightsError, expectTensor, formatShape, type SafetensorsFile } from "./safetensors.ts";
import { SCALES, fileStorage, isLowBitFile, readStored } from "./weights/file.ts";
import { storageOf, type StorageDType, type StoredWeight, type WeightStore } from "./weights/format.ts";
import { dequantize, quantize } from "./weights/quantize.ts";
import { planStorage, storageProblem, weightUses } from "./weights/store.ts";

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

  // A specformer low-bit file read by an f32 consumer: every tensor dequantised.
  if (isLowBitFile(file)) {
    if (opts.map) throw lowBitWithMap();
    const store = bindStored(m, file, undefined, opts);
    return new Map(layout.map((t) => [t.name, dequantize(store.get(t.name)!)]));
  }

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

// ---- weights in their storage dtypes --------------------------------------------------------

export interface StoreOptions extends BindOptions {
  /**
   * Storage at load time: f32 dequantises everything; f16 / q8 / q4 convert the tensors the
   * program allows (planStorage in weights/store.ts: linear weights and embedding tables, q4
   * tables as q8). Default: as the file stores them (a plain checkpoint is all f32).
   */
  dtype?: StorageDType;
  /** With `dtype`: tensor names (or `*` globs) kept in f32. */
  keep?: readonly string[];
  /** Called after each tensor is bound: tensors done, of all. */
  onTensor?: (done: number, total: number) => void;
}

function lowBitWithMap(): WeightsError {
  return new WeightsError("a specformer low-bit file already uses native names; load it without a name map");
}

/** Whether f16 bits hold NaN or ±Inf: the first such element's index, else -1. */
function nonFiniteF16(bits: Uint16Array): number {
  for (let i = 0; i < bits.length; i++) if ((bits[i] & 0x7c00) === 0x7c00) return i;
  return -1;
}

/**
 * Checkpoint → native weights, each in its storage dtype: a specformer low-bit file as it
 * stores them (checked against the layout: codes, scales, block size, metadata), a plain one
 * as f32, either converted to `opts.dtype` tensor by tensor — one tensor is in f32 at a time
 * besides the file's own bytes, never the whole model twice. `graph` is the program to run
 * (inferenceGraph(m)): its uses decide which tensors may be low-bit.
 */
export function bindWeightStore(m: ModelInfo, file: SafetensorsFile, graph: Graph, opts: StoreOptions = {}): WeightStore {
  if (opts.keep?.length && opts.dtype === undefined) throw new WeightsError("keeping tensors in f32 needs a storage dtype to convert the others to");
  return bindStored(m, file, graph, opts);
}

function bindStored(m: ModelInfo, file: SafetensorsFile, graph: Graph | undefined, opts: StoreOptions): WeightStore {
  const layout = weightLayout(m);
  const lowBit = isLowBitFile(file);
  if (lowBit && opts.map) throw lowBitWithMap();
  const declared = fileStorage(file);
  const uses = graph ? weightUses(graph) : undefined;
  const plan = opts.dtype !== undefined && opts.dtype !== "f32" ? planStorage(graph!, opts.dtype, opts.keep ? { keep: opts.keep } : {}) : undefined;
  const layoutNames = new Set(layout.map((t) => t.name));
  for (const name of declared.keys()) if (!layoutNames.has(name)) throw unexpected([name], m);

  let mapped: Map<string, Float32Array> | undefined;
  if (opts.map) {
    // Name maps build f32 tensors from the foreign layout; bindWeights checks them all.
    mapped = bindWeights(m, file, { map: opts.map, ...(opts.allowNonFinite ? { allowNonFinite: true } : {}) });
  } else {
    const expected = new Set(layoutNames);
    for (const [name, d] of declared) if (d === "q8" || d === "q4") expected.add(`${name}${SCALES}`);
    const extra = [...file.tensors.keys()].filter((n) => !expected.has(n));
    if (extra.length > 0) throw unexpected(extra, m);
  }

  const out: WeightStore = new Map();
  let done = 0;
  for (const t of layout) {
    const have = declared.get(t.name) ?? "f32";
    const want: StorageDType = opts.dtype === undefined ? have : (plan?.get(t.name) ?? "f32");
    if (uses) {
      const why = storageProblem(uses, t.name, have);
      if (why) throw new WeightsError(why, t.name);
    }
    let w: StoredWeight;
    if (mapped) {
      w = quantize(mapped.get(t.name)!, t.shape, want, t.name);
      mapped.delete(t.name);
    } else if (have === want) {
      w = readStored(file, t.name, t.shape, have);
    } else if (have === "f32" && want === "f16" && file.tensors.get(t.name)?.dtype === "F16") {
      // An F16 checkpoint kept as it is: its own bits, no round trip.
      w = readStored(file, t.name, t.shape, "f16");
    } else if (have !== "f32" && want !== "f32") {
      throw new WeightsError(`is stored as ${have} in the file; converting it to ${want} would quantise twice (quantise from the f32 / f16 checkpoint, or load it as stored)`, t.name);
    } else {
      const data = have === "f32" ? file.f32(t.name) : dequantize(readStored(file, t.name, t.shape, have));
      if (!opts.allowNonFinite) checkFinite(t.name, t.shape, data);
      w = quantize(data, t.shape, want, t.name);
    }
    if (!opts.allowNonFinite) {
      if (w instanceof Float32Array) checkFinite(t.name, t.shape, w);
      else if (w.dtype === "f16") {
        const bad = nonFiniteF16(w.bits);
        if (bad >= 0) checkFinite(t.name, t.shape, dequantize(w));
      }
    }
    if (storageOf(w) !== want) throw new Error(`bindWeightStore: ${t.name} came out ${storageOf(w)}, expected ${want}`);
    out.set(t.name, w);
    opts.onTensor?.(++done, layout.length);
  }
  return out;
}
