// Quantisers and dequantisers of the storage dtypes (layouts in format.ts). The quantisers
// follow ggml's reference rules (quantize_row_q8_0_ref, quantize_row_q4_0_ref) step for step in
// f32 arithmetic, so a block's codes and scale are the ones llama.cpp writes; dequantising is
// exact in f32 (a small integer times an f16 value). Browser-safe: typed arrays only.

import { WeightsError, f16ToF32, f32ArrayToF16, f32ToF16, formatShape } from "../safetensors.ts";
import { BLOCK, blocksOf, type F16Weight, type LowBitWeight, type Q4Weight, type Q8Weight, type StorageDType, type StoredWeight } from "./format.ts";

const fround = Math.fround;

let f16Table: Float32Array | undefined;
/** f16 bits → value, through a 64K table built on first use. */
export function f16Value(bits: number): number {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16ToF32(i);
  }
  return f16Table[bits & 0xffff];
}

/** C's roundf: nearest integer, halves away from zero. */
const roundAway = (x: number): number => (x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5));

function rowIndex(shape: readonly number[], flat: number): number[] {
  const index = new Array<number>(shape.length);
  let rest = flat;
  for (let a = shape.length - 1; a >= 0; a--) {
    index[a] = rest % shape[a];
    rest = Math.floor(rest / shape[a]);
  }
  return index;
}

function checkMatrix(name: string, data: Float32Array, shape: readonly number[], dtype: string): [number, number] {
  if (shape.length !== 2) throw new WeightsError(`${dtype} needs a matrix [out, in], got shape ${formatShape(shape)}`, name);
  const [N, K] = shape;
  if (data.length !== N * K) throw new WeightsError(`has ${data.length} elements, expected shape ${formatShape(shape)} = ${N * K}`, name);
  return [N, K];
}

/** Throws at the first NaN / ±Inf: a block scale computed from it would poison the block. */
function checkFiniteInput(name: string, data: Float32Array, shape: readonly number[]): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) throw new WeightsError(`holds ${String(v)} at index [${rowIndex(shape, i).join(", ")}]; cannot quantise a non-finite weight`, name);
  }
}

/**
 * Q8_0 rule per block of 32 along K: amax = max |x|, d = amax / 127, q = roundf(x / d) (via the
 * f32 reciprocal, as ggml computes it), the scale stored as f16(d). Zero padding past K.
 */
export function quantizeQ8(data: Float32Array, shape: readonly number[], name = "tensor"): Q8Weight {
  const [N, K] = checkMatrix(name, data, shape, "q8");
  checkFiniteInput(name, data, shape);
  const nb = blocksOf(K);
  const q = new Int8Array(N * nb * BLOCK);
  const scales = new Uint16Array(N * nb);
  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let b = 0; b < nb; b++) {
      const k0 = b * BLOCK;
      const k1 = Math.min(K, k0 + BLOCK);
      let amax = 0;
      for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(data[row + k]));
      const d = fround(amax / 127);
      const id = d !== 0 ? fround(1 / d) : 0;
      scales[n * nb + b] = f32ToF16(d);
      const out = (n * nb + b) * BLOCK;
      for (let k = k0; k < k1; k++) q[out + k - k0] = Math.max(-127, Math.min(127, roundAway(fround(data[row + k] * id))));
    }
  }
  checkScales(name, scales, N, nb, "q8");
  return { dtype: "q8", shape: [N, K], blocks: nb, q, scales };
}

/**
 * Q4_0 rule per block of 32 along K: max = the element of largest magnitude (the first one on
 * a tie), d = max / −8, code = min(15, trunc(x / d + 8.5)) (so the extreme element is code 0,
 * q = −8), scale f16(d). Zero padding past K (code 8).
 */
export function quantizeQ4(data: Float32Array, shape: readonly number[], name = "tensor"): Q4Weight {
  const [N, K] = checkMatrix(name, data, shape, "q4");
  checkFiniteInput(name, data, shape);
  const nb = blocksOf(K);
  const words = new Uint32Array(N * nb * 4);
  const scales = new Uint16Array(N * nb);
  const codes = new Uint8Array(BLOCK);
  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let b = 0; b < nb; b++) {
      const k0 = b * BLOCK;
      const k1 = Math.min(K, k0 + BLOCK);
      let amax = 0;
      let max = 0;
      for (let k = k0; k < k1; k++) {
        const v = data[row + k];
        if (amax < Math.abs(v)) {
          amax = Math.abs(v);
          max = v;
        }
      }
      const d = fround(max / -8);
      const id = d !== 0 ? fround(1 / d) : 0;
      scales[n * nb + b] = f32ToF16(d);
      for (let j = 0; j < BLOCK; j++) {
        const x = k0 + j < k1 ? data[row + k0 + j] : 0;
        codes[j] = Math.min(15, Math.trunc(fround(fround(x * id) + 8.5)));
      }
      packCodes(codes, words, (n * nb + b) * 4);
    }
  }
  checkScales(name, scales, N, nb, "q4");
  return { dtype: "q4", shape: [N, K], blocks: nb, words, scales };
}

/** 32 codes (0..15) → 4 words at `at`: element 8g + i in bits [4i, 4i + 4) of word g. */
export function packCodes(codes: ArrayLike<number>, words: Uint32Array, at: number): void {
  for (let g = 0; g < 4; g++) {
    let w = 0;
    for (let i = 0; i < 8; i++) w |= (codes[8 * g + i] & 15) << (4 * i);
    words[at + g] = w >>> 0;
  }
}

/** Nibble (q + 8) of element j (0..31) of the block whose words start at `at`. */
export const codeAt = (words: Uint32Array, at: number, j: number): number => (words[at + (j >> 3)] >>> (4 * (j & 7))) & 15;

/** f16 bits of every element; values beyond f16's range are an error naming the first one. */
export function toF16(data: Float32Array, shape: readonly number[], name = "tensor"): F16Weight {
  checkFiniteInput(name, data, shape);
  const bits = f32ArrayToF16(data);
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i] & 0x7c00) === 0x7c00) {
      throw new WeightsError(`value ${data[i]} at index [${rowIndex(shape, i).join(", ")}] is beyond f16's range (±65504); keep this tensor in f32`, name);
    }
  }
  return { dtype: "f16", shape: [...shape], bits };
}

/** A NaN / ±Inf scale makes its whole block garbage: refused, naming the row and block. */
export function checkScales(name: string, scales: Uint16Array, N: number, nb: number, dtype: string): void {
  for (let i = 0; i < scales.length; i++) {
    if ((scales[i] & 0x7c00) === 0x7c00) {
      const what = scales[i] & 0x03ff ? "NaN" : "infinite";
      throw new WeightsError(`${dtype} scale of row ${Math.floor(i / nb)}, block ${i % nb} (of ${N} × ${nb}) is ${what}; scales must be finite`, name);
    }
  }
}

/** Converts f32 data to a storage dtype (f32 returns the same array). */
export function quantize(data: Float32Array, shape: readonly number[], dtype: StorageDType, name = "tensor"): StoredWeight {
  switch (dtype) {
    case "f32":
      return data;
    case "f16":
      return toF16(data, shape, name);
    case "q8":
      return quantizeQ8(data, shape, name);
    case "q4":
      return quantizeQ4(data, shape, name);
  }
}

/**
 * Row n of W [N, K] (for f16, any shape read as [N, last dim]) dequantised into out[0, K):
 * q · d for q8, (code − 8) · d for q4, exact in f32.
 */
export function dequantizeRow(w: LowBitWeight, n: number, out: Float32Array): void {
  const K = w.shape[w.shape.length - 1];
  if (w.dtype === "f16") {
    const at = n * K;
    for (let k = 0; k < K; k++) out[k] = f16Value(w.bits[at + k]);
    return;
  }
  const nb = w.blocks;
  for (let b = 0; b < nb; b++) {
    const d = f16Value(w.scales[n * nb + b]);
    const k0 = b * BLOCK;
    const k1 = Math.min(K, k0 + BLOCK);
    if (w.dtype === "q8") {
      const at = (n * nb + b) * BLOCK - k0;
      for (let k = k0; k < k1; k++) out[k] = w.q[at + k] * d;
    } else {
      const at = (n * nb + b) * 4;
      for (let k = k0; k < k1; k++) out[k] = (codeAt(w.words, at, k - k0) - 8) * d;
    }
  }
}

/** The whole tensor in f32 (for tools and the f32 loader; backends dequantise on read). */
export function dequantize(w: StoredWeight): Float32Array {
  if (w instanceof Float32Array) return w;
  const K = w.shape[w.shape.length - 1];
  const N = K === 0 ? 0 : w.shape.reduce((a, b) => a * b, 1) / K;
  const out = new Float32Array(N * K);
  const row = new Float32Array(K);
  for (let n = 0; n < N; n++) {
    dequantizeRow(w, n, row);
    out.set(row, n * K);
  }
  return out;
}

// ---- llama.cpp (GGUF) blocks --------------------------------------------------------------

/** Block b of row n of a q4 tensor as ggml's block_q4_0: f16 d (little-endian), then qs[16]. */
export function toGgmlQ4_0(w: Q4Weight, n: number, b: number): Uint8Array {
  const out = new Uint8Array(18);
  const s = w.scales[n * w.blocks + b];
  out[0] = s & 0xff;
  out[1] = s >>> 8;
  const at = (n * w.blocks + b) * 4;
  for (let j = 0; j < 16; j++) out[2 + j] = codeAt(w.words, at, j) | (codeAt(w.words, at, j + 16) << 4);
  return out;
}

/** ggml block_q4_0 bytes → our 4 words and f16 scale bits. */
export function fromGgmlQ4_0(block: Uint8Array): { words: Uint32Array; scale: number } {
  if (block.length !== 18) throw new WeightsError(`a block_q4_0 is 18 bytes, got ${block.length}`);
  const codes = new Uint8Array(BLOCK);
  for (let j = 0; j < 16; j++) {
    codes[j] = block[2 + j] & 15;
    codes[j + 16] = block[2 + j] >>> 4;
  }
  const words = new Uint32Array(4);
  packCodes(codes, words, 0);
  return { words, scale: block[0] | (block[1] << 8) };
}

/** Block b of row n of a q8 tensor as ggml's block_q8_0: f16 d, then qs[32] (two's complement). */
export function toGgmlQ8_0(w: Q8Weight, n: number, b: number): Uint8Array {
  const out = new Uint8Array(34);
  const s = w.scales[n * w.blocks + b];
  out[0] = s & 0xff;
  out[1] = s >>> 8;
  out.set(new Uint8Array(w.q.buffer, w.q.byteOffset + (n * w.blocks + b) * BLOCK, BLOCK), 2);
  return out;
}

/** The little-endian bytes of q4 words: ONNX Runtime MatMulNBits' B, [N, blocks, 16]. */
export function wordsToBytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    out[4 * i] = w & 0xff;
    out[4 * i + 1] = (w >>> 8) & 0xff;
    out[4 * i + 2] = (w >>> 16) & 0xff;
    out[4 * i + 3] = w >>> 24;
  }
  return out;
}

export function bytesToWords(bytes: Uint8Array): Uint32Array {
  const out = new Uint32Array(bytes.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = (bytes[4 * i] | (bytes[4 * i + 1] << 8) | (bytes[4 * i + 2] << 16) | (bytes[4 * i + 3] << 24)) >>> 0;
  return out;
}
