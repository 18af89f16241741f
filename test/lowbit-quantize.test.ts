// Low-bit storage formats (src/runtime/weights/): the quantisers against the block formulas
// written out independently here, hand-worked llama.cpp blocks (Q4_0 / Q8_0 bytes), ONNX
// Runtime MatMulNBits' dequantisation of our bytes, and the safetensors metadata format with
// its one-line errors for bad files.

import { describe, expect, it } from "vitest";
import { bindWeightStore, bindWeights } from "../src/runtime/bind-weights.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { mulberry32 } from "../src/runtime/sample.ts";
import { WeightsError, f16ToF32, f32ArrayToF16, f32ToF16, parseSafetensors, writeSafetensors, type TensorToWrite } from "../src/runtime/safetensors.ts";
import { META_DTYPE, META_VERSION, encodeStore } from "../src/runtime/weights/file.ts";
import { bytesByDtype, storageOf, type Q4Weight, type Q8Weight } from "../src/runtime/weights/format.ts";
import { dequantize, fromGgmlQ4_0, quantize, quantizeQ4, quantizeQ8, toF16, toGgmlQ4_0, toGgmlQ8_0, wordsToBytes } from "../src/runtime/weights/quantize.ts";
import { convertStore, planStorage } from "../src/runtime/weights/store.ts";
import { loadTiny } from "./helpers/tiny-specs.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

describe("llama.cpp blocks, worked by hand", () => {
  it("Q4_0: x_j = (j − 16) / 4 → d = −4 / −8 = 0.5, codes floor((j + 1) / 2) capped at 15", () => {
    // max-magnitude element is x_0 = −4 → d = 0.5, 1/d = 2; code_j = trunc(2·x_j + 8.5)
    // = trunc(j/2 + 0.5) = floor((j + 1)/2), and j = 31 gives 16 → 15.
    const x = Float32Array.from({ length: 32 }, (_, j) => (j - 16) / 4);
    const q = quantizeQ4(x, [1, 32]);
    // f16(0.5) = 0x3800, little-endian; then qs[j] = code_j | code_{j+16} << 4.
    expect(hex(toGgmlQ4_0(q, 0, 0))).toBe("00 38 80 91 91 a2 a2 b3 b3 c4 c4 d5 d5 e6 e6 f7 f7 f8");
    // Dequantised: (code − 8) · 0.5.
    const want = Float32Array.from({ length: 32 }, (_, j) => (Math.min(15, Math.floor((j + 1) / 2)) - 8) * 0.5);
    expect([...dequantize(q)]).toEqual([...want]);
    // Our own words: element 8g + i in bits [4i, 4i + 4) of word g.
    expect(q.words[0] & 15).toBe(0);
    expect((q.words[0] >>> 4) & 15).toBe(1);
    expect((q.words[3] >>> 28) & 15).toBe(15);
    // And back from ggml's bytes.
    const back = fromGgmlQ4_0(toGgmlQ4_0(q, 0, 0));
    expect([...back.words]).toEqual([...q.words]);
    expect(back.scale).toBe(0x3800);
  });

  it("Q8_0: x_j = (8j − 127) / 100 → d = 1.27 / 127 = f16 0x211F, codes 8j − 127", () => {
    // amax = 1.27 (j = 0); d = 0.01, stored as the nearest f16: 2^-7 · (1 + 287/1024) = 0x211F.
    const x = Float32Array.from({ length: 32 }, (_, j) => (8 * j - 127) / 100);
    const q = quantizeQ8(x, [1, 32]);
    const codes = Int8Array.from({ length: 32 }, (_, j) => 8 * j - 127);
    expect(hex(toGgmlQ8_0(q, 0, 0))).toBe(`1f 21 ${hex(new Uint8Array(codes.buffer))}`);
    expect(f16ToF32(0x211f)).toBe(0.01000213623046875);
    expect([...dequantize(q)]).toEqual([...codes].map((c) => c * 0.01000213623046875).map(Math.fround));
  });
});

/** Independent statements of the two block rules, written from ggml's definitions. */
function q8Block(x: number[]): { d: number; q: number[] } {
  const amax = Math.max(...x.map(Math.abs));
  const d = Math.fround(amax / 127);
  const id = d === 0 ? 0 : Math.fround(1 / d);
  return { d, q: x.map((v) => Math.sign(v) * Math.floor(Math.abs(Math.fround(v * id)) + 0.5)) };
}
function q4Block(x: number[]): { d: number; code: number[] } {
  let max = 0;
  for (const v of x) if (Math.abs(v) > Math.abs(max)) max = v;
  const d = Math.fround(max / -8);
  const id = d === 0 ? 0 : Math.fround(1 / d);
  return { d, code: x.map((v) => Math.min(15, Math.trunc(Math.fround(Math.fround(v * id) + 8.5)))) };
}

describe("quantisers against the block formulas", () => {
  const rng = mulberry32(7);
  const N = 5;
  const K = 77; // three blocks, the last one 13 wide: zero padding
  const w = Float32Array.from({ length: N * K }, () => (rng() - 0.5) * (rng() < 0.1 ? 3 : 0.2));

  it("q8: per block of 32 along K, d = amax / 127, q = round(x / d), padding 0", () => {
    const q = quantizeQ8(w, [N, K]);
    expect(q.blocks).toBe(3);
    for (let n = 0; n < N; n++) {
      for (let b = 0; b < 3; b++) {
        const xs = Array.from({ length: 32 }, (_, j) => (b * 32 + j < K ? w[n * K + b * 32 + j] : 0));
        const want = q8Block(xs);
        expect(q.scales[n * 3 + b]).toBe(f32ToF16(want.d));
        expect([...q.q.subarray((n * 3 + b) * 32, (n * 3 + b + 1) * 32)]).toEqual(want.q.map((v) => v + 0));
        // Dequantised: within half a step of x, plus what rounding d to f16 moved the codes.
        const back = dequantize(q);
        const dh = f16ToF32(f32ToF16(want.d));
        for (let j = 0; j < 32 && b * 32 + j < K; j++) {
          expect(Math.abs(back[n * K + b * 32 + j] - xs[j])).toBeLessThanOrEqual(0.5 * want.d * 1.0001 + 127 * Math.abs(dh - want.d));
        }
      }
    }
  });

  it("q4: d = (signed max) / −8, code = min(15, trunc(x / d + 8.5)), nibble 8 past K", () => {
    const q = quantizeQ4(w, [N, K]);
    for (let n = 0; n < N; n++) {
      for (let b = 0; b < 3; b++) {
        const xs = Array.from({ length: 32 }, (_, j) => (b * 32 + j < K ? w[n * K + b * 32 + j] : 0));
        const want = q4Block(xs);
        expect(q.scales[n * 3 + b]).toBe(f32ToF16(want.d));
        const got = Array.from({ length: 32 }, (_, j) => (q.words[(n * 3 + b) * 4 + (j >> 3)] >>> (4 * (j & 7))) & 15);
        expect(got).toEqual(want.code);
        if (b === 2) expect(got.slice(13)).toEqual(new Array(19).fill(8));
      }
    }
  });

  it("q4 bytes are ONNX Runtime MatMulNBits' B [N, nb, 16] with zero point 8", () => {
    const q = quantizeQ4(w, [N, K]);
    const B = wordsToBytes(q.words);
    expect(B.length).toBe(N * 3 * 16);
    const back = dequantize(q);
    // MatMulNBits: element k of row n is in byte k/2 of its block's blob, low nibble first;
    // value = (code − zero_point) · scale with the default zero point 8.
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const b = Math.floor(k / 32);
        const j = k % 32;
        const byte = B[(n * 3 + b) * 16 + (j >> 1)];
        const code = j & 1 ? byte >> 4 : byte & 15;
        expect(back[n * K + k]).toBe(Math.fround((code - 8) * f16ToF32(q.scales[n * 3 + b])));
      }
    }
  });

  it("f16 is round-to-nearest binary16; a value beyond its range is an error naming it", () => {
    const x = Float32Array.from([1, -2.5, 1e-7, 65504, 0.1]);
    const h = toF16(x, [5]);
    expect([...h.bits]).toEqual([...x].map(f32ToF16));
    expect(() => toF16(Float32Array.from([1, 70000]), [2], "t")).toThrow(/^tensor "t": value 70000 at index \[1\] is beyond f16's range/);
  });

  it("bulk f16 conversion (integer ops on f32 bits) equals the exact per-element rounding everywhere", () => {
    // Every boundary the bit arithmetic has: zero, the 2^-25 tie, subnormals and the carry into
    // the smallest normal, ties to even in both ranges, 65504 / 65520 (→ inf), inf, NaN; then
    // random bit patterns over every exponent (both signs).
    const special = [0, -0, 2 ** -25, 2 ** -25 * 1.0000001, 2 ** -24, 1.5 * 2 ** -24, 2.5 * 2 ** -24, 2 ** -14 - 2 ** -25, 2 ** -14 - 2 ** -26, 2 ** -14, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, 65520, 65536, 1e9, Infinity, -Infinity, NaN, 0.1, -2.5, 1e-7];
    const bits = new Uint32Array(200_000);
    let r = 12345;
    for (let i = 0; i < bits.length; i++) bits[i] = r = (Math.imul(r, 1103515245) + 12345) >>> 0;
    const x = new Float32Array(special.length + bits.length);
    x.set(special);
    new Uint32Array(x.buffer).set(bits, special.length);
    const got = f32ArrayToF16(x);
    for (let i = 0; i < x.length; i++) if (got[i] !== f32ToF16(x[i])) expect(`${x[i]} → ${got[i].toString(16)}`).toBe(`${x[i]} → ${f32ToF16(x[i]).toString(16)}`);
    // A sweep of every f32 from 2^-26 to 2^-13 at a stride that lands on ties and carries.
    const sweep = new Uint32Array(1 << 16).map((_, i) => 0x32800000 + i * 0x91);
    const xs = new Float32Array(sweep.buffer);
    const hs = f32ArrayToF16(xs);
    for (let i = 0; i < xs.length; i++) if (hs[i] !== f32ToF16(xs[i])) expect(`${xs[i]} → ${hs[i]}`).toBe(`${xs[i]} → ${f32ToF16(xs[i])}`);
  });

  it("a non-finite weight is refused before it poisons a block scale", () => {
    const bad = Float32Array.from({ length: 64 }, (_, i) => (i === 40 ? NaN : 0.1));
    expect(() => quantize(bad, [2, 32], "q4", "w")).toThrow(/^tensor "w": holds NaN at index \[1, 8\]/);
  });
});

describe("which tensors go low-bit", () => {
  it("linear weights take the dtype, embedding tables (and the tied head) at most q8, the rest f32", () => {
    const m = loadTiny("tiny-gpt2.sf");
    const plan = planStorage(inferenceGraph(m), "q4");
    expect(plan.get("embed.tokens.weight")).toBe("q8");
    expect(plan.get("decoder.0.attn.q.weight")).toBe("q4");
    expect(plan.get("decoder.0.mlp.down.weight")).toBe("q4");
    expect(plan.get("position.weight")).toBe("f32");
    expect(plan.get("decoder.0.attn.q.bias")).toBe("f32");
    expect(plan.get("norm.0.weight")).toBe("f32");
    const kept = planStorage(inferenceGraph(m), "q8", { keep: ["decoder.1.*", "embed.tokens.weight"] });
    expect(kept.get("decoder.1.mlp.up.weight")).toBe("f32");
    expect(kept.get("embed.tokens.weight")).toBe("f32");
    expect(kept.get("decoder.0.mlp.up.weight")).toBe("q8");
    expect(() => planStorage(inferenceGraph(m), "q8", { keep: ["decoder.9.*"] })).toThrow(/--keep "decoder\.9\.\*" matches no tensor/);
  });
});

describe("the safetensors metadata format", () => {
  const m = loadTiny("tiny-llama.sf");
  const graph = inferenceGraph(m);
  const w = randomWeights(m, 5);
  const layout = weightLayout(m);
  const store = convertStore(graph, w, "q4");
  const bytes = encodeStore(layout, store);

  it("round-trips every tensor in its storage, and reads as f32 for f32 consumers", () => {
    const file = parseSafetensors(bytes);
    expect(file.metadata[META_VERSION]).toBe("1");
    expect(file.metadata["specformer.block_size"]).toBe("32");
    expect(file.metadata[`${META_DTYPE}decoder.0.mlp.down.weight`]).toBe("q4");
    // hidden 88 = 3 blocks; U8 [32, 48] codes, F16 [32, 3] scales.
    expect(file.get("decoder.0.mlp.down.weight")).toMatchObject({ dtype: "U8", shape: [32, 48] });
    expect(file.get("decoder.0.mlp.down.weight.scales")).toMatchObject({ dtype: "F16", shape: [32, 3] });
    expect(file.get("embed.tokens.weight")).toMatchObject({ dtype: "I8", shape: [101, 32] });
    const back = bindWeightStore(m, file, graph);
    for (const [name, x] of store) {
      const y = back.get(name)!;
      expect(storageOf(y), name).toBe(storageOf(x));
      expect([...dequantize(y)], name).toEqual([...dequantize(x)]);
    }
    const f32 = bindWeights(m, file);
    expect([...f32.get("decoder.1.attn.k.weight")!]).toEqual([...dequantize(store.get("decoder.1.attn.k.weight")!)]);
    const totals = bytesByDtype(back);
    expect(totals.q4.tensors).toBe(2 * 7 + 1); // q k v o gate up down per layer, and the untied head
    expect(totals.q8.tensors).toBe(1);
    expect(totals.q4.bytes).toBe([...back].filter(([, x]) => storageOf(x) === "q4").reduce((a, [, x]) => a + (x as Q4Weight).words.length * 4 + (x as Q4Weight).scales.length * 2, 0));
  });

  it("loads a plain f32 checkpoint quantised per tensor at load time", () => {
    const plain = parseSafetensors(writeSafetensors(layout.map((t) => ({ name: t.name, dtype: "F32", shape: t.shape, data: w.get(t.name)! }))));
    const q8 = bindWeightStore(m, plain, graph, { dtype: "q8" });
    const want = quantizeQ8(w.get("head.weight")!, [101, 32]);
    expect([...(q8.get("head.weight") as Q8Weight).q]).toEqual([...want.q]);
    expect(() => bindWeightStore(m, parseSafetensors(bytes), graph, { dtype: "q8" })).toThrow(/is stored as q4 in the file; converting it to q8 would quantise twice/);
  });

  /** The file with tensor `name` replaced (or removed) and metadata changed. */
  function variant(edit: { tensors?: (t: TensorToWrite[]) => TensorToWrite[]; meta?: (m: Record<string, string>) => void }): Uint8Array {
    const f = parseSafetensors(bytes);
    let tensors: TensorToWrite[] = [...f.tensors.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: f.raw(t.name) }));
    if (edit.tensors) tensors = edit.tensors(tensors);
    const meta = { ...f.metadata };
    edit.meta?.(meta);
    return writeSafetensors(tensors, meta);
  }
  const load = (b: Uint8Array) => () => bindWeightStore(m, parseSafetensors(b), graph);
  const oneLine = (f: () => unknown, re: RegExp) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WeightsError);
    const msg = (err as Error).message;
    expect(msg).not.toContain("\n");
    expect(msg).toMatch(re);
  };
  const W = "decoder.1.mlp.up.weight";

  it("a truncated file or a short code tensor is one line naming the tensor", () => {
    oneLine(() => parseSafetensors(bytes.subarray(0, bytes.length - 100)), /may be truncated|trailing|does not match/);
    const short = variant({ tensors: (ts) => ts.map((t) => (t.name === W ? { ...t, shape: [88, 8], data: (t.data as Uint8Array).subarray(0, 88 * 8) } : t)) });
    oneLine(load(short), /^tensor "decoder\.1\.mlp\.up\.weight": expected shape \[88, 16\], found \[88, 8\] \(q4 of shape \[88, 32\]: U8 \[88, 16\] codes in 1 block of 32 along K = 32/);
  });

  it("a NaN scale is refused, naming the row and block", () => {
    const nan = variant({
      tensors: (ts) =>
        ts.map((t) => {
          if (t.name !== `${W}.scales`) return t;
          const d = new Uint8Array(t.data as Uint8Array);
          d[2 * 5] = 0x00;
          d[2 * 5 + 1] = 0x7e; // f16 NaN at row 5, block 0
          return { ...t, data: d };
        }),
    });
    oneLine(load(nan), /^tensor "decoder\.1\.mlp\.up\.weight": q4 scale of row 5, block 0 \(of 88 × 1\) is NaN; scales must be finite$/);
  });

  it("an unknown dtype, version or block size in the metadata, or a missing scale tensor, is one line", () => {
    oneLine(load(variant({ meta: (x) => (x[`${META_DTYPE}${W}`] = "q3") })), /^tensor "decoder\.1\.mlp\.up\.weight": unknown storage dtype "q3" in __metadata__ "specformer\.dtype\.decoder\.1\.mlp\.up\.weight" \(expected f16, q8 or q4\)$/);
    oneLine(load(variant({ meta: (x) => (x[META_VERSION] = "2") })), /"specformer\.quant" is "2"; this specformer reads version 1/);
    oneLine(load(variant({ meta: (x) => (x["specformer.block_size"] = "64") })), /only blocks of 32 are defined/);
    oneLine(load(variant({ tensors: (ts) => ts.filter((t) => t.name !== `${W}.scales`) })), /^tensor "decoder\.1\.mlp\.up\.weight\.scales": missing; q4 of shape \[88, 32\]/);
    oneLine(load(variant({ meta: (x) => (x[`${META_DTYPE}norm.0.weight`] = "q8") })), /^tensor "norm\.0\.weight": is stored as q8, but it is not a linear weight or an embedding table/);
    oneLine(load(variant({ meta: (x) => (x[`${META_DTYPE}nope.weight`] = "q8") })), /^tensor "nope\.weight": __metadata__ "specformer\.dtype\.nope\.weight" declares q8 storage, but the file has no such tensor$/);
  });
});
