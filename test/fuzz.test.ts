/**
 * Robustness of the front end and checker: whatever the text, `checkSource` returns
 * diagnostics (or a clean result) quickly, and never throws or overflows the stack.
 *
 * Seeds are the real specs and the golden inputs; each is mutated with a seeded PRNG, so
 * a failure names the seed and the iteration and reproduces exactly. FUZZ_RUNS=N changes
 * the number of mutations (default 4000); FUZZ_SEED=N the PRNG seed.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MAX_NESTING } from "../grammar/lexer.ts";
import { checkSource, type CheckResult } from "../src/check/check.ts";
import { hasErrors } from "../src/diagnostics/diagnostic.ts";
import { toJson } from "../src/diagnostics/render-json.ts";
import { renderText } from "../src/diagnostics/render-text.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RUNS = Number(process.env.FUZZ_RUNS ?? 4000);
const SEED = Number(process.env.FUZZ_SEED ?? 20240611);

/** mulberry32: small, fast, and the same sequence everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function filesIn(dir: string, recurse: boolean): string[] {
  const out: string[] = [];
  for (const f of readdirSync(join(ROOT, dir)).sort()) {
    const rel = `${dir}/${f}`;
    if (statSync(join(ROOT, rel)).isDirectory()) {
      if (recurse) out.push(...filesIn(rel, recurse));
    } else if (f.endsWith(".sf")) out.push(rel);
  }
  return out;
}

const decode = (path: string): string => new TextDecoder("utf-8").decode(readFileSync(join(ROOT, path)));
const seedFiles = [...filesIn("specs", false), ...filesIn("test/golden/in", true)];
const seeds = seedFiles.map((path) => ({ path, text: decode(path) }));
/** Imports resolve against the golden library in memory: fuzzing never reads the disk. */
const library = new Map(filesIn("test/golden/in/lib", false).map((p) => [p, decode(p)]));
const read = (p: string): string | undefined => library.get(p);

const TOKENS = [
  "{", "}", "(", ")", "[", "]", "×", "x", ",", ";", ":", "=", "==", "<=", "<", ">=", "-", "+", "*", "/", "%",
  "\n", "\r\n", "\t", " ", "model", "model a {", "extends", "import", 'import "lib/base.sf"\n', "dims", "input", "where",
  "stack", "stack 2 × b {", "true", "false", "embed", "position", "norm", "attention", "attention cross", "mlp",
  "dropout", "encoder {", "decoder {", "head", "tokenizer", "train", "lint(allow = [SF2001])", "heads", "kv_heads",
  "d", "seq", "batch", "context", "causal", "learned", "rope", "alibi", "block(size = 64)", "0", "-1", "1e400",
  "99999999999999999999", "0.5", "1e-5", ".5", "1.", "4294967296", '"', '"x.sf"', "/*", "*/", "#", "//", "\0",
  "\uFFFD", "é", "🙂", "\u202E", "\u00a0", "\ufeff", "\\", "@", "$", "`",
];

/** Words and numbers that keep the syntax valid but stress the checker. */
const WORDS = [
  "d", "heads", "kv_heads", "head_dim", "vocab", "layers", "context", "seq", "batch", "tokens", "hidden", "ff", "x",
  "causal", "none", "linear", "softmax", "layer", "rms", "learned", "rope", "alibi", "sinusoidal", "gelu", "swiglu",
  "relu", "tied", "self", "cross", "encoder", "decoder", "attention", "mlp", "norm", "embed", "position", "dropout",
  "head", "stack", "pre", "post", "window", "sparse", "block", "strided", "memory", "memory_dim", "padding", "bias",
  "eps", "base", "fraction", "act", "hiden", "attnetion", "int", "bool", "f32", "sqrt", "min", "max", "true", "false",
];
const NUMBERS = ["0", "1", "2", "3", "7", "-1", "64", "100", "128", "1000", "4096", "1e400", "99999999999999999999", "0.5", "1e-5", "2.5", "0.1"];

/** A syntax-preserving edit: a word or number swapped, or a whole line deleted, doubled or moved. */
function mutateTokens(text: string, rnd: () => number): string {
  const int = (n: number) => Math.floor(rnd() * n);
  if (rnd() < 0.6) {
    const atoms = [...text.matchAll(/[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:e-?\d+)?/g)];
    if (atoms.length === 0) return text;
    const m = atoms[int(atoms.length)];
    const pool = /^\d/.test(m[0]) ? NUMBERS : WORDS;
    return text.slice(0, m.index) + pool[int(pool.length)] + text.slice(m.index! + m[0].length);
  }
  const lines = text.split("\n");
  const i = int(lines.length);
  const j = int(lines.length);
  switch (int(3)) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, lines[j]);
      break;
    default:
      [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  return lines.join("\n");
}

/** One random edit of the text; several are applied per run. */
function mutate(text: string, rnd: () => number): string {
  const int = (n: number) => Math.floor(rnd() * n);
  if (rnd() < 0.5) return mutateTokens(text, rnd);
  const pos = () => int(text.length + 1);
  const len = () => 1 + int(rnd() < 0.8 ? 8 : 200);
  switch (int(7)) {
    case 0: {
      const i = pos();
      return text.slice(0, i) + text.slice(i + len());
    }
    case 1:
    case 2: {
      const i = pos();
      return text.slice(0, i) + TOKENS[int(TOKENS.length)] + text.slice(i);
    }
    case 3: {
      const i = pos();
      const j = i + len();
      return text.slice(0, j) + text.slice(i, j) + text.slice(j);
    }
    case 4: {
      let [i, j] = [pos(), pos()].sort((a, b) => a - b);
      const n = Math.min(len(), j - i);
      if (n === 0) return text;
      const a = text.slice(i, i + n);
      j = Math.max(j, i + n);
      const b = text.slice(j, j + n);
      return text.slice(0, i) + b + text.slice(i + n, j) + a + text.slice(j + b.length);
    }
    case 5: {
      const i = pos();
      return text.slice(0, i) + String.fromCodePoint(int(0x11000) < 0xd800 ? int(0xd800) : 0xe000 + int(0x2000)) + text.slice(i);
    }
    default: {
      // Replace a single character: a byte-level flip, as a corrupted file would have.
      const i = int(text.length);
      return text.slice(0, i) + String.fromCharCode(int(128)) + text.slice(i + 1);
    }
  }
}

/** What every result must satisfy, whatever the input. Plain checks: `expect` per diagnostic is slow. */
function checkInvariants(text: string, path: string, r: CheckResult): void {
  for (const d of r.diagnostics) {
    for (const label of [d.primary, ...d.secondary]) {
      const src = r.sources.get(label.file);
      const { start, end } = label.span;
      if (!src) throw new Error(`${d.code} names a file with no source: ${label.file}`);
      if (!(start >= 0 && end >= start && end <= src.text.length)) throw new Error(`${d.code} has a bad span ${start}..${end} in ${label.file} (length ${src.text.length})`);
    }
    if (d.message === "" || d.message.length > 400) throw new Error(`${d.code} has a bad message: ${d.message.slice(0, 500)}`);
  }
  // A model that checks without an error is compiled; one that does not says why.
  if (!hasErrors(r.diagnostics) && /\bmodel\b/.test(text) && r.models.size > 0 && !r.entry) {
    throw new Error("no error, but no entry model");
  }
  renderText(r.diagnostics, r.sources, { color: false });
  toJson(r.diagnostics, r.sources);
}

/** Checks the text, then its invariants; returns the result and the time the check alone took. */
function timed(text: string, path = "fuzz.sf"): { r: CheckResult; ms: number } {
  const t0 = performance.now();
  const r = checkSource(text, path, { read });
  const ms = performance.now() - t0;
  checkInvariants(text, path, r);
  return { r, ms };
}
const run = (text: string, path?: string): CheckResult => timed(text, path).r;

describe("fuzz", () => {
  it("has seeds", () => {
    expect(seeds.length).toBeGreaterThan(30);
  });

  it(`survives ${RUNS} mutations (seed ${SEED})`, () => {
    const rnd = prng(SEED);
    let total = 0;
    let worst = { ms: 0, at: -1 };
    // Outcomes, to be sure the mutations reach the checker and not only the parser.
    const outcome = { clean: 0, syntax: 0, semantic: 0 };
    for (let i = 0; i < RUNS; i++) {
      const seed = seeds[Math.floor(rnd() * seeds.length)];
      let text = seed.text;
      const edits = 1 + Math.floor(rnd() * rnd() * 6);
      for (let k = 0; k < edits; k++) text = mutate(text, rnd);
      // Mutations keep imports pointing at the library: put the input where the seed was.
      const path = seed.path.startsWith("test/golden/in/") ? seed.path : "test/golden/in/fuzz.sf";
      let ms: number;
      try {
        const t = timed(text, path);
        ms = t.ms;
        const errors = t.r.diagnostics.filter((d) => d.severity === "error");
        if (errors.length === 0) outcome.clean++;
        else if (errors.some((d) => d.code < "SF0009")) outcome.syntax++;
        else outcome.semantic++;
      } catch (e) {
        throw new Error(`run ${i} (seed ${SEED}, from ${seed.path}) failed on ${JSON.stringify(text)}:\n${(e as Error).stack}`);
      }
      total += ms;
      if (ms > worst.ms) worst = { ms, at: i };
    }
    // A few ms per run on average; no single small input may take long.
    expect(total / RUNS, `average ms per run (worst: run ${worst.at}, ${worst.ms.toFixed(1)} ms)`).toBeLessThan(5);
    expect(worst.ms, `run ${worst.at}`).toBeLessThan(1000);
    for (const [kind, n] of Object.entries(outcome)) expect(n, `${kind} outcomes of ${RUNS}: ${JSON.stringify(outcome)}`).toBeGreaterThan(RUNS / 20);
  }, 60_000);

  it("checks every seed unmutated", () => {
    for (const s of seeds) run(s.text, s.path);
  });
});

describe("pathological inputs", () => {
  const MB = 1 << 20;
  const codes = (r: CheckResult) => [...new Set(r.diagnostics.map((d) => d.code))];

  /** Each must come back within the budget with at least one error, without overflowing the stack. */
  const cases: Array<[string, () => string, string?]> = [
    ["1 MB of `(`", () => "(".repeat(MB), "SF0006"],
    ["1 MB of `{`", () => "{".repeat(MB), "SF0006"],
    ["1 MB of `[`", () => "model m { dims { d = " + "[".repeat(MB), "SF0006"],
    ["1 MB of `model a {`", () => "model a {".repeat(Math.ceil(MB / 9)), "SF0006"],
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
    ["1 MB of alternating bad and good characters", () => "é a ".repeat(MB / 4), "SF0001"],
    ["a 1 MB line comment", () => "# " + "x".repeat(MB), "SF0007"],
    ["an unterminated `/*` before 1 MB", () => "/*" + "model m { dims { d = 1 } }\n".repeat(MB / 27), "SF0003"],
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
  ];

  for (const [name, make, code] of cases) {
    it(name, () => {
      const { r, ms } = timed(make());
      expect(ms, `${name} took ${ms.toFixed(0)} ms`).toBeLessThan(2000);
      expect(r.diagnostics.length).toBeGreaterThan(0);
      if (code) expect(codes(r)).toContain(code);
    }, 20_000);
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
