// The recipe defaults of a training run, written once for `specformer train` and a generated
// module's trainer(): cosine / constant are GPT-style AdamW (scripts/train-demo.py: lr 3e-3
// (cosine) or 1e-3 (constant), betas 0.9/0.95, eps 1e-8, decay 0.1, min ratio 0.1); noam is
// Vaswani et al.'s Adam (factor 1, betas 0.9/0.98, eps 1e-9, no decay). Warm-up 5% of the
// steps, clipping at 1, the spec's label smoothing and dropout, batch 8, seq min(context, 256).
// Without `steps` (a trainer() with no horizon) the schedule is constant with no warm-up, and
// `steps` is 0; cosine needs the horizon and noam a warm-up, so those are refused by the caller.
// The numeric options' ranges are here too (NUMBER_OPTIONS), so both check the same ones.

import { outputSection, type ModelInfo } from "../model/model.ts";
import type { TrainConfig } from "./trainer.ts";

export function recipeDefaults(m: ModelInfo, g: Partial<TrainConfig>): TrainConfig {
  const steps = g.steps ?? 0;
  const schedule = g.schedule ?? (steps > 0 ? "cosine" : "constant");
  const noam = schedule === "noam";
  const context = outputSection(m).maxSeq ?? 256;
  return {
    steps,
    batch: g.batch ?? 8,
    seq: g.seq ?? Math.min(context, 256),
    schedule,
    lr: g.lr ?? (noam ? 1 : schedule === "cosine" ? 3e-3 : 1e-3),
    warmup: g.warmup ?? (steps > 0 ? Math.max(1, Math.round(steps / 20)) : 0),
    minLrRatio: g.minLrRatio ?? 0.1,
    optimizer: g.optimizer ?? "adamw",
    betas: g.betas ?? (noam ? [0.9, 0.98] : [0.9, 0.95]),
    eps: g.eps ?? (noam ? 1e-9 : 1e-8),
    weightDecay: g.weightDecay ?? (noam ? 0 : 0.1),
    clip: g.clip ?? 1,
    labelSmoothing: g.labelSmoothing ?? m.train.labelSmoothing ?? 0,
    dropout: g.dropout ?? m.train.dropout ?? 0,
    seed: g.seed ?? 0,
  };
}

/** What a numeric option accepts: an integer from `min`, or a number in [lo, hi] ((lo, hi] if open). */
export type NumberRule = { readonly int: true; readonly min: number } | { readonly int: false; readonly lo: number; readonly hi: number; readonly open?: boolean };

type NumberKey = { [K in keyof TrainConfig]: TrainConfig[K] extends number ? K : never }[keyof TrainConfig];

const int = (min: number): NumberRule => ({ int: true, min });
const real = (lo: number, hi: number, open = false): NumberRule => ({ int: false, lo, hi, open });

/**
 * The numeric options' ranges, checked alike by `specformer train` (flags) and trainer()
 * (values), in this order. batch and seq are the CLI's only: a trainer takes each step's shape.
 */
export const NUMBER_OPTIONS: ReadonlyArray<readonly [NumberKey, NumberRule]> = [
  ["steps", int(1)],
  ["batch", int(1)],
  ["seq", int(1)],
  ["lr", real(0, 1e6, true)],
  ["warmup", int(0)],
  ["minLrRatio", real(0, 1)],
  ["eps", real(0, 1, true)],
  ["weightDecay", real(0, 10)],
  ["clip", real(0, 1e9)],
  ["labelSmoothing", real(0, 1)],
  ["dropout", real(0, 0.99)],
  ["seed", int(0)],
];

/** What a failure says an option must be: "an integer >= 1", "a number in (0, 1000000]". */
export const ruleText = (r: NumberRule): string => (r.int ? `an integer >= ${r.min}` : `a number in ${r.open ? "(" : "["}${r.lo}, ${r.hi}]`);

/** Whether a number obeys the rule (the caller has parsed or type-checked it). */
export const obeys = (r: NumberRule, x: number): boolean => (r.int ? Number.isSafeInteger(x) && x >= r.min : Number.isFinite(x) && x >= r.lo && x <= r.hi && !(r.open === true && x === r.lo));

/**
 * The numeric options `read` finds given (undefined: not given), in NUMBER_OPTIONS' order,
 * batch and seq only with `shape`; `read` throws its caller's one-line error for a refused value.
 */
export function readNumbers(read: (k: NumberKey, rule: NumberRule) => number | undefined, shape: boolean): Partial<TrainConfig> {
  const c: Partial<TrainConfig> = {};
  for (const [k, rule] of NUMBER_OPTIONS) {
    if (!shape && (k === "batch" || k === "seq")) continue;
    const v = read(k, rule);
    if (v !== undefined) c[k] = v;
  }
  return c;
}
