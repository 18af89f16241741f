// The keys one query row of the fused attention kernel may see (emit-attention.ts): in closed
// form, as at most three (start, end, step) segments of the mask pattern, with the ring
// rebasing of a sliding-window cache and Hard-ALiBi's per-head windows.

import type { WOp } from "./ops.ts";
import { slidingWindow } from "../../src/ir/state-plan.ts";
import { type Func, get, i32 } from "./wat.ts";

type AttentionOp = Extract<WOp, { op: "attention" }>;

/**
 * Hard-ALiBi: the window of head $h into local $hw (0 = no limit), a select per windowed head;
 * empty without per-head windows.
 */
export function headWindow(f: Func, op: AttentionOp): string {
  if (!op.headWindows) return "";
  f.local("i32", "hw");
  const w = op.headWindows.reduce((rest, w, h) => (w > 0 ? `(select ${i32(w)} ${rest} (i32.eq ${get("h")} ${i32(h)}))` : rest), i32(0));
  return `(local.set $hw ${w})`;
}

/** Visible-key segments of query position $i among $seqK keys, into locals ss*, se*, sp*. */
export function segments(f: Func, op: AttentionOp): { count: number; code: string } {
  f.local("i32", "lo", "hi", "ss0", "se0", "sp0", "ss1", "se1", "sp1", "ss2", "se2", "sp2", "bi", "fc");
  const code: string[] = [`(local.set $lo (i32.const 0)) (local.set $hi ${get("seqK")})`];
  if (op.causal) code.push(`(local.set $hi (call $imin ${get("hi")} (i32.add ${get("i")} (i32.const 1))))`);
  if (op.window !== undefined) {
    code.push(`(local.set $lo (call $imax ${get("lo")} (i32.sub ${get("i")} ${i32(op.window - 1)})))`);
    if (!op.causal) code.push(`(local.set $hi (call $imin ${get("hi")} (i32.add ${get("i")} ${i32(op.window)})))`);
  }
  // A windowed head (Hard-ALiBi, causal) sees only keys j > i - hw.
  if (op.headWindows) code.push(`${headWindow(f, op)} (if (i32.gt_s ${get("hw")} (i32.const 0)) (then (local.set $lo (call $imax ${get("lo")} (i32.add (i32.sub ${get("i")} ${get("hw")}) (i32.const 1))))))`);
  for (let k = 0; k < 3; k++) code.push(`(local.set $ss${k} (i32.const 0)) (local.set $se${k} (i32.const 0)) (local.set $sp${k} (i32.const 1))`);
  const push = (k: number, s: string, e: string, step: string | number) =>
    `(local.set $ss${k} (call $imax ${s} ${get("lo")})) (local.set $se${k} (call $imin ${e} ${get("hi")})) (local.set $sp${k} ${typeof step === "number" ? i32(step) : step})`;
  const sp = op.sparse;
  let count = 1;
  let body: string;
  if (slidingWindow(op) !== undefined) {
    // A ring of $stride rows: slots from $wb (the multiple of stride at or below lo) up to
    // wb + stride, then from wb + stride on (the wrapped part, empty unless the range wraps).
    count = 2;
    f.local("i32", "wb");
    body = `(local.set $wb (i32.mul (i32.div_u ${get("lo")} ${get("stride")}) ${get("stride")}))
    ${push(0, get("lo"), `(i32.add ${get("wb")} ${get("stride")})`, 1)}
    ${push(1, `(i32.add ${get("wb")} ${get("stride")})`, get("hi"), 1)}`;
  } else if (sp === undefined) {
    body = push(0, get("lo"), get("hi"), 1);
  } else if (sp.kind === "block") {
    count = 2;
    const globalEnd = i32(sp.global * sp.block);
    const band =
      sp.local <= 0
        ? push(0, i32(0), globalEnd, 1)
        : `(local.set $fc (i32.mul (i32.add (i32.sub ${get("bi")} ${i32(sp.local)}) (i32.const 1)) ${i32(sp.block)}))
      (if (i32.le_s ${get("fc")} ${globalEnd})
        (then ${push(0, i32(0), `(call $imax ${globalEnd} (i32.mul (i32.add ${get("bi")} ${i32(sp.local)}) ${i32(sp.block)}))`, 1)})
        (else ${push(0, i32(0), globalEnd, 1)} ${push(1, get("fc"), `(i32.mul (i32.add ${get("bi")} ${i32(sp.local)}) ${i32(sp.block)})`, 1)}))`;
    body = `(local.set $bi (i32.div_u ${get("i")} ${i32(sp.block)}))
    (if (i32.lt_s ${get("bi")} ${i32(sp.global)}) (then ${push(0, get("lo"), get("hi"), 1)}) (else ${band}))`;
  } else {
    count = 3;
    const st = sp.stride;
    body = `(local.set $fc (i32.add ${get("lo")} (i32.rem_u (i32.sub ${get("i")} ${get("lo")}) ${i32(st)})))
    ${push(0, get("fc"), `(i32.sub ${get("i")} ${i32(st - 1)})`, st)}
    ${push(1, `(i32.sub ${get("i")} ${i32(st - 1)})`, `(i32.add ${get("i")} ${i32(st)})`, 1)}
    ${push(2, `(call $imax (i32.add ${get("i")} ${i32(st)}) ${get("fc")})`, get("hi"), st)}`;
  }
  code.push(`(if (i32.lt_s ${get("lo")} ${get("hi")}) (then ${body}))`);
  return { count, code: code.join("\n") };
}

/**
 * Ring segments: position sb = wb + seg·stride sits in slot 0 of this segment, so the base
 * pointers move back by sb rows and key j (absolute) is read at base + j·row as elsewhere.
 * The mask moves with the ring when it has the ring's stride (a ring history), else it is a
 * full history indexed by absolute position and stays. Positions and ALiBi stay absolute.
 */
export function ringRebase(padding: boolean, row: number): string {
  const sb = get("sb");
  return `(local.set $sb (i32.add ${get("wb")} (i32.mul ${get("seg")} ${get("stride")})))
      (local.set $kbase (i32.sub ${get("kb0")} (i32.mul ${sb} ${i32(row)})))
      (local.set $vbase (i32.sub ${get("vb0")} (i32.mul ${sb} ${i32(row)})))${
        padding ? `\n      (local.set $mrow (i32.sub ${get("mr0")} (i32.shl (select ${sb} (i32.const 0) (i32.eq ${get("mstride")} ${get("stride")})) (i32.const 2))))` : ""
      }`;
}
