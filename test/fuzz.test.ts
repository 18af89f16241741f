/**
 * Robustness of the front end and checker: whatever the text, `checkSource` returns
 * diagnostics (or a clean result), never throws or overflows the stack, and keeps its output
 * bounded (at most 50 diagnostics a file, rendered text and JSON under 200 KB); a model it
 * accepts gets through lowering, IR verification, the weight layout and inspect.
 *
 * No assertion here is about time: the work is bounded instead (caps on diagnostics, output
 * size, the nesting and input limits), and `npx tsx bench/fuzz-specs.ts` times more mutants.
 * The mutators live there too. FUZZ_RUNS=N changes the number of mutations (default
 * 20,000); FUZZ_SEED=N the PRNG seed. A failure names the seed and the run.
 */
import { describe, expect, it } from "vitest";
import { MAX_NESTING } from "../grammar/lexer.ts";
import { checkInvariants, laterStages, nextMutant, prng, read, seeds } from "../bench/fuzz-specs.ts";
import { checkSource, MAX_SPEC_BYTES, type CheckResult } from "../src/check/check.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 20_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20240611);

const run = (text: string, path = "fuzz.sf"): CheckResult => {
  const r = checkSource(text, path, { read });
  checkInvariants(text, r);
  return r;
};

describe("fuzz", () => {
  it("has seeds", () => {
    expect(seeds.length).toBeGreaterThan(30);
  });

  it(`survives ${RUNS} mutations (seed ${SEED})`, () => {
    const rnd = prng(SEED);
    // Outcomes, to be sure the mutations reach the checker and not only the parser.
    const outcome = { clean: 0, syntax: 0, semantic: 0 };
    let later = 0;
    for (let i = 0; i < RUNS; i++) {
      const { text, path, from } = nextMutant(rnd);
      try {
        const r = run(text, path);
        const errors = r.diagnostics.filter((d) => d.severity === "error");
        if (errors.length === 0) outcome.clean++;
        else if (errors.some((d) => d.code < "SF0009")) outcome.syntax++;
        else outcome.semantic++;
        if (errors.length === 0 && r.entry && laterStages(r.entry)) later++;
      } catch (e) {
        throw new Error(`run ${i} (seed ${SEED}, from ${from}) failed on ${JSON.stringify(text)}:\n${(e as Error).stack}`);
      }
    }
    for (const [kind, n] of Object.entries(outcome)) expect(n, `${kind} outcomes of ${RUNS}: ${JSON.stringify(outcome)}`).toBeGreaterThan(RUNS / 20);
    expect(later, "accepted models that went through the later stages").toBeGreaterThan(RUNS / 20);
  }, 300_000);

  it("checks every seed unmutated", () => {
    for (const s of seeds) run(s.text, s.path);
  });
});

describe("pathological inputs", () => {
  // Just under the 1 MiB a spec may be: past it the text is refused unread (SF0009).
  const MB = MAX_SPEC_BYTES - 64;
  const codes = (r: CheckResult) => [...new Set(r.diagnostics.map((d) => d.code))];

  /** Each must come back with at least one error and bounded output, without overflowing the stack. */
  const cases: Array<[string, () => string, string?]> = [
    ["1 MB of `(`", () => "(".repeat(MB), "SF0006"],
    ["1 MB of `{`", () => "{".repeat(MB), "SF0006"],
    ["1 MB of `[`", () => "model m { dims { d = " + "[".repeat(MB), "SF0006"],
    ["1 MB of `model a {`", () => "model a {".repeat(Math.floor(MB / 9)), "SF0006"],
    ["200k nested `-`", () => "model m { dims { d = " + "- ".repeat(200_000) + "1 } }", "SF0006"],
    ["200k `-` without spaces", () => "model m { dims { d = " + "-".repeat(200_000) + "1 } }", "SF0006"],
    ["`-(` nested to the limit", () => "model m { dims { d = " + "-(".repeat(31) + "1" + ")".repeat(31) + " } }"],
    [
      "1 MB of random bytes decoded as UTF-8",
      () => {
        const rnd = prng(7);
        const bytes = new Uint8Array(MB).map(() => Math.floor(rnd() * 256));
        return new TextDecoder("utf-8").decode(bytes);
      },
      "SF0008",
    ],
    [
      "1 MB of random printable ASCII",
      () => {
        const rnd = prng(8);
        return Array.from({ length: MB }, () => String.fromCharCode(32 + Math.floor(rnd() * 95))).join("");
      },
    ],
    ["1 MB of alternating bad and good characters", () => "é a ".repeat(Math.floor(MB / 4)), "SF0001"],
    ["a 1 MB line comment", () => "# " + "x".repeat(MB), "SF0007"],
    ["an unterminated `/*` before 1 MB", () => "/*" + "model m { dims { d = 1 } }\n".repeat(Math.floor(MB / 27)), "SF0003"],
    ["1 MB string without its closing quote", () => 'import "' + "a".repeat(MB), "SF0002"],
    [
      "20k statements",
      () => "model m {\n  dims { d = 8, v = 10 }\n" + Array.from({ length: 20_000 }, (_, i) => `  norm layer(eps = ${i % 7}e-6)`).join("\n") + "\n}\n",
    ],
    ["20k lines with a syntax error each", () => "model m {\n" + "  norm layer(eps = 1e-5) )\n".repeat(20_000) + "}\n", "SF0004"],
    ["10k models", () => Array.from({ length: 10_000 }, (_, i) => `model m${i} { dims { d = ${i} } }`).join("\n")],
    ["a 2000-model extends chain", () => Array.from({ length: 2000 }, (_, i) => `model m${i} extends m${i + 1} { dims { d = 1 } }`).join("\n"), "SF0104"],
    ["a 100k-term sum", () => "model m { dims { d = " + "1 + ".repeat(100_000) + "1 } }\n"],
    ["a 100k-item list", () => "model m { attention self(heads = [" + "1, ".repeat(100_000) + "1]) }\n", "SF0116"],
    ["50k arguments", () => "model m { attention self(" + "a = 1, ".repeat(50_000) + "b = 2) }\n", "SF0116"],
    ["a 60 KB line of bad arguments in a stack", () => "model m { stack 2 x b { attention self(" + "zz = 1, ".repeat(7500) + "heads = 2) } }", "SF0109"],
    ["a 300 KB line of statements, each with a syntax error", () => "model m { " + "norm layer(eps = 1e-5) ) ".repeat(12_000) + "}", "SF0004"],
    ["1 MiB + 1 of text, refused unread", () => "#".repeat(MAX_SPEC_BYTES + 1), "SF0009"],
  ];

  for (const [name, make, code] of cases) {
    it(name, () => {
      const r = run(make());
      expect(r.diagnostics.length).toBeGreaterThan(0);
      if (code) expect(codes(r)).toContain(code);
    }, 60_000);
  }

  it("recovers from syntax errors just under the nesting limit", () => {
    // Error recovery deep inside nested rules costs stack on top of the nesting itself.
    const n = MAX_NESTING - 4;
    const shapes = [
      `model m { dims { d = ${"(".repeat(n)}()${")".repeat(n)} } }`,
      `model m { dims { d = ${"(".repeat(n)}1 } }`,
      `model m { dims { d = ${"[".repeat(n)}(]${"]".repeat(n)} } }`,
      `model m { dims { d = ${"f(".repeat(n)}x = ${")".repeat(n)} } }`,
      `model m { ${"a { ".repeat(n)} ) ${"} ".repeat(n)} }`,
      `model m { ${"a b(c) { ".repeat(n)} ( ${"} ".repeat(n)} }`,
      `model m { dims { d = ${"-(".repeat(n / 2)} ) } }`,
      `model m { dims { d = ${"- ".repeat(n)} ) } }`,
    ];
    for (const text of shapes) {
      const r = run(text);
      expect(r.diagnostics.some((d) => d.code === "SF0004"), text.slice(0, 60)).toBe(true);
    }
    expect(codes(run("model m { dims { d = " + "(".repeat(MAX_NESTING) + "1" + ")".repeat(MAX_NESTING) + " } }"))).toEqual(["SF0006"]);
  });

  it("evaluates a 100k-term sum without recursing per term", () => {
    // A left-deep tree as deep as it is long: evaluating it must not recurse per term.
    const sum = Array.from({ length: 100_000 }, () => "1").join(" + ");
    const text = `model m {
  dims { vocab = 1000, d = (${sum}) / 100000 * 64, heads = 4, layers = 2, context = 64 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  stack layers × block { norm layer; attention self(heads = heads, mask = causal); norm layer; mlp(hidden = 4 * d, act = gelu) }
  norm layer
  head tied
}`;
    const r = run(text);
    expect(r.diagnostics).toEqual([]);
    expect(r.entry?.dims.get("d")).toBe(64);
  }, 20_000);

  it("quotes a huge expression in a message only in part", () => {
    const sum = Array.from({ length: 2000 }, () => "4294967296").join(" + ");
    const r = run(`model m { input t: int[(${sum}) * 4294967296] }`);
    const big = r.diagnostics.find((d) => d.code === "SF0204");
    expect(big?.message).toMatch(/^`\(4294967296 \+ 4294967296 .* … .* 4294967296\) \* 4294967296` evaluates to/);
    expect(big!.message.length).toBeLessThan(120);
  });
});
