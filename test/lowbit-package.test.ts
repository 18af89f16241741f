// Generated packages with low-bit weights (src/emit/runtime/weights.ts): a package built with
// `--dtype q4` converts any checkpoint to its storage at load; an f32 package takes a q4 file in
// its storage on WebGPU (shaders compile at load) and dequantised on Wasm (its build is fixed).
// Oracle: the reference backend over the same stored weights, 1e-4 of max |logit|. Needs
// `npm run build` (the bundled runtimes in dist/runtime).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkFile } from "../src/check/check.ts";
import { buildArtifacts } from "../src/emit/build.ts";
import type { Target } from "../src/emit/manifest.ts";
import { writePackage } from "../src/emit/package.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import type { Model } from "../src/runtime/model-api.ts";
import { writeSafetensors } from "../src/runtime/safetensors.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { encodeStore } from "../src/runtime/weights/file.ts";
import type { StorageDType, WeightStore } from "../src/runtime/weights/format.ts";
import { dequantize } from "../src/runtime/weights/quantize.ts";
import { convertStore } from "../src/runtime/weights/store.ts";
import { relError } from "./helpers/conformance.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { installPeers } from "./helpers/packages.ts";

const device = await gpuDevice();
const root = mkdtempSync(join(tmpdir(), "sf-lowbit-pkg-"));
// tiny-llama with random weights: a trained model's q8 / q4 logits differ between backends at
// single positions, where one input code flips (test/lowbit-webgpu.test.ts says why).
const SPEC = "specs/tiny-llama.sf";
const m = checkFile(SPEC).entry!;
const graph = inferenceGraph(m);
const f32 = randomWeights(m, 21);
const f32Bytes = writeSafetensors(weightLayout(m).map((t) => ({ name: t.name, dtype: "F32" as const, shape: t.shape, data: f32.get(t.name)! })));
const stored = (dtype: StorageDType): WeightStore => convertStore(graph, f32, dtype);
const fileOf = (store: WeightStore) => encodeStore(weightLayout(m), store);
const t = Int32Array.from({ length: 13 }, (_, i) => (i * 37 + 5) % m.head.vocab);

const opened: Model[] = [];
afterAll(() => opened.forEach((x) => x.dispose()));

const built = new Map<string, Promise<{ load: (w: Uint8Array, o: object) => Promise<Model> }>>();
/** The package for (target, dtype), built once. */
function pkg(target: Target, dtype: StorageDType | undefined) {
  const key = `${target}-${dtype ?? "f32"}`;
  if (!built.has(key)) {
    built.set(key, (async () => {
      const dir = join(root, key);
      writePackage(dir, m, target, SPEC, await buildArtifacts(m, target, dtype ? { dtype } : {}), "specformer test");
      installPeers(dir);
      return import(pathToFileURL(join(dir, "index.js")).href);
    })());
  }
  return built.get(key)!;
}

async function load(target: Target, dtype: StorageDType | undefined, weights: Uint8Array): Promise<Model> {
  const mod = await pkg(target, dtype);
  const model: Model = await mod.load(weights, target === "webgpu" ? { device } : {});
  opened.push(model);
  return model;
}

async function expectLike(model: Model, store: WeightStore, what: string): Promise<void> {
  const ref = await createModel("reference", m, store);
  const e = relError(await model.forward(t, { batch: 1, seq: t.length }), await ref.forward(t, { batch: 1, seq: t.length }), m.head.vocab, t.length);
  expect(e.err, `${what}: ${e.err.toExponential(3)} at ${e.at}`).toBeLessThanOrEqual(1e-4);
}

describe.each(["wasm", "webgpu"] as const)("%s package", (target) => {
  const gpu = target === "webgpu";
  it.skipIf(gpu && !device)("built --dtype q4: an f32 checkpoint is quantised at load, a q4 file read as stored", async () => {
    await expectLike(await load(target, "q4", f32Bytes), stored("q4"), "f32 checkpoint into a q4 package");
    await expectLike(await load(target, "q4", fileOf(stored("q4"))), stored("q4"), "q4 file into a q4 package");
  });

  it.skipIf(gpu && !device)("built --dtype q4: a q8 file is a one-line error (it would quantise twice)", async () => {
    const err = await load(target, "q4", fileOf(stored("q8"))).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^tensor "decoder\.\d+\.[\w.]+": is stored as q8 in the file; converting it to q4 would quantise twice/);
  });

  it.skipIf(gpu && !device)(`an f32 package takes a q4 file ${gpu ? "in its storage" : "dequantised"}`, async () => {
    const q4 = stored("q4");
    const want = gpu ? q4 : new Map([...q4].map(([k, w]) => [k, dequantize(w)]));
    await expectLike(await load(target, undefined, fileOf(q4)), want, "q4 file into an f32 package");
  });
});
