// Safetensors reader/writer (https://github.com/huggingface/safetensors, format section).
// Everything read from a file is untrusted: any malformation surfaces as a WeightsError that
// names the tensor, never as a TypeError/RangeError from deep inside a conversion.

import {
  WeightsError,
  bf16ArrayToF32,
  describe,
  encodeTensor,
  f16ArrayToF32,
  formatShape,
  hostBuffer,
  type DType,
  type TensorToWrite,
} from "./dtype.ts";
import { checkEntry, checkLayout, checkMetadata, scanKeys } from "./safetensors-header.ts";
import { isGguf } from "./gguf/magic.ts";

export {
  DTYPE_SIZE,
  DTYPES,
  WeightsError,
  formatShape,
  isDType,
  f16ToF32,
  f32ToF16,
  f32ArrayToF16,
  bf16ToF32,
  f32ToBf16,
} from "./dtype.ts";
export type { DType, TensorData, TensorToWrite } from "./dtype.ts";

/** Same limit as the reference implementation; bigger headers are refused before decoding. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte offsets relative to the start of the data section; `end` is exclusive. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  /** In header order. */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Absolute offset of the data section within the file. */
  dataOffset: number;
  /** Throws WeightsError("missing tensor ...") when absent. */
  get(name: string): TensorInfo;
  /** View (not a copy) of the tensor's little-endian bytes. */
  raw(name: string): Uint8Array;
  /** Fresh Float32Array from F32/F16/BF16/F64/I32/I64. */
  f32(name: string): Float32Array;
  /** Fresh Int32Array from I32/I64 (range-checked)/I16/I8/U8. */
  i32(name: string): Int32Array;
  /** Fresh BigInt64Array from I64/I32/I16/I8/U8. */
  i64(name: string): BigInt64Array;
  /** Fresh copy of U8 (or BOOL) bytes. */
  u8(name: string): Uint8Array;
  /** Fresh 0/1 bytes of a BOOL tensor; any other byte value is an error. */
  bool(name: string): Uint8Array;
}

// ---- reading ------------------------------------------------------------------------------

export function parseSafetensors(input: Uint8Array | ArrayBuffer): SafetensorsFile {
  // A plain Uint8Array view: Node Buffers (whose slice() does not copy) must not leak through.
  let bytes: Uint8Array;
  if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
  else throw new WeightsError("expected the file contents as a Uint8Array or ArrayBuffer");

  if (bytes.length < 8) {
    throw new WeightsError(
      `file is ${bytes.length} bytes; a safetensors file needs at least 8 bytes for the header length`,
    );
  }
  // GGUF's magic read as a header length would be a misleading "truncated" error.
  if (isGguf(bytes)) {
    throw new WeightsError(
      "this is a GGUF file (llama.cpp's format), not safetensors: the CLI's run, forward and quantize read GGUF, and so does a generated module's load(); elsewhere convert it with `specformer quantize M.gguf --spec S.sf --to q4 --out W.safetensors`",
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  if (hi >= 2 ** 21) {
    const n = view.getBigUint64(0, true);
    throw new WeightsError(`header length ${n} is not below 2^53; the file is corrupt or not safetensors`);
  }
  const headerLength = hi * 2 ** 32 + lo;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new WeightsError(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  if (headerLength > bytes.length - 8) {
    throw new WeightsError(
      `header length ${headerLength} exceeds the ${bytes.length - 8} bytes after the length field; the file may be truncated`,
    );
  }

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new WeightsError("header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new WeightsError(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    const kind = header === null ? "null" : Array.isArray(header) ? "an array" : typeof header;
    throw new WeightsError(`header must be a JSON object, found ${kind}`);
  }
  const keys = scanKeys(text);
  const entries = header as Record<string, unknown>;

  const dataOffset = 8 + headerLength;
  const dataLength = bytes.length - dataOffset;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const name of keys) {
    if (name === "__metadata__") metadata = checkMetadata(entries[name]);
    else tensors.set(name, checkEntry(name, entries[name], dataLength));
  }
  checkLayout([...tensors.values()], dataLength);
  return new LoadedFile(bytes.subarray(dataOffset), dataOffset, tensors, metadata);
}

class LoadedFile implements SafetensorsFile {
  constructor(
    private readonly data: Uint8Array,
    readonly dataOffset: number,
    readonly tensors: Map<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  get(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw missingTensor(name, this.tensors.keys());
    return info;
  }

  raw(name: string): Uint8Array {
    const t = this.get(name);
    return this.data.subarray(t.begin, t.end);
  }

  f32(name: string): Float32Array {
    const t = this.get(name);
    const raw = this.data.subarray(t.begin, t.end);
    switch (t.dtype) {
      case "F32":
        return new Float32Array(hostBuffer(raw, 4));
      case "F16":
        return f16ArrayToF32(new Uint16Array(hostBuffer(raw, 2)));
      case "BF16":
        return bf16ArrayToF32(new Uint16Array(hostBuffer(raw, 2)));
      case "F64":
        return new Float32Array(new Float64Array(hostBuffer(raw, 8)));
      case "I32":
        return new Float32Array(new Int32Array(hostBuffer(raw, 4)));
      case "I64":
        return Float32Array.from(new BigInt64Array(hostBuffer(raw, 8)), Number);
      default:
        throw wrongDType(t, "f32", "F32, F16, BF16, F64, I32 or I64");
    }
  }

  i32(name: string): Int32Array {
    const t = this.get(name);
    const raw = this.data.subarray(t.begin, t.end);
    switch (t.dtype) {
      case "I32":
        return new Int32Array(hostBuffer(raw, 4));
      case "I64": {
        const src = new BigInt64Array(hostBuffer(raw, 8));
        const out = new Int32Array(src.length);
        for (let i = 0; i < src.length; i++) {
          const v = src[i];
          if (v < -2147483648n || v > 2147483647n) {
            throw new WeightsError(`I64 value ${v} at index ${i} is outside the int32 range`, t.name);
          }
          out[i] = Number(v);
        }
        return out;
      }
      case "I16":
        return new Int32Array(new Int16Array(hostBuffer(raw, 2)));
      case "I8":
        return new Int32Array(new Int8Array(hostBuffer(raw, 1)));
      case "U8":
        return new Int32Array(raw);
      default:
        throw wrongDType(t, "i32", "I32, I64, I16, I8 or U8");
    }
  }

  i64(name: string): BigInt64Array {
    const t = this.get(name);
    if (t.dtype === "I64") return new BigInt64Array(hostBuffer(this.data.subarray(t.begin, t.end), 8));
    if (t.dtype === "I32" || t.dtype === "I16" || t.dtype === "I8" || t.dtype === "U8") {
      return BigInt64Array.from(this.i32(name), (v) => BigInt(v));
    }
    throw wrongDType(t, "i64", "I64, I32, I16, I8 or U8");
  }

  u8(name: string): Uint8Array {
    const t = this.get(name);
    if (t.dtype !== "U8" && t.dtype !== "BOOL") throw wrongDType(t, "u8", "U8 or BOOL");
    return new Uint8Array(this.data.subarray(t.begin, t.end));
  }

  bool(name: string): Uint8Array {
    const t = this.get(name);
    if (t.dtype !== "BOOL") throw wrongDType(t, "bool", "BOOL");
    const out = new Uint8Array(this.data.subarray(t.begin, t.end));
    const bad = out.findIndex((v) => v > 1);
    if (bad >= 0) throw new WeightsError(`BOOL byte ${out[bad]} at index ${bad} is not 0 or 1`, t.name);
    return out;
  }
}

function wrongDType(t: TensorInfo, accessor: string, accepted: string): WeightsError {
  return new WeightsError(`dtype ${t.dtype} cannot be read with ${accessor}() (accepts ${accepted})`, t.name);
}

function missingTensor(name: string, available: Iterable<string>): WeightsError {
  // A wrong prefix ("model.") is the usual reason a lookup misses; point at the likely match.
  const near = [...available].find((n) => n.endsWith(`.${name}`) || name.endsWith(`.${n}`));
  const hint = near === undefined ? "" : `; did you mean ${JSON.stringify(near)}?`;
  return new WeightsError("missing", name, `missing tensor ${JSON.stringify(name)}${hint}`);
}

/** Checks that `name` exists with one of the given dtypes and exactly `shape`. */
export function expectTensor(
  file: SafetensorsFile,
  name: string,
  dtype: DType | readonly DType[],
  shape: readonly number[],
): TensorInfo {
  const t = file.tensors.get(name);
  if (!t) throw missingTensor(name, file.tensors.keys());
  const allowed: readonly DType[] = typeof dtype === "string" ? [dtype] : dtype;
  const problems: string[] = [];
  if (!allowed.includes(t.dtype)) problems.push(`expected dtype ${allowed.join(" or ")}, found ${t.dtype}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    problems.push(`expected shape ${formatShape(shape)}, found ${formatShape(t.shape)}`);
  }
  if (problems.length > 0) throw new WeightsError(problems.join("; "), name);
  return t;
}

// ---- writing ------------------------------------------------------------------------------

/** Serializes tensors in the given order; the header is space-padded to a multiple of 8 bytes. */
export function writeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const seen = new Set<string>();
  const parts: string[] = [];
  const blobs: Uint8Array[] = [];
  let offset = 0;
  if (metadata !== undefined) {
    checkMetadata(metadata);
    const fields = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"__metadata__":{${fields.join(",")}}`);
  }
  for (const t of tensors) {
    if (typeof t.name !== "string") throw new WeightsError(`tensor name must be a string, found ${describe(t.name)}`);
    if (t.name === "__metadata__") throw new WeightsError(`"__metadata__" is reserved and cannot name a tensor`, t.name);
    if (seen.has(t.name)) throw new WeightsError("duplicate tensor name", t.name);
    seen.add(t.name);
    const blob = encodeTensor(t);
    const entry = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + blob.length] };
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify(entry)}`);
    blobs.push(blob);
    offset += blob.length;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new WeightsError(`header would be ${headerLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let pos = 8 + headerLength;
  for (const blob of blobs) {
    out.set(blob, pos);
    pos += blob.length;
  }
  return out;
}
