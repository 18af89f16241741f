// Training checkpoints: one safetensors file holding the float32 parameters (`param.<name>`),
// Adam's float32 moments (`adam.m.<name>`, `adam.v.<name>`) and, in the metadata, the step
// count, the run's configuration, the data it read and the log so far. Since every random draw
// is a function of (seed, step), that is the whole state: resuming from a checkpoint repeats the
// uninterrupted run bit for bit.

import type { ModelInfo } from "../model/model.ts";
import { weightLayout } from "../model/weights-layout.ts";
import { parseSafetensors, writeSafetensors, WeightsError, type TensorToWrite } from "../runtime/safetensors.ts";
import type { AdamState } from "./optim.ts";
import type { TrainConfig } from "./trainer.ts";

export const CHECKPOINT_FORMAT = "specformer-train-checkpoint/1";

export interface CheckpointMeta {
  model: string;
  step: number;
  config: TrainConfig;
  /** What the run trained on: file name, size, SHA-256. */
  data: { file: string; bytes: number; sha256: string };
  /** The JSON log so far (train-command.ts's TrainLog). */
  log: unknown;
}

export function writeCheckpoint(m: ModelInfo, params: ReadonlyMap<string, Float32Array>, state: AdamState, meta: CheckpointMeta): Uint8Array {
  const tensors: TensorToWrite[] = [];
  for (const t of weightLayout(m)) {
    tensors.push({ name: `param.${t.name}`, dtype: "F32", shape: t.shape, data: params.get(t.name)! });
    tensors.push({ name: `adam.m.${t.name}`, dtype: "F32", shape: t.shape, data: state.m.get(t.name)! });
    tensors.push({ name: `adam.v.${t.name}`, dtype: "F32", shape: t.shape, data: state.v.get(t.name)! });
  }
  return writeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    model: meta.model,
    step: String(meta.step),
    config: JSON.stringify(meta.config),
    data: JSON.stringify(meta.data),
    log: JSON.stringify(meta.log),
  });
}

export interface Checkpoint {
  meta: CheckpointMeta;
  params: Map<string, Float32Array>;
  state: AdamState;
}

/** Reads a checkpoint of model `m`; a file of another format or model is a WeightsError. */
export function readCheckpoint(m: ModelInfo, bytes: Uint8Array): Checkpoint {
  const f = parseSafetensors(bytes);
  const md = f.metadata;
  if (md.format !== CHECKPOINT_FORMAT) throw new WeightsError(`not a specformer training checkpoint (its metadata has no format "${CHECKPOINT_FORMAT}")`);
  if (md.model !== m.name) throw new WeightsError(`the checkpoint is of model ${md.model}, not ${m.name}`);
  const step = Number(md.step);
  if (!Number.isSafeInteger(step) || step < 0) throw new WeightsError(`the checkpoint's step "${md.step}" is not a count`);
  let meta: CheckpointMeta;
  try {
    meta = { model: md.model!, step, config: JSON.parse(md.config!), data: JSON.parse(md.data!), log: JSON.parse(md.log ?? "null") };
  } catch {
    throw new WeightsError("the checkpoint's metadata is not valid JSON");
  }
  const params = new Map<string, Float32Array>();
  const m1 = new Map<string, Float32Array>();
  const v1 = new Map<string, Float32Array>();
  for (const t of weightLayout(m)) {
    for (const [prefix, into] of [["param.", params], ["adam.m.", m1], ["adam.v.", v1]] as const) {
      const name = prefix + t.name;
      const info = f.get(name);
      if (info.dtype !== "F32" || info.shape.join(",") !== t.shape.join(",")) {
        throw new WeightsError(`is ${info.dtype} [${info.shape.join(", ")}], expected F32 [${t.shape.join(", ")}]`, name);
      }
      into.set(t.name, f.f32(name));
    }
  }
  return { meta, params, state: { step, m: m1, v: v1 } };
}
