// Blocked matmul C[rows, N] = A[rows, K] · Wᵀ over weights pre-packed into NR-wide panels
// ([ceil(N/NR)][K][NR], zero-padded), so the microkernel streams one contiguous panel while
// an MR × NR tile of C stays in registers: per k it loads NR/4 vectors of the panel and MR
// broadcasts of A, and issues MR·NR/4 multiply-adds. Panels are the outer loop, so a panel
// stays in L1/L2 while every row tile of A passes over it; threads split the panels, which
// also parallelises one-row decode steps. K and N are baked in; rows come at run time.

import { activationV, type Act } from "./emit-math.ts";
import { emitMatmulLowBit } from "./emit-lowbit.ts";
import { NR } from "./plan.ts";
import { type EmitFlags, f32 as f32c, Func, get, i32, loadV, madd, set, splat, splatLoad, storeV } from "./wat.ts";

export interface MatmulSpec {
  K: number;
  N: number;
  bias: boolean;
  act?: Act;
  gateAct?: Act;
  residual: boolean;
  /** Weight storage (absent: f32 panels); low-bit kernels need the per-thread scratch. */
  storage?: LowBitStorage;
  scratch?: { base: number; bytes: number };
  /** q8 / q4 prefill: the shared f32 [rows][K] region the quantised activations go to. */
  actq?: number;
}

export type LowBitStorage = "f16" | "q8" | "q4";

/** Register tile rows: relaxed FMA needs no temporaries, so it affords a taller tile (measured). */
export const MR = { simd: 4, relaxed: 4 };
/** Rows of the full register tile; low-bit matmuls of fewer rows take the matrix–vector path. */
export const tileRows = (fl: EmitFlags): number => (fl.relaxed ? MR.relaxed : MR.simd);

export function matmulName(s: MatmulSpec): string {
  return `mm${s.storage ? `_${s.storage}` : ""}_k${s.K}_n${s.N}${s.bias ? "_b" : ""}${s.act ? `_${s.act}` : ""}${s.gateAct ? `_g${s.gateAct}` : ""}${s.residual ? "_r" : ""}`;
}

/**
 * (func $mm_… (param $a $w $bias $c $gate $res $rows)): pointers in bytes; `bias`, `gate`
 * and `res` are ignored unless the spec has them. Rows are split into MR-row tiles plus one
 * smaller tail tile; the last panel, when N is not a multiple of NR, stores only its real columns.
 */
/** Every row of A over the panel at $wp (f32, [K][NR]): MR-row tiles, then one smaller tail tile. */
export function rowTilesOf(f: Func, fl: EmitFlags, s: MatmulSpec, mode: "full" | "tail", mrFull: number): string {
  const cases: string[] = [];
  for (let mr = 1; mr < mrFull; mr++) cases.push(`(if (i32.eq ${get("rem")} ${i32(mr)}) (then ${tile(f, fl, s, mr, mode, mrFull)}))`);
  return `
    (local.set $i (i32.const 0))
    (block $B_rows_${mode} (loop $L_rows_${mode}
      (br_if $B_rows_${mode} (i32.gt_s (i32.add ${get("i")} ${i32(mrFull)}) ${get("rows")}))
      ${tile(f, fl, s, mrFull, mode, mrFull)}
      (local.set $i (i32.add ${get("i")} ${i32(mrFull)}))
      (br $L_rows_${mode})))
    (local.set $rem (i32.sub ${get("rows")} ${get("i")}))
    ${cases.join("\n")}`;
}

export function emitMatmul(fl: EmitFlags, s: MatmulSpec): string {
  if (s.storage) return emitMatmulLowBit(fl, s);
  const mrFull = tileRows(fl);
  const f = new Func(matmulName(s), ["a", "w", "bias", "c", "gate", "res", "rows"], undefined, `C[rows, ${s.N}] = A[rows, ${s.K}] · W[${s.N}, ${s.K}]ᵀ, W packed in ${NR}-column panels`);
  f.local("i32", "p", "p1", "i", "ap", "bp", "cp", "wp", "col", "rem", "k");
  const panels = Math.ceil(s.N / NR);
  const full = Math.floor(s.N / NR);
  const tail = s.N % NR;

  const rowTiles = (mode: "full" | "tail"): string => rowTilesOf(f, fl, s, mode, mrFull);

  const body = `
  ;; this thread's panels: [p, p1)
  (local.set $p (i32.div_u (i32.mul ${i32(panels)} (global.get $tid)) (global.get $nth)))
  (local.set $p1 (i32.div_u (i32.mul ${i32(panels)} (i32.add (global.get $tid) (i32.const 1))) (global.get $nth)))
  (block $B_panels (loop $L_panels
    (br_if $B_panels (i32.ge_s ${get("p")} ${get("p1")}))
    (local.set $wp (i32.add ${get("w")} (i32.mul ${get("p")} ${i32(s.K * NR * 4)})))
    (local.set $col (i32.mul ${get("p")} ${i32(NR)}))
    ${tail === 0 ? rowTiles("full") : `(if (i32.lt_s ${get("p")} ${i32(full)}) (then ${rowTiles("full")}) (else ${rowTiles("tail")}))`}
    (local.set $p (i32.add ${get("p")} (i32.const 1)))
    (br $L_panels)))`;
  return f.text(body);
}

/** One mr × NR tile at rows [i, i + mr), panel `col`. */
function tile(f: Func, fl: EmitFlags, s: MatmulSpec, mr: number, mode: "full" | "tail", mrFull: number): string {
  const cols = mode === "full" ? NR : s.N % NR;
  const nv = Math.ceil(cols / 4);
  // Short tiles split K over U accumulator sets so enough independent FMA chains stay in flight.
  const U = Math.max(1, Math.min(4, Math.floor(mrFull / mr)));
  const acc = (u: number, r: number, v: number) => `c${u}_${r}_${v}`;
  const names: string[] = [];
  for (let u = 0; u < U; u++) for (let r = 0; r < mr; r++) for (let v = 0; v < nv; v++) names.push(acc(u, r, v));
  f.local("v128", ...names, ...Array.from({ length: nv }, (_, v) => `b${v}`), "x");
  const K = s.K;

  const kstep = (u: number, kOff: number): string => {
    const out: string[] = [];
    for (let v = 0; v < nv; v++) out.push(set(`b${v}`, loadV(get("bp"), (kOff * NR + v * 4) * 4)));
    for (let r = 0; r < mr; r++) {
      out.push(set("x", splatLoad(get("ap"), (r * K + kOff) * 4)));
      for (let v = 0; v < nv; v++) out.push(set(acc(u, r, v), madd(fl, get("x"), get(`b${v}`), get(acc(u, r, v)))));
    }
    return out.join("\n");
  };
  const mainK = Math.floor(K / U) * U;
  const zero = names.map((n) => set(n, "(v128.const i32x4 0 0 0 0)")).join("\n");
  const loop =
    mainK === 0
      ? ""
      : `(local.set $k (i32.const 0))
    (loop $L_k_${mode}_${mr}
      ${Array.from({ length: U }, (_, u) => kstep(u, u)).join("\n")}
      (local.set $ap (i32.add ${get("ap")} ${i32(4 * U)}))
      (local.set $bp (i32.add ${get("bp")} ${i32(4 * NR * U)}))
      (br_if $L_k_${mode}_${mr} (i32.lt_s (local.tee $k (i32.add ${get("k")} ${i32(U)})) ${i32(mainK)})))`;
  const tailK = Array.from({ length: K - mainK }, (_, t) => kstep(0, t)).join("\n");
  const reduce: string[] = [];
  for (let u = 1; u < U; u++) for (let r = 0; r < mr; r++) for (let v = 0; v < nv; v++) {
    reduce.push(set(acc(0, r, v), `(f32x4.add ${get(acc(0, r, v))} ${get(acc(u, r, v))})`));
  }
  return `
      (local.set $ap (i32.add ${get("a")} (i32.mul ${get("i")} ${i32(K * 4)})))
      (local.set $bp ${get("wp")})
      (local.set $cp (i32.add ${get("c")} (i32.shl (i32.add (i32.mul ${get("i")} ${i32(s.N)}) ${get("col")}) (i32.const 2))))
      ${zero}
      ${loop}
      ${tailK}
      ${reduce.join("\n")}
      ${epilogue(f, fl, s, mr, cols)}`;
}

/** acc (+ bias) → act → × act(gate) → + residual, stored to C; a tail panel stores only `cols` lanes. */
export function epilogue(f: Func, fl: EmitFlags, s: MatmulSpec, mr: number, cols: number): string {
  const out: string[] = [];
  f.local("i32", "eoff");
  f.local("v128", "y", "g");
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v * 4 < cols; v++) {
      const acc = `c0_${r}_${v}`;
      const o = (r * s.N + v * 4) * 4; // byte offset from cp
      out.push(set("y", get(acc)));
      if (s.bias) out.push(set("y", `(f32x4.add ${get("y")} ${loadV(`(i32.add ${get("bias")} (i32.shl ${get("col")} (i32.const 2)))`, v * 16)})`));
      if (s.act) {
        out.push(activationV(f, fl, s.act, "t", "y"));
        out.push(set("y", get("t")));
      }
      // Gate and residual buffers have C's shape: same offset from their base as cp from c.
      out.push(set("eoff", `(i32.sub ${get("cp")} ${get("c")})`));
      if (s.gateAct) {
        out.push(set("g", loadV(`(i32.add ${get("gate")} ${get("eoff")})`, o)));
        out.push(activationV(f, fl, s.gateAct, "t", "g"));
        out.push(set("y", `(f32x4.mul ${get("y")} ${get("t")})`));
      }
      if (s.residual) out.push(set("y", `(f32x4.add ${get("y")} ${loadV(`(i32.add ${get("res")} ${get("eoff")})`, o)})`));
      const lanes = Math.min(4, cols - v * 4);
      if (lanes === 4) out.push(storeV(get("cp"), get("y"), o));
      else for (let l = 0; l < lanes; l++) out.push(`(f32.store offset=${o + 4 * l} ${get("cp")} (f32x4.extract_lane ${l} ${get("y")}))`);
    }
  }
  return out.join("\n");
}

// ---- low-bit weights (layouts: lowbit.ts) --------------------------------------------------

/** i32x4 mask keeping the sign (bit 31) and the 15 exponent/mantissa bits of an f16 shifted left 13. */
const F16_MASK = "(v128.const i32x4 -1879056384 -1879056384 -1879056384 -1879056384)";

/**
 * f32x4 of four f16 values whose bits sit sign-extended in the i32 lanes of `h`: the f16's
 * exponent and mantissa moved into an f32's (bits 13..27, sign at 31) read as a number 2^112
 * too small, then scaled — exact for every finite f16, subnormals included (Wasm keeps f32
 * subnormals). NaN / Inf never reach a kernel: the loader refuses them.
 */
export function f16x4ToF32(h: string): string {
  return `(f32x4.mul (v128.and (i32x4.shl ${h} (i32.const 13)) ${F16_MASK}) ${splat(2 ** 112)})`;
}

/** Scalar version of f16x4ToF32 for the i32 `h` (sign-extended f16 bits). */
export function f16ToF32Scalar(h: string): string {
  return `(f32.mul (f32.reinterpret_i32 (i32.and (i32.shl ${h} (i32.const 13)) (i32.const -1879056384))) ${f32c(2 ** 112)})`;
}
