import { MAX_DIAGNOSTICS_PER_FILE, type Diagnostic, type Label, type Severity } from "./diagnostic.ts";
import type { SourceFile } from "../syntax/source.ts";

/*
 * rustc/Elm-style text rendering. Spans are UTF-16 offsets; every column shown here is
 * a display column where a code point is 1 wide and a tab is 4 (tabs are also expanded
 * in the echoed line, so carets line up whatever the terminal's tab stops are).
 * Rendering must never throw: a bad span is clamped, a missing source loses its snippet.
 * Output stays proportional to the number of diagnostics, not to line lengths: a line longer
 * than MAX_LINE is shown as a window around its labels, with `…` where it is cut.
 */

export interface TextOptions {
  color: boolean;
}

const TAB = "    ";

/** Lines longer than this (UTF-16 units) are shown as windows of about this width. */
export const MAX_LINE = 200;
/** How much of a long line a window shows before the first label in it. */
const LEAD = 40;
const ELLIPSIS = "…";

type Paint = (s: string) => string;

interface Palette {
  severity(sev: Severity): Paint;
  bold: Paint;
  gutter: Paint;
  secondary: Paint;
  note: Paint;
}

const ansi =
  (code: string): Paint =>
  (s) =>
    s === "" ? s : `\x1b[${code}m${s}\x1b[0m`;

const plain: Paint = (s) => s;

const COLOR: Palette = {
  severity: (sev) => ansi(sev === "error" ? "1;31" : sev === "warning" ? "1;33" : "1;36"),
  bold: ansi("1"),
  gutter: ansi("1;34"),
  secondary: ansi("1;34"),
  note: ansi("1;36"),
};

const PLAIN: Palette = { severity: () => plain, bold: plain, gutter: plain, secondary: plain, note: plain };

/**
 * One underline row: its line, and where it starts and ends as UTF-16 offsets into that
 * line; display columns are computed when the line (or the window of it) is drawn.
 */
interface Mark {
  line: number; // 0-based
  from: number;
  to: number;
  primary: boolean;
  message: string;
}

const displayWidth = (s: string): number => {
  let w = 0;
  for (const ch of s) w += ch === "\t" ? TAB.length : 1;
  return w;
};

const clampSpan = (src: SourceFile, label: Label): { start: number; end: number } => {
  const n = src.text.length;
  const start = Math.max(0, Math.min(label.span.start, n));
  const end = Math.max(start, Math.min(label.span.end, n));
  return { start, end };
};

function markFor(src: SourceFile, label: Label, primary: boolean): Mark {
  const { start, end } = clampSpan(src, label);
  const line = src.lineIndex(start);
  const length = src.lineLength(line);
  const lineStart = src.lineStart(line);
  // A span may start on the line break itself (or a stripped \r); pin it to the line end.
  const from = Math.min(start - lineStart, length);
  // Multi-line spans are underlined only to the end of their first line.
  const to = Math.max(from, Math.min(end - lineStart, length));
  return { line, from, to, primary, message: label.message };
}

const location = (src: SourceFile | undefined, label: Label): string => {
  if (!src) return label.file;
  const { line, column } = src.lineCol(clampSpan(src, label).start);
  return `${label.file}:${line}:${column}`;
};

interface Block {
  file: string;
  src: SourceFile | undefined;
  labels: { label: Label; primary: boolean }[];
}

/** Primary file first, then other files in the order their labels first appear. */
function blocksOf(d: Diagnostic, sources: ReadonlyMap<string, SourceFile>): Block[] {
  const blocks = new Map<string, Block>();
  const add = (label: Label, primary: boolean) => {
    let b = blocks.get(label.file);
    if (!b) blocks.set(label.file, (b = { file: label.file, src: sources.get(label.file), labels: [] }));
    b.labels.push({ label, primary });
  };
  add(d.primary, true);
  for (const s of d.secondary) add(s, false);
  return [...blocks.values()];
}

function renderDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, SourceFile>, p: Palette): string {
  const sev = p.severity(d.severity);
  const out: string[] = [];
  const head = d.code ? `${d.severity}[${d.code}]` : d.severity;
  out.push(`${sev(head)}${p.bold(`: ${d.message}`)}`);

  const blocks = blocksOf(d, sources);
  const marksOf = blocks.map((b) => (b.src ? b.labels.map((l) => markFor(b.src!, l.label, l.primary)) : []));
  // One gutter width for the whole diagnostic so every `|` lines up across blocks.
  const maxLine = Math.max(1, ...marksOf.flat().map((m) => m.line + 1));
  const digits = String(maxLine).length;
  const pad = " ".repeat(digits);
  const emptyGutter = p.gutter(`${pad}  |`);

  blocks.forEach((b, i) => {
    if (i > 0) out.push(emptyGutter);
    // The header points at the primary label, or at the first label of another file.
    const first = b.labels.find((l) => l.primary)?.label ?? earliest(b.labels.map((l) => l.label));
    out.push(`${pad}${p.gutter(i === 0 ? " -->" : " :::")} ${location(b.src, first)}`);
    if (!b.src) return;
    out.push(emptyGutter);
    renderSnippet(out, b.src, marksOf[i], digits, p, sev);
  });

  const extras: [string, string][] = d.notes.map((n) => ["note", n]);
  if (d.hint !== undefined) extras.push(["hint", d.hint]);
  if (extras.length > 0) out.push(emptyGutter);
  for (const [kind, text] of extras) {
    // Continuation lines of a multi-line note align with the note's first character.
    const indent = " ".repeat(digits + 4 + kind.length + 2);
    const body = text.split("\n").join(`\n${indent}`);
    out.push(`${p.gutter(`${pad}  =`)} ${p.note(`${kind}:`)} ${body}`);
  }
  return out.join("\n");
}

const earliest = (labels: Label[]): Label =>
  labels.reduce((a, b) => (b.span.start < a.span.start ? b : a));

/**
 * Control characters would act on the terminal; show each as its one-wide Unicode "control
 * picture" (NUL → ␀) so the carets below still line up. Tabs become TAB.
 */
const printable = (text: string): string =>
  text
    .replace(/\t/g, TAB)
    .replace(/[\x00-\x08\x0b-\x1f]/g, (c) => String.fromCharCode(0x2400 + c.charCodeAt(0)))
    .replace(/\x7f/g, "\u2421");

/** Moves an offset off the second half of a surrogate pair, so a cut never splits a character. */
const onCodePoint = (text: string, i: number): number => {
  const c = text.charCodeAt(i);
  return i > 0 && i < text.length && c >= 0xdc00 && c <= 0xdfff ? i - 1 : i;
};

/**
 * The pieces of a line to show: the whole line when it is short; else one window per group
 * of nearby marks, each [start, end) of at most about MAX_LINE units around them.
 */
function windowsOf(length: number, text: string, marks: Mark[]): Array<{ start: number; end: number; marks: Mark[] }> {
  if (length <= MAX_LINE) return [{ start: 0, end: length, marks }];
  const sorted = [...marks].sort((a, b) => a.from - b.from);
  const out: Array<{ start: number; end: number; marks: Mark[] }> = [];
  for (const m of sorted) {
    const last = out[out.length - 1];
    // Joins the window before when it starts well inside it.
    if (last && m.from < last.end - LEAD / 2) {
      last.marks.push(m);
      continue;
    }
    const start = onCodePoint(text, Math.max(0, Math.min(m.from - LEAD, length - MAX_LINE)));
    out.push({ start, end: onCodePoint(text, Math.min(length, start + MAX_LINE)), marks: [m] });
  }
  return out;
}

function renderSnippet(out: string[], src: SourceFile, marks: Mark[], digits: number, p: Palette, sev: Paint): void {
  const lines = [...new Set(marks.map((m) => m.line))].sort((a, b) => a - b);
  const gutterOf = (line: number) => p.gutter(` ${String(line + 1).padStart(digits)} |`);
  const sourceLine = (line: number) => {
    const raw = src.lineText(line);
    // A line shown only for context (between two labelled ones) is cut like any other.
    const text = (raw.length > MAX_LINE ? printable(raw.slice(0, onCodePoint(raw, MAX_LINE))) + ELLIPSIS : printable(raw)).trimEnd();
    out.push(text === "" ? gutterOf(line) : `${gutterOf(line)} ${text}`);
  };
  let prev: number | undefined;
  for (const line of lines) {
    if (prev !== undefined) {
      // Eliding a single line would cost as much space as showing it.
      if (line - prev === 2) sourceLine(prev + 1);
      else if (line - prev > 2) out.push(p.gutter("..."));
    }
    const raw = src.lineText(line);
    for (const w of windowsOf(raw.length, raw, marks.filter((m) => m.line === line))) {
      const lead = w.start > 0 ? ELLIPSIS : "";
      const shown = `${lead}${printable(raw.slice(w.start, w.end))}${w.end < raw.length ? ELLIPSIS : ""}`.trimEnd();
      out.push(shown === "" ? gutterOf(line) : `${gutterOf(line)} ${shown}`);
      // Columns within the window: the lead `…` is one wide; a label running past the
      // window's end is underlined to its edge.
      const rows = w.marks
        .map((m) => {
          const from = Math.max(m.from, w.start);
          const to = Math.max(from, Math.min(m.to, w.end));
          return { m, col: lead.length + displayWidth(raw.slice(w.start, from)), width: Math.max(1, displayWidth(raw.slice(from, to))) };
        })
        .sort((a, b) => a.col - b.col || Number(b.m.primary) - Number(a.m.primary));
      for (const { m, col, width } of rows) {
        const paint = m.primary ? sev : p.secondary;
        const underline = (m.primary ? "^" : "-").repeat(width);
        const msg = m.message === "" ? "" : ` ${paint(m.message)}`;
        out.push(`${p.gutter(`${" ".repeat(digits)}  |`)} ${" ".repeat(col)}${paint(underline)}${msg}`);
      }
    }
    prev = line;
  }
}

/**
 * Renders diagnostics in the order given (callers sort), separated by blank lines.
 * The result ends with a newline unless there is nothing to report.
 */
export function renderText(
  diags: readonly Diagnostic[],
  sources: ReadonlyMap<string, SourceFile>,
  opts: TextOptions,
): string {
  if (diags.length === 0) return "";
  const p = opts.color ? COLOR : PLAIN;
  // The checker already caps each file; this cap holds for diagnostics from anywhere else.
  const shown = new Map<string, number>();
  const parts: string[] = [];
  for (const d of diags) {
    const n = (shown.get(d.primary.file) ?? 0) + 1;
    shown.set(d.primary.file, n);
    if (n <= MAX_DIAGNOSTICS_PER_FILE) parts.push(renderDiagnostic(d, sources, p));
  }
  for (const [file, n] of shown) {
    if (n > MAX_DIAGNOSTICS_PER_FILE) parts.push(`${p.note("note:")} and ${plural(n - MAX_DIAGNOSTICS_PER_FILE, "more diagnostic")} in ${file}, not shown`);
  }
  return parts.join("\n\n") + "\n";
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** "2 errors, 1 warning", "1 note", or "no problems"; zero counts are left out. */
export function summaryLine(diags: readonly Diagnostic[]): string {
  const count = (s: Severity) => diags.filter((d) => d.severity === s).length;
  const parts = (
    [
      [count("error"), "error"],
      [count("warning"), "warning"],
      [count("note"), "note"],
    ] as const
  )
    .filter(([n]) => n > 0)
    .map(([n, w]) => plural(n, w));
  return parts.length === 0 ? "no problems" : parts.join(", ");
}
