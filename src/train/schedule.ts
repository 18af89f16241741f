// Learning-rate schedules, as functions of the 1-based update number t.
//   noam:     lr · d^-0.5 · min(t^-0.5, t · warmup^-1.5)   (Vaswani et al. 2017, §5.3; lr is the
//             "factor", 1 in the paper, so the peak is d^-0.5 · warmup^-0.5 at t = warmup)
//   cosine:   lr · t / warmup for t ≤ warmup, then from lr down to minRatio · lr along a half
//             cosine over the remaining steps (scripts/train-demo.py's schedule, the same steps)
//   constant: lr, after a linear warm-up when warmup > 0

export type ScheduleKind = "noam" | "cosine" | "constant";
export const SCHEDULES: readonly ScheduleKind[] = ["noam", "cosine", "constant"];

export interface Schedule {
  kind: ScheduleKind;
  lr: number;
  warmup: number;
  /** Total updates (cosine's horizon). */
  steps: number;
  /** Model width (noam's d). */
  d: number;
  /** cosine: the final fraction of lr. */
  minRatio: number;
}

export function learningRate(s: Schedule, t: number): number {
  if (!(t >= 1)) throw new Error(`learning-rate schedules start at step 1, got ${t}`);
  switch (s.kind) {
    case "noam": {
      const w = Math.max(1, s.warmup);
      return s.lr * s.d ** -0.5 * Math.min(t ** -0.5, t * w ** -1.5);
    }
    case "cosine": {
      if (t <= s.warmup) return (s.lr * t) / s.warmup;
      const progress = (t - 1 - s.warmup) / Math.max(1, s.steps - s.warmup);
      return s.lr * (s.minRatio + (1 - s.minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
    case "constant":
      return s.warmup > 0 && t < s.warmup ? (s.lr * t) / s.warmup : s.lr;
  }
}
