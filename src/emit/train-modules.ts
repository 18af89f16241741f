/**
 * The Wasm training kernels a package ships beside train.js: one module holding every kernel the
 * model's backward program runs (backends/wasm/train/kernel-set.ts — they bake in only model
 * dims, so the set is known now), in both SIMD flavours, for trainer({ backend: "wasm" }). A
 * model without a training program (no logits) gets none; its trainer() says why.
 */
import { compileTrainModules } from "../../backends/wasm/train/compile-kernels.ts";
import { modelTrainKernels } from "../../backends/wasm/train/kernel-set.ts";
import type { ModelInfo } from "../model/model.ts";
import { BackwardError } from "../train/autodiff.ts";
import { TRAIN_WASM_ROLES } from "./runtime/train-wasm.ts";

export const TRAIN_WASM_FILES = { plain: "train.wasm", relaxed: "train.relaxed.wasm" } as const;

export function trainModuleFiles(m: ModelInfo): { files: Record<string, Uint8Array>; artifacts: Record<string, string> } {
  let kernels;
  try {
    kernels = modelTrainKernels(m);
  } catch (e) {
    if (e instanceof BackwardError) return { files: {}, artifacts: {} };
    throw e;
  }
  const { plain, relaxed } = compileTrainModules(kernels);
  return {
    files: { [TRAIN_WASM_FILES.plain]: plain, [TRAIN_WASM_FILES.relaxed]: relaxed },
    artifacts: { [TRAIN_WASM_ROLES.plain]: TRAIN_WASM_FILES.plain, [TRAIN_WASM_ROLES.relaxed]: TRAIN_WASM_FILES.relaxed },
  };
}
