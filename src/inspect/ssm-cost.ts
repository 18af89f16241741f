// The inspect row of an `ssm` sublayer: its kind text, FLOPs and activation memory.

import type { SsmInfo } from "../model/model.ts";

const F32 = 4;
const NORM_FLOPS = 5;
const SILU_FLOPS = 5;

/**
 * Mamba-1 per token: in_proj, the depthwise conv + silu, x_proj, dt_proj + softplus, the scan
 * (per channel and state: exp(dt·A), the two products of the update and C·h's multiply-add),
 * D·x, the silu gate, out_proj, then the norm and the residual add.
 */
export function ssmCost(s: SsmInfo, width: number, T: number): { kind: string; flops: number; activationBytes: number } {
  const e = s.inner;
  const n = s.stateSize;
  const proj = s.dtRank + 2 * n;
  let flops = 2 * width * 2 * e + 2 * s.convWidth * e + SILU_FLOPS * e;
  flops += 2 * e * proj + 2 * s.dtRank * e + 4 * e;
  flops += 7 * e * n + 2 * e + SILU_FLOPS * e + e;
  flops += 2 * e * width;
  if (s.bias) flops += 2 * e + width;
  if (s.convBias) flops += e;
  flops = flops * T + (s.norm ? NORM_FLOPS * T * width : 0) + T * width;
  // xz, the conv output, (dt, B, C), dt and y: what a forward holds; the state is per sequence.
  const activationBytes = T * (2 * e + e + proj + e + e + width) * F32;
  const kind = `mamba ssm (state ${n}, conv ${s.convWidth}, d_inner ${e}, dt_rank ${s.dtRank})`;
  return { kind, flops, activationBytes };
}
