// The shared state plan (src/ir/state-plan.ts) and the backends that follow it: a sliding-window
// model's decode state is a ring of fixed size on Wasm and WebGPU (memory at position 2,000 equals
// memory at position 40), and decoding through the rings — token by token far past the window,
// and in steps of several tokens that cross the ring's wrap point or exceed its chunk — keeps the
// logits equal to the reference's, with and without padding.

import v8 from "node:v8";
import { afterAll, describe, expect, it } from "vitest";
import { backendFor, createModel } from "../backends/registry.ts";
import { createWasmModel } from "../backends/wasm/backend.ts";
import { createWebGpuModel } from "../backends/wgsl/backend.ts";
import { isCpuAdapter } from "../backends/wgsl/device.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { planStates, ringSlot, slidingWindow, stepChunks, windowHistory } from "../src/ir/state-plan.ts";
import type { ModelInfo } from "../src/model/model.ts";
import type { Executor } from "../src/runtime/executor.ts";
import type { DecodeState, Model } from "../src/runtime/model-api.ts";
import { CompiledModel } from "../src/runtime/model.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { mulberry32 } from "../src/runtime/sample.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { columns } from "./helpers/conformance.ts";
import { loadTiny } from "./helpers/tiny-specs.ts";
import { maxRelError } from "./helpers/rel-error.ts";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const device = await gpuDevice();
afterAll(() => device?.destroy());

function spec(src: string): ModelInfo {
  const r = checkSource(src, "inline.sf");
  if (!r.entry) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.entry;
}

const block = (name: string, attn: string) => `
  stack layers × ${name} {
    norm rms(eps = 1e-5)
    attention self(heads = heads, kv_heads = kv_heads, mask = causal${attn})
    norm rms(eps = 1e-5)
    mlp(hidden = hidden, act = swiglu, bias = false)
  }`;
const decoder = (name: string, blocks: string, padding: boolean) => `
model ${name} {
  dims { vocab = 61, d = 16, heads = 2, kv_heads = 1, layers = 1, hidden = 32, window = 16, context = 2048 }
  input tokens: int[batch, seq] where seq <= context${padding ? "\n  input mask: bool[batch, seq]" : ""}
  embed tokens(vocab, d)
  position rope(base = 10000)
  ${blocks}
  norm rms(eps = 1e-5)
  head linear
}`;

/** Two window layers (16), a padding input, a context of 2,048. */
const WINDOW = spec(decoder("sp_window", block("first", ", window = window, padding = mask") + block("second", ", window = window, padding = mask"), true));
/** The same without a padding input. */
const WINDOW_NOPAD = spec(decoder("sp_window_nopad", block("first", ", window = window") + block("second", ", window = window"), false));
/** Windows of 16 and 7 and a full layer sharing one padding input: two ring sizes, a full mask history. */
const MIXED = spec(decoder("sp_mixed", block("wide", ", window = window, padding = mask") + block("narrow", ", window = 7, padding = mask") + block("full", ", padding = mask"), true));

describe("planStates", () => {
  it("makes sliding-window caches rings of window - 1 + chunk rows, with one chunk for the program", () => {
    const plan = planStates(inferenceGraph(WINDOW), { context: 2048 });
    expect(plan.chunk).toBe(16);
    const caches = Object.values(plan.caches);
    expect(caches).toHaveLength(2);
    for (const c of caches) expect(c).toMatchObject({ kind: "ring", window: 16, history: 15, rows: 31, width: 8 });
    expect(plan.masks).toEqual({ mask: { input: "mask", kind: "ring", rows: 31 } });
  });

  it("takes the smallest window as the chunk; a mask read by caches of different sizes is a full history", () => {
    const plan = planStates(inferenceGraph(MIXED), { context: 2048 });
    expect(plan.chunk).toBe(7);
    const kinds = Object.values(plan.caches).map((c) => [c.kind, "rows" in c ? c.rows : undefined]);
    expect(kinds).toEqual([
      ["ring", 15 + 7],
      ["ring", 6 + 7],
      ["full", 2048],
    ]);
    expect(plan.masks.mask).toEqual({ input: "mask", kind: "full", rows: 2048 });
  });

  it("plans full caches, linear states, cross K/V, and no ring where it would not beat the context", () => {
    const llama = planStates(inferenceGraph(loadTiny("tiny-llama.sf")), { context: 64 });
    expect(llama.chunk).toBeUndefined();
    for (const c of Object.values(llama.caches)) expect(c).toMatchObject({ kind: "full", rows: 64 });
    const linear = Object.values(planStates(inferenceGraph(loadTiny("tiny-linear.sf"))).caches);
    expect(linear.every((c) => c.kind === "linear" && c.floats > 0)).toBe(true);
    const encdec = Object.values(planStates(inferenceGraph(loadTiny("tiny-torch-transformer.sf")), { sourceContext: 20 }).caches).map((c) => c.kind);
    expect(encdec).toContain("cross");
    expect(encdec).toContain("encoder");
    // tiny-window: window 8 in a context of 32 is a ring of 15; in a context of 15 it would not be.
    const tiny = inferenceGraph(loadTiny("tiny-window.sf"));
    expect(Object.values(planStates(tiny, { context: 32 }).caches).map((c) => c.kind)).toEqual(["ring", "ring"]);
    const small = planStates(tiny, { context: 15 });
    expect(Object.values(small.caches).map((c) => c.kind)).toEqual(["full", "full"]);
    expect(small.chunk).toBeUndefined();
  });

  it("helpers: the sliding-window rule, history, slots and step chunks", () => {
    const a = { op: "attention", source: "self", causal: true, window: 5 } as const;
    expect(slidingWindow(a)).toBe(5);
    expect(slidingWindow({ ...a, causal: false })).toBeUndefined();
    expect(slidingWindow({ ...a, source: "memory" })).toBeUndefined();
    expect(slidingWindow({ ...a, window: undefined })).toBeUndefined();
    expect(windowHistory(5)).toBe(4);
    expect(ringSlot(31, 31)).toBe(0);
    expect(stepChunks(5, undefined)).toEqual([[0, 5]]);
    expect(stepChunks(16, 16)).toEqual([[0, 16]]);
    expect(stepChunks(40, 16)).toEqual([
      [0, 16],
      [16, 16],
      [32, 8],
    ]);
  });
});

type Weights = Map<string, Float32Array>;
type Target = "wasm" | "webgpu";

/** A Model over the target's executor (the registry's instantiate) whose begin() records the executor's state. */
async function spied(target: Target, m: ModelInfo, w: Weights): Promise<{ model: Model; ex: Executor; states: unknown[] }> {
  const program = inferenceGraph(m);
  const ex = await (await backendFor(target)).instantiate(m, program, undefined, w, target === "webgpu" ? { device: device! } : {});
  const states: unknown[] = [];
  const wrapped: Executor = Object.create(ex);
  wrapped.begin = async (inputs, call) => {
    const s = await ex.begin(inputs, call);
    states.push(s);
    return s;
  };
  return { model: new CompiledModel(m, program, wrapped, target), ex, states };
}

/** Each compiled target's flavours: the registry's, and the other kernel set. */
const FLAVOURS: Array<{ name: string; target: Target; create(m: ModelInfo, w: Weights): Promise<Model> }> = [
  { name: "wasm", target: "wasm", create: async (m, w) => (await spied("wasm", m, w)).model },
  { name: "wasm (plain SIMD)", target: "wasm", create: (m, w) => createWasmModel(m, inferenceGraph(m), w, { relaxed: false }) },
  { name: "wasm (2 threads)", target: "wasm", create: (m, w) => createWasmModel(m, inferenceGraph(m), w, { threads: 2, splitEveryCall: true }) },
  { name: "webgpu", target: "webgpu", create: async (m, w) => (await spied("webgpu", m, w)).model },
  {
    name: "webgpu (other attention kernel)",
    target: "webgpu",
    create: async (m, w) => createWebGpuModel(m, inferenceGraph(m), w, { device: device!, attention: device && isCpuAdapter(device.adapterInfo) ? "tiles" : "walk" }),
  },
];

const tokensOf = (n: number, seed: number) => {
  const rng = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rng() * 61));
};

/** Rows [from, from + n) of position-major logits [batch, seq, vocab]. */
function logitRows(l: Float32Array, batch: number, seq: number, vocab: number, from: number, n: number): Float32Array {
  const out = new Float32Array(batch * n * vocab);
  for (let b = 0; b < batch; b++) out.set(l.subarray((b * seq + from) * vocab, (b * seq + from + n) * vocab), b * n * vocab);
  return out;
}

const reference = new Map<ModelInfo, Promise<Model>>();
const weights = new Map<ModelInfo, Weights>();
function fixture(m: ModelInfo): { w: Weights; ref: Promise<Model> } {
  if (!weights.has(m)) weights.set(m, randomWeights(m, 7, { std: 0.3 }));
  const w = weights.get(m)!;
  if (!reference.has(m)) reference.set(m, createModel("reference", m, w));
  return { w, ref: reference.get(m)! };
}

/** Step sizes (sum 100) around a ring of 31 rows and a chunk of 16 (or 22 / 13 and 7): wraps inside steps, steps past the chunk. */
const STEPS = [3, 1, 16, 13, 17, 2, 31, 1, 9, 7];
const SEQ = STEPS.reduce((a, b) => a + b, 0);

/** Left padding on row 1 (as batched prompts), and padded tokens inside later windows on both rows. */
function padding(batch: number, seq: number): Uint8Array {
  const mask = new Uint8Array(batch * seq).fill(1);
  for (let j = 0; j < 3; j++) mask[seq + j] = 0;
  for (const j of [21, 22, 30, 31, 47, 62, 63, 64, 80, 95]) mask[(j % 2) * seq + j] = 0;
  return mask;
}

describe.each(FLAVOURS)("$name follows the state plan", ({ target, create }) => {
  const skip = target === "webgpu" && !device;

  it.skipIf(skip).each([
    ["a padding mask", WINDOW, true],
    ["no mask", WINDOW_NOPAD, false],
    ["two ring sizes, a full layer and a full mask history", MIXED, true],
  ] as const)("steps of several tokens across the ring's wrap point, %s: logits equal the reference's", async (_what, m, pad) => {
    const { w, ref } = fixture(m);
    const batch = 2;
    const tokens = tokensOf(batch * SEQ, 3);
    const mask = pad ? padding(batch, SEQ) : undefined;
    const want = await (await ref).forward(tokens, { batch, seq: SEQ, ...(mask ? { mask } : {}) });
    const model = await create(m, w);
    try {
      const state = await model.begin({ batch });
      let at = 0;
      for (const n of STEPS) {
        const got = await model.step(state, columns(tokens, batch, SEQ, at, n), n, mask ? { mask: columns(mask, batch, SEQ, at, n) } : {});
        const err = maxRelError(got, logitRows(want, batch, SEQ, 61, at, n), 1e-6);
        expect(err, `step of ${n} at ${at}`).toBeLessThan(1e-4);
        at += n;
      }
      state.dispose();
    } finally {
      model.dispose();
    }
  });
});

describe.each(["wasm", "webgpu"] as const)("%s: a sliding-window decode state does not grow", (target) => {
  it.skipIf(target === "webgpu" && !device)("memory at position 2,000 equals memory at position 40; logits track the reference token by token", async () => {
    const m = WINDOW;
    const { w, ref } = fixture(m);
    const N = 2000;
    const tokens = tokensOf(N, 11);
    const want = await (await ref).forward(tokens, { batch: 1, seq: N });
    const { model, ex, states } = await spied(target, m, w);
    try {
      expect(ex.stateBytes).toBeDefined();
      const state: DecodeState = await model.begin({ batch: 1 });
      const bytes = () => ex.stateBytes!(states[0]);
      const at: Record<number, number> = {};
      for (let p = 0; p < N; p++) {
        const got = await model.step(state, tokens.subarray(p, p + 1), 1);
        if (p + 1 === 40 || p + 1 === N) at[p + 1] = bytes();
        if (p === 39 || p === 1000 || p >= N - 3) expect(maxRelError(got, want.subarray(p * 61, (p + 1) * 61), 1e-6), `position ${p}`).toBeLessThan(1e-4);
      }
      expect(at[N]).toBe(at[40]);
      // Rings, not the context: two layers' K and V at 2,000 rows of 8 floats would be 256 KiB alone.
      expect(at[N]).toBeLessThan(2 * 2 * 2000 * 8 * 4);
      state.dispose();
    } finally {
      model.dispose();
    }
  }, 120_000);
});
