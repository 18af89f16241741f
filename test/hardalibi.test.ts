// Hard-ALiBi positions (Jelassi et al. 2024): `position hard_alibi(local_heads = k, rest = alibi |
// none)`. The checker's rules (SF0243, SF0213), the IR's per-head windows and ALiBi slopes, NoPE
// (`position none`) under causal attention, and the reference backend against an independent
// PyTorch model written from the paper's definition (scripts/make-copy-fixtures.py): logits of
// a forward and of begin/step decoding in uneven chunks on every target (Wasm in relaxed and
// plain SIMD, WebGPU in both kernel sets), and every parameter's gradient of the cross-entropy.
import { readFileSync } from "node:fs";
import v8 from "node:v8";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { createModel } from "../backends/registry.ts";
import { createWasmModel } from "../backends/wasm/backend.ts";
import { isCpuAdapter } from "../backends/wgsl/device.ts";
import { createWebGpuModel } from "../backends/wgsl/backend.ts";
import { headSlopes, alibiSlopes } from "../backends/reference/kernels/position.ts";
import { checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { printGraph } from "../src/ir/print.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import { parseSafetensors, writeSafetensors, type SafetensorsFile } from "../src/runtime/safetensors.ts";
import { differentiate } from "../src/train/autodiff.ts";
import { bindBatch } from "../src/train/data.ts";
import { TrainingEngine } from "../src/train/engine.ts";
import { trainingGraph } from "../src/train/graph.ts";
import type { Model } from "../src/runtime/model-api.ts";
import { decodeInChunks, unevenChunks } from "./helpers/conformance.ts";
import { gpuDevice } from "./helpers/gpu.ts";

const device = await gpuDevice();
afterAll(() => device?.destroy());
// "webgpu" runs the adapter's own attention kernels (walk on llvmpipe), "webgpu-other" the other set.
const otherAttention = device && isCpuAdapter(device.adapterInfo) ? "tiles" : "walk";
// Wasm: relaxed SIMD (Node 20 keeps it behind a flag) and plain SIMD.
v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const TARGETS: Record<string, (m: ModelInfo, w: Map<string, Float32Array>) => Promise<Model>> = {
  wasm: (m, w) => createModel("wasm", m, w),
  "wasm (plain SIMD)": (m, w) => createWasmModel(m, inferenceGraph(m), w, { relaxed: false }),
  webgpu: (m, w) => createModel("webgpu", m, w, { device: device! }),
  "webgpu (other attention kernels)": (m, w) => createWebGpuModel(m, inferenceGraph(m), w, { device: device!, attention: otherAttention }),
};

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

const spec = (o: { d: number; heads: number; position: string; mask?: string }) => `model hard {
  dims { vocab = 29, d = ${o.d}, heads = ${o.heads}, layers = 2, context = 32 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  ${o.position}
  stack layers × decoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, mask = ${o.mask ?? "causal"}, bias = true)
    norm layer(eps = 1e-5)
    mlp(hidden = 2 * d, act = gelu)
  }
  norm layer(eps = 1e-5)
  head tied
}`;

const FIXTURES = {
  "hardalibi-nope": spec({ d: 32, heads: 4, position: "position hard_alibi(local_heads = 2, rest = none)" }),
  "hardalibi-alibi": spec({ d: 24, heads: 6, position: "position hard_alibi(3)" }),
};

function checked(text: string): ModelInfo {
  const r = checkSource(text, "hard.sf");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.entry || errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("; "));
  return r.entry;
}
const errorCodes = (text: string) => checkSource(text, "bad.sf").diagnostics.filter((d) => d.severity === "error").map((d) => d.code);

/** max |a - b| / max |b|. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / Math.max(scale, 1e-30);
}

function load(name: keyof typeof FIXTURES): { m: ModelInfo; file: SafetensorsFile; weights: Map<string, Float32Array> } {
  const m = checked(FIXTURES[name]);
  const file = parseSafetensors(readFileSync(root(`test/fixtures/${name}.safetensors`)));
  const keep = [...file.tensors.values()].filter((t) => !/^(input|expected|grad)\./.test(t.name));
  const weights = bindWeights(m, parseSafetensors(writeSafetensors(keep.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: file.raw(t.name) })))));
  return { m, file, weights };
}

describe("checker and IR", () => {
  it("gives local heads windows 1..k and the other heads ALiBi slopes of their own count", () => {
    const g = inferenceGraph(checked(FIXTURES["hardalibi-alibi"]));
    const attn = g.nodes.filter((n) => n.op === "attention");
    expect(attn).toHaveLength(2);
    for (const n of attn) expect(n).toMatchObject({ alibi: true, headWindows: [1, 2, 3, 0, 0, 0] });
    expect(printGraph(g)).toContain("alibi head_windows=[1,2,3,0,0,0]");
    const slopes = headSlopes(6, true, [1, 2, 3, 0, 0, 0])!;
    expect([...slopes.subarray(0, 3)]).toEqual([0, 0, 0]);
    expect([...slopes.subarray(3)]).toEqual([...alibiSlopes(3)]);
  });

  it("rest = none has no slopes; position none is NoPE under causal attention", () => {
    const g = inferenceGraph(checked(FIXTURES["hardalibi-nope"]));
    for (const n of g.nodes) if (n.op === "attention") expect(n).toMatchObject({ alibi: false, headWindows: [1, 2, 0, 0] });
    const nope = inferenceGraph(checked(spec({ d: 32, heads: 4, position: "position none" })));
    expect(nope.nodes.some((n) => n.op === "add_position")).toBe(false);
    for (const n of nope.nodes) if (n.op === "attention") expect(n).toMatchObject({ causal: true, alibi: false });
    expect(nope.nodes.find((n) => n.op === "attention")).not.toHaveProperty("rope");
  });

  it.each([
    ["more local heads than heads", spec({ d: 32, heads: 4, position: "position hard_alibi(local_heads = 5)" }), "SF0243"],
    ["bidirectional attention", spec({ d: 32, heads: 4, position: "position hard_alibi(local_heads = 2)", mask: "none" }), "SF0243"],
    ["an unknown rest", spec({ d: 32, heads: 4, position: "position hard_alibi(local_heads = 2, rest = rope)" }), "SF0113"],
    ["no local_heads", spec({ d: 32, heads: 4, position: "position hard_alibi()" }), "SF0110"],
    ["local_heads = 0", spec({ d: 32, heads: 4, position: "position hard_alibi(local_heads = 0)" }), "SF0202"],
  ])("%s is an error", (_what, text, code) => {
    expect(errorCodes(text)).toEqual([code]);
  });

  it("linear attention refuses Hard-ALiBi (SF0213)", () => {
    expect(errorCodes(spec({ d: 32, heads: 4, position: "position hard_alibi(local_heads = 2)" }).replace("bias = true)", "bias = true, kind = linear)"))).toEqual(["SF0213"]);
  });
});

describe.each(Object.keys(FIXTURES) as Array<keyof typeof FIXTURES>)("%s against PyTorch", (name) => {
  const { m, file, weights } = load(name);
  const [batch, seq] = file.get("input.tokens").shape;
  const tokens = file.i32("input.tokens");
  const expected = file.f32("expected.logits");

  it("forward and begin/step logits on the reference backend", async () => {
    const model = createReferenceModel(m, inferenceGraph(m), weights);
    const fwd = await model.forward(tokens, { batch, seq });
    const e1 = relError(fwd, expected);
    const step = await decodeInChunks(model, { tokens, opts: { batch, seq }, padded: false }, unevenChunks(seq));
    const e2 = relError(step, expected);
    console.log(`${name}: reference forward ${e1.toExponential(1)}, begin/step ${e2.toExponential(1)} (relative to max |logit|)`);
    expect(e1).toBeLessThan(1e-5);
    expect(e2).toBeLessThan(1e-5);
    // The windows matter: the same weights without them miss the answer.
    const plain = checked(FIXTURES[name].replace(/position hard_alibi\([^)]*\)/, "position none"));
    const off = await createReferenceModel(plain, inferenceGraph(plain), weights).forward(tokens, { batch, seq });
    expect(relError(off, expected)).toBeGreaterThan(1e-2);
  });

  it.each(Object.keys(TARGETS))("forward and begin/step logits on %s", async (target) => {
    if (target.startsWith("webgpu") && !device) return;
    const model = await TARGETS[target](m, weights);
    try {
      const e1 = relError(await model.forward(tokens, { batch, seq }), expected);
      const e2 = relError(await decodeInChunks(model, { tokens, opts: { batch, seq }, padded: false }, unevenChunks(seq)), expected);
      console.log(`${name}: ${target} forward ${e1.toExponential(1)}, begin/step ${e2.toExponential(1)} (relative to max |logit|)`);
      expect(e1, `${target} forward`).toBeLessThan(1e-4);
      expect(e2, `${target} begin/step`).toBeLessThan(1e-4);
    } finally {
      model.dispose();
    }
  });

  it("loss and every parameter's gradient in the training engine", async () => {
    const engine = new TrainingEngine(differentiate(trainingGraph(m, { dropout: 0 })));
    const targets = file.i32("input.targets").map((t) => (t < 0 ? -1 : t));
    const b = bindBatch(m, new Map([["tokens", { data: tokens, shape: [batch, seq] }]]), targets);
    const r = await engine.lossAndGrads(weights, b, { train: false, smoothing: 0 });
    expect(Math.abs(r.loss - file.f32("expected.loss")[0]) / file.f32("expected.loss")[0]).toBeLessThan(1e-6);
    const grads = bindWeights(m, parseSafetensors(writeSafetensors([...file.tensors.values()].filter((t) => t.name.startsWith("grad.")).map((t) => ({ name: t.name.slice(5), dtype: t.dtype, shape: t.shape, data: file.raw(t.name) })))));
    let worst = 0;
    for (const [n, g] of grads) {
      // Key biases shift every score of a row alike, so softmax cancels them: their gradient is 0
      // and PyTorch's is float32 noise (~1e-9); they are held to that absolute scale instead.
      if (n.endsWith("attn.k.bias")) {
        expect(Math.max(...r.grads.get(n)!.map(Math.abs)), n).toBeLessThan(1e-6);
        continue;
      }
      worst = Math.max(worst, relError(r.grads.get(n)!, g));
    }
    console.log(`${name}: worst gradient error ${worst.toExponential(1)} of its tensor's scale`);
    expect(worst).toBeLessThan(1e-4);
  });
});
