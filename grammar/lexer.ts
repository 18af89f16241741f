import { Lexer, type IToken } from "chevrotain";
import * as T from "./tokens.ts";

export const specLexer = new Lexer(T.allTokens, { positionTracking: "onlyOffset", ensureOptimizations: false });

/**
 * Deeper than this and the input is rejected before parsing: recursion must stay bounded.
 * Brackets count, and so does each `-` of a run (`- - - 1` nests a unary minus per `-`).
 * Chevrotain spends ~4 rules (~40 stack frames) per `(` level, and error recovery deep
 * inside walks the grammar on top of that: some inputs with a syntax error at ~150
 * levels overflowed Node's default stack, so the limit keeps a wide margin. Real specs
 * nest a handful of levels.
 */
export const MAX_NESTING = 64;

export interface LexProblem {
  kind: "char" | "string" | "comment" | "nesting";
  offset: number;
  length: number;
  text: string;
}

export interface LexResult {
  tokens: IToken[];
  problems: LexProblem[];
}

const OPEN = new Set(["LParen", "LBracket", "LCurly"]);
const CLOSE = new Set(["RParen", "RBracket", "RCurly"]);

/**
 * Tokenizes and then shapes the token stream for the parser:
 * - line breaks separate statements, but not inside (...) or [...], and not before `{`,
 *   so long argument lists may wrap and a block may open on the next line;
 * - runs of line breaks collapse to one;
 * - unterminated strings/comments become problems with spans rather than tokens.
 */
export function lex(text: string): LexResult {
  const raw = specLexer.tokenize(text);
  const problems: LexProblem[] = [];
  for (const e of raw.errors) {
    // Chevrotain reports a run of unlexable characters as one error; keep the first char.
    problems.push({ kind: "char", offset: e.offset, length: e.length, text: text.slice(e.offset, e.offset + 1) });
  }
  const tokens: IToken[] = [];
  const stack: string[] = [];
  let minusRun = 0;
  for (const tok of raw.tokens) {
    const name = tok.tokenType.name;
    if (name === "Minus") {
      minusRun++;
      if (stack.length + minusRun > MAX_NESTING) {
        problems.push({ kind: "nesting", offset: tok.startOffset, length: 1, text: tok.image });
        return { tokens: [], problems };
      }
    } else if (name !== "Newline") minusRun = 0;
    if (name === "UnterminatedComment") {
      problems.push({ kind: "comment", offset: tok.startOffset, length: 2, text: "/*" });
      continue;
    }
    if (name === "UnterminatedString") {
      problems.push({ kind: "string", offset: tok.startOffset, length: tok.image.length, text: tok.image });
      continue;
    }
    if (OPEN.has(name)) {
      stack.push(name);
      if (stack.length > MAX_NESTING) {
        problems.push({ kind: "nesting", offset: tok.startOffset, length: 1, text: tok.image });
        return { tokens: [], problems };
      }
    } else if (CLOSE.has(name)) {
      stack.pop();
    }
    if (name === "Newline") {
      const top = stack[stack.length - 1];
      if (top === "LParen" || top === "LBracket") continue;
      if (tokens.length === 0 || tokens[tokens.length - 1].tokenType === T.Newline) continue;
    }
    if (name === "LCurly") {
      while (tokens.length > 0 && tokens[tokens.length - 1].tokenType === T.Newline) tokens.pop();
    }
    tokens.push(tok);
  }
  return { tokens, problems };
}
