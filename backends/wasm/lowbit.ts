// Low-bit weights in Wasm memory: how f16 / q8 / q4 tensors are laid out for the kernels
// (emit-matmul.ts, emit-rows.ts) and packed at load time from the storage layouts of
// src/runtime/weights/format.ts. Held once, in their storage size (plus the f16 scales); no f32
// copy of a low-bit weight exists in Wasm memory or the JS heap after load.
//
// Matmul operands (W [N, K], K the input dim) are packed in NR = 8-row panels, like the f32
// ones. f16 keeps the f32 panels' [K][NR] order (one k's NR columns adjacent); q8 and q4 are
// row records, so a row's block of codes is one or two v128 loads for the integer dot products
// of the decode path (emit-lowbit-int.ts):
//   f16  panel = [K][NR] u16 (16 bytes per k).
//   q8   panel = [nb] records of Q8_REC = 272 bytes: the NR rows' f16 scales of the block
//        (16 bytes), then for each row c its 32 int8 codes (bytes 16 + 32c …).
//   q4   panel = [nb] records of Q4_REC = 144 bytes: the NR scales (16 bytes), then for each row
//        c its 16 bytes of nibbles (bytes 16 + 16c …) in ggml's Q4_0 order — byte j holds
//        element j in its low nibble and element j + 16 in its high one — as the unsigned code
//        q + 8, so an AND gives elements 0–15 and a 16-bit shift and an AND elements 16–31.
// Columns past N and k past K are zero (scale 0, code 0).
//
// Raw tensors (embedding gathers read rows): f16 as [N][K] u16; q8 as the codes [N][nb · 32]
// int8, then the scales [N][nb] u16.

import { BLOCK, blocksOf, type LowBitWeight, type StorageDType } from "../../src/runtime/weights/format.ts";
/** plan.ts's NR (the panel width), repeated here because plan.ts imports this file. */
const NR = 8;

export const Q8_REC = 16 + BLOCK * NR;
export const Q4_REC = 16 + (BLOCK / 2) * NR;

/** Bytes of one packed NR-column panel of a [N, K] weight stored as `storage`. */
export function panelBytes(storage: StorageDType, K: number): number {
  switch (storage) {
    case "f32":
      return 4 * NR * K;
    case "f16":
      return 2 * NR * K;
    case "q8":
      return blocksOf(K) * Q8_REC;
    case "q4":
      return blocksOf(K) * Q4_REC;
  }
}

export const packedBytes = (storage: StorageDType, N: number, K: number): number => Math.ceil(N / NR) * panelBytes(storage, K);

/** Bytes of a raw (row-gathered) tensor. */
export function rawBytes(storage: StorageDType, shape: readonly number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (storage === "f32") return 4 * n;
  if (storage === "f16") return 2 * n;
  if (storage === "q8") {
    const [N, K] = shape;
    return N * blocksOf(K) * (BLOCK + 2);
  }
  throw new Error("wasm backend: q4 tensors are read only by matmuls (embedding tables are f16 or q8 at most)");
}

/** Packs W into panels at `out` (a byte view of exactly packedBytes). */
export function packLowBit(w: LowBitWeight, out: Uint8Array): void {
  const [N, K] = w.shape.length === 2 ? w.shape : [w.shape.slice(0, -1).reduce((a, b) => a * b, 1), w.shape[w.shape.length - 1]];
  const panels = Math.ceil(N / NR);
  out.fill(0);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (w.dtype === "f16") {
    for (let p = 0; p < panels; p++) {
      const base = p * K * NR * 2;
      for (let c = 0; c < NR; c++) {
        const n = p * NR + c;
        if (n >= N) break;
        for (let k = 0; k < K; k++) dv.setUint16(base + (k * NR + c) * 2, w.bits[n * K + k], true);
      }
    }
    return;
  }
  const nb = w.blocks;
  const rec = w.dtype === "q8" ? Q8_REC : Q4_REC;
  for (let p = 0; p < panels; p++) {
    for (let c = 0; c < NR; c++) {
      const n = p * NR + c;
      if (n >= N) break;
      for (let b = 0; b < nb; b++) {
        const at = (p * nb + b) * rec;
        dv.setUint16(at + 2 * c, w.scales[n * nb + b], true);
        const kt = Math.min(BLOCK, K - b * BLOCK);
        if (w.dtype === "q8") {
          for (let j = 0; j < kt; j++) dv.setInt8(at + 16 + BLOCK * c + j, w.q[(n * nb + b) * BLOCK + j]);
        } else {
          // Codes past K: 8 (value 0); the storage pads so too, but a foreign file's padding is
          // not trusted (the decode path multiplies it by a zero activation, the prefill path
          // would read it).
          const wi = (n * nb + b) * 4;
          const o = at + 16 + 16 * c;
          if (kt === BLOCK) {
            // Word g holds elements 8g … 8g + 7: byte j pairs word j >> 3 with word 2 + (j >> 3).
            for (let h = 0; h < 2; h++) {
              const lo = w.words[wi + h];
              const hi = w.words[wi + 2 + h];
              for (let i = 0; i < 8; i++) out[o + 8 * h + i] = ((lo >>> (4 * i)) & 15) | (((hi >>> (4 * i)) & 15) << 4);
            }
          } else {
            const code = (j: number) => (j < kt ? (w.words[wi + (j >> 3)] >>> (4 * (j & 7))) & 15 : 8);
            for (let j = 0; j < 16; j++) out[o + j] = code(j) | (code(j + 16) << 4);
          }
        }
      }
    }
  }
}

/** Writes a raw (row-gathered) tensor at `out` (a byte view of rawBytes). */
export function fillRawLowBit(w: LowBitWeight, out: Uint8Array): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (w.dtype === "f16") {
    for (let i = 0; i < w.bits.length; i++) dv.setUint16(2 * i, w.bits[i], true);
    return;
  }
  if (w.dtype !== "q8") throw new Error("wasm backend: q4 tables cannot be gathered");
  const [N, K] = w.shape;
  const nb = w.blocks;
  out.set(new Uint8Array(w.q.buffer, w.q.byteOffset, w.q.byteLength), 0);
  // Codes past K are zero in the storage; make sure of it, they are never read anyway.
  for (let n = 0; n < N; n++) for (let k = K; k < nb * BLOCK; k++) out[n * nb * BLOCK + k] = 0;
  const s0 = N * nb * BLOCK;
  for (let i = 0; i < w.scales.length; i++) dv.setUint16(s0 + 2 * i, w.scales[i], true);
}
