// Low-bit weights in Wasm memory: how f16 / q8 / q4 tensors are laid out for the kernels
// (emit-matmul.ts, emit-rows.ts) and packed at load time from the storage layouts of
// src/runtime/weights/format.ts. Held once, in their storage size (plus the f16 scales); no f32
// copy of a low-bit weight exists in Wasm memory or the JS heap after load.
//
// Matmul operands (W [N, K], K the input dim) are packed in NR = 8-column panels, like the f32
// ones, so a panel's weights for one k are adjacent and one k-step feeds NR/4 accumulators:
//   f16  panel = [K][NR] u16 (16 bytes per k).
//   q8   panel = [nb] records of Q8_REC = 272 bytes: the NR columns' f16 scales of the block
//        (16 bytes), then [32][NR] int8 codes (8 bytes per k: one v128.load8x8_s).
//   q4   panel = [nb] records of Q4_REC = 144 bytes: the NR scales (16 bytes), then for each
//        group g of 8 k's, NR u32 words (32 bytes: two v128 loads), word c holding column c's
//        codes of k = 32b + 8g + i in bits [4i, 4i + 4) — the storage word as it is, except
//        that each nibble is XORed with 8, turning the code q + 8 into q's own 4-bit two's
//        complement, which a shift left and an arithmetic shift right extract.
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
          for (let j = 0; j < kt; j++) dv.setInt8(at + 16 + j * NR + c, w.q[(n * nb + b) * BLOCK + j]);
        } else {
          for (let g = 0; g < 4; g++) {
            let word = (w.words[(n * nb + b) * 4 + g] ^ 0x88888888) >>> 0;
            // k past K: code 0 (the storage pads with code 8, which the XOR made 0 already,
            // but a foreign file's padding is not trusted).
            const valid = Math.max(0, Math.min(8, kt - 8 * g));
            if (valid < 8) word = valid === 0 ? 0 : (word & ((1 << (4 * valid)) - 1)) >>> 0;
            dv.setUint32(at + 16 + g * 4 * NR + 4 * c, word, true);
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
