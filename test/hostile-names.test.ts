// User-chosen names that are also Object.prototype's keys (`__proto__`, `constructor`,
// `toString`) are plain names everywhere: every backend gives the reference's logits for a
// model whose inputs are called that. (They used to make wasm 136% off, or fail as "given twice".)
import { describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkSource } from "../src/check/check.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { TARGETS } from "../src/runtime/targets.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { maxRelError } from "./helpers/rel-error.ts";

const spec = (tokens: string, mask: string, types: string) => `
model hostile {
  dims { vocab = 29, d = 16, heads = 2, layers = 1, context = 16 }
  input ${tokens}: int[batch, seq] where seq <= context
  input ${mask}: bool[batch, seq]
  input ${types}: int[batch, seq]
  embed ${tokens}(vocab, d)
  embed ${types}(3, d)
  position learned(context)
  stack layers × encoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, padding = ${mask})
    norm layer(eps = 1e-5)
    mlp(hidden = 32, act = gelu)
  }
  norm layer(eps = 1e-5)
  head linear
}`;

describe.each([
  ["__proto__", "constructor", "toString"],
  ["constructor", "__proto__", "hasOwnProperty"],
])("inputs named %s / %s / %s", (tokens, mask, types) => {
  const r = checkSource(spec(tokens, mask, types), "hostile.sf");
  const m = r.entry!;
  const w = randomWeights(m, 3, { std: 0.3 });
  const ids = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 29);
  const pad = Uint8Array.from({ length: 12 }, (_, i) => (i % 6 < 5 ? 1 : 0));
  const typeIds = Int32Array.from({ length: 12 }, (_, i) => i % 3);
  const inputs = Object.fromEntries([[types, typeIds]]) as Record<string, Int32Array>;

  it("checks clean", () => {
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it.each(TARGETS.filter((t) => t !== "reference"))("%s matches the reference", async (target) => {
    const device = target === "webgpu" ? await gpuDevice() : undefined;
    if (target === "webgpu" && !device) return;
    const ref = await createModel("reference", m, w);
    const model = await createModel(target, m, w, device ? { device } : {});
    try {
      const opts = { batch: 2, seq: 6, mask: pad, inputs };
      const want = await ref.forward(ids, opts);
      expect(maxRelError(await model.forward(ids, opts), want, 1e-30)).toBeLessThan(1e-4);
      // The mask matters: dropping it changes the answer, so the comparison is not vacuous.
      expect(maxRelError(await ref.forward(ids, { batch: 2, seq: 6, inputs }), want, 1e-30)).toBeGreaterThan(1e-4);
    } finally {
      model.dispose();
      ref.dispose();
    }
  });
});
