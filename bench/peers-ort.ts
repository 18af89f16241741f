// specformer's Wasm backend against onnxruntime-web (Wasm SIMD) in the same Node process, on the
// same weights: specs/bench-peers.sf (GPT-style, 4 layers, d 256, 8 heads, MLP 1024 GELU, vocab
// 512), batch 1 × seq 128 forwards and one-token decode steps, in f32 and in 4-bit.
//
//   npx tsx bench/peers-ort.ts [--threads 1,2] [--rounds 7] [--accuracy-level N]
//
// Random weights (randomWeights, GPT-2 init, seed 1) are written to a temp safetensors file;
// `specformer quantize --to q4` (runQuantize, the CLI's own code) writes its q4 file;
// scripts/export-onnx.py (PyTorch, an independently written module) exports both to ONNX — the
// 4-bit graphs use com.microsoft MatMulNBits whose B is the q4 file's bytes, so both engines run
// identical quantised weights. Before timing, ORT's logits are checked against specformer's
// reference backend (f32: max |Δ| ≤ 1e-4 of max |logit|, else exit 1; q4: reported, since ORT's
// MatMulNBits keeps activations f32 where specformer rounds them to int8 per block of 32).
//
// ORT-web fixes its thread count when its Wasm module starts, once per process, so each thread
// count runs in its own child process (with --experimental-wasm-relaxed-simd for specformer),
// which holds both engines and alternates them round by round so load from other jobs falls on
// both alike. Figures are medians over rounds of per-round medians; not a test, no assertions.
// Without python3 + torch the bench says so in one line and exits 0.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-web";
import { createModel } from "../backends/registry.ts";
import { createWasmModel, relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { runQuantize } from "../src/cli/quantize-command.ts";
import { checkFile } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { bindWeights, bindWeightStore } from "../src/runtime/bind-weights.ts";
import type { Model } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { parseSafetensors, writeSafetensors } from "../src/runtime/safetensors.ts";
import type { WeightStore } from "../src/runtime/weights/format.ts";
import { withStorage } from "../src/runtime/weights/store.ts";
import { compileWasmWithTurbofan } from "./turbofan.ts";

const CHILD = "SPECFORMER_PEERS_ORT_CHILD";
const FLAG = "--experimental-wasm-relaxed-simd";
const SPEC = "specs/bench-peers.sf";
const SEQ = 128;
const F32_TOLERANCE = 1e-4;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r2 = (x: number) => Math.round(x * 100) / 100;
const load = () => os.loadavg()[0].toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Files {
  dir: string;
  weights: string;
  q4: string;
  onnx: Record<"f32" | "f32-kv" | "q4" | "q4-kv", string>;
}

// ---- ORT ------------------------------------------------------------------------------------

/** ORT-web's Wasm backend from the package's own dist (offline: its .wasm files ship there). */
function initOrt(threads: number): void {
  const dist = dirname(createRequire(import.meta.url).resolve("onnxruntime-web"));
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  ort.env.wasm.wasmPaths = `${dist}/`;
  ort.env.logLevel = "error";
}

const ortSession = (path: string) => ort.InferenceSession.create(path, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
const ortTokens = (t: Int32Array) => new ort.Tensor("int64", BigInt64Array.from(t, (v) => BigInt(v)), [1, t.length]);

async function ortForward(s: ort.InferenceSession, tokens: Int32Array): Promise<Float32Array> {
  const out = await s.run({ tokens: ortTokens(tokens) });
  return out.logits.data as Float32Array;
}

/** A past-key-values session as begin / step: the past grows by the tokens fed (ORT concatenates). */
function ortDecoder(s: ort.InferenceSession, m: ModelInfo) {
  const heads = m.dims.get("heads")!;
  const hd = m.dims.get("d")! / heads;
  let past: Record<string, ort.Tensor> = {};
  return {
    begin() {
      past = {};
      for (const n of s.inputNames.slice(1)) past[n] = new ort.Tensor("float32", new Float32Array(0), [1, heads, 0, hd]);
    },
    async step(tokens: Int32Array): Promise<Float32Array> {
      const out = await s.run({ tokens: ortTokens(tokens), ...past });
      for (const n of s.inputNames.slice(1)) past[n] = out[n.replace("past_", "present_")];
      return out.logits.data as Float32Array;
    },
  };
}

// ---- files ----------------------------------------------------------------------------------

const python = () => process.env.PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

/** Weights, their q4 file and the ONNX exports in a temp dir; a string says why not. */
async function prepare(m: ModelInfo, accuracyLevel: number): Promise<Files | string> {
  const probe = spawnSync(python(), ["-c", "import torch, numpy"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return `${python()} with torch and numpy not available (${probe.error?.message ?? probe.stderr.trim().split("\n").pop()})`;
  const dir = mkdtempSync(join(os.tmpdir(), "specformer-peers-ort-"));
  const weights = join(dir, "W.safetensors");
  const q4 = join(dir, "Q.safetensors");
  const w = randomWeights(m, 1);
  writeFileSync(weights, writeSafetensors(weightLayout(m).map((t) => ({ name: t.name, dtype: "F32" as const, shape: t.shape, data: w.get(t.name)! }))));
  await runQuantize(weights, { spec: SPEC, to: "q4", out: q4 });
  const script = fileURLToPath(new URL("../scripts/export-onnx.py", import.meta.url));
  const args = [script, "--weights", weights, "--q4", q4, "--out-dir", dir, "--heads", String(m.dims.get("heads")), "--accuracy-level", String(accuracyLevel)];
  const r = spawnSync(python(), args, { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1", PYTHONWARNINGS: "ignore" } });
  if (r.status === 3) return r.stderr.trim().split("\n").pop()!;
  if (r.status !== 0) throw new Error(`scripts/export-onnx.py failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  console.log(`exported: ${r.stdout.trim()}`);
  const onnx = { f32: join(dir, "f32.onnx"), "f32-kv": join(dir, "f32-kv.onnx"), q4: join(dir, "q4.onnx"), "q4-kv": join(dir, "q4-kv.onnx") };
  return { dir, weights, q4, onnx };
}

function loadStores(m: ModelInfo, f: Files): { f32: Map<string, Float32Array>; q4: WeightStore } {
  return {
    f32: bindWeights(m, parseSafetensors(readFileSync(f.weights))),
    q4: bindWeightStore(m, parseSafetensors(readFileSync(f.q4)), inferenceGraph(m)),
  };
}

// ---- checks (parent, ORT on one thread) ---------------------------------------------------------

/** max |a − b| / max |ref| over the rows given (all by default). */
function relDiff(a: Float32Array, ref: Float32Array, from = 0, to = ref.length): number {
  let d = 0;
  let s = 0;
  for (let i = from; i < to; i++) {
    d = Math.max(d, Math.abs(a[i] - ref[i]));
    s = Math.max(s, Math.abs(ref[i]));
  }
  return d / s;
}

async function checks(m: ModelInfo, f: Files, tokens: Int32Array): Promise<Record<string, unknown>[]> {
  const stores = loadStores(m, f);
  const vocab = m.head.vocab;
  const rows: Record<string, unknown>[] = [];
  const refs: Record<string, Float32Array> = {};
  let ortQ4: Float32Array | undefined;
  for (const dtype of ["f32", "q4"] as const) {
    const ref = await createModel("reference", m, stores[dtype]);
    refs[dtype] = await ref.forward(tokens, { batch: 1, seq: SEQ });
    ref.dispose();
    const whole = await ortSession(f.onnx[dtype]);
    const ortLogits = await ortForward(whole, tokens);
    await whole.release();
    // The past-key-values graph: a 124-token prefill, then four one-token steps.
    const kv = ortDecoder(await ortSession(f.onnx[`${dtype}-kv`]), m);
    kv.begin();
    const stepped = new Float32Array(SEQ * vocab);
    stepped.set(await kv.step(tokens.subarray(0, SEQ - 4)));
    for (let p = SEQ - 4; p < SEQ; p++) stepped.set(await kv.step(tokens.subarray(p, p + 1)), p * vocab);
    const fwd = relDiff(ortLogits, refs[dtype]);
    if (dtype === "q4") ortQ4 = ortLogits;
    rows.push({
      "ORT model": `${dtype}.onnx`,
      against: `specformer reference, ${dtype}`,
      "forward 1×128: max |Δ| / max |logit|": fwd.toExponential(2),
      "-kv.onnx, 124 + 4 one-token steps": relDiff(stepped, refs[dtype]).toExponential(2),
      "vs f32 reference": relDiff(ortLogits, refs.f32).toExponential(2),
    });
    if (dtype === "f32" && !(fwd <= F32_TOLERANCE)) throw new Error(`onnxruntime-web's f32 logits leave specformer's reference by ${fwd.toExponential(2)} of max |logit| (> ${F32_TOLERANCE}): the export is not the same model`);
  }
  // The q4 weights dequantised, run in f32: ORT's MatMulNBits arithmetic (f32 activations) on the same
  // weights. ORT's q4 logits match it where the export carries the q4 file's bytes faithfully; the
  // gap to the q4 row above is specformer's int8 rounding of the activations.
  const deq = await createModel("reference", m, stores.q4, { dtype: "f32" });
  const deqLogits = await deq.forward(tokens, { batch: 1, seq: SEQ });
  deq.dispose();
  rows.push({ "ORT model": "q4.onnx", against: "reference, q4 weights dequantised (f32 activations)", "forward 1×128: max |Δ| / max |logit|": relDiff(ortQ4!, deqLogits).toExponential(2), "-kv.onnx, 124 + 4 one-token steps": "-", "vs f32 reference": relDiff(deqLogits, refs.f32).toExponential(2) });
  rows.push({ "ORT model": "-", against: "specformer reference q4 vs f32", "forward 1×128: max |Δ| / max |logit|": "-", "-kv.onnx, 124 + 4 one-token steps": "-", "vs f32 reference": relDiff(refs.q4, refs.f32).toExponential(2) });
  return rows;
}

// ---- timing (one child per thread count) ----------------------------------------------------------

/** One round's median ms of `reps` calls. */
async function roundOf(fn: () => Promise<unknown>, reps: number): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

interface Pair {
  workload: string;
  specformer: () => Promise<number>;
  ort: () => Promise<number>;
}

async function child(m: ModelInfo, f: Files, threads: number, rounds: number): Promise<Record<string, unknown>[]> {
  initOrt(threads);
  const stores = loadStores(m, f);
  const graph = inferenceGraph(m);
  const relaxed = relaxedSimdSupported();
  const sf: Record<"f32" | "q4", Model> = {
    f32: await createWasmModel(m, graph, stores.f32, { threads, relaxed }),
    q4: await createWasmModel(m, withStorage(graph, stores.q4), stores.q4, { threads, relaxed }),
  };
  const sessions = Object.fromEntries(await Promise.all(Object.entries(f.onnx).map(async ([k, p]) => [k, await ortSession(p)] as const))) as Record<keyof Files["onnx"], ort.InferenceSession>;
  const tokens = Int32Array.from({ length: SEQ }, (_, i) => (i * 31 + 7) % m.head.vocab);
  const one = Int32Array.of(3);
  const pairs: Pair[] = [];
  for (const dtype of ["f32", "q4"] as const) {
    const model = sf[dtype];
    const dec = ortDecoder(sessions[`${dtype}-kv`], m);
    pairs.push({
      workload: `${dtype} forward 1×${SEQ}`,
      specformer: () => roundOf(() => model.forward(tokens, { batch: 1, seq: SEQ }), 5),
      ort: () => roundOf(() => ortForward(sessions[dtype], tokens), 5),
    });
    // Decode: a 128-token prefill (untimed), two steps, then 16 timed one-token steps (positions 130–145) on both.
    pairs.push({
      workload: `${dtype} decode, 1 token at ${SEQ + 2}–${SEQ + 17}`,
      specformer: async () => {
        const state = await model.begin({ batch: 1 });
        await model.step(state, tokens, SEQ);
        for (let i = 0; i < 2; i++) await model.step(state, one, 1);
        const ms = await roundOf(() => model.step(state, one, 1), 16);
        state.dispose();
        return ms;
      },
      ort: async () => {
        dec.begin();
        await dec.step(tokens);
        for (let i = 0; i < 2; i++) await dec.step(one);
        return roundOf(() => dec.step(one), 16);
      },
    });
  }
  // V8 tiers Wasm up in the background (busy for a while after binaryen ran): wait, then warm every path.
  await sleep(1500);
  for (const p of pairs) for (const run of [p.specformer, p.ort]) for (let t0 = performance.now(); performance.now() - t0 < 1500; ) await run();
  const loadBefore = load();
  const got = pairs.map(() => ({ specformer: [] as number[], ort: [] as number[] }));
  for (let r = 0; r < rounds; r++) {
    for (const [i, p] of pairs.entries()) {
      // Alternate which engine goes first, so neither always runs right after the other's threads.
      const order = r % 2 === 0 ? (["specformer", "ort"] as const) : (["ort", "specformer"] as const);
      for (const e of order) got[i][e].push(await p[e]());
    }
  }
  for (const s of Object.values(sessions)) await s.release();
  sf.f32.dispose();
  sf.q4.dispose();
  return pairs.map((p, i) => {
    const [s, o] = [median(got[i].specformer), median(got[i].ort)];
    const range = (xs: number[]) => `${r2(Math.min(...xs))}–${r2(Math.max(...xs))}`;
    return {
      threads,
      workload: p.workload,
      "specformer ms": r2(s),
      "onnxruntime-web ms": r2(o),
      "specformer ÷ ORT": r2(s / o),
      "rounds min–max (specformer / ORT)": `${range(got[i].specformer)} / ${range(got[i].ort)}`,
      "load avg": `${loadBefore} → ${load()}`,
    };
  });
}

// ---- main -------------------------------------------------------------------------------------

async function main(args: string[]): Promise<void> {
  compileWasmWithTurbofan();
  const m = checkFile(SPEC).entry!;
  const job = process.env[CHILD];
  if (job !== undefined) {
    const { files, threads, rounds, out } = JSON.parse(job) as { files: Files; threads: number; rounds: number; out: string };
    writeFileSync(out, JSON.stringify(await child(m, files, threads, rounds)));
    process.exit(0); // ORT's worker threads would keep the process alive
  }
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const threadCounts = (opt("--threads") ?? "1,2").split(",").map((t) => Math.max(1, Number(t) | 0));
  const rounds = Math.max(1, Number(opt("--rounds") ?? 7) | 0);
  const accuracyLevel = Number(opt("--accuracy-level") ?? 0) | 0;
  console.log(`\nspecformer vs onnxruntime-web ${ort.env.versions.web ?? "?"} on ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} threads available, load average ${load()}, Node ${process.version}`);
  const files = await prepare(m, accuracyLevel);
  if (typeof files === "string") {
    console.log(`peers-ort: skipped: ${files}`);
    return;
  }
  try {
    initOrt(1);
    const tokens = Int32Array.from({ length: SEQ }, (_, i) => (i * 31 + 7) % m.head.vocab);
    console.log(`\n## Same logits? onnxruntime-web against specformer's reference backend (1 × ${SEQ}; MatMulNBits accuracy_level ${accuracyLevel || "unset"})\n`);
    console.table(await checks(m, files, tokens));
    const rows: Record<string, unknown>[] = [];
    for (const threads of threadCounts) {
      const out = join(files.dir, `times-${threads}.json`);
      const flags = relaxedSimdSupported() ? [] : [FLAG];
      const env = { ...process.env, [CHILD]: JSON.stringify({ files, threads, rounds, out }) };
      const r = spawnSync(process.execPath, [...process.execArgv, ...flags, fileURLToPath(import.meta.url)], { stdio: "inherit", env });
      if (r.status !== 0 || !existsSync(out)) console.log(`(the ${threads}-thread child failed, exit ${r.status}; no row)`);
      else rows.push(...(JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>[]));
    }
    console.log(`\n## ${SPEC}, ms (medians of ${rounds} rounds, engines alternating), specformer Wasm relaxed SIMD vs onnxruntime-web Wasm SIMD\n`);
    console.table(rows);
    console.log(`load average at the end ${load()}`);
  } finally {
    rmSync(files.dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
