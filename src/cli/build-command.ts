import { relative } from "node:path";
import { buildArtifacts } from "../emit/build.ts";
import type { Target } from "../emit/manifest.ts";
import { writePackage } from "../emit/package.ts";
import { CliError, EXIT_OK, ioProblem, useColor, write } from "./io.ts";
import { loadModel } from "./load-model.ts";
import { VERSION } from "./version.ts";

export interface BuildOptions {
  target: Target;
  out: string;
  model?: string;
  emitText?: boolean;
  color?: string;
}

/** `specformer build FILE --target T --out DIR`: a self-contained ES module package. */
export async function runBuild(file: string, o: BuildOptions): Promise<number> {
  const m = loadModel(file, { ...(o.model !== undefined ? { model: o.model } : {}), color: useColor(o.color) });
  const built = await buildArtifacts(m, o.target, { emitText: Boolean(o.emitText) });
  let files: string[];
  try {
    files = writePackage(o.out, m, o.target, relative(process.cwd(), file) || file, built, `specformer ${VERSION}`);
  } catch (e) {
    throw new CliError(`cannot write ${o.out}: ${ioProblem(e)}`);
  }
  write(`built ${m.name} (${o.target}) into ${o.out}: ${files.join(", ")}`);
  return EXIT_OK;
}
