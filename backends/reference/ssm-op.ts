// The reference executor's state-space ops: ssm_conv and ssm_scan, with their decode states.

import type { Node } from "../../src/ir/ir.ts";
import { ssmConv, ssmScan } from "./kernels/ssm.ts";
import { f32, type Env, type RunContext, type Tensor } from "./values.ts";

type ConvNode = Extract<Node, { op: "ssm_conv" }>;
type ScanNode = Extract<Node, { op: "ssm_scan" }>;

/** The decode state of a recurrent cache, or null in a forward (which starts from zeros). */
function stateOf(cache: string, ctx: RunContext): Float32Array | null {
  if (!ctx.decode) return null;
  const s = ctx.decode.recurrent.get(cache);
  if (!s) throw new Error(`reference executor: no recurrent state ${cache}`);
  return s;
}

export function runSsmConv(n: ConvNode, env: Env, ctx: RunContext): Tensor {
  const x = f32(env, n.x);
  const [batch, seq, rowWidth] = x.shape;
  const data = ssmConv(x.data, { batch, seq, rowWidth, channels: n.channels, width: n.width }, f32(env, n.weight).data, n.bias === undefined ? null : f32(env, n.bias).data, stateOf(n.cache, ctx));
  return { data, shape: [batch, seq, n.channels] };
}

export function runSsmScan(n: ScanNode, env: Env, ctx: RunContext): Tensor {
  const u = f32(env, n.u);
  const [batch, seq, inner] = u.shape;
  const w = { dtWeight: f32(env, n.dtWeight).data, dtBias: f32(env, n.dtBias).data, aLog: f32(env, n.aLog).data, d: f32(env, n.d).data };
  const data = ssmScan(u.data, f32(env, n.proj).data, f32(env, n.z).data, { batch, seq, inner, stateSize: n.stateSize, dtRank: n.dtRank }, w, stateOf(n.cache, ctx));
  return { data, shape: u.shape };
}

/** Zeroed recurrent states of the step nodes, by cache name: [batch, floats per sequence]. */
export function recurrentStates(nodes: readonly Node[], env: Env, batch: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const n of nodes) {
    if (n.op === "ssm_conv") out.set(n.cache, new Float32Array(batch * (n.width - 1) * n.channels));
    else if (n.op === "ssm_scan") out.set(n.cache, new Float32Array(batch * f32(env, n.d).data.length * n.stateSize));
  }
  return out;
}
