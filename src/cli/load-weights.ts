/**
 * Weights for `run`, `forward` and `train`: read (a missing or unreadable file is exit 2), a
 * Hugging Face checkpoint directory's shards joined, validated as safetensors and against the
 * spec's layout (exit 1, naming the tensor), name-mapped, and checked for NaN / ±Inf unless
 * --allow-nonfinite — as f32 tensors (loadWeights) or in their storage dtypes (loadWeightStore).
 */
import type { ModelInfo } from "../model/model.ts";
import type { MapName } from "../runtime/name-maps.ts";
import type { SafetensorsFile } from "../runtime/safetensors.ts";
import type { BindOptions } from "../runtime/bind-weights.ts";
import type { StorageDType, WeightStore } from "../runtime/weights/format.ts";
import { CliError, EXIT_ERRORS, EXIT_USAGE } from "./io.ts";

export interface LoadWeightsOptions {
  map?: MapName;
  /** The storage asked for (`--dtype`): a GGUF file's K-quants are decoded straight into it. */
  dtype?: StorageDType;
  allowNonFinite?: boolean;
  onProgress?: (loaded: number, total: number) => void;
}

/**
 * A weights file, or a checkpoint directory's shards as one file with the name map its tensor
 * names suggest (--map wins over the guess).
 */
async function readWeightFile(m: ModelInfo, path: string, o: LoadWeightsOptions): Promise<{ file: SafetensorsFile; map?: MapName; close?: () => void }> {
  const [{ readWeights }, { parseSafetensors, WeightsError }] = await Promise.all([import("../runtime/weights-source.ts"), import("../runtime/safetensors.ts")]);
  const dir = await readCheckpointDirWeights(path, o);
  if (dir) {
    const map = o.map ?? dir.map;
    return { file: dir.file, ...(map ? { map } : {}) };
  }
  const gguf = await openGgufWeights(m, path, o);
  if (gguf) return gguf;
  let bytes: Uint8Array;
  try {
    bytes = await readWeights(path, o.onProgress ? (p) => o.onProgress!(p.loaded, p.total) : undefined);
  } catch (e) {
    if (e instanceof WeightsError) throw e;
    const msg = (e as Error).message;
    throw new CliError(msg.startsWith("cannot read") ? msg : `cannot read weights ${path}: ${msg}`);
  }
  return { file: parseSafetensors(bytes), ...(o.map ? { map: o.map } : {}) };
}

/** Whether `path` is a regular file that starts with GGUF's magic (anything unreadable: no, the ordinary reader reports it). */
async function startsGguf(path: string): Promise<boolean> {
  const [fs, { isGguf }] = await Promise.all([import("node:fs/promises"), import("../runtime/gguf/magic.ts")]);
  let handle;
  try {
    handle = await fs.open(path, "r");
    if (!(await handle.stat()).isFile()) return false;
    const head = new Uint8Array(4);
    await handle.read(head, 0, 4, 0);
    return isGguf(head);
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

const ggufWithMap = (map: MapName) => new CliError(`--map ${map}: a GGUF file's tensor names are llama.cpp's, mapped by the file's general.architecture; drop --map`, EXIT_USAGE);

/**
 * A GGUF file on disk as a specformer low-bit file in model m's native names, read tensor by
 * tensor as the binding asks (never whole), its K-quants decoded into `dtype`'s storage; `close`
 * it once bound. Undefined when `path` is not a GGUF file. `map` must be unset: the file says
 * its own naming.
 */
export async function openGgufWeights(m: ModelInfo, path: string, o: { map?: MapName; dtype?: StorageDType }): Promise<{ file: SafetensorsFile; close: () => void } | undefined> {
  if (!(await startsGguf(path))) return undefined;
  if (o.map) throw ggufWithMap(o.map);
  const [{ openGguf }, { ggufNatives }, { ggufNativeFile }, { inferenceGraph }] = await Promise.all([
    import("../runtime/gguf/read-gguf.ts"),
    import("../runtime/gguf/llama-gguf.ts"),
    import("../runtime/gguf/native-file.ts"),
    import("../ir/lower.ts"),
  ]);
  const gguf = await openGguf(path);
  try {
    return { file: ggufNativeFile(ggufNatives(gguf, m, inferenceGraph(m), o.dtype ? { dtype: o.dtype } : {}), "gguf"), close: gguf.close };
  } catch (e) {
    gguf.close();
    throw e;
  }
}

/**
 * A checkpoint directory's weights (every shard validated, joined into one file) and the name map
 * its tensor names suggest; undefined when `path` is not such a directory (then it is read as a
 * file, and a directory without weights fails as before: exit 2).
 */
async function readCheckpointDirWeights(path: string, o: LoadWeightsOptions): Promise<{ file: SafetensorsFile; map?: MapName } | undefined> {
  const [{ readCheckpointWeights, holdsCheckpointWeights, CheckpointError }, { guessNameMap }] = await Promise.all([import("../runtime/checkpoint-dir.ts"), import("../runtime/name-maps.ts")]);
  if (!(await holdsCheckpointWeights(path))) return undefined;
  let file: SafetensorsFile;
  try {
    file = await readCheckpointWeights(path, o.onProgress ? (p) => o.onProgress!(p.loaded, p.total) : undefined);
  } catch (e) {
    if (e instanceof CheckpointError && e.io) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
  const map = guessNameMap(file);
  return { file, ...(map ? { map } : {}) };
}

/** Binds with the name map and the finiteness check; a non-finite weight is exit 1 with the way out. */
async function bind<T>(m: ModelInfo, path: string, o: LoadWeightsOptions, run: (file: SafetensorsFile, opts: BindOptions) => T): Promise<T> {
  const [{ NonFiniteWeightsError }, { applyNameMap }] = await Promise.all([import("../runtime/bind-weights.ts"), import("../runtime/name-maps.ts")]);
  const { file, map, close } = await readWeightFile(m, path, o);
  try {
    return run(file, {
      ...(map ? { map: (f, mi) => applyNameMap(map, f, mi) } : {}),
      ...(o.allowNonFinite ? { allowNonFinite: true } : {}),
    });
  } catch (e) {
    if (e instanceof NonFiniteWeightsError) throw new CliError(`${e.message} (--allow-nonfinite loads them anyway)`, EXIT_ERRORS);
    throw e;
  } finally {
    close?.();
  }
}

/** The weights as f32 tensors by native name. */
export async function loadWeights(m: ModelInfo, path: string, o: LoadWeightsOptions = {}): Promise<Map<string, Float32Array>> {
  const { bindWeights } = await import("../runtime/bind-weights.ts");
  return bind(m, path, o, (file, opts) => bindWeights(m, file, opts));
}

/** The weights in their storage dtypes (src/runtime/weights/), converted to `dtype` at load tensor by tensor. */
export async function loadWeightStore(m: ModelInfo, path: string, o: LoadWeightsOptions & { dtype?: StorageDType }): Promise<WeightStore> {
  const [{ bindWeightStore }, { inferenceGraph }] = await Promise.all([import("../runtime/bind-weights.ts"), import("../ir/lower.ts")]);
  return bind(m, path, o, (file, opts) => bindWeightStore(m, file, inferenceGraph(m), { ...opts, ...(o.dtype ? { dtype: o.dtype } : {}) }));
}

/**
 * Whether a local weights file is a specformer low-bit file (its header's __metadata__ names our
 * storage keys): read from the header alone. Anything unreadable is "no": the ordinary loader
 * then reports the problem as it always does.
 */
export async function isLowBitPath(path: string): Promise<boolean> {
  const fs = await import("node:fs/promises");
  let handle;
  try {
    handle = await fs.open(path, "r");
    // Only a regular file: a pipe's bytes must stay for the loader (which refuses it anyway).
    if (!(await handle.stat()).isFile()) return false;
    const head = Buffer.alloc(8);
    if ((await handle.read(head, 0, 8, 0)).bytesRead < 8) return false;
    const length = Number(head.readBigUInt64LE(0));
    if (!Number.isSafeInteger(length) || length > 100_000_000) return false;
    const header = Buffer.alloc(length);
    if ((await handle.read(header, 0, length, 8)).bytesRead < length) return false;
    const meta = (JSON.parse(header.toString("utf8")) as { __metadata__?: Record<string, unknown> }).__metadata__;
    return meta !== undefined && Object.keys(meta).some((k) => k.startsWith("specformer.quant") || k.startsWith("specformer.dtype."));
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}
