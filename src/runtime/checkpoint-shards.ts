/**
 * The weights of a Hugging Face checkpoint directory, wherever its files are read from (a folder
 * in Node: checkpoint-dir.ts; a base URL: checkpoint-sources.ts): one `model.safetensors`, or the
 * shards listed by `model.safetensors.index.json`
 * (`{"metadata": {"total_size": bytes}, "weight_map": {tensor: shard file}}`), read and validated,
 * and joined into one SafetensorsFile that the name maps and bindWeights read like a single file.
 * Browser-safe.
 *
 * Every problem is one CheckpointError naming the file: an index that does not parse, or whose
 * weight_map is not {tensor: "file.safetensors"}; a shard the index lists that is missing, or that
 * is not valid safetensors (a truncated shard fails here: its data offsets run past the end of the
 * file); a tensor the index places in a shard that does not hold it; total_size different from
 * the bytes the listed tensors take. Tensors a shard holds but the index does not list are not
 * read (transformers loads by index).
 */
import { WeightsError, parseSafetensors, type SafetensorsFile, type TensorInfo } from "./safetensors.ts";

export const CONFIG_FILE = "config.json";
export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";

/** A checkpoint directory (or one of its files) that cannot be used, as one line. */
export class CheckpointError extends WeightsError {
  constructor(
    /** The file (or directory) at fault. */
    readonly file: string,
    problem: string,
    /** True where the path cannot be read at all (missing, unreadable): exit 2, not 1. */
    readonly io: boolean = false,
  ) {
    super(problem, undefined, `${file}: ${problem}`);
    this.name = "CheckpointError";
  }
}

/** One byte count for many files' progress. */
export interface CheckpointProgress {
  loaded: number;
  total: number;
  /** The shard being read. */
  file: string;
}

/** A file of the directory, opened: its size where known before reading, and its bytes. */
export interface OpenedFile {
  size: number | undefined;
  read(onBytes?: (loaded: number) => void): Promise<Uint8Array>;
}

/** Where a checkpoint's files come from. */
export interface CheckpointFiles {
  /** The directory (path or base URL), for messages. */
  readonly where: string;
  /** The directory as a URL ending in `/` (file: for a folder). */
  readonly url: string;
  /** A file's full name (path or URL), for messages. */
  locate(name: string): string;
  /** A file of the directory; "missing" / "directory" where it is not a readable file. Throws a CheckpointError (io) where it cannot be read. */
  open(name: string): Promise<OpenedFile | "missing" | "directory">;
  /** A small file's text; undefined where it does not exist. */
  text(name: string): Promise<string | undefined>;
}

export interface IndexFile {
  /** Shard files in the order the index first names them. */
  shards: string[];
  /** tensor → shard file. */
  map: Map<string, string>;
  totalSize?: number;
}

export function parseIndex(text: string, file: string): IndexFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `does not parse as JSON (${(e as Error).message.replace(/\s+/g, " ")})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new CheckpointError(file, "is not a safetensors index: the top level is not a JSON object");
  const o = raw as Record<string, unknown>;
  const wm = o.weight_map;
  if (typeof wm !== "object" || wm === null || Array.isArray(wm)) throw new CheckpointError(file, 'has no "weight_map" object ({tensor: shard file})');
  const map = new Map<string, string>();
  const shards: string[] = [];
  for (const [tensor, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== "string" || !shard.endsWith(".safetensors") || shard.includes("/") || shard.includes("\\") || shard.startsWith(".")) {
      throw new CheckpointError(file, `weight_map places tensor ${JSON.stringify(tensor)} in ${JSON.stringify(shard)}, which is not a .safetensors file name in the directory`);
    }
    map.set(tensor, shard);
    if (!shards.includes(shard)) shards.push(shard);
  }
  if (map.size === 0) throw new CheckpointError(file, "has an empty weight_map");
  let totalSize: number | undefined;
  const meta = o.metadata;
  if (meta !== undefined && meta !== null) {
    if (typeof meta !== "object" || Array.isArray(meta)) throw new CheckpointError(file, '"metadata" is not an object');
    const t = (meta as Record<string, unknown>).total_size;
    if (t !== undefined) {
      if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0) throw new CheckpointError(file, `metadata.total_size must be a byte count, found ${JSON.stringify(t)}`);
      totalSize = t;
    }
  }
  return { shards, map, ...(totalSize !== undefined ? { totalSize } : {}) };
}

/** Which files hold the weights: the index and its shards, or model.safetensors alone. */
export interface WeightFiles {
  index?: { file: string; parsed: IndexFile };
  /** File names inside the directory. */
  names: string[];
}

/** The index where there is one, else model.safetensors (whether it exists is found on open). */
export async function locateWeights(files: CheckpointFiles): Promise<WeightFiles> {
  const text = await files.text(INDEX_FILE);
  if (text === undefined) return { names: [SINGLE_FILE] };
  const file = files.locate(INDEX_FILE);
  const parsed = parseIndex(text, file);
  return { index: { file, parsed }, names: parsed.shards };
}

const tensorsIn = (index: IndexFile, shard: string) => [...index.map].filter(([, s]) => s === shard).map(([t]) => t);

/**
 * The weights as one SafetensorsFile, every shard validated; `onProgress` counts bytes across all
 * the shards (every shard is opened first, so the total is known before the first byte).
 */
export async function readShards(files: CheckpointFiles, w: WeightFiles, onProgress?: (p: CheckpointProgress) => void): Promise<SafetensorsFile> {
  const { index } = w;
  const opened = await Promise.all(w.names.map((n) => files.open(n)));
  const handles: OpenedFile[] = [];
  opened.forEach((o, i) => {
    if (typeof o === "object") return void handles.push(o);
    const f = files.locate(w.names[i]);
    if (!index) throw new CheckpointError(files.where, `has no weights: no ${SINGLE_FILE} and no ${INDEX_FILE}`);
    const listed = tensorsIn(index.parsed, w.names[i]);
    const what = ` (${INDEX_FILE} lists ${listed.length} tensor${listed.length === 1 ? "" : "s"} in it, e.g. ${JSON.stringify(listed[0])})`;
    throw new CheckpointError(f, o === "directory" ? `is a directory, not a shard${what}` : `missing${what}`);
  });
  const known = handles.reduce((a, h) => a + (h.size ?? 0), 0);
  let before = 0;
  const parts: { st: SafetensorsFile; names: readonly string[] }[] = [];
  for (let i = 0; i < handles.length; i++) {
    const f = files.locate(w.names[i]);
    const bytes = await handles[i].read(onProgress ? (loaded) => onProgress({ loaded: before + loaded, total: Math.max(known, before + loaded), file: f }) : undefined);
    before += bytes.length;
    let st: SafetensorsFile;
    try {
      st = parseSafetensors(bytes);
    } catch (e) {
      if (e instanceof WeightsError) throw new CheckpointError(f, e.message);
      throw e;
    }
    let names: string[];
    if (index) {
      names = tensorsIn(index.parsed, w.names[i]);
      for (const n of names) {
        if (!st.tensors.has(n)) throw new CheckpointError(f, `does not hold tensor ${JSON.stringify(n)}, which ${INDEX_FILE} places in it`);
      }
    } else names = [...st.tensors.keys()];
    parts.push({ st, names });
  }
  if (index?.parsed.totalSize !== undefined) {
    let bytes = 0;
    // A tensor's bytes in its shard (the safetensors reader checked them against numel × dtype size).
    for (const p of parts) for (const n of p.names) bytes += tensorBytes(p.st.tensors.get(n)!);
    if (bytes !== index.parsed.totalSize) {
      throw new CheckpointError(index.file, `metadata.total_size is ${index.parsed.totalSize} bytes, but the tensors it lists take ${bytes} bytes in the shards; the shards do not belong to this index`);
    }
  }
  return parts.length === 1 && !index ? parts[0].st : joined(parts);
}

const tensorBytes = (t: TensorInfo) => t.end - t.begin;

/** Several shards as one SafetensorsFile: every read goes to the shard that holds the tensor. */
function joined(parts: { st: SafetensorsFile; names: readonly string[] }[]): SafetensorsFile {
  const owner = new Map<string, SafetensorsFile>();
  const tensors = new Map<string, TensorInfo>();
  for (const p of parts) {
    for (const n of p.names) {
      owner.set(n, p.st);
      tensors.set(n, p.st.tensors.get(n)!);
    }
  }
  const first = parts[0].st;
  const of = (name: string) => owner.get(name) ?? first;
  return {
    tensors,
    metadata: {},
    // Offsets are per shard; a joined view has no single data section.
    dataOffset: 0,
    get: (n) => of(n).get(n),
    raw: (n) => of(n).raw(n),
    f32: (n) => of(n).f32(n),
    i32: (n) => of(n).i32(n),
    i64: (n) => of(n).i64(n),
    u8: (n) => of(n).u8(n),
    bool: (n) => of(n).bool(n),
  };
}
