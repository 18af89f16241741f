// The Model's lifecycle rules, the same on every backend (they live once, in src/runtime/model.ts):
// dispose() during a call lets the call finish before anything is freed; use after dispose and
// begin() on a bidirectional model are the library's input errors; forward(tokens) needs no options.
import { describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { ModelInputError } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { TARGETS, type Target } from "../src/runtime/targets.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { loadTiny } from "./helpers/tiny-specs.ts";

const m = loadTiny("tiny-gpt2.sf");
const w = randomWeights(m, 4, { std: 0.2 });
const tokens = Int32Array.from({ length: 10 }, (_, i) => (i * 13) % 101);

const maxAbs = (a: Float32Array, b: Float32Array): number => a.reduce((e, x, i) => Math.max(e, Math.abs(x - b[i])), a.length === b.length ? 0 : Infinity);

async function open(target: Target) {
  const device = target === "webgpu" ? await gpuDevice() : undefined;
  if (target === "webgpu" && !device) return undefined;
  return createModel(target, m, w, device ? { device } : {});
}

describe.each(TARGETS)("%s", (target) => {
  it("finishes a forward that dispose() interrupts, then refuses new calls", async () => {
    const ref = await open("reference");
    const model = await open(target);
    if (!model || !ref) return;
    const want = await ref.forward(tokens);
    const pending = model.forward(tokens, { batch: 1, seq: 10 });
    model.dispose();
    expect(maxAbs(await pending, want)).toBeLessThan(1e-4);
    await expect(model.forward(tokens)).rejects.toThrow(ModelInputError);
    await expect(model.begin({ batch: 1 })).rejects.toThrow(/disposed/);
    ref.dispose();
  });

  it("forward(tokens) without options is one sequence", async () => {
    const ref = await open("reference");
    const model = await open(target);
    if (!model || !ref) return;
    expect(maxAbs(await model.forward(tokens), await ref.forward(tokens, { batch: 1, seq: tokens.length }))).toBeLessThan(1e-4);
    model.dispose();
    ref.dispose();
  });

  it("a step on a state of a disposed model is an input error", async () => {
    const model = await open(target);
    if (!model) return;
    const s = await model.begin({ batch: 1 });
    model.dispose();
    await expect(model.step(s, tokens.subarray(0, 1), 1)).rejects.toThrow(ModelInputError);
    s.dispose();
  });
});

it("begin() on a bidirectional model is an input error", async () => {
  const enc = loadTiny("tiny-torch-encoder.sf");
  const model = await createModel("reference", enc, randomWeights(enc, 1));
  await expect(model.begin({ batch: 1 })).rejects.toThrow(ModelInputError);
});
