// GGUF weights (llama.cpp's format) for a llama spec: the F32 / F16 / Q8_0 / Q4_0 files of
// scripts/make-gguf-fixtures.py, written from the GGUF and ggml specifications with llama.cpp's
// tensor names and its RoPE row permutation of attn_q / attn_k, over one tiny LlamaForCausalLM
// checkpoint (d 64, 4 heads, 2 KV heads, untied head) whose logits PyTorch computed
// (make-hf-fixtures.py's HFForCausalLM). Checked against independent answers:
//   - F32: logits equal PyTorch's within 1e-5 on the reference and Wasm;
//   - Q8_0 / Q4_0: each matrix as loaded (kept q8 / q4, never dequantised on the way) equals,
//     value for value, ggml's dequantisation done by the script (d · q in Hugging Face row
//     order), and the blocks equal specformer's own quantiser run on the f32 checkpoint (both
//     are ggml's reference rule);
//   - F16: the store equals the checkpoint converted to f16;
// then Wasm against the reference on the q4 model, the CLI end to end, and the errors.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkSource } from "../src/check/check.ts";
import { loadWeightStore } from "../src/cli/load-weights.ts";
import { importCheckpoint } from "../src/import/checkpoint.ts";
import { importGguf, llamaConfig } from "../src/import/gguf.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { ggufTokenizer } from "../src/runtime/gguf/gguf-tokenizer.ts";
import { readGguf, readGgufHeader } from "../src/runtime/gguf/read-gguf.ts";
import { ggufWeightStore } from "../src/runtime/gguf/llama-gguf.ts";
import { nameMapPlan } from "../src/runtime/name-maps.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { storageOf, type WeightStore } from "../src/runtime/weights/format.ts";
import { dequantize } from "../src/runtime/weights/quantize.ts";
import { convertStore } from "../src/runtime/weights/store.ts";
import { relError } from "./helpers/conformance.ts";
import { cli } from "./helpers/hf.ts";

const DIR = "test/fixtures/gguf";
const file = (kind: string) => `${DIR}/llama-${kind}.gguf`;
const imported = await importCheckpoint(`${DIR}/llama-hf`);
const checked = checkSource(imported.text, "llama.sf");
const m = checked.entry as ModelInfo;
const parity = parseSafetensors(readFileSync(`${DIR}/llama-parity.safetensors`));
const tokens = Int32Array.from(parity.i32("input.tokens"));
const [B, S] = parity.get("input.tokens").shape;
const expected = parity.f32("expected.logits");
const hf = parseSafetensors(readFileSync(`${DIR}/llama-hf/model.safetensors`));
const hfStore = await loadWeightStore(m, `${DIR}/llama-hf`, {});
/** Native name → Hugging Face name. */
const hfOf = new Map(nameMapPlan("llama", hf, m).map((s) => [s.native.name, s.alt.name]));

async function logits(store: WeightStore, target: "reference" | "wasm"): Promise<Float32Array> {
  const model = await createModel(target, m, store);
  try {
    return await model.forward(tokens, { batch: B, seq: S });
  } finally {
    model.dispose();
  }
}

describe("GGUF weights of a llama spec", () => {
  it("the imported spec checks clean", () => {
    expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it.each(["reference", "wasm"] as const)("F32: %s logits equal PyTorch's", async (target) => {
    const store = await loadWeightStore(m, file("F32"), {});
    expect([...store.values()].every((w) => storageOf(w) === "f32")).toBe(true);
    expect(relError(await logits(store, target), expected, m.head.vocab, S).err).toBeLessThan(1e-5);
  });

  it("F16: the matrices stay f16, equal to the checkpoint converted to f16", async () => {
    const store = await loadWeightStore(m, file("F16"), {});
    const want = convertStore(inferenceGraph(m), hfStore, "f16");
    for (const [name, w] of store) {
      expect(storageOf(w), name).toBe(storageOf(want.get(name)!));
      expect(dequantize(w), name).toEqual(dequantize(want.get(name)!));
    }
  });

  describe.each([
    ["Q8_0", "q8", "q8"],
    ["Q4_0", "q4", "f32"],
  ] as const)("%s", (kind, matrices, table) => {
    const dequant = parseSafetensors(readFileSync(`${DIR}/llama-${kind}-dequant.safetensors`));
    const load = () => loadWeightStore(m, file(kind), {});

    it(`keeps the linear weights ${matrices} (the embedding table ${table}), each value ggml's d · q`, async () => {
      const store = await load();
      let matricesSeen = 0;
      for (const [name, w] of store) {
        const src = hfOf.get(name)!;
        if (!dequant.tensors.has(src)) {
          expect(storageOf(w), name).toBe("f32");
          continue;
        }
        matricesSeen++;
        expect(storageOf(w), name).toBe(name.includes("embed") ? table : matrices);
        expect(dequantize(w), name).toEqual(dequant.f32(src));
      }
      expect(matricesSeen).toBe(dequant.tensors.size);
    });

    it(`--dtype ${matrices} keeps every ${matrices} matrix as the file has it and stores the rest as planned`, async () => {
      const store = await load();
      const planned = await loadWeightStore(m, file(kind), { dtype: matrices });
      for (const [name, w] of store) {
        if (storageOf(w) === matrices) expect(planned.get(name), name).toEqual(w);
      }
      // A Q4_0 table (f32 as loaded) is q8 under --dtype q4, quantised once from its exact values.
      const table = [...planned].find(([n]) => n.includes("embed"))!;
      expect(storageOf(table[1])).toBe("q8");
    });

    it("its blocks are the ones specformer's quantiser makes from the f32 checkpoint", async () => {
      const store = await load();
      const own = convertStore(inferenceGraph(m), hfStore, matrices);
      for (const [name, w] of store) if (storageOf(w) === matrices) expect(w, name).toEqual(own.get(name));
    });

    it("Wasm logits equal the reference's over the same weights", async () => {
      const store = await load();
      const ref = await logits(store, "reference");
      expect(relError(await logits(store, "wasm"), ref, m.head.vocab, S).err).toBeLessThan(1e-4);
      // And the quantised model is still near the f32 one (no bound tuned: top-1 mostly agrees).
      let same = 0;
      for (let p = 0; p < B * S; p++) {
        const row = (x: Float32Array) => x.subarray(p * m.head.vocab, (p + 1) * m.head.vocab);
        const arg = (x: Float32Array) => row(x).indexOf(Math.max(...row(x)));
        if (arg(ref) === arg(expected)) same++;
      }
      expect(same).toBeGreaterThan((B * S) / 2);
    });
  });

  it("`run SPEC --weights M.gguf` generates what the Hugging Face directory does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sf-gguf-"));
    try {
      const spec = join(dir, "llama.sf");
      writeFileSync(spec, imported.text);
      const args = (w: string) => ["run", spec, "--weights", w, "--tokens", "1,2,3,4", "--max-tokens", "6", "--target", "wasm"];
      const viaGguf = await cli(...args(file("F32")));
      const viaDir = await cli(...args(`${DIR}/llama-hf`));
      expect(viaGguf.code, viaGguf.stderr).toBe(0);
      expect(viaGguf.stdout.trim()).toBe(viaDir.stdout.trim());
      expect(viaGguf.stdout.trim().split("\n")[0].split(",")).toHaveLength(6);
      // quantize reads GGUF too: Q4_0 matrices pass through as the same q4 blocks.
      const out = join(dir, "q4.safetensors");
      const q = await cli("quantize", file("Q4_0"), "--spec", spec, "--to", "q4", "--out", out);
      expect(q.code, q.stderr).toBe(0);
      const viaFile = await loadWeightStore(m, out, {});
      const direct = await loadWeightStore(m, file("Q4_0"), {});
      for (const [name, w] of direct) if (storageOf(w) === "q4") expect(viaFile.get(name), name).toEqual(w);
      const mapped = await cli(...args(file("Q4_0")), "--map", "llama");
      expect(mapped.code).toBe(2);
      expect(mapped.stderr).toMatch(/--map llama: a GGUF file's tensor names are llama\.cpp's/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("K-quants (Q4_K_M: Q4_K and Q6_K)", () => {
  const K = `${DIR}/llama-k-Q4_K_M.gguf`;
  const kParity = parseSafetensors(readFileSync(`${DIR}/llama-k-parity.safetensors`));
  const kTokens = Int32Array.from(kParity.i32("input.tokens"));
  const [kB, kS] = kParity.get("input.tokens").shape;
  const kWant = kParity.f32("expected.logits");

  it("decode to ggml's values: the imported model's f32 logits equal PyTorch's over the dequantised weights", async () => {
    const r = await importGguf(K);
    const km = checkSource(r.text, "k.sf").entry as ModelInfo;
    const store = await loadWeightStore(km, K, { dtype: "f32" });
    expect([...store.values()].every((w) => storageOf(w) === "f32")).toBe(true);
    // The first rows of a Q4_K and a Q6_K matrix, value for value.
    for (const [hfName, native] of [["model.layers.0.self_attn.k_proj.weight", "decoder.0.attn.k.weight"], ["model.layers.0.mlp.down_proj.weight", "decoder.0.mlp.down.weight"]]) {
      const rows = kParity.f32(`rows.${hfName}`);
      const got = store.get(native) as Float32Array;
      expect(got.subarray(0, rows.length), native).toEqual(rows);
    }
    for (const target of ["reference", "wasm"] as const) {
      const model = await createModel(target, km, store);
      const got = await model.forward(kTokens, { batch: kB, seq: kS });
      model.dispose();
      expect(relError(got, kWant, km.head.vocab, kS).err, target).toBeLessThan(1e-5);
    }
  });

  it("load as q8 by default, as --dtype plans otherwise (q4 linears, a q8 table)", async () => {
    const km = checkSource((await importGguf(K)).text, "k.sf").entry as ModelInfo;
    const exact = await loadWeightStore(km, K, { dtype: "f32" });
    const graph = inferenceGraph(km);
    for (const dtype of [undefined, "q4"] as const) {
      const store = await loadWeightStore(km, K, dtype ? { dtype } : {});
      const want = convertStore(graph, exact, dtype ?? "q8");
      for (const [name, w] of store) expect(w, name).toEqual(want.get(name));
      const ref = await createModel("reference", km, store);
      const wasm = await createModel("wasm", km, store);
      const a = await ref.forward(kTokens, { batch: kB, seq: kS });
      expect(relError(await wasm.forward(kTokens, { batch: kB, seq: kS }), a, km.head.vocab, kS).err, dtype ?? "q8").toBeLessThan(1e-4);
      ref.dispose();
      wasm.dispose();
    }
  });
});

// Gemma 2's checkpoint is one llama.cpp can represent (query_pre_attn_scalar = head_dim), made
// beside its file; the others are the Hugging Face fixtures. No Q8_0 file for Gemma 2.
const OTHER_ARCHS = [
  { arch: "qwen2", dir: "test/fixtures/hf/qwen2", parity: "test/fixtures/hf/parity/qwen2.safetensors", q8: true },
  { arch: "qwen3", dir: "test/fixtures/hf/qwen3", parity: "test/fixtures/hf/parity/qwen3.safetensors", q8: true },
  { arch: "phi3", dir: "test/fixtures/hf/phi3", parity: "test/fixtures/hf/parity/phi3.safetensors", q8: true },
  { arch: "gemma2", dir: `${DIR}/gemma2-hf`, parity: `${DIR}/gemma2-parity.safetensors`, q8: false },
];

// No RoPE row permutation for any; Qwen3's q / k norms; Phi-3's fused qkv and gate_up, split
// keeping Q8_0 blocks; Gemma 2's norms stored as 1 + w, its softcaps and window from gemma2.* keys.
describe.each(OTHER_ARCHS)("$arch GGUF files", ({ arch, dir, parity: parityFile, q8: hasQ8 }) => {
  const qParity = parseSafetensors(readFileSync(parityFile));
  const qTokens = Int32Array.from(qParity.i32("input.tokens"));
  const [qB, qS] = qParity.get("input.tokens").shape;

  it("import writes the directory's spec; F32 logits equal PyTorch's; Q8_0 is specformer's q8 of those weights", async () => {
    const fromGguf = await importGguf(`${DIR}/${arch}-F32.gguf`);
    const fromDir = await importCheckpoint(dir);
    const strip = (t: string) => t.split("\n").map((l) => l.replace(/#.*$/, "").trimEnd()).filter((l) => l !== "" && !l.startsWith("model ")).map((l) => l.replace(/ {2,}/g, " ")).join("\n");
    expect(strip(fromGguf.text)).toBe(strip(fromDir.text));
    const qm = checkSource(fromGguf.text, `${arch}.sf`).entry as ModelInfo;
    const f32 = await loadWeightStore(qm, `${DIR}/${arch}-F32.gguf`, {});
    for (const target of ["reference", "wasm"] as const) {
      const model = await createModel(target, qm, f32);
      const got = await model.forward(qTokens, { batch: qB, seq: qS });
      model.dispose();
      expect(relError(got, qParity.f32("expected.logits"), qm.head.vocab, qS).err, target).toBeLessThan(1e-5);
    }
    if (!hasQ8) return;
    const q8 = await loadWeightStore(qm, `${DIR}/${arch}-Q8_0.gguf`, {});
    const own = convertStore(inferenceGraph(qm), f32, "q8");
    let kept = 0;
    for (const [name, w] of q8) {
      if (storageOf(w) !== "q8") continue;
      kept++;
      expect(w, name).toEqual(own.get(name));
    }
    expect(kept).toBeGreaterThan(5);
  });
});

describe("a GGUF file as a checkpoint of its own", () => {
  const body = (text: string) =>
    text
      .split("\n")
      .map((l) => l.replace(/#.*$/, "").trimEnd())
      .filter((l) => l !== "" && !l.startsWith("model "))
      .map((l) => l.replace(/ {2,}/g, " "))
      .join("\n");

  it("`import M.gguf` writes the spec `import DIR` does, from the GGUF metadata", async () => {
    const r = await cli("import", file("Q4_0"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# Imported by `specformer import` from test\/fixtures\/gguf\/llama-Q4_0\.gguf \(GGUF metadata\)\./);
    expect(r.stdout).toMatch(/model llama_q4_0 \{/);
    expect(body(r.stdout)).toBe(body(imported.text));
  });

  it("`run M.gguf --tokens` generates what `run DIR` does; --prompt reads the file's tokenizer", async () => {
    const args = (w: string) => ["run", w, "--tokens", "1,2,3,4", "--max-tokens", "6", "--target", "wasm"];
    const viaGguf = await cli(...args(file("F32")));
    const viaDir = await cli(...args(`${DIR}/llama-hf`));
    expect(viaGguf.code, viaGguf.stderr).toBe(0);
    expect(viaGguf.stdout).toBe(viaDir.stdout);
    // --prompt through the file's own SentencePiece vocabulary (tokenizer.ggml.*; its encoder is
    // checked against llama-tokenizer-js in gguf-tokenizer.test.ts): the same as its ids by --tokens.
    const tok = ggufTokenizer((await readGgufHeader(file("F32"))).metadata, "F32");
    const text = "the cat sat on the mat";
    const ids = Array.from(tok.encodePrompt(text));
    expect(ids[0]).toBe(1);
    const byPrompt = await cli("run", file("F32"), "--prompt", text, "--max-tokens", "6", "--target", "wasm");
    const byIds = await cli("run", file("F32"), "--tokens", ids.join(","), "--max-tokens", "6", "--target", "wasm");
    expect(byPrompt.code, byPrompt.stderr).toBe(0);
    const generated = byIds.stdout.trim().split("\n")[0].split(",").map(Number);
    expect(byPrompt.stdout.startsWith(text + tok.decode(generated))).toBe(true);
  });
});

describe("GGUF errors name the problem", () => {
  it("Phi-3's longrope scaling (rope_factors_long / _short) is refused by name", async () => {
    const h = await readGgufHeader(`${DIR}/phi3-F32.gguf`);
    const t = { name: "rope_factors_long.weight", type: "F32" as const, shape: [4], start: 0, end: 16 };
    const withLongrope = { ...h, tensors: new Map([...h.tensors, [t.name, t]]) };
    expect(() => llamaConfig(withLongrope, "phi3-128k.gguf")).toThrow(/phi3-128k\.gguf: has rope_factors_long \/ rope_factors_short \(Phi-3's longrope scaling\)/);
    expect(llamaConfig(h, "phi3.gguf")).toMatchObject({ architectures: ["Phi3ForCausalLM"], sliding_window: 6 });
  });

  const bytes = readFileSync(file("Q4_0"));
  const store = async (b: Uint8Array, model: ModelInfo = m) => ggufWeightStore(await readGguf(new Uint8Array(b), "M.gguf"), model, inferenceGraph(model));

  it("a truncated file names the first tensor past the end", async () => {
    await expect(store(bytes.subarray(0, bytes.length - 100))).rejects.toThrow(/tensor "output\.weight": its Q4_0 data \(bytes \d+\.\.\d+\) runs past the end of the \d+-byte M\.gguf; the file is truncated/);
    await expect(store(bytes.subarray(0, 200))).rejects.toThrow(/M\.gguf: the GGUF header (cannot be read|\(\d+ tensor infos\) runs past the end of the 200-byte file; the file is truncated)/);
    await expect(store(bytes.subarray(0, 3))).rejects.toThrow(/M\.gguf does not start with the GGUF magic/);
  });

  it("a tensor type specformer cannot hold is named, with the way out", async () => {
    const b = new Uint8Array(bytes);
    const text = new TextDecoder("latin1").decode(b);
    // token_embd.weight's info: name, n_dims (u32), two u64 dims, then the type (u32).
    const at = text.indexOf("token_embd.weight") + "token_embd.weight".length + 4 + 16;
    expect(b[at]).toBe(2);
    b[at] = 16;
    await expect(store(b)).rejects.toThrow(/tensor "token_embd\.weight": is IQ2_XXS; specformer reads GGUF tensors in F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K … Q6_K, IQ4_NL and IQ4_XS \(re-quantise/);
    b[at] = 13;
    await expect(store(b)).rejects.toThrow(/tensor "token_embd\.weight": is Q5_K with 64 elements per row, not a multiple of its blocks of 256/);
  });

  it("another architecture, and a spec of other dims, are refused by name", async () => {
    const b = new Uint8Array(bytes);
    const text = new TextDecoder("latin1").decode(b);
    const at = text.indexOf("llama", text.indexOf("general.architecture"));
    b.set(new TextEncoder().encode("gpt2\0"), at);
    await expect(store(b)).rejects.toThrow(/general\.architecture is "gpt2(\\u0000)?"; specformer maps llama \(Llama, Mistral, TinyLlama\), qwen2 \(Qwen2, Qwen2\.5\), qwen3 \(Qwen3\), phi3 \(Phi-3, Phi-3\.5\), gemma2 \(Gemma 2\) GGUF files/);
    const other = checkSource(imported.text.replace("hidden = 128", "hidden = 96"), "other.sf").entry as ModelInfo;
    expect(other).toBeDefined();
    await expect(store(bytes, other)).rejects.toThrow(/tensor "model\.layers\.0\.mlp\.gate_proj\.weight": expected shape \[96, 64\] for native tensor "\w+\.0\.mlp\.gate\.weight" \[96, 64\], found \[128, 64\]/);
  });

  it("where only safetensors are read (inspect --weights-file, generated modules), a GGUF file is named as one", () => {
    expect(() => parseSafetensors(bytes)).toThrow(/this is a GGUF file \(llama\.cpp's format\), not safetensors: the CLI's run, forward and quantize read GGUF, and so does a generated module's load\(\)/);
  });

  it("a tied spec over a file with an output head is refused, naming the tensor", async () => {
    const tied = checkSource(imported.text.replace(/head linear[^\n]*/, "head tied"), "tied.sf").entry as ModelInfo;
    expect(tied).toBeDefined();
    await expect(store(bytes, tied)).rejects.toThrow(/the GGUF file has "output\.weight", which model \w+ does not read/);
  });
});
