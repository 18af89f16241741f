// One training run's state and its update rule, independent of where the data comes from and
// of the CLI: the backward program of the spec, float32 parameters, AdamW state and the
// schedule. Everything random is a function of (seed, step) (rng.ts), so the state here — the
// parameters, the moments and the step count — is all a checkpoint needs to continue exactly.

import type { ModelInfo } from "../model/model.ts";
import { weightLayout } from "../model/weights-layout.ts";
import { differentiate, type BackwardProgram } from "./autodiff.ts";
import { TrainingEngine, type Batch } from "./engine.ts";
import { trainingGraph } from "./graph.ts";
import { referenceKernels, type TrainKernels } from "./kernels.ts";
import { adamState, adamStep, clipGradNorm, type AdamState } from "./optim.ts";
import { learningRate, type ScheduleKind } from "./schedule.ts";

export interface TrainConfig {
  steps: number;
  batch: number;
  seq: number;
  schedule: ScheduleKind;
  /** Peak rate (cosine, constant) or noam's factor. */
  lr: number;
  warmup: number;
  /** cosine: final rate as a fraction of lr. */
  minLrRatio: number;
  optimizer: "adam" | "adamw";
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** Global-norm clipping threshold; 0 = none. */
  clip: number;
  labelSmoothing: number;
  /** The model-wide dropout rate (train(dropout = …)); declared dropout nodes keep theirs. */
  dropout: number;
  seed: number;
}

export interface StepResult {
  step: number;
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  tokens: number;
}

export class Trainer {
  readonly program: BackwardProgram;
  readonly engine: TrainingEngine;
  private readonly shapes: Map<string, readonly number[]>;
  private readonly width: number;
  /** The last step's parameter gradients, whose arrays the next step reuses. */
  private grads?: Map<string, Float64Array>;

  constructor(
    readonly model: ModelInfo,
    readonly config: TrainConfig,
    readonly params: Map<string, Float32Array>,
    readonly state: AdamState = adamState(params),
    kernels: TrainKernels = referenceKernels,
  ) {
    this.program = differentiate(trainingGraph(model, { dropout: config.dropout }));
    this.engine = new TrainingEngine(this.program, kernels);
    this.shapes = new Map(weightLayout(model).map((t) => [t.name, t.shape]));
    this.width = model.dims.get("d") ?? model.sections[model.sections.length - 1].width;
  }

  /** Updates taken so far. */
  get step(): number {
    return this.state.step;
  }

  lrAt(t: number): number {
    const c = this.config;
    return learningRate({ kind: c.schedule, lr: c.lr, warmup: c.warmup, steps: c.steps, d: this.width, minRatio: c.minLrRatio }, t);
  }

  /** Forward, backward, clipping and one optimiser update on `batch`: update number step + 1. */
  async update(batch: Batch): Promise<StepResult> {
    const c = this.config;
    const t = this.state.step + 1;
    const r = await this.engine.lossAndGrads(this.params, batch, { train: true, seed: c.seed, step: t, smoothing: c.labelSmoothing }, this.grads);
    this.grads = r.grads; // the next step's gradients go into these arrays (no fresh 8 bytes a parameter a step)
    if (!Number.isFinite(r.loss)) throw new Error(`the loss is ${r.loss} at step ${t}`);
    const gradNorm = c.clip > 0 ? clipGradNorm(r.grads.values(), c.clip) : clipGradNorm(r.grads.values(), Infinity);
    const lr = this.lrAt(t);
    adamStep(this.params, r.grads, this.state, this.shapes, lr, { betas: c.betas, eps: c.eps, weightDecay: c.weightDecay, decoupled: c.optimizer === "adamw" });
    return { step: t, loss: r.loss, lr, gradNorm, tokens: r.count };
  }

  /** Mean loss over batches, dropout off, no label smoothing (the plain cross-entropy). */
  async evaluate(batches: Iterable<Batch>): Promise<number> {
    let total = 0;
    let count = 0;
    for (const b of batches) {
      const tape = await this.engine.forward(this.params, b, { train: false });
      const l = this.engine.loss(tape, b, 0, false);
      total += l.loss * l.count;
      count += l.count;
    }
    return count > 0 ? total / count : NaN;
  }
}
