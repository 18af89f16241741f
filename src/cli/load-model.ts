import { existsSync } from "node:fs";
import { checkFile } from "../check/check.ts";
import { hasErrors } from "../diagnostics/diagnostic.ts";
import { renderText } from "../diagnostics/render-text.ts";
import type { ModelInfo } from "../model/model.ts";
import { CliError, EXIT_ERRORS } from "./io.ts";

/**
 * Check a spec and return its entry model, for the commands that need a model
 * (inspect, weights, build, run). Errors are printed as diagnostics and become exit 1.
 */
export function loadModel(file: string, opts: { model?: string; color: boolean }): ModelInfo {
  if (!existsSync(file)) throw new CliError(`cannot read ${file}: no such file`);
  const r = checkFile(file, opts.model !== undefined ? { model: opts.model } : {});
  if (hasErrors(r.diagnostics) || !r.entry) {
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
