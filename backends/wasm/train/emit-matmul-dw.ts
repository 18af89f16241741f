// The weight gradient of a linear layer, dW [N, K] += dyᵀ · x = Σ_r dy[r, :]ᵀ x[r, :], from the
// row-major dy [rows, N] and x [rows, K] the forward left. The batch rows (the sum) go in chunks
// of RC: each chunk is first packed into a per-thread scratch — x as [ceil(K/NC)][RC][NC] column
// strips, dy as [ceil(N/MR)][RC][MR] row bands — so the register tile then streams two
// contiguous blocks (a 512-byte x strip and a 256-byte dy band, both in L1). Unpacked, the tiles
// read rows 0.5–2 KB apart, a power of two, which land in a few L1 sets and kept this kernel at
// ~18 GFLOP/s against the forward's 35–45. The tile is MR rows of dW × NC columns: MR·NC/4
// accumulators, NC/4 vector loads of x and MR broadcasts of dy per batch row.
//
// Every dW element is its row sum in row order from dW's current value whatever the chunking
// (accumulators go back to dW between chunks exactly), so the result is the unchunked kernel's,
// and that of any thread split. N and K are baked in; the batch rows come at run time.

import { type EmitFlags, Func, get, i32, madd, set } from "../wat.ts";

/** dW rows per register tile (the broadcasts from dy): the band threads split. */
export const DW_MR = 4;
/** dW columns per register tile (NC/4 vectors of x). */
const NC = 8;
/**
 * Batch rows per packed chunk. Small, so a chunk's packed x strips and dy bands stay in L1
 * (16 rows of K = 512: 32 KB) even though every chunk then reads and writes all of dW once:
 * rows 2,048, relaxed SIMD, AMD EPYC (Zen 5), GFLOP/s at RC 128 → 16: dW 128×128 43 → 50,
 * 512×128 40 → 50, 768×768 47 → 50, 768×3072 47 → 50; RC 4 fell to 41, 32–64 to 42–49.
 */
const RC = 16;

export const matmulDwName = (N: number, K: number): string => `dw_n${N}_k${K}`;

/** Scratch bytes one thread's dW call packs into (the host allocates threads × this). */
export const dwScratchBytes = (N: number, K: number): number => RC * 4 * (Math.ceil(K / NC) * NC + Math.ceil(N / DW_MR) * DW_MR);

/** One mr × cols tile of dW at ($n0, $k0) over the chunk's $cr rows, from the packed strips. */
function tile(f: Func, fl: EmitFlags, K: number, mr: number, cols: number): string {
  const nv = Math.ceil(cols / 4);
  const acc = (i: number, v: number) => `a${i}_${v}`;
  const names: string[] = [];
  for (let i = 0; i < mr; i++) for (let v = 0; v < nv; v++) names.push(acc(i, v));
  f.local("v128", ...names, ...Array.from({ length: nv }, (_, v) => `x${v}`), "d");
  const body: string[] = [];
  for (let v = 0; v < nv; v++) body.push(set(`x${v}`, `(v128.load offset=${v * 16} ${get("xq")})`));
  for (let i = 0; i < mr; i++) {
    body.push(set("d", `(v128.load32_splat offset=${i * 4} ${get("dq")})`));
    for (let v = 0; v < nv; v++) body.push(set(acc(i, v), madd(fl, get("d"), get(`x${v}`), get(acc(i, v)))));
  }
  // Accumulators start from dW's current values; a tail strip loads whole vectors, reading a
  // few lanes past its row that it never stores.
  const loads: string[] = [];
  const stores: string[] = [];
  for (let i = 0; i < mr; i++) {
    for (let v = 0; v < nv; v++) {
      const o = (i * K + v * 4) * 4;
      loads.push(set(acc(i, v), `(v128.load offset=${o} ${get("cp")})`));
      const lanes = Math.min(4, cols - v * 4);
      if (lanes === 4) stores.push(`(v128.store offset=${o} ${get("cp")} ${get(acc(i, v))})`);
      else for (let l = 0; l < lanes; l++) stores.push(`(f32.store offset=${o + 4 * l} ${get("cp")} (f32x4.extract_lane ${l} ${get(acc(i, v))}))`);
    }
  }
  const L = `${mr}_${cols}`;
  return `
      (local.set $cp (i32.add ${get("c")} (i32.shl (i32.add (i32.mul ${get("n0")} ${i32(K)}) ${get("k0")}) (i32.const 2))))
      ${loads.join("\n")}
      (local.set $dq ${get("dband")})
      (local.set $xq (i32.add ${get("xs")} (i32.mul ${get("k0")} ${i32(RC * 4)})))
      (local.set $xEnd (i32.add ${get("xq")} (i32.mul ${get("cr")} ${i32(NC * 4)})))
      (loop $L_r_${L}
        ${body.join("\n")}
        (local.set $dq (i32.add ${get("dq")} ${i32(DW_MR * 4)}))
        (br_if $L_r_${L} (i32.lt_u (local.tee $xq (i32.add ${get("xq")} ${i32(NC * 4)})) ${get("xEnd")})))
      ${stores.join("\n")}`;
}

/** The column strips of one band of mr dW rows at $n0 over the chunk. */
function band(f: Func, fl: EmitFlags, K: number, mr: number): string {
  const full = Math.floor(K / NC);
  const tail = K % NC;
  const loop =
    full === 0
      ? ""
      : `(local.set $k0 (i32.const 0))
    (loop $L_k_${mr}
      ${tile(f, fl, K, mr, NC)}
      (br_if $L_k_${mr} (i32.lt_s (local.tee $k0 (i32.add ${get("k0")} ${i32(NC)})) ${i32(full * NC)})))`;
  return `(local.set $dband (i32.add ${get("ds")} (i32.mul ${get("n0")} ${i32(RC * 4)})))
    ${loop}
    ${tail === 0 ? "" : `(local.set $k0 ${i32(full * NC)})\n${tile(f, fl, K, mr, tail)}`}`;
}

/**
 * Packs the chunk of $cr rows at $r0: every strip of x, and this thread's bands [$b0, $b1) of
 * dy. Whole vectors are copied, so a tail strip or band holds a few values of the next row (or
 * the buffers' slack) in lanes that no store reaches.
 */
function pack(N: number, K: number): string {
  const strips = Math.ceil(K / NC);
  const xcopy: string[] = [];
  for (let v = 0; v < NC / 4; v++) xcopy.push(`(v128.store offset=${v * 16} ${get("q")} (v128.load offset=${v * 16} ${get("p")}))`);
  return `
    (local.set $i (i32.const 0))
    (loop $L_px
      (local.set $p (i32.add ${get("x")} (i32.shl (i32.mul (i32.add ${get("r0")} ${get("i")}) ${i32(K)}) (i32.const 2))))
      (local.set $q (i32.add ${get("xs")} (i32.mul ${get("i")} ${i32(NC * 4)})))
      (local.set $s (i32.const 0))
      (loop $L_pxs
        ${xcopy.join("\n")}
        (local.set $p (i32.add ${get("p")} ${i32(NC * 4)}))
        (local.set $q (i32.add ${get("q")} ${i32(RC * NC * 4)}))
        (br_if $L_pxs (i32.lt_s (local.tee $s (i32.add ${get("s")} (i32.const 1))) ${i32(strips)})))
      (br_if $L_px (i32.lt_s (local.tee $i (i32.add ${get("i")} (i32.const 1))) ${get("cr")})))
    (if (i32.lt_s ${get("b0")} ${get("b1")}) (then
    (local.set $i (i32.const 0))
    (loop $L_pd
      (local.set $p (i32.add ${get("dy")} (i32.shl (i32.add (i32.mul (i32.add ${get("r0")} ${get("i")}) ${i32(N)}) (i32.mul ${get("b0")} ${i32(DW_MR)})) (i32.const 2))))
      (local.set $q (i32.add ${get("ds")} (i32.add (i32.mul ${get("b0")} ${i32(RC * DW_MR * 4)}) (i32.mul ${get("i")} ${i32(DW_MR * 4)}))))
      (local.set $s ${get("b0")})
      (loop $L_pds
        (v128.store ${get("q")} (v128.load ${get("p")}))
        (local.set $p (i32.add ${get("p")} ${i32(DW_MR * 4)}))
        (local.set $q (i32.add ${get("q")} ${i32(RC * DW_MR * 4)}))
        (br_if $L_pds (i32.lt_s (local.tee $s (i32.add ${get("s")} (i32.const 1))) ${get("b1")})))
      (br_if $L_pd (i32.lt_s (local.tee $i (i32.add ${get("i")} (i32.const 1))) ${get("cr")})))))`;
}

/**
 * (func $dw_n…_k… (param $dy $x $c $rows $scratch)): c [N, K] += dyᵀ x. $scratch holds
 * dwScratchBytes(N, K) per thread (thread $tid packs at $scratch + $tid · that).
 * Threads split the bands of DW_MR rows of dW ($tid's share of ceil(N / DW_MR), the tail band
 * last): each owns disjoint rows of dW, and a band is the same code whoever runs it.
 */
export function emitMatmulDw(fl: EmitFlags, N: number, K: number): string {
  if (NC % 4 !== 0 || DW_MR !== 4) throw new Error("wasm dW emit: the packing copies one vector per dy band and whole vectors of x");
  const f = new Func(matmulDwName(N, K), ["dy", "x", "c", "rows", "scratch"], undefined, `dW[${N}, ${K}] += dy[rows, ${N}]ᵀ · x[rows, ${K}]`);
  f.local("i32", "n0", "k0", "dq", "xq", "xEnd", "cp", "b0", "b1", "nEnd", "r0", "cr", "xs", "ds", "dband", "i", "s", "p", "q");
  const full = Math.floor(N / DW_MR);
  const tail = N % DW_MR;
  const bands = Math.ceil(N / DW_MR);
  const xsBytes = RC * 4 * Math.ceil(K / NC) * NC;
  const bandsLoop =
    full === 0
      ? ""
      : `(local.set $n0 (i32.mul ${get("b0")} ${i32(DW_MR)}))
  (local.set $nEnd (i32.mul (call $imin ${get("b1")} ${i32(full)}) ${i32(DW_MR)}))
  (block $B_n (loop $L_n
    (br_if $B_n (i32.ge_s ${get("n0")} ${get("nEnd")}))
    ${band(f, fl, K, DW_MR)}
    (local.set $n0 (i32.add ${get("n0")} ${i32(DW_MR)}))
    (br $L_n)))`;
  return f.text(`
  (local.set $b0 (i32.div_u (i32.mul ${i32(bands)} (global.get $tid)) (global.get $nth)))
  (local.set $b1 (i32.div_u (i32.mul ${i32(bands)} (i32.add (global.get $tid) (i32.const 1))) (global.get $nth)))
  (if (i32.ge_s ${get("b0")} ${get("b1")}) (then (return)))
  (local.set $xs (i32.add ${get("scratch")} (i32.mul (global.get $tid) ${i32(dwScratchBytes(N, K))})))
  (local.set $ds (i32.add ${get("xs")} ${i32(xsBytes)}))
  (local.set $r0 (i32.const 0))
  (block $B_chunk (loop $L_chunk
    (br_if $B_chunk (i32.ge_s ${get("r0")} ${get("rows")}))
    (local.set $cr (call $imin ${i32(RC)} (i32.sub ${get("rows")} ${get("r0")})))
    ${pack(N, K)}
    ${bandsLoop}
    ${tail === 0 ? "" : `(if (i32.gt_s ${get("b1")} ${i32(full)}) (then (local.set $n0 ${i32(full * DW_MR)})\n${band(f, fl, K, tail)}))`}
    (local.set $r0 (i32.add ${get("r0")} ${i32(RC)}))
    (br $L_chunk)))`);
}
