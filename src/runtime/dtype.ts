// Element types of the safetensors format, exact conversions between them, and the error and
// shape helpers shared by the reader and writer in safetensors.ts (split out to keep that file
// readable). Browser-safe: typed arrays only, no Buffer.

export type DType = "F32" | "F16" | "BF16" | "I32" | "I64" | "U8" | "BOOL" | "I8" | "I16" | "F64";

export const DTYPE_SIZE: Readonly<Record<DType, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
});

export const DTYPES: readonly DType[] = Object.freeze(Object.keys(DTYPE_SIZE) as DType[]);

export function isDType(value: unknown): value is DType {
  return typeof value === "string" && Object.hasOwn(DTYPE_SIZE, value);
}

// ---- errors and shapes, shared by reader and writer ---------------------------------------

export class WeightsError extends Error {
  readonly tensor?: string;
  readonly problem: string;

  /** `message` overrides the default `tensor "<name>": <problem>` wording. */
  constructor(problem: string, tensor?: string, message?: string) {
    super(message ?? (tensor === undefined ? problem : `tensor ${JSON.stringify(tensor)}: ${problem}`));
    this.name = "WeightsError";
    this.problem = problem;
    if (tensor !== undefined) this.tensor = tensor;
  }
}

export const formatShape = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/** Returns a problem description, or undefined when `shape` is valid. */
export function checkShape(shape: unknown): string | undefined {
  if (!Array.isArray(shape)) return `shape must be an array of non-negative integers, found ${describe(shape)}`;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      return `shape dimension ${i} must be a non-negative integer, found ${describe(d)}`;
    }
  }
  return undefined;
}

/** Product of dims, or undefined if it is not a safe integer (a zero dim always wins). */
export function elementCount(shape: readonly number[]): number | undefined {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

/**
 * Short rendering of an untrusted JSON value for messages. Shallow on purpose: JSON.stringify
 * recurses and would overflow the stack on hostile nesting.
 */
export function describe(v: unknown): string {
  if (Array.isArray(v)) {
    const flat = v.length <= 8 && v.every((x) => x === null || typeof x !== "object");
    return flat ? `[${v.map(describe).join(", ")}]` : `an array of ${v.length} item${v.length === 1 ? "" : "s"}`;
  }
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  return v === undefined ? "nothing" : String(v);
}

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Fresh, zero-offset copy of little-endian element bytes in host order, so typed-array views on
 * the result are aligned (tensor offsets in a file are not) and correct on big-endian hosts too.
 * `new Uint8Array(view)` rather than `.slice()`: Node's Buffer.slice returns a view, not a copy.
 */
export function hostBuffer(leBytes: Uint8Array, elementSize: number): ArrayBuffer {
  const copy = new Uint8Array(leBytes);
  if (!HOST_LITTLE_ENDIAN && elementSize > 1) swapBytes(copy, elementSize);
  return copy.buffer;
}

/** Little-endian bytes of a typed array's elements (always a copy). */
export function littleEndianBytes(view: ArrayBufferView): Uint8Array {
  const copy = new Uint8Array(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  const size = (view as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  if (!HOST_LITTLE_ENDIAN && size > 1) swapBytes(copy, size);
  return copy;
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

// ---- 16-bit floats -------------------------------------------------------------------------

function decodeFloat(bits: number, expBits: number, mantBits: number): number {
  const bias = (1 << (expBits - 1)) - 1;
  const expMax = (1 << expBits) - 1;
  const sign = (bits >>> (expBits + mantBits)) & 1 ? -1 : 1;
  const exp = (bits >>> mantBits) & expMax;
  const mant = bits & ((1 << mantBits) - 1);
  if (exp === expMax) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** (1 - bias - mantBits);
  return sign * (mant + 2 ** mantBits) * 2 ** (exp - bias - mantBits);
}

/**
 * Rounds a double straight to a small binary float (ties to even). Working from the double's
 * value rather than via Float32 avoids double rounding for inputs that are not already f32.
 * Every step is exact: scaling by powers of two and integer parts below 2^12.
 */
function encodeFloat(x: number, expBits: number, mantBits: number): number {
  const bias = (1 << (expBits - 1)) - 1;
  const expMax = (1 << expBits) - 1;
  const signBit = 2 ** (expBits + mantBits);
  const inf = expMax * 2 ** mantBits;
  const hidden = 2 ** mantBits;
  if (Number.isNaN(x)) return inf + hidden / 2; // canonical quiet NaN
  const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  if (a === Infinity) return sign + inf;
  let e = Math.floor(Math.log2(a));
  // Math.log2 may be off by one ulp near powers of two; pin e so that 2^e <= a < 2^(e+1).
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  if (e > bias) return sign + inf;
  const minExp = 1 - bias;
  if (e < minExp) e = minExp; // subnormal: fixed scale, no hidden bit
  let q = roundHalfEven(a * 2 ** (mantBits - e));
  if (q === 2 * hidden) {
    q = hidden;
    e++;
    if (e > bias) return sign + inf;
  }
  if (q < hidden) return sign + q; // subnormal (or rounded to zero)
  return sign + (e + bias) * hidden + (q - hidden);
}

function roundHalfEven(m: number): number {
  const f = Math.floor(m);
  const d = m - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** IEEE binary16 bits (low 16 bits of `bits`) to its exact value. */
export function f16ToF32(bits: number): number {
  return decodeFloat(bits & 0xffff, 5, 10);
}

/** Nearest IEEE binary16 (ties to even; overflow to ±inf; NaN → 0x7E00) as 16 bits. */
export function f32ToF16(x: number): number {
  return encodeFloat(x, 5, 10);
}

/**
 * Bulk F32 → F16 bits, the same as f32ToF16 on each element (ties to even; overflow to ±inf;
 * NaN → 0x7E00), by integer operations on the f32 bits: the input is exactly f32, so rounding
 * once from its bits is the direct rounding. ~100 × faster than f32ToF16's exact arithmetic
 * on doubles (a 166M-parameter model converted in seconds, not a minute).
 */
export function f32ArrayToF16(data: Float32Array): Uint16Array {
  const src = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < src.length; i++) {
    const f = src[i];
    const sign = (f >>> 16) & 0x8000;
    const abs = f & 0x7fffffff;
    if (abs > 0x7f800000) {
      out[i] = 0x7e00; // NaN: canonical, unsigned, as f32ToF16
      continue;
    }
    let h: number;
    if (abs >= 0x477ff000) h = 0x7c00; // ≥ 65520 (half-way past 65504, odd): ±inf
    else if (abs >= 0x38800000) {
      // normal f16: exponent rebiased 127 → 15, 23 mantissa bits rounded to 10
      const base = abs - 0x38000000;
      const q = base >>> 13;
      const rem = base & 0x1fff;
      h = q + (rem > 0x1000 || (rem === 0x1000 && (q & 1) === 1) ? 1 : 0);
    } else if (abs > 0x33000000) {
      // subnormal f16 (m × 2^-24): the 24-bit significand shifted down, rounded; 0x400 is the
      // smallest normal, which a carry reaches with the right bits
      const shift = 126 - (abs >>> 23);
      const mant = (abs & 0x7fffff) | 0x800000;
      const q = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      h = q + (rem > half || (rem === half && (q & 1) === 1) ? 1 : 0);
    } else h = 0; // ≤ 2^-25 (the tie at 2^-25 goes to the even 0)
    out[i] = sign | h;
  }
  return out;
}

/** bfloat16 bits (low 16 bits of `bits`) to its exact value. */
export function bf16ToF32(bits: number): number {
  return decodeFloat(bits & 0xffff, 8, 7);
}

/** Nearest bfloat16 (ties to even; overflow to ±inf; NaN → 0x7FC0) as 16 bits. */
export function f32ToBf16(x: number): number {
  return encodeFloat(x, 8, 7);
}

let f16Table: Float32Array | undefined;

/** Bulk F16 → F32 through a 64K lookup table (256 KiB, built on first use). */
export function f16ArrayToF32(bits: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16ToF32(i);
  }
  const table = f16Table;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** Bulk BF16 → F32 by shifting bits, which is exact and keeps NaN payloads. */
export function bf16ArrayToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
  return out;
}

// ---- typed array → tensor bytes (writer) ---------------------------------------------------

export type TensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | BigInt64Array
  | Uint16Array;

export interface TensorToWrite {
  name: string;
  dtype: DType;
  shape: number[];
  /** Uint8Array is taken as the raw little-endian bytes for every dtype; Uint16Array as F16/BF16 bits. */
  data: TensorData;
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  I32: [-(2 ** 31), 2 ** 31 - 1],
  I16: [-(2 ** 15), 2 ** 15 - 1],
  I8: [-128, 127],
  U8: [0, 255],
  BOOL: [0, 1],
};

/** Validates one tensor for writing and returns its little-endian bytes. */
export function encodeTensor(t: TensorToWrite): Uint8Array {
  const fail = (problem: string): never => {
    throw new WeightsError(problem, t.name);
  };
  if (!isDType(t.dtype)) fail(`unknown dtype ${JSON.stringify(t.dtype)} (expected one of ${DTYPES.join(", ")})`);
  const shapeProblem = checkShape(t.shape);
  if (shapeProblem) fail(shapeProblem);
  const numel = elementCount(t.shape);
  if (numel === undefined) fail(`shape ${formatShape(t.shape)} is too large`);
  const n = numel as number;
  const size = DTYPE_SIZE[t.dtype];
  const data = t.data;
  const kind = data?.constructor?.name ?? typeof data;

  if (data instanceof Uint8Array) {
    if (data.length !== n * size) {
      fail(`raw data has ${data.length} bytes but shape ${formatShape(t.shape)} × ${t.dtype} needs ${n * size}`);
    }
    if (t.dtype === "BOOL" && data.some((v) => v > 1)) fail("BOOL data must contain only 0 and 1");
    return new Uint8Array(data);
  }
  if (!ArrayBuffer.isView(data) || data instanceof DataView) fail(`data must be a typed array, found ${kind}`);
  const typed = data as Exclude<TensorData, Uint8Array>;
  if (typed.length !== n) {
    fail(`data has ${typed.length} elements but shape ${formatShape(t.shape)} needs ${n}`);
  }
  const float = typed instanceof Float32Array || typed instanceof Float64Array;
  const incompatible = (): never => fail(`cannot write ${kind} data as ${t.dtype}`);

  switch (t.dtype) {
    case "F32":
      if (!float) incompatible();
      return littleEndianBytes(typed instanceof Float32Array ? typed : new Float32Array(typed as Float64Array));
    case "F64":
      if (!float) incompatible();
      return littleEndianBytes(new Float64Array(typed as Float32Array | Float64Array));
    case "F16":
    case "BF16": {
      if (typed instanceof Uint16Array) return littleEndianBytes(typed);
      if (!float) incompatible();
      const round = t.dtype === "F16" ? f32ToF16 : f32ToBf16;
      return littleEndianBytes(Uint16Array.from(typed as Float32Array, round));
    }
    case "I64":
      if (typed instanceof BigInt64Array) return littleEndianBytes(typed);
      if (!(typed instanceof Int32Array)) incompatible();
      return littleEndianBytes(BigInt64Array.from(typed as Int32Array, (v) => BigInt(v)));
    default: {
      const target = { I32: Int32Array, I16: Int16Array, I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array }[t.dtype];
      if (typed instanceof target && t.dtype !== "BOOL") return littleEndianBytes(typed);
      if (!(typed instanceof Int32Array)) incompatible();
      const [lo, hi] = INT_RANGE[t.dtype]!;
      const bad = (typed as Int32Array).findIndex((v) => v < lo || v > hi);
      if (bad >= 0) fail(`value ${typed[bad]} at index ${bad} does not fit ${t.dtype} (range ${lo}..${hi})`);
      return littleEndianBytes(new target(typed as Int32Array));
    }
  }
}
