import type { IRecognitionException, IToken } from "chevrotain";
import { lex, MAX_NESTING, type LexProblem } from "../../grammar/lexer.ts";
import { parseTokens } from "../../grammar/parser.ts";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.ts";
import type { SpecFile } from "./ast.ts";
import { buildFile } from "./cst-to-ast.ts";
import type { Span } from "./source.ts";

/** One run reports at most this many syntax errors per file: past it they are noise. */
const MAX_SYNTAX_ERRORS = 50;

export interface ParseResult {
  ast: SpecFile;
  diagnostics: Diagnostic[];
}

/** Text → AST. Never throws: everything wrong with the text comes back as diagnostics. */
export function parseSpec(text: string, path: string): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const empty: SpecFile = { path, imports: [], models: [] };
  const binary = findBinary(text);
  if (binary !== undefined) {
    diagnostics.push(
      diagnostic({
        code: "SF0008",
        message: "this is not a text file",
        file: path,
        span: { start: binary, end: binary + 1 },
        label: binary < text.length && text.charCodeAt(binary) === 0 ? "NUL byte here" : "invalid UTF-8 here",
        // A model file given where a spec goes is the likely mistake; name the command that reads it.
        hint: text.startsWith("GGUF")
          ? "this is a GGUF model file: `specformer import FILE --out M.sf` writes its spec, and `run` / `inspect` read the file directly"
          : text.startsWith("PK\u0003\u0004") || /^[\s\S]{8}\{"/.test(text.slice(0, 10))
            ? "this looks like a weights file; spec files are UTF-8 text, weights go in `--weights`"
            : "spec files are UTF-8 text; check the path",
      }),
    );
    return { ast: empty, diagnostics };
  }
  const { tokens, problems } = lex(text);
  // Capped like parse errors (a binary-ish file has one per character); the nesting
  // problem, which stops the parse, is the last and always shown.
  const shownProblems = problems.length > MAX_SYNTAX_ERRORS ? [...problems.slice(0, MAX_SYNTAX_ERRORS - 1), problems[problems.length - 1]] : problems;
  for (const p of shownProblems) diagnostics.push(lexDiagnostic(p, path));
  if (problems.length > MAX_SYNTAX_ERRORS) {
    const i = diagnostics.length - 2;
    diagnostics[i] = { ...diagnostics[i], notes: [...diagnostics[i].notes, `${problems.length - MAX_SYNTAX_ERRORS} more lexical errors not shown`] };
  }
  if (problems.some((p) => p.kind === "nesting")) return { ast: empty, diagnostics };

  const { cst, errors, truncated } = parseTokens(tokens);
  const parseDiags = withoutCascades(dedupe(errors).map((e) => parseDiagnostic(e, path, text)), problems, text);
  for (const d of parseDiags.slice(0, MAX_SYNTAX_ERRORS)) diagnostics.push(d);
  const more = parseDiags.length > MAX_SYNTAX_ERRORS ? `${parseDiags.length - MAX_SYNTAX_ERRORS} more syntax errors not shown` : undefined;
  const stopped = truncated ? "there were too many syntax errors: the rest of the file was not read" : undefined;
  if ((more || stopped) && diagnostics.length > 0) {
    const last = diagnostics[diagnostics.length - 1];
    diagnostics[diagnostics.length - 1] = { ...last, notes: [...last.notes, ...[more, stopped].filter((n): n is string => n !== undefined)] };
  }
  const ast = buildFile(cst, path, (span, message, label) =>
    diagnostics.push(diagnostic({ code: "SF0004", message, file: path, span, label })),
  );
  if (ast.models.length === 0 && ast.imports.length === 0 && diagnostics.length === 0) {
    diagnostics.push(
      diagnostic({
        code: "SF0007",
        message: "this file declares no model",
        file: path,
        span: { start: 0, end: Math.min(text.length, firstLineEnd(text)) },
        label: "expected `model NAME { ... }`",
        hint: "a spec starts with `model my_model { dims { ... } ... }`",
      }),
    );
  }
  return { ast, diagnostics };
}

function firstLineEnd(text: string): number {
  const nl = text.indexOf("\n");
  return nl < 0 ? text.length : nl;
}

/** Offset of a NUL or of U+FFFD (what TextDecoder makes of invalid UTF-8), if any. */
function findBinary(text: string): number | undefined {
  const nul = text.indexOf("\0");
  const bad = text.indexOf("\uFFFD");
  const hits = [nul, bad].filter((i) => i >= 0);
  return hits.length ? Math.min(...hits) : undefined;
}

function lexDiagnostic(p: LexProblem, file: string): Diagnostic {
  const span: Span = { start: p.offset, end: p.offset + Math.max(1, p.length) };
  switch (p.kind) {
    case "string":
      return diagnostic({ code: "SF0002", message: "unterminated string", file, span, label: "this string has no closing `\"`" });
    case "comment":
      return diagnostic({
        code: "SF0003",
        message: "unterminated block comment",
        file,
        span,
        label: "this comment is never closed",
        hint: "close it with `*/`",
      });
    case "nesting":
      return diagnostic({
        code: "SF0006",
        message: `nesting deeper than ${MAX_NESTING} levels`,
        file,
        span,
        label: p.text === "-" ? "too many `-` in a row" : "this bracket is too deep",
      });
    default: {
      const cp = p.text.codePointAt(0) ?? 0;
      const shown = cp < 32 || cp === 127 ? `U+${cp.toString(16).toUpperCase().padStart(4, "0")}` : `\`${String.fromCodePoint(cp)}\``;
      return diagnostic({
        code: "SF0001",
        message: `unexpected character ${shown}`,
        file,
        span: { start: p.offset, end: p.offset + (cp > 0xffff ? 2 : 1) },
        label: "not part of the spec language",
      });
    }
  }
}

function parseDiagnostic(e: IRecognitionException, file: string, text: string): Diagnostic {
  const t = e.token;
  const atEof = t.tokenType.name === "EOF" || Number.isNaN(t.startOffset);
  // The lexer tracks start offsets only (`positionTracking: "onlyOffset"`): ends come from the image.
  const prev = (e as { previousToken?: IToken }).previousToken;
  // A line break token ends a line: "after" it is the end of that line, not the next one.
  const prevLen = prev?.tokenType.name === "Newline" ? 0 : (prev?.image.length ?? 0);
  const afterPrev = prev && Number.isFinite(prev.startOffset) ? Math.min(text.length, prev.startOffset + prevLen) : undefined;
  // At the end of the file, point just past the last real token: that is where the fix goes.
  if (atEof) {
    const start = afterPrev ?? text.length;
    return diagnostic({ code: "SF0004", message: e.message, file, span: { start, end: start }, label: "the file ends here" });
  }
  const found = { start: t.startOffset, end: t.startOffset + Math.max(1, t.image.length) };
  // The unexpected token opens a later line (an unclosed `(` lets the next statement run
  // on): the fix belongs at the end of the line before, so point there, as rustc does.
  if (afterPrev !== undefined && afterPrev <= found.start && text.slice(afterPrev, found.start).includes("\n")) {
    return diagnostic({
      code: "SF0004",
      message: e.message,
      file,
      span: { start: afterPrev, end: afterPrev },
      label: "expected here",
      secondary: [{ file, span: found, message: "found this instead" }],
    });
  }
  return diagnostic({ code: "SF0004", message: e.message, file, span: found, label: "unexpected here" });
}

/**
 * Drops syntax errors that are most likely echoes of an earlier one: a parse error on a
 * line where a lexical or parse error was already reported (recovery resynchronises on
 * the same line and complains again), and every parse error after an unterminated `/*`
 * (the comment swallowed the rest of the file, closing brackets included).
 */
function withoutCascades(diags: Diagnostic[], problems: LexProblem[], text: string): Diagnostic[] {
  const comment = problems.find((p) => p.kind === "comment");
  const breaks: number[] = [];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) breaks.push(i);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = breaks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (breaks[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // The first lexical problem on each line.
  const lexFirst = new Map<number, number>();
  for (const p of problems) {
    const line = lineOf(p.offset);
    lexFirst.set(line, Math.min(lexFirst.get(line) ?? Infinity, p.offset));
  }
  const seenLines = new Set<number>();
  const out: Diagnostic[] = [];
  for (const d of diags) {
    const start = d.primary.span.start;
    if (comment && (start >= comment.offset || d.primary.message === "the file ends here")) continue;
    const line = lineOf(start);
    if (seenLines.has(line) || (lexFirst.get(line) ?? Infinity) <= start) continue;
    seenLines.add(line);
    out.push(d);
  }
  return out;
}

/** Recovery can report the same token twice; keep the first report per position. */
function dedupe(errors: IRecognitionException[]): IRecognitionException[] {
  const seen = new Set<number>();
  return errors.filter((e) => {
    const key = e.token.startOffset;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
