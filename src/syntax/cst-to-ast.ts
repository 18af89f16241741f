import type { CstElement, CstNode, IToken } from "chevrotain";
import type * as A from "./ast.ts";
import type { Span } from "./source.ts";

// The CST may be partial after error recovery: every accessor tolerates missing children
// and the builder drops what it cannot make sense of (the parser already reported it).

const isToken = (e: CstElement): e is IToken => (e as IToken).image !== undefined;

function tokenSpan(t: IToken): Span {
  return { start: t.startOffset, end: (t.endOffset ?? t.startOffset + t.image.length - 1) + 1 };
}

/**
 * Span covering every real token under a node. Memoised: the builder asks for the spans
 * of nested nodes at every level, and re-walking subtrees made long inputs quadratic.
 */
const spans = new WeakMap<CstNode, Span | null>();
function nodeSpan(node: CstNode): Span | undefined {
  const known = spans.get(node);
  if (known !== undefined) return known ?? undefined;
  let start = Infinity;
  let end = -Infinity;
  for (const list of Object.values(node.children)) {
    for (const el of list) {
      const s = isToken(el) ? (Number.isNaN(el.startOffset) || el.isInsertedInRecovery ? undefined : tokenSpan(el)) : nodeSpan(el);
      if (!s) continue;
      start = Math.min(start, s.start);
      end = Math.max(end, s.end);
    }
  }
  const span = start === Infinity ? undefined : { start, end };
  spans.set(node, span ?? null);
  return span;
}

const tokens = (n: CstNode, key: string): IToken[] =>
  ((n.children[key] ?? []) as CstElement[]).filter((e): e is IToken => isToken(e) && !e.isInsertedInRecovery && !Number.isNaN(e.startOffset));
const nodes = (n: CstNode, key: string): CstNode[] => ((n.children[key] ?? []) as CstElement[]).filter((e): e is CstNode => !isToken(e));
const tok = (n: CstNode, key: string): IToken | undefined => tokens(n, key)[0];
const node = (n: CstNode, key: string): CstNode | undefined => nodes(n, key)[0];
const ident = (t: IToken): A.Ident => ({ name: t.image, span: tokenSpan(t) });

/** Called for the few syntax rules the grammar leaves loose (the `x` of a stack). */
export type SyntaxProblem = (span: Span, message: string, label: string) => void;
let report: SyntaxProblem = () => {};

export function buildFile(cst: CstNode, path: string, onProblem: SyntaxProblem): A.SpecFile {
  report = onProblem;
  const file: A.SpecFile = { path, imports: [], models: [] };
  for (const top of nodes(cst, "topItem")) {
    const imp = node(top, "importDecl");
    if (imp) {
      const s = tok(imp, "StringLiteral");
      if (s) file.imports.push({ path: s.image.slice(1, -1), span: nodeSpan(imp) ?? tokenSpan(s) });
    }
    const m = node(top, "modelDecl");
    if (m) {
      const model = buildModel(m, path);
      if (model) file.models.push(model);
    }
  }
  return file;
}

function buildModel(n: CstNode, path: string): A.ModelDecl | undefined {
  const name = tok(n, "name");
  const span = nodeSpan(n);
  if (!name || !span) return undefined;
  const base = tok(n, "base");
  const block = node(n, "block");
  return {
    name: ident(name),
    ...(base ? { base: ident(base) } : {}),
    items: block ? buildBlock(block) : [],
    span,
    file: path,
  };
}

function buildBlock(n: CstNode): A.Item[] {
  const out: A.Item[] = [];
  for (const it of nodes(n, "item")) {
    const built = buildItem(it);
    if (built) out.push(built);
  }
  return out;
}

function buildItem(n: CstNode): A.Item | undefined {
  const dims = node(n, "dimsBlock");
  if (dims) return buildDims(dims);
  const input = node(n, "inputDecl");
  if (input) return buildInput(input);
  const stack = node(n, "stackDecl");
  if (stack) return buildStack(stack);
  const st = node(n, "statement");
  if (st) return buildStatement(st);
  return undefined;
}

function buildDims(n: CstNode): A.DimsBlock | undefined {
  const span = nodeSpan(n);
  if (!span) return undefined;
  const dims: A.DimDef[] = [];
  for (const d of nodes(n, "dimDef")) {
    const name = tok(d, "Identifier");
    const e = node(d, "expr");
    const value = e ? buildExpr(e) : undefined;
    const dspan = nodeSpan(d);
    if (!name || !dspan) continue;
    // `d =` with a missing value was already a syntax error; treat it as a parameter.
    dims.push({ name: ident(name), ...(value ? { value } : {}), span: dspan });
  }
  return { kind: "dims", dims, span };
}

function buildInput(n: CstNode): A.InputDecl | undefined {
  const name = tok(n, "name");
  const dtype = tok(n, "dtype");
  const span = nodeSpan(n);
  if (!name || !dtype || !span) return undefined;
  const shape = nodes(n, "expr").map(buildExpr).filter((e): e is A.Expr => e !== undefined);
  const constraints: A.Constraint[] = [];
  for (const c of nodes(n, "constraint")) {
    const l = node(c, "left");
    const r = node(c, "right");
    const opNode = node(c, "compareOp");
    const left = l && buildExpr(l);
    const right = r && buildExpr(r);
    const opTok = opNode && Object.values(opNode.children).flat().find(isToken);
    const cspan = nodeSpan(c);
    if (left && right && opTok && cspan) constraints.push({ left, op: opTok.image as A.CompareOp, right, span: cspan });
  }
  return { kind: "input", name: ident(name), dtype: ident(dtype), shape, constraints, span };
}

function buildStack(n: CstNode): A.StackDecl | undefined {
  const countNode = node(n, "count");
  const count = countNode && buildExpr(countNode);
  const name = tok(n, "name");
  const patternNode = node(n, "layerPattern");
  const pattern = patternNode && buildPattern(patternNode);
  const patternSpan = patternNode && nodeSpan(patternNode);
  const span = nodeSpan(n);
  if (!count || !(name || (pattern?.length && patternSpan)) || !span) return undefined;
  const times = tok(n, "times");
  if (times) checkTimes(times, "between the count and the block name");
  const args = node(n, "argList");
  const block = node(n, "block");
  return {
    kind: "stack",
    count,
    ...(name ? { name: ident(name) } : { pattern: pattern!, patternSpan: patternSpan! }),
    args: args ? buildArgs(args) : [],
    body: block ? buildBlock(block) : [],
    span,
  };
}

function checkTimes(times: IToken, where: string): void {
  if (times.image !== "x") report(tokenSpan(times), `expected \`×\` or \`x\` ${where}, found \`${times.image}\``, "expected `×` here");
}

function buildPattern(n: CstNode): A.PatternRun[] {
  const out: A.PatternRun[] = [];
  for (const r of nodes(n, "patternRun")) {
    const kind = tok(r, "kind");
    const span = nodeSpan(r);
    if (!kind || !span) continue;
    const times = tok(r, "times");
    if (times) checkTimes(times, "between a layer kind and its repeat count");
    const rep = node(r, "repeat");
    const repeat = rep && buildExpr(rep);
    out.push({ kind: ident(kind), ...(repeat ? { repeat } : {}), span });
  }
  return out;
}


function buildStatement(n: CstNode): A.Statement | undefined {
  const kw = tok(n, "keyword");
  const span = nodeSpan(n);
  if (!kw || !span) return undefined;
  const sub = tok(n, "kind");
  const args = node(n, "argList");
  const block = node(n, "block");
  const argsSpan = args && nodeSpan(args);
  return {
    kind: "statement",
    keyword: ident(kw),
    ...(sub ? { sub: ident(sub) } : {}),
    args: args ? buildArgs(args) : [],
    ...(argsSpan ? { argsSpan } : {}),
    ...(block ? { body: buildBlock(block) } : {}),
    span,
  };
}

function buildArgs(n: CstNode): A.Arg[] {
  const out: A.Arg[] = [];
  for (const a of nodes(n, "arg")) {
    const e = node(a, "expr");
    const value = e && buildExpr(e);
    const span = nodeSpan(a);
    if (!value || !span) continue;
    const name = tok(a, "name");
    out.push({ ...(name ? { name: ident(name) } : {}), value, span });
  }
  return out;
}

function buildExpr(n: CstNode): A.Expr | undefined {
  // expr and term share a shape: lhs (op rhs)*, left-associative.
  const lhs = node(n, "lhs");
  let acc = lhs && (n.name === "expr" ? buildExpr(lhs) : buildUnary(lhs));
  if (!acc) return undefined;
  const ops = [...tokens(n, "Plus"), ...tokens(n, "Minus"), ...tokens(n, "Star"), ...tokens(n, "Slash"), ...tokens(n, "Percent")].sort(
    (a, b) => a.startOffset - b.startOffset,
  );
  const rhs = nodes(n, "rhs");
  for (let i = 0; i < rhs.length && i < ops.length; i++) {
    const right = n.name === "expr" ? buildExpr(rhs[i]) : buildUnary(rhs[i]);
    if (!right) return acc;
    acc = { kind: "binary", op: ops[i].image as A.BinaryOp, left: acc, right, span: { start: acc.span.start, end: right.span.end } };
  }
  return acc;
}

function buildUnary(n: CstNode): A.Expr | undefined {
  if (n.name === "term") return buildExpr(n);
  const minus = tok(n, "Minus");
  if (minus) {
    const inner = node(n, "unary");
    const operand = inner && buildUnary(inner);
    return operand && { kind: "neg", operand, span: { start: minus.startOffset, end: operand.span.end } };
  }
  const p = node(n, "primary");
  return p && buildPrimary(p);
}

function buildPrimary(n: CstNode): A.Expr | undefined {
  const span = nodeSpan(n);
  if (!span) return undefined;
  const num = tok(n, "NumberLiteral");
  if (num) return { kind: "num", value: Number(num.image), text: num.image, span };
  const str = tok(n, "StringLiteral");
  if (str) return { kind: "str", value: str.image.slice(1, -1), span };
  if (tok(n, "True")) return { kind: "bool", value: true, span };
  if (tok(n, "False")) return { kind: "bool", value: false, span };
  const id = tok(n, "Identifier");
  if (id) {
    const args = node(n, "argList");
    if (args) return { kind: "call", callee: id.image, calleeSpan: tokenSpan(id), args: buildArgs(args), span };
    return { kind: "name", name: id.image, span };
  }
  if (tok(n, "LBracket")) {
    return { kind: "list", items: nodes(n, "expr").map(buildExpr).filter((e): e is A.Expr => e !== undefined), span };
  }
  const inner = node(n, "expr");
  const e = inner && buildExpr(inner);
  // Parentheses widen the span so carets cover them, but the node is the inner one.
  return e && { ...e, span };
}
