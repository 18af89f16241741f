// The generated .d.ts offers exactly what the runtime accepts: each declared capability is
// checked against the runtime's behaviour on the same model, so types and runtime cannot drift.
import { describe, expect, it } from "vitest";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { declarations } from "../src/emit/declarations.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { loadTiny } from "./helpers/tiny-specs.ts";

const cases = ["tiny-gpt2.sf", "tiny-torch-encoder.sf", "tiny-torch-transformer.sf", "tiny-window.sf"];

describe.each(cases)("declarations of specs/%s", (file) => {
  const m = loadTiny(file);
  const dts = declarations(m, "reference", `specs/${file}`);
  const model = createReferenceModel(m, inferenceGraph(m), randomWeights(m, 1));
  const hasEncoder = m.sections.some((s) => s.role === "encoder");
  const src = hasEncoder ? { src: { tokens: new Int32Array(2), seq: 2 } } : {};

  it("declares begin/step/generate exactly when begin() succeeds", async () => {
    const declared = /\bbegin\(opts/.test(dts);
    const works = await model.begin({ batch: 1, ...src }).then(
      (s) => (s.dispose(), true),
      () => false,
    );
    expect(declared).toBe(works);
  });

  it("declares forward's mask exactly when forward() accepts one", async () => {
    const declared = /^\s+mask\?: Uint8Array;$/m.test(dts);
    const accepts = await model.forward(new Int32Array(2), { batch: 1, seq: 2, mask: new Uint8Array([1, 1]), ...src }).then(
      () => true,
      () => false,
    );
    expect(declared).toBe(accepts);
  });

  it("makes forward's options optional exactly when forward(tokens) works", async () => {
    const declared = /forward\(tokens: Int32Array, opts\?:/.test(dts);
    const works = await model.forward(new Int32Array(2)).then(
      () => true,
      () => false,
    );
    expect(declared).toBe(works);
  });
});
