// WGSL readers of low-bit weight records (layouts: ../lowbit.ts): a vec4 of four consecutive k
// for the matmuls, one element for the embedding gather, dequantised to f32 in the kernel; and
// the quantisation of a q8 / q4 matmul's input rows that every backend's arithmetic shares. The
// products are always f32 (a code times an f16 scale is exact in f32; in f16 it would round,
// and f16 accumulation is what gives other runtimes NaN), so the two paths differ only in how
// an f16 becomes an f32: with `shader-f16` a bitcast to f16 and a widening conversion, without
// it unpack2x16float (core WGSL, exact for every f16 including subnormals).

import { blocksOf } from "../../../src/runtime/weights/format.ts";
import { rowWords, scaleOffset, type LowBitDType } from "../lowbit.ts";
import { Bindings, FLAT_ARGS, FLAT_ID, kernel, opaque, seqLen, u32, type Kernel, type SeqSym } from "../wgsl.ts";

export interface LowBitRead {
  storage: LowBitDType;
  /** Elements per row (the reduced dim of a matmul, the embedding width of a table). */
  K: number;
  /** Use f16 types (the device has `shader-f16`; the shader starts with `enable f16;`). */
  f16: boolean;
}

/** f16 halves of a u32 word as vec2<f32>. */
const halves = (word: string, f16: boolean): string => (f16 ? `vec2<f32>(bitcast<vec2<f16>>(${word}))` : `unpack2x16float(${word})`);

/** `fn <fn>_scale(r, b) -> f32`: the f16 scale of block b of row r. */
function scaleFn(fn: string, buf: string, s: LowBitRead): string {
  if (s.storage === "f16") return "";
  const rw = u32(rowWords(s.storage, s.K));
  const so = u32(scaleOffset(s.storage, s.K));
  return `fn ${fn}_scale(r: u32, b: u32) -> f32 { return ${halves(`${buf}[r * ${rw} + ${so} + b / 2u]`, s.f16)}[b % 2u]; }`;
}

/**
 * `fn <fn>(r: u32, k4: u32) -> vec4<f32>`: elements 4·k4 … 4·k4 + 3 of row r of `buf`
 * (array<u32>), k4 < ⌈K / 4⌉; elements past K read as the storage's padding (finite).
 */
export function lowBitVec4Fn(fn: string, buf: string, s: LowBitRead): string {
  const rw = u32(rowWords(s.storage, s.K));
  const at = `r * ${rw}`;
  switch (s.storage) {
    case "f16": {
      const body = s.f16
        ? `return vec4<f32>(bitcast<vec4<f16>>(vec2<u32>(${buf}[${at} + 2u * k4], ${buf}[${at} + 2u * k4 + 1u])));`
        : `return vec4<f32>(unpack2x16float(${buf}[${at} + 2u * k4]), unpack2x16float(${buf}[${at} + 2u * k4 + 1u]));`;
      return `fn ${fn}(r: u32, k4: u32) -> vec4<f32> { ${body} }`;
    }
    case "q8":
      // Each byte moved to the top and shifted back arithmetically: a sign-extended int8.
      return `${scaleFn(fn, buf, s)}
fn ${fn}(r: u32, k4: u32) -> vec4<f32> {
  let q = (vec4<i32>(bitcast<i32>(${buf}[${at} + k4])) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
  return vec4<f32>(q) * ${fn}_scale(r, k4 / 8u);
}`;
    case "q4":
      // Eight codes per word: k4 even reads its low four nibbles, odd its high four.
      return `${scaleFn(fn, buf, s)}
fn ${fn}(r: u32, k4: u32) -> vec4<f32> {
  let w = ${buf}[${at} + k4 / 2u] >> ((k4 % 2u) * 16u);
  let q = (vec4<u32>(w) >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(15u);
  return (vec4<f32>(q) - vec4<f32>(8.0)) * ${fn}_scale(r, k4 / 8u);
}`;
  }
}

/** `fn <fn>(r: u32, c: u32) -> f32`: element c < K of row r of `buf` (array<u32>). */
export function lowBitElemFn(fn: string, buf: string, s: LowBitRead): string {
  const rw = u32(rowWords(s.storage, s.K));
  const at = `r * ${rw}`;
  switch (s.storage) {
    case "f16":
      return `fn ${fn}(r: u32, c: u32) -> f32 { return ${halves(`${buf}[${at} + c / 2u]`, s.f16)}[c % 2u]; }`;
    case "q8":
      return `${scaleFn(fn, buf, s)}
fn ${fn}(r: u32, c: u32) -> f32 { return f32(extractBits(bitcast<i32>(${buf}[${at} + c / 4u]), (c % 4u) * 8u, 8u)) * ${fn}_scale(r, c / 32u); }`;
    case "q4":
      return `${scaleFn(fn, buf, s)}
fn ${fn}(r: u32, c: u32) -> f32 { return (f32(extractBits(${buf}[${at} + c / 8u], (c % 8u) * 4u, 4u)) - 8.0) * ${fn}_scale(r, c / 32u); }`;
  }
}

/** The kernel with `enable f16;` in front, when it uses f16 types (must precede every declaration). */
export function enableF16(k: Kernel, f16: boolean): Kernel {
  return f16 ? { ...k, wgsl: `enable f16;\n${k.wgsl}` } : k;
}

/**
 * The input rows of a q8 / q4 matmul quantised as src/runtime/weights/activations.ts defines
 * (the arithmetic the reference and Wasm follow): per block of 32 along K, d = f32(amax / 127),
 * id = f32(1 / d), a = nearest-even(x · id); XQ holds a · d, the value the matmul then
 * multiplies by the dequantised weights. WGSL's f32 division is not correctly rounded (2.5 ULP),
 * so d and id are computed exactly from the operands' 24-bit significands in integer
 * arithmetic; the product x · id is correctly rounded, and round() is ties-to-even.
 */
export function quantizeRowsKernel(s: { rows: SeqSym; K: number }): Kernel {
  const b = new Bindings();
  b.add("X", "read", "array<f32>");
  b.add("XQ", "rw", "array<f32>");
  const body = `
const K = ${u32(s.K)};
const NB = ${u32(blocksOf(s.K))};
// RN(a / 127) for finite a > 0: a = m · 2^(e − 24) with m a 24-bit integer; m · 2^sh / 127 has
// 24 significant bits for sh = 7 (6 for the largest m); 127 is odd, so there are no ties.
fn div127(a: f32) -> f32 {
  let fe = frexp(a);
  let m = u32(fe.fract * 16777216.0);
  let sh = select(7u, 6u, m >= 16646144u);
  let num = m << sh;
  let q = num / 127u + select(0u, 1u, num % 127u >= 64u);
  return ldexp(f32(q), fe.exp - 24 - i32(sh));
}
// RN(1 / d) for finite d > 0: d = m · 2^(e − 24); 2^47 / m by long division (m < 2^24, so the
// remainder stays below 2^25), rounded to nearest (a tie needs m a power of two: exact then).
fn recip(d: f32) -> f32 {
  let fe = frexp(d);
  let m = u32(fe.fract * 16777216.0);
  if (m == 8388608u) { return ldexp(1.0, 1 - fe.exp); }
  var rem = 1u;
  var q = 0u;
  for (var i = 0u; i < ${opaque("47u")}; i++) {
    rem = rem << 1u;
    q = q << 1u;
    if (rem >= m) { rem = rem - m; q = q | 1u; }
  }
  q = q + select(0u, 1u, 2u * rem > m);
  return ldexp(f32(q), -23 - fe.exp);
}
@compute @workgroup_size(64)
fn main(${FLAT_ARGS}, @builtin(local_invocation_index) t: u32) {
  let i = ${FLAT_ID} * 64u + t;
  if (i >= P.batch * ${seqLen(s.rows)} * NB) { return; }
  let r = i / NB;
  let k0 = (i % NB) * 32u;
  let k1 = min(K, k0 + 32u);
  var amax = 0.0;
  for (var k = k0; k < k1; k++) { amax = max(amax, abs(X[r * K + k])); }
  var d = 0.0;
  var id = 0.0;
  if (amax > 0.0) {
    d = div127(amax);
    id = recip(d);
  }
  for (var k = k0; k < k1; k++) { XQ[r * K + k] = round(X[r * K + k] * id) * d; }
}`;
  return kernel(b, body, 64, 0);
}

/** Threads per row of quantizeRowsKernel: one per block. */
export const quantizeThreadsPerRow = (K: number): number => blocksOf(K);
