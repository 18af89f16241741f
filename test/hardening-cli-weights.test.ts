// Issue 14: NaN / ±Inf weights are refused at load, naming the tensor and the first bad index
// (--allow-nonfinite loads them anyway); unreadable weight files are one-line I/O errors.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkFile } from "../src/check/check.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { bindWeights, NonFiniteWeightsError } from "../src/runtime/bind-weights.ts";
import { applyNameMap } from "../src/runtime/name-maps.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { parseSafetensors, WeightsError, writeSafetensors, type DType } from "../src/runtime/safetensors.ts";

const run = (...args: string[]) => spawnSync("node", ["bin/specformer.js", ...args], { encoding: "utf8", env: { ...process.env, SPECFORMER_CACHE: join(dir, "cache") } });
const dir = mkdtempSync(join(tmpdir(), "sf-hw-"));
const SPEC = "specs/tiny-gpt2.sf";
const m = checkFile(SPEC).entry!;

/** Native random weights for the tiny GPT-2 spec, with `poke` applied to one tensor. */
function weightsFile(poke?: { name: string; index: number; value: number }, dtype: DType = "F32"): Uint8Array {
  const w = randomWeights(m, 1);
  if (poke) w.get(poke.name)![poke.index] = poke.value;
  return writeSafetensors(weightLayout(m).map((t) => ({ name: t.name, dtype, shape: t.shape, data: w.get(t.name)! })));
}

function nonFinite(f: () => unknown): NonFiniteWeightsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NonFiniteWeightsError);
    expect(e).toBeInstanceOf(WeightsError);
    return e as NonFiniteWeightsError;
  }
  throw new Error("expected a NonFiniteWeightsError");
}

describe("bindWeights refuses non-finite values", () => {
  const layout = weightLayout(m);
  const matrix = layout.find((t) => t.shape.length === 2)!;
  const cols = matrix.shape[1];

  it.each([NaN, Infinity, -Infinity])("%s: names the tensor and its [row, col] index", (value) => {
    const e = nonFinite(() => bindWeights(m, parseSafetensors(weightsFile({ name: matrix.name, index: 2 * cols + 3, value }))));
    expect(e.tensor).toBe(matrix.name);
    expect(e.index).toEqual([2, 3]);
    expect(e.message).toBe(`tensor ${JSON.stringify(matrix.name)}: holds ${value} at index [2, 3]; weights must be finite`);
  });

  it("finds an Inf stored in an F16 file", () => {
    const e = nonFinite(() => bindWeights(m, parseSafetensors(weightsFile({ name: matrix.name, index: 5, value: Infinity }, "F16"))));
    expect(e.index).toEqual([0, 5]);
  });

  it("loads them with allowNonFinite", () => {
    const w = bindWeights(m, parseSafetensors(weightsFile({ name: matrix.name, index: 0, value: NaN })), { allowNonFinite: true });
    expect(Number.isNaN(w.get(matrix.name)![0])).toBe(true);
  });

  it("names the checkpoint's own tensor when a name map loads it", () => {
    // The committed fixture holds GPT-2 names; poison one of them.
    const f = parseSafetensors(readFileSync("test/fixtures/tiny-gpt2.safetensors"));
    const keep = [...f.tensors.values()].filter((t) => !t.name.startsWith("input.") && !t.name.startsWith("expected."));
    const target = keep.find((t) => t.name.endsWith("mlp.c_fc.weight"))!;
    const bytes = writeSafetensors(
      keep.map((t) => {
        if (t.name !== target.name) return { name: t.name, dtype: t.dtype as DType, shape: t.shape, data: f.raw(t.name) };
        const data = f.f32(t.name);
        data[7] = NaN;
        return { name: t.name, dtype: "F32" as DType, shape: t.shape, data };
      }),
    );
    const e = nonFinite(() => bindWeights(m, parseSafetensors(bytes), { map: (file, mi) => applyNameMap("gpt2", file, mi) }));
    expect(e.tensor).toBe(target.name);
    expect(e.index).toEqual([0, 7]);
  });
});

describe("run / forward with non-finite weights", () => {
  const layout = weightLayout(m);
  const bias = layout.find((t) => t.shape.length === 1)!;
  const nan = join(dir, "nan.safetensors");
  writeFileSync(nan, weightsFile({ name: bias.name, index: 3, value: NaN }));
  const input = join(dir, "in.safetensors");
  writeFileSync(input, writeSafetensors([{ name: "tokens", dtype: "I32", shape: [1, 3], data: Int32Array.from([1, 2, 3]) }]));

  it("forward: exit 1, one line naming the tensor and the index", () => {
    const r = run("forward", SPEC, "--weights", nan, "--input", input, "--out", join(dir, "out.safetensors"));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`specformer: tensor ${JSON.stringify(bias.name)}: holds NaN at index [3]; weights must be finite (--allow-nonfinite loads them anyway)\n`);
  });

  it("run: exit 1 instead of an internal error from argmax", () => {
    const r = run("run", SPEC, "--weights", nan, "--tokens", "1,2", "--max-tokens", "2");
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(bias.name);
  });

  it("--allow-nonfinite loads them", () => {
    const out = join(dir, "out-nan.safetensors");
    const r = run("forward", SPEC, "--weights", nan, "--input", input, "--out", out, "--allow-nonfinite");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(parseSafetensors(readFileSync(out)).tensors.has("logits")).toBe(true);
  });
});

describe("unreadable weight files", () => {
  it.each([
    ["a missing file", "/nonexistent/w.safetensors", /cannot read weights \/nonexistent\/w\.safetensors: no such file/],
    ["a directory", "specs", /cannot read weights specs: is a directory/],
  ])("run with %s: exit 2, one line", (_, path, message) => {
    const r = run("run", SPEC, "--weights", path, "--tokens", "1");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("forward with a missing file: exit 2", () => {
    const input = join(dir, "in2.safetensors");
    writeFileSync(input, writeSafetensors([{ name: "tokens", dtype: "I32", shape: [1, 1], data: Int32Array.from([1]) }]));
    const r = run("forward", SPEC, "--weights", "/nonexistent/w.safetensors", "--input", input, "--out", join(dir, "o"));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^specformer: cannot read weights/);
  });
});
