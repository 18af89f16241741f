// The copying experiment's set-up (scripts/copy-experiment.ts, docs/copying.md), here so that
// what measures it (bench/train-ssm.ts) trains exactly the experiment's models on its batches
// with its update rule: the script runs on import, so it cannot be imported for these.

import type { ModelInfo } from "../model/model.ts";
import { copyBatch, type CopyTask, type CopyTaskKind, minStringLength } from "./copy-task.ts";
import { bindBatch } from "./data.ts";
import type { Batch } from "./engine.ts";
import type { TrainConfig } from "./trainer.ts";

const D = 64;
const CONTEXT = 512;
const transformer = (name: string, position: string) => `model ${name} {
  dims { vocab = 29, d = ${D}, heads = 8, layers = 2, context = ${CONTEXT} }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  ${position}
  stack layers × decoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, mask = causal)
    norm layer(eps = 1e-5)
    mlp(hidden = 4 * d, act = gelu)
  }
  norm layer(eps = 1e-5)
  head tied
}
`;
// Three Mamba-1 blocks of width 64 (expand 2, state 16) hold about the parameters of two
// transformer layers of width 64 with 4× MLPs.
const mamba = `model copy_mamba {
  dims { vocab = 29, d = ${D}, layers = 3 }
  input tokens: int[batch, seq]
  embed tokens(vocab, d)
  stack layers × decoder {
    norm rms(eps = 1e-5)
    ssm mamba(state = 16, conv = 4, expand = 2)
  }
  norm rms(eps = 1e-5)
  head tied
}
`;

/** The experiment's models by name: tiny transformers (RoPE, NoPE, Hard-ALiBi) and a Mamba. */
export const COPY_MODELS: Record<string, { label: string; spec: string }> = {
  rope: { label: "Transformer, RoPE", spec: transformer("copy_rope", "position rope") },
  nope: { label: "Transformer, NoPE", spec: transformer("copy_nope", "position none") },
  "hard-alibi": { label: "Transformer, Hard-ALiBi", spec: transformer("copy_hard_alibi", "position hard_alibi(local_heads = 4, rest = none)") },
  mamba: { label: "Mamba", spec: mamba },
};

/** The task on strings of 1 (lookup: its shortest) to `maxLength` letters, lookup keys 3-grams with 3-letter answers. */
export function copyExperimentTask(kind: CopyTaskKind, maxLength: number): CopyTask {
  return { kind, minLength: minStringLength({ kind, ngram: 3, answerLength: 3 }), maxLength, ngram: 3, answerLength: 3 };
}

/**
 * The experiment's update rule: AdamW on a cosine schedule, betas 0.9/0.98, decay 0.01,
 * clipping at 1, seed 1. The key order is the one the experiment's JSON records (--resume compares it).
 */
export function copyExperimentConfig(o: { steps: number; batch: number; seq: number; lr: number; warmup: number }): TrainConfig {
  return {
    steps: o.steps,
    batch: o.batch,
    seq: o.seq,
    schedule: "cosine",
    lr: o.lr,
    warmup: o.warmup,
    minLrRatio: 0.1,
    optimizer: "adamw",
    betas: [0.9, 0.98],
    eps: 1e-8,
    weightDecay: 0.01,
    clip: 1,
    labelSmoothing: 0,
    dropout: 0,
    seed: 1,
  };
}

/** Update t's batch (copyBatch) under `config`, bound to model m's token input. */
export function copyExperimentBatch(m: ModelInfo, task: CopyTask, config: TrainConfig, t: number): Batch {
  const { tokens, targets } = copyBatch(task, config.batch, config.seq, config.seed, t);
  return bindBatch(m, new Map([[m.inputs[0].name, { data: tokens, shape: [config.batch, config.seq] }]]), targets);
}
