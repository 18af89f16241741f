// Issue 14: the wasm compile cache keys on everything that changes the build, the weights'
// storage included: a q4 build (other panels, dequantising kernels) is never served to an f32
// run, nor the f32 build to `run --dtype q4`, and each is cached under its own key.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkFile } from "../src/check/check.ts";
import { cacheKey, openModel } from "../src/cli/compile-cache.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import type { Model } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { convertStore, withStorage } from "../src/runtime/weights/store.ts";
import { maxRelError } from "./helpers/rel-error.ts";

const SPEC = "specs/demo-fortune.sf";
const WEIGHTS = "models/demo-fortune.safetensors";
const dir = mkdtempSync(join(tmpdir(), "sf-cache-dtype-"));
const cache = join(dir, "cache");
const entries = () => readdirSync(join(cache, "wasm")).filter((f) => f.endsWith(".bin"));

describe("cache keys", () => {
  it("differ by the storage of the weights the program reads", () => {
    const m = checkFile(SPEC).entry!;
    const f32 = inferenceGraph(m);
    const w = randomWeights(m, 1);
    const keys = [f32, ...(["q4", "q8", "f16"] as const).map((d) => withStorage(f32, convertStore(f32, w, d)))].map((p) => cacheKey(m, false, p));
    expect(new Set(keys).size).toBe(4);
    expect(cacheKey(m, false, inferenceGraph(m))).toBe(keys[0]);
  });
});

// openModel is what `run` and `forward` open every model through (f32 and low-bit alike); in
// process the compiler's fingerprint is read once, so a tree edited meanwhile cannot turn a
// hit into a (correct) rebuild.
describe("openModel on wasm: f32, then q4, then both again", () => {
  it("compiles each storage once, serves each its own build, and computes the reference's logits", async () => {
    const saved = process.env.SPECFORMER_CACHE;
    process.env.SPECFORMER_CACHE = cache;
    try {
      const m = checkFile(SPEC).entry!;
      const f32 = bindWeights(m, parseSafetensors(readFileSync(WEIGHTS)));
      const q4 = convertStore(inferenceGraph(m), f32, "q4");
      const tokens = Int32Array.from([84, 104, 101, 32, 99, 97, 116]);
      const opts = { batch: 1, seq: tokens.length };
      const logits = async (model: Model) => {
        try {
          return await model.forward(tokens, opts);
        } finally {
          model.dispose();
        }
      };
      const expected = { f32: await logits(await createModel("reference", m, f32)), q4: await logits(await createModel("reference", m, q4)) };
      const seen: string[] = [];
      for (const [name, w] of [["f32", f32], ["q4", q4], ["q4", q4], ["f32", f32]] as const) {
        const { model, compiled } = await openModel("wasm", m, w);
        seen.push(`${name} ${compiled}`);
        // q4 rounds each activation row to int8 per block (src/runtime/weights/activations.ts): a 1-ulp
        // difference upstream can move one code, so q4 builds agree with the reference to ~1e-3 on a
        // trained model (README, low-bit accuracy), f32 to 1e-4.
        expect(maxRelError(await logits(model), expected[name]), `${name}, ${compiled}`).toBeLessThan(name === "q4" ? 1e-3 : 1e-4);
      }
      expect(seen).toEqual(["f32 compiled", "q4 compiled", "q4 cached", "f32 cached"]);
      expect(entries()).toHaveLength(2);
      // The two storages compute differently: serving one the other's build would show.
      expect(maxRelError(expected.q4, expected.f32)).toBeGreaterThan(1e-2);
    } finally {
      if (saved === undefined) delete process.env.SPECFORMER_CACHE;
      else process.env.SPECFORMER_CACHE = saved;
    }
  }, 600_000);
});
