/**
 * ggml's K-quants decoded to f32, as dequantize_row_q4_K / dequantize_row_q6_K compute them
 * (f32 arithmetic, the same order of operations). Super-blocks of 256 elements along a row:
 *
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

const f = Math.fround;
const u16 = (d: Uint8Array, at: number): number => d[at] | (d[at + 1] << 8);

export function dequantQ4K(d: Uint8Array, out: Float32Array): void {
  for (let b = 0; b < out.length / 256; b++) {
    const at = 144 * b;
    const D = f16ToF32(u16(d, at));
    const Dmin = f16ToF32(u16(d, at + 2));
    const s = (k: number) => d[at + 4 + k];
    const scaleMin = (j: number): [number, number] => (j < 4 ? [s(j) & 63, s(j + 4) & 63] : [(s(j + 4) & 15) | ((s(j - 4) >> 6) << 4), (s(j + 4) >> 4) | ((s(j) >> 6) << 4)]);
    for (let c = 0; c < 4; c++) {
      const [sc1, m1] = scaleMin(2 * c);
      const [sc2, m2] = scaleMin(2 * c + 1);
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
