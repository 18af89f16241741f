/**
 * ggml's K-quants (and IQ4_XS) decoded to f32, as dequantize_row_* compute them (f32
 * arithmetic, the same order of operations). Super-blocks of 256 elements along a row:
 *
 *   Q2_K (84 bytes): 16 scale bytes (low nibble scale, high nibble min of each 16 elements),
 *     64 bytes of 2-bit codes, f16 d, f16 dmin. Element 128h + 32s + l (h < 2, s < 4, l < 32)
 *     is (qs[32h + l] >> 2s) & 3; x = (d · scale) · q − dmin · min of its 16.
 *   Q3_K (110 bytes): hmask[32], qs[64] (2-bit codes as Q2_K's), 12 bytes of sixteen 6-bit
 *     scales (low 4 bits: byte i & 15 for i < 8, byte i − 8 >> 4 above; high 2: byte 8 + i % 4
 *     >> 2 · (i / 4)), minus 32, f16 d. Element e's third bit is bit e / 32 of hmask[e % 32]; the
 *     code is q − 4 where that bit is 0; x = (d · scale) · code.
 *   Q5_K (176 bytes): Q4_K's d, dmin and 6-bit (scale, min) pairs, qh[32], qs[128]; Q4_K's
 *     nibbles plus bit e / 32 of qh[e % 32] as the fifth.
 *   Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of eight 6-bit (scale, min) pairs, 128 bytes of
 *     nibbles. Sub-block j < 4: scale = s[j] & 63, min = s[j + 4] & 63; j ≥ 4: scale =
 *     s[j + 4] & 15 | (s[j − 4] >> 6) << 4, min = s[j + 4] >> 4 | (s[j] >> 6) << 4. Chunk c of
 *     64 elements reads bytes 32c..32c + 31: low nibbles are elements 64c + l (sub-block 2c),
 *     high nibbles 64c + 32 + l (sub-block 2c + 1); x = (d · scale) · q − dmin · min.
 *   Q6_K (210 bytes): 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16 int8 scales,
 *     f16 d. Each half of 128 elements uses 64 bytes of ql, 32 of qh and 8 scales; element
 *     l + 32t (l < 32, t < 4) is q = (ql nibble) | (2 bits of qh[l] at 2t) << 4, minus 32, times
 *     d · scale[l / 16 + 2t]; the nibble is ql[l] (t = 0, 2: low, high) or ql[l + 32] (t = 1, 3).
 */
import { f16ToF32 } from "../dtype.ts";
import { KVALUES, u16 } from "./block-quants.ts";

const f = Math.fround;

/** Q4_K's and Q5_K's 6-bit (scale, min) of sub-block j, from the 12 bytes at `at`. */
function scaleMin(d: Uint8Array, at: number, j: number): [number, number] {
  const s = (k: number) => d[at + k];
  return j < 4 ? [s(j) & 63, s(j + 4) & 63] : [(s(j + 4) & 15) | ((s(j - 4) >> 6) << 4), (s(j + 4) >> 4) | ((s(j) >> 6) << 4)];
}

export function dequantQ4K(d: Uint8Array, out: Float32Array): void {
  for (let b = 0; b < out.length / 256; b++) {
    const at = 144 * b;
    const D = f16ToF32(u16(d, at));
    const Dmin = f16ToF32(u16(d, at + 2));
    for (let c = 0; c < 4; c++) {
      const [sc1, m1] = scaleMin(d, at + 4, 2 * c);
      const [sc2, m2] = scaleMin(d, at + 4, 2 * c + 1);
      const d1 = f(D * sc1);
      const min1 = f(Dmin * m1);
      const d2 = f(D * sc2);
      const min2 = f(Dmin * m2);
      for (let l = 0; l < 32; l++) {
        const q = d[at + 16 + 32 * c + l];
        out[256 * b + 64 * c + l] = f(f(d1 * (q & 15)) - min1);
        out[256 * b + 64 * c + 32 + l] = f(f(d2 * (q >> 4)) - min2);
      }
    }
  }
}

export function dequantQ6K(d: Uint8Array, out: Float32Array): void {
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let b = 0; b < out.length / 256; b++) {
    const at = 210 * b;
    const D = f16ToF32(u16(d, at + 208));
    for (let h = 0; h < 2; h++) {
      const ql = at + 64 * h;
      const qh = at + 128 + 32 * h;
      const sc = at + 192 + 8 * h;
      for (let l = 0; l < 32; l++) {
        const hi = d[qh + l];
        const q = [(d[ql + l] & 15) | ((hi & 3) << 4), (d[ql + l + 32] & 15) | (((hi >> 2) & 3) << 4), (d[ql + l] >> 4) | (((hi >> 4) & 3) << 4), (d[ql + l + 32] >> 4) | (((hi >> 6) & 3) << 4)];
        for (let t = 0; t < 4; t++) out[256 * b + 128 * h + l + 32 * t] = f(f(D * view.getInt8(sc + ((l / 16) | 0) + 2 * t)) * (q[t] - 32));
      }
    }
  }
}

export function dequantQ5K(d: Uint8Array, out: Float32Array): void {
  for (let b = 0; b < out.length / 256; b++) {
    const at = 176 * b;
    const D = f16ToF32(u16(d, at));
    const Dmin = f16ToF32(u16(d, at + 2));
    for (let e = 0; e < 256; e++) {
      const [sc, m] = scaleMin(d, at + 4, e >> 5);
      const c = e >> 6;
      const l = e & 31;
      const q = ((d[at + 48 + 32 * c + l] >> (e & 32 ? 4 : 0)) & 15) | (((d[at + 16 + l] >> (e >> 5)) & 1) << 4);
      out[256 * b + e] = f(f(f(D * sc) * q) - f(Dmin * m));
    }
  }
}

export function dequantQ2K(d: Uint8Array, out: Float32Array): void {
  for (let b = 0; b < out.length / 256; b++) {
    const at = 84 * b;
    const D = f16ToF32(u16(d, at + 80));
    const Dmin = f16ToF32(u16(d, at + 82));
    for (let e = 0; e < 256; e++) {
      const sc = d[at + (e >> 4)];
      const q = (d[at + 16 + 32 * (e >> 7) + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
      out[256 * b + e] = f(f(f(D * (sc & 15)) * q) - f(Dmin * (sc >> 4)));
    }
  }
}

export function dequantQ3K(d: Uint8Array, out: Float32Array): void {
  for (let b = 0; b < out.length / 256; b++) {
    const at = 110 * b;
    const D = f16ToF32(u16(d, at + 108));
    const sc = at + 96;
    for (let e = 0; e < 256; e++) {
      const i = e >> 4;
      const scale = ((i < 8 ? d[sc + i] & 15 : d[sc + i - 8] >> 4) | (((d[sc + 8 + (i & 3)] >> (2 * (i >> 2))) & 3) << 4)) - 32;
      const low = (d[at + 32 + 32 * (e >> 7) + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
      const high = (d[at + (e & 31)] >> (e >> 5)) & 1;
      out[256 * b + e] = f(f(D * scale) * (low - (high ? 0 : 4)));
    }
  }
}

/** IQ4_XS (136 bytes): f16 d, u16 high scale bits, 4 bytes of low ones, then eight IQ4_NL-coded sub-blocks of 32 (16 bytes each). */
export function dequantIQ4XS(d: Uint8Array, out: Float32Array): void {
  for (let b = 0; b < out.length / 256; b++) {
    const at = 136 * b;
    const D = f16ToF32(u16(d, at));
    const high = u16(d, at + 2);
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((d[at + 4 + (ib >> 1)] >> (4 * (ib & 1))) & 15) | (((high >> (2 * ib)) & 3) << 4);
      const dl = f(D * (ls - 32));
      const qs = at + 8 + 16 * ib;
      for (let j = 0; j < 32; j++) out[256 * b + 32 * ib + j] = f(dl * KVALUES[j < 16 ? d[qs + j] & 15 : d[qs + j - 16] >> 4]);
    }
  }
}
