import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkFile } from "../src/check/check.ts";
import { paramCount } from "../src/model/weights-layout.ts";
import { inferenceGraph } from "../src/ir/lower.ts";

const specs = readdirSync("specs").filter((f) => f.endsWith(".sf"));

/**
 * Published parameter counts (source in each spec's header comment). The figure for
 * transformer-base is exact for its stated vocabulary; the paper rounds to 65M.
 */
const PUBLISHED: Record<string, number> = {
  "gpt2-small.sf": 124_439_808,
  "gpt2-medium.sf": 354_823_168,
  "bert-base.sf": 109_514_298,
  "llama2-7b.sf": 6_738_415_616,
  "tinyllama-1.1b.sf": 1_100_048_384,
  "mistral-7b.sf": 7_241_732_096,
  "transformer-base.sf": 63_082_496,
  "linear-transformer.sf": 123_653_376,
  "bigbird-base.sf": 127_520_694,
};

describe("shipped specs", () => {
  it.each(specs)("%s checks with no diagnostics and lowers to a verified graph", (f) => {
    const r = checkFile(`specs/${f}`);
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
    expect(r.entry).toBeDefined();
    expect(() => inferenceGraph(r.entry!)).not.toThrow();
  });

  it.each(Object.entries(PUBLISHED))("%s has the published parameter count %i", (f, n) => {
    const m = checkFile(`specs/${f}`).entry!;
    expect(paramCount(m)).toBe(n);
  });

  it("LLaMA 2 13B, a sibling in the llama family, has its published count", () => {
    const m = checkFile("specs/llama2-7b.sf", { model: "llama2_13b" }).entry!;
    expect(paramCount(m)).toBe(13_015_864_320);
  });

  it("transformer-base is within 3% of the paper's rounded 65M", () => {
    const n = paramCount(checkFile("specs/transformer-base.sf").entry!);
    expect(Math.abs(n - 65e6) / 65e6).toBeLessThan(0.03);
  });

  it("every real architecture named in the issue is shipped", () => {
    for (const f of ["gpt2-small.sf", "gpt2-medium.sf", "bert-base.sf", "transformer-base.sf", "llama2-7b.sf", "tinyllama-1.1b.sf", "mistral-7b.sf"]) {
      expect(specs).toContain(f);
    }
  });
});
