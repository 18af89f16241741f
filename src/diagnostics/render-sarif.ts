import type { Diagnostic, Label } from "./diagnostic.ts";
import type { SourceFile } from "../syntax/source.ts";
import { explain } from "./codes.ts";
import { labelRange } from "./render-json.ts";

/*
 * SARIF 2.1.0 output for code-scanning tools. Only the properties we can fill honestly
 * are emitted; SARIF treats absent optional properties as "unknown", which is better
 * than empty strings.
 */

export interface SarifOptions {
  toolVersion: string;
}

/**
 * artifactLocation.uri must be a URI reference: backslashes become slashes, each path
 * segment is percent-encoded (a space or `#` in a file name would otherwise corrupt it),
 * and absolute paths become file: URIs so a Windows drive letter is not read as a scheme.
 */
export function pathToUri(path: string): string {
  const slashed = path.replace(/\\/g, "/");
  const drive = /^[A-Za-z]:\//.test(slashed);
  const encoded = slashed
    .split("/")
    .map((seg, i) => (drive && i === 0 ? seg : encodeURIComponent(seg)))
    .join("/");
  if (drive) return `file:///${encoded}`;
  if (slashed.startsWith("/")) return `file://${encoded}`;
  return encoded;
}

function physicalLocation(label: Label, sources: ReadonlyMap<string, SourceFile>): object {
  const r = labelRange(label, sources);
  return {
    artifactLocation: { uri: pathToUri(label.file) },
    region: { startLine: r.line, startColumn: r.column, endLine: r.endLine, endColumn: r.endColumn },
  };
}

const message = (text: string) => (text === "" ? {} : { message: { text } });

export function toSarif(
  diags: readonly Diagnostic[],
  sources: ReadonlyMap<string, SourceFile>,
  opts: SarifOptions,
): object {
  // Rules sorted by id so the log is stable whatever order the diagnostics come in.
  const ids = [...new Set(diags.map((d) => d.code))].sort();
  const ruleIndex = new Map(ids.map((id, i) => [id, i]));
  const rules = ids.map((id) => {
    const info = explain(id);
    return info
      ? { id, name: info.title, shortDescription: { text: info.title }, fullDescription: { text: info.explanation } }
      : { id };
  });

  const results = diags.map((d) => {
    const properties = {
      ...(d.notes.length > 0 ? { notes: [...d.notes] } : {}),
      ...(d.hint !== undefined ? { hint: d.hint } : {}),
    };
    return {
      ruleId: d.code,
      ruleIndex: ruleIndex.get(d.code),
      level: d.severity,
      message: { text: d.message },
      locations: [{ physicalLocation: physicalLocation(d.primary, sources), ...message(d.primary.message) }],
      ...(d.secondary.length > 0
        ? {
            relatedLocations: d.secondary.map((s, id) => ({
              id,
              physicalLocation: physicalLocation(s, sources),
              ...message(s.message),
            })),
          }
        : {}),
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
    };
  });

  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "specformer", version: opts.toolVersion, rules } },
        // Our columns count code points; SARIF's default would be UTF-16 code units.
        columnKind: "unicodeCodePoints",
        results,
      },
    ],
  };
}
