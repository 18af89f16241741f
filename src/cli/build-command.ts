import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { buildArtifacts } from "../emit/build.ts";
import type { Target } from "../emit/manifest.ts";
import { writePackage, type CheckpointPart } from "../emit/package.ts";
import type { ModelInfo } from "../model/model.ts";
import { isGgufPath } from "../runtime/gguf/magic.ts";
import type { MapName } from "../runtime/name-maps.ts";
import type { StorageDType } from "../runtime/weights/format.ts";
import { CliError, EXIT_OK, ioProblem, useColor, write } from "./io.ts";
import { checkpointTokenizer, loadSpecOrCheckpoint, tokenizerDir } from "./load-model.ts";
import { VERSION } from "./version.ts";

export interface BuildOptions {
  target: Target;
  out: string;
  model?: string;
  emitText?: boolean;
  color?: string;
  /** A checkpoint directory the package is for (FILE itself when it is one). */
  weights?: string;
  /** Weight storage the package runs in: load() converts any checkpoint to it. */
  dtype?: StorageDType;
}

/** Files beside tokenizer.json (or vocab.json + merges.txt) that the tokenizer reads where present. */
const TOKENIZER_EXTRAS = ["tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];

/**
 * `specformer build FILE --target T --out DIR`: a self-contained ES module package. FILE may be a
 * Hugging Face checkpoint directory (its config.json imported), or a spec with `--weights DIR`:
 * the directory's tokenizer is checked and copied into the package, and an imported family's
 * name map becomes load()'s default. FILE may also be a GGUF file (its metadata imported): the
 * package's load() then takes that file, its tokenizer read from it.
 */
export async function runBuild(file: string, o: BuildOptions): Promise<number> {
  const { m, checkpoint } = await loadSpecOrCheckpoint(file, { ...(o.model !== undefined ? { model: o.model } : {}), color: useColor(o.color) });
  // A GGUF file's package has no tokenizer files of its own: load() reads the file's metadata.
  const dir = o.weights ?? (isGgufPath(file) ? undefined : checkpoint?.dir);
  if (o.weights !== undefined) {
    const { holdsCheckpointWeights } = await import("../runtime/checkpoint-dir.ts");
    if (!(await holdsCheckpointWeights(o.weights)) && (await tokenizerDir(o.weights)) === undefined) {
      throw new CliError(`build --weights takes a Hugging Face checkpoint directory (its tokenizer goes into the package); ${o.weights} is not one — a weights file is given to load() instead`);
    }
  }
  const part = dir !== undefined ? await checkpointPart(dir, m, checkpoint?.map) : undefined;
  const built = await buildArtifacts(m, o.target, { emitText: Boolean(o.emitText), ...(o.dtype ? { dtype: o.dtype } : {}) });
  let files: string[];
  try {
    files = writePackage(o.out, m, o.target, relative(process.cwd(), file) || file, built, `specformer ${VERSION}`, part);
  } catch (e) {
    throw new CliError(`cannot write ${o.out}: ${ioProblem(e)}`);
  }
  write(`built ${m.name} (${o.target}${o.dtype && o.dtype !== "f32" ? `, ${o.dtype} weights` : ""}) into ${o.out}: ${files.join(", ")}`);
  return EXIT_OK;
}

/** The directory's tokenizer files (checked against the model first) and name map. */
async function checkpointPart(dir: string, m: ModelInfo, map: MapName | undefined): Promise<CheckpointPart> {
  const part: CheckpointPart = map ? { map } : {};
  if (m.tokenizer?.kind === "byte" || (await tokenizerDir(dir)) === undefined) return part;
  await checkpointTokenizer(dir, m);
  const { tokenizerFiles } = await import("../runtime/tokenizers/load.ts");
  const f = await tokenizerFiles(dir);
  const names = [...(f.tokenizer ? ["tokenizer.json"] : ["vocab.json", "merges.txt"]), ...TOKENIZER_EXTRAS];
  const out: Record<string, Uint8Array> = {};
  for (const n of names) {
    try {
      out[n] = await readFile(join(dir, n));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && TOKENIZER_EXTRAS.includes(n)) continue;
      throw new CliError(`cannot read ${join(dir, n)}: ${ioProblem(e)}`);
    }
  }
  return { ...part, tokenizerFiles: out };
}
