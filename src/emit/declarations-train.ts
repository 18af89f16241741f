/**
 * The fine-tuning part of a generated index.d.ts: `trainer()`, `Trainer`, `TrainerOptions`,
 * `TrainBatch` (src/emit/runtime/train*.ts). Like the rest of the file, the batch type offers
 * exactly what the runtime accepts: `mask` only with a padding input, `src` required for an
 * encoder–decoder, the extra int inputs by name, the bare-array form only where nothing else is needed.
 */
import type { ModelInfo } from "../model/model.ts";
import { MAP_NAMES } from "../runtime/name-maps.ts";
import { SCHEDULES } from "../train/schedule.ts";
import { TRAIN_BACKENDS } from "./runtime/train-options.ts";
import type { Target } from "./manifest.ts";

export interface TrainShape {
  /** The source type of an encoder–decoder, or undefined. */
  src: string | undefined;
  mask: boolean;
  /** Other int inputs, as `name: Int32Array` members. */
  extra: string[];
  /** Next-token windows are refused (bidirectional attention): `targets` is required. */
  windows: boolean;
}

const alts = (xs: readonly string[]) => xs.map((x) => JSON.stringify(x)).join(" | ");

export function trainDeclarations(m: ModelInfo, target: Target, shape: TrainShape): string[] {
  const bare = shape.windows && shape.src === undefined && shape.extra.length === 0;
  return [
    "export interface TrainerOptions {",
    "  /** Updates the run takes: the cosine schedule's horizon; trainStep() refuses more. Absent: no bound (constant or noam). */",
    "  steps?: number;",
    '  /** Default "cosine" with steps, "constant" without. */',
    `  schedule?: ${alts(SCHEDULES)};`,
    "  /** Peak rate (cosine, constant) or noam's factor; defaults 3e-3, 1e-3, 1 as `specformer train`. */",
    "  lr?: number;",
    "  /** Linear warm-up updates; default 5% of steps (0 without steps). */",
    "  warmup?: number;",
    "  /** cosine: the final rate as a fraction of lr (default 0.1). */",
    "  minLrRatio?: number;",
    '  /** Default "adamw": decoupled weight decay on matrices and tables, never on norms and biases. */',
    '  optimizer?: "adam" | "adamw";',
    "  betas?: [number, number];",
    "  eps?: number;",
    "  weightDecay?: number;",
    "  /** Global-norm gradient clipping; 0 = none (default 1). */",
    "  clip?: number;",
    `  /** Default: the spec's train(label_smoothing)${m.train.labelSmoothing !== undefined ? ` = ${m.train.labelSmoothing}` : ", else 0"}. */`,
    "  labelSmoothing?: number;",
    `  /** Model-wide dropout; default: the spec's train(dropout)${m.train.dropout !== undefined ? ` = ${m.train.dropout}` : ", else 0"}. */`,
    "  dropout?: number;",
    "  /** Dropout masks are a function of (seed, step); a null start is initialised from it. */",
    "  seed?: number;",
    target === "wasm"
      ? '  /** The kernels training runs on: "wasm" (Wasm SIMD in float32, the package\'s train.wasm; the default) or "reference" (JavaScript in float64). */'
      : '  /** The kernels training runs on: "reference" (JavaScript in float64); "wasm" needs a package built with --target wasm. */',
    `  backend?: ${alts(target === "wasm" ? TRAIN_BACKENDS : ["reference"])};`,
    "  /** Name map of the starting weights, as load() takes it. */",
    `  map?: ${alts(MAP_NAMES)};`,
    "  allowNonFinite?: boolean;",
    '  onProgress?: (p: { phase: "download" | "bind"; loaded: number; total: number }) => void;',
    ...(target === "wasm" ? ["  /** model()'s threads. */", "  threads?: number;"] : []),
    ...(target === "webgpu" ? ["  /** model()'s device. */", "  device?: GPUDevice;"] : []),
    "}",
    "",
    "/**",
    ...(shape.windows
      ? [
          " * One training batch. Without `targets`, next-token windows: `tokens` is [batch, seq + 1], the",
          " * model reads tokens[:, :-1] and predicts tokens[:, 1:]. With `targets`, both are [batch, seq]",
          " * and a negative target is ignored (a prompt's positions, padding).",
        ]
      : [" * One training batch: `tokens` and `targets` [batch, seq], a negative target ignored. Targets are", " * required: the model's attention is bidirectional, so next-token windows would show it the answers."]),
    ...(bare ? [" * A bare Int32Array is one window."] : []),
    " */",
    "export type TrainBatch =",
    ...(bare ? ["  | Int32Array"] : []),
    "  | {",
    "      tokens: Int32Array;",
    `      targets${shape.windows ? "?" : ""}: Int32Array;`,
    "      /** Sequences in tokens (default 1). */",
    "      batch?: number;",
    ...(shape.mask ? [`      /** Padding mask, same layout as tokens, 1 = real${shape.windows ? " (in next-token windows, padding is not predicted either)" : ""}. */`, "      mask?: Uint8Array;"] : []),
    ...(shape.extra.length ? [`      inputs: { ${shape.extra.join("; ")} };`] : []),
    ...(shape.src !== undefined ? [`      src: ${shape.src};`] : []),
    "    };",
    "",
    "export interface TrainStepResult {",
    "  /** The update's number, from 1. */",
    "  readonly step: number;",
    "  /** The batch's loss before the update (label-smoothed when labelSmoothing > 0). */",
    "  readonly loss: number;",
    "  readonly lr: number;",
    "  /** Global gradient norm before clipping. */",
    "  readonly gradNorm: number;",
    "  /** Targets counted. */",
    "  readonly tokens: number;",
    "}",
    "",
    "export interface Optimizer {",
    '  readonly kind: "adam" | "adamw";',
    "  readonly betas: readonly [number, number];",
    "  readonly eps: number;",
    "  readonly weightDecay: number;",
    "  /** Updates taken so far. */",
    "  readonly step: number;",
    "  /** The rate of the next update. */",
    "  readonly lr: number;",
    "}",
    "",
    "export interface Trainer {",
    "  /** The resolved options (steps 0 = no bound; batch and seq 0: each call brings its own). */",
    `  readonly config: { readonly steps: number; readonly batch: number; readonly seq: number; readonly schedule: ${alts(SCHEDULES)}; readonly lr: number; readonly warmup: number; readonly minLrRatio: number; readonly optimizer: "adam" | "adamw"; readonly betas: readonly [number, number]; readonly eps: number; readonly weightDecay: number; readonly clip: number; readonly labelSmoothing: number; readonly dropout: number; readonly seed: number };`,
    "  /** Updates taken so far. */",
    "  readonly step: number;",
    "  readonly optimizer: Optimizer;",
    "  /** Forward, backward, clipping, one optimiser update. Runs on the calling thread (use a Worker for long runs). */",
    "  trainStep(batch: TrainBatch): Promise<TrainStepResult>;",
    "  /** Mean cross-entropy over the batches' targets: dropout off, no label smoothing. */",
    "  evaluate(batches: TrainBatch | Iterable<TrainBatch>): Promise<{ loss: number; tokens: number }>;",
    "  /** The schedule's rate at update `step` (from 1). */",
    "  lrAt(step: number): number;",
    "  /** The current weights: F32 safetensors in native names, which load() reads. */",
    "  weights(): Uint8Array;",
    "  /** Weights, Adam state, step and options: trainer(bytes) continues the run exactly. */",
    "  checkpoint(): Uint8Array;",
    "  /** An inference model on the current weights (a snapshot: later steps do not reach it). */",
    "  model(opts?: LoadOptions): Promise<Model>;",
    "  dispose(): void;",
    "}",
    "",
    "/**",
    " * A trainer that fine-tunes this model from `weights` (as load() takes them), from a trainer's",
    " * checkpoint() (resumed exactly), or from a fresh initialisation (null). The training code",
    " * (train.js) is imported on the first call only.",
    " */",
    "export declare function trainer(weights: Uint8Array | ArrayBuffer | string | URL | null, opts?: TrainerOptions): Promise<Trainer>;",
    "",
  ];
}
