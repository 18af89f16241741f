import { createToken, Lexer, type TokenType } from "chevrotain";

// Identifiers come first in the definition so keywords can name them as `longer_alt`:
// `models` must lex as one identifier, not the keyword `model` plus `s`.
export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "a name" });

const keyword = (word: string): TokenType =>
  createToken({
    name: word[0].toUpperCase() + word.slice(1),
    pattern: new RegExp(`${word}\\b`),
    longer_alt: Identifier,
    label: `\`${word}\``,
  });

export const Model = keyword("model");
export const Extends = keyword("extends");
export const Import = keyword("import");
export const Dims = keyword("dims");
export const Input = keyword("input");
export const Where = keyword("where");
export const Stack = keyword("stack");
export const True = keyword("true");
export const False = keyword("false");

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\f\v\u00a0\ufeff]+/, group: Lexer.SKIPPED });
export const Newline = createToken({ name: "Newline", pattern: /\n/, line_breaks: true, label: "a line break" });
export const LineComment = createToken({ name: "LineComment", pattern: /(#|\/\/)[^\n]*/, group: Lexer.SKIPPED });
export const BlockComment = createToken({
  name: "BlockComment",
  pattern: /\/\*[\s\S]*?\*\//,
  line_breaks: true,
  group: Lexer.SKIPPED,
});
// Lexed as a token (not an error) so the front end can report SF0003 with a span.
export const UnterminatedComment = createToken({ name: "UnterminatedComment", pattern: /\/\*[\s\S]*/, line_breaks: true });
export const StringLiteral = createToken({ name: "StringLiteral", pattern: /"[^"\n]*"/, label: "a string" });
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"[^"\n]*/ });
export const NumberLiteral = createToken({
  name: "NumberLiteral",
  pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/,
  label: "a number",
});

const punct = (name: string, pattern: RegExp | string, label: string): TokenType =>
  createToken({ name, pattern, label: `\`${label}\`` });

export const LCurly = punct("LCurly", "{", "{");
export const RCurly = punct("RCurly", "}", "}");
export const LParen = punct("LParen", "(", "(");
export const RParen = punct("RParen", ")", ")");
export const LBracket = punct("LBracket", "[", "[");
export const RBracket = punct("RBracket", "]", "]");
export const Comma = punct("Comma", ",", ",");
export const Colon = punct("Colon", ":", ":");
export const Semicolon = punct("Semicolon", ";", ";");
export const LessEq = punct("LessEq", "<=", "<=");
export const GreaterEq = punct("GreaterEq", ">=", ">=");
export const EqualEqual = punct("EqualEqual", "==", "==");
export const Less = punct("Less", "<", "<");
export const Greater = punct("Greater", ">", ">");
export const Equals = punct("Equals", "=", "=");
export const Plus = punct("Plus", "+", "+");
export const Minus = punct("Minus", "-", "-");
export const Star = punct("Star", "*", "*");
export const Slash = punct("Slash", "/", "/");
export const Percent = punct("Percent", "%", "%");
export const Times = punct("Times", /×/, "×");

export const allTokens: TokenType[] = [
  WhiteSpace,
  Newline,
  LineComment,
  BlockComment,
  UnterminatedComment,
  StringLiteral,
  UnterminatedString,
  NumberLiteral,
  Model,
  Extends,
  Import,
  Dims,
  Input,
  Where,
  Stack,
  True,
  False,
  Identifier,
  LCurly,
  RCurly,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Colon,
  Semicolon,
  LessEq,
  GreaterEq,
  EqualEqual,
  Less,
  Greater,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Times,
];
