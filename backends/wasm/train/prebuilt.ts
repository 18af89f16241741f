// A prebuilt module of Wasm training kernels (compile-kernels.ts's compileTrainModules), made
// ready for WasmTrainKernels: instantiated asynchronously against a memory of its own, as a
// browser's main thread requires (synchronous compilation of a large module is refused there).

import { trainMemory } from "./kernel-memory.ts";

export interface PrebuiltTrainModule {
  /** Every kernel's functions, under kernel-names.ts's names. */
  exports: WebAssembly.Exports;
  /** The memory the instance imports as env.memory. */
  memory: WebAssembly.Memory;
}

export async function instantiateTrainModule(binary: Uint8Array | WebAssembly.Module): Promise<PrebuiltTrainModule> {
  const memory = trainMemory();
  const module = binary instanceof WebAssembly.Module ? binary : await WebAssembly.compile(binary as Uint8Array<ArrayBuffer>);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return { exports: instance.exports, memory };
}
