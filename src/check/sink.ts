import { diagnostic, type Diagnostic, type DiagnosticInit, type Label } from "../diagnostics/diagnostic.ts";
import type { Code } from "../diagnostics/codes.ts";
import type { Span } from "../syntax/source.ts";

/** Where one file's checks put their diagnostics; knows the file so callers pass spans only. */
export class Sink {
  constructor(
    readonly file: string,
    readonly text: string,
    readonly out: Diagnostic[],
  ) {}

  report(code: Code, span: Span, message: string, rest: Omit<DiagnosticInit, "code" | "message" | "file" | "span"> = {}): void {
    this.out.push(diagnostic({ code, message, file: this.file, span, ...rest }));
  }

  warn(code: Code, span: Span, message: string, rest: Omit<DiagnosticInit, "code" | "message" | "file" | "span" | "severity"> = {}): void {
    this.report(code, span, message, { ...rest, severity: "warning" });
  }

  label(span: Span, message: string, file = this.file): Label {
    return { file, span, message };
  }

  slice(span: Span): string {
    return this.text.slice(span.start, span.end);
  }

  /**
   * Source text to quote in a message: on one line, and elided in the middle when long
   * (a generated `1 + 1 + ...` must not turn a one-line message into a megabyte).
   */
  excerpt(span: Span, max = 60): string {
    const text = this.text.slice(span.start, Math.min(span.end, span.start + 4 * max)).replace(/\s+/g, " ");
    if (text.length <= max && span.end - span.start <= 4 * max) return text;
    const tail = this.text.slice(Math.max(span.start, span.end - max), span.end).replace(/\s+/g, " ");
    return `${text.slice(0, max / 2 - 2).trimEnd()} … ${tail.slice(-(max / 2 - 2)).trimStart()}`;
  }
}
