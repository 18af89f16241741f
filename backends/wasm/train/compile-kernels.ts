// The Wasm training kernels through binaryen (../compile.ts): one kernel's module, compiled and
// instantiated synchronously on first use (the CLI's WasmTrainKernels), or the binaries of a
// model's whole set in both SIMD flavours (`specformer build`). A generated module's train.js
// never bundles this file (scripts/bundle-runtimes.mjs stubs it): it ships the binaries.

import { assemble } from "../compile.ts";
import type { EmitFlags } from "../wat.ts";
import { emitTrainModule } from "./emit-train-module.ts";
import type { TrainKernel } from "./kernel-names.ts";

/** The kernel's module (worker threads instantiate it too, on the same shared memory) and its instance's exports. */
export function compileKernel(k: TrainKernel, fl: EmitFlags, memory: WebAssembly.Memory): { module: WebAssembly.Module; exports: WebAssembly.Exports } {
  const module = new WebAssembly.Module(assemble(emitTrainModule([k], fl), fl) as Uint8Array<ArrayBuffer>);
  return { module, exports: new WebAssembly.Instance(module, { env: { memory } }).exports };
}

/** One module holding every kernel of `kernels`, plain SIMD128 and relaxed SIMD (the loader picks one, as for inference). */
export function compileTrainModules(kernels: readonly TrainKernel[]): { plain: Uint8Array; relaxed: Uint8Array } {
  const build = (relaxed: boolean) => {
    const fl = { relaxed, threads: false };
    return assemble(emitTrainModule(kernels, fl), fl);
  };
  return { plain: build(false), relaxed: build(true) };
}
