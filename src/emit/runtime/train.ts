/**
 * train.js of a generated module: fine-tuning (src/train's backward program, AdamW, schedules)
 * bundled apart from runtime.js and imported by index.js only when trainer() is called, so a page
 * that only runs the model never downloads it. Reads the starting weights as load() does (bytes,
 * path, URL, checkpoint directory; the same name maps), a checkpoint() to resume, or none (a fresh
 * initialisation from the seed).
 */
import { initialWeights } from "../../train/init.ts";
import { CHECKPOINT_FORMAT, readCheckpoint } from "../../train/checkpoint.ts";
import { Trainer } from "../../train/trainer.ts";
import type { AdamState } from "../../train/optim.ts";
import type { TrainConfig } from "../../train/trainer.ts";
import type { ModelInfo } from "../../model/model.ts";
import { bindWeights } from "../../runtime/bind-weights.ts";
import { ModelInputError } from "../../runtime/model-api.ts";
import type { Progress, WeightsSource } from "../../runtime/weights-source.ts";
import type { Manifest } from "../manifest.ts";
import { bindOptions, manifestModel, readWeightsFile, type LoadOptions } from "./shared.ts";
import { ModuleTrainer, type ModelLoader } from "./train-api.ts";
import { hasTrainWasm, packagedWasmKernels } from "./train-wasm.ts";
import { checkKeys, givenOptions, resolveConfig, resumedConfig, TRAIN_BACKENDS, type TrainBackend, type UpdateOptions } from "./train-options.ts";

export { ModelInputError } from "../../runtime/model-api.ts";

export interface TrainerOptions extends UpdateOptions, LoadOptions {
  backend?: TrainBackend;
}

interface Start {
  config: TrainConfig;
  params: Map<string, Float32Array>;
  state?: AdamState;
}

async function start(manifest: Manifest, m: ModelInfo, source: WeightsSource | null, opts: TrainerOptions): Promise<Start> {
  const given = givenOptions(opts);
  if (source === null) {
    const config = resolveConfig(m, given);
    return { config, params: initialWeights(m, config.seed) };
  }
  const onProgress = opts.onProgress ? (p: Progress) => opts.onProgress!(p) : undefined;
  const { file, bytes } = await readWeightsFile(source, onProgress);
  let out: Start;
  if (bytes !== undefined && file.metadata.format === CHECKPOINT_FORMAT) {
    const ck = readCheckpoint(m, bytes);
    out = { config: resumedConfig(ck.meta.config, given, ck.meta.step), params: ck.params, state: ck.state };
  } else {
    const config = resolveConfig(m, given);
    // Copies: the optimiser updates its parameters in place, never the caller's buffer.
    const bound = bindWeights(m, file, bindOptions(manifest, m, file, bytes === undefined, opts));
    out = { config, params: new Map([...bound].map(([k, v]) => [k, Float32Array.from(v)])) };
  }
  opts.onProgress?.({ phase: "bind", loaded: out.params.size, total: out.params.size });
  return out;
}

/**
 * A wasm-target package trains on its Wasm kernels by default: the page chose Wasm for speed, and
 * they are float32 as its inference is. Elsewhere the float64 reference kernels stay the default.
 */
const defaultBackend = (manifest: Manifest): TrainBackend => (manifest.target === "wasm" && hasTrainWasm(manifest) ? "wasm" : "reference");

/** trainer(weights, opts) of index.js; `load` builds model()'s inference models; `base` is where index.js lies. */
export async function openTrainer(manifest: Manifest, source: WeightsSource | null | undefined, opts: TrainerOptions, load: ModelLoader, base: URL): Promise<ModuleTrainer> {
  if (opts === null || typeof opts !== "object") throw new ModelInputError("trainer(): options must be an object");
  checkKeys(opts);
  const backend = opts.backend ?? defaultBackend(manifest);
  if (!(TRAIN_BACKENDS as readonly string[]).includes(backend)) {
    throw new ModelInputError(`trainer(): backend ${JSON.stringify(backend)} has no training kernels yet; the backends are ${TRAIN_BACKENDS.map((b) => `"${b}"`).join(", ")}`);
  }
  if (source === undefined) throw new ModelInputError("trainer(): give the starting weights (as load() takes them), a checkpoint() to resume, or null for a fresh initialisation");
  const m = manifestModel(manifest);
  const [s, kernels] = await Promise.all([start(manifest, m, source, opts), backend === "wasm" ? packagedWasmKernels(manifest, base) : undefined]);
  const trainer = new Trainer(m, s.config, s.params, s.state, kernels);
  const loadOptions = Object.fromEntries(Object.entries({ threads: opts.threads, device: opts.device }).filter(([, v]) => v !== undefined));
  return new ModuleTrainer(m, trainer, load, loadOptions);
}
