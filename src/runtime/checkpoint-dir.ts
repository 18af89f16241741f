/**
 * Hugging Face checkpoint directories (Node): `config.json`, and the weights as one
 * `model.safetensors` or as shards listed by `model.safetensors.index.json`
 * (`{"metadata": {"total_size": bytes}, "weight_map": {tensor: shard file}}`).
 *
 * The shards are read and validated, and joined into one SafetensorsFile that the name maps and
 * bindWeights read like a single file. Every problem is one CheckpointError naming the file:
 *   - no config.json; no weights (or only pytorch_model.bin, a pickle specformer does not read);
 *   - an index that does not parse, or whose weight_map is not {tensor: "file.safetensors"};
 *   - a shard the index lists that is missing, or that is not valid safetensors (a truncated
 *     shard fails here: its data offsets run past the end of the file);
 *   - a tensor the index places in a shard that does not hold it;
 *   - total_size different from the bytes the listed tensors take.
 * Tensors a shard holds but the index does not list are not read (transformers loads by index).
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { WeightsError, parseSafetensors, type SafetensorsFile, type TensorInfo } from "./safetensors.ts";
import { readWeights } from "./weights-source.ts";

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

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;
const ioWhy = (e: unknown) => (errno(e) === "ENOENT" ? "no such file or directory" : errno(e) === "EACCES" ? "permission denied" : (e as Error).message);

async function kind(path: string): Promise<"dir" | "file" | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? "dir" : "file";
  } catch (e) {
    if (errno(e) === "ENOENT") return undefined;
    throw new CheckpointError(path, ioWhy(e), true);
  }
}

/**
 * Whether `path` names a checkpoint rather than a spec: a directory, or a file called
 * config.json. (Synchronous-free callers use this to route `run DIR` / `forward DIR`.)
 */
export async function isCheckpointPath(path: string): Promise<boolean> {
  const k = await kind(path);
  return k === "dir" || (k === "file" && basename(path) === CONFIG_FILE);
}

/**
 * Whether `path` is a directory that holds checkpoint weights (model.safetensors, the index, or a
 * config.json beside them): what `--weights DIR` reads as a checkpoint. A directory with none of
 * them is not one (it is then "a directory, not a weights file").
 */
export async function holdsCheckpointWeights(path: string): Promise<boolean> {
  if ((await kind(path)) !== "dir") return false;
  for (const f of [INDEX_FILE, SINGLE_FILE, CONFIG_FILE]) if ((await kind(join(path, f))) !== undefined) return true;
  return false;
}

/** The directory and config.json a path means: `DIR` or `DIR/config.json`. */
export async function checkpointPaths(path: string): Promise<{ dir: string; config: string }> {
  const k = await kind(path);
  if (k === undefined) throw new CheckpointError(path, "no such file or directory", true);
  if (k === "file") {
    if (basename(path) !== CONFIG_FILE) throw new CheckpointError(path, `is not a checkpoint directory or its ${CONFIG_FILE}`, true);
    return { dir: dirname(path), config: path };
  }
  const config = join(path, CONFIG_FILE);
  const c = await kind(config);
  if (c === undefined) throw new CheckpointError(path, `has no ${CONFIG_FILE}, so it is not a Hugging Face checkpoint directory`);
  if (c === "dir") throw new CheckpointError(config, "is a directory, not a file");
  return { dir: path, config };
}

/** config.json's text. */
export async function readCheckpointConfig(path: string): Promise<{ dir: string; config: string; text: string }> {
  const p = await checkpointPaths(path);
  try {
    return { ...p, text: await readFile(p.config, "utf8") };
  } catch (e) {
    throw new CheckpointError(p.config, ioWhy(e), true);
  }
}

interface IndexFile {
  /** Shard files in the order the index first names them. */
  shards: string[];
  /** tensor → shard file. */
  map: Map<string, string>;
  totalSize?: number;
}

function parseIndex(text: string, file: string): IndexFile {
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

/** Which safetensors files hold the weights: the index's shards, or model.safetensors. */
export async function weightFiles(dir: string): Promise<{ index?: { file: string; parsed: IndexFile }; files: string[] }> {
  const indexFile = join(dir, INDEX_FILE);
  const ik = await kind(indexFile);
  if (ik === "file") {
    let text: string;
    try {
      text = await readFile(indexFile, "utf8");
    } catch (e) {
      throw new CheckpointError(indexFile, ioWhy(e), true);
    }
    const parsed = parseIndex(text, indexFile);
    return { index: { file: indexFile, parsed }, files: parsed.shards.map((s) => join(dir, s)) };
  }
  const single = join(dir, SINGLE_FILE);
  if ((await kind(single)) === "file") return { files: [single] };
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new CheckpointError(dir, ioWhy(e), true);
  }
  const st = names.filter((n) => n.endsWith(".safetensors")).sort();
  if (st.length) {
    throw new CheckpointError(dir, `has no ${SINGLE_FILE} and no ${INDEX_FILE} (found ${st.join(", ")}); without the index specformer does not guess which files form the checkpoint`);
  }
  if (names.some((n) => n === "pytorch_model.bin" || n === "pytorch_model.bin.index.json")) {
    throw new CheckpointError(dir, "holds pytorch_model.bin (a PyTorch pickle), which specformer does not read; convert it to model.safetensors (e.g. transformers' save_pretrained(safe_serialization=True))");
  }
  throw new CheckpointError(dir, `has no weights: no ${SINGLE_FILE} and no ${INDEX_FILE}`);
}

/** Several shards as one SafetensorsFile: every read goes to the shard that holds the tensor. */
function joined(parts: { file: string; st: SafetensorsFile; names: readonly string[] }[]): SafetensorsFile {
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

/** One byte count for many files' progress. */
export interface CheckpointProgress {
  loaded: number;
  total: number;
  /** The shard being read. */
  file: string;
}

/**
 * The weights of a checkpoint directory as one SafetensorsFile, every shard validated; `onProgress`
 * counts bytes across all the shards.
 */
export async function readCheckpointWeights(dir: string, onProgress?: (p: CheckpointProgress) => void): Promise<SafetensorsFile> {
  const { index, files } = await weightFiles(dir);
  const sizes: number[] = [];
  for (const f of files) {
    const k = await kind(f);
    if (k !== "file") {
      const listed = index ? [...index.parsed.map].filter(([, s]) => s === basename(f)).map(([t]) => t) : [];
      const what = index ? ` (${INDEX_FILE} lists ${listed.length} tensor${listed.length === 1 ? "" : "s"} in it, e.g. ${JSON.stringify(listed[0])})` : "";
      throw new CheckpointError(f, k === "dir" ? `is a directory, not a shard${what}` : `missing${what}`);
    }
    sizes.push((await stat(f)).size);
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  let before = 0;
  const parts: { file: string; st: SafetensorsFile; names: readonly string[] }[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    let bytes: Uint8Array;
    try {
      bytes = await readWeights(f, onProgress ? (p) => onProgress({ loaded: before + p.loaded, total, file: f }) : undefined);
    } catch (e) {
      throw new CheckpointError(f, (e as Error).message.replace(/^cannot read weights [^:]*: /, ""), true);
    }
    before += sizes[i];
    let st: SafetensorsFile;
    try {
      st = parseSafetensors(bytes);
    } catch (e) {
      if (e instanceof WeightsError) throw new CheckpointError(f, e.message);
      throw e;
    }
    let names: string[];
    if (index) {
      const shard = basename(f);
      names = [...index.parsed.map].filter(([, s]) => s === shard).map(([t]) => t);
      for (const n of names) {
        if (!st.tensors.has(n)) throw new CheckpointError(f, `does not hold tensor ${JSON.stringify(n)}, which ${INDEX_FILE} places in it`);
      }
    } else names = [...st.tensors.keys()];
    parts.push({ file: f, st, names });
  }
  if (index?.parsed.totalSize !== undefined) {
    let bytes = 0;
    for (const p of parts) for (const n of p.names) bytes += tensorBytes(p.st.tensors.get(n)!);
    if (bytes !== index.parsed.totalSize) {
      throw new CheckpointError(index.file, `metadata.total_size is ${index.parsed.totalSize} bytes, but the tensors it lists take ${bytes} bytes in the shards; the shards do not belong to this index`);
    }
  }
  return parts.length === 1 && !index ? parts[0].st : joined(parts);
}

/** A tensor's bytes in its shard (the safetensors reader checked them against numel × dtype size). */
function tensorBytes(t: TensorInfo): number {
  return t.end - t.begin;
}
