// Validation of a safetensors header (safetensors.ts parses it): the metadata, each tensor's
// entry, the byte layout of the data section, and repeated keys that JSON.parse would hide.
// Each problem is a WeightsError naming the tensor.

import { DTYPE_SIZE, DTYPES, WeightsError, checkShape, describe, elementCount, formatShape, isDType, type DType } from "./dtype.ts";
import type { TensorInfo } from "./safetensors.ts";

export function checkMetadata(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new WeightsError(`__metadata__ must be an object mapping strings to strings, found ${describe(value)}`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new WeightsError(`__metadata__ value for key ${JSON.stringify(k)} must be a string, found ${describe(v)}`);
    }
  }
  // Object.fromEntries defines own properties, so a "__proto__" key cannot touch the prototype.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

export function checkEntry(name: string, value: unknown, dataLength: number): TensorInfo {
  const fail = (problem: string): never => {
    throw new WeightsError(problem, name);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`header entry must be an object with dtype, shape and data_offsets, found ${describe(value)}`);
  }
  const entry = value as Record<string, unknown>;
  for (const field of ["dtype", "shape", "data_offsets"]) {
    if (!Object.hasOwn(entry, field)) fail(`header entry is missing "${field}"`);
  }
  const dtype = entry.dtype;
  if (!isDType(dtype)) fail(`unknown dtype ${JSON.stringify(dtype)} (expected one of ${DTYPES.join(", ")})`);
  const shapeProblem = checkShape(entry.shape);
  if (shapeProblem) fail(shapeProblem);
  const shape = entry.shape as number[];

  const offsets = entry.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    fail(`data_offsets must be an array [begin, end], found ${describe(offsets)}`);
  }
  const [begin, end] = offsets as unknown[];
  for (const [label, v] of [["begin", begin], ["end", end]] as const) {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      fail(`data_offsets ${label} must be a non-negative integer, found ${describe(v)}`);
    }
  }
  const b = begin as number;
  const e = end as number;
  if (b > e) fail(`data_offsets [${b}, ${e}] has begin after end`);
  if (e > dataLength) {
    fail(`data_offsets [${b}, ${e}] extend past the end of the ${dataLength}-byte data section; the file may be truncated`);
  }
  const numel = elementCount(shape);
  const dt = dtype as DType;
  const expected = numel === undefined ? undefined : numel * DTYPE_SIZE[dt];
  if (expected === undefined || !Number.isSafeInteger(expected)) {
    fail(`shape ${formatShape(shape)} × ${dt} is too large to address`);
  }
  if (e - b !== expected) {
    fail(`byte size ${e - b} does not match shape ${formatShape(shape)} × ${dt} = ${expected} bytes`);
  }
  return { name, dtype: dt, shape: [...shape], begin: b, end: e };
}

/** The format requires the byte ranges to tile the data section exactly: no gaps, no overlap. */
export function checkLayout(infos: TensorInfo[], dataLength: number): void {
  const sorted = [...infos].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = 0;
  let prev: TensorInfo | undefined;
  for (const t of sorted) {
    if (t.begin > pos) {
      const where = prev
        ? `the previous tensor ${JSON.stringify(prev.name)} ends at byte ${pos}`
        : "the data section starts at byte 0";
      throw new WeightsError(
        `begins at byte ${t.begin} but ${where} (gap of ${t.begin - pos} bytes); tensors must be packed contiguously`,
        t.name,
      );
    }
    if (t.begin < pos && prev) {
      throw new WeightsError(
        `byte range [${t.begin}, ${t.end}) overlaps tensor ${JSON.stringify(prev.name)} at [${prev.begin}, ${prev.end})`,
        t.name,
      );
    }
    pos = t.end;
    if (t.end > t.begin || !prev) prev = t;
  }
  if (pos < dataLength) {
    const after = prev ? `after the last tensor ${JSON.stringify(prev.name)}` : "but the header lists no tensors";
    const problem = `data section has ${dataLength - pos} trailing bytes ${after}`;
    throw new WeightsError(problem, prev?.name, problem);
  }
}

/**
 * Top-level keys of already-validated JSON text, in order, rejecting repeated keys at any depth:
 * JSON.parse silently keeps the last duplicate, which would make the file ambiguous.
 * Iterative (explicit stack) so deeply nested input cannot overflow the call stack.
 */
export function scanKeys(text: string): string[] {
  const top: string[] = [];
  const stack: (Set<string> | null)[] = []; // null marks an array
  let topKey: string | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i++;
      while (text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      i++;
      const keys = stack[stack.length - 1];
      if (!keys) continue;
      let j = i;
      while (j < text.length && " \t\n\r".includes(text[j])) j++;
      if (text[j] !== ":") continue; // a string value, not a key
      const key = JSON.parse(text.slice(start, i)) as string;
      if (keys.has(key)) {
        if (stack.length > 1) throw new WeightsError(`header entry has duplicate key ${JSON.stringify(key)}`, topKey);
        if (key === "__metadata__") throw new WeightsError("header has more than one __metadata__ entry");
        throw new WeightsError("duplicate tensor name in header", key);
      }
      keys.add(key);
      if (stack.length === 1) top.push((topKey = key));
      continue;
    }
    if (c === 0x7b) stack.push(new Set());
    else if (c === 0x5b) stack.push(null);
    else if (c === 0x7d || c === 0x5d) stack.pop();
    i++;
  }
  return top;
}
