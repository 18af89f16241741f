/**
 * Execution fuzzing: specs the checker accepts must also run. bench/fuzz-specs.ts stops at the
 * front end (lowering, the weight layout, inspect); this one builds each accepted mutant on the
 * reference and Wasm backends with seeded random weights and runs it:
 *
 *     npx tsx bench/fuzz-exec.ts [--runs N] [--seed S] [--only I] [--syntax] [--max-params P]
 *
 * A finding is an internal error (check, a later stage, build, forward, begin, step), non-finite
 * logits (on the reference, or on Wasm where the reference is finite), Wasm off the reference
 * by more than 1e-4 of max |reference logit| (the conformance suite's bound), or incremental
 * decoding in uneven chunks off the same backend's forward by as much. The summary counts
 * mutants tried / accepted / run and findings by class; each finding names its seed and mutant
 * index (`--only I` re-runs that one) and the file its spec text was written to.
 *
 * Mutants come from the semantic mutator below, which keeps most specs valid (shrunk shipped
 * specs with their arguments swapped for other legal values: activations, masks, positions,
 * norms, softcaps, windows, head shapes...), or with --syntax from fuzz-specs' mutator, whose
 * mutants mostly fail to check. test/fuzz-exec.test.ts runs a seeded handful of them.
 * Node 20 needs --experimental-wasm-relaxed-simd for relaxed SIMD: without it the bench re-runs
 * itself with the flag, so the kernels fuzzed are the ones users get.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createModel } from "../backends/registry.ts";
import { relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { checkSource } from "../src/check/check.ts";
import { hasErrors } from "../src/diagnostics/diagnostic.ts";
import { encoderSection, outputSection, type ModelInfo } from "../src/model/model.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { ModelInputError, type ForwardOptions, type Model } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { laterStages, nextMutant, prng, read, seeds } from "./fuzz-specs.ts";

/** A spec text to check at `path` (where its imports resolve), mutated from the seed `from`. */
export type Mutant = ReturnType<typeof nextMutant>;

// ---- The semantic mutator: shrunk shipped specs, argument values swapped for other legal ones ----

/** Dims every seed is shrunk to, so a run costs milliseconds; other dims over 64 become 32 (2 for layers). */
const SHRINK: Record<string, number> = { vocab: 101, d: 32, heads: 4, kv_heads: 2, head_dim: 8, layers: 2, hidden: 64, ff: 64, context: 64, window: 6, segments: 2 };
function shrink(text: string): string {
  return text.replace(/dims\s*\{[\s\S]*?\}/, (dims) =>
    dims.replace(/\b(\w+)(\s*=\s*)(\d+(?:\.\d+)?(?:e-?\d+)?)/g, (all, name: string, eq: string, v: string) => {
      if (SHRINK[name] !== undefined) return `${name}${eq}${SHRINK[name]}`;
      return Number(v) > 64 ? `${name}${eq}${/layer/.test(name) ? 2 : 32}` : all;
    }),
  );
}

type Edit = (text: string, pick: <T>(a: readonly T[]) => T) => string;

/** Replaces one match of `re` with a value from `pool`, or (insert) puts the value right after it. */
const at =
  (re: RegExp, pool: readonly string[], insert = false): Edit =>
  (text, pick) => {
    const ms = [...text.matchAll(re)];
    if (!ms.length) return text;
    const m = pick(ms);
    const end = m.index! + m[0].length;
    return text.slice(0, insert ? end : m.index) + pick(pool) + text.slice(end);
  };
const words = (...ws: string[]): Edit => at(new RegExp(`\\b(?:${ws.join("|")})\\b`, "g"), ws);
const args = (re: RegExp, pool: string[]): Edit => at(re, pool.map((a) => `${a}, `), true);

// Edge values on purpose (1e-30, 1e-40, 65504): the checker should refuse what cannot run.
const NUMS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "12", "16", "24", "32", "33", "64", "0.5", "0.25", "0.999", "1e-30", "1e-6", "1e-12", "1.5", "100", "1000", "2.5", "1.0001", "1e-40", "65504", "0.001"];
const POSITIONS = [
  "rope(base = 10000, fraction = 0.5, scaling = llama3(factor = 8, low_freq_factor = 1, high_freq_factor = 4, original_context = 16))",
  "alibi", "hard_alibi(local_heads = 2)", "hard_alibi(3, rest = none)", "hard_alibi(1, rest = alibi)", "sinusoidal", "none",
  "learned(context)", "rope(scaling = linear(factor = 4))", "rope(base = 1.5)", "rope",
].map((p) => `position ${p}`);
const ATTENTION = [
  "softcap = 1.5", "softcap = 1e-30", "softcap = 50", "scale = 0.25", "scale = 1e-30", "window = 1", "window = 2", "window = 3", "window = 5",
  "window = 100", "qk_norm = rms(eps = 1e-6)", "qk_norm = rms(eps = 1e-40)", "bias = true", "out_bias = false", "out_bias = true",
  "kv_heads = 1", "kv_heads = 2", "head_dim = 4", "head_dim = 2", "head_dim = 16", "head_dim = 6", "heads = 1", "heads = 2", "heads = 8",
  "sparse = block(size = 2, local = 1, global = 1)", "sparse = block(size = 4, local = 3)", "sparse = block(size = 1)", "sparse = strided(1)",
  "sparse = strided(3)", "kind = linear", "kind = linear, feature_map = relu", "mask = none", "mask = causal", "padding = mask",
];
const HEADS = ["head tied", "head linear", "head tied(softcap = 30)", "head linear(softcap = 1e-30)", "head tied(bias = true, transform = gelu, eps = 1e-12)", "head linear(bias = true)", "head tied(transform = silu)", "head linear(vocab = 7)"];
const LINES = [
  "    norm rms(eps = 1e-6)", "    norm layer(eps = 1e-5)", "    mlp(hidden = 48, act = gelu)", "    attention self(heads = 2, mask = causal)",
  "    attention self(heads = 4, kv_heads = 1, mask = causal, window = 3)", "    ssm mamba(state = 4, conv = 3, expand = 1)", "    ssm mamba()",
  "  norm rms(eps = 1e-5)", "  norm layer(eps = 1e-5)", "    dropout(0.1)", "  input mask: bool[batch, seq]",
  "    attention self(heads = 4, mask = none, padding = mask)", "    attention self(heads = 1, mask = causal, kind = linear)",
];

/** A line deleted, doubled, or one of LINES inserted: statements in new orders and places. */
const lineEdit: Edit = (text, pick) => {
  const lines = text.split("\n");
  const code = lines.flatMap((l, i) => (l.trim() ? [i] : []));
  const i = pick(code);
  const what = pick(["delete", "double", "insert"]);
  if (what === "delete") lines.splice(i, 1);
  else lines.splice(i, 0, what === "double" ? lines[pick(code)] : pick(LINES));
  return lines.join("\n");
};
/** An attention argument; `padding = mask` brings the mask input it needs, or it would only be refused. */
const attentionArg: Edit = (text, pick) => {
  const t = args(/attention (?:self|cross)\(/g, ATTENTION)(text, pick);
  return t.includes("padding = mask") && !/input mask/.test(t) ? t.replace(/(input tokens[^\n]*\n)/, "$1  input mask: bool[batch, seq]\n") : t;
};

/** Kinds of edit, drawn evenly; a kind with several edits draws one of them. Attention, the richest, twice. */
const KINDS: Edit[][] = [
  [at(/(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.])/g, NUMS)],
  [
    words("relu", "gelu", "gelu_tanh", "silu", "swiglu", "geglu", "geglu_tanh"), words("causal", "none"), words("softmax", "linear"),
    words("elu1", "relu"), words("layer", "rms"), words("pre", "post", "sandwich"), words("sequential", "parallel"), words("tied", "linear"), words("true", "false"),
  ],
  [at(/position [^\n]*/g, POSITIONS)],
  [attentionArg],
  [attentionArg],
  [
    args(/mlp\(/g, ["bias = true", "bias = false", "act = geglu_tanh", "act = swiglu", "hidden = 1", "hidden = 3", "hidden = 5"]),
    args(/norm (?:rms|layer)\(/g, ["offset = 1", "offset = -1", "bias = false", "bias = true", "eps = 1e-40", "eps = 1"]),
    at(/embed \w+\(\w+, \w+/g, [", scale = 1e-30", ", scale = 0.001", ", scale = sqrt(d)"], true),
    args(/ssm mamba\(/g, ["state = 1", "conv = 1", "conv = 9", "expand = 0.5", "expand = 1", "dt_rank = 1", "bias = true", "conv_bias = false", "state = 3"]),
  ],
  [lineEdit],
  [at(/head (?:tied|linear)(?:\([^)\n]*\))?/g, HEADS)],
];

let pool: Mutant[] | undefined;
/** Seeds shrunk, without comments (so edits only touch code), kept if they still check clean. */
function semanticSeeds(): Mutant[] {
  pool ??= seeds
    .map((s) => ({ text: shrink(s.text.replace(/[ \t]*#.*$/gm, "").replace(/\n{3,}/g, "\n\n")), path: s.path.startsWith("test/golden/in/") ? s.path : "test/golden/in/fuzz.sf", from: s.path }))
    .filter((s) => {
      const r = checkSource(s.text, s.path, { read });
      return !hasErrors(r.diagnostics) && r.entry !== undefined;
    });
  return pool;
}

/** The next semantic mutant: a shrunk seed with 1-4 edits. */
export function semMutant(rnd: () => number): Mutant {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const seed = pick(semanticSeeds());
  let text = seed.text;
  for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) text = pick(pick(KINDS))(text, pick);
  return { ...seed, text };
}

// ---- Running one model ----

export interface Finding {
  /** The class: `build: TypeError`, `non-finite`, `mismatch`, `incremental`... */
  kind: string;
  /** Where: the front end (check), the runtime before either backend (weights), or a backend. */
  target: "check" | "weights" | "reference" | "wasm";
  message: string;
}

export interface Outcome {
  status: "rejected" | "too big" | "skipped" | "failed before running" | "ran";
  findings: Finding[];
  /** Largest relative errors seen (ran only): Wasm against the reference, incremental against forward. */
  worst?: { wasm: number; incremental: number };
}

/** Past this many weights a mutant is not run (the seeds are shrunk; a mutant can grow them again). */
export const MAX_PARAMS = 2_000_000;
export const TOLERANCE = 1e-4;
const MAX_SEQ = 9;
const TARGETS = ["reference", "wasm"] as const;

/** The run's randomness of mutant `i`, apart from the mutant stream: `--only I` reproduces it alone. */
export const runRng = (seed: number, i: number): (() => number) => prng(seed * 7919 + i);

/** An input the harness cannot make up (a float input, an int input no embedding reads). */
class Unsupported extends Error {}

/** Max |got - want| over max |want|; NaN against a number, or infinities of other signs, count as infinite. */
function relError(got: Float32Array, want: Float32Array): { err: number; at: number } {
  let scale = 0;
  for (const x of want) if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
  let err = got.length === want.length ? 0 : Infinity;
  let at = 0;
  for (let i = 0; i < want.length && err < Infinity; i++) {
    const same = got[i] === want[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i]));
    const d = same ? 0 : Math.abs(got[i] - want[i]);
    if (!(d <= err)) [err, at] = [Number.isNaN(d) ? Infinity : d, i];
  }
  return { err: scale > 0 ? err / scale : err, at };
}
const nonFinite = (a: Float32Array): number => a.reduce((n, x) => n + (Number.isFinite(x) ? 0 : 1), 0);

/** Columns [from, from + n) of every row of a [batch, seq] array. */
function columns<T extends Int32Array | Uint8Array>(a: T, batch: number, seq: number, from: number, n: number): T {
  const out = a.slice(0, batch * n) as T;
  for (let b = 0; b < batch; b++) out.set(a.subarray(b * seq + from, b * seq + from + n), b * n);
  return out;
}

/** Chunks of 1-5 tokens summing to seq, from a random point of a fixed pattern: one-token and multi-token steps mixed. */
function unevenChunks(seq: number, rnd: () => number): number[] {
  const pattern = [3, 1, 2, 1, 5, 1, 4, 2];
  const out: number[] = [];
  for (let i = Math.floor(rnd() * pattern.length), left = seq; left > 0; i++) {
    out.push(Math.min(pattern[i % pattern.length], left));
    left -= out[out.length - 1];
  }
  return out;
}

/**
 * A random request: 1-2 rows of 1-9 tokens (and source tokens for an encoder–decoder), random
 * ids for other embedded inputs, and in most requests padding in every row after the first
 * where there is a bool input (on the left for a causal decoder, as batched generation pads).
 */
function request(m: ModelInfo, rnd: () => number) {
  const out = outputSection(m);
  const enc = encoderSection(m);
  const vocabOf = (input: string) => {
    for (const s of m.sections) for (const st of s.steps) if (st.op === "embed" && st.input === input) return st.vocab;
    throw new Unsupported(`int input ${input} without an embedding`);
  };
  const ids = (n: number, vocab: number) => Int32Array.from({ length: n }, () => Math.floor(rnd() * vocab));
  const batch = 1 + Math.floor(rnd() * 2);
  const seq = 1 + Math.floor(rnd() * Math.min(MAX_SEQ, out.maxSeq ?? MAX_SEQ));
  const opts: ForwardOptions = { batch, seq };
  const tokens = ids(batch * seq, vocabOf(out.input));
  if (enc) {
    const srcSeq = 1 + Math.floor(rnd() * Math.min(MAX_SEQ, enc.maxSeq ?? MAX_SEQ));
    opts.src = { tokens: ids(batch * srcSeq, vocabOf(enc.input)), seq: srcSeq };
  }
  const causal = out.steps.some((s) => s.op === "stack" && s.stack.sublayers.some((l) => l.kind === "attention" && l.source === "self" && l.causal));
  const pad = rnd() < 0.6;
  const inputs: Record<string, Int32Array | Uint8Array> = {};
  for (const inp of m.inputs) {
    if (inp.name === out.input || inp.name === enc?.input) continue;
    const overSource = enc !== undefined && inp.shape[1] === enc.seqDim;
    const len = overSource ? opts.src!.seq : seq;
    if (inp.dtype === "int") inputs[inp.name] = ids(batch * len, vocabOf(inp.name));
    else if (inp.dtype !== "bool") throw new Unsupported(`input ${inp.name} of dtype ${inp.dtype}`);
    else if (pad && batch > 1 && len > 1) {
      const mask = new Uint8Array(batch * len).fill(1);
      const left = !overSource && causal;
      for (let b = 1; b < batch; b++) for (let j = 0; j < Math.min(3, len - 1); j++) mask[b * len + (left ? j : len - 1 - j)] = 0;
      if (overSource) opts.src!.mask = mask;
      else if (inp.name === "mask") opts.mask = mask;
      else inputs[inp.name] = mask;
    }
  }
  if (Object.keys(inputs).length) opts.inputs = inputs;
  const shape = `batch ${batch}, seq ${seq}${opts.src ? `, src ${opts.src.seq}` : ""}${opts.mask || opts.src?.mask ? ", padded" : ""}`;
  return { tokens, opts, shape };
}

type Request = ReturnType<typeof request>;

/** The request decoded through begin / step in uneven chunks, laid out as forward's logits; undefined where the model cannot decode incrementally. */
async function decode(model: Model, r: Request, chunks: number[]): Promise<Float32Array | undefined> {
  const { batch, seq } = r.opts;
  const vocab = model.config.vocab;
  let state;
  try {
    state = await model.begin({ batch, ...(r.opts.src ? { src: r.opts.src } : {}) });
  } catch (e) {
    // A non-causal model (or one with inputs step does not take) refuses up front, as documented.
    if (e instanceof ModelInputError && /cannot decode incrementally/.test(e.message)) return undefined;
    throw e;
  }
  try {
    const out = new Float32Array(batch * seq * vocab);
    let at = 0;
    for (const n of chunks) {
      const mask = r.opts.mask && { mask: columns(r.opts.mask, batch, seq, at, n) };
      const logits = await model.step(state, columns(r.tokens, batch, seq, at, n), n, mask ?? {});
      if (logits.length !== batch * n * vocab) throw new Error(`step of ${n} gave ${logits.length} logits, not ${batch * n * vocab}`);
      for (let b = 0; b < batch; b++) out.set(logits.subarray(b * n * vocab, (b + 1) * n * vocab), (b * seq + at) * vocab);
      at += n;
      if (state.position !== at) throw new Error(`position ${state.position} after ${at} tokens`);
    }
    return out;
  } finally {
    state.dispose();
  }
}

/** Builds and runs a checked model on both backends; every finding, none when all agree. */
export async function runModel(m: ModelInfo, rnd: () => number): Promise<{ findings: Finding[]; worst: { wasm: number; incremental: number } }> {
  const findings: Finding[] = [];
  const worst = { wasm: 0, incremental: 0 };
  const weights = randomWeights(m, 1 + Math.floor(rnd() * 1000));
  const r = request(m, rnd);
  const chunks = unevenChunks(r.opts.seq, rnd);
  const vocab = m.head.vocab;
  const where = (i: number) => `[row ${Math.floor(i / vocab / r.opts.seq)}, pos ${Math.floor(i / vocab) % r.opts.seq}, logit ${i % vocab}]`;
  const fwd: Partial<Record<(typeof TARGETS)[number], Float32Array>> = {};
  for (const target of TARGETS) {
    let stage = "build";
    let model: Model | undefined;
    try {
      model = await createModel(target, m, weights);
      stage = "forward";
      const logits = await model.forward(r.tokens, r.opts);
      if (logits.length !== r.tokens.length * vocab) throw new Error(`${logits.length} logits, not ${r.tokens.length * vocab}`);
      fwd[target] = logits;
      const bad = nonFinite(logits);
      // Wasm's non-finite logits are its own finding only where the reference's are finite.
      if (bad && (target === "reference" || !fwd.reference || !nonFinite(fwd.reference))) findings.push({ kind: "non-finite", target, message: `${bad} of ${logits.length} logits (${r.shape})` });
      stage = "decode";
      const inc = await decode(model, r, chunks);
      const e = inc && relError(inc, logits);
      if (e) worst.incremental = Math.max(worst.incremental, e.err);
      if (e && !(e.err <= TOLERANCE)) findings.push({ kind: "incremental", target, message: `chunks [${chunks}] off forward by ${e.err.toExponential(3)} at ${where(e.at)}: ${inc![e.at]} vs ${logits[e.at]} (${r.shape})` });
    } catch (e) {
      const err = e as Error;
      findings.push({ kind: `${stage}: ${err?.name ?? typeof e}`, target, message: `${err?.message ?? e} (${r.shape})\n${err?.stack?.split("\n").slice(1, 5).join("\n")}` });
    } finally {
      model?.dispose();
    }
  }
  if (fwd.reference && fwd.wasm) {
    const e = relError(fwd.wasm, fwd.reference);
    worst.wasm = e.err;
    if (!(e.err <= TOLERANCE)) findings.push({ kind: "mismatch", target: "wasm", message: `off the reference by ${e.err.toExponential(3)} at ${where(e.at)}: ${fwd.wasm[e.at]} vs ${fwd.reference[e.at]} (${r.shape})` });
  }
  return { findings, worst };
}

const paramsOf = (m: ModelInfo): number => weightLayout(m).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);

/**
 * Checks a mutant and, when it is accepted and at most `maxParams` weights, runs it. A checker
 * or later-stage throw (fuzz-specs' laterStages: lowering, IR verification, layout, inspect)
 * is a finding too; the models deeper than laterStages goes count as too big.
 */
export async function runMutant(mut: Mutant, rnd: () => number, maxParams = MAX_PARAMS): Promise<Outcome> {
  let m: ModelInfo;
  try {
    const r = checkSource(mut.text, mut.path, { read });
    if (hasErrors(r.diagnostics) || !r.entry) return { status: "rejected", findings: [] };
    m = r.entry;
    if (!laterStages(m) || paramsOf(m) > maxParams) return { status: "too big", findings: [] };
  } catch (e) {
    return { status: "failed before running", findings: [{ kind: "check or later stage threw", target: "check", message: String((e as Error)?.stack ?? e) }] };
  }
  try {
    return { status: "ran", ...(await runModel(m, rnd)) };
  } catch (e) {
    // runModel catches what a backend throws: what is left is the request or randomWeights.
    if (e instanceof Unsupported) return { status: "skipped", findings: [] };
    return { status: "failed before running", findings: [{ kind: "random weights threw", target: "weights", message: String((e as Error)?.stack ?? e) }] };
  }
}

// ---- The bench ----

const FLAG = "--experimental-wasm-relaxed-simd";
const CHILD = "SPECFORMER_FUZZ_EXEC_CHILD";

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

async function main(): Promise<void> {
  if (!relaxedSimdSupported() && process.env[CHILD] === undefined) {
    const r = spawnSync(process.execPath, [...process.execArgv, FLAG, ...process.argv.slice(1)], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
    if (r.status === 0) return;
    console.log(`\n(child with ${FLAG} failed; fuzzing plain SIMD)`);
  }
  const runs = arg("--runs") ?? 200;
  const seed = arg("--seed") ?? 1;
  const only = arg("--only");
  const maxParams = arg("--max-params") ?? MAX_PARAMS;
  const mutator = process.argv.includes("--syntax") ? nextMutant : semMutant;
  const dir = join(tmpdir(), "specformer-fuzz-exec");
  mkdirSync(dir, { recursive: true });
  const counts = new Map<string, number>();
  const bump = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  const byClass = new Map<string, number>();
  const worst = { wasm: 0, incremental: 0 };
  let findings = 0;
  const rnd = prng(seed);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) {
    // Every mutant is drawn, so mutant i depends on the seed alone, whatever --only says.
    const mut = mutator(rnd);
    if (only !== undefined && i !== only) continue;
    bump("tried");
    const o = await runMutant(mut, runRng(seed, i), maxParams);
    bump(o.status);
    if (o.worst) for (const k of ["wasm", "incremental"] as const) worst[k] = Math.max(worst[k], o.worst[k]);
    if (!o.findings.length) continue;
    const file = join(dir, `s${seed}-i${i}.sf`);
    writeFileSync(file, mut.text);
    for (const f of o.findings) {
      findings++;
      byClass.set(`${f.target}: ${f.kind}`, (byClass.get(`${f.target}: ${f.kind}`) ?? 0) + 1);
      // Printed as found: a crash later in the run must not lose what came before.
      console.log(`seed ${seed} mutant ${i} (from ${mut.from}), ${f.target}: ${f.kind}: ${f.message.split("\n")[0]}\n  spec: ${file}; again: npx tsx bench/fuzz-exec.ts --seed ${seed} --runs ${i + 1} --only ${i}`);
    }
  }
  const n = (k: string) => counts.get(k) ?? 0;
  console.log(`\n## Execution fuzz, reference and Wasm (seed ${seed}, ${mutator === semMutant ? "semantic" : "syntax"} mutator, relaxed SIMD ${relaxedSimdSupported()})\n`);
  console.table({
    "mutants tried": n("tried"),
    "accepted (check clean)": n("tried") - n("rejected"),
    "too big (params, layers)": n("too big"),
    "skipped (inputs the harness cannot make)": n("skipped"),
    run: n("ran"),
    findings,
    "worst wasm / reference": Number(worst.wasm.toExponential(2)),
    "worst incremental / forward": Number(worst.incremental.toExponential(2)),
    "total s": Number(((performance.now() - t0) / 1000).toFixed(1)),
  });
  if (byClass.size) {
    console.log("findings by class:");
    console.table(Object.fromEntries([...byClass].sort()));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
