import { existsSync, statSync } from "node:fs";
import { hasErrors, type Diagnostic } from "../diagnostics/diagnostic.ts";
import { toJson } from "../diagnostics/render-json.ts";
import { toSarif } from "../diagnostics/render-sarif.ts";
import { renderText, summaryLine } from "../diagnostics/render-text.ts";
import { checkFile, readText } from "../check/check.ts";
import type { SourceFile } from "../syntax/source.ts";
import { CliError, EXIT_ERRORS, EXIT_OK, useColor, write } from "./io.ts";
import { VERSION } from "./version.ts";

export interface CheckOptions {
  format: "text" | "json" | "sarif";
  color?: string;
  model?: string;
}

/** `specformer check FILE...`: 0 clean (warnings allowed), 1 errors, 2 usage or I/O. */
export function runCheck(files: string[], opts: CheckOptions): number {
  const all: Diagnostic[] = [];
  const sources = new Map<string, SourceFile>();
  for (const f of files) {
    if (!existsSync(f)) throw new CliError(`cannot read ${f}: no such file`);
    if (statSync(f).isDirectory()) throw new CliError(`cannot check ${f}: it is a directory (try ${f}/*.sf)`);
    if (readText(f) === undefined) throw new CliError(`cannot read ${f}`);
  }
  for (const f of files) {
    const r = checkFile(f, opts.model !== undefined ? { model: opts.model } : {});
    all.push(...r.diagnostics);
    for (const [k, v] of r.sources) sources.set(k, v);
  }
  if (opts.format === "json") write(JSON.stringify(toJson(all, sources), null, 2));
  else if (opts.format === "sarif") write(JSON.stringify(toSarif(all, sources, { toolVersion: VERSION }), null, 2));
  else {
    const text = renderText(all, sources, { color: useColor(opts.color) });
    if (text) write(text);
    const n = files.length;
    write(`${hasErrors(all) ? "error" : "ok"}: checked ${n} file${n === 1 ? "" : "s"}: ${summaryLine(all)}`);
  }
  return hasErrors(all) ? EXIT_ERRORS : EXIT_OK;
}
