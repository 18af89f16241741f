/**
 * `specformer import DIR|config.json|M.gguf [--out FILE.sf]`: the spec of a Hugging Face checkpoint,
 * written from its config.json (src/import/), or of a llama GGUF file from its metadata. Without --out the spec goes to stdout. A config the
 * importer refuses (an unsupported model_type, a key that changes the architecture and is not
 * handled) is one line naming the file and the key, exit 1; a path that cannot be read, exit 2.
 */
import { writeFileSync } from "node:fs";
import { WeightsError } from "../runtime/dtype.ts";
import { isGgufPath } from "../runtime/gguf/magic.ts";
import { CliError, EXIT_ERRORS, EXIT_OK, EXIT_USAGE, ioProblem } from "./io.ts";

export interface ImportCliOptions {
  out?: string;
}

/** Errors of reading and importing a checkpoint as the CLI reports them. */
export async function importForCli(path: string) {
  const [{ importCheckpoint }, { ImportError }, { CheckpointError }] = await Promise.all([
    import("../import/checkpoint.ts"),
    import("../import/config.ts"),
    import("../runtime/checkpoint-dir.ts"),
  ]);
  try {
    if (isGgufPath(path)) return await (await import("../import/gguf.ts")).importGguf(path);
    return await importCheckpoint(path);
  } catch (e) {
    if (e instanceof ImportError || e instanceof CheckpointError) throw new CliError(e.message, e.io ? EXIT_USAGE : EXIT_ERRORS);
    if (e instanceof WeightsError) throw new CliError(e.message, /^cannot read/.test(e.message) ? EXIT_USAGE : EXIT_ERRORS);
    throw e;
  }
}

export async function runImport(path: string, o: ImportCliOptions): Promise<number> {
  const r = await importForCli(path);
  if (o.out === undefined) {
    process.stdout.write(r.text);
    return EXIT_OK;
  }
  try {
    writeFileSync(o.out, r.text);
  } catch (e) {
    throw new CliError(`cannot write ${o.out}: ${ioProblem(e)}`);
  }
  process.stderr.write(`imported ${r.architecture} (model_type ${r.family}) as model ${r.name}: ${o.out}\n`);
  return EXIT_OK;
}
