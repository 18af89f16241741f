import { isGgufPath } from "../runtime/gguf/magic.ts";
import { existsSync, statSync } from "node:fs";
import { checkFile, checkSource } from "../check/check.ts";
import { renderText } from "../diagnostics/render-text.ts";
import type { ModelInfo } from "../model/model.ts";
import type { MapName } from "../runtime/name-maps.ts";
import type { TextTokenizer } from "../runtime/tokenizers/types.ts";
import { CliError, EXIT_ERRORS, EXIT_USAGE } from "./io.ts";

/**
 * Check a spec and return its entry model, for the commands that need a model
 * (inspect, weights, build, run). Errors are printed as diagnostics and become exit 1.
 */
export function loadModel(file: string, opts: { model?: string; color: boolean }): ModelInfo {
  if (!existsSync(file)) throw new CliError(`cannot read ${file}: no such file`);
  if (statSync(file).isDirectory()) throw new CliError(`cannot read ${file}: it is a directory (give a .sf file)`);
  const r = checkFile(file, opts.model !== undefined ? { model: opts.model } : {});
  if (r.unreadable) throw new CliError(r.diagnostics[0]?.message ?? `cannot read ${file}`);
  // Only the entry's own errors block it: a broken neighbour in the same file does not.
  if (!r.entry) {
    process.stderr.write(renderText(r.diagnostics.filter((d) => d.severity === "error"), r.sources, { color: opts.color }));
    throw new CliError(r.diagnostics.length ? `${file} has errors; fix them first (\`specformer check ${file}\`)` : `${file} declares no complete model`, EXIT_ERRORS);
  }
  return r.entry;
}

export function parsePositiveInt(value: string | undefined, what: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new CliError(`${what} must be ${min === 0 ? "a non-negative" : "a positive"} integer, got \`${value}\``);
  }
  return Number(value);
}

/**
 * A strictly parsed list of token ids (`--tokens`, `--src-tokens`): comma-separated decimal
 * integers, each a safe integer inside the vocabulary when one is given. Nothing wraps or rounds:
 * `99999999999999999999` is an error, not token 1661992960.
 */
export function parseTokenIds(value: string, what: string, vocab?: number): Int32Array {
  const parts = value.split(",").map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new CliError(`${what} takes comma-separated token ids (non-negative integers), got \`${value}\``);
  }
  const ids = parts.map(Number);
  const limit = vocab ?? 2 ** 31;
  const bad = ids.findIndex((id) => !Number.isSafeInteger(id) || id >= limit);
  if (bad >= 0) {
    const range = vocab !== undefined ? `the vocabulary is [0, ${vocab})` : `token ids are below 2^31`;
    throw new CliError(`${what}: \`${parts[bad]}\` is not a token id (${range})`);
  }
  return Int32Array.from(ids);
}

export { loadWeights, type LoadWeightsOptions } from "./load-weights.ts";

// ---- Hugging Face checkpoint directories (`run DIR`, `forward DIR`, `--weights DIR`) ----------

/** Where a checked model came from: a spec file, or a checkpoint directory imported on the fly. */
export interface LoadedModel {
  m: ModelInfo;
  /** Set when the model was imported from a checkpoint directory's config.json. */
  checkpoint?: { dir: string; map?: MapName };
}

/**
 * A spec file (loadModel), or a Hugging Face checkpoint — a directory or its config.json — whose
 * config.json is imported (src/import/) and checked in memory. An import the importer refuses is
 * one line naming the file and the key, exit 1.
 */
export async function loadSpecOrCheckpoint(file: string, opts: { model?: string; color: boolean }): Promise<LoadedModel> {
  const { isCheckpointPath, CheckpointError } = await import("../runtime/checkpoint-dir.ts");
  let isCheckpoint: boolean;
  try {
    isCheckpoint = await isCheckpointPath(file);
  } catch (e) {
    if (e instanceof CheckpointError) throw new CliError(e.message, e.io ? EXIT_USAGE : EXIT_ERRORS);
    throw e;
  }
  const { importForCli } = await import("./import-command.ts");
  if (!isCheckpoint && !isGgufPath(file)) return { m: loadModel(file, opts) };
  const r = await importForCli(file);
  const source = `${r.config} (imported)`;
  const c = checkSource(r.text, source, opts.model !== undefined ? { model: opts.model } : {});
  if (!c.entry) {
    process.stderr.write(renderText(c.diagnostics.filter((d) => d.severity === "error"), c.sources, { color: opts.color }));
    throw new CliError(`the spec imported from ${r.config} has errors`, EXIT_ERRORS);
  }
  // A GGUF file names its tensors llama.cpp's way: its loader maps them, no name map does.
  return { m: c.entry, checkpoint: { dir: r.dir, map: isGgufPath(file) ? undefined : r.map } };
}

/**
 * Options with the checkpoint's weights filled in: `--weights` defaults to the directory and
 * `--map` to its family's map. Without a checkpoint, --weights is required (commander's wording).
 */
export function withCheckpointWeights<T extends { weights?: string; map?: MapName }>(o: T, checkpoint: LoadedModel["checkpoint"]): T & { weights: string } {
  if (!checkpoint) {
    if (o.weights === undefined) throw new CliError("required option '--weights <file>' not specified");
    return o as T & { weights: string };
  }
  return { ...o, weights: o.weights ?? checkpoint.dir, map: o.map ?? checkpoint.map };
}

/**
 * The tokenizer of a checkpoint directory for `run --prompt`: its tokenizer.json (or vocab.json +
 * merges.txt) with tokenizer_config.json and generation_config.json. A file that does not parse
 * is exit 1, one that cannot be read exit 2; a tokenizer with ids past the model's vocabulary is
 * refused (its ids would index past the embedding table). Decoding leaves out special tokens.
 */
export async function checkpointTokenizer(dir: string, m: ModelInfo): Promise<TextTokenizer> {
  if (isGgufPath(dir)) return ggufFileTokenizer(dir, m);
  const [{ loadTokenizer }, { TokenizerFileError }, { bindTokenizer }] = await Promise.all([
    import("../runtime/tokenizers/load.ts"),
    import("../runtime/tokenizers/hf.ts"),
    import("../runtime/tokenizers/model-tokenizer.ts"),
  ]);
  try {
    return bindTokenizer(await loadTokenizer(dir), { name: m.name, vocab: m.head.vocab }, dir, { skipSpecial: true });
  } catch (e) {
    if (e instanceof TokenizerFileError) throw new CliError(e.message, e.io ? EXIT_USAGE : EXIT_ERRORS);
    throw e;
  }
}

/** `path` when it is a directory holding tokenizer files (tokenizer.json, or vocab.json + merges.txt); else undefined. */
export async function tokenizerDir(path: string): Promise<string | undefined> {
  const { stat } = await import("node:fs/promises");
  const isFile = async (p: string) => (await stat(p).catch(() => undefined))?.isFile() === true;
  if ((await stat(path).catch(() => undefined))?.isDirectory() !== true) return undefined;
  const { join } = await import("node:path");
  if ((await isFile(join(path, "tokenizer.json"))) || ((await isFile(join(path, "vocab.json"))) && (await isFile(join(path, "merges.txt"))))) return path;
  return undefined;
}

/** The tokenizer in a GGUF file's metadata (src/runtime/gguf/gguf-tokenizer.ts), checked against the model's vocabulary when there is one. */
export async function ggufFileTokenizer(path: string, m?: ModelInfo): Promise<TextTokenizer> {
  const [{ readGgufHeader }, { ggufTokenizer }, { vocabProblem }] = await Promise.all([
    import("../runtime/gguf/read-gguf.ts"),
    import("../runtime/gguf/gguf-tokenizer.ts"),
    import("../runtime/tokenizers/model-tokenizer.ts"),
  ]);
  const tok = ggufTokenizer((await readGgufHeader(path)).metadata, path);
  const problem = m && vocabProblem(tok.vocab, { name: m.name, vocab: m.head.vocab });
  if (problem !== undefined) throw new CliError(`${path}: ${problem}`, EXIT_ERRORS);
  return tok;
}
