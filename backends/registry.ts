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
}

/** Checked model + native weights → the Model API on `target`. */
export async function createModel(target: Target, m: ModelInfo, weights: Map<string, Float32Array>, opts: CreateOptions = {}): Promise<Model> {
  const backend = await backendFor(target);
  const program = opts.program ?? inferenceGraph(m);
  const ex = await backend.instantiate(m, program, opts.artifact, weights, opts);
  return new CompiledModel(m, program, ex, BUILD_NAMES[target]);
}
