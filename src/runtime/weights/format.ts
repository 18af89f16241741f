// Storage dtypes of weights and their exact in-memory layouts. The logical value of every
// weight is f32 (the IR's `f32` value type); its *storage* is one of:
//
//   f32  the Float32Array itself.
//   f16  IEEE binary16 bits, Uint16Array, same shape and element order.
//   q8   Q8_0-like: a weight W [N, K] in nn.Linear layout (K = the input dim, the one a matmul
//        reduces over; for an embedding table [vocab, d], K = d). Each row is cut into
//        nb = ceil(K / 32) blocks of 32 consecutive elements along K; a block holds 32 int8
//        values q and one f16 scale d:  w[n, 32b + j] ≈ d[n, b] · q[n, 32b + j].
//        q: Int8Array [N, nb · 32] (row-major), scales: Uint16Array [N, nb] (f16 bits).
//   q4   symmetric 4-bit, Q4_0-like: the same blocks of 32 along K and one f16 scale per block,
//        q in [−8, 7] stored as the unsigned nibble q + 8, eight nibbles to a u32 word:
//        w[n, 32b + j] ≈ d[n, b] · (nibble − 8).
//        words: Uint32Array [N, nb · 4]; word 4·(n·nb + b) + g holds elements 32b + 8g + i,
//        i = 0..7, in bits [4i, 4i + 4) (the lowest nibble is the lowest k). As little-endian
//        bytes, byte j of a block holds element 2j in its low nibble and 2j + 1 in its high one.
//        scales: Uint16Array [N, nb] (f16 bits).
//
// A K that is not a multiple of 32 pads the last block of every row with zeros (q = 0; for
// q4 the nibble 8): the padding dequantises to 0 and no kernel reads past K.
//
// Mappings (test/lowbit-quantize.test.ts checks both on hand-worked blocks):
//   - ONNX Runtime MatMulNBits (bits = 4, block_size = 32): its B input uint8 [N, nb, 16] is
//     exactly our words' little-endian bytes ("packed low-first along K"), its scales [N, nb]
//     are ours widened to the activation type, and its default zero point 8 is our offset:
//     (code − 8) · scale. No zero_points input is needed.
//   - llama.cpp / GGUF Q4_0 (block_q4_0 = { f16 d; u8 qs[16] }, 18 bytes): the same scale and
//     the same code q + 8, in another nibble order: qs[j] holds element j (low nibble) and
//     j + 16 (high nibble). Our quantiser is Q4_0's reference rule (d = the signed value of
//     largest magnitude / −8; q = min(15, trunc(x / d + 8.5))), so repacking the nibbles gives
//     ggml's bytes. toGgmlQ4_0 / fromGgmlQ4_0 (quantize.ts) do it.
//   - GGUF Q8_0 (block_q8_0 = { f16 d; i8 qs[32] }, 34 bytes): same elements in the same order;
//     d = amax / 127, q = round(x / d) (half away from zero), as ggml's reference quantiser.

/** Elements of a block along K, for q8 and q4. */
export const BLOCK = 32;

export type StorageDType = "f32" | "f16" | "q8" | "q4";
export const STORAGE_DTYPES: readonly StorageDType[] = ["f32", "f16", "q8", "q4"];
export const isStorageDType = (v: unknown): v is StorageDType => typeof v === "string" && (STORAGE_DTYPES as readonly string[]).includes(v);

export interface F16Weight {
  readonly dtype: "f16";
  readonly shape: readonly number[];
  /** IEEE binary16 bits, row-major. */
  readonly bits: Uint16Array;
}

export interface Q8Weight {
  readonly dtype: "q8";
  /** [N, K]: K is the blocked (input) dim. */
  readonly shape: readonly [number, number];
  /** ceil(K / 32). */
  readonly blocks: number;
  /** [N, blocks · 32], zero past K. */
  readonly q: Int8Array;
  /** [N, blocks], f16 bits. */
  readonly scales: Uint16Array;
}

export interface Q4Weight {
  readonly dtype: "q4";
  readonly shape: readonly [number, number];
  readonly blocks: number;
  /** [N, blocks · 4] u32 words of eight nibbles (q + 8), lowest nibble = lowest k; nibble 8 past K. */
  readonly words: Uint32Array;
  /** [N, blocks], f16 bits. */
  readonly scales: Uint16Array;
}

export type LowBitWeight = F16Weight | Q8Weight | Q4Weight;
/** A weight as a backend holds it: f32 as a plain Float32Array, anything else tagged. */
export type StoredWeight = Float32Array | LowBitWeight;
/** Native tensor name → the tensor in its storage dtype. */
export type WeightStore = Map<string, StoredWeight>;

export const blocksOf = (K: number): number => Math.ceil(K / BLOCK);

export function storageOf(w: StoredWeight): StorageDType {
  return w instanceof Float32Array ? "f32" : w.dtype;
}

export function isLowBit(w: StoredWeight | undefined): w is LowBitWeight {
  return w !== undefined && !(w instanceof Float32Array);
}

/** Elements of the logical tensor. */
export function storedElements(w: StoredWeight): number {
  if (w instanceof Float32Array) return w.length;
  return w.shape.reduce((a, b) => a * b, 1);
}

/** Bytes of the storage: data plus scales (what a file and a backend hold). */
export function storedBytes(w: StoredWeight): number {
  if (w instanceof Float32Array) return 4 * w.length;
  if (w.dtype === "f16") return 2 * w.bits.length;
  if (w.dtype === "q8") return w.q.length + 2 * w.scales.length;
  return 4 * w.words.length + 2 * w.scales.length;
}

/** Bytes of a [N, K] (or any shape, for f32 / f16) tensor stored as `dtype`. */
export function bytesFor(dtype: StorageDType, shape: readonly number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === "f32") return 4 * n;
  if (dtype === "f16") return 2 * n;
  const [N, K] = shape;
  const nb = blocksOf(K);
  return dtype === "q8" ? N * nb * (BLOCK + 2) : N * nb * (BLOCK / 2 + 2);
}

export interface DTypeTotals {
  tensors: number;
  params: number;
  bytes: number;
}

/** Tensors, parameters and bytes per storage dtype (what `quantize` prints; `inspect` could too). */
export function bytesByDtype(store: ReadonlyMap<string, StoredWeight>): Record<StorageDType, DTypeTotals> {
  const out = Object.fromEntries(STORAGE_DTYPES.map((d) => [d, { tensors: 0, params: 0, bytes: 0 }])) as Record<StorageDType, DTypeTotals>;
  for (const w of store.values()) {
    const t = out[storageOf(w)];
    t.tensors++;
    t.params += storedElements(w);
    t.bytes += storedBytes(w);
  }
  return out;
}
