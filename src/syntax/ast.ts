import type { Span } from "./source.ts";

/** Expressions: dims arithmetic, hyper-parameters, choices (`causal`) and calls (`block(size = 64)`). */
export type Expr =
  | { kind: "num"; value: number; text: string; span: Span }
  | { kind: "str"; value: string; span: Span }
  | { kind: "bool"; value: boolean; span: Span }
  | { kind: "name"; name: string; span: Span }
  | { kind: "call"; callee: string; calleeSpan: Span; args: Arg[]; span: Span }
  | { kind: "binary"; op: BinaryOp; left: Expr; right: Expr; span: Span }
  | { kind: "neg"; operand: Expr; span: Span }
  | { kind: "list"; items: Expr[]; span: Span };

export type BinaryOp = "+" | "-" | "*" | "/" | "%";
export type CompareOp = "<=" | "<" | ">=" | ">" | "==";

export interface Ident {
  name: string;
  span: Span;
}

export interface Arg {
  /** Absent for positional arguments. */
  name?: Ident;
  value: Expr;
  span: Span;
}

export interface DimDef {
  name: Ident;
  /** Absent for a family parameter (`dims { d, heads }`) that an extending model must set. */
  value?: Expr;
  span: Span;
}

export interface Constraint {
  left: Expr;
  op: CompareOp;
  right: Expr;
  span: Span;
}

export interface InputDecl {
  kind: "input";
  name: Ident;
  dtype: Ident;
  shape: Expr[];
  constraints: Constraint[];
  span: Span;
}

export interface DimsBlock {
  kind: "dims";
  dims: DimDef[];
  span: Span;
}

/** `keyword kind? (args)? { body }?`, e.g. `attention self(heads = 12)` or `encoder { ... }`. */
export interface Statement {
  kind: "statement";
  keyword: Ident;
  sub?: Ident;
  args: Arg[];
  /** Span of the parenthesised argument list, if written. */
  argsSpan?: Span;
  body?: Item[];
  span: Span;
}

/** `name` or `name × repeat` in a layer pattern. */
export interface PatternRun {
  kind: Ident;
  repeat?: Expr;
  span: Span;
}

/**
 * `stack count × name(args) { body }`, or `stack count × (a, b × n)(args) { layer a { ... } ... }`:
 * exactly one of `name` (one layer kind, the body its sublayers) and `pattern` (layer kinds
 * declared by `layer` statements in the body, layer i of kind pattern[i mod length]).
 */
export interface StackDecl {
  kind: "stack";
  count: Expr;
  name?: Ident;
  pattern?: PatternRun[];
  patternSpan?: Span;
  args: Arg[];
  body: Item[];
  span: Span;
}

export type Item = DimsBlock | InputDecl | Statement | StackDecl;

export interface ModelDecl {
  name: Ident;
  base?: Ident;
  items: Item[];
  span: Span;
  file: string;
}

export interface ImportDecl {
  path: string;
  span: Span;
}

export interface SpecFile {
  path: string;
  imports: ImportDecl[];
  models: ModelDecl[];
}

export function exprText(e: Expr, src: string): string {
  return src.slice(e.span.start, e.span.end);
}
