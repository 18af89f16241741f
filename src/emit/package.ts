import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ModelInfo } from "../model/model.ts";
import { modelToJson } from "../runtime/serialize.ts";
import { declarations, modelConfig } from "./declarations.ts";
import { indexJs, type PackageTokenizer } from "./index-js.ts";
import type { MapName } from "../runtime/name-maps.ts";
import type { Manifest, Target } from "./manifest.ts";
import { trainModuleFiles } from "./train-modules.ts";

export interface BuiltArtifacts {
  graph: Manifest["graph"];
  plan?: unknown;
  /** Files to write next to index.js: name → contents. */
  files: Record<string, Uint8Array | string>;
  /** Roles of those files in the manifest, e.g. { wasm: "model.wasm" }. */
  artifacts: Record<string, string>;
}

/** The Dawn binding this compiler's WebGPU runtime is built and tested against. */
const WEBGPU_RANGE = "^0.6.2";

/** dist/runtime/<target>.js, bundled at install time by scripts/bundle-runtimes.mjs. */
export function runtimeBundlePath(target: Target | "tokenizer" | "train" | "gguf"): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled: dist/src/emit → dist/runtime. From sources (tests): src/emit → dist/runtime.
  for (const p of [resolve(here, "../../runtime", `${target}.js`), resolve(here, "../../dist/runtime", `${target}.js`)]) {
    if (existsSync(p)) return p;
  }
  throw new Error(`the ${target} runtime is not built; run \`npm run build\``);
}

/** npm package names are lower-case URL-safe words; anything else becomes `-`. */
export function packageName(model: string): string {
  const s = model.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[._-]+/, "");
  return `specformer-model-${s || "model"}`.slice(0, 214);
}

/** What a package built for a Hugging Face checkpoint carries from it. */
export interface CheckpointPart {
  /** The name map its tensors need: load()'s default. */
  map?: MapName;
  /** Its tokenizer files (tokenizer.json, tokenizer_config.json, …) by name, copied into tokenizer/. */
  tokenizerFiles?: Record<string, Uint8Array | string>;
}

/** The folder beside index.js that holds a checkpoint's tokenizer files. */
export const TOKENIZER_FOLDER = "tokenizer/";

/**
 * Writes a self-contained ES module package: index.js (the manifest as a JSON literal and
 * a `load` that hands it to the bundled runtime), index.d.ts, package.json, runtime.js,
 * tokenizer.js (Hugging Face tokenizers, imported only when a model has one), train.js
 * (fine-tuning, imported only when trainer() is called; in a wasm package with its Wasm kernels,
 * train.wasm and train.relaxed.wasm), gguf.js (GGUF files as weights, imported only when load()
 * is given one), and the target's artifacts. User-written names only ever appear inside JSON literals or comments made safe,
 * never as code.
 */
export function writePackage(dir: string, m: ModelInfo, target: Target, source: string, built: BuiltArtifacts, generator: string, checkpoint?: CheckpointPart): string[] {
  mkdirSync(dir, { recursive: true });
  const hfTokenizer = checkpoint?.tokenizerFiles !== undefined && m.tokenizer?.kind !== "byte";
  const ckpt = { ...(checkpoint?.map ? { map: checkpoint.map } : {}), ...(hfTokenizer ? { tokenizer: TOKENIZER_FOLDER } : {}) };
  // Only a wasm package carries Wasm binaries: the training kernels cost the others a binaryen compile at build time.
  const train = target === "wasm" ? trainModuleFiles(m) : { files: {}, artifacts: {} };
  const manifest: Manifest = {
    format: 1,
    target,
    generator,
    model: modelToJson(m),
    graph: built.graph,
    ...(built.plan !== undefined ? { plan: built.plan } : {}),
    artifacts: { ...built.artifacts, ...train.artifacts },
    ...(Object.keys(ckpt).length ? { checkpoint: ckpt } : {}),
  };
  const tokenizer: PackageTokenizer = m.tokenizer?.kind === "byte" ? "byte" : hfTokenizer ? "hf" : undefined;
  const index = indexJs({ manifest, config: modelConfig(m, target), source, generator, target, tokenizer, vocab: m.head.vocab });
  const pkg = {
    name: packageName(m.name),
    version: "0.0.0",
    private: true,
    type: "module",
    main: "index.js",
    types: "index.d.ts",
    exports: { ".": { types: "./index.d.ts", default: "./index.js" } },
    description: `${m.name} compiled by ${generator} (${target})`,
    // In Node a WebGPU module runs on Dawn's binding; browsers bring navigator.gpu instead.
    ...(target === "webgpu"
      ? { peerDependencies: { webgpu: WEBGPU_RANGE }, peerDependenciesMeta: { webgpu: { optional: true } } }
      : {}),
  };
  const written: Record<string, Uint8Array | string> = {
    "index.js": index,
    "index.d.ts": declarations(m, target, source, tokenizer),
    "package.json": `${JSON.stringify(pkg, null, 2)}\n`,
    ...built.files,
    ...train.files,
  };
  if (hfTokenizer) {
    mkdirSync(join(dir, TOKENIZER_FOLDER), { recursive: true });
    for (const [name, data] of Object.entries(checkpoint!.tokenizerFiles!)) written[`${TOKENIZER_FOLDER}${name}`] = data;
  }
  for (const [name, data] of Object.entries(written)) writeFileSync(join(dir, name), data);
  copyFileSync(runtimeBundlePath(target), join(dir, "runtime.js"));
  copyFileSync(runtimeBundlePath("tokenizer"), join(dir, "tokenizer.js"));
  copyFileSync(runtimeBundlePath("train"), join(dir, "train.js"));
  copyFileSync(runtimeBundlePath("gguf"), join(dir, "gguf.js"));
  return [...Object.keys(written), "runtime.js", "tokenizer.js", "train.js", "gguf.js"].sort();
}
