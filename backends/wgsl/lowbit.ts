// Low-bit weights in GPU buffers: the row records the WGSL kernels read (kernels/lowbit.ts)
// and their packing at upload from the storage layouts of src/runtime/weights/format.ts. A
// buffer of a low-bit weight is an array<u32> of one record per row (N rows of K elements):
//
//   f16  2 · ⌈K / 4⌉ words: word j holds elements 2j (low half) and 2j + 1 (high half), IEEE
//        binary16; zero past K, so a vec4 of elements 4i … 4i + 3 is always words 2i, 2i + 1.
//   q8   nb · 8 words of codes (word j holds elements 4j … 4j + 3, one int8 per byte, lowest
//        byte = lowest k: the storage's bytes as they are), then ⌈nb / 2⌉ words of f16 scales
//        (block 2i in the low half, 2i + 1 in the high one).
//   q4   nb · 4 words of codes (the storage's u32 words as they are: word 4b + g holds elements
//        32b + 8g + i, code q + 8, in bits [4i, 4i + 4)), then ⌈nb / 2⌉ words of f16 scales.
//
// One record per row keeps everything the f32 buffers do: fused projections stack rows of
// several weights (each with the same K), and a weight over the binding limit splits by rows.
// The words go straight from the storage arrays into the mapped GPU buffer: no f32 copy of a
// low-bit weight is ever made on the host.

import { WeightsError, formatShape } from "../../src/runtime/safetensors.ts";
import { BLOCK, blocksOf, storageOf, type LowBitWeight, type StorageDType, type StoredWeight } from "../../src/runtime/weights/format.ts";

export type LowBitDType = Exclude<StorageDType, "f32">;

/** u32 words (f32 elements, for f32) of one row of K elements stored as `storage`. */
export function rowWords(storage: StorageDType, K: number): number {
  const nb = blocksOf(K);
  switch (storage) {
    case "f32":
      return K;
    case "f16":
      return 2 * Math.ceil(K / 4);
    case "q8":
      return nb * (BLOCK / 4) + Math.ceil(nb / 2);
    case "q4":
      return nb * (BLOCK / 8) + Math.ceil(nb / 2);
  }
}

/** Word offset of the scales within a q8 / q4 row record. */
export const scaleOffset = (storage: "q8" | "q4", K: number): number => blocksOf(K) * (storage === "q8" ? BLOCK / 4 : BLOCK / 8);

/**
 * The stored weight checked against the logical [N, K] the program gives it: a store built in
 * code (not read from a file, which readStored checks) may still disagree with the spec.
 */
export function checkStored(name: string, w: StoredWeight, N: number, K: number, want: StorageDType): void {
  const have = storageOf(w);
  if (have !== want) throw new WeightsError(`is stored as ${have}, but the program was compiled for ${want}`, name);
  if (w instanceof Float32Array) {
    if (w.length !== N * K) throw new WeightsError(`has ${w.length} elements, expected shape ${formatShape([N, K])} = ${N * K}`, name);
    return;
  }
  const shape = w.shape;
  if (shape.length !== 2 || shape[0] !== N || shape[1] !== K) throw new WeightsError(`is ${w.dtype} of shape ${formatShape(shape)}, expected ${formatShape([N, K])}`, name);
  const nb = blocksOf(K);
  const parts: Array<[string, number, number]> =
    w.dtype === "f16"
      ? [["f16 values", w.bits.length, N * K]]
      : [
          [`${w.dtype} codes`, w.dtype === "q8" ? w.q.length : w.words.length * 8, N * nb * BLOCK],
          ["scales", w.scales.length, N * nb],
        ];
  if (w.dtype !== "f16" && w.blocks !== nb) throw new WeightsError(`is ${w.dtype} in ${w.blocks} blocks per row; K = ${K} needs ${nb} blocks of ${BLOCK}`, name);
  for (const [what, got, need] of parts) if (got !== need) throw new WeightsError(`has ${got} ${what}, expected ${need} for ${w.dtype} ${formatShape([N, K])} in blocks of ${BLOCK}`, name);
}

/**
 * Writes rows [r0, r1) of W (K elements each) as row records at word `at` of `dst` (a
 * Uint32Array over the mapped buffer); returns the next free word.
 */
export function writeRows(w: LowBitWeight, K: number, r0: number, r1: number, dst: Uint32Array, at: number): number {
  const rw = rowWords(w.dtype, K);
  const nb = blocksOf(K);
  for (let r = r0; r < r1; r++, at += rw) {
    if (w.dtype === "f16") {
      for (let k = 0; k < K; k += 2) {
        const lo = w.bits[r * K + k];
        const hi = k + 1 < K ? w.bits[r * K + k + 1] : 0;
        dst[at + k / 2] = (lo | (hi << 16)) >>> 0;
      }
      continue;
    }
    if (w.dtype === "q8") {
      const bytes = new Uint8Array(dst.buffer, dst.byteOffset + at * 4, nb * BLOCK);
      bytes.set(new Uint8Array(w.q.buffer, w.q.byteOffset + r * nb * BLOCK, nb * BLOCK));
    } else {
      dst.set(w.words.subarray(r * nb * 4, (r + 1) * nb * 4), at);
    }
    const s0 = at + scaleOffset(w.dtype, K);
    for (let b = 0; b < nb; b += 2) {
      const lo = w.scales[r * nb + b];
      const hi = b + 1 < nb ? w.scales[r * nb + b + 1] : 0;
      dst[s0 + b / 2] = (lo | (hi << 16)) >>> 0;
    }
  }
  return at;
}
