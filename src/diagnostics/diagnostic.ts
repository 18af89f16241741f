import type { Span } from "../syntax/source.ts";

export type Severity = "error" | "warning" | "note";

/** A span in a particular file, with what it shows. */
export interface Label {
  readonly file: string;
  readonly span: Span;
  readonly message: string;
}

/**
 * The one diagnostic type. Errors are data: every stage returns these and the CLI
 * renders them (text, JSON, SARIF) at the very end.
 */
export interface Diagnostic {
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  readonly primary: Label;
  readonly secondary: readonly Label[];
  readonly notes: readonly string[];
  readonly hint?: string;
}

export interface DiagnosticInit {
  code: string;
  severity?: Severity;
  message: string;
  file: string;
  span: Span;
  label?: string;
  secondary?: Label[];
  notes?: string[];
  hint?: string;
}

export function diagnostic(init: DiagnosticInit): Diagnostic {
  return {
    code: init.code,
    severity: init.severity ?? "error",
    message: init.message,
    primary: { file: init.file, span: init.span, message: init.label ?? "" },
    secondary: init.secondary ?? [],
    notes: init.notes ?? [],
    ...(init.hint !== undefined ? { hint: init.hint } : {}),
  };
}

/**
 * At most this many diagnostics per file reach the user: past them a generated or corrupted
 * file's problems are noise, and printing them all made output grow without bound.
 */
export const MAX_DIAGNOSTICS_PER_FILE = 50;

export const hasErrors = (ds: readonly Diagnostic[]): boolean => ds.some((d) => d.severity === "error");

/** Stable order for output: by file, then position, then code. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort(
    (a, b) =>
      a.primary.file.localeCompare(b.primary.file) ||
      a.primary.span.start - b.primary.span.start ||
      a.code.localeCompare(b.code),
  );
}
