/**
 * A generated module's trainer() options → the TrainConfig of src/train/trainer.ts. The defaults
 * are `specformer train`'s (src/train/recipe.ts), so that a page and the CLI given the same options
 * run the same update rule; every option is checked here, and a wrong one is one line naming it.
 * `steps` is optional: without it there is no horizon (`steps: 0` in the config), which only the
 * constant and noam schedules can do without.
 */
import type { ModelInfo } from "../../model/model.ts";
import { ModelInputError } from "../../runtime/model-api.ts";
import { SCHEDULES, type ScheduleKind } from "../../train/schedule.ts";
import { obeys, readNumbers, recipeDefaults, ruleText, type NumberRule } from "../../train/recipe.ts";
import type { TrainConfig } from "../../train/trainer.ts";

/** The update rule's options, as index.d.ts `TrainerOptions` declares them. */
export interface UpdateOptions {
  steps?: number;
  schedule?: ScheduleKind;
  lr?: number;
  warmup?: number;
  minLrRatio?: number;
  optimizer?: "adam" | "adamw";
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  clip?: number;
  labelSmoothing?: number;
  dropout?: number;
  seed?: number;
}

/**
 * The kernels a trainer runs on: the reference (JavaScript, float64) backward kernels, or the
 * Wasm SIMD ones (float32) the package ships prebuilt as train.wasm.
 */
export const TRAIN_BACKENDS = ["reference", "wasm"] as const;
export type TrainBackend = (typeof TRAIN_BACKENDS)[number];

const UPDATE_KEYS = ["steps", "schedule", "lr", "warmup", "minLrRatio", "optimizer", "betas", "eps", "weightDecay", "clip", "labelSmoothing", "dropout", "seed"] as const;
/** Options a trainer reads besides the update rule: where the weights come from, how model() loads. */
const OTHER_KEYS = ["backend", "map", "allowNonFinite", "onProgress", "threads", "device"] as const;
export const TRAINER_KEYS: readonly string[] = [...UPDATE_KEYS, ...OTHER_KEYS];

const fail = (what: string, want: string, got: unknown): never => {
  throw new ModelInputError(`trainer(): ${what} must be ${want}, got ${typeof got === "string" ? JSON.stringify(got) : Array.isArray(got) ? `[${got.join(", ")}]` : String(got)}`);
};

/** An option's number under `r` (src/train/recipe.ts). */
function number(v: unknown, what: string, r: NumberRule): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !obeys(r, v)) fail(what, ruleText(r), v);
  return v as number;
}

/** Refuses option names a trainer does not read: a typo (`learningRate`) must not be ignored silently. */
export function checkKeys(opts: object): void {
  for (const k of Object.keys(opts)) {
    if (!TRAINER_KEYS.includes(k)) throw new ModelInputError(`trainer(): unknown option "${k}"; the options are ${TRAINER_KEYS.join(", ")}`);
  }
}

/** The options given, checked; absent ones stay absent. */
export function givenOptions(o: UpdateOptions): Partial<TrainConfig> {
  const c = readNumbers((k, r) => number((o as Record<string, unknown>)[k], k, r), false);
  if (o.schedule !== undefined) {
    if (!(SCHEDULES as readonly unknown[]).includes(o.schedule)) fail("schedule", SCHEDULES.map((s) => `"${s}"`).join(", ") + " or absent", o.schedule);
    c.schedule = o.schedule;
  }
  if (o.optimizer !== undefined) {
    if (o.optimizer !== "adam" && o.optimizer !== "adamw") fail("optimizer", '"adam" or "adamw"', o.optimizer);
    c.optimizer = o.optimizer;
  }
  if (o.betas !== undefined) {
    const b = o.betas;
    if (!Array.isArray(b) || b.length !== 2 || b.some((x) => typeof x !== "number" || !(x >= 0 && x < 1))) fail("betas", "two numbers in [0, 1), e.g. [0.9, 0.98]", b);
    c.betas = [b[0], b[1]];
  }
  return c;
}

/**
 * `specformer train`'s recipe defaults (src/train/recipe.ts) over the given options; without
 * `steps`, constant with no bound. `batch` and `seq` are 0: each trainStep() brings its own shape.
 */
export function resolveConfig(m: ModelInfo, g: Partial<TrainConfig>): TrainConfig {
  const c = recipeDefaults(m, g);
  if (c.steps === 0 && c.schedule === "cosine") throw new ModelInputError('trainer(): the cosine schedule needs steps (its horizon); give steps, or schedule "constant" or "noam"');
  if (c.steps === 0 && c.schedule === "noam" && g.warmup === undefined) throw new ModelInputError("trainer(): the noam schedule needs warmup (or steps, whose 5% it then warms up over)");
  return { ...c, batch: 0, seq: 0 };
}

/**
 * A resumed run keeps its checkpoint's configuration: an option given that differs from it is
 * refused (it would not be the same run), except `steps`, which may extend it.
 */
export function resumedConfig(saved: TrainConfig, g: Partial<TrainConfig>, at: number): TrainConfig {
  for (const [k, v] of Object.entries(g) as Array<[keyof TrainConfig, unknown]>) {
    if (k === "steps" || JSON.stringify(v) === JSON.stringify(saved[k])) continue;
    throw new ModelInputError(`trainer(): ${k} ${JSON.stringify(v)} differs from the checkpoint's ${JSON.stringify(saved[k])}; a resumed run keeps its configuration (leave the option out)`);
  }
  const config = { ...saved, ...(g.steps !== undefined ? { steps: g.steps } : {}) };
  if (config.steps > 0 && config.steps <= at) throw new ModelInputError(`trainer(): steps ${config.steps}: the checkpoint is already at step ${at}; give a larger steps`);
  return config;
}
