// Checking an `ssm` sublayer: Mamba-1's selective scan, its sizes and where it may stand.

import type { Statement } from "../syntax/ast.ts";
import type { SsmInfo } from "../model/model.ts";
import { readArgs } from "./args.ts";
import { fmt, type DimEnv } from "./dims.ts";
import { SSM, SSM_KINDS } from "./schemas.ts";
import type { Sink } from "./sink.ts";
import { num, readKind, type SectionContext } from "./sublayers.ts";

/** Hugging Face MambaConfig's time_step_rank "auto": ceil(hidden_size / 16). */
export const defaultDtRank = (width: number): number => Math.ceil(width / 16);

export function readSsm(st: Statement, ctx: SectionContext, sink: Sink, env: DimEnv): SsmInfo | null {
  const kind = readKind(st, SSM_KINDS, "ssm", sink);
  const a = readArgs(st.args, SSM, "`ssm`", st.span, sink, env);
  let ok = kind !== null && ctx.width !== null;
  // The scan runs forward in time only: an encoder's tokens would not see their right context.
  if (ctx.role === "encoder") {
    sink.report("SF0242", st.keyword.span, "an `ssm` sublayer cannot stand in an encoder", {
      label: "the selective scan is causal: each token sees only the ones before it",
      hint: "use `attention self(...)` in the encoder; state-space layers belong in decoder stacks",
    });
    ok = false;
  }
  const expand = num(a.get("expand")) ?? 2;
  const stateSize = num(a.get("state")) ?? 16;
  const convWidth = num(a.get("conv")) ?? 4;
  if (!ok || ctx.width === null || kind === null) return null;
  const inner = expand * ctx.width;
  if (!Number.isInteger(inner)) {
    sink.report("SF0241", a.span("expand")!, `expand (${fmt(expand)}) × ${ctx.widthText} (${ctx.width}) = ${fmt(inner)} is not a whole number of channels`, {
      label: "d_inner = expand · d must be whole",
      hint: "Mamba uses expand = 2",
    });
    return null;
  }
  const dtRank = a.has("dt_rank") ? num(a.get("dt_rank")) : defaultDtRank(ctx.width);
  if (dtRank === null) return null;
  if (dtRank > inner) {
    sink.report("SF0241", a.span("dt_rank")!, `dt_rank (${dtRank}) is larger than d_inner (${inner})`, {
      label: "a low-rank projection of the step size wider than what it projects",
      hint: `the default is ceil(${ctx.widthText} / 16) = ${defaultDtRank(ctx.width)}`,
    });
    return null;
  }
  if (ctx.maxSeq !== undefined && convWidth > ctx.maxSeq) {
    sink.report("SF0241", a.span("conv")!, `conv width (${convWidth}) is larger than context (${ctx.maxSeq})`, {
      label: "no sequence is long enough to fill the window",
      ...(ctx.maxSeqLabel ? { secondary: [ctx.maxSeqLabel.sink.label(ctx.maxSeqLabel.span, `sequences are at most ${ctx.maxSeq} long`)] } : {}),
      hint: "Mamba uses conv = 4",
    });
    return null;
  }
  return {
    kind: "ssm",
    variant: kind,
    inner,
    stateSize,
    convWidth,
    dtRank,
    bias: typeof a.get("bias") === "boolean" ? (a.get("bias") as boolean) : false,
    convBias: typeof a.get("conv_bias") === "boolean" ? (a.get("conv_bias") as boolean) : true,
    dropout: num(a.get("dropout")) ?? 0,
    span: st.span,
  };
}
