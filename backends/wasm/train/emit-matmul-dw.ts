// The weight gradient of a linear layer, dW [N, K] = dyᵀ · x = Σ_r dy[r, :]ᵀ x[r, :], straight
// from the row-major dy [rows, N] and x [rows, K] the forward left: a register tile of 4 rows
// of dW × 16 columns (16 accumulators) takes, per batch row r, four vector loads of x[r, k0..]
// and four broadcasts of dy[r, n0..], i.e. 16 multiply-adds per 8 loads, with nothing
// transposed or packed first (dW is accumulated in place). N and K are baked in (they unroll the tile edges); the number
// of batch rows comes at run time, so one kernel serves every batch shape.

import { type EmitFlags, Func, get, i32, madd, set } from "../wat.ts";

const MR = 4;
const NC = 16;

export const matmulDwName = (N: number, K: number): string => `dw_n${N}_k${K}`;

/** One mr × cols tile of dW at ($n0, $k0): the loop over the batch rows, then the store. */
function tile(f: Func, fl: EmitFlags, N: number, K: number, mr: number, cols: number): string {
  const nv = Math.ceil(cols / 4);
  const acc = (i: number, v: number) => `a${i}_${v}`;
  const names: string[] = [];
  for (let i = 0; i < mr; i++) for (let v = 0; v < nv; v++) names.push(acc(i, v));
  f.local("v128", ...names, ...Array.from({ length: nv }, (_, v) => `x${v}`), "d");
  const body: string[] = [];
  for (let v = 0; v < nv; v++) body.push(set(`x${v}`, `(v128.load offset=${v * 16} ${get("xp")})`));
  for (let i = 0; i < mr; i++) {
    body.push(set("d", `(v128.load32_splat offset=${i * 4} ${get("dp")})`));
    for (let v = 0; v < nv; v++) body.push(set(acc(i, v), madd(fl, get("d"), get(`x${v}`), get(acc(i, v)))));
  }
  const stores: string[] = [];
  for (let i = 0; i < mr; i++) {
    for (let v = 0; v < nv; v++) {
      const o = (i * K + v * 4) * 4;
      const lanes = Math.min(4, cols - v * 4);
      if (lanes === 4) stores.push(`(v128.store offset=${o} ${get("cp")} ${get(acc(i, v))})`);
      else for (let l = 0; l < lanes; l++) stores.push(`(f32.store offset=${o + 4 * l} ${get("cp")} (f32x4.extract_lane ${l} ${get(acc(i, v))}))`);
    }
  }
  // Accumulators start from dW's current values (so calls accumulate); a tail
  // panel loads whole vectors, reading a few lanes past its row that it never stores.
  const loads: string[] = [];
  for (let i = 0; i < mr; i++) for (let v = 0; v < nv; v++) loads.push(set(acc(i, v), `(v128.load offset=${(i * K + v * 4) * 4} ${get("cp")})`));
  return `
      (local.set $cp (i32.add ${get("c")} (i32.shl (i32.add (i32.mul ${get("n0")} ${i32(K)}) ${get("k0")}) (i32.const 2))))
      ${loads.join("\n")}
      (local.set $dp (i32.add ${get("dy")} (i32.shl ${get("n0")} (i32.const 2))))
      (local.set $xp (i32.add ${get("x")} (i32.shl ${get("k0")} (i32.const 2))))
      (local.set $r (i32.const 0))
      (block $B_r_${mr}_${cols} (loop $L_r_${mr}_${cols}
        (br_if $B_r_${mr}_${cols} (i32.ge_s ${get("r")} ${get("rows")}))
        ${body.join("\n")}
        (local.set $dp (i32.add ${get("dp")} ${i32(N * 4)}))
        (local.set $xp (i32.add ${get("xp")} ${i32(K * 4)}))
        (local.set $r (i32.add ${get("r")} (i32.const 1)))
        (br $L_r_${mr}_${cols})))
      ${stores.join("\n")}`;
}

/** The column panels of one band of mr dW rows at $n0. */
function band(f: Func, fl: EmitFlags, N: number, K: number, mr: number): string {
  const full = Math.floor(K / NC);
  const tail = K % NC;
  const loop =
    full === 0
      ? ""
      : `(local.set $k0 (i32.const 0))
    (loop $L_k_${mr}
      ${tile(f, fl, N, K, mr, NC)}
      (br_if $L_k_${mr} (i32.lt_s (local.tee $k0 (i32.add ${get("k0")} ${i32(NC)})) ${i32(full * NC)})))`;
  return `${loop}
    ${tail === 0 ? "" : `(local.set $k0 ${i32(full * NC)})\n${tile(f, fl, N, K, mr, tail)}`}`;
}

/**
 * (func $dw_n…_k… (param $dy $x $c $rows)): c [N, K] += dyᵀ x, each tile over all the rows.
 * Threads split the bands of MR rows of dW ($tid's share of ceil(N / MR), the tail band last):
 * each owns disjoint rows of dW, and a band is the same code whoever runs it.
 * Measured at ~18 GFLOP/s, under half the forward's: each tile streams x and dy (rows 0.5–2 KB
 * apart) from L2/L3. Blocking the rows so the slice of x stays in L1 was slower still (10–12):
 * the dy rows, a power of two apart, fall into a few L1 sets. Packing a block of dy transposed
 * first is the next step.
 */
export function emitMatmulDw(fl: EmitFlags, N: number, K: number): string {
  const f = new Func(matmulDwName(N, K), ["dy", "x", "c", "rows"], undefined, `dW[${N}, ${K}] += dy[rows, ${N}]ᵀ · x[rows, ${K}]`);
  f.local("i32", "n0", "k0", "r", "dp", "xp", "cp", "b0", "b1", "nEnd");
  const full = Math.floor(N / MR);
  const tail = N % MR;
  const bands = Math.ceil(N / MR);
  const share = `
  (local.set $b0 (i32.div_u (i32.mul ${i32(bands)} (global.get $tid)) (global.get $nth)))
  (local.set $b1 (i32.div_u (i32.mul ${i32(bands)} (i32.add (global.get $tid) (i32.const 1))) (global.get $nth)))`;
  const loop =
    full === 0
      ? ""
      : `(local.set $n0 (i32.mul ${get("b0")} ${i32(MR)}))
  (local.set $nEnd (i32.mul (call $imin ${get("b1")} ${i32(full)}) ${i32(MR)}))
  (block $B_n (loop $L_n
    (br_if $B_n (i32.ge_s ${get("n0")} ${get("nEnd")}))
    ${band(f, fl, N, K, MR)}
    (local.set $n0 (i32.add ${get("n0")} ${i32(MR)}))
    (br $L_n)))`;
  return f.text(`${share}
  ${loop}
  ${tail === 0 ? "" : `(if (i32.gt_s ${get("b1")} ${i32(full)}) (then (local.set $n0 ${i32(full * MR)})\n${band(f, fl, N, K, tail)}))`}`);
}
