// Rows of the attention kernels that are not attention: the KV cache's head-major slots (a
// position's K or V row written head by head, a head's first key), row copies and scaling, and
// the RoPE rotation of one head vector (emit-attention.ts, emit-module.ts's persist).

import { Func, get, i32, loadV, storeV } from "./wat.ts";

/**
 * In-place rotary embedding of one head vector at `ptr` for position `pos` (rotate_half:
 * channel c pairs with c + dim/2). The table holds cos then sin, [positions, dim/2] each.
 */
export function emitRope(name: string, dim: number, positions: number): string {
  const half = dim / 2;
  const f = new Func(name, ["ptr", "pos", "table"], undefined, `RoPE rotate_half over ${dim} channels`);
  f.local("i32", "c", "cs");
  f.local("v128", "x1", "x2", "co", "si");
  f.local("f32", "y1", "y2", "sc", "ss");
  const sinOff = positions * half * 4;
  const nv = Math.floor(half / 4);
  const vec =
    nv === 0
      ? ""
      : `(local.set $c (i32.const 0))
  (loop $L_c
    (local.set $x1 ${loadV(`(i32.add ${get("ptr")} ${get("c")})`)})
    (local.set $x2 ${loadV(`(i32.add ${get("ptr")} ${get("c")})`, half * 4)})
    (local.set $co ${loadV(`(i32.add ${get("cs")} ${get("c")})`)})
    (local.set $si ${loadV(`(i32.add ${get("cs")} ${get("c")})`, sinOff)})
    ${storeV(`(i32.add ${get("ptr")} ${get("c")})`, `(f32x4.sub (f32x4.mul ${get("x1")} ${get("co")}) (f32x4.mul ${get("x2")} ${get("si")}))`)}
    ${storeV(`(i32.add ${get("ptr")} ${get("c")})`, `(f32x4.add (f32x4.mul ${get("x2")} ${get("co")}) (f32x4.mul ${get("x1")} ${get("si")}))`, half * 4)}
    (br_if $L_c (i32.lt_s (local.tee $c (i32.add ${get("c")} (i32.const 16))) ${i32(nv * 16)})))`;
  const scalar: string[] = [];
  for (let c = nv * 4; c < half; c++) {
    scalar.push(`(local.set $y1 (f32.load offset=${c * 4} ${get("ptr")}))
    (local.set $y2 (f32.load offset=${(c + half) * 4} ${get("ptr")}))
    (local.set $sc (f32.load offset=${c * 4} ${get("cs")}))
    (local.set $ss (f32.load offset=${sinOff + c * 4} ${get("cs")}))
    (f32.store offset=${c * 4} ${get("ptr")} (f32.sub (f32.mul ${get("y1")} ${get("sc")}) (f32.mul ${get("y2")} ${get("ss")})))
    (f32.store offset=${(c + half) * 4} ${get("ptr")} (f32.add (f32.mul ${get("y2")} ${get("sc")}) (f32.mul ${get("y1")} ${get("ss")})))`);
  }
  return f.text(`(local.set $cs (i32.add ${get("table")} (i32.mul ${get("pos")} ${i32(half * 4)})))
  ${vec}
  ${scalar.join("\n")}`);
}

export const ropeName = (dim: number, positions: number): string => `rope_${dim}_p${positions}`;

/** Copies `bytes` (a multiple of 4) from src to dst: unrolled v128 moves, a loop for long rows. */
export function copyRow(src: string, dst: string, bytes: number, f?: Func, label = "cp"): string {
  const vecBytes = bytes - (bytes % 16);
  const out: string[] = [];
  if (vecBytes > 256 && f) {
    f.local("i32", `${label}_o`);
    const o = get(`${label}_o`);
    out.push(`(local.set $${label}_o (i32.const 0))
  (loop $L_${label}
    ${storeV(`(i32.add ${dst} ${o})`, loadV(`(i32.add ${src} ${o})`))}
    (br_if $L_${label} (i32.lt_s (local.tee $${label}_o (i32.add ${o} (i32.const 16))) ${i32(vecBytes)})))`);
  } else {
    for (let o = 0; o < vecBytes; o += 16) out.push(storeV(dst, loadV(src, o), o));
  }
  for (let o = vecBytes; o < bytes; o += 4) out.push(`(f32.store offset=${o} ${dst} (f32.load offset=${o} ${src}))`);
  return out.join("\n");
}

/**
 * Writes one position's K or V row [G heads × hd] from `src` into a head-major cache slot:
 * head h of sequence $s at row `pos` lives at base + ((s·G + h)·$stride + pos)·hd·4, so each
 * head's keys are contiguous. With position-major rows a head's walk over the cache read 1 row
 * in G's worth of every line and page (decode at 4,096 positions ran at ~3.5 GB/s against the
 * 20 GB/s a streaming read gets); head-major, a decode step streams each head's keys.
 */
export function appendHeads(f: Func, src: string, base: string, pos: string, G: number, hd: number, label: string): string {
  f.local("i32", `${label}_h`, `${label}_s`, `${label}_d`);
  const hb = hd * 4;
  return `(local.set $${label}_d (i32.add ${base} (i32.mul (i32.add (i32.mul (i32.mul ${get("s")} ${i32(G)}) ${get("stride")}) ${pos}) ${i32(hb)})))
    (local.set $${label}_s ${src})
    (local.set $${label}_h (i32.const 0))
    (loop $L_${label}
      ${copyRow(get(`${label}_s`), get(`${label}_d`), hb, f, `${label}c`)}
      (local.set $${label}_s (i32.add ${get(`${label}_s`)} ${i32(hb)}))
      (local.set $${label}_d (i32.add ${get(`${label}_d`)} (i32.mul ${get("stride")} ${i32(hb)})))
      (br_if $L_${label} (i32.lt_s (local.tee $${label}_h (i32.add ${get(`${label}_h`)} (i32.const 1))) ${i32(G)})))`;
}

/** The first key of KV head $kvh of sequence $s in a head-major slot at `base` (appendHeads). */
export const headBase = (base: string, G: number, hd: number): string =>
  `(i32.add ${get(base)} (i32.mul (i32.add (i32.mul ${get("s")} ${i32(G)}) ${get("kvh")}) (i32.mul ${get("stride")} ${i32(hd * 4)})))`;

/**
 * Multiplies `floats` at ptr by a v128 constant expression: a vector loop over the whole
 * vectors, then scalar stores for the last floats % 4 (never touching the next row).
 */
export function scaleRow(f: Func, ptr: string, floats: number, factor: string, label: string): string {
  const vec = floats - (floats % 4);
  const tail = Array.from(
    { length: floats - vec },
    (_, k) => `(f32.store offset=${(vec + k) * 4} ${ptr} (f32.mul (f32.load offset=${(vec + k) * 4} ${ptr}) (f32x4.extract_lane 0 ${factor})))`,
  ).join("\n");
  if (vec === 0) return tail;
  f.local("i32", `${label}_o`);
  const o = get(`${label}_o`);
  const loop = `(local.set $${label}_o (i32.const 0))
  (loop $L_${label}
    ${storeV(`(i32.add ${ptr} ${o})`, `(f32x4.mul ${loadV(`(i32.add ${ptr} ${o})`)} ${factor})`)}
    (br_if $L_${label} (i32.lt_s (local.tee $${label}_o (i32.add ${o} (i32.const 16))) ${i32(vec * 4)})))`;
  return tail ? `${loop}\n${tail}` : loop;
}
