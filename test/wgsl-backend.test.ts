// The WebGPU backend's own cases: KV-cache growth, input errors, device limits, and clean shader
// compilation in every kernel variant. Forwards, padded batches, incremental decoding, greedy
// generation and the bidirectional refusal, in both kernel sets, are in test/conformance.test.ts,
// for every spec of its corpus. Tiny dims throughout: on CI the "GPU" is llvmpipe on two CPU cores.

import { afterAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../src/runtime/sample.ts";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { compileWgsl } from "../backends/wgsl/compile.ts";
import { createWebGpuModel } from "../backends/wgsl/backend.ts";
import { limitsOf } from "../backends/wgsl/plan.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { ModelInputError, type ForwardOptions, type Model } from "../src/runtime/model-api.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { gpuDevice } from "./helpers/gpu.ts";

const device = await gpuDevice();
afterAll(() => device?.destroy());

const DECODER = (o: { name: string; dims: string; pos: string; attn: string; mlp: string; norm: string; head: string; context?: boolean }) => `
model ${o.name} {
  dims { vocab = 101, d = 32, heads = 4, layers = 2, context = 16${o.dims} }
  input tokens: int[batch, seq]${o.context === false ? "" : " where seq <= context"}
  embed tokens(vocab, d)
  ${o.pos}
  stack layers × decoder {
    ${o.norm}
    attention self(${o.attn})
    ${o.norm}
    mlp(${o.mlp})
  }
  ${o.norm}
  head ${o.head}
}`;

const SPECS: Record<string, string> = {
  gpt: DECODER({ name: "t_gpt", dims: "", pos: "position learned(context)", attn: "heads = heads, mask = causal, bias = true", mlp: "hidden = 4 * d, act = gelu_tanh", norm: "norm layer(eps = 1e-5)", head: "tied" }),
  // Left padding (batch 2, row 2 starts with pads) through a causal decoder: decoding keeps a mask history.
  gpt_pad: `
model t_gpt_pad {
  dims { vocab = 101, d = 32, heads = 2, layers = 2, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  position learned(context)
  stack layers × decoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, mask = causal, padding = mask, bias = true)
    norm layer(eps = 1e-5)
    mlp(hidden = 64, act = gelu)
  }
  norm layer(eps = 1e-5)
  head tied
}`,
  llama: `
model t_llama {
  dims { vocab = 97, d = 48, heads = 4, kv_heads = 2, layers = 2, hidden = 88, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position rope(base = 10000)
  stack layers × decoder {
    norm rms(eps = 1e-5)
    attention self(heads = heads, kv_heads = kv_heads, mask = causal)
    norm rms(eps = 1e-5)
    mlp(hidden = hidden, act = swiglu, bias = false)
  }
  norm rms(eps = 1e-5)
  head linear
}`,
  window: DECODER({ name: "t_window", dims: ", kv_heads = 1, window = 4", pos: "position rope(base = 500, fraction = 0.5)", attn: "heads = heads, kv_heads = kv_heads, mask = causal, window = window", mlp: "hidden = 64, act = geglu", norm: "norm rms(eps = 1e-5)", head: "linear" }),
  linear: DECODER({ name: "t_linear", dims: "", pos: "position sinusoidal", attn: "heads = heads, mask = causal, kind = linear, feature_map = elu1, bias = true", mlp: "hidden = 64, act = gelu", norm: "norm layer(eps = 1e-5)", head: "tied" }),
  alibi: `
model t_alibi {
  dims { vocab = 89, d = 40, heads = 5, layers = 2, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position alibi
  norm layer(eps = 1e-5)
  stack layers × decoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, mask = causal, bias = true)
    norm layer(eps = 1e-5)
    mlp(hidden = 4 * d, act = silu)
  }
  norm layer(eps = 1e-5)
  head tied
}`,
  strided: DECODER({ name: "t_strided", dims: "", pos: "position learned(context)", attn: "heads = heads, mask = causal, bias = true, sparse = strided(4)", mlp: "hidden = 64, act = relu", norm: "norm layer(eps = 1e-5)", head: "tied" }),
  sparse: `
model t_sparse {
  dims { vocab = 101, d = 32, heads = 4, ff = 64, layers = 2, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  position learned(context)
  norm layer(eps = 1e-12)
  stack layers × encoder(norm = post) {
    attention self(heads = heads, padding = mask, bias = true, sparse = block(size = 4, local = 1, global = 1))
    norm layer(eps = 1e-12)
    mlp(hidden = ff, act = gelu)
    norm layer(eps = 1e-12)
  }
  head tied(bias = true)
}`,
  bert: `
model t_bert {
  dims { vocab = 101, d = 32, heads = 4, layers = 2, ff = 64, context = 16, segments = 2 }
  input tokens: int[batch, seq] where seq <= context
  input types: int[batch, seq]
  input mask: bool[batch, seq]
  embed tokens(vocab, d)
  embed types(segments, d)
  position learned(context)
  norm layer(eps = 1e-12)
  stack layers × encoder(norm = post) {
    attention self(heads = heads, padding = mask, bias = true)
    norm layer(eps = 1e-12)
    mlp(hidden = ff, act = gelu)
    norm layer(eps = 1e-12)
  }
  head tied(bias = true, transform = gelu, eps = 1e-12)
}`,
  // The shipped nn.Transformer fixture spec, with this file's context bound.
  encdec: `
import "specs/tiny-torch-transformer.sf"
model t_encdec extends tiny_torch_transformer { dims { context = 16 } }`,
};

function check(spec: string): ModelInfo {
  const r = checkSource(spec, "inline.sf");
  if (!r.entry) throw new Error(`spec does not check:\n${r.diagnostics.map((d) => d.message).join("\n")}`);
  return r.entry;
}

interface Pair {
  m: ModelInfo;
  gpu: Model;
  ref: Model;
}

const pairs = new Map<string, Promise<Pair>>();
/** Both backends of a spec, built once per file. */
function models(name: string, spec = SPECS[name], opts: Parameters<typeof createWebGpuModel>[3] = {}): Promise<Pair> {
  let p = pairs.get(name);
  if (!p) {
    p = (async () => {
      const m = check(spec);
      const g = inferenceGraph(m);
      const w = randomWeights(m, 7);
      return { m, ref: createReferenceModel(m, g, w), gpu: await createWebGpuModel(m, g, w, { device: device!, ...opts }) };
    })();
    pairs.set(name, p);
  }
  return p;
}
afterAll(async () => {
  for (const p of pairs.values()) (await p.catch(() => undefined))?.gpu.dispose();
});

function tokens(n: number, vocab: number, seed: number): Int32Array {
  const rng = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rng() * vocab));
}

/** max |a - b| ≤ 1e-4 × max(1, max |b|). */
function expectClose(a: Float32Array, b: Float32Array, what = ""): void {
  expect(a.length, what).toBe(b.length);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
    if (Number.isNaN(a[i])) throw new Error(`${what}: NaN at ${i}`);
  }
  expect(diff, `${what}: max |diff| ${diff} against scale ${scale}`).toBeLessThanOrEqual(1e-4 * scale);
}

/** Batch 2, the second row padded at the end where the model has a padding input. */
function request(m: ModelInfo, seq: number, seed: number): { tokens: Int32Array; opts: ForwardOptions } {
  const vocab = m.head.vocab;
  const opts: ForwardOptions = { batch: 2, seq };
  const names = new Set(m.inputs.map((i) => i.name));
  const padded = (n: number, keep: number) => Uint8Array.from({ length: 2 * n }, (_, i) => (i < n || i - n < keep ? 1 : 0));
  // Encoders pad at the end; a causal decoder on the left (a padded first key leaves nothing to see).
  if (names.has("mask")) opts.mask = m.name === "t_gpt_pad" ? Uint8Array.from({ length: 2 * seq }, (_, i) => (i < seq || i - seq >= 3 ? 1 : 0)) : padded(seq, seq - 5);
  if (names.has("types")) opts.inputs = { types: Int32Array.from({ length: 2 * seq }, (_, i) => (i % seq >= seq / 2 ? 1 : 0)) };
  if (names.has("src_tokens")) opts.src = { tokens: tokens(2 * 11, 61, seed + 1), seq: 11, mask: padded(11, 7) };
  return { tokens: tokens(2 * seq, vocab, seed), opts };
}

describe.skipIf(!device)("WebGPU backend", () => {
  describe("incremental decoding", () => {
    it("grows the KV cache past its first capacity (no context bound)", async () => {
      const spec = DECODER({ name: "t_unbounded", dims: "", pos: "position rope(base = 10000)", attn: "heads = heads, mask = causal", mlp: "hidden = 64, act = swiglu", norm: "norm rms(eps = 1e-5)", head: "linear", context: false });
      const { gpu, ref } = await models("unbounded", spec);
      const seq = 70;
      const t = tokens(seq, 101, 9);
      const full = await ref.forward(t, { batch: 1, seq });
      const state = await gpu.begin({ batch: 1 });
      expectClose(await gpu.step(state, t.subarray(0, 62), 62), full.subarray(0, 62 * 101), "prompt");
      for (let i = 62; i < seq; i++) expectClose(await gpu.step(state, t.subarray(i, i + 1), 1), full.subarray(i * 101, (i + 1) * 101), `token ${i}`);
      state.dispose();
    });
  });

  describe("input errors", () => {
    it("rejects bad tokens, lengths and foreign states with ModelInputError", async () => {
      const { gpu } = await models("gpt");
      await expect(gpu.forward(Int32Array.of(1, 101), { batch: 1, seq: 2 })).rejects.toThrow(ModelInputError);
      await expect(gpu.forward(Int32Array.of(-1, 3), { batch: 1, seq: 2 })).rejects.toThrow(/outside the vocabulary/);
      await expect(gpu.forward(Int32Array.of(1, 2, 3), { batch: 1, seq: 2 })).rejects.toThrow(ModelInputError);
      await expect(gpu.forward(new Int32Array(17), { batch: 1, seq: 17 })).rejects.toThrow(/context bound/);
      const other = await models("llama");
      const state = await other.gpu.begin({ batch: 1 });
      await expect(gpu.step(state, Int32Array.of(1), 1)).rejects.toThrow(ModelInputError);
      state.dispose();
      await expect(other.gpu.step(state, Int32Array.of(1), 1)).rejects.toThrow(/disposed/);
      // The model still works after rejected calls.
      const { tokens: t, opts } = request((await models("gpt")).m, 3, 4);
      expect((await gpu.forward(t, opts)).length).toBe(2 * 3 * 101);
    });
  });

  describe("device limits", () => {
    it("splits weights larger than a binding across buffers", async () => {
      const limits = { maxStorageBufferBindingSize: 4096 };
      const { m, gpu, ref } = await models("split", SPECS.llama, { limits });
      const c = compileWgsl(m, inferenceGraph(m), { ...limitsOf(device!), ...limits });
      expect(c.plan.buffers.filter((b) => b.name.startsWith("embed.tokens.weight[")).length).toBeGreaterThan(1);
      const t = tokens(4, 97, 3);
      expectClose(await gpu.forward(t, { batch: 1, seq: 4 }), await ref.forward(t, { batch: 1, seq: 4 }), "split weights");
      // Activations cannot be split: a call that needs a bigger one fails, naming the limit.
      await expect(gpu.forward(tokens(32, 97, 3), { batch: 2, seq: 16 })).rejects.toThrow(/logits needs .* maxStorageBufferBindingSize/);
      // ... and leaves the model as it was: a call between the two sizes still runs right.
      const t8 = tokens(8, 97, 4);
      expectClose(await gpu.forward(t8, { batch: 1, seq: 8 }), await ref.forward(t8, { batch: 1, seq: 8 }), "after a refused call");
    });
  });

  describe("shaders", () => {
    it("every shader of every model compiles without a message", async () => {
      const limits = limitsOf(device!);
      for (const [name, spec] of Object.entries(SPECS)) {
        const m = check(spec);
        const { shaders } = compileWgsl(m, inferenceGraph(m), limits);
        for (const opts of [{ matmul: "naive" }, { matmul: "tiled" }, { matmul: "register", attention: "walk" }] as const) {
          Object.assign(shaders, compileWgsl(m, inferenceGraph(m), limits, opts).shaders);
        }
        for (const [k, code] of Object.entries(shaders)) {
          const info = await device!.createShaderModule({ code }).getCompilationInfo();
          expect(info.messages.map((x) => `${name}/${k} ${x.type} ${x.lineNum}: ${x.message}`)).toEqual([]);
        }
      }
    });
  });
});

// Build-time checks: no device needed.
describe("compileWgsl", () => {
    it("names the tensor, its size and the limit when a model cannot fit", () => {
      const m = check(SPECS.gpt);
      expect(() => compileWgsl(m, inferenceGraph(m), { maxStorageBufferBindingSize: 1024 })).toThrow(/position\.weight \(2\.0 KiB\) exceeds the device's binding limit \(maxStorageBufferBindingSize 1\.0 KiB/);
      expect(() => compileWgsl(m, inferenceGraph(m), { maxStorageBuffersPerShaderStage: 2 })).toThrow(/storage buffers, the device allows 2/);
    });

    it("plans are JSON and shaders carry no names from the spec", () => {
      const spec = SPECS.llama.replaceAll("t_llama", "zq_secret")
        .replace("kv_heads = 2", "zq_kv = 2")
        .replace("kv_heads = kv_heads", "kv_heads = zq_kv")
        .replace("× decoder", "× zq_blocks")
        .replaceAll("tokens", "zq_tokens");
      const m = check(spec);
      const { shaders, plan } = compileWgsl(m, inferenceGraph(m));
      expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
      for (const [k, code] of Object.entries(shaders)) {
        expect(k).toMatch(/^[a-z_]+_\d+$/);
        expect(code).not.toMatch(/zq_|attn|mlp/);
      }
    });
});
