/**
 * How a generated module binds its weights to the program it runs. A package built with
 * `--dtype` has a program whose weight nodes carry their storage: any checkpoint is converted
 * to it at load, tensor by tensor (a low-bit file already in that storage is read as it is; one
 * in another low-bit storage is refused, it would quantise twice). A package built for f32
 * takes a specformer low-bit file in its storage where the backend compiles at load (reference,
 * WebGPU), and dequantised where its build is fixed (Wasm).
 */
import type { Graph } from "../../ir/ir.ts";
import type { ModelInfo } from "../../model/model.ts";
import { bindWeightStore, bindWeights, type BindOptions } from "../../runtime/bind-weights.ts";
import type { SafetensorsFile } from "../../runtime/safetensors.ts";
import { isLowBitFile } from "../../runtime/weights/file.ts";
import { STORAGE_DTYPES, storageOf, type StorageDType, type WeightStore } from "../../runtime/weights/format.ts";
import { programStorage, withStorage } from "../../runtime/weights/store.ts";
import { WeightsError } from "../../runtime/safetensors.ts";

/** The widest-saving storage the program uses (what planStorage was asked for at build), or undefined for f32. */
export function builtDtype(graph: Graph): StorageDType | undefined {
  const used = new Set(programStorage(graph).values());
  return [...STORAGE_DTYPES].reverse().find((d) => d !== "f32" && used.has(d));
}

export function bindForProgram(m: ModelInfo, file: SafetensorsFile, graph: Graph, opts: BindOptions, compilesAtLoad: boolean): { weights: WeightStore; graph: Graph } {
  const dtype = builtDtype(graph);
  if (dtype !== undefined) {
    const weights = bindWeightStore(m, file, graph, { ...opts, dtype });
    for (const [name, want] of programStorage(graph)) {
      const w = weights.get(name);
      if (w !== undefined && storageOf(w) !== want) throw new WeightsError(`is ${storageOf(w)} after loading, but this package was built for ${want}`, name);
    }
    return { weights, graph };
  }
  if (compilesAtLoad && isLowBitFile(file)) {
    const weights = bindWeightStore(m, file, graph, opts);
    return { weights, graph: withStorage(graph, weights) };
  }
  return { weights: bindWeights(m, file, opts), graph };
}
