/**
 * ggml's older blocks of 32 decoded to f32, as dequantize_row_* compute them (f32 arithmetic in
 * the same order). In every one, element j < 16 is the low nibble of qs[j] and element j ≥ 16
 * the high nibble of qs[j − 16]; a fifth bit, where there is one, is bit j of the u32 qh:
 *
 *   Q4_1   (20 bytes): f16 d, f16 m, qs[16]            x = d · q + m
 *   Q5_0   (22 bytes): f16 d, qh[4], qs[16]            x = d · (q − 16)
 *   Q5_1   (24 bytes): f16 d, f16 m, qh[4], qs[16]     x = d · q + m
 *   IQ4_NL (18 bytes): f16 d, qs[16]                   x = d · KVALUES[q] (a non-linear grid)
 */
import { f16ToF32 } from "../dtype.ts";

const f = Math.fround;
export const u16 = (d: Uint8Array, at: number): number => d[at] | (d[at + 1] << 8);
const u32 = (d: Uint8Array, at: number): number => (d[at] | (d[at + 1] << 8) | (d[at + 2] << 16) | (d[at + 3] << 24)) >>> 0;

/** IQ4_NL's (and IQ4_XS's) 16 levels (ggml-common.h kvalues_iq4nl). */
export const KVALUES = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** The 4-bit code of element j of a 32-element block whose 16 nibble bytes start at `qs`. */
const nibble = (d: Uint8Array, qs: number, j: number): number => (j < 16 ? d[qs + j] & 15 : d[qs + j - 16] >> 4);

export function dequantQ4_1(d: Uint8Array, out: Float32Array): void {
  for (let b = 0; b < out.length / 32; b++) {
    const at = 20 * b;
    const D = f16ToF32(u16(d, at));
    const M = f16ToF32(u16(d, at + 2));
    for (let j = 0; j < 32; j++) out[32 * b + j] = f(f(D * nibble(d, at + 4, j)) + M);
  }
}

export function dequantQ5_0(d: Uint8Array, out: Float32Array): void {
  for (let b = 0; b < out.length / 32; b++) {
    const at = 22 * b;
    const D = f16ToF32(u16(d, at));
    const qh = u32(d, at + 2);
    for (let j = 0; j < 32; j++) out[32 * b + j] = f(D * ((nibble(d, at + 6, j) | (((qh >>> j) & 1) << 4)) - 16));
  }
}

export function dequantQ5_1(d: Uint8Array, out: Float32Array): void {
  for (let b = 0; b < out.length / 32; b++) {
    const at = 24 * b;
    const D = f16ToF32(u16(d, at));
    const M = f16ToF32(u16(d, at + 2));
    const qh = u32(d, at + 4);
    for (let j = 0; j < 32; j++) out[32 * b + j] = f(f(D * (nibble(d, at + 8, j) | (((qh >>> j) & 1) << 4))) + M);
  }
}

export function dequantIQ4_NL(d: Uint8Array, out: Float32Array): void {
  for (let b = 0; b < out.length / 32; b++) {
    const at = 18 * b;
    const D = f16ToF32(u16(d, at));
    for (let j = 0; j < 32; j++) out[32 * b + j] = f(D * KVALUES[nibble(d, at + 2, j)]);
  }
}
