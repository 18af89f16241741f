/**
 * What every generated module's runtime does before a backend takes over: read the weights
 * (bytes, a path or URL, or a Hugging Face checkpoint directory's shards) with progress, validate
 * them, apply a name map, bind them to the model's layout; and find the model's tokenizer.
 * Bundled into each target's runtime.js; imports nothing from the compiler.
 */
import type { ModelInfo } from "../../model/model.ts";
import type { Graph } from "../../ir/ir.ts";
import { locateWeights, readShards, type CheckpointFiles } from "../../runtime/checkpoint-shards.ts";
import { checkpointFiles } from "../../runtime/checkpoint-sources.ts";
import type { Model } from "../../runtime/model-api.ts";
import { applyNameMap, guessNameMap, type MapName } from "../../runtime/name-maps.ts";
import { parseSafetensors, type SafetensorsFile } from "../../runtime/safetensors.ts";
import { modelFromJson } from "../../runtime/serialize.ts";
import { ByteTokenizer } from "../../runtime/tokenizer.ts";
import { readWeights, type Progress, type WeightsSource } from "../../runtime/weights-source.ts";
import type { Manifest } from "../manifest.ts";
import { byteTokenizer, type Tokenizer } from "./tokenizer-api.ts";
import type { WeightStore } from "../../runtime/weights/format.ts";
import { bindForProgram, builtDtype } from "./weights.ts";
import { isGguf } from "../../runtime/gguf/magic.ts";
import { WeightsError } from "../../runtime/safetensors.ts";
import type { BindOptions } from "../../runtime/bind-weights.ts";
import { weightLayout } from "../../model/weights-layout.ts";

export { ModelInputError } from "../../runtime/model-api.ts";
export { WeightsError } from "../../runtime/safetensors.ts";
export { CheckpointError } from "../../runtime/checkpoint-shards.ts";
export { ByteTokenizer } from "../../runtime/tokenizer.ts";
export { byteTokenizer } from "./tokenizer-api.ts";

export interface LoadOptions {
  onProgress?: (p: Progress) => void;
  threads?: number;
  device?: GPUDevice;
  map?: MapName;
  /** Load weights holding NaN or ±Inf instead of refusing them. */
  allowNonFinite?: boolean;
}

/** The package's own tokenizer (byte, or the one `build` copied from a checkpoint), loaded once by index.js. */
export type OwnTokenizer = () => Promise<Tokenizer>;

export interface Prepared {
  model: ModelInfo;
  /** In the storage the program runs them in (./weights.ts). */
  weights: WeightStore;
  /** The manifest's program, its weight nodes marked with a low-bit file's storage where the backend compiles at load. */
  graph: Graph;
  tokenizer: Tokenizer | undefined;
}

export async function prepare(manifest: Manifest, base: URL, source: WeightsSource, opts: LoadOptions, own?: OwnTokenizer, compilesAtLoad = false): Promise<Prepared> {
  const model = manifestModel(manifest);
  const dir = await checkpointFiles(source);
  const [read, tokenizer] = await Promise.all([readWeightsOrGguf(manifest, model, base, source, dir, opts), modelTokenizer(manifest, base, dir, own)]);
  const { file } = read;
  const { weights, graph } = bindForProgram(model, file, manifest.graph, bindOptions(manifest, model, file, dir !== undefined, opts), compilesAtLoad);
  opts.onProgress?.({ phase: "bind", loaded: weights.size, total: weights.size });
  return { model, weights, graph, tokenizer: tokenizer ?? read.tokenizer };
}

/**
 * The weights of `source`: a directory's shards, a safetensors file, or a GGUF file (gguf.js
 * beside runtime.js, imported only then: its tensors under the model's names, and its tokenizer
 * for a package that has none of its own).
 */
async function readWeightsOrGguf(manifest: Manifest, model: ModelInfo, base: URL, source: WeightsSource, dir: CheckpointFiles | undefined, opts: LoadOptions): Promise<{ file: SafetensorsFile; tokenizer?: Tokenizer }> {
  if (dir !== undefined) return { file: await readSource(source, dir, opts.onProgress) };
  const bytes = await readWeights(source, opts.onProgress);
  if (!isGguf(bytes)) return { file: parseSafetensors(bytes) };
  const where = typeof source === "string" || source instanceof URL ? String(source) : "the GGUF file";
  if (opts.map !== undefined) throw new WeightsError(`${where} is a GGUF file: its tensors are mapped by llama.cpp's names, so it takes no name map (got map ${JSON.stringify(opts.map)})`);
  const g: typeof import("./gguf.ts") = await import(new URL("gguf.js", base).href);
  return g.openGgufWeights(bytes, model, manifest.graph, builtDtype(manifest.graph), where);
}

export function manifestModel(manifest: Manifest): ModelInfo {
  if (manifest.format !== 1) throw new Error(`this module was built with an unknown manifest format ${String(manifest.format)}`);
  return modelFromJson(manifest.model);
}

/** A source's safetensors file: a directory's shards read as one, or one file and its bytes. */
export async function readWeightsFile(source: WeightsSource, onProgress?: (p: Progress) => void): Promise<{ file: SafetensorsFile; bytes?: Uint8Array }> {
  const dir = await checkpointFiles(source);
  if (dir !== undefined) return { file: await readSource(source, dir, onProgress) };
  const bytes = await readWeights(source, onProgress);
  return { file: parseSafetensors(bytes), bytes };
}

/**
 * How a file's names are bound: `opts.map`, else a file already in native names as it is (what a
 * trainer's weights() writes, even in a package built for a checkpoint), else the package's map,
 * else (for a directory) the one its tensor names show.
 */
export function bindOptions(manifest: Manifest, model: ModelInfo, file: SafetensorsFile, fromDir: boolean, opts: Pick<LoadOptions, "map" | "allowNonFinite">): BindOptions {
  const map = opts.map ?? (isNative(model, file) ? undefined : (manifest.checkpoint?.map ?? (fromDir ? guessNameMap(file) : undefined)));
  return { ...(map ? { map: (f: SafetensorsFile, m: ModelInfo) => applyNameMap(map, f, m) } : {}), ...(opts.allowNonFinite ? { allowNonFinite: true } : {}) };
}

const isNative = (m: ModelInfo, file: SafetensorsFile): boolean => weightLayout(m).every((t) => file.tensors.has(t.name));

async function readSource(source: WeightsSource, dir: CheckpointFiles | undefined, onProgress?: (p: Progress) => void): Promise<SafetensorsFile> {
  if (dir === undefined) return parseSafetensors(await readWeights(source, onProgress));
  return readShards(dir, await locateWeights(dir), onProgress ? (p) => onProgress({ phase: "download", loaded: p.loaded, total: p.total }) : undefined);
}

const hasOwnTokenizer = (manifest: Manifest) => manifest.model.tokenizer?.kind === "byte" || manifest.checkpoint?.tokenizer !== undefined;

/** The package's own tokenizer where it has one, else the directory's where it holds one. */
async function modelTokenizer(manifest: Manifest, base: URL, dir: CheckpointFiles | undefined, own?: OwnTokenizer): Promise<Tokenizer | undefined> {
  if (hasOwnTokenizer(manifest)) return own ? own() : openTokenizer(manifest, base);
  return dir === undefined ? undefined : tokenizerIn(dir, base, modelOf(manifest), true);
}

const modelOf = (manifest: Manifest) => ({ name: manifest.model.name, vocab: manifest.model.head.vocab });

/**
 * The tokenizer in a directory. Its files are read here (each once), and tokenizer.js — the
 * Hugging Face tokenizers beside runtime.js — is imported only when there is one; with `optional`,
 * a directory without tokenizer.json or vocab.json has none.
 */
async function tokenizerIn(dir: CheckpointFiles, base: URL, model: { name: string; vocab: number }, optional: boolean): Promise<Tokenizer | undefined> {
  const read = new Map<string, Promise<string | undefined>>();
  const text = (name: string) => read.get(name) ?? (read.set(name, dir.text(name)), read.get(name)!);
  if (optional && (await text("tokenizer.json")) === undefined && (await text("vocab.json")) === undefined) return undefined;
  const hf: typeof import("./tokenizer.ts") = await import(new URL("tokenizer.js", base).href);
  return hf.openTextTokenizer({ text, locate: (n) => dir.locate(n) }, dir.where, model);
}

/**
 * A tokenizer for this package's model: the package's own without `source`, else the one in the
 * checkpoint directory `source` names (a folder path in Node, a URL ending in `/`).
 */
export async function openTokenizer(manifest: Manifest, base: URL, source?: string | URL): Promise<Tokenizer> {
  const model = modelOf(manifest);
  if (source === undefined) {
    if (manifest.model.tokenizer?.kind === "byte") return byteTokenizer(new ByteTokenizer(model.vocab));
    const own = manifest.checkpoint?.tokenizer;
    if (own === undefined) throw new Error(`this package of model ${model.name} has no tokenizer of its own; give loadTokenizer() a checkpoint directory (a folder path, or a URL ending in /)`);
    source = new URL(own, base);
  }
  const dir = await checkpointFiles(source);
  if (dir === undefined) throw new Error(`loadTokenizer() takes a checkpoint directory (a folder path, or a URL ending in /), not ${String(source)}`);
  return (await tokenizerIn(dir, base, model, false))!;
}

/** The backend's model, with the tokenizer that came with it as `model.tokenizer`. */
export function withTokenizer(model: Model, tokenizer: Tokenizer | undefined): Model {
  if (tokenizer !== undefined) Object.defineProperty(model, "tokenizer", { value: tokenizer, enumerable: true });
  return model;
}
