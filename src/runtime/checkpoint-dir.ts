/**
 * Hugging Face checkpoint directories on disk (Node): `config.json`, and the weights as one
 * `model.safetensors` or as shards listed by `model.safetensors.index.json`, read and validated
 * by checkpoint-shards.ts (which names every problem it finds). This file adds what only a folder
 * can tell: no config.json; no weights (or only pytorch_model.bin, a pickle specformer does not
 * read); shards without an index.
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { SafetensorsFile } from "./safetensors.ts";
import { CONFIG_FILE, CheckpointError, INDEX_FILE, SINGLE_FILE, locateWeights, readShards, type CheckpointProgress, type WeightFiles } from "./checkpoint-shards.ts";
import { folderFiles } from "./checkpoint-sources.ts";

export { CONFIG_FILE, CheckpointError, INDEX_FILE, SINGLE_FILE, type CheckpointProgress } from "./checkpoint-shards.ts";

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

/**
 * Which safetensors files hold the weights: the index's shards, or model.safetensors; a folder
 * with neither says what it holds instead.
 */
export async function weightFiles(dir: string): Promise<WeightFiles> {
  const ik = await kind(join(dir, INDEX_FILE));
  if (ik === "file") return locateWeights(await folderFiles(dir));
  if ((await kind(join(dir, SINGLE_FILE))) === "file") return { names: [SINGLE_FILE] };
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

/**
 * The weights of a checkpoint directory as one SafetensorsFile, every shard validated; `onProgress`
 * counts bytes across all the shards.
 */
export async function readCheckpointWeights(dir: string, onProgress?: (p: CheckpointProgress) => void): Promise<SafetensorsFile> {
  return readShards(await folderFiles(dir), await weightFiles(dir), onProgress);
}
