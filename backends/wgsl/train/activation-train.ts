// The MLP's activation and its derivative, elementwise over P.len values. The forward is the
// inference backend's act_f (../wgsl.ts activationFn: exact GELU through a Chebyshev erfc,
// since WGSL has no erf); the derivatives are PyTorch's backward formulas, as the reference
// (backends/reference/backward/dense.ts activationGrad) writes them:
//   relu       1 where x > 0, else 0 (0 at x = 0)
//   gelu       Φ(x) + x φ(x) = ½ erfc(−x/√2) + x e^(−x²/2) / √(2π)
//   gelu_tanh  ½(1 + t) + ½ x (1 − t²) √(2/π) (1 + 3·0.044715 x²),  t = tanh(√(2/π)(x + 0.044715 x³))
//   silu       σ(x) (1 + x (1 − σ(x)))
// The grad kernel multiplies by dy, so dx = dy · act'(x) comes back in one read-back.

import type { Activation } from "../../reference/kernels/activation.ts";
import { activationFn } from "../wgsl.ts";
import { FLAT_WG, FLAT_WG_ARGS, TrainBindings, type TrainKernel } from "./program.ts";

export const ACT_LINE = 128;

/** WGSL `fn act_grad(x: f32) -> f32`, with act_f (and its helpers) defined first. */
function gradFn(act: Activation): string {
  switch (act) {
    case "relu":
      return "fn act_grad(x: f32) -> f32 { return select(0.0, 1.0, x > 0.0); }";
    case "gelu":
      return "fn act_grad(x: f32) -> f32 { return 0.5 * erfc_f(-x * 0.7071067811865476) + x * 0.3989422804014327 * exp(-0.5 * x * x); }";
    case "gelu_tanh":
      // tanh of a clamped argument, as act_f has it: tanh(±10) is ±1 in f32.
      return `fn act_grad(x: f32) -> f32 {
  let u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  let t = tanh(clamp(u, -10.0, 10.0));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x);
}`;
    case "silu":
      return "fn act_grad(x: f32) -> f32 { let s = 1.0 / (1.0 + exp(min(-x, 80.0))); return s * (1.0 + x * (1.0 - s)); }";
  }
}

/** y = act(x) (`grad` false) or dx = dy · act'(x). */
export function activationKernel(act: Activation, grad: boolean): TrainKernel {
  const b = new TrainBindings();
  if (grad) b.add("Dy", "read", "array<f32>");
  b.add("X", "read", "array<f32>");
  b.add("Y", "rw", "array<f32>");
  const value = grad ? "Dy[e] * act_grad(X[e])" : "act_f(X[e])";
  return b.kernel(
    `
${activationFn(act)}
${grad ? gradFn(act) : ""}
@compute @workgroup_size(${ACT_LINE})
fn main(${FLAT_WG_ARGS}) {
  let e = ${FLAT_WG} * ${ACT_LINE}u + li;
  if (e >= P.len) { return; }
  Y[e] = ${value};
}`,
    ACT_LINE,
    0,
  );
}
