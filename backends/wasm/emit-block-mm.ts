// The register-tiled block product of the blocked attention kernels (train/emit-attention-train.ts,
// emit-attention-blocked.ts): C (+)= A·B over small blocks in memory, 4 rows × 8 columns of C
// per tile (8 accumulators; per step of the sum two vector loads of B and four broadcasts of A),
// so a block product runs at the matmul's rate instead of one dot product at a time. Operands are
// named by byte strides, so a transposed operand is read in place.

import { type EmitFlags, type Func, get, i32, madd, set } from "./wat.ts";

/**
 * C [M, N] (+)= A [M, K] · B [K, N], where A(m, k) is at $a + m·am + k·ak, B(k, n) at
 * $b + k·bk + 4n (rows of B contiguous) and C(m, n) at $c + m·cm + 4n; a, b, c name i32
 * locals, strides are bytes. M and K multiples of 4, N of 4 (a last tile of 4 columns when N
 * is not a multiple of 8). `zero`: C is overwritten instead of added to. Optional, i32
 * expressions over the tile's $mm_m0 / $mm_n0 (so a causal block skips the work its mask
 * discards): `skip`, nonzero where the tile is not computed at all (C left as it was);
 * `kStart` / `kEnd`, the sum runs over steps [kStart, kEnd) only (within [0, K]; none where empty).
 */
export interface Mm {
  id: string;
  M: number;
  N: number;
  K: number;
  a: string;
  am: number;
  ak: number;
  b: string;
  bk: number;
  c: string;
  cm: number;
  zero: boolean;
  skip?: string;
  kStart?: string;
  kEnd?: string;
}

function mmTile(f: Func, fl: EmitFlags, s: Mm, nv: number): string {
  const acc = (i: number, v: number) => `ma${i}_${v}`;
  const names: string[] = [];
  for (let i = 0; i < 4; i++) for (let v = 0; v < nv; v++) names.push(acc(i, v));
  f.local("v128", ...names, "mx0", "mx1", "md");
  f.local("i32", "mm_m0", "mm_n0", "mm_ap", "mm_bp", "mm_cp", "mm_k");
  const init: string[] = [];
  const store: string[] = [];
  for (let i = 0; i < 4; i++) {
    for (let v = 0; v < nv; v++) {
      const o = i * s.cm + v * 16;
      init.push(set(acc(i, v), s.zero ? "(v128.const i32x4 0 0 0 0)" : `(v128.load offset=${o} ${get("mm_cp")})`));
      store.push(`(v128.store offset=${o} ${get("mm_cp")} ${get(acc(i, v))})`);
    }
  }
  // One step of the sum per iteration: unrolled four times (V8 11, Node 20) the same tile ran
  // at 20–28 GFLOP/s instead of 49 (a 32×32·32×128 block in L1), its accumulators spilled.
  const step: string[] = [];
  for (let v = 0; v < nv; v++) step.push(set(`mx${v}`, `(v128.load offset=${v * 16} ${get("mm_bp")})`));
  for (let i = 0; i < 4; i++) {
    step.push(set("md", `(v128.load32_splat offset=${i * s.am} ${get("mm_ap")})`));
    for (let v = 0; v < nv; v++) step.push(set(acc(i, v), madd(fl, get("md"), get(`mx${v}`), get(acc(i, v)))));
  }
  const L = `${s.id}_${nv}`;
  if (s.kStart !== undefined || s.kEnd !== undefined) f.local("i32", "mm_ks", "mm_ke");
  const k0 = s.kStart === undefined ? "" : ` (i32.mul ${get("mm_ks")} ${i32(s.ak)})`;
  const kb0 = s.kStart === undefined ? "" : ` (i32.mul ${get("mm_ks")} ${i32(s.bk)})`;
  const body = `
      (local.set $mm_cp (i32.add ${get(s.c)} (i32.add (i32.mul ${get("mm_m0")} ${i32(s.cm)}) (i32.shl ${get("mm_n0")} (i32.const 2)))))
      ${init.join("\n")}
      (local.set $mm_ap (i32.add ${k0 ? `(i32.add ${get(s.a)}${k0})` : get(s.a)} (i32.mul ${get("mm_m0")} ${i32(s.am)})))
      (local.set $mm_bp (i32.add ${kb0 ? `(i32.add ${get(s.b)}${kb0})` : get(s.b)} (i32.shl ${get("mm_n0")} (i32.const 2))))
      (local.set $mm_k ${s.kStart === undefined ? "(i32.const 0)" : get("mm_ks")})
      (loop $L_mk_${L}
        ${step.join("\n")}
        (local.set $mm_ap (i32.add ${get("mm_ap")} ${i32(s.ak)}))
        (local.set $mm_bp (i32.add ${get("mm_bp")} ${i32(s.bk)}))
        (br_if $L_mk_${L} (i32.lt_s (local.tee $mm_k (i32.add ${get("mm_k")} (i32.const 1))) ${s.kEnd === undefined ? i32(s.K) : get("mm_ke")})))
      ${store.join("\n")}`;
  const range = [s.kStart === undefined ? "" : `(local.set $mm_ks ${s.kStart})`, s.kEnd === undefined ? "" : `(local.set $mm_ke ${s.kEnd})`].join(" ");
  const lo = s.kStart === undefined ? "(i32.const 0)" : get("mm_ks");
  const hi = s.kEnd === undefined ? i32(s.K) : get("mm_ke");
  const bounded = s.kStart === undefined && s.kEnd === undefined ? body : `${range}\n      (if (i32.lt_s ${lo} ${hi}) (then ${body}))`;
  return s.skip === undefined ? bounded : `(if (i32.eqz ${s.skip}) (then ${bounded}))`;
}

export function mm(f: Func, fl: EmitFlags, s: Mm): string {
  if (s.M % 4 || s.K % 4 || s.N % 4) throw new Error(`wasm attention blocks: ${s.id} is ${s.M}×${s.K}·${s.K}×${s.N}, not multiples of 4`);
  const n8 = s.N - (s.N % 8);
  const full =
    n8 === 0
      ? ""
      : `(local.set $mm_n0 (i32.const 0))
      (loop $L_mn_${s.id}
        ${mmTile(f, fl, s, 2)}
        (br_if $L_mn_${s.id} (i32.lt_s (local.tee $mm_n0 (i32.add ${get("mm_n0")} (i32.const 8))) ${i32(n8)})))`;
  const tail = s.N % 8 === 0 ? "" : `(local.set $mm_n0 ${i32(n8)})\n${mmTile(f, fl, s, 1)}`;
  f.local("i32", "mm_m0");
  return `
    (local.set $mm_m0 (i32.const 0))
    (loop $L_mm_${s.id}
      ${full}
      ${tail}
      (br_if $L_mm_${s.id} (i32.lt_s (local.tee $mm_m0 (i32.add ${get("mm_m0")} (i32.const 4))) ${i32(s.M)})))`;
}
