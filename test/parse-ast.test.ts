/**
 * Text → AST: every construct of the surface syntax, checked as the AST it builds. Spans
 * are stripped for the shape tests and checked exactly in a few tests of their own.
 */
import { describe, expect, it } from "vitest";
import type * as A from "../src/syntax/ast.ts";
import { parseSpec } from "../src/syntax/parse.ts";
import type { Span } from "../src/syntax/source.ts";

/** Removes every `span`, `calleeSpan` and `argsSpan`, recursively. */
function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !/span$/i.test(k)).map(([k, x]) => [k, strip(x)]));
  }
  return v;
}

/** Parses a file that must have no syntax error. */
function file(text: string): A.SpecFile {
  const r = parseSpec(text, "t.sf");
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return r.ast;
}
/** The stripped items of `model m { TEXT }`. */
const items = (text: string): unknown[] => (strip(file(`model m {\n${text}\n}\n`)) as A.SpecFile).models[0].items as unknown[];
const item = (text: string): unknown => {
  const all = items(text);
  expect(all).toHaveLength(1);
  return all[0];
};
/** The stripped value of `dims { x = EXPR }`. */
const expr = (text: string): unknown => (item(`dims { x = ${text} }`) as { dims: Array<{ value: unknown }> }).dims[0].value;

// Builders for expected ASTs, spans left out.
const num = (value: number, text = String(value)) => ({ kind: "num", value, text });
const name = (n: string) => ({ kind: "name", name: n });
const bin = (op: A.BinaryOp, left: unknown, right: unknown) => ({ kind: "binary", op, left, right });
const neg = (operand: unknown) => ({ kind: "neg", operand });
const list = (...xs: unknown[]) => ({ kind: "list", items: xs });
const call = (callee: string, ...args: unknown[]) => ({ kind: "call", callee, args });
const pos = (value: unknown) => ({ value });
const named = (n: string, value: unknown) => ({ name: { name: n }, value });
const st = (keyword: string, sub?: string, args: unknown[] = [], body?: unknown[]) => ({
  kind: "statement",
  keyword: { name: keyword },
  ...(sub ? { sub: { name: sub } } : {}),
  args,
  ...(body ? { body } : {}),
});

/** The span of the nth occurrence of `needle`. */
function at(text: string, needle: string, nth = 0): Span {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`${needle} not found`);
  }
  return { start: i, end: i + needle.length };
}

describe("models, imports and files", () => {
  it("parses an empty model", () => {
    expect(strip(file("model m {}"))).toEqual({ path: "t.sf", imports: [], models: [{ name: { name: "m" }, items: [], file: "t.sf" }] });
  });

  it("parses extends", () => {
    const f = strip(file("model base { dims { d } }\nmodel small extends base { dims { d = 64 } }")) as A.SpecFile;
    expect(f.models.map((m) => [m.name, m.base])).toEqual([
      [{ name: "base" }, undefined],
      [{ name: "small" }, { name: "base" }],
    ]);
  });

  it("parses imports, before and between models", () => {
    const f = file('import "lib/base.sf"\nimport "../other dir/x.sf"\nmodel m {}\nimport "late.sf"\n');
    expect(f.imports.map((i) => i.path)).toEqual(["lib/base.sf", "../other dir/x.sf", "late.sf"]);
    expect(f.models).toHaveLength(1);
  });

  it("takes `;` as a separator at the top level and in blocks", () => {
    const f = strip(file('import "a.sf"; import "b.sf"; model m { norm layer; norm rms;; head tied }; model n {}')) as A.SpecFile;
    expect(f.imports.map((i) => i.path)).toEqual(["a.sf", "b.sf"]);
    expect(f.models.map((m) => m.name.name)).toEqual(["m", "n"]);
    expect(f.models[0].items).toEqual([st("norm", "layer"), st("norm", "rms"), st("head", "tied")]);
  });

  it("opens blocks on the next line", () => {
    const f = strip(file("model m\n{\n  stack 2 × b\n  {\n    mlp(4, act = relu)\n  }\n  encoder\n  {\n  }\n}\n")) as A.SpecFile;
    expect(f.models[0].items).toEqual([
      { kind: "stack", count: num(2), name: { name: "b" }, args: [], body: [st("mlp", undefined, [pos(num(4)), named("act", name("relu"))])] },
      st("encoder", undefined, [], []),
    ]);
  });

  it("lexes words that start with a keyword as names", () => {
    expect(items("models\nmodelx\ndimsy stacked\nimports(wherever = true_ish, inputs = falsey)")).toEqual([
      st("models"),
      st("modelx"),
      st("dimsy", "stacked"),
      st("imports", undefined, [named("wherever", name("true_ish")), named("inputs", name("falsey"))]),
    ]);
  });
});

describe("comments", () => {
  const text = [
    "# a line comment",
    "// another kind",
    "model m { # after the brace",
    "  /* a block comment",
    "     over two lines */",
    "  norm layer(eps = /* inline */ 1e-5) // trailing",
    "  head /* between */ tied",
    "  /**/",
    "}",
    "/* at the end */",
  ].join("\n");

  it("skips both kinds anywhere", () => {
    expect((strip(file(text)) as A.SpecFile).models[0].items).toEqual([st("norm", "layer", [named("eps", num(1e-5, "1e-5"))]), st("head", "tied")]);
  });

  it("keeps comment markers inside strings", () => {
    expect(file('import "a#b//c/*d*/.sf"').imports[0].path).toBe("a#b//c/*d*/.sf");
  });

  it("keeps line numbers across block comments", () => {
    const norm = file(text).models[0].items[0];
    expect(text.slice(norm.span.start, norm.span.end)).toBe("norm layer(eps = /* inline */ 1e-5)");
  });
});

describe("dims", () => {
  it("parses values and family parameters, with commas, line breaks or both", () => {
    expect(item("dims {\n  vocab = 50257, d = 768\n  heads\n  layers = 12,\n  context,\n}")).toEqual({
      kind: "dims",
      dims: [
        { name: { name: "vocab" }, value: num(50257) },
        { name: { name: "d" }, value: num(768) },
        { name: { name: "heads" } },
        { name: { name: "layers" }, value: num(12) },
        { name: { name: "context" } },
      ],
    });
  });

  it("parses arithmetic with precedence and left associativity", () => {
    expect(expr("4 * d + 1")).toEqual(bin("+", bin("*", num(4), name("d")), num(1)));
    expect(expr("1 + 4 * d")).toEqual(bin("+", num(1), bin("*", num(4), name("d"))));
    expect(expr("a - b - c")).toEqual(bin("-", bin("-", name("a"), name("b")), name("c")));
    expect(expr("a / b * c % 5")).toEqual(bin("%", bin("*", bin("/", name("a"), name("b")), name("c")), num(5)));
    expect(expr("(d - 2) / heads")).toEqual(bin("/", bin("-", name("d"), num(2)), name("heads")));
    expect(expr("a - (b - c)")).toEqual(bin("-", name("a"), bin("-", name("b"), name("c"))));
  });

  it("parses functions of dims", () => {
    expect(expr("sqrt(d)")).toEqual(call("sqrt", pos(name("d"))));
    expect(expr("max(d / 64, 1)")).toEqual(call("max", pos(bin("/", name("d"), num(64))), pos(num(1))));
  });

  it("parses negative numbers and unary minus", () => {
    expect(expr("-1")).toEqual(neg(num(1)));
    expect(expr("- - 2")).toEqual(neg(neg(num(2))));
    expect(expr("--2")).toEqual(neg(neg(num(2))));
    expect(expr("-1e-5")).toEqual(neg(num(1e-5, "1e-5")));
    expect(expr("1 - -2")).toEqual(bin("-", num(1), neg(num(2))));
    expect(expr("-d * 2")).toEqual(bin("*", neg(name("d")), num(2)));
    expect(expr("-(a + b)")).toEqual(neg(bin("+", name("a"), name("b"))));
  });

  it("keeps the text of numbers in every format", () => {
    for (const [text, value] of [
      ["0", 0],
      ["768", 768],
      [".5", 0.5],
      ["1.", 1],
      ["2.5", 2.5],
      ["1e3", 1000],
      ["1E+3", 1000],
      ["2.5e-3", 0.0025],
      ["1e400", Infinity],
      ["99999999999999999999", 1e20],
    ] as const) {
      expect(expr(text)).toEqual(num(value, text));
    }
  });

  it("parses lists, strings and booleans as values", () => {
    expect(expr("[a, b]")).toEqual(list(name("a"), name("b")));
    expect(expr("[]")).toEqual(list());
    expect(expr("[[1], [2, 3]]")).toEqual(list(list(num(1)), list(num(2), num(3))));
    expect(expr('"text"')).toEqual({ kind: "str", value: "text" });
    expect(expr("true")).toEqual({ kind: "bool", value: true });
    expect(expr("false")).toEqual({ kind: "bool", value: false });
  });
});

describe("inputs", () => {
  it("parses a shape and where-bounds", () => {
    expect(item("input tokens: int[batch, seq] where seq <= context, batch < 8")).toEqual({
      kind: "input",
      name: { name: "tokens" },
      dtype: { name: "int" },
      shape: [name("batch"), name("seq")],
      constraints: [
        { left: name("seq"), op: "<=", right: name("context") },
        { left: name("batch"), op: "<", right: num(8) },
      ],
    });
  });

  it("parses every comparison and expressions on both sides", () => {
    const i = item("input x: f32[batch, seq, 4 * d] where seq >= 1, seq > 0, seq == 2 * context, seq - 1 <= context") as {
      shape: unknown[];
      constraints: unknown[];
    };
    expect(i.shape).toEqual([name("batch"), name("seq"), bin("*", num(4), name("d"))]);
    expect(i.constraints).toEqual([
      { left: name("seq"), op: ">=", right: num(1) },
      { left: name("seq"), op: ">", right: num(0) },
      { left: name("seq"), op: "==", right: bin("*", num(2), name("context")) },
      { left: bin("-", name("seq"), num(1)), op: "<=", right: name("context") },
    ]);
  });

  it("parses an input without bounds, an empty shape, and a shape over several lines", () => {
    expect(items("input mask: bool[batch, seq]\ninput scalar: f32[]\ninput ids: int[\n  batch,\n  seq\n]")).toEqual([
      { kind: "input", name: { name: "mask" }, dtype: { name: "bool" }, shape: [name("batch"), name("seq")], constraints: [] },
      { kind: "input", name: { name: "scalar" }, dtype: { name: "f32" }, shape: [], constraints: [] },
      { kind: "input", name: { name: "ids" }, dtype: { name: "int" }, shape: [name("batch"), name("seq")], constraints: [] },
    ]);
  });

  it("takes a name that starts with `input`", () => {
    expect(item("input input_ids: int[batch, seq]")).toMatchObject({ kind: "input", name: { name: "input_ids" } });
  });
});

describe("statements", () => {
  it("parses every statement of the language", () => {
    const text = [
      "embed tokens(vocab, d)",
      "embed segments(2, dim = d, scale = 1.5)",
      "position learned(context)",
      "position rope(base = 10000, fraction = 0.5)",
      "position sinusoidal",
      "norm layer(eps = 1e-5, bias = false)",
      "norm rms",
      "attention self(heads = 12, kv_heads = 4, mask = causal, window = 256, bias = true)",
      "attention cross(8, memory = encoder, memory_dim = 512)",
      "mlp(hidden = 4 * d, act = gelu)",
      "dropout(0.1)",
      "head tied",
      "head linear(vocab, bias = true, transform = gelu, eps = 1e-12)",
      "tokenizer bpe(gpt2)",
      "tokenizer byte",
      "train(dropout = 0.1, label_smoothing = 0.1)",
      "lint(allow = [SF2001, SF2003])",
    ].join("\n");
    expect(items(text)).toEqual([
      st("embed", "tokens", [pos(name("vocab")), pos(name("d"))]),
      st("embed", "segments", [pos(num(2)), named("dim", name("d")), named("scale", num(1.5))]),
      st("position", "learned", [pos(name("context"))]),
      st("position", "rope", [named("base", num(10000)), named("fraction", num(0.5))]),
      st("position", "sinusoidal"),
      st("norm", "layer", [named("eps", num(1e-5, "1e-5")), named("bias", { kind: "bool", value: false })]),
      st("norm", "rms"),
      st("attention", "self", [
        named("heads", num(12)),
        named("kv_heads", num(4)),
        named("mask", name("causal")),
        named("window", num(256)),
        named("bias", { kind: "bool", value: true }),
      ]),
      st("attention", "cross", [pos(num(8)), named("memory", name("encoder")), named("memory_dim", num(512))]),
      st("mlp", undefined, [named("hidden", bin("*", num(4), name("d"))), named("act", name("gelu"))]),
      st("dropout", undefined, [pos(num(0.1))]),
      st("head", "tied"),
      st("head", "linear", [pos(name("vocab")), named("bias", { kind: "bool", value: true }), named("transform", name("gelu")), named("eps", num(1e-12, "1e-12"))]),
      st("tokenizer", "bpe", [pos(name("gpt2"))]),
      st("tokenizer", "byte"),
      st("train", undefined, [named("dropout", num(0.1)), named("label_smoothing", num(0.1))]),
      st("lint", undefined, [named("allow", list(name("SF2001"), name("SF2003")))]),
    ]);
  });

  it("parses sections with bodies", () => {
    expect(items("encoder {\n  embed src(vocab, d)\n}\ndecoder { embed tgt(vocab, d) }")).toEqual([
      st("encoder", undefined, [], [st("embed", "src", [pos(name("vocab")), pos(name("d"))])]),
      st("decoder", undefined, [], [st("embed", "tgt", [pos(name("vocab")), pos(name("d"))])]),
    ]);
  });

  it("tells an empty argument list from none", () => {
    const [a, b] = file("model m {\n  dropout()\n  dropout\n}").models[0].items as A.Statement[];
    expect([a.args, a.argsSpan !== undefined]).toEqual([[], true]);
    expect([b.args, b.argsSpan !== undefined]).toEqual([[], false]);
  });

  it("parses call arguments", () => {
    expect(item("attention self(heads = 8, sparse = block(size = 64, local = 3, global = 1))")).toEqual(
      st("attention", "self", [
        named("heads", num(8)),
        named("sparse", call("block", named("size", num(64)), named("local", num(3)), named("global", num(1)))),
      ]),
    );
    expect(item("attention self(8, sparse = strided(128))")).toEqual(
      st("attention", "self", [pos(num(8)), named("sparse", call("strided", pos(num(128))))]),
    );
    expect(item("attention self(8, sparse = block)")).toEqual(st("attention", "self", [pos(num(8)), named("sparse", name("block"))]));
  });

  it("parses argument lists over several lines", () => {
    const text = "attention self(\n  heads = 12,\n  mask =\n    causal,\n  sparse = block(\n    size = 64\n  )\n)";
    expect(item(text)).toEqual(
      st("attention", "self", [named("heads", num(12)), named("mask", name("causal")), named("sparse", call("block", named("size", num(64))))]),
    );
  });
});

describe("stacks", () => {
  const body = [st("mlp", undefined, [pos(num(4)), named("act", name("relu"))])];

  it("accepts `×` and `x`", () => {
    expect(items("stack layers × block { mlp(4, act = relu) }\nstack 2 x blk(norm = post) {\n  mlp(4, act = relu)\n}")).toEqual([
      { kind: "stack", count: name("layers"), name: { name: "block" }, args: [], body },
      { kind: "stack", count: num(2), name: { name: "blk" }, args: [named("norm", name("post"))], body },
    ]);
  });

  it("takes an expression as the count", () => {
    expect(item("stack layers / 2 × half { mlp(4, act = relu) }")).toMatchObject({ count: bin("/", name("layers"), num(2)) });
    expect(item("stack (a + b)x ab { mlp(4, act = relu) }")).toMatchObject({ count: bin("+", name("a"), name("b")), name: { name: "ab" } });
  });

  it("nests sections and stacks", () => {
    expect(item("decoder {\n  stack n × d { attention cross(4) }\n}")).toEqual(
      st("decoder", undefined, [], [{ kind: "stack", count: name("n"), name: { name: "d" }, args: [], body: [st("attention", "cross", [pos(num(4))])] }]),
    );
  });

  it("rejects another word in place of `×`", () => {
    const r = parseSpec("model m { stack 2 by block { mlp(4, act = relu) } }", "t.sf");
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["SF0004", "expected `×` or `x` between the count and the block name, found `by`"]]);
    // The stack is still built, so later checks see it.
    expect(r.ast.models[0].items[0]).toMatchObject({ kind: "stack", name: { name: "block" } });
  });
});

describe("spans", () => {
  const text = "model m {\n  norm layer(eps = (1e-5))\n  stack 2 × b { mlp(4 * d, act = relu) }\n}\n";
  const m = file(text).models[0];
  const norm = m.items[0] as A.Statement;
  const stack = m.items[1] as A.StackDecl;
  const slice = (s: Span | undefined) => (s ? text.slice(s.start, s.end) : undefined);

  it("covers a model and its statements exactly", () => {
    expect(m.span).toEqual({ start: 0, end: text.length - 1 });
    expect(m.name.span).toEqual({ start: at(text, "m {").start, end: at(text, "m {").start + 1 });
    expect(norm.span).toEqual(at(text, "norm layer(eps = (1e-5))"));
    expect(norm.keyword.span).toEqual(at(text, "norm"));
    expect(norm.sub!.span).toEqual(at(text, "layer"));
    expect(norm.argsSpan).toEqual(at(text, "(eps = (1e-5))"));
  });

  it("covers arguments, names and values; parentheses belong to the value", () => {
    const eps = norm.args[0];
    expect(slice(eps.span)).toBe("eps = (1e-5)");
    expect(slice(eps.name!.span)).toBe("eps");
    expect(slice(eps.value.span)).toBe("(1e-5)");
    expect(eps.value).toMatchObject({ kind: "num", value: 1e-5, text: "1e-5" });
  });

  it("covers expressions from their first to their last token", () => {
    expect(slice(stack.span)).toBe("stack 2 × b { mlp(4 * d, act = relu) }");
    expect(slice(stack.count.span)).toBe("2");
    const mlp = stack.body[0] as A.Statement;
    const hidden = mlp.args[0].value as Extract<A.Expr, { kind: "binary" }>;
    expect([slice(hidden.span), slice(hidden.left.span), slice(hidden.right.span)]).toEqual(["4 * d", "4", "d"]);
  });

  it("counts offsets in UTF-16 units, as strings index", () => {
    const t = "# naïve café ×\nmodel m { stack 2 × b {} }";
    const s = file(t).models[0].items[0] as A.StackDecl;
    expect(t.slice(s.name!.span.start, s.name!.span.end)).toBe("b");
  });
});

describe("syntax errors", () => {
  it("never throws, and keeps what it could read", () => {
    const r = parseSpec("model m {\n  norm layer(eps = )\n  head tied\n}\n", "t.sf");
    expect(r.diagnostics.map((d) => d.code)).toEqual(["SF0004"]);
    expect((strip(r.ast) as A.SpecFile).models[0].items).toContainEqual(st("head", "tied"));
  });

  it("reports an error on each bad line in one run", () => {
    const r = parseSpec("model m {\n  dims { d = * 2 }\n  norm layer(eps = )\n  mlp(4, act = = relu)\n}\n", "t.sf");
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ["SF0004", "expected an expression, found `*`"],
      ["SF0004", "expected an expression, found `)`"],
      ["SF0004", "expected an expression, found `=`"],
    ]);
  });

  it("reports an unclosed argument list at the end of its line", () => {
    const text = "model m {\n  embed tokens(vocab, d\n  head tied\n}\n";
    const [d] = parseSpec(text, "t.sf").diagnostics;
    expect(d.message).toBe("expected `)`, found `head`");
    expect(d.primary.span).toEqual({ start: at(text, "d\n").end - 1, end: at(text, "d\n").end - 1 });
    expect(d.secondary.map((s) => [s.span, s.message])).toEqual([[at(text, "head"), "found this instead"]]);
  });

  it("reports an empty file as having no model", () => {
    expect(parseSpec("", "t.sf").diagnostics.map((d) => d.code)).toEqual(["SF0007"]);
    expect(parseSpec("# nothing\n", "t.sf").diagnostics.map((d) => d.code)).toEqual(["SF0007"]);
  });

  it("reports lexical problems with their spans", () => {
    const text = 'model m { @ }\nimport "open\n/* never closed';
    expect(parseSpec(text, "t.sf").diagnostics.map((d) => [d.code, text.slice(d.primary.span.start, d.primary.span.end)])).toEqual([
      ["SF0001", "@"],
      ["SF0002", '"open'],
      ["SF0003", "/*"],
    ]);
  });
});
