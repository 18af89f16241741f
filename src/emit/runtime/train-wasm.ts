/**
 * trainer({ backend: "wasm" }) of a generated module: the Wasm SIMD training kernels the package
 * ships prebuilt (train.wasm, train.relaxed.wasm; package.ts writes them), the flavour this engine
 * supports — relaxed SIMD where it validates, plain SIMD128 otherwise — compiled and instantiated
 * asynchronously (a browser's main thread refuses synchronous compilation of a large module).
 * No binaryen here: the package's train.js only loads binaries.
 */
import { relaxedSimdSupported } from "../../../backends/wasm/backend.ts";
import { WasmTrainKernels } from "../../../backends/wasm/train/kernels.ts";
import { instantiateTrainModule } from "../../../backends/wasm/train/prebuilt.ts";
import { ModelInputError } from "../../runtime/model-api.ts";
import { readWeights } from "../../runtime/weights-source.ts";
import type { Manifest } from "../manifest.ts";

/** The manifest roles of the two flavours. */
export const TRAIN_WASM_ROLES = { plain: "train:plain", relaxed: "train:relaxed" } as const;

export const hasTrainWasm = (manifest: Manifest): boolean => manifest.artifacts[TRAIN_WASM_ROLES.plain] !== undefined;

export async function packagedWasmKernels(manifest: Manifest, base: URL): Promise<WasmTrainKernels> {
  if (!hasTrainWasm(manifest)) {
    throw new ModelInputError(
      manifest.target === "wasm"
        ? `trainer(): this package of model ${manifest.model.name} ships no Wasm training kernels (train.wasm): its model has no training program; backend "reference" says why`
        : `trainer(): backend "wasm" trains on the Wasm kernels a wasm package ships (train.wasm); this package is built for ${manifest.target}: build it with --target wasm, or use backend "reference"`,
    );
  }
  const relaxed = relaxedSimdSupported();
  const file = manifest.artifacts[relaxed ? TRAIN_WASM_ROLES.relaxed : TRAIN_WASM_ROLES.plain];
  if (file === undefined) throw new ModelInputError(`trainer(): this package ships no ${relaxed ? "relaxed" : "plain"} SIMD build of its training kernels; rebuild it with specformer build`);
  const prebuilt = await instantiateTrainModule(await readWeights(new URL(file, base)));
  return new WasmTrainKernels(prebuilt, relaxed);
}
