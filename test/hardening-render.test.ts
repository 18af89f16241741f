/**
 * Issue 14: output proportional to the problems, not to line lengths. Each error on a long
 * line used to reprint the whole line (a 60 KB spec wrote hundreds of MB), and every error
 * was printed. Bounds here are on output size and on work (counted calls), never on time.
 */
import { describe, expect, it, vi } from "vitest";
import { lex } from "../grammar/lexer.ts";
import { parseTokens, RESYNC_LOOKAHEAD, specParser } from "../grammar/parser.ts";
import { checkSource } from "../src/check/check.ts";
import { diagnostic, MAX_DIAGNOSTICS_PER_FILE, type Diagnostic } from "../src/diagnostics/diagnostic.ts";
import { toJson } from "../src/diagnostics/render-json.ts";
import { MAX_LINE, renderText } from "../src/diagnostics/render-text.ts";
import { SourceFile } from "../src/syntax/source.ts";

const render = (ds: readonly Diagnostic[], src: SourceFile) => renderText(ds, new Map([[src.path, src]]), { color: false });
const read = () => undefined;

/** A 60 KB one-line spec whose every argument is an error. */
const manyArgs = "model m { stack 2 x b { attention self(" + "zz = 1, ".repeat(7500) + "heads = 2) } }";
/** 88 KB: 6000 dims on one line, each an inexact division. */
const manyDims = "model m { dims { " + Array.from({ length: 6000 }, (_, i) => `q${i} = 3 / 2`).join(", ") + " } }";

describe("long lines", () => {
  const line = "x".repeat(5000) + "BAD" + "y".repeat(5000);
  const src = new SourceFile("l.sf", `first\n${line}\nlast\n`);
  const at = src.text.indexOf("BAD");
  const d = diagnostic({ code: "SF0101", message: "bad", file: "l.sf", span: { start: at, end: at + 3 }, label: "here" });

  it("shows a window around the span, cut with an ellipsis at both ends", () => {
    const out = render([d], src);
    const [, , , code, marks] = out.split("\n");
    expect(code.startsWith(" 2 | …")).toBe(true);
    expect(code.endsWith("…")).toBe(true);
    expect(code.length).toBeLessThan(MAX_LINE + 20);
    // The carets sit under BAD in the window.
    const col = marks.indexOf("^");
    expect(code.slice(col, col + 3)).toBe("BAD");
    expect(marks.slice(col)).toBe("^^^ here");
  });

  it("underlines a span that runs past the window only to its edge", () => {
    const wide = diagnostic({ code: "SF0101", message: "wide", file: "l.sf", span: { start: src.text.indexOf("x"), end: at + 5000 }, label: "all of it" });
    const out = render([wide], src);
    expect(Math.max(...out.split("\n").map((l) => l.length))).toBeLessThan(2 * MAX_LINE + 40);
  });

  it("draws labels far apart on one line in a window each", () => {
    const far = diagnostic({ code: "SF0101", message: "two", file: "l.sf", span: { start: at, end: at + 3 }, label: "primary", secondary: [{ file: "l.sf", span: { start: 7, end: 8 }, message: "start" }] });
    const out = render([far], src);
    expect(out.match(/^ 2 \| /gm)).toHaveLength(2);
    expect(out).toContain("- start");
    expect(out).toContain("^^^ primary");
  });

  it("keeps short lines whole, as before", () => {
    const s = new SourceFile("s.sf", "model m { dims { d = x } }\n");
    const out = render([diagnostic({ code: "SF0101", message: "m", file: "s.sf", span: { start: 21, end: 22 }, label: "l" })], s);
    expect(out).toContain(" 1 | model m { dims { d = x } }\n");
    expect(out).not.toContain("…");
  });

  it("never cuts a surrogate pair in half", () => {
    const emoji = "🙂".repeat(3000);
    const s = new SourceFile("e.sf", `${emoji}BAD${emoji}`);
    const i = s.text.indexOf("BAD");
    const out = render([diagnostic({ code: "SF0101", message: "m", file: "e.sf", span: { start: i, end: i + 3 }, label: "l" })], s);
    expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    expect(out).toContain("BAD");
  });
});

describe("many errors", () => {
  it.each([
    ["60 KB of bad arguments on one line", manyArgs],
    ["88 KB of inexact dims on one line", manyDims],
  ])("%s: at most 50 diagnostics, small output in every format", (_name, text) => {
    const r = checkSource(text, "big.sf", { read });
    expect(r.diagnostics.length).toBeLessThanOrEqual(MAX_DIAGNOSTICS_PER_FILE);
    expect(r.omitted).toBeGreaterThan(1000);
    const last = r.diagnostics.filter((d) => d.primary.file === "big.sf").pop()!;
    expect(last.notes[last.notes.length - 1]).toMatch(/^and (\d+ more errors|\d+ more warnings|\d+ more errors and \d+ more warnings) in this file, not shown$/);
    const out = renderText(r.diagnostics, r.sources, { color: false });
    expect(out.length).toBeLessThan(100_000);
    expect(JSON.stringify(toJson(r.diagnostics, r.sources)).length).toBeLessThan(100_000);
  });

  it("keeps errors before warnings when it has to choose", () => {
    // 60 unused dims (warnings) first, then 60 errors later in the file.
    const dims = Array.from({ length: 60 }, (_, i) => `u${i} = 1`).join(", ");
    const bad = Array.from({ length: 60 }, (_, i) => `  norm layer(eps = -${i + 1})`).join("\n");
    const r = checkSource(`model m {\n  dims { ${dims}, vocab = 10, d = 8, heads = 2, layers = 1, context = 8 }\n  input tokens: int[batch, seq] where seq <= context\n  embed tokens(vocab, d)\n${bad}\n  stack layers × b { attention self(heads = heads); mlp(hidden = d, act = relu) }\n  head tied\n}`, "w.sf", { read });
    expect(r.diagnostics).toHaveLength(MAX_DIAGNOSTICS_PER_FILE);
    expect(r.diagnostics.every((d) => d.severity === "error")).toBe(true);
  });

  it("caps diagnostics per file in renderText too, whoever made them", () => {
    const src = new SourceFile("r.sf", "x\n");
    const ds = Array.from({ length: 120 }, () => diagnostic({ code: "SF0101", message: "m", file: "r.sf", span: { start: 0, end: 1 } }));
    const out = render(ds, src);
    expect(out.match(/^error\[SF0101\]/gm)).toHaveLength(MAX_DIAGNOSTICS_PER_FILE);
    expect(out).toContain("note: and 70 more diagnostics in r.sf, not shown");
  });
});

describe("parser recovery on long lines", () => {
  /** Counts the parser's lookahead calls: the work error recovery does, whatever the clock says. */
  function lookaheads(text: string): { calls: number; tokens: number } {
    const { tokens } = lex(text);
    // LA is protected in chevrotain's types; it is the lookahead every scan goes through.
    const spy = vi.spyOn(specParser as unknown as { LA(k: number): unknown }, "LA");
    try {
      parseTokens(tokens);
      return { calls: spy.mock.calls.length, tokens: tokens.length };
    } finally {
      spy.mockRestore();
    }
  }

  it("does not rescan to the end of the line for every error", () => {
    // 6000 statements on one line, each followed by a stray `)`: no separator to resynchronise on.
    const { calls, tokens } = lookaheads("model m { " + "norm layer(eps = 1e-5) ) ".repeat(6000) + "}");
    // Before: each of the 200 errors scanned the ~48,000 tokens ahead (~10^7 calls).
    expect(calls).toBeLessThan(200 * RESYNC_LOOKAHEAD + 20 * tokens);
    expect(calls).toBeLessThan(1_000_000);
  });

  it("still recovers at the next line for an ordinary error", () => {
    const r = checkSource("model m {\n  norm layer(eps = 1e-5) )\n  norm layer(eps = 1e-5) )\n}\n", "p.sf", { read });
    expect(r.diagnostics.filter((d) => d.code === "SF0004")).toHaveLength(2);
  });
});

describe("line and column on long lines", () => {
  it("counts code points without building arrays", () => {
    const s = new SourceFile("c.sf", "🙂".repeat(10) + "x".repeat(100_000) + "\r\nnext");
    expect(s.lineCol(20 + 100_000)).toEqual({ line: 1, column: 100_011 });
    expect(s.lineCol(21)).toEqual({ line: 1, column: 12 });
    expect(s.lineText(0).endsWith("x")).toBe(true);
    expect(s.lineLength(0)).toBe(100_020);
    expect(s.lineText(1)).toBe("next");
  });
});
