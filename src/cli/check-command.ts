import { hasErrors, type Diagnostic } from "../diagnostics/diagnostic.ts";
import { toJson } from "../diagnostics/render-json.ts";
import { toSarif } from "../diagnostics/render-sarif.ts";
import { renderText, summaryLine } from "../diagnostics/render-text.ts";
import { checkFile } from "../check/check.ts";
import type { SourceFile } from "../syntax/source.ts";
import { EXIT_ERRORS, EXIT_OK, EXIT_USAGE, useColor, write } from "./io.ts";
import { VERSION } from "./version.ts";

export interface CheckOptions {
  format: "text" | "json" | "sarif";
  color?: string;
  model?: string;
}

/**
 * `specformer check FILE...`: 0 clean (warnings allowed), 1 errors, 2 usage or I/O. A file
 * that cannot be read (missing, a directory, over 1 MiB) is an SF0009 among the others'
 * diagnostics, in every format, and the rest are still checked; the exit code is then 2.
 */
export function runCheck(files: string[], opts: CheckOptions): number {
  const all: Diagnostic[] = [];
  const sources = new Map<string, SourceFile>();
  let unreadable = 0;
  let omitted = 0;
  for (const f of files) {
    const r = checkFile(f, opts.model !== undefined ? { model: opts.model } : {});
    if (r.unreadable) unreadable++;
    omitted += r.omitted;
    all.push(...r.diagnostics);
    for (const [k, v] of r.sources) sources.set(k, v);
  }
  if (opts.format === "json") write(JSON.stringify(toJson(all, sources), null, 2));
  else if (opts.format === "sarif") write(JSON.stringify(toSarif(all, sources, { toolVersion: VERSION }), null, 2));
  else {
    const text = renderText(all, sources, { color: useColor(opts.color) });
    if (text) write(text);
    const n = files.length;
    const read = unreadable > 0 ? ` (${unreadable} could not be read)` : "";
    const more = omitted > 0 ? `, and ${omitted} more not shown` : "";
    write(`${hasErrors(all) ? "error" : "ok"}: checked ${n} file${n === 1 ? "" : "s"}${read}: ${summaryLine(all)}${more}`);
  }
  if (unreadable > 0) return EXIT_USAGE;
  return hasErrors(all) ? EXIT_ERRORS : EXIT_OK;
}
