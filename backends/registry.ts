// One registry of backends, by target. The CLI, the build step and the tests reach every
// backend through here; src/runtime knows only the interface (src/runtime/executor.ts).
// The compiled backends load on demand: Dawn's binding and binaryen are large.

import type { ModelInfo } from "../src/model/model.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { Graph } from "../src/ir/ir.ts";
import type { Backend, InstantiateOptions } from "../src/runtime/executor.ts";
import { BackendUnavailableError, type Model } from "../src/runtime/model-api.ts";
import { CompiledModel } from "../src/runtime/model.ts";
import { TARGETS, type Target } from "../src/runtime/targets.ts";
import { isLowBit, type StorageDType, type StoredWeight } from "../src/runtime/weights/format.ts";
import { convertStore, hasLowBit, withStorage } from "../src/runtime/weights/store.ts";
import { referenceBackend } from "./reference/backend.ts";

export { TARGETS, type Target } from "../src/runtime/targets.ts";

const BUILD_NAMES: Record<Target, string> = { reference: "reference", wasm: "Wasm", webgpu: "WebGPU" };

export async function backendFor(target: Target): Promise<Backend> {
  switch (target) {
    case "reference":
      return referenceBackend as Backend;
    case "wasm":
      return (await import("./wasm/backend.ts")).wasmBackend as Backend;
    case "webgpu":
      return (await import("./wgsl/backend.ts")).webgpuBackend as Backend;
    default:
      throw new BackendUnavailableError(`unknown target ${String(target)}; use ${TARGETS.join(", ")}`);
  }
}

export interface CreateOptions extends InstantiateOptions {
  /** A build of this backend for this model (a package's, a cache's): skips compiling. */
  artifact?: unknown;
  /** The program to run; default the model's inference graph. */
  program?: Graph;
  /**
   * Weight storage: f16 / q8 / q4 quantise the linear weights and embedding tables at load
   * (src/runtime/weights/store.ts planStorage), f32 dequantises. Default: as `weights` holds them.
   */
  dtype?: StorageDType;
  /** With `dtype`: tensor names (or `*` globs) kept in f32. */
  keep?: readonly string[];
}

/**
 * Checked model + native weights → the Model API on `target`. Weights may be low-bit
 * (src/runtime/weights/): the program's weight nodes are marked with their storage and each
 * backend compiles for it.
 */
export async function createModel(target: Target, m: ModelInfo, weights: ReadonlyMap<string, StoredWeight>, opts: CreateOptions = {}): Promise<Model> {
  let program = opts.program ?? inferenceGraph(m);
  const store = opts.dtype !== undefined ? convertStore(program, weights, opts.dtype, opts.keep ? { keep: opts.keep } : {}) : weights;
  if (hasLowBit(program) || [...store.values()].some(isLowBit)) program = withStorage(program, store);
  const backend = await backendFor(target);
  // The Backend interface (src/runtime/executor.ts) still names f32 maps; every backend takes
  // any StoredWeight.
  const ex = await backend.instantiate(m, program, opts.artifact, store as Map<string, Float32Array>, opts);
  return new CompiledModel(m, program, ex, BUILD_NAMES[target]);
}
