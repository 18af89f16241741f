// Every ggml block type specformer decodes without a storage of its own, against llama.cpp's own
// Python package: scripts/make-gguf-quant-fixtures.py writes random blocks of each type with
// gguf-py's GGUFWriter and their values as gguf.quants.dequantize gives them (its numpy
// dequantisers, written from ggml-quants.c). Loading such a tensor stores it as --dtype plans,
// q8 by default (test/gguf.test.ts runs that path end to end on a Q4_K_M file).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ggufF32 } from "../src/runtime/gguf/llama-gguf.ts";
import { readGguf } from "../src/runtime/gguf/read-gguf.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";

const file = await readGguf(new Uint8Array(readFileSync("test/fixtures/gguf/quant-types.gguf")), "quant-types.gguf");
const expected = parseSafetensors(readFileSync("test/fixtures/gguf/quant-types-expected.safetensors"));
const TYPES = ["Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"];

describe("ggml block types decode to gguf-py's values", () => {
  it.each(TYPES)("%s", (type) => {
    const t = file.tensors.get(type)!;
    expect(t.type).toBe(type);
    expect(t.shape).toEqual([2, 512]);
    const want = expected.f32(type);
    const got = ggufF32(t);
    expect(want.some((x) => x !== 0)).toBe(true);
    // f32 arithmetic in ggml's order on both sides: the same values, bit for bit.
    let differ = 0;
    for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) differ++;
    expect(differ, type).toBe(0);
  });
});
