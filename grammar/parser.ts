import { CstParser, EOF, tokenMatcher, type CstNode, type IRecognitionException, type IParserErrorMessageProvider, type TokenType, type IToken } from "chevrotain";
import * as T from "./tokens.ts";

const describe = (t: TokenType): string =>
  t.name === "EOF" ? "the end of the file" : typeof t.LABEL === "string" ? t.LABEL : t.name;

/** The tokens that can start an expression, named as one thing in messages. */
const EXPRESSION_START = new Set(["`-`", "a number", "a string", "`true`", "`false`", "a name", "`(`", "`[`"]);
function summarize(expected: Set<string>): string {
  const all = [...expected];
  if ([...EXPRESSION_START].every((e) => expected.has(e))) {
    return listOf(["an expression", ...all.filter((e) => !EXPRESSION_START.has(e))]);
  }
  return listOf(all);
}
const found = (tok: IToken): string =>
  tok.tokenType.name === "EOF" ? "the end of the file" : tok.tokenType === T.Newline ? "a line break" : `\`${tok.image}\``;

/** Messages in the house style: "expected `)`, found `heads`". */
const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual }) =>
    expected.name === "EOF"
      ? `expected \`model\` or \`import\` at the top level, found ${found(actual)}`
      : `expected ${describe(expected)}, found ${found(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) => `unexpected ${found(firstRedundant)}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual }) => {
    const firsts = new Set<string>();
    for (const alt of expectedPathsPerAlt) for (const path of alt) if (path[0]) firsts.add(describe(path[0]));
    return `expected ${summarize(firsts)}, found ${found(actual[0])}`;
  },
  buildEarlyExitMessage: ({ expectedIterationPaths, actual, ruleName }) => {
    const firsts = new Set<string>();
    for (const path of expectedIterationPaths) if (path[0]) firsts.add(describe(path[0]));
    return `expected ${summarize(firsts)} in ${ruleText(ruleName)}, found ${found(actual[0])}`;
  },
};

const listOf = (xs: string[]): string =>
  xs.length <= 1 ? (xs[0] ?? "something else") : `${xs.slice(0, -1).join(", ")} or ${xs[xs.length - 1]}`;

const RULE_TEXT: Record<string, string> = {
  file: "a file",
  topItem: "a model or import",
  body: "a model body",
  item: "a statement",
  primary: "an expression",
  value: "an argument",
  inputDecl: "an input declaration",
  constraint: "a bound",
  compareOp: "a bound",
  stackDecl: "a stack",
  layerPattern: "a layer pattern",
  patternRun: "a layer pattern",
};
const ruleText = (r: string): string => RULE_TEXT[r] ?? r;

/**
 * The spec grammar. Statements are generic (`keyword kind? (args)? { body }?`): which
 * keywords, kinds and arguments exist is the checker's business, so a typo like
 * `attnetion` gets "did you mean `attention`?" instead of a bare syntax error.
 */
export class SpecParser extends CstParser {
  /** Errors saved in the current parse; see SAVE_ERROR. */
  private saved = 0;

  constructor() {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 3, errorMessageProvider: messages });
    this.performSelfAnalysis();
  }

  /**
   * Chevrotain's recovery inside a repetition nests a few stack frames per error it
   * survives, so a block of thousands of bad lines overflows the stack. Past
   * MAX_PARSE_ERRORS the parse is abandoned (parseTokens catches this): nobody reads the
   * thousandth syntax error anyway. (Chevrotain calls this hook for every error it keeps.)
   */
  SAVE_ERROR(error: IRecognitionException): IRecognitionException {
    const saved = (CstParser.prototype as unknown as { SAVE_ERROR(e: IRecognitionException): IRecognitionException }).SAVE_ERROR.call(this, error);
    if (++this.saved >= MAX_PARSE_ERRORS) throw new TooManyParseErrors();
    return saved;
  }

  resetErrorCount(): void {
    this.saved = 0;
  }

  /**
   * Chevrotain looks ahead, without consuming, for the nearest token that some rule on the
   * stack may be followed by, once per error: on a long line without a separator that scan
   * runs to the end of the file each time, so a few hundred errors on a 100 KB line took
   * seconds. Past RESYNC_LOOKAHEAD tokens, resynchronise at the end of the file instead:
   * the parse then stops at this error, which costs one scan, not one per error. (The same
   * loop as chevrotain's own, bounded; it is an internal hook, so the cast.)
   */
  findReSyncTokenType(): TokenType {
    const follows = (this as unknown as { flattenFollowSet(): TokenType[] }).flattenFollowSet();
    for (let k = 1; k <= RESYNC_LOOKAHEAD; k++) {
      const tok = this.LA(k);
      const match = follows.find((t) => tokenMatcher(tok, t));
      if (match !== undefined) return match;
      if (tok.tokenType === EOF) break;
    }
    return EOF;
  }

  file = this.RULE("file", () => {
    this.MANY(() => this.OR([{ ALT: () => this.SUBRULE(this.separator) }, { ALT: () => this.SUBRULE(this.topItem) }]));
  });

  separator = this.RULE("separator", () => {
    this.OR([{ ALT: () => this.CONSUME(T.Newline) }, { ALT: () => this.CONSUME(T.Semicolon) }]);
  });

  topItem = this.RULE("topItem", () => {
    this.OR([{ ALT: () => this.SUBRULE(this.importDecl) }, { ALT: () => this.SUBRULE(this.modelDecl) }]);
  });

  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLiteral);
  });

  modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(T.Extends);
      this.CONSUME2(T.Identifier, { LABEL: "base" });
    });
    this.SUBRULE(this.block);
  });

  block = this.RULE("block", () => {
    this.CONSUME(T.LCurly);
    this.MANY(() => this.OR([{ ALT: () => this.SUBRULE(this.separator) }, { ALT: () => this.SUBRULE(this.item) }]));
    this.CONSUME(T.RCurly);
  });

  item = this.RULE("item", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.dimsBlock) },
      { ALT: () => this.SUBRULE(this.inputDecl) },
      { ALT: () => this.SUBRULE(this.stackDecl) },
      { ALT: () => this.SUBRULE(this.statement) },
    ]);
  });

  dimsBlock = this.RULE("dimsBlock", () => {
    this.CONSUME(T.Dims);
    this.CONSUME(T.LCurly);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Comma) },
        { ALT: () => this.SUBRULE(this.separator) },
        { ALT: () => this.SUBRULE(this.dimDef) },
      ]),
    );
    this.CONSUME(T.RCurly);
  });

  dimDef = this.RULE("dimDef", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expr);
    });
  });

  inputDecl = this.RULE("inputDecl", () => {
    this.CONSUME(T.Input);
    this.CONSUME(T.Identifier, { LABEL: "name" });
    this.CONSUME(T.Colon);
    this.CONSUME2(T.Identifier, { LABEL: "dtype" });
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expr);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expr);
      });
    });
    this.CONSUME(T.RBracket);
    this.OPTION2(() => {
      this.CONSUME(T.Where);
      this.SUBRULE(this.constraint);
      this.MANY2(() => {
        this.CONSUME2(T.Comma);
        this.SUBRULE2(this.constraint);
      });
    });
  });

  constraint = this.RULE("constraint", () => {
    this.SUBRULE(this.expr, { LABEL: "left" });
    this.SUBRULE(this.compareOp);
    this.SUBRULE2(this.expr, { LABEL: "right" });
  });

  compareOp = this.RULE("compareOp", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.LessEq) },
      { ALT: () => this.CONSUME(T.Less) },
      { ALT: () => this.CONSUME(T.GreaterEq) },
      { ALT: () => this.CONSUME(T.Greater) },
      { ALT: () => this.CONSUME(T.EqualEqual) },
    ]);
  });

  // `stack layers × decoder(norm = post) { ... }`, or a layer pattern cycled by layer index:
  // `stack layers × (local, global)(norm = sandwich) { layer local { ... } layer global { ... } }`.
  // `x` is accepted for `×`.
  stackDecl = this.RULE("stackDecl", () => {
    this.CONSUME(T.Stack);
    this.SUBRULE(this.expr, { LABEL: "count" });
    this.OR([{ ALT: () => this.CONSUME(T.Times) }, { ALT: () => this.CONSUME(T.Identifier, { LABEL: "times" }) }]);
    this.OR2([{ ALT: () => this.CONSUME2(T.Identifier, { LABEL: "name" }) }, { ALT: () => this.SUBRULE(this.layerPattern) }]);
    this.OPTION(() => this.SUBRULE(this.argList));
    this.SUBRULE(this.block);
  });

  // `(local, global)` or `(full × 21, sliding × 7)`.
  layerPattern = this.RULE("layerPattern", () => {
    this.CONSUME(T.LParen);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.patternRun) });
    this.CONSUME(T.RParen);
  });

  patternRun = this.RULE("patternRun", () => {
    this.CONSUME(T.Identifier, { LABEL: "kind" });
    this.OPTION(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Times) }, { ALT: () => this.CONSUME2(T.Identifier, { LABEL: "times" }) }]);
      this.SUBRULE(this.expr, { LABEL: "repeat" });
    });
  });

  statement = this.RULE("statement", () => {
    this.CONSUME(T.Identifier, { LABEL: "keyword" });
    this.OPTION(() => this.CONSUME2(T.Identifier, { LABEL: "kind" }));
    this.OPTION2(() => this.SUBRULE(this.argList));
    this.OPTION3(() => this.SUBRULE(this.block));
  });

  argList = this.RULE("argList", () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.arg) });
    this.CONSUME(T.RParen);
  });

  arg = this.RULE("arg", () => {
    this.OPTION({
      GATE: () => this.LA(2).tokenType === T.Equals,
      DEF: () => {
        this.CONSUME(T.Identifier, { LABEL: "name" });
        this.CONSUME(T.Equals);
      },
    });
    this.SUBRULE(this.expr);
  });

  expr = this.RULE("expr", () => {
    this.SUBRULE(this.term, { LABEL: "lhs" });
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.term, { LABEL: "rhs" });
    });
  });

  term = this.RULE("term", () => {
    this.SUBRULE(this.unary, { LABEL: "lhs" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star) },
        { ALT: () => this.CONSUME(T.Slash) },
        { ALT: () => this.CONSUME(T.Percent) },
      ]);
      this.SUBRULE2(this.unary, { LABEL: "rhs" });
    });
  });

  unary = this.RULE("unary", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.primary) },
    ]);
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLiteral) },
      { ALT: () => this.CONSUME(T.StringLiteral) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      {
        ALT: () => {
          this.CONSUME(T.Identifier);
          this.OPTION(() => this.SUBRULE(this.argList));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE(this.expr);
          this.CONSUME(T.RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE2(this.expr) });
          this.CONSUME(T.RBracket);
        },
      },
    ]);
  });
}

/** The parse stops after this many syntax errors (before the front end filters echoes). */
export const MAX_PARSE_ERRORS = 200;

/** How far error recovery looks ahead for a token to resynchronise on (see findReSyncTokenType). */
export const RESYNC_LOOKAHEAD = 1000;

class TooManyParseErrors extends Error {
  constructor() {
    super("too many syntax errors");
    this.name = "TooManyParseErrors";
  }
}

/** One parser instance: chevrotain parsers are reusable and costly to construct. */
export const specParser = new SpecParser();

export interface ParseOutput {
  cst: CstNode;
  errors: IRecognitionException[];
  /** True when the parse stopped at MAX_PARSE_ERRORS; the CST is then empty. */
  truncated: boolean;
}

export function parseTokens(tokens: IToken[]): ParseOutput {
  specParser.input = tokens;
  specParser.resetErrorCount();
  try {
    const cst = specParser.file();
    return { cst, errors: [...specParser.errors], truncated: false };
  } catch (e) {
    if (!(e instanceof TooManyParseErrors)) throw e;
    return { cst: { name: "file", children: {} }, errors: [...specParser.errors], truncated: true };
  }
}
