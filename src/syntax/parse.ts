import type { IRecognitionException } from "chevrotain";
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
        hint: "spec files are UTF-8 text; check the path",
      }),
    );
    return { ast: empty, diagnostics };
  }
  const { tokens, problems } = lex(text);
  for (const p of problems) diagnostics.push(lexDiagnostic(p, path));
  if (problems.some((p) => p.kind === "nesting")) return { ast: empty, diagnostics };

  const { cst, errors } = parseTokens(tokens);
  for (const e of dedupe(errors).slice(0, MAX_SYNTAX_ERRORS)) diagnostics.push(parseDiagnostic(e, path, text.length));
  if (errors.length > MAX_SYNTAX_ERRORS) {
    const last = diagnostics[diagnostics.length - 1];
    diagnostics[diagnostics.length - 1] = { ...last, notes: [...last.notes, `${errors.length - MAX_SYNTAX_ERRORS} more syntax errors not shown`] };
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
        label: "this bracket is too deep",
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

function parseDiagnostic(e: IRecognitionException, file: string, textLength: number): Diagnostic {
  const t = e.token;
  const atEof = t.tokenType.name === "EOF" || Number.isNaN(t.startOffset);
  const prev = (e as { previousToken?: { endOffset?: number } }).previousToken;
  // At the end of the file, point just past the last real token: that is where the fix goes.
  const start = atEof ? Math.min(textLength, (prev?.endOffset ?? textLength - 1) + 1) : t.startOffset;
  const end = atEof ? start : (t.endOffset ?? t.startOffset) + 1;
  return diagnostic({ code: "SF0004", message: e.message, file, span: { start, end }, label: atEof ? "the file ends here" : "unexpected here" });
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
