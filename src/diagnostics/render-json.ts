import type { Diagnostic, Label, Severity } from "./diagnostic.ts";
import { SourceFile } from "../syntax/source.ts";

/*
 * Machine-readable diagnostics. Lines and columns are 1-based; columns count code points
 * (what editors show), and the end is the position just after the span, so a zero-width
 * span has end == start.
 */

export interface JsonRange {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface JsonSecondary extends JsonRange {
  message: string;
}

export interface JsonDiagnostic extends JsonRange {
  code: string;
  severity: Severity;
  message: string;
  label: string;
  secondary: JsonSecondary[];
  notes: string[];
  hint?: string;
}

/**
 * Resolves a label to line/column positions. A file missing from `sources` resolves to
 * 1:1 rather than throwing, since output must be produced whatever went wrong upstream.
 */
export function labelRange(label: Label, sources: ReadonlyMap<string, SourceFile>): JsonRange {
  const src = sources.get(label.file) ?? new SourceFile(label.file, "");
  // lineCol clamps each end into the text; an inverted span collapses onto its start.
  const start = src.lineCol(label.span.start);
  const end = src.lineCol(Math.max(label.span.start, label.span.end));
  return { file: label.file, line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
}

export function toJson(diags: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>): JsonDiagnostic[] {
  return diags.map((d) => ({
    code: d.code,
    severity: d.severity,
    message: d.message,
    ...labelRange(d.primary, sources),
    label: d.primary.message,
    secondary: d.secondary.map((s) => ({ ...labelRange(s, sources), message: s.message })),
    notes: [...d.notes],
    ...(d.hint !== undefined ? { hint: d.hint } : {}),
  }));
}
