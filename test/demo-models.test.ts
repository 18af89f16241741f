// The shipped demo models (specs/demo-fortune*.sf, models/, scripts/train-demo.py): the specs
// check clean, the trained weights bind under their native names, the reference backend
// reproduces PyTorch's logits for each parity prompt, and greedy generation is deterministic,
// matches PyTorch's greedy continuation and decodes to printable text.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { checkFile } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { paramCount, weightLayout } from "../src/model/weights-layout.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import type { Model } from "../src/runtime/model-api.ts";
import { parseSafetensors, type SafetensorsFile } from "../src/runtime/safetensors.ts";
import { tokenizerFor } from "../src/runtime/tokenizer.ts";

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

const DEMOS = [
  { name: "demo-fortune", model: "demo_fortune", window: undefined },
  { name: "demo-fortune-window", model: "demo_fortune_window", window: 32 },
] as const;

/** Printable text: what a fortune is made of (no control bytes but newline and tab). */
const PRINTABLE = /^[\x20-\x7e\n\t]+$/;

async function collect(it: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const t of it) out.push(t);
  return out;
}

describe.each(DEMOS)("$name", ({ name, model: modelName, window }) => {
  let m: ModelInfo;
  let weightsFile: SafetensorsFile;
  let parity: SafetensorsFile;
  let model: Model;

  beforeAll(() => {
    const r = checkFile(root(`specs/${name}.sf`));
    expect(r.diagnostics.map((d) => `${d.code}: ${d.message}`)).toEqual([]);
    m = r.entry!;
    weightsFile = parseSafetensors(readFileSync(root(`models/${name}.safetensors`)));
    parity = parseSafetensors(readFileSync(root(`models/${name}.parity.safetensors`)));
    model = createReferenceModel(m, inferenceGraph(m), bindWeights(m, weightsFile));
  });
  afterAll(() => model?.dispose());

  it("spec checks clean and declares the byte tokenizer", () => {
    expect(m.name).toBe(modelName);
    expect(m.tokenizer).toEqual({ kind: "byte" });
    expect(m.head.vocab).toBe(257);
    expect(paramCount(m)).toBe(859_008);
    const attn = m.sections[0].steps.flatMap((s) => (s.op === "stack" ? s.stack.sublayers : [])).find((s) => s.kind === "attention");
    expect(attn?.kind === "attention" && attn.window).toBe(window);
  });

  it("ships F32 weights under exactly the native names, no map needed", () => {
    const layout = weightLayout(m);
    expect([...weightsFile.tensors.keys()].sort()).toEqual(layout.map((t) => t.name).sort());
    for (const t of weightsFile.tensors.values()) expect(t.dtype, t.name).toBe("F32");
    expect(weightsFile.metadata.spec).toBe(`specs/${name}.sf`);
  });

  it("reference logits match PyTorch's for the parity prompt (1e-4 relative)", async () => {
    const [batch, seq] = parity.get("input.tokens").shape;
    expect(batch).toBe(1);
    if (window !== undefined) expect(seq).toBeGreaterThan(window); // the window is exercised
    const want = parity.f32("expected.logits");
    const got = await model.forward(parity.i32("input.tokens"), { batch, seq });
    expect(got.length).toBe(want.length);
    let maxErr = 0;
    let maxAbs = 0;
    for (let i = 0; i < want.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(want[i]));
      const e = Math.abs(got[i] - want[i]);
      maxErr = Number.isNaN(e) ? Infinity : Math.max(maxErr, e);
    }
    expect(maxErr, `max |error| ${maxErr.toExponential(3)}, max |expected| ${maxAbs.toFixed(3)}`).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs));
  });

  it("greedy generation continues the parity prompt exactly as PyTorch's did", async () => {
    const want = Array.from(parity.i32("expected.greedy"));
    expect(want.length).toBeGreaterThan(0);
    // End of text is not a stop here (the fixture continues past it, as a stream of fortunes).
    const got = await collect(model.generate(parity.i32("input.tokens"), { maxTokens: want.length, stop: [] }));
    expect(got).toEqual(want);
  });

  it("greedy generation from a text prompt is deterministic and decodes to printable text", async () => {
    const tok = tokenizerFor(m);
    const prompt = tok.encodePrompt("The ");
    const opts = { maxTokens: 20, stop: [...tok.stop] };
    const a = await collect(model.generate(prompt, opts));
    const b = await collect(model.generate(prompt, opts));
    expect(a).toEqual(b);
    expect(a.length).toBeGreaterThan(0);
    const text = tok.decode(a);
    expect(text).toMatch(PRINTABLE);
    expect(text).toMatch(/[a-z]{2}/); // words, not noise
  });
});
