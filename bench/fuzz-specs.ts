/**
 * Spec fuzzing, shared by the seeded run in test/fuzz.test.ts and this bench, which runs more
 * mutants and times them (timing is a benchmark's business, never a test's):
 *
 *     npx tsx bench/fuzz-specs.ts [--runs N] [--seed S] [--cli N]
 *
 * prints the count, hangs (inputs over 1 s), the slowest and p99 times, the exit-code class
 * of every mutant (0 clean, 1 spec errors, 2 unreadable, 70 internal error = a bug), and how
 * many specs the checker accepted that a later stage (lowering and IR verification, the
 * weight layout, inspect) then refused. `--cli N` also runs N mutants through the CLI in a
 * child process with a 10 s timeout, which catches a real hang (in process it would block).
 *
 * Seeds are the real specs and the golden inputs; each is mutated with a seeded PRNG, so a
 * failure names the seed and the run and reproduces exactly.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checkSource, type CheckResult } from "../src/check/check.ts";
import { hasErrors, MAX_DIAGNOSTICS_PER_FILE } from "../src/diagnostics/diagnostic.ts";
import { toJson } from "../src/diagnostics/render-json.ts";
import { renderText } from "../src/diagnostics/render-text.ts";
import { summarize } from "../src/inspect/summary.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { weightLayout } from "../src/model/weights-layout.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** mulberry32: small, fast, and the same sequence everywhere. */
export function prng(seed: number): () => number {
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
export const seeds = [...filesIn("specs", false), ...filesIn("test/golden/in", true)].map((path) => ({ path, text: decode(path) }));
/** Imports resolve against the golden library in memory: fuzzing never reads the disk. */
const library = new Map(filesIn("test/golden/in/lib", false).map((p) => [p, decode(p)]));
export const read = (p: string): string | undefined => library.get(p);

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
  "mask", "src_mask", "byte", "global", "local", "size", "mamba",
];
const NUMBERS = [
  "0", "1", "2", "3", "7", "-1", "-5", "64", "100", "128", "256", "257", "1000", "4096", "1e400", "1e300", "1e-50",
  "99999999999999999999", "9007199254740991", "0.5", "1e-5", "2.5", "0.1",
];

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
export function mutate(text: string, rnd: () => number): string {
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

/** The next mutant: a seed with 1-6 edits, at the path its imports resolve from. */
export function nextMutant(rnd: () => number): { text: string; path: string; from: string } {
  const seed = seeds[Math.floor(rnd() * seeds.length)];
  let text = seed.text;
  const edits = 1 + Math.floor(rnd() * rnd() * 6);
  for (let k = 0; k < edits; k++) text = mutate(text, rnd);
  // Mutations keep imports pointing at the library: put the input where the seed was.
  const path = seed.path.startsWith("test/golden/in/") ? seed.path : "test/golden/in/fuzz.sf";
  return { text, path, from: seed.path };
}

/** Output bounds every input must keep, whatever its size: the work is in the problems, not the text. */
export const MAX_RENDERED = 200_000;
export const MAX_RENDERED_LINE = 1200;

/**
 * What every result must satisfy, whatever the input; throws naming what broke. Plain
 * checks: `expect` per diagnostic is slow. Returns the rendered text's length.
 */
export function checkInvariants(text: string, r: CheckResult): number {
  const perFile = new Map<string, number>();
  for (const d of r.diagnostics) {
    perFile.set(d.primary.file, (perFile.get(d.primary.file) ?? 0) + 1);
    for (const label of [d.primary, ...d.secondary]) {
      const src = r.sources.get(label.file);
      const { start, end } = label.span;
      // A file that could not be read (or was too large to) has no source: its SF0009 sits at 0..0.
      if (!src && d.code === "SF0009" && start === 0 && end === 0) continue;
      if (!src) throw new Error(`${d.code} names a file with no source: ${label.file}`);
      if (!(start >= 0 && end >= start && end <= src.text.length)) throw new Error(`${d.code} has a bad span ${start}..${end} in ${label.file} (length ${src.text.length})`);
    }
    if (d.message === "" || d.message.length > 400) throw new Error(`${d.code} has a bad message: ${d.message.slice(0, 500)}`);
  }
  for (const [file, n] of perFile) if (n > MAX_DIAGNOSTICS_PER_FILE) throw new Error(`${n} diagnostics for ${file}, past the cap of ${MAX_DIAGNOSTICS_PER_FILE}`);
  // A model that checks without an error is compiled; one that does not says why.
  if (!hasErrors(r.diagnostics) && /\bmodel\b/.test(text) && r.models.size > 0 && !r.entry) throw new Error("no error, but no entry model");
  const out = renderText(r.diagnostics, r.sources, { color: false });
  if (out.length > MAX_RENDERED) throw new Error(`rendered ${out.length} characters`);
  for (const line of out.split("\n")) if (line.length > MAX_RENDERED_LINE) throw new Error(`a rendered line of ${line.length} characters`);
  const json = JSON.stringify(toJson(r.diagnostics, r.sources));
  if (json.length > MAX_RENDERED) throw new Error(`JSON of ${json.length} characters`);
  return out.length;
}

/** Later stages run only on models this shallow, so one mutant's cost stays bounded. */
export const LATER_STAGE_MAX_LAYERS = 64;

/**
 * A model the checker accepts must get through what follows it in the front end: lowering
 * with IR verification after every pass, a weight layout without duplicate names, and
 * inspect. Throws what failed; returns false when the model was too deep to try.
 */
export function laterStages(m: ModelInfo): boolean {
  const layers = m.sections.reduce((a, s) => a + s.steps.reduce((b, st) => b + (st.op === "stack" ? st.stack.count : 0), 0), 0);
  if (layers > LATER_STAGE_MAX_LAYERS) return false;
  inferenceGraph(m);
  const names = weightLayout(m).map((t) => t.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new Error(`weight \`${dup}\` is listed twice`);
  const out = m.sections[m.sections.length - 1];
  summarize(m, { seq: Math.min(out.maxSeq ?? 128, 256), batch: 2 });
  return true;
}

/** The exit code the CLI's `check` gives this result (70 stands for a thrown error). */
export const exitClass = (r: CheckResult): number => (r.unreadable ? 2 : hasErrors(r.diagnostics) ? 1 : 0);

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function main(): void {
  const runs = arg("--runs", 100_000);
  const seed = arg("--seed", 20240611);
  const cliRuns = arg("--cli", 0);
  const rnd = prng(seed);
  const classes = new Map<number, number>();
  const times: number[] = [];
  let hangs = 0;
  let worst = { ms: 0, at: -1 };
  let laterFailed = 0;
  let laterTried = 0;
  let invariantFailed = 0;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) {
    const { text, path, from } = nextMutant(rnd);
    const start = performance.now();
    let code: number;
    let r: CheckResult | undefined;
    try {
      r = checkSource(text, path, { read });
      code = exitClass(r);
    } catch (e) {
      code = 70;
      console.log(`run ${i} (from ${from}) threw: ${(e as Error).message}`);
    }
    const ms = performance.now() - start;
    times.push(ms);
    if (ms > 1000) {
      hangs++;
      console.log(`run ${i} (from ${from}) took ${ms.toFixed(0)} ms`);
    }
    if (ms > worst.ms) worst = { ms, at: i };
    classes.set(code, (classes.get(code) ?? 0) + 1);
    if (!r) continue;
    try {
      checkInvariants(text, r);
    } catch (e) {
      invariantFailed++;
      console.log(`run ${i} (from ${from}): ${(e as Error).message}`);
    }
    if (code === 0 && r.entry) {
      try {
        if (laterStages(r.entry)) laterTried++;
      } catch (e) {
        laterFailed++;
        console.log(`run ${i} (from ${from}) checked clean, then: ${(e as Error).message}`);
      }
    }
  }
  const total = performance.now() - t0;
  times.sort((a, b) => a - b);
  const p99 = times[Math.floor(times.length * 0.99)] ?? 0;
  console.log(`\n## Spec fuzz, in process (seed ${seed})\n`);
  console.table({
    mutants: runs,
    "hangs (> 1 s)": hangs,
    "max ms": Number(worst.ms.toFixed(1)),
    "max at run": worst.at,
    "p99 ms": Number(p99.toFixed(2)),
    "mean ms": Number((times.reduce((a, b) => a + b, 0) / Math.max(1, runs)).toFixed(2)),
    "total s (with invariants)": Number((total / 1000).toFixed(1)),
    "invariant failures": invariantFailed,
    "accepted, later stages run": laterTried,
    "accepted, then failed later": laterFailed,
  });
  console.log("exit-code classes (0 clean, 1 spec errors, 2 unreadable, 70 internal error):");
  console.table(Object.fromEntries([...classes].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v])));
  if (cliRuns > 0) runCli(cliRuns, seed);
}

/**
 * Mutants through `specformer check` in a child process. The sources are compiled once into a
 * temporary directory (tsx would spend seconds a start), so each run costs Node's start-up.
 */
function runCli(n: number, seed: number): void {
  const dir = mkdtempSync(join(tmpdir(), "sf-fuzz-"));
  // Under node_modules/.cache, so the compiled CLI resolves the project's packages.
  mkdirSync(join(ROOT, "node_modules/.cache"), { recursive: true });
  const out = mkdtempSync(join(ROOT, "node_modules/.cache/sf-fuzz-"));
  writeFileSync(join(out, "package.json"), '{ "type": "module" }\n');
  const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.json"), "--outDir", out], { cwd: ROOT, encoding: "utf8" });
  const mainJs = join(out, "src/cli/main.js");
  if (!existsSync(mainJs)) {
    console.log(`could not compile the CLI for --cli: ${tsc.stdout.slice(0, 500)}`);
    return;
  }
  const script = `const { main } = await import(${JSON.stringify(pathToFileURL(mainJs).href)}); await main([process.argv[0], "specformer", ...process.argv.slice(1)]);`;
  const cli = (...args: string[]) => spawnSync(process.execPath, ["--input-type=module", "-e", script, ...args], { cwd: ROOT, encoding: "utf8", timeout: 10_000 });
  const t0 = performance.now();
  cli("--version");
  const startup = performance.now() - t0;
  const rnd = prng(seed ^ 0x5f5f);
  const classes = new Map<string, number>();
  let hangs = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const { text, from } = nextMutant(rnd);
    const file = join(dir, `m${i}.sf`);
    writeFileSync(file, text);
    const start = performance.now();
    const p = cli("check", file, "--format", "json");
    const ms = performance.now() - start;
    max = Math.max(max, ms);
    const code = p.status === null ? `killed (${p.signal})` : String(p.status);
    if (p.status === null) {
      hangs++;
      console.log(`cli run ${i} (from ${from}) did not finish in 10 s: ${file}`);
    } else if (![0, 1, 2].includes(p.status)) console.log(`cli run ${i} (from ${from}) exited ${p.status}: ${p.stderr.slice(0, 300)}`);
    else {
      try {
        if (!Array.isArray(JSON.parse(p.stdout))) throw new Error("not an array");
      } catch (e) {
        console.log(`cli run ${i} (from ${from}): stdout is not a JSON array (${(e as Error).message})`);
      }
    }
    classes.set(code, (classes.get(code) ?? 0) + 1);
  }
  rmSync(out, { recursive: true, force: true });
  console.log(`\n## Spec fuzz through the CLI (${n} mutants, seed ${seed ^ 0x5f5f})\n`);
  console.table({ mutants: n, "hangs (> 10 s)": hangs, "max ms": Number(max.toFixed(0)), "start-up ms (--version)": Number(startup.toFixed(0)) });
  console.log("exit codes:");
  console.table(Object.fromEntries([...classes].sort()));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
