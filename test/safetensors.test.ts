import { describe, expect, it } from "vitest";
import {
  DTYPE_SIZE,
  WeightsError,
  bf16ToF32,
  expectTensor,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  parseSafetensors,
  writeSafetensors,
  type TensorToWrite,
} from "../src/runtime/safetensors.ts";

const enc = new TextEncoder();

/** Hand-assembles a file: u64 LE header length, header text, data bytes. */
function build(header: unknown, data: Uint8Array | number = 0, headerLength?: bigint): Uint8Array {
  const text = typeof header === "string" ? header : JSON.stringify(header);
  const json = enc.encode(text);
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

const f32Entry = (shape: number[], begin: number, end: number) => ({ dtype: "F32", shape, data_offsets: [begin, end] });

/** Asserts a WeightsError whose message contains every fragment. */
function expectWeightsError(fn: () => unknown, ...fragments: string[]): WeightsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(WeightsError);
  const err = caught as WeightsError;
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

describe("16-bit float conversion", () => {
  const f16Cases: Array<[number, number]> = [
    [1.0, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [5.960464477539063e-8, 0x0001],
    [6.103515625e-5, 0x0400], // smallest normal
    [6.097555160522461e-5, 0x03ff], // largest subnormal
    [0.333251953125, 0x3555],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0, 0x0000],
    [-0, 0x8000],
  ];
  it.each(f16Cases)("f16 %d <-> 0x%s", (value, bits) => {
    expect(f32ToF16(value)).toBe(bits);
    expect(Object.is(f16ToF32(bits), value)).toBe(true);
  });

  it("handles f16 NaN and rounding", () => {
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0x7c01)).toBeNaN();
    expect(f16ToF32(0xfe00)).toBeNaN();
    const nan = f32ToF16(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    expect(f32ToF16(65519)).toBe(0x7bff); // below the midpoint to 65536
    expect(f32ToF16(65520)).toBe(0x7c00); // tie rounds to even, i.e. overflows
    expect(f32ToF16(1e6)).toBe(0x7c00);
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie → even mantissa
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even mantissa (up)
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // half the smallest subnormal → 0 (even)
    expect(f32ToF16(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // 1.5 subnormal steps → 2 (even)
    expect(f32ToF16(-(2 ** -26))).toBe(0x8000);
  });

  it("round-trips every f16 bit pattern", () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = f16ToF32(bits);
      if (Number.isNaN(v)) continue;
      if (f32ToF16(v) !== bits || Math.fround(v) !== v) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it("converts bf16 known values", () => {
    expect(f32ToBf16(1.0)).toBe(0x3f80);
    expect(bf16ToF32(0x3f80)).toBe(1.0);
    expect(f32ToBf16(-2)).toBe(0xc000);
    expect(bf16ToF32(0x7f80)).toBe(Infinity);
    expect(bf16ToF32(0xff80)).toBe(-Infinity);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
    expect(f32ToBf16(NaN)).toBe(0x7fc0);
    expect(bf16ToF32(0x0001)).toBe(2 ** -133);
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80); // f32 max rounds up past bf16 max
    expect(Object.is(bf16ToF32(f32ToBf16(-0)), -0)).toBe(true);
  });

  it("round-trips every bf16 bit pattern", () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = bf16ToF32(bits);
      if (!Number.isNaN(v) && (f32ToBf16(v) !== bits || Math.fround(v) !== v)) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });
});

describe("round trip", () => {
  const tensors: TensorToWrite[] = [
    { name: "f32", dtype: "F32", shape: [2, 3], data: new Float32Array([1, -2.5, 3.25, 0, -0, 1e-30]) },
    { name: "f64", dtype: "F64", shape: [2], data: new Float64Array([Math.PI, -1e300]) },
    { name: "f16", dtype: "F16", shape: [4], data: new Float32Array([1, -2, 65504, 5.960464477539063e-8]) },
    { name: "f16bits", dtype: "F16", shape: [2], data: new Uint16Array([0x7c00, 0x3555]) },
    { name: "bf16", dtype: "BF16", shape: [3], data: new Float32Array([1, -2, 0.15625]) },
    { name: "i32", dtype: "I32", shape: [3], data: new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]) },
    { name: "i64", dtype: "I64", shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 40n]) },
    { name: "i64small", dtype: "I64", shape: [2], data: new Int32Array([-7, 9]) },
    { name: "i16", dtype: "I16", shape: [2], data: new Int16Array([-32768, 32767]) },
    { name: "i8", dtype: "I8", shape: [2], data: new Int8Array([-128, 127]) },
    { name: "u8", dtype: "U8", shape: [3], data: new Uint8Array([0, 128, 255]) },
    { name: "bool", dtype: "BOOL", shape: [3], data: new Int32Array([1, 0, 1]) },
    { name: "scalar", dtype: "F32", shape: [], data: new Float32Array([42]) },
    { name: "empty", dtype: "F32", shape: [0, 5], data: new Float32Array(0) },
  ];

  const bytes = writeSafetensors(tensors, { format: "pt", note: "ünïcode" });
  const file = parseSafetensors(bytes);

  it("pads the header to 8 bytes with spaces and keeps order", () => {
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(bytes[8 + n - 1] === 0x20 || bytes[8 + n - 1] === 0x7d).toBe(true);
    expect([...file.tensors.keys()]).toEqual(tensors.map((t) => t.name));
    expect(file.metadata).toEqual({ format: "pt", note: "ünïcode" });
  });

  it("reads every dtype back", () => {
    expect([...file.f32("f32")]).toEqual([1, -2.5, 3.25, 0, -0, Math.fround(1e-30)]);
    expect([...file.f32("f64")]).toEqual([Math.fround(Math.PI), -Infinity]);
    expect([...file.f32("f16")]).toEqual([1, -2, 65504, 5.960464477539063e-8]);
    expect([...file.f32("f16bits")]).toEqual([Infinity, 0.333251953125]);
    expect([...file.f32("bf16")]).toEqual([1, -2, 0.15625]);
    expect([...file.i32("i32")]).toEqual([-(2 ** 31), 0, 2 ** 31 - 1]);
    expect([...file.f32("i32")]).toEqual([-(2 ** 31), 0, 2 ** 31]);
    expect([...file.i64("i64")]).toEqual([-(2n ** 63n), 2n ** 40n]);
    expect([...file.i32("i64small")]).toEqual([-7, 9]);
    expect([...file.f32("i64small")]).toEqual([-7, 9]);
    expect([...file.i32("i16")]).toEqual([-32768, 32767]);
    expect([...file.i32("i8")]).toEqual([-128, 127]);
    expect([...file.u8("u8")]).toEqual([0, 128, 255]);
    expect([...file.bool("bool")]).toEqual([1, 0, 1]);
    expect([...file.f32("scalar")]).toEqual([42]);
    expect(file.f32("empty").length).toBe(0);
    expect(file.tensors.get("empty")).toMatchObject({ shape: [0, 5] });
    for (const t of file.tensors.values()) {
      expect(t.end - t.begin).toBe(t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[t.dtype]);
    }
  });

  it("writes little-endian bytes and raw() is a view", () => {
    expect([...file.raw("f16")].slice(0, 4)).toEqual([0x00, 0x3c, 0x00, 0xc0]);
    expect([...file.raw("i32")].slice(0, 4)).toEqual([0x00, 0x00, 0x00, 0x80]);
    expect(file.raw("u8").buffer).toBe(bytes.buffer);
  });

  it("re-writes a parsed file byte-identically", () => {
    const again = writeSafetensors(
      [...file.tensors.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: file.raw(t.name) })),
      file.metadata,
    );
    expect(again).toEqual(bytes);
  });

  it("accepts a Node Buffer with a non-zero offset", () => {
    const pooled = Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from(bytes)]).subarray(3);
    expect([...parseSafetensors(pooled).f32("f32")]).toEqual([...file.f32("f32")]);
  });

  it("rejects bad writer input", () => {
    expectWeightsError(
      () => writeSafetensors([{ name: "w", dtype: "F32", shape: [2, 2], data: new Float32Array(3) }]),
      'tensor "w"', "3 elements", "[2, 2]",
    );
    expectWeightsError(
      () => writeSafetensors([{ name: "w", dtype: "I8", shape: [1], data: new Int32Array([200]) }]),
      'tensor "w"', "200",
    );
    expectWeightsError(
      () => writeSafetensors([{ name: "w", dtype: "I32", shape: [1], data: new Float32Array(1) }]),
      "cannot write Float32Array data as I32",
    );
    const t = { name: "w", dtype: "F32" as const, shape: [1], data: new Float32Array(1) };
    expectWeightsError(() => writeSafetensors([t, t]), "duplicate", 'tensor "w"');
    expectWeightsError(() => writeSafetensors([{ ...t, name: "__metadata__" }]), "reserved");
    expectWeightsError(() => writeSafetensors([{ ...t, shape: [-1] }]), "non-negative");
    expectWeightsError(() => writeSafetensors([], { a: 1 as unknown as string }), "__metadata__");
  });
});

describe("hand-built files", () => {
  it("parses a file written by Python's safetensors (0.8.0 serialize)", () => {
    // Exact header and data bytes produced by the reference implementation: it orders tensors
    // by alignment, puts __metadata__ first and pads the header with spaces to 8 bytes.
    const header =
      '{"__metadata__":{"format":"pt"},"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
      '"b.weight":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
      '"e":{"dtype":"F32","shape":[0],"data_offsets":[16,16]},' +
      '"bf":{"dtype":"BF16","shape":[1],"data_offsets":[16,18]},' +
      '"a.bias":{"dtype":"F16","shape":[2],"data_offsets":[18,22]},' +
      '"m":{"dtype":"BOOL","shape":[2],"data_offsets":[22,24]}}';
    expect(header.length).toBe(376);
    const hex = "00000000000100000000803f000000c0803f003c007c0100";
    const data = Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
    const file = parseSafetensors(build(header, data));
    expect(file.metadata).toEqual({ format: "pt" });
    expect([...file.tensors.keys()]).toEqual(["ids", "b.weight", "e", "bf", "a.bias", "m"]);
    expect([...file.i64("ids")]).toEqual([2n ** 40n]);
    expect([...file.f32("b.weight")]).toEqual([1, -2]);
    expect(file.f32("e").length).toBe(0);
    expect([...file.f32("bf")]).toEqual([1]);
    expect([...file.f32("a.bias")]).toEqual([1, Infinity]);
    expect([...file.bool("m")]).toEqual([1, 0]);
    expect(file.tensors.get("a.bias")).toEqual({ name: "a.bias", dtype: "F16", shape: [2], begin: 18, end: 22 });
  });

  it("accepts a space-padded header", () => {
    const header = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const padded = header + " ".repeat(7);
    expect([...parseSafetensors(build(padded, new Uint8Array([0, 0, 0x80, 0x3f]))).f32("w")]).toEqual([1]);
  });

  it("accepts an empty header object and numeric-looking names in file order", () => {
    expect(parseSafetensors(build("{}  ")).tensors.size).toBe(0);
    // Built as text: JSON.stringify itself would move the integer-like key first.
    const header = `{"z":${JSON.stringify(f32Entry([1], 0, 4))},"1":${JSON.stringify(f32Entry([1], 4, 8))}}`;
    const file = parseSafetensors(build(header, 8));
    expect([...file.tensors.keys()]).toEqual(["z", "1"]);
  });

  it("allows zero-sized tensors anywhere in the layout", () => {
    const header = { a: f32Entry([1], 0, 4), e: f32Entry([0], 4, 4), b: f32Entry([1], 4, 8), z: f32Entry([0], 0, 0) };
    expect(parseSafetensors(build(header, 8)).tensors.size).toBe(4);
  });
});

describe("malformed files", () => {
  const valid = { "layers.0.w": f32Entry([2], 0, 8), "layers.0.b": f32Entry([1], 8, 12) };
  const cases: Array<[string, () => Uint8Array, string[]]> = [
    ["empty file", () => new Uint8Array(0), ["0 bytes", "at least 8"]],
    ["7 bytes", () => new Uint8Array(7), ["7 bytes", "at least 8"]],
    ["header length larger than file", () => build("{}", 0, 100n), ["header length 100", "truncated"]],
    ["header length 2^63", () => build("{}", 0, 2n ** 63n), ["9223372036854775808", "2^53"]],
    ["header over 100 MB", () => build("{}", 0, 200_000_000n), ["200000000", "limit"]],
    ["header not JSON", () => build("{nope"), ["not valid JSON"]],
    ["header not UTF-8", () => build('{"\u00e9":1}').map((b, i) => (i === 10 ? 0xff : b)), ["UTF-8"]],
    ["header JSON array", () => build("[]"), ["JSON object", "array"]],
    ["header JSON null", () => build("null"), ["JSON object", "null"]],
    ["unknown dtype", () => build({ w: { dtype: "F8", shape: [1], data_offsets: [0, 1] } }, 1), ['tensor "w"', "unknown dtype", "F8"]],
    ["missing field", () => build({ w: { dtype: "F32", shape: [1] } }, 4), ['tensor "w"', "data_offsets"]],
    ["entry not object", () => build({ w: 5 }), ['tensor "w"', "must be an object"]],
    ["negative shape", () => build({ w: f32Entry([2, -1], 0, 0) }), ['tensor "w"', "shape dimension 1", "-1"]],
    ["fractional shape", () => build({ w: f32Entry([1.5], 0, 6) }, 6), ['tensor "w"', "shape dimension 0"]],
    ["shape not array", () => build({ w: { dtype: "F32", shape: 4, data_offsets: [0, 16] } }, 16), ['tensor "w"', "shape must be an array"]],
    ["non-integer offset", () => build({ w: f32Entry([1], 0.5, 4) }, 4), ['tensor "w"', "begin", "0.5"]],
    ["string offset", () => build({ w: { dtype: "F32", shape: [1], data_offsets: ["0", 4] } }, 4), ['tensor "w"', "begin"]],
    ["three offsets", () => build({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4, 8] } }, 8), ['tensor "w"', "[begin, end]"]],
    ["begin after end", () => build({ w: f32Entry([0], 4, 0) }, 4), ['tensor "w"', "begin after end"]],
    ["offsets out of range", () => build({ w: f32Entry([4], 0, 16) }, 8), ['tensor "w"', "[0, 16]", "8-byte data section"]],
    ["huge offset", () => build({ w: f32Entry([1], 0, 2 ** 60) }, 4), ['tensor "w"', "end"]],
    ["size mismatch", () => build({ "layers.0.attn.q.weight": f32Entry([16, 32], 0, 1024) }, 1024),
      ['tensor "layers.0.attn.q.weight": byte size 1024 does not match shape [16, 32] × F32 = 2048 bytes']],
    ["overflowing shape", () => build({ w: f32Entry([2 ** 40, 2 ** 40], 0, 4) }, 4), ['tensor "w"', "too large"]],
    ["gap between tensors", () => build({ a: f32Entry([1], 0, 4), b: f32Entry([1], 8, 12) }, 12),
      ['tensor "b"', 'tensor "a" ends at byte 4', "gap of 4 bytes"]],
    ["gap at start", () => build({ a: f32Entry([1], 4, 8) }, 8), ['tensor "a"', "gap of 4 bytes"]],
    ["overlap", () => build({ a: f32Entry([2], 0, 8), b: f32Entry([1], 4, 8) }, 8), ['tensor "b"', 'tensor "a"', "overlaps"]],
    ["zero-size tensor inside another", () => build({ a: f32Entry([2], 0, 8), z: f32Entry([0], 4, 4) }, 8), ['tensor "z"', "overlaps"]],
    ["trailing bytes", () => build(valid, 16), ["4 trailing bytes", 'tensor "layers.0.b"']],
    ["data but no tensors", () => build({}, 3), ["3 trailing bytes", "no tensors"]],
    ["duplicate tensor name", () => build('{"a":' + JSON.stringify(f32Entry([1], 0, 4)) + ',"a":' + JSON.stringify(f32Entry([1], 4, 8)) + "}", 8),
      ['tensor "a"', "duplicate tensor name"]],
    ["duplicate name via escape", () => build('{"a":' + JSON.stringify(f32Entry([1], 0, 4)) + ',"\\u0061":' + JSON.stringify(f32Entry([1], 0, 4)) + "}", 4),
      ['tensor "a"', "duplicate"]],
    ["duplicate key in entry", () => build('{"w":{"dtype":"F16","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), ['tensor "w"', 'duplicate key "dtype"']],
    ["duplicate metadata", () => build('{"__metadata__":{},"__metadata__":{}}'), ["more than one __metadata__"]],
    ["metadata not a string map", () => build({ __metadata__: { epochs: 3 } }), ["__metadata__", '"epochs"', "must be a string"]],
    ["metadata array", () => build({ __metadata__: ["a"] }), ["__metadata__", "must be an object"]],
    ["deeply nested shape", () => build(`{"w":{"dtype":"F32","shape":${"[".repeat(1e5)}${"]".repeat(1e5)},"data_offsets":[0,0]}}`),
      ['tensor "w"', "shape dimension 0", "an array"]],
    ["huge number offset", () => build('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,1e400]}}', 4), ['tensor "w"', "Infinity"]],
    ["truncated data", () => build(valid, 12).subarray(0, 8 + JSON.stringify(valid).length + 10),
      ['tensor "layers.0.b"', "[8, 12]", "truncated"]],
  ];

  it.each(cases)("%s", (_label, make, fragments) => {
    expectWeightsError(() => parseSafetensors(make()), ...fragments);
  });

  it("sets tensor and problem fields", () => {
    const err = expectWeightsError(() => parseSafetensors(build({ w: f32Entry([2], 0, 4) }, 4)));
    expect(err.tensor).toBe("w");
    expect(err.problem).toMatch(/^byte size 4/);
    expect(err.name).toBe("WeightsError");
  });

  it("rejects I64 values outside int32 range", () => {
    const file = parseSafetensors(
      writeSafetensors([{ name: "ids", dtype: "I64", shape: [3], data: new BigInt64Array([1n, 2n ** 32n, 3n]) }]),
    );
    expectWeightsError(() => file.i32("ids"), 'tensor "ids"', "4294967296", "index 1", "int32");
    expect([...file.i64("ids")]).toEqual([1n, 2n ** 32n, 3n]);
  });

  it("rejects wrong accessors and non-0/1 BOOL bytes", () => {
    const file = parseSafetensors(
      writeSafetensors([
        { name: "u", dtype: "U8", shape: [1], data: new Uint8Array([7]) },
        { name: "flag", dtype: "BOOL", shape: [1], data: new Uint8Array([1]) },
      ]),
    );
    expectWeightsError(() => file.f32("u"), 'tensor "u"', "U8", "f32()");
    expectWeightsError(() => file.bool("u"), 'tensor "u"', "bool()");
    file.raw("flag")[0] = 2;
    expectWeightsError(() => file.bool("flag"), 'tensor "flag"', "BOOL byte 2");
    expectWeightsError(() => file.raw("nope"), 'missing tensor "nope"');
  });
});

describe("expectTensor", () => {
  const file = parseSafetensors(
    writeSafetensors([
      { name: "model.head.weight", dtype: "F32", shape: [64, 512], data: new Float32Array(64 * 512) },
      { name: "emb", dtype: "F16", shape: [4], data: new Uint16Array(4) },
    ]),
  );

  it("passes and returns the info", () => {
    expect(expectTensor(file, "emb", ["F16", "BF16"], [4]).dtype).toBe("F16");
  });

  it("names tensor, expected and found", () => {
    expectWeightsError(
      () => expectTensor(file, "model.head.weight", "F32", [512, 64]),
      'tensor "model.head.weight": expected shape [512, 64], found [64, 512]',
    );
    expectWeightsError(() => expectTensor(file, "emb", "F32", [4]), 'tensor "emb"', "expected dtype F32, found F16");
    expectWeightsError(() => expectTensor(file, "emb", "F32", [4, 1]), "expected dtype F32", "expected shape [4, 1], found [4]");
    const err = expectWeightsError(() => expectTensor(file, "norm.weight", "F32", [64]), 'missing tensor "norm.weight"');
    expect(err.tensor).toBe("norm.weight");
    expectWeightsError(() => expectTensor(file, "head.weight", "F32", [64, 512]), 'did you mean "model.head.weight"');
  });
});

describe("fuzz", () => {
  function mulberry32(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const JSON_CHARS = '{}[]":,0123456789-.e \\u';

  it("never throws anything but WeightsError on corrupted files", () => {
    const base = writeSafetensors(
      [
        { name: "a", dtype: "F16", shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
        { name: "b", dtype: "I64", shape: [2], data: new BigInt64Array([5n, -(2n ** 40n)]) },
        { name: "c", dtype: "BOOL", shape: [2], data: new Uint8Array([0, 1]) },
        { name: "d", dtype: "BF16", shape: [1, 1], data: new Float32Array([0.5]) },
      ],
      { k: "v" },
    );
    const headerEnd = 8 + Number(new DataView(base.buffer).getBigUint64(0, true));
    const rand = mulberry32(0x5afe7e57);
    const pick = (n: number) => Math.floor(rand() * n);
    let parsed = 0;
    let rejected = 0;
    for (let iter = 0; iter < 2000; iter++) {
      let bytes = new Uint8Array(base);
      const ops = 1 + pick(4);
      for (let k = 0; k < ops; k++) {
        const op = pick(6);
        // Bias towards the header: corrupting tensor data rarely exercises validation.
        const at = rand() < 0.8 ? pick(Math.min(headerEnd, bytes.length) || 1) : pick(bytes.length || 1);
        if (op === 0) bytes[at] ^= 1 << pick(8);
        else if (op === 1) bytes[at] = pick(256);
        else if (op === 2) bytes[at] = JSON_CHARS.charCodeAt(pick(JSON_CHARS.length));
        else if (op === 3) bytes = bytes.subarray(0, pick(bytes.length + 1));
        else if (op === 4) bytes = Uint8Array.from([...bytes.subarray(0, at), pick(256), ...bytes.subarray(at)]);
        else bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]);
      }
      try {
        const file = parseSafetensors(bytes);
        parsed++;
        for (const name of file.tensors.keys()) {
          const readers: Array<(n: string) => unknown> = [(n) => file.raw(n), (n) => file.f32(n), (n) => file.i32(n), (n) => file.i64(n), (n) => file.u8(n), (n) => file.bool(n)];
          for (const read of readers) {
            try {
              read(name);
            } catch (e) {
              if (!(e instanceof WeightsError)) throw e;
            }
          }
        }
      } catch (e) {
        if (!(e instanceof WeightsError)) throw new Error(`iteration ${iter}: ${String(e)}`, { cause: e });
        expect(e.message.length).toBeGreaterThan(0);
        rejected++;
      }
    }
    expect(parsed + rejected).toBe(2000);
    expect(rejected).toBeGreaterThan(500);
  });
});
