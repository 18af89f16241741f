// Low-bit matmuls (layouts: lowbit.ts): the dispatch between the decode matrix–vector and the
// prefill path; the f16 bodies are in emit-lowbit-f16.ts, the q8 / q4 ones in emit-lowbit-int.ts.

import { BLOCK } from "../../src/runtime/weights/format.ts";
import { matmulName, rowTilesOf, tileRows, type MatmulSpec } from "./emit-matmul.ts";
import { dequantPanelF16, mvRowF16, prescaleRows } from "./emit-lowbit-f16.ts";
import { dequantIntPanel, mvIntRow } from "./emit-lowbit-int.ts";
import { quantizeRowsInt, quantizeRowsShared } from "./emit-quant.ts";
import { panelBytes } from "./lowbit.ts";
import { NR } from "./plan.ts";
import { type EmitFlags, Func, get, i32 } from "./wat.ts";
/**
 * (func $mm_<storage>_… (param $a $w $bias $c $gate $res $rows)): the matmul over low-bit
 * panels. Fewer than MR rows (decode steps): matrix–vector, each weight byte read once per row
 * from memory — f16 converted in registers, q8 / q4 by integer dot products with the quantised
 * row (emit-lowbit-int.ts). MR rows or more (prefill): each panel is dequantised once into the
 * thread's scratch, then the f32 register tiles run over it, so the conversion is paid once per
 * panel, not once per row tile. Accumulation is f32.
 */
export function emitMatmulLowBit(fl: EmitFlags, s: MatmulSpec): string {
  const st = s.storage!;
  if (!s.scratch) throw new Error(`wasm emit: ${matmulName(s)} needs the per-thread scratch`);
  const mrFull = tileRows(fl);
  const f = new Func(
    matmulName(s),
    ["a", "w", "bias", "c", "gate", "res", "rows"],
    undefined,
    `C[rows, ${s.N}] = A[rows, ${s.K}] · W[${s.N}, ${s.K}]ᵀ, W stored ${st} in ${NR}-column panels (blocks of ${BLOCK} along K), f32 accumulation`,
  );
  f.local("i32", "p", "p1", "i", "ap", "bp", "cp", "wp", "col", "rem", "k", "qp", "scr");
  const panels = Math.ceil(s.N / NR);
  const full = Math.floor(s.N / NR);
  const tail = s.N % NR;
  const pb = panelBytes(st, s.K);
  const perPanel = (label: string, one: (mode: "full" | "tail") => string): string => `
  (local.set $p (i32.div_u (i32.mul ${i32(panels)} (global.get $tid)) (global.get $nth)))
  (local.set $p1 (i32.div_u (i32.mul ${i32(panels)} (i32.add (global.get $tid) (i32.const 1))) (global.get $nth)))
  (block $B_${label} (loop $L_${label}
    (br_if $B_${label} (i32.ge_s ${get("p")} ${get("p1")}))
    (local.set $qp (i32.add ${get("w")} (i32.mul ${get("p")} ${i32(pb)})))
    (local.set $col (i32.mul ${get("p")} ${i32(NR)}))
    ${tail === 0 ? one("full") : `(if (i32.lt_s ${get("p")} ${i32(full)}) (then ${one("full")}) (else ${one("tail")}))`}
    (local.set $p (i32.add ${get("p")} (i32.const 1)))
    (br $L_${label})))`;
  const int = st !== "f16";
  if (int && s.actq === undefined) throw new Error(`wasm emit: ${matmulName(s)} needs the shared activation region`);
  const mv = (exact: boolean) => (mode: "full" | "tail") => {
    const l = `${mode}${exact ? "_x" : ""}`;
    return `
    (local.set $i (i32.const 0))
    (block $B_mvr_${l} (loop $L_mvr_${l}
      (br_if $B_mvr_${l} (i32.ge_s ${get("i")} ${get("rows")}))
      ${int ? mvIntRow(f, fl, s, mode) : mvRowF16(f, fl, s, mode, exact)}
      (local.set $i (i32.add ${get("i")} (i32.const 1)))
      (br $L_mvr_${l})))`;
  };
  // f16: the rows scaled by 2^112 first (emit-lowbit-f16.ts), unless that would overflow.
  const decode = int
    ? `${quantizeRowsInt(f, s.K, get("rows"))} ${perPanel("pv", mv(false))}`
    : `${prescaleRows(f, s.K)} (if ${get("exact")} (then ${perPanel("pvx", mv(true))}) (else ${perPanel("pv", mv(false))}))`;
  const mm = (mode: "full" | "tail") => `${int ? dequantIntPanel(f, s) : dequantPanelF16(f, s, mode)}
    (local.set $wp ${get("scr")})
    ${rowTilesOf(f, fl, s, mode, mrFull)}`;
  // q8 / q4: the input rows quantised first (activations.ts) — into this thread's scratch as
  // int8 for the decode path, into the shared region as f32 for the tiles (then A is read there).
  const body = `
  (local.set $scr (i32.add ${i32(s.scratch.base)} (i32.mul (global.get $tid) ${i32(s.scratch.bytes)})))
  (if (i32.lt_s ${get("rows")} ${i32(mrFull)})
    (then ${decode})
    (else ${int ? `${quantizeRowsShared(f, s.K, s.actq!)} (local.set $a ${i32(s.actq!)})` : ""} ${perPanel("pm", mm)}))`;
  return f.text(body);
}
