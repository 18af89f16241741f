// The recipe defaults of a training run, written once for `specformer train` and a generated
// module's trainer(): cosine / constant are GPT-style AdamW (scripts/train-demo.py: lr 3e-3
// (cosine) or 1e-3 (constant), betas 0.9/0.95, eps 1e-8, decay 0.1, min ratio 0.1); noam is
// Vaswani et al.'s Adam (factor 1, betas 0.9/0.98, eps 1e-9, no decay). Warm-up 5% of the
// steps, clipping at 1, the spec's label smoothing and dropout, batch 8, seq min(context, 256).
// Without `steps` (a trainer() with no horizon) the schedule is constant with no warm-up, and
// `steps` is 0; cosine needs the horizon and noam a warm-up, so those are refused by the caller.

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
