// Issue 14: one context rule for specs without a sequence bound. Every backend takes
// UNBOUNDED_CONTEXT positions (src/runtime/model.ts): generation stops there after the same
// number of tokens, and a call past it is refused with the same message (the reference used to
// have no limit, wasm stopped at its arena's 2048 with its own message, webgpu grew forever).
import { afterAll, describe, expect, it } from "vitest";
import { createModel, type Target } from "../backends/registry.ts";
import { checkSource } from "../src/check/check.ts";
import { ModelInputError, type Model } from "../src/runtime/model-api.ts";
import { UNBOUNDED_CONTEXT } from "../src/runtime/model.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { gpuDevice } from "./helpers/gpu.ts";

const device = await gpuDevice();
const TARGETS: Target[] = ["reference", "wasm", ...(device ? (["webgpu"] as const) : [])];

const SPEC = `model unbounded {
  dims { vocab = 61, d = 16, heads = 2, layers = 1 }
  input tokens: int[batch, seq]
  embed tokens(vocab, d)
  position rope(base = 10000)
  stack layers × decoder {
    norm rms(eps = 1e-5)
    attention self(heads = heads, mask = causal)
    norm rms(eps = 1e-5)
    mlp(hidden = 32, act = swiglu)
  }
  norm rms(eps = 1e-5)
  head linear
}`;
const m = checkSource(SPEC, "unbounded.sf").entry!;
const w = randomWeights(m, 11, { std: 0.3 });
const C = UNBOUNDED_CONTEXT;
const ids = (n: number) => Int32Array.from({ length: n }, (_, i) => (i * 13 + 5) % 61);

const open: Model[] = [];
afterAll(() => open.forEach((x) => x.dispose()));
async function model(target: Target): Promise<Model> {
  const x = await createModel(target, m, w, target === "webgpu" ? { device: device! } : {});
  open.push(x);
  return x;
}

/** The message a call gets, or "" when it succeeds. */
async function refusal(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return "";
  } catch (e) {
    expect(e).toBeInstanceOf(ModelInputError);
    return (e as Error).message;
  }
}

describe("a spec without a sequence bound", () => {
  it("states the rule in its config on every backend", async () => {
    expect(m.sections[0].maxSeq).toBeUndefined();
    for (const t of TARGETS) expect((await model(t)).config.context, t).toBe(C);
  });

  it("generation stops at the context after the same number of tokens everywhere", async () => {
    const prompt = ids(C - 8);
    const counts: number[] = [];
    for (const t of TARGETS) {
      const x = await model(t);
      let n = 0;
      for await (const _ of x.generate(prompt, { maxTokens: 100 })) n++;
      counts.push(n);
    }
    // The prompt's 2040 positions, then 8 more fed back: the ninth token is the last that fits.
    expect(counts).toEqual(TARGETS.map(() => 9));
  });

  it("a forward or a step past it is refused with one message everywhere", async () => {
    const messages: Array<[string, string]> = [];
    for (const t of TARGETS) {
      const x = await model(t);
      const forward = await refusal(() => x.forward(ids(C + 1), { batch: 1, seq: C + 1 }));
      const state = await x.begin({ batch: 1 });
      const fill = await refusal(() => x.step(state, ids(C), C));
      const past = await refusal(() => x.step(state, Int32Array.of(1), 1));
      state.dispose();
      expect(fill, `${t}: the whole context fits`).toBe("");
      messages.push([forward, past]);
    }
    const rule = `the context of ${C} that every backend gives a spec without a bound (declare \`where seq <= N\` for another)`;
    expect(messages).toEqual(TARGETS.map(() => [`input "tokens": seq ${C + 1} exceeds ${rule}`, `input "tokens": 1 more token(s) at position ${C} would exceed ${rule}`]));
  });
});
