// What the Hugging Face checkpoint tests share (test/hf-import.test.ts, test/hf-families.test.ts):
// the parity files scripts/make-hf-fixtures.py writes, the relative error every parity check
// uses, loading a directory as `forward DIR` / `run DIR` do, one target's parity check, and the
// CLI in process (test/helpers/cli-in-process.ts).

import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createModel } from "../../backends/registry.ts";
import { loadSpecOrCheckpoint, loadWeights } from "../../src/cli/load-model.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import type { ForwardOptions, Model } from "../../src/runtime/model-api.ts";
import { parseSafetensors, type SafetensorsFile } from "../../src/runtime/safetensors.ts";
import { maxRelError } from "./rel-error.ts";

export { cli } from "./cli-in-process.ts";

export const HF = "test/fixtures/hf";

export interface Parity {
  tokens: Int32Array;
  batch: number;
  seq: number;
  opts: ForwardOptions;
  logits: Float32Array;
  prompt?: Int32Array;
  greedy?: Int32Array;
}

/** test/fixtures/hf/parity/<fixture>.safetensors: the inputs, PyTorch's logits and greedy continuation. */
export function parity(fixture: string): Parity {
  const p: SafetensorsFile = parseSafetensors(readFileSync(`${HF}/parity/${fixture}.safetensors`));
  const [batch, seq] = p.get("input.tokens").shape;
  const opts: ForwardOptions = { batch, seq };
  if (p.tensors.has("input.mask")) opts.mask = p.bool("input.mask");
  if (p.tensors.has("input.types")) opts.inputs = { types: p.i32("input.types") };
  return {
    tokens: p.i32("input.tokens"),
    batch,
    seq,
    opts,
    logits: p.f32("expected.logits"),
    ...(p.tensors.has("greedy.prompt") ? { prompt: p.i32("greedy.prompt"), greedy: p.i32("greedy.tokens") } : {}),
  };
}

/** max |got − want| / max |want|, the 1e-4 tolerance of every parity test (no floor). */
export const relError = (got: Float32Array, want: Float32Array): number => maxRelError(got, want, 0);

/** The model and weights as `forward DIR` / `run DIR` load them. */
export async function loadDir(dir: string): Promise<{ m: ModelInfo; w: Map<string, Float32Array> }> {
  const { m, checkpoint } = await loadSpecOrCheckpoint(dir, { color: false });
  expect(checkpoint?.dir).toBe(dir);
  return { m, w: await loadWeights(m, checkpoint!.dir, { map: checkpoint!.map }) };
}

/**
 * The directory on one target: forward's relative error against PyTorch's logits (asserted below
 * 1e-4), and for a causal fixture greedy decoding equal to PyTorch's continuation. The model is
 * handed to `keep` for the caller to dispose.
 */
export async function checkParity(fixture: string, target: "reference" | "wasm" | "webgpu", device: GPUDevice | undefined, keep: (m: Model) => void): Promise<number> {
  const p = parity(fixture);
  const { m, w } = await loadDir(`${HF}/${fixture}`);
  const model = await createModel(target, m, w, target === "webgpu" ? { device: device! } : {});
  keep(model);
  const e = relError(await model.forward(p.tokens, p.opts), p.logits);
  expect(e).toBeLessThan(1e-4);
  if (p.prompt && p.greedy) {
    const ids: number[] = [];
    for await (const id of model.generate(p.prompt, { maxTokens: p.greedy.length, temperature: 0 })) ids.push(id);
    expect(ids).toEqual(Array.from(p.greedy));
  }
  return e;
}

const TARGETS = ["reference", "wasm", "webgpu"] as const;

/**
 * For each fixture and target, forward and greedy decoding against PyTorch (checkParity); the
 * measured errors are printed after the file, under `label`. Without a device webgpu is skipped.
 */
export function describeParity(label: string, fixtures: readonly string[], device: GPUDevice | undefined): void {
  const measured: string[] = [];
  afterAll(() => {
    if (measured.length) console.log(`${label} parity (max |Δ| / max |logit|):\n  ${measured.join("\n  ")}`);
  });
  describe.each(fixtures)("%s directory", (fixture) => {
    const models: Model[] = [];
    afterAll(() => models.forEach((m) => m.dispose()));
    it.each(TARGETS)(
      "forward on %s matches PyTorch within 1e-4; greedy decoding reproduces its continuation",
      async (target) => {
        if (target === "webgpu" && !device) return;
        const e = await checkParity(fixture, target, device, (m) => models.push(m));
        measured.push(`${fixture} ${target}: ${e.toExponential(2)}`);
      },
      600_000,
    );
  });
}
