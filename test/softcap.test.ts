// Logit soft-capping (`head tied(softcap = c)`, Gemma-2's final_logit_softcapping): the
// checker's rule, the inspect row, and every backend against the formula cap · tanh(z / cap)
// applied to the uncapped model's logits (the same spec without softcap, on the reference).
import { describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { printGraph } from "../src/ir/print.ts";
import { summarize } from "../src/inspect/summary.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { TARGETS } from "../src/runtime/targets.ts";
import { gpuDevice } from "./helpers/gpu.ts";

const spec = (head: string) => `
model capped {
  dims { vocab = 37, d = 16, heads = 2, layers = 1, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position learned(context)
  stack layers × decoder {
    norm rms(eps = 1e-6)
    attention self(heads = heads, mask = causal)
    norm rms(eps = 1e-6)
    mlp(hidden = 32, act = geglu)
  }
  norm rms(eps = 1e-6)
  head ${head}
}`;

const CAP = 2.5;
const capped = checkSource(spec(`tied(softcap = ${CAP})`), "capped.sf").entry!;
const plain = checkSource(spec("tied"), "plain.sf").entry!;
// Large weights, so that many logits sit well past the cap and the tanh really bends them.
const w = randomWeights(plain, 9, { std: 1.5 });
const tokens = Int32Array.from({ length: 16 }, (_, i) => (i * 5 + 1) % 37);

describe("head softcap", () => {
  it("is checked: must be a positive real", () => {
    for (const bad of ["0", "-1", "1e300"]) {
      const r = checkSource(spec(`tied(softcap = ${bad})`), "bad.sf");
      expect(r.entry, `softcap = ${bad}`).toBeUndefined();
      expect(r.diagnostics.some((d) => d.severity === "error")).toBe(true);
    }
  });

  it("is at most 1e18, as every constant that multiplies activations (f32 must hold them times it)", () => {
    const r = checkSource(spec("tied(softcap = 2e38)"), "big.sf");
    expect(r.entry).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toContain("SF0217 `softcap` is 2e+38, outside (0, 1e18]");
    expect(checkSource(spec("tied(softcap = 1e18)"), "edge.sf").entry).toBeDefined();
  });

  it("adds no parameters, shows in inspect and the IR", () => {
    const a = summarize(capped, { batch: 1, seq: 16 });
    const b = summarize(plain, { batch: 1, seq: 16 });
    expect(a.params).toBe(b.params);
    expect(a.rows.find((r) => r.name === "head")!.kind).toMatch(/softcap 2\.5/);
    expect(printGraph(inferenceGraph(capped))).toMatch(/softcap\s+2\.5 · tanh\(%\d+ \/ 2\.5\)/);
  });

  it.each(TARGETS)("%s: logits are cap · tanh(uncapped / cap)", async (target) => {
    const device = target === "webgpu" ? await gpuDevice() : undefined;
    if (target === "webgpu" && !device) return;
    const ref = await createModel("reference", plain, w);
    const z = await ref.forward(tokens);
    const want = z.map((x) => CAP * Math.tanh(x / CAP));
    expect(z.some((x) => Math.abs(x) > 2 * CAP)).toBe(true);
    const model = await createModel(target, capped, w, device ? { device } : {});
    try {
      const got = await model.forward(tokens);
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
      expect(err).toBeLessThan(1e-4 * CAP);
      // Incremental decoding goes through the same op.
      const s = await model.begin({ batch: 1 });
      const first = await model.step(s, tokens.subarray(0, 9), 9);
      const rest = await model.step(s, tokens.subarray(9), 7);
      s.dispose();
      const inc = new Float32Array([...first, ...rest]);
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(inc[i] - want[i]));
      expect(err).toBeLessThan(1e-4 * CAP);
    } finally {
      model.dispose();
      ref.dispose();
    }
  });
});
