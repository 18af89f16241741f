// Pointwise kernels for what the matmul epilogue could not absorb: a residual add whose
// operands are not a projection's output, a standalone activation, an unfused gated unit.
// vec4 whenever the row width allows it.

import type { Activation } from "../../../src/model/model.ts";
import { Bindings, FLAT_ARGS, FLAT_ID, activationFn, f32, kernel, seqLen, tanhAccFn, u32, type Kernel, type SeqSym } from "../wgsl.ts";

export interface EltSpec {
  op: "add" | "act" | "gated" | "softcap";
  act?: Activation;
  /** softcap: cap · tanh(x / cap). */
  cap?: number;
  rows: SeqSym;
  width: number;
}

export function eltKernel(s: EltSpec): Kernel {
  const v4 = s.width % 4 === 0;
  const t = v4 ? "vec4<f32>" : "f32";
  const b = new Bindings();
  const ins = s.op === "add" ? ["A", "B"] : s.op === "gated" ? ["G", "U"] : ["X"];
  for (const name of ins) b.add(name, "read", `array<${t}>`);
  b.add("Y", "rw", `array<${t}>`);
  if ((s.op === "act" || s.op === "gated") && s.act === undefined) throw new Error(`elementwise ${s.op}: no activation`);
  if (s.op === "softcap" && s.cap === undefined) throw new Error("elementwise softcap: no cap");
  const act = s.act === undefined ? "" : `${activationFn(s.act)}\nfn act_v(v: ${t}) -> ${t} { ${v4 ? "return vec4<f32>(act_f(v.x), act_f(v.y), act_f(v.z), act_f(v.w));" : "return act_f(v);"} }`;
  const cap = s.cap === undefined ? "" : f32(s.cap);
  const tanh = s.op === "softcap" ? tanhAccFn(t) : "";
  const expr =
    s.op === "add" ? "A[i] + B[i]" : s.op === "gated" ? "act_v(G[i]) * U[i]" : s.op === "softcap" ? `${cap} * tanh_acc(X[i] * ${f32(1 / s.cap!)})` : "act_v(X[i])";
  const body = `
const W = ${u32(v4 ? s.width / 4 : s.width)};
${[act, tanh].filter((x) => x !== "").join("\n")}
@compute @workgroup_size(64)
fn main(${FLAT_ARGS}, @builtin(local_invocation_index) t: u32) {
  let i = ${FLAT_ID} * 64u + t;
  if (i >= P.batch * ${seqLen(s.rows)} * W) { return; }
  Y[i] = ${expr};
}`;
  return kernel(b, body, 64, 0);
}

/** Workgroups of an elementwise dispatch over `width` columns: the grid's `n` per row. */
export function eltGroupsPerRow(width: number): number {
  return width % 4 === 0 ? width / 4 : width;
}
