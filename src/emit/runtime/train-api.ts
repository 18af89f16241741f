/**
 * The trainer a generated module's `trainer()` returns (index.d.ts `Trainer`): src/train's
 * Trainer — the backward program, float32 parameters, AdamW state, the schedule — behind the
 * module's conventions: batches checked as forward() checks its inputs (./train-batch.ts),
 * Promise-returning calls that yield to the event loop before each step (a page stays
 * responsive between steps; the step itself runs on the calling thread, so long runs belong in a
 * Worker), the weights as safetensors bytes in native names, which load() reads, a checkpoint
 * with the optimiser state that trainer() resumes exactly, and model(): an inference model of
 * the package's target on the current weights.
 */
import type { ModelInfo } from "../../model/model.ts";
import { weightLayout } from "../../model/weights-layout.ts";
import { planInputs, type InputPlan } from "../../runtime/inputs.ts";
import { ModelInputError, type Model } from "../../runtime/model-api.ts";
import { writeSafetensors } from "../../runtime/safetensors.ts";
import { writeCheckpoint } from "../../train/checkpoint.ts";
import type { Batch } from "../../train/engine.ts";
import type { StepResult, Trainer, TrainConfig } from "../../train/trainer.ts";
import { trainBatch, type TrainBatch } from "./train-batch.ts";

/** Loads an inference model of the package's target from safetensors bytes (index.js's load()). */
export type ModelLoader = (weights: Uint8Array, opts: Record<string, unknown>) => Promise<Model>;

export interface OptimizerInfo {
  readonly kind: "adam" | "adamw";
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Updates taken so far. */
  readonly step: number;
  /** The rate the next update will use. */
  readonly lr: number;
}

/** A macrotask boundary: lets a page paint and handle input between training steps. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class ModuleTrainer {
  private readonly plan: InputPlan;
  private disposed = false;
  readonly config: Readonly<TrainConfig>;

  constructor(
    private readonly m: ModelInfo,
    private readonly t: Trainer,
    private readonly loader: ModelLoader,
    /** load() options for model(): threads, device. */
    private readonly loadOptions: Record<string, unknown>,
  ) {
    this.plan = planInputs(m);
    this.config = Object.freeze({ ...t.config, betas: Object.freeze([...t.config.betas]) as unknown as [number, number] });
  }

  private alive(what: string): void {
    if (this.disposed) throw new ModelInputError(`${what}: the trainer is disposed`);
  }

  private batch(b: TrainBatch, what: string): Batch {
    return trainBatch(this.m, this.plan, this.t.program, b, what);
  }

  /** Updates taken so far. */
  get step(): number {
    return this.t.step;
  }

  get optimizer(): OptimizerInfo {
    const c = this.t.config;
    return Object.freeze({ kind: c.optimizer, betas: Object.freeze([c.betas[0], c.betas[1]] as const), eps: c.eps, weightDecay: c.weightDecay, step: this.t.step, lr: this.t.lrAt(this.t.step + 1) });
  }

  /** The schedule's rate at update `step` (1-based). */
  lrAt(step: number): number {
    if (!Number.isSafeInteger(step) || step < 1) throw new ModelInputError(`lrAt(): step must be an integer >= 1, got ${String(step)}`);
    return this.t.lrAt(step);
  }

  /** Forward, backward, clipping and one optimiser update on `batch`. */
  async trainStep(batch: TrainBatch): Promise<StepResult> {
    this.alive("trainStep()");
    const b = this.batch(batch, "trainStep()");
    const steps = this.t.config.steps;
    await yieldToEventLoop();
    this.alive("trainStep()");
    if (steps > 0 && this.t.step >= steps) {
      throw new ModelInputError(`trainStep(): the trainer's ${steps} steps are done; make a trainer with more steps (or resume its checkpoint() with a larger steps)`);
    }
    return this.t.update(b);
  }

  /** Mean cross-entropy over the batches' counted targets: dropout off, no label smoothing. */
  async evaluate(batches: TrainBatch | Iterable<TrainBatch>): Promise<{ loss: number; tokens: number }> {
    this.alive("evaluate()");
    const list = batches instanceof Int32Array || !(Symbol.iterator in Object(batches)) ? [batches as TrainBatch] : [...(batches as Iterable<TrainBatch>)];
    if (list.length === 0) throw new ModelInputError("evaluate(): no batches");
    const bound = list.map((b, i) => this.batch(b, list.length === 1 ? "evaluate()" : `evaluate() batch ${i}`));
    await yieldToEventLoop();
    this.alive("evaluate()");
    const tokens = bound.reduce((n, b) => n + b.targets.reduce((k, t) => k + (t >= 0 ? 1 : 0), 0), 0);
    return { loss: await this.t.evaluate(bound), tokens };
  }

  /** The current weights: F32 safetensors in native names (load() and `specformer run --weights` read them). */
  weights(): Uint8Array {
    this.alive("weights()");
    const tensors = weightLayout(this.m).map((t) => ({ name: t.name, dtype: "F32" as const, shape: t.shape, data: this.t.params.get(t.name)! }));
    return writeSafetensors(tensors, { model: this.m.name, trained_by: "specformer trainer()", steps: String(this.t.step) });
  }

  /** Weights, Adam moments, step and configuration: trainer(bytes) continues this run exactly. */
  checkpoint(): Uint8Array {
    this.alive("checkpoint()");
    const data = { file: "trainer()", bytes: 0, sha256: "" };
    return writeCheckpoint(this.m, this.t.params, this.t.state, { model: this.m.name, step: this.t.step, config: this.t.config, data, log: null });
  }

  /** An inference model of the package's target on the current weights (a copy: later steps do not reach it). */
  model(opts: Record<string, unknown> = {}): Promise<Model> {
    this.alive("model()");
    return this.loader(this.weights(), { ...this.loadOptions, ...opts });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.t.params.clear();
    this.t.state.m.clear();
    this.t.state.v.clear();
  }
}
