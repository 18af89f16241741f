import { describe, expect, it } from "vitest";
import { SourceFile, span, type Span } from "../src/syntax/source.ts";
import { diagnostic, type Diagnostic, type Label } from "../src/diagnostics/diagnostic.ts";
import { renderText, summaryLine } from "../src/diagnostics/render-text.ts";
import { toJson } from "../src/diagnostics/render-json.ts";
import { pathToUri, toSarif } from "../src/diagnostics/render-sarif.ts";

/** The span of the nth occurrence of `needle` in the file, so tests read as text, not offsets. */
function at(src: SourceFile, needle: string, nth = 0): Span {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = src.text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`${needle} not in ${src.path}`);
  }
  return span(i, i + needle.length);
}

const sourcesOf = (...files: SourceFile[]) => new Map(files.map((f) => [f.path, f]));
const text = (ds: Diagnostic[], ...files: SourceFile[]) => renderText(ds, sourcesOf(...files), { color: false });
const lines = (...ls: string[]) => ls.join("\n") + "\n";
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

const single = new SourceFile("specs/a.sf", "model m {\n  dims { d = 768 }\n}\n");

const long = new SourceFile(
  "specs/m.sf",
  "model m {\n  dims {\n    d = 768,\n    heads = 10,\n    ff = 3072,\n    vocab = 50257,\n" +
    "    context = 1024,\n    layers = 12,\n  }\n  attention heads = heads\n}\n",
);
const label = (src: SourceFile, s: Span, message: string): Label => ({ file: src.path, span: s, message });

const spread = diagnostic({
  code: "SF0201",
  message: "d (768) is not divisible by heads (10)",
  file: long.path,
  span: at(long, "heads", 2),
  label: "used here",
  secondary: [label(long, at(long, "dims"), "in these dims"), label(long, at(long, "heads = 10"), "heads = 10 here")],
});

const tabbed = new SourceFile("specs/t.sf", '\tlabel = "\u{1F642}\u00e9"; d = bogus\n');
const unknown = diagnostic({
  code: "SF0101",
  message: "unknown name `bogus`",
  file: tabbed.path,
  span: at(tabbed, "bogus"),
  label: "not defined",
});

const main = new SourceFile("specs/main.sf", 'import "base.sf"\nmodel m extends base { dims { d = 10 } }\n');
const base = new SourceFile("specs/base.sf", "model base {\n  dims { heads = 3 }\n}\n");
const crossFile = diagnostic({
  code: "SF0201",
  message: "d (10) is not divisible by heads (3)",
  file: main.path,
  span: at(main, "d = 10"),
  label: "d = 10 here",
  secondary: [label(base, at(base, "heads = 3"), "heads = 3 inherited from here")],
});

const warnSrc = new SourceFile("specs/w.sf", "dims { ff = 3072 }\n");
const unused = diagnostic({
  code: "SF2003",
  severity: "warning",
  message: "dim `ff` is never used",
  file: warnSrc.path,
  span: at(warnSrc, "ff"),
  label: "unused",
  notes: ["it may be a typo", "first line\nsecond line"],
  hint: "remove it",
});

describe("renderText", () => {
  it("renders a single-line primary label", () => {
    const d = diagnostic({ code: "SF0201", message: "bad", file: single.path, span: at(single, "768"), label: "here" });
    expect(text([d], single)).toBe(
      lines(
        "error[SF0201]: bad",
        "  --> specs/a.sf:2:14",
        "   |",
        " 2 |   dims { d = 768 }",
        "   |              ^^^ here",
      ),
    );
  });

  it("orders labels by line, shows a line in a 2-line gap and elides longer gaps", () => {
    expect(text([spread], long)).toBe(
      lines(
        "error[SF0201]: d (768) is not divisible by heads (10)",
        "   --> specs/m.sf:10:21",
        "    |",
        "  2 |   dims {",
        "    |   ---- in these dims",
        "  3 |     d = 768,",
        "  4 |     heads = 10,",
        "    |     ---------- heads = 10 here",
        "...",
        " 10 |   attention heads = heads",
        "    |                     ^^^^^ used here",
      ),
    );
  });

  it("underlines a multi-line span to the end of its first line", () => {
    const src = new SourceFile("specs/s.sf", "model m {\n  stack 12 {\n    attention heads = 12\n  }\n}\n");
    const s = span(src.text.indexOf("stack"), src.text.indexOf("  }\n") + 3);
    const d = diagnostic({ code: "SF0117", message: "stack has no head", file: src.path, span: s, label: "this stack" });
    expect(text([d], src)).toBe(
      lines(
        "error[SF0117]: stack has no head",
        "  --> specs/s.sf:2:3",
        "   |",
        " 2 |   stack 12 {",
        "   |   ^^^^^^^^^^ this stack",
      ),
    );
  });

  it("gives a zero-width span at end of file one caret, and clamps spans past the end", () => {
    const src = new SourceFile("specs/eof.sf", "model m {\n  dims { d = 1 }\n");
    const n = src.text.length;
    const expected = lines(
      "error[SF0004]: expected `}`, found end of file",
      "  --> specs/eof.sf:3:1",
      "   |",
      " 3 |",
      "   | ^ expected `}`",
    );
    for (const s of [span(n, n), span(n + 50, n + 99), span(n + 9, n)]) {
      const d = diagnostic({
        code: "SF0004",
        message: "expected `}`, found end of file",
        file: src.path,
        span: s,
        label: "expected `}`",
      });
      expect(text([d], src)).toBe(expected);
    }
    const noNewline = new SourceFile("specs/nl.sf", "model m {");
    const d = diagnostic({ code: "SF0004", message: "eof", file: noNewline.path, span: span(9, 9) });
    expect(text([d], noNewline)).toBe(lines("error[SF0004]: eof", "  --> specs/nl.sf:1:10", "   |", " 1 | model m {", "   |          ^"));
  });

  it("aligns carets after a tab and an astral code point", () => {
    expect(text([unknown], tabbed)).toBe(
      lines(
        "error[SF0101]: unknown name `bogus`",
        "  --> specs/t.sf:1:20",
        "   |",
        ' 1 |     label = "\u{1F642}\u00e9"; d = bogus',
        "   | " + " ".repeat(22) + "^^^^^ not defined",
      ),
    );
  });

  it("renders a label in another file in its own ::: block", () => {
    expect(text([crossFile], main, base)).toBe(
      lines(
        "error[SF0201]: d (10) is not divisible by heads (3)",
        "  --> specs/main.sf:2:31",
        "   |",
        " 2 | model m extends base { dims { d = 10 } }",
        "   |                               ^^^^^^ d = 10 here",
        "   |",
        "  ::: specs/base.sf:2:10",
        "   |",
        " 2 |   dims { heads = 3 }",
        "   |          --------- heads = 3 inherited from here",
      ),
    );
  });

  it("renders a warning's notes and hint, and separates diagnostics by a blank line", () => {
    const expectedWarning = [
      "warning[SF2003]: dim `ff` is never used",
      "  --> specs/w.sf:1:8",
      "   |",
      " 1 | dims { ff = 3072 }",
      "   |        ^^ unused",
      "   |",
      "   = note: it may be a typo",
      "   = note: first line",
      "           second line",
      "   = hint: remove it",
    ];
    expect(text([unused], warnSrc)).toBe(lines(...expectedWarning));
    const both = text([unused, unknown], warnSrc, tabbed);
    expect(both.startsWith(lines(...expectedWarning) + "\nerror[SF0101]")).toBe(true);
  });

  it("colours headers, gutters and underlines, and only adds escapes", () => {
    const diags = [spread, unused, crossFile];
    const all = [long, warnSrc, main, base];
    const coloured = renderText(diags, sourcesOf(...all), { color: true });
    expect(coloured).toContain("\x1b[1;31merror[SF0201]\x1b[0m");
    expect(coloured).toContain("\x1b[1;33mwarning[SF2003]\x1b[0m");
    expect(coloured).toContain("\x1b[1;34m    |\x1b[0m");
    expect(coloured).toContain("\x1b[1;31m^^^^^\x1b[0m");
    expect(coloured).toContain("\x1b[1;36mnote:\x1b[0m it may be a typo");
    expect(stripAnsi(coloured)).toBe(text(diags, ...all));
    const note = diagnostic({ code: "SF0004", severity: "note", message: "n", file: single.path, span: span(0, 5) });
    expect(renderText([note], sourcesOf(single), { color: true })).toContain("\x1b[1;36mnote[SF0004]\x1b[0m");
  });

  it("never throws on a missing source file or an empty list", () => {
    const d = diagnostic({ code: "SF0009", message: "gone", file: "nowhere.sf", span: span(5, 10), label: "x" });
    expect(text([d])).toBe(lines("error[SF0009]: gone", "  --> nowhere.sf"));
    expect(text([])).toBe("");
  });
});

describe("summaryLine", () => {
  it("counts by severity with plurals", () => {
    expect(summaryLine([])).toBe("no problems");
    expect(summaryLine([spread, crossFile, unused])).toBe("2 errors, 1 warning");
    expect(summaryLine([unused, unused])).toBe("2 warnings");
  });
});

describe("toJson", () => {
  it("reports 1-based code-point columns with an exclusive end", () => {
    const [j] = toJson([unknown], sourcesOf(tabbed));
    expect(j).toEqual({
      code: "SF0101",
      severity: "error",
      message: "unknown name `bogus`",
      file: "specs/t.sf",
      line: 1,
      column: 20,
      endLine: 1,
      endColumn: 25,
      label: "not defined",
      secondary: [],
      notes: [],
    });
    expect("hint" in j).toBe(false);
  });

  it("resolves secondary labels in their own files, multi-line ends and hints", () => {
    const [a, b] = toJson([crossFile, unused], sourcesOf(main, base, warnSrc));
    expect(a.secondary).toEqual([
      { file: "specs/base.sf", line: 2, column: 10, endLine: 2, endColumn: 19, message: "heads = 3 inherited from here" },
    ]);
    expect(b.notes).toEqual(["it may be a typo", "first line\nsecond line"]);
    expect(b.hint).toBe("remove it");
    const wide = diagnostic({ code: "SF0004", message: "m", file: single.path, span: span(4, single.text.length) });
    expect(toJson([wide], sourcesOf(single))[0]).toMatchObject({ line: 1, column: 5, endLine: 4, endColumn: 1 });
  });
});

describe("toSarif", () => {
  const log = toSarif([unused, crossFile, unknown, spread], sourcesOf(long, warnSrc, main, base, tabbed), {
    toolVersion: "0.1.0",
  }) as any;
  const run = log.runs[0];

  it("is a SARIF 2.1.0 log with one run and code-point columns", () => {
    expect(log.$schema).toBe("https://json.schemastore.org/sarif-2.1.0.json");
    expect(log.version).toBe("2.1.0");
    expect(log.runs).toHaveLength(1);
    expect(run.columnKind).toBe("unicodeCodePoints");
    expect(run.tool.driver.name).toBe("specformer");
    expect(run.tool.driver.version).toBe("0.1.0");
  });

  it("has one rule per code and correct rule indices", () => {
    const rules = run.tool.driver.rules;
    expect(rules.map((r: { id: string }) => r.id)).toEqual(["SF0101", "SF0201", "SF2003"]);
    expect(rules[2].shortDescription.text).toBe("unused dim");
    expect(rules[2].fullDescription.text).toMatch(/defined but nothing uses it/);
    for (const r of run.results) expect(rules[r.ruleIndex].id).toBe(r.ruleId);
    expect(run.results.map((r: { level: string }) => r.level)).toEqual(["warning", "error", "error", "error"]);
  });

  it("gives regions, related locations and notes", () => {
    const [w, cross, tab] = run.results;
    expect(tab.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: "specs/t.sf" },
      region: { startLine: 1, startColumn: 20, endLine: 1, endColumn: 25 },
    });
    expect(cross.message.text).toBe("d (10) is not divisible by heads (3)");
    expect(cross.relatedLocations).toEqual([
      {
        id: 0,
        physicalLocation: {
          artifactLocation: { uri: "specs/base.sf" },
          region: { startLine: 2, startColumn: 10, endLine: 2, endColumn: 19 },
        },
        message: { text: "heads = 3 inherited from here" },
      },
    ]);
    expect(w.properties).toEqual({ notes: ["it may be a typo", "first line\nsecond line"], hint: "remove it" });
    expect(tab.properties).toBeUndefined();
  });

  it("turns paths into URI references", () => {
    expect(pathToUri("specs\\sub dir\\a#1.sf")).toBe("specs/sub%20dir/a%231.sf");
    expect(pathToUri("/home/u/a.sf")).toBe("file:///home/u/a.sf");
    expect(pathToUri("C:\\specs\\a.sf")).toBe("file:///C:/specs/a.sf");
  });
});
