// Adam and AdamW with PyTorch's semantics (torch.optim.Adam / AdamW, single-tensor path), and
// gradient clipping by global norm (torch.nn.utils.clip_grad_norm_). Parameters and the moment
// estimates are stored in float32, as PyTorch stores them; each update is computed in float64
// and rounded once, so a checkpoint of the float32 state resumes a run exactly.
//
// Parameter groups: weight decay applies to tensors of two or more dims (matrices, embedding
// and position tables) and never to norms' gains and biases (1-D), the usual GPT / BERT rule.

export interface AdamOptions {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** AdamW's decoupled decay (p ← p · (1 - lr·wd)) rather than Adam's L2 term added to the gradient. */
  decoupled: boolean;
}

export interface AdamState {
  /** Updates taken so far. */
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/** Whether a parameter of this shape is in the weight-decay group. */
export function decays(shape: readonly number[]): boolean {
  return shape.length >= 2;
}

export function adamState(params: ReadonlyMap<string, Float32Array>): AdamState {
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const [name, p] of params) {
    m.set(name, new Float32Array(p.length));
    v.set(name, new Float32Array(p.length));
  }
  return { step: 0, m, v };
}

/** One update of every parameter in place, at learning rate lr. `shapes` decide the decay group. */
export function adamStep(
  params: Map<string, Float32Array>,
  grads: ReadonlyMap<string, Float64Array>,
  state: AdamState,
  shapes: ReadonlyMap<string, readonly number[]>,
  lr: number,
  o: AdamOptions,
): void {
  state.step++;
  const [b1, b2] = o.betas;
  const bc1 = 1 - b1 ** state.step;
  const bc2Sqrt = Math.sqrt(1 - b2 ** state.step);
  const stepSize = lr / bc1;
  for (const [name, p] of params) {
    const g = grads.get(name);
    if (g === undefined) throw new Error(`no gradient for parameter ${name}`);
    const m = state.m.get(name)!;
    const v = state.v.get(name)!;
    const wd = decays(shapes.get(name) ?? [p.length]) ? o.weightDecay : 0;
    const shrink = o.decoupled ? 1 - lr * wd : 1;
    for (let i = 0; i < p.length; i++) {
      let gi = g[i];
      let pi = p[i];
      if (!o.decoupled && wd !== 0) gi += wd * pi;
      if (o.decoupled && wd !== 0) pi = Math.fround(pi * shrink);
      const mi = Math.fround(b1 * m[i] + (1 - b1) * gi);
      const vi = Math.fround(b2 * v[i] + (1 - b2) * gi * gi);
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + o.eps);
    }
  }
}

/**
 * Scales every gradient by min(1, maxNorm / (‖g‖ + 1e-6)) where ‖g‖ is the global L2 norm;
 * returns ‖g‖ before clipping.
 */
export function clipGradNorm(grads: Iterable<Float64Array>, maxNorm: number): number {
  const all = [...grads];
  let sq = 0;
  for (const g of all) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of all) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}
