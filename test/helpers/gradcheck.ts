// Finite-difference check of a training engine's gradients, in float64: for every parameter
// tensor, along a random direction u, the central difference (L(θ + hu) - L(θ - hu)) / 2h,
// Richardson-extrapolated from h = 1e-4 and 5e-5 (truncation error O(h⁴)), against ∇L · u,
// relative to max(|FD|, 1e-3). L is the label-smoothed cross-entropy of a seeded training step.

import type { Batch, TrainingEngine } from "../../src/train/engine.ts";
import { normals, streamRng } from "../../src/train/rng.ts";

/** [tensor, relative error] for every parameter, worst first. */
export async function directionalErrors(engine: TrainingEngine, params: Map<string, Float64Array>, batch: Batch, seed: number): Promise<Array<[string, number]>> {
  const o = { train: true, seed: 7, step: 3, smoothing: 0.1 };
  const loss = async (p: Map<string, Float64Array>) => engine.loss(await engine.forward(p, batch, o), batch, o.smoothing, false).loss;
  const { grads } = await engine.lossAndGrads(params, batch, o);
  const h = 1e-4;
  const errors: Array<[string, number]> = [];
  const dir = normals(streamRng(seed, 3));
  for (const [name, p] of params) {
    const u = Float64Array.from(p, () => dir());
    const shifted = (s: number) => new Map([...params].map(([k, v]) => [k, k === name ? v.map((x, i) => x + s * h * u[i]) : v]));
    const central = async (k: number) => ((await loss(shifted(k))) - (await loss(shifted(-k)))) / (2 * k * h);
    const fd = (4 * (await central(0.5)) - (await central(1))) / 3;
    const g = grads.get(name)!;
    let an = 0;
    for (let i = 0; i < g.length; i++) an += g[i] * u[i];
    // Floor 1e-3: a key bias has an exactly zero gradient (softmax is shift-invariant).
    errors.push([name, Math.abs(fd - an) / Math.max(Math.abs(fd), 1e-3)]);
  }
  return errors.sort((a, b) => b[1] - a[1]);
}
