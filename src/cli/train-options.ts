// `specformer train`'s command-line options (train-command.ts runs the command): their type,
// and the parsing of the training configuration's flags under the recipe's number rules.

import { obeys, readNumbers, ruleText, type NumberRule } from "../train/recipe.ts";
import { SCHEDULES, type ScheduleKind } from "../train/schedule.ts";
import type { TrainConfig } from "../train/trainer.ts";
import type { MapName } from "../runtime/name-maps.ts";
import { CliError } from "./io.ts";
import type { TaskCliOptions } from "./train-task.ts";
import type { Seq2seqCliOptions } from "./train-seq2seq.ts";

export interface TrainCliOptions extends TaskCliOptions, Seq2seqCliOptions {
  /** Training text; or --task for a built-in copying task. */
  data?: string;
  steps: string;
  out: string;
  batch?: string;
  seq?: string;
  lr?: string;
  schedule?: string;
  warmup?: string;
  minLrRatio?: string;
  optimizer?: string;
  betas?: string;
  eps?: string;
  weightDecay?: string;
  clip?: string;
  labelSmoothing?: string;
  dropout?: string;
  seed?: string;
  evalEvery?: string;
  evalWindows?: string;
  valFraction?: string;
  valData?: string;
  resume?: string;
  weights?: string;
  map?: MapName;
  target?: string;
  /** --target wasm: threads splitting each kernel call (WasmTrainKernels). */
  threads?: string;
  model?: string;
  color?: string;
}

/** A flag's number under `r` (src/train/recipe.ts); integers are written as digits only. */
export function flag(v: string | undefined, what: string, r: NumberRule): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === "" || (r.int && !/^\d+$/.test(v)) || !obeys(r, x)) throw new CliError(`${what} must be ${ruleText(r)}, got \`${v}\``);
  return x;
}

export const int = (v: string | undefined, what: string, min: number): number | undefined => flag(v, what, { int: true, min });
export const real = (v: string | undefined, what: string, lo: number, hi: number, open = false): number | undefined => flag(v, what, { int: false, lo, hi, open });

/** The options given on the command line, parsed; undefined where not given. */
export function given(o: TrainCliOptions): Partial<TrainConfig> {
  const c = readNumbers((k, r) => flag(o[k], OPTION_NAME[k], r), true);
  if (o.schedule !== undefined) {
    if (!(SCHEDULES as readonly string[]).includes(o.schedule)) throw new CliError(`--schedule must be one of ${SCHEDULES.join(", ")}, got \`${o.schedule}\``);
    c.schedule = o.schedule as ScheduleKind;
  }
  if (o.optimizer !== undefined) {
    if (o.optimizer !== "adam" && o.optimizer !== "adamw") throw new CliError(`--optimizer must be adam or adamw, got \`${o.optimizer}\``);
    c.optimizer = o.optimizer;
  }
  if (o.betas !== undefined) {
    const parts = o.betas.split(",");
    const b = parts.map((p) => real(p, "--betas (each)", 0, 1)!);
    if (b.length !== 2 || b.some((x) => x >= 1)) throw new CliError(`--betas takes two numbers in [0, 1), e.g. 0.9,0.98; got \`${o.betas}\``);
    c.betas = [b[0], b[1]];
  }
  return c;
}

export const OPTION_NAME: Record<keyof TrainConfig, string> = {
  steps: "--steps",
  batch: "--batch",
  seq: "--seq",
  schedule: "--schedule",
  lr: "--lr",
  warmup: "--warmup",
  minLrRatio: "--min-lr-ratio",
  optimizer: "--optimizer",
  betas: "--betas",
  eps: "--eps",
  weightDecay: "--weight-decay",
  clip: "--clip",
  labelSmoothing: "--label-smoothing",
  dropout: "--dropout",
  seed: "--seed",
};
