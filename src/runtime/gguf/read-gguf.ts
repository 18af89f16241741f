/**
 * A GGUF file (llama.cpp's format) read from its bytes: the header — metadata and tensor infos —
 * parsed by @huggingface/gguf over an in-memory fetch (it reads by byte ranges, as it would
 * from a server), then every tensor's data located and checked against the file's length.
 * Tensors come back in PyTorch order (GGUF lists dims fastest first: ne0 is a matrix's input
 * dim), as their raw bytes; only the types specformer can hold are accepted.
 */
import { gguf, type GGUFParseOutput } from "@huggingface/gguf";
import { WeightsError } from "../dtype.ts";
import { isGguf } from "./magic.ts";

/** The ggml tensor types read here, by their ggml_type number. */
export const GGML_TYPES = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  6: "Q5_0",
  7: "Q5_1",
  8: "Q8_0",
  10: "Q2_K",
  11: "Q3_K",
  12: "Q4_K",
  13: "Q5_K",
  14: "Q6_K",
  20: "IQ4_NL",
  23: "IQ4_XS",
  30: "BF16",
} as const;
export type GgmlType = (typeof GGML_TYPES)[keyof typeof GGML_TYPES];

/** Names of the ggml types refused, for the error (ggml.h's enum ggml_type). */
const OTHER_TYPES: Record<number, string> = { 9: "Q8_1", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 21: "IQ3_S", 22: "IQ2_S", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4", 40: "NVFP4", 41: "Q1_0" };

/** Bytes of one block and elements per block of each accepted type. */
const BLOCKS: Record<GgmlType, { bytes: number; elements: number }> = {
  F32: { bytes: 4, elements: 1 },
  F16: { bytes: 2, elements: 1 },
  BF16: { bytes: 2, elements: 1 },
  Q8_0: { bytes: 34, elements: 32 },
  Q4_0: { bytes: 18, elements: 32 },
  Q4_1: { bytes: 20, elements: 32 },
  Q5_0: { bytes: 22, elements: 32 },
  Q5_1: { bytes: 24, elements: 32 },
  IQ4_NL: { bytes: 18, elements: 32 },
  Q2_K: { bytes: 84, elements: 256 },
  Q3_K: { bytes: 110, elements: 256 },
  Q4_K: { bytes: 144, elements: 256 },
  Q5_K: { bytes: 176, elements: 256 },
  Q6_K: { bytes: 210, elements: 256 },
  IQ4_XS: { bytes: 136, elements: 256 },
};

export interface GgufTensor {
  name: string;
  type: GgmlType;
  /** PyTorch order: [out, in] for a matrix. */
  shape: number[];
  /** The tensor's bytes (a view of the file's bytes, or read from disk when asked for). */
  read: () => Uint8Array;
}

export interface GgufFile {
  metadata: Record<string, unknown>;
  tensors: Map<string, GgufTensor>;
}


/** A fetch that answers the byte-range requests @huggingface/gguf makes from `read`. */
function rangeFetch(size: number, read: (start: number, end: number) => Promise<Uint8Array>): typeof fetch {
  return (async (_url: unknown, init?: RequestInit) => {
    const range = new Headers(init?.headers).get("range");
    const m = range === null ? null : /bytes=(\d+)-(\d+)/.exec(range);
    const start = m === null ? 0 : Math.min(size, Number(m[1]));
    const end = m === null ? size : Math.min(size, Number(m[2]) + 1);
    return new Response((await read(start, end)) as Uint8Array<ArrayBuffer>, { status: m === null ? 200 : 206 });
  }) as typeof fetch;
}

const bytesOf = (type: GgmlType, elements: number): number => (elements / BLOCKS[type].elements) * BLOCKS[type].bytes;

export interface GgufTensorInfo {
  name: string;
  type: GgmlType;
  /** PyTorch order. */
  shape: number[];
  /** Absolute byte range in the file. */
  start: number;
  end: number;
}

export interface GgufHeader {
  metadata: Record<string, unknown>;
  tensors: Map<string, GgufTensorInfo>;
}

/** The header of a `size`-byte GGUF file read through `read`: every tensor's type, shape and bytes checked. */
async function readHeader(size: number, read: (start: number, end: number) => Promise<Uint8Array>, what: string): Promise<GgufHeader> {
  const magic = await read(0, Math.min(4, size));
  if (!isGguf(magic)) throw new WeightsError(`${what} does not start with the GGUF magic`);
  let parsed: GGUFParseOutput;
  try {
    parsed = await gguf("https://specformer.invalid/model.gguf", { fetch: rangeFetch(size, read) });
  } catch (e) {
    throw new WeightsError(`${what}: the GGUF header cannot be read (${(e as Error).message}); the file may be truncated or not GGUF`);
  }
  const base = Number(parsed.tensorDataOffset);
  // The parser reads past the end as if the file went on; a header longer than the file is a cut file.
  if (base > size) throw new WeightsError(`${what}: the GGUF header (${parsed.tensorInfos.length} tensor infos) runs past the end of the ${size}-byte file; the file is truncated`);
  const tensors = new Map<string, GgufTensorInfo>();
  for (const info of parsed.tensorInfos) {
    const type = GGML_TYPES[info.dtype as keyof typeof GGML_TYPES];
    if (type === undefined) {
      const name = OTHER_TYPES[info.dtype] ?? `type ${info.dtype}`;
      throw new WeightsError(`is ${name}; specformer reads GGUF tensors in F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K … Q6_K, IQ4_NL and IQ4_XS (re-quantise with llama-quantize to one of those, or load the safetensors checkpoint)`, info.name);
    }
    const shape = info.shape.map(Number).reverse();
    const elements = shape.reduce((a, b) => a * b, 1);
    if (BLOCKS[type].elements > 1 && shape[shape.length - 1] % BLOCKS[type].elements !== 0) {
      throw new WeightsError(`is ${type} with ${shape[shape.length - 1]} elements per row, not a multiple of its blocks of ${BLOCKS[type].elements}`, info.name);
    }
    const start = base + Number(info.offset);
    const end = start + bytesOf(type, elements);
    if (end > size) throw new WeightsError(`its ${type} data (bytes ${start}..${end}) runs past the end of the ${size}-byte ${what}; the file is truncated`, info.name);
    if (tensors.has(info.name)) throw new WeightsError("appears twice in the GGUF header", info.name);
    tensors.set(info.name, { name: info.name, type, shape, start, end });
  }
  return { metadata: { ...parsed.metadata }, tensors };
}

/** A whole GGUF file from its bytes: the header and every tensor's data (views). */
export async function readGguf(bytes: Uint8Array, what = "GGUF file"): Promise<GgufFile> {
  const h = await readHeader(bytes.length, async (a, b) => bytes.slice(a, b), what);
  const tensors = new Map<string, GgufTensor>();
  for (const t of h.tensors.values()) tensors.set(t.name, { name: t.name, type: t.type, shape: t.shape, read: () => bytes.subarray(t.start, t.end) });
  return { metadata: h.metadata, tensors };
}

/**
 * (Node) A GGUF file on disk, its tensors read from it only when asked for (each read is a fresh
 * buffer): the header by ranges (or `header`, already read), then `close()` once the tensors are bound.
 */
export async function openGguf(path: string, header?: GgufHeader): Promise<GgufFile & { close(): void }> {
  const h = header ?? (await readGgufHeader(path));
  const fs = await import("node:fs");
  const fd = fs.openSync(path, "r");
  const tensors = new Map<string, GgufTensor>();
  const read = (t: GgufTensorInfo) => () => {
    const out = new Uint8Array(t.end - t.start);
    let at = 0;
    while (at < out.length) {
      const n = fs.readSync(fd, out, at, out.length - at, t.start + at);
      if (n === 0) throw new WeightsError(`its bytes ${t.start}..${t.end} could not be read: ${path} shrank while it was being read`, t.name);
      at += n;
    }
    return out;
  };
  for (const t of h.tensors.values()) tensors.set(t.name, { name: t.name, type: t.type, shape: t.shape, read: read(t) });
  return { metadata: h.metadata, tensors, close: () => fs.closeSync(fd) };
}

/** (Node) The header of a GGUF file on disk, reading only the byte ranges it needs. */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const fs = await import("node:fs/promises");
  let handle;
  try {
    handle = await fs.open(path, "r");
  } catch (e) {
    throw new WeightsError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  try {
    const size = (await handle.stat()).size;
    return await readHeader(size, async (a, b) => {
      const out = new Uint8Array(b - a);
      await handle.read(out, 0, out.length, a);
      return out;
    }, path);
  } finally {
    await handle.close();
  }
}
