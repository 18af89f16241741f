// Low-bit weights through the backends. The oracle of every Wasm kernel is the reference
// backend run over the SAME quantised weights (it dequantises each row exactly on read and
// accumulates in f64), never the f32 model: a q4 matmul is judged on its arithmetic, not on
// quantisation error. Tolerance 1e-4 of max |reference logit|, as the conformance suite.
//   - forward over batch 2 × 13 rows (the prefill path: panels dequantised once, f32 tiles),
//     one row and two rows (the decode path: dequantising in registers), on relaxed SIMD, plain
//     SIMD and two threads;
//   - incremental decoding in uneven chunks equals the same model's forward;
//   - how far each storage moves the logits from the f32 model: printed as measured figures.
// WebGPU's low-bit kernels: test/lowbit-webgpu.test.ts.

import v8 from "node:v8";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { createWasmModel } from "../backends/wasm/backend.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import type { Model } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { mulberry32 } from "../src/runtime/sample.ts";
import { convertStore, withStorage } from "../src/runtime/weights/store.ts";
import { relError } from "./helpers/conformance.ts";
import { LOWBIT_CASES, LOWBIT_DTYPES, decodeInChunks } from "./helpers/lowbit-cases.ts";
import { loadTiny } from "./helpers/tiny-specs.ts";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

const CASES = LOWBIT_CASES;
const DTYPES = LOWBIT_DTYPES;

const opened: Model[] = [];
afterAll(() => opened.forEach((m) => m.dispose()));
const keep = (m: Model) => (opened.push(m), m);

function tokens(m: ModelInfo, n: number, seed: number): Int32Array {
  const rng = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rng() * m.head.vocab));
}

function close(got: Float32Array, want: Float32Array, vocab: number, seq: number, what: string): number {
  const e = relError(got, want, vocab, seq);
  expect(e.err, `${what}: relative ${e.err.toExponential(3)} at ${e.at}`).toBeLessThanOrEqual(1e-4);
  return e.err;
}

let worst = 0;
afterAll(() => console.log(`low-bit wasm vs reference (same quantised weights): worst relative error ${worst.toExponential(2)}`));

describe.each(CASES)("$name", ({ model }) => {
  const m = model();
  const graph = inferenceGraph(m);
  const w = randomWeights(m, 11);
  const B = 2;
  const S = Math.min(13, m.sections[0].maxSeq ?? 13);

  describe.each(DTYPES)("%s", (dtype) => {
    const store = convertStore(graph, w, dtype);
    const program = withStorage(graph, store);
    // A build is most of each test's time: the decode test reuses the relaxed-SIMD model.
    let relaxed: Promise<Model> | undefined;
    const flavours: Array<[string, () => Promise<Model>]> = [
      ["relaxed SIMD", () => (relaxed ??= createModel("wasm", m, store).then(keep))],
      ["plain SIMD", () => createWasmModel(m, program, store, { relaxed: false })],
      ["2 threads", () => createWasmModel(m, program, store, { threads: 2, splitEveryCall: true })],
    ];
    const ref = keep(createReferenceModel(m, program, store));
    const all = tokens(m, B * S, 3);

    it.each(flavours)("wasm (%s) logits equal the reference's for the same weights", async (name, make) => {
      const wasm = await make();
      if (name !== "relaxed SIMD") keep(wasm); // the relaxed one is kept where it is built
      for (const [batch, seq] of [[B, S], [1, 1], [2, 1], [1, 3], [1, 5]] as const) {
        const t = all.subarray(0, batch * seq);
        const want = await ref.forward(t, { batch, seq });
        worst = Math.max(worst, close(await wasm.forward(t, { batch, seq }), want, m.head.vocab, seq, `forward ${batch}×${seq}`));
      }
    });

    it("incremental decoding on wasm equals its forward (and the reference's)", async () => {
      const wasm = await flavours[0][1]();
      const seq = S;
      const t = all.subarray(0, seq);
      const forward = await wasm.forward(t, { batch: 1, seq });
      const vocab = m.head.vocab;
      const out = await decodeInChunks(wasm, t, vocab);
      close(out, forward, vocab, seq, "incremental vs forward");
      close(out, await ref.forward(t, { batch: 1, seq }), vocab, seq, "incremental vs reference");
    });
  });
});

describe("how far each storage moves the logits from the f32 model (measured: reference for tiny-llama, wasm for the demo)", () => {
  const figures: string[] = [];
  afterAll(() => console.log(`relative logit error vs f32 (max |Δ| / max |logit|):\n${figures.join("\n")}`));

  it("tiny-llama, random weights (GPT-2 init, std 0.02)", async () => {
    const m = loadTiny("tiny-llama.sf");
    const w = randomWeights(m, 11);
    const t = tokens(m, 2 * 16, 5);
    const base = await (await createModel("reference", m, w)).forward(t, { batch: 2, seq: 16 });
    const errs: number[] = [];
    for (const dtype of DTYPES) {
      const q = await createModel("reference", m, w, { dtype });
      const e = relError(await q.forward(t, { batch: 2, seq: 16 }), base, m.head.vocab, 16).err;
      errs.push(e);
      figures.push(`  tiny-llama random  ${dtype}: ${e.toExponential(2)}`);
    }
    // No tuned bound: only that more bits are closer.
    expect(errs[0]).toBeLessThan(errs[1]);
    expect(errs[1]).toBeLessThan(errs[2]);
  });

  it("the trained demo model (demo-fortune, 64 bytes of English)", async () => {
    const r = checkSource(readFileSync("specs/demo-fortune.sf", "utf8"), "specs/demo-fortune.sf");
    const m = r.entry!;
    const w = bindWeights(m, parseSafetensors(readFileSync("models/demo-fortune.safetensors")));
    const text = "The quick brown fox jumps over the lazy dog. A penny saved is a p";
    const t = Int32Array.from(new TextEncoder().encode(text));
    const base = await (await createModel("wasm", m, w)).forward(t, { batch: 1, seq: t.length });
    const vocab = m.head.vocab;
    const argmax = (x: Float32Array, r: number) => {
      let k = 0;
      for (let i = 1; i < vocab; i++) if (x[r * vocab + i] > x[r * vocab + k]) k = i;
      return k;
    };
    for (const dtype of DTYPES) {
      const q = keep(await createModel("wasm", m, w, { dtype }));
      const got = await q.forward(t, { batch: 1, seq: t.length });
      const e = relError(got, base, vocab, t.length).err;
      let agree = 0;
      for (let r = 0; r < t.length; r++) agree += argmax(got, r) === argmax(base, r) ? 1 : 0;
      figures.push(`  demo-fortune       ${dtype}: ${e.toExponential(2)}, top-1 agrees at ${agree}/${t.length} positions`);
      expect(Number.isFinite(e)).toBe(true);
    }
  });
});
