// WGSL readers of low-bit weight records (layouts: ../lowbit.ts): a vec4 of four consecutive k
// for the matmuls, one element for the embedding gather, dequantised to f32 in the kernel. The
// products are always f32 (a code times an f16 scale is exact in f32; in f16 it would round,
// and f16 accumulation is what gives other runtimes NaN), so the two paths differ only in how
// an f16 becomes an f32: with `shader-f16` a bitcast to f16 and a widening conversion, without
// it unpack2x16float (core WGSL, exact for every f16 including subnormals).

import { rowWords, scaleOffset, type LowBitDType } from "../lowbit.ts";
import { u32, type Kernel } from "../wgsl.ts";

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
