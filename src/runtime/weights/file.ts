// Low-bit weights in a safetensors file: plain safetensors tensors plus string keys in the
// header's `__metadata__`, so any safetensors reader can open the file and see the raw parts.
//
//   "specformer.quant": "1"             the format version (this file's layout); required
//   "specformer.block_size": "32"       elements per block along K; only 32 is defined
//   "specformer.dtype.<tensor>": "f16" | "q8" | "q4"
//                                       the storage of <tensor>; tensors without a key are f32
//                                       (stored F32, F16 or BF16, read as f32)
//
// and, per stored tensor W of logical shape [N, K] (nb = ceil(K / 32)):
//
//   f16  W: F16 [N, K] (any shape): the values, IEEE binary16.
//   q8   W: I8 [N, nb · 32]: the codes q, row-major, zero past K;
//        W.scales: F16 [N, nb]: d, with w ≈ d · q.
//   q4   W: U8 [N, nb · 16]: the u32 words of format.ts as little-endian bytes, i.e. byte j of a
//        block = element 2j (low nibble) | element 2j + 1 (high nibble), codes q + 8; this is
//        ONNX Runtime MatMulNBits' B reshaped [N, nb, 16]; nibble 8 past K;
//        W.scales: F16 [N, nb]: d, with w ≈ d · (code − 8).

import { WeightsError, expectTensor, formatShape, type SafetensorsFile, type TensorToWrite, writeSafetensors } from "../safetensors.ts";
import { BLOCK, blocksOf, isStorageDType, storageOf, type StorageDType, type StoredWeight } from "./format.ts";
import { bytesToWords, checkScales, wordsToBytes } from "./quantize.ts";

export const QUANT_VERSION = "1";
export const META_VERSION = "specformer.quant";
export const META_BLOCK = "specformer.block_size";
export const META_DTYPE = "specformer.dtype.";
export const SCALES = ".scales";

/** Whether the file declares specformer low-bit storage (any of our metadata keys). */
export function isLowBitFile(file: SafetensorsFile): boolean {
  return Object.keys(file.metadata).some((k) => k === META_VERSION || k === META_BLOCK || k.startsWith(META_DTYPE));
}

/** The storage the metadata declares per tensor (f32 ones left out); one-line errors for anything malformed. */
export function fileStorage(file: SafetensorsFile): Map<string, StorageDType> {
  const meta = file.metadata;
  const out = new Map<string, StorageDType>();
  if (!isLowBitFile(file)) return out;
  const version = meta[META_VERSION];
  if (version === undefined) throw new WeightsError(`__metadata__ has specformer storage keys but no "${META_VERSION}" version; the file is not a complete specformer low-bit file`);
  if (version !== QUANT_VERSION) throw new WeightsError(`__metadata__ "${META_VERSION}" is ${JSON.stringify(version)}; this specformer reads version ${QUANT_VERSION}`);
  const block = meta[META_BLOCK];
  if (block !== undefined && block !== String(BLOCK)) throw new WeightsError(`__metadata__ "${META_BLOCK}" is ${JSON.stringify(block)}; only blocks of ${BLOCK} are defined`);
  for (const [k, v] of Object.entries(meta)) {
    if (!k.startsWith(META_DTYPE)) continue;
    const name = k.slice(META_DTYPE.length);
    if (!isStorageDType(v)) throw new WeightsError(`unknown storage dtype ${JSON.stringify(v)} in __metadata__ "${k}" (expected f16, q8 or q4)`, name);
    if (!file.tensors.has(name)) throw new WeightsError(`__metadata__ "${k}" declares ${v} storage, but the file has no such tensor`, name);
    if (v !== "f32") out.set(name, v);
  }
  return out;
}

function expectPart(file: SafetensorsFile, name: string, dtype: string, shape: readonly number[], what: string, owner: string): void {
  const t = file.tensors.get(name);
  if (!t) throw new WeightsError(`missing; ${what}`, name);
  const problems: string[] = [];
  if (t.dtype !== dtype) problems.push(`expected dtype ${dtype}, found ${t.dtype}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) problems.push(`expected shape ${formatShape(shape)}, found ${formatShape(t.shape)}`);
  if (problems.length) throw new WeightsError(`${problems.join("; ")} (${what})`, name === owner ? owner : name);
}

/** Little-endian u16 elements of a tensor's bytes (aligned copy; endian-independent). */
function u16s(raw: Uint8Array): Uint16Array {
  const out = new Uint16Array(raw.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = raw[2 * i] | (raw[2 * i + 1] << 8);
  return out;
}

/**
 * Tensor `name` of logical shape `shape`, read in the storage the file declares for it (f32
 * when it declares none): its parts checked for dtype and shape, q8 / q4 scales for finiteness.
 */
export function readStored(file: SafetensorsFile, name: string, shape: readonly number[], dtype: StorageDType): StoredWeight {
  if (dtype === "f32") {
    expectTensor(file, name, ["F32", "F16", "BF16"], shape);
    return file.f32(name);
  }
  if (dtype === "f16") {
    expectPart(file, name, "F16", shape, "f16 storage is the F16 tensor of the spec's shape", name);
    return { dtype: "f16", shape: [...shape], bits: u16s(file.raw(name)) };
  }
  if (shape.length !== 2) throw new WeightsError(`is declared ${dtype}, but ${dtype} stores matrices and the spec's shape is ${formatShape(shape)}`, name);
  const [N, K] = shape as [number, number];
  const nb = blocksOf(K);
  const codes = dtype === "q8" ? [N, nb * BLOCK] : [N, (nb * BLOCK) / 2];
  const layout = `${dtype} of shape ${formatShape(shape)}: ${dtype === "q8" ? "I8" : "U8"} ${formatShape(codes)} codes in ${nb} block${nb === 1 ? "" : "s"} of ${BLOCK} along K = ${K}, then F16 [${N}, ${nb}] scales in "${name}${SCALES}"`;
  expectPart(file, name, dtype === "q8" ? "I8" : "U8", codes, layout, name);
  expectPart(file, `${name}${SCALES}`, "F16", [N, nb], layout, name);
  const scales = u16s(file.raw(`${name}${SCALES}`));
  checkScales(name, scales, N, nb, dtype);
  if (dtype === "q8") {
    const raw = file.raw(name);
    return { dtype: "q8", shape: [N, K], blocks: nb, q: new Int8Array(new Uint8Array(raw).buffer), scales };
  }
  return { dtype: "q4", shape: [N, K], blocks: nb, words: bytesToWords(file.raw(name)), scales };
}

/** The tensors a file holds for one stored weight (the weight's own name, plus scales for q8 / q4). */
export function storedTensors(name: string, w: StoredWeight): TensorToWrite[] {
  if (w instanceof Float32Array) throw new Error("storedTensors: f32 tensors need their shape; use encodeStore");
  if (w.dtype === "f16") return [{ name, dtype: "F16", shape: [...w.shape], data: w.bits }];
  const [N] = w.shape;
  const scales: TensorToWrite = { name: `${name}${SCALES}`, dtype: "F16", shape: [N, w.blocks], data: w.scales };
  if (w.dtype === "q8") return [{ name, dtype: "I8", shape: [N, w.blocks * BLOCK], data: w.q }, scales];
  return [{ name, dtype: "U8", shape: [N, w.blocks * (BLOCK / 2)], data: wordsToBytes(w.words) }, scales];
}

/**
 * A whole store as one safetensors file, tensors in `layout` order (f32 ones as F32), with the
 * metadata above plus `extra` (e.g. where the weights came from).
 */
export function encodeStore(layout: ReadonlyArray<{ name: string; shape: number[] }>, store: ReadonlyMap<string, StoredWeight>, extra: Record<string, string> = {}): Uint8Array {
  const tensors: TensorToWrite[] = [];
  const meta: Record<string, string> = { ...extra, [META_VERSION]: QUANT_VERSION, [META_BLOCK]: String(BLOCK) };
  for (const t of layout) {
    const w = store.get(t.name);
    if (w === undefined) throw new WeightsError("missing from the weight store", t.name);
    if (w instanceof Float32Array) tensors.push({ name: t.name, dtype: "F32", shape: t.shape, data: w });
    else {
      meta[`${META_DTYPE}${t.name}`] = storageOf(w);
      tensors.push(...storedTensors(t.name, w));
    }
  }
  return writeSafetensors(tensors, meta);
}
