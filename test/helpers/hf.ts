// What the Hugging Face checkpoint tests share (test/hf-import.test.ts, test/hf-families.test.ts):
// the parity files scripts/make-hf-fixtures.py writes, the relative error every parity check
// uses, loading a directory as `forward DIR` / `run DIR` do, and the CLI in process.

import { readFileSync } from "node:fs";
import { expect, vi } from "vitest";
import { loadSpecOrCheckpoint, loadWeights } from "../../src/cli/load-model.ts";
import { main } from "../../src/cli/main.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import type { ForwardOptions } from "../../src/runtime/model-api.ts";
import { parseSafetensors, type SafetensorsFile } from "../../src/runtime/safetensors.ts";

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

/** max |got − want| / max |want|, the 1e-4 tolerance of every parity test. */
export function relError(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / scale;
}

/** The model and weights as `forward DIR` / `run DIR` load them. */
export async function loadDir(dir: string): Promise<{ m: ModelInfo; w: Map<string, Float32Array> }> {
  const { m, checkpoint } = await loadSpecOrCheckpoint(dir, { color: false });
  expect(checkpoint?.dir).toBe(dir);
  return { m, w: await loadWeights(m, checkpoint!.dir, { map: checkpoint!.map }) };
}

/** main() with stdout / stderr captured; returns the exit code. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  const before = new Set([...process.stdout.listeners("error"), ...process.stderr.listeners("error")]);
  try {
    await main(["node", "specformer", ...args]);
  } finally {
    for (const s of [process.stdout, process.stderr]) for (const l of s.listeners("error")) if (!before.has(l)) s.off("error", l as (e: Error) => void);
    vi.restoreAllMocks();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout: out.join(""), stderr: err.join("") };
}
