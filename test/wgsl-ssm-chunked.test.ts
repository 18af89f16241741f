// The WebGPU inference scan's chunked prefill (backends/wgsl/kernels/ssm.ts: C time chunks per
// channel, summaries folded into each chunk's start state) against the float64 reference scan
// (backends/reference/backward/ssm.ts's ssmScanForward), through the kernel harness: a whole
// sequence from a cleared state, and the same sequence in calls whose state carries over —
// chunked after chunked, sequential (fewer than SCAN_CHUNKED_FROM tokens) after chunked and the
// reverse — for every chunk count (state 16: 4 chunks, 30: 3, 40: 2, 70: 1, the sequential
// kernel), 70 channels (two workgroups, the second part padding), batch 2, sequences not a
// multiple of the chunk count. Bound: max |error| ≤ 1e-5 × max |reference|. And a model with
// `scan: "chunked"` (a GPU adapter's default; a CPU adapter such as llvmpipe gets the
// sequential scan, which test/ssm.test.ts runs): test/ssm.test.ts's Mamba fixture against
// PyTorch's logits (1e-4), as a forward and in steps of 9, 3 and 12 tokens.
// With CI set, no WebGPU adapter fails (helpers/gpu.ts).
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ssmScanForward } from "../backends/reference/backward/index.ts";
import { createWebGpuModel } from "../backends/wgsl/backend.ts";
import { KernelHarness } from "../backends/wgsl/harness.ts";
import { SCAN_CHUNKED_FROM, scanChunks, SSM_GROUP, ssmScanKernel } from "../backends/wgsl/kernels/ssm.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import { parseSafetensors, writeSafetensors } from "../src/runtime/safetensors.ts";
import { streamRng } from "../src/train/rng.ts";
import { decodeInChunks } from "./helpers/conformance.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { maxRelError } from "./helpers/rel-error.ts";

const device = await gpuDevice();
afterAll(() => device?.destroy());

const E = 70;
const R = 3;
const BATCH = 2;
const SEQ = 37;

/** Rows [from, to) of every sequence of a [BATCH, SEQ, width] array. */
function rowsOf(a: Float32Array, width: number, from: number, to: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(BATCH * (to - from) * width);
  for (let b = 0; b < BATCH; b++) out.set(a.subarray((b * SEQ + from) * width, (b * SEQ + to) * width), b * (to - from) * width);
  return out;
}

describe.skipIf(!device)("the WebGPU scan's chunked prefill", () => {
  it.each([16, 30, 40, 70])("state %i: one call and calls carrying the state match the reference", async (N) => {
    expect([16, 30, 40, 70].map(scanChunks)).toEqual([4, 3, 2, 1]);
    const harness = new KernelHarness(device!);
    const rng = streamRng(N);
    const r = (n: number, s = 1) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);
    const P = R + 2 * N;
    const u = r(BATCH * SEQ * E);
    const proj = r(BATCH * SEQ * P);
    const z = r(BATCH * SEQ * 2 * E, 2);
    const w = { dtWeight: r(E * R, 0.5), dtBias: r(E, 3), aLog: Float32Array.from({ length: E * N }, (_, i) => Math.log(1 + (i % N)) + 0.2 * Math.sin(i)), d: r(E) };
    const want = ssmScanForward(u, proj, z, { batch: BATCH, seq: SEQ, inner: E, stateSize: N, dtRank: R }, w);
    const k = ssmScanKernel({ inner: E, stateSize: N, dtRank: R });
    const db = new Float32Array(2 * E);
    db.set(w.dtBias);
    db.set(w.d, E);
    /** The scan over `cuts` (token counts summing to SEQ), the state carried from call to call. */
    const run = async (cuts: number[]) => {
      let state = new Float32Array(BATCH * E * N);
      const out = new Float64Array(BATCH * SEQ * E);
      let from = 0;
      for (const n of cuts) {
        const to = from + n;
        const buffers = [rowsOf(u, E, from, to), rowsOf(proj, P, from, to), rowsOf(z, 2 * E, from, to), w.dtWeight, w.aLog, db, state, new Float32Array(BATCH * n * E)];
        const { outputs } = await harness.run(k, { params: { batch: BATCH, seq: n }, buffers, grid: [Math.ceil(E / SSM_GROUP), BATCH, 1] });
        state = outputs[0] as Float32Array<ArrayBuffer>;
        const o = outputs[1] as Float32Array;
        for (let b = 0; b < BATCH; b++) for (let i = 0; i < n * E; i++) out[(b * SEQ + from) * E + i] = o[b * n * E + i];
        from = to;
      }
      return { out, state };
    };
    const whole = await run([SEQ]);
    expect(maxRelError(whole.out, want), "one call").toBeLessThan(1e-5);
    const small = SCAN_CHUNKED_FROM - 1;
    for (const cuts of [[20, 17], [SEQ - small, small], [small, SEQ - small], [9, small, 21]]) {
      const split = await run(cuts);
      expect(maxRelError(split.out, want), `calls of ${cuts.join(" + ")}`).toBeLessThan(1e-5);
      expect(maxRelError(split.state, whole.state), `state after ${cuts.join(" + ")}`).toBeLessThan(1e-5);
    }
  });
});

describe.skipIf(!device)("a Mamba model on the chunked scan", () => {
  it("matches PyTorch's logits as a forward and in steps of 9, 3 and 12 tokens", async () => {
    const r = checkSource(
      `model mamba {
  dims { vocab = 101, d = 32, layers = 2, context = 32 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  stack layers × decoder {
    norm rms(eps = 1e-5)
    ssm mamba(state = 8, conv = 4, expand = 2, dt_rank = 4)
  }
  norm rms(eps = 1e-5)
  head tied
}`,
      "mamba.sf",
    );
    const m = r.entry!;
    const file = parseSafetensors(readFileSync("test/fixtures/ssm-mamba.safetensors"));
    const names = new Set(weightLayout(m).map((t) => t.name));
    const kept = [...file.tensors.values()].filter((t) => names.has(t.name));
    const weights = bindWeights(m, parseSafetensors(writeSafetensors(kept.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: file.raw(t.name) })))));
    const [batch, seq] = file.get("input.tokens").shape;
    expect(seq).toBe(24);
    const tokens = file.i32("input.tokens");
    const want = file.f32("expected.logits");
    const model = await createWebGpuModel(m, inferenceGraph(m), weights, { device: device!, scan: "chunked" });
    try {
      expect(maxRelError(await model.forward(tokens, { batch, seq }), want), "forward").toBeLessThan(1e-4);
      const stepped = await decodeInChunks(model, { tokens, opts: { batch, seq }, padded: false }, [9, 3, 12]);
      expect(maxRelError(stepped, want), "steps of 9, 3, 12").toBeLessThan(1e-4);
    } finally {
      model.dispose();
    }
  });
});
