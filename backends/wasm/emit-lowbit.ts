// Low-bit matmuls (layouts: lowbit.ts): the dispatch between the decode matrix–vector and the
// prefill path, and the f16 bodies; q8 / q4 bodies are in emit-lowbit-int.ts.

import { BLOCK } from "../../src/runtime/weights/format.ts";
import { epilogue, f16x4ToF32, MR, matmulName, rowTilesOf, type MatmulSpec } from "./emit-matmul.ts";
import { dequantIntPanel, mvIntRow } from "./emit-lowbit-int.ts";
import { quantizeRowsInt, quantizeRowsShared } from "./emit-quant.ts";
import { panelBytes } from "./lowbit.ts";
import { NR } from "./plan.ts";
import { type EmitFlags, Func, get, i32, madd, set, splatLoad, storeV } from "./wat.ts";


/** The f16 weights of step kk (0..31) of the current block for vectors v < nv as exact f32x4, from $rec. */
const f16Vector = (kk: number, v: number): string => f16x4ToF32(`(v128.load16x4_s offset=${kk * NR * 2 + v * 8} ${get("rec")})`);

/** Blocks of a row: a loop over the whole ones, then the partial one (K % 32 steps), each by `block(steps)`. */
function overBlocks(s: MatmulSpec, label: string, block: (steps: number) => string, advance: string): string {
  const whole = Math.floor(s.K / BLOCK);
  const rest = s.K % BLOCK;
  const loop =
    whole === 0
      ? ""
      : `(local.set $blk (i32.const 0))
      (loop $L_${label}
        ${block(BLOCK)}
        ${advance}
        (br_if $L_${label} (i32.lt_s (local.tee $blk (i32.add ${get("blk")} (i32.const 1))) ${i32(whole)})))`;
  return `${loop}\n${rest ? block(rest) : ""}`;
}

/**
 * Matrix–vector for one row $i over the panel at $qp: the weights dequantised in registers,
 * four partial sums per vector (independent FMA chains), the block's scale applied once per
 * block to their sum, f32 throughout.
 */
function mvRowF16(f: Func, fl: EmitFlags, s: MatmulSpec, mode: "full" | "tail"): string {
  const cols = mode === "full" ? NR : s.N % NR;
  const nv = Math.ceil(cols / 4);
  const U = 4;
  const t = (u: number, v: number) => `t${u}_${v}`;
  for (let v = 0; v < nv; v++) f.local("v128", `c0_0_${v}`, ...Array.from({ length: U }, (_, u) => t(u, v)));
  f.local("v128", "x", "ts");
  f.local("i32", "blk", "rec");
  const block = (steps: number): string => {
    const out: string[] = [];
    for (let u = 0; u < U; u++) for (let v = 0; v < nv; v++) out.push(set(t(u, v), "(v128.const i32x4 0 0 0 0)"));
    for (let kk = 0; kk < steps; kk++) {
      out.push(set("x", splatLoad(get("ap"), kk * 4)));
      for (let v = 0; v < nv; v++) out.push(set(t(kk % U, v), madd(fl, get("x"), f16Vector(kk, v), get(t(kk % U, v)))));
    }
    for (let v = 0; v < nv; v++) {
      out.push(set("ts", `(f32x4.add (f32x4.add ${get(t(0, v))} ${get(t(1, v))}) (f32x4.add ${get(t(2, v))} ${get(t(3, v))}))`));
      out.push(set(`c0_0_${v}`, `(f32x4.add ${get(`c0_0_${v}`)} ${get("ts")})`));
    }
    return out.join("\n");
  };
  const advance = `(local.set $ap (i32.add ${get("ap")} ${i32(BLOCK * 4)}))\n(local.set $rec (i32.add ${get("rec")} ${i32(BLOCK * NR * 2)}))`;
  return `
        (local.set $ap (i32.add ${get("a")} (i32.mul ${get("i")} ${i32(s.K * 4)})))
        (local.set $cp (i32.add ${get("c")} (i32.shl (i32.add (i32.mul ${get("i")} ${i32(s.N)}) ${get("col")}) (i32.const 2))))
        (local.set $rec ${get("qp")})
        ${Array.from({ length: nv }, (_, v) => set(`c0_0_${v}`, "(v128.const i32x4 0 0 0 0)")).join("\n")}
        ${overBlocks(s, `mv_${mode}`, block, advance)}
        ${epilogue(f, fl, s, 1, cols)}`;
}

/** The panel at $qp dequantised into f32 [K][NR] at $scr (exact: a code times an f16 scale). */
function dequantPanelF16(f: Func, s: MatmulSpec, mode: "full" | "tail"): string {
  const cols = mode === "full" ? NR : s.N % NR;
  const nv = Math.ceil(cols / 4);
  f.local("i32", "blk", "rec");
  const block = (steps: number): string => {
    const out: string[] = [];
    for (let kk = 0; kk < steps; kk++) for (let v = 0; v < nv; v++) out.push(storeV(get("bp"), f16Vector(kk, v), (kk * NR + v * 4) * 4));
    return out.join("\n");
  };
  const advance = `(local.set $bp (i32.add ${get("bp")} ${i32(BLOCK * NR * 4)}))\n(local.set $rec (i32.add ${get("rec")} ${i32(BLOCK * NR * 2)}))`;
  return `
      (local.set $rec ${get("qp")})
      (local.set $bp ${get("scr")})
      ${overBlocks(s, `dq_${mode}`, block, advance)}`;
}

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
  const mrFull = fl.relaxed ? MR.relaxed : MR.simd;
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
  const mv = (mode: "full" | "tail") => `
    (local.set $i (i32.const 0))
    (block $B_mvr_${mode} (loop $L_mvr_${mode}
      (br_if $B_mvr_${mode} (i32.ge_s ${get("i")} ${get("rows")}))
      ${int ? mvIntRow(f, fl, s, mode) : mvRowF16(f, fl, s, mode)}
      (local.set $i (i32.add ${get("i")} (i32.const 1)))
      (br $L_mvr_${mode})))`;
  const mm = (mode: "full" | "tail") => `${int ? dequantIntPanel(f, s) : dequantPanelF16(f, s, mode)}
    (local.set $wp ${get("scr")})
    ${rowTilesOf(f, fl, s, mode, mrFull)}`;
  // q8 / q4: the input rows quantised first (activations.ts) — into this thread's scratch as
  // int8 for the decode path, into the shared region as f32 for the tiles (then A is read there).
  const body = `
  (local.set $scr (i32.add ${i32(s.scratch.base)} (i32.mul (global.get $tid) ${i32(s.scratch.bytes)})))
  (if (i32.lt_s ${get("rows")} ${i32(mrFull)})
    (then ${int ? quantizeRowsInt(f, s.K, get("rows")) : ""} ${perPanel("pv", mv)})
    (else ${int ? `${quantizeRowsShared(f, s.K, s.actq!)} (local.set $a ${i32(s.actq!)})` : ""} ${perPanel("pm", mm)}))`;
  return f.text(body);
}
