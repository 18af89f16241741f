// Units of the training slice: the training forward reproduces inference, the schedules'
// formulas, label smoothing, seeded dropout, where train(dropout) puts its nodes, the decay
// groups and clipping.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createReferenceModel } from "../backends/reference/backend.ts";
import { checkFile, checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { applyNameMap } from "../src/runtime/name-maps.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { differentiate, verifyBackward } from "../src/train/autodiff.ts";
import { bindBatch } from "../src/train/data.ts";
import { TrainingEngine } from "../src/train/engine.ts";
import { float32Gradients } from "../src/train/engine-nodes.ts";
import { trainingGraph } from "../src/train/graph.ts";
import { crossEntropy } from "../src/train/loss.ts";
import { adamState, adamStep, clipGradNorm, decays } from "../src/train/optim.ts";
import { learningRate, type Schedule } from "../src/train/schedule.ts";

describe("training forward", () => {
  it("gives the reference backend's inference logits (tiny-llama fixture)", async () => {
    const m = checkFile("specs/tiny-llama.sf").entry!;
    const f = parseSafetensors(readFileSync("test/fixtures/tiny-llama.safetensors"));
    const w = applyNameMap("llama", f, m);
    const tokens = f.i32("input.tokens");
    const model = createReferenceModel(m, inferenceGraph(m), w);
    const want = await model.forward(tokens, { batch: 2, seq: 16 });
    model.dispose();
    const engine = new TrainingEngine(differentiate(trainingGraph(m)));
    const batch = bindBatch(m, new Map([["tokens", { data: tokens, shape: [2, 16] }]]), new Int32Array(32));
    const got = (await engine.forward(w, batch, { train: true })).logits;
    let err = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
    expect(err / scale).toBeLessThan(1e-5);
  });

  it("keeps only what the rules read on the tape, and never an n×n score matrix", () => {
    const m = checkFile("specs/tiny-window.sf").entry!;
    const p = differentiate(trainingGraph(m));
    verifyBackward(p);
    const g = p.forward;
    // The IR has no [.., seq, seq] value, and the attention rules keep none beside the tape.
    for (const id of p.tape) {
      const s = g.values[id].shape;
      expect(s.filter((d) => d === "seq").length, g.values[id].name).toBeLessThanOrEqual(1);
    }
    expect(p.steps.length).toBeGreaterThan(10);
    expect(p.params.size).toBe(weightLayout(m).length);
  });
});

describe("schedules", () => {
  const base: Schedule = { kind: "noam", lr: 1, warmup: 4000, steps: 100000, d: 512, minRatio: 0.1 };
  it("noam: d^-0.5 · min(t^-0.5, t · warmup^-1.5), peak at the end of warm-up", () => {
    expect(learningRate(base, 1)).toBeCloseTo(512 ** -0.5 * 4000 ** -1.5, 15);
    expect(learningRate(base, 4000)).toBeCloseTo(512 ** -0.5 * 4000 ** -0.5, 12);
    expect(learningRate(base, 16000)).toBeCloseTo(512 ** -0.5 * 16000 ** -0.5, 12);
    expect(learningRate(base, 3999)).toBeLessThan(learningRate(base, 4000));
    expect(learningRate(base, 4001)).toBeLessThan(learningRate(base, 4000));
  });
  it("cosine: linear warm-up, then a half cosine to minRatio · lr; constant", () => {
    const c: Schedule = { ...base, kind: "cosine", lr: 3e-3, warmup: 100, steps: 2000 };
    expect(learningRate(c, 50)).toBeCloseTo(1.5e-3, 12);
    expect(learningRate(c, 100)).toBeCloseTo(3e-3, 12);
    expect(learningRate(c, 101)).toBeCloseTo(3e-3, 12);
    expect(learningRate(c, 2001)).toBeCloseTo(3e-4, 12);
    expect(learningRate({ ...c, kind: "constant", warmup: 0 }, 7)).toBe(3e-3);
    expect(() => learningRate(c, 0)).toThrow(/start at step 1/);
  });
});

describe("loss, dropout, optimiser", () => {
  it("label smoothing: (1 - ε)·NLL + ε·mean(-log p); gradient rows sum to 0; ignored rows count for nothing", () => {
    const logits = [2, -1, 0.5, 0, 3, 1];
    const r = crossEntropy(logits, Int32Array.from([0, -1]), 3, 0.2);
    const lse = Math.log(Math.exp(2) + Math.exp(-1) + Math.exp(0.5));
    expect(r.loss).toBeCloseTo(0.8 * (lse - 2) + 0.2 * (lse - (2 - 1 + 0.5) / 3), 12);
    expect(r.count).toBe(1);
    expect(r.dLogits[0] + r.dLogits[1] + r.dLogits[2]).toBeCloseTo(0, 14);
    expect([...r.dLogits.slice(3)]).toEqual([0, 0, 0]);
  });

  it("train(dropout) adds residual and embedding dropout; masks are seeded by (seed, step) and off in evaluation", async () => {
    const m = checkSource(
      `model d { dims { vocab = 11, d = 8, heads = 2, layers = 2, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  train(dropout = 0.25)
  embed tokens(vocab, d)
  position learned(context)
  stack layers × decoder { norm layer(eps = 1e-5) attention self(heads = heads, mask = causal) norm layer(eps = 1e-5) mlp(hidden = 16, act = relu, dropout = 0.5) }
  norm layer(eps = 1e-5)
  head tied }`,
      "d.sf",
    ).entry!;
    const g = trainingGraph(m);
    const drops = g.nodes.filter((n) => n.op === "dropout");
    // 2 layers × 2 sublayers + the embedding sum; the MLPs keep their own 0.5.
    expect(drops.map((n) => (n.op === "dropout" ? n.p : 0))).toEqual([0.25, 0.25, 0.5, 0.25, 0.5]);
    expect(trainingGraph(m, { dropout: 0 }).nodes.some((n) => n.op === "dropout")).toBe(false);
    const engine = new TrainingEngine(differentiate(g));
    const w = new Map(weightLayout(m).map((t) => [t.name, Float32Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + t.name.length))]));
    const batch = bindBatch(m, new Map([["tokens", { data: Int32Array.from({ length: 32 }, (_, i) => i % 11), shape: [2, 16] }]]), new Int32Array(32));
    const a = await engine.forward(w, batch, { train: true, seed: 1, step: 5 });
    const b = await engine.forward(w, batch, { train: true, seed: 1, step: 5 });
    const c = await engine.forward(w, batch, { train: true, seed: 1, step: 6 });
    const e = await engine.forward(w, batch, { train: false });
    expect([...a.logits]).toEqual([...b.logits]);
    expect([...a.logits]).not.toEqual([...c.logits]);
    const mask = a.masks.get(drops[0].out)!;
    const kept = mask.reduce((s, x) => s + x, 0) / mask.length;
    expect(kept).toBeGreaterThan(0.6);
    expect(kept).toBeLessThan(0.9);
    expect(e.masks.size).toBe(0);
  });

  it("AdamW: decay on matrices only; PyTorch's bias-corrected step; clipping by global norm", () => {
    expect(decays([4, 4])).toBe(true);
    expect(decays([4])).toBe(false);
    const params = new Map([["w", Float32Array.from([1, -2])], ["b", Float32Array.from([0.5])]]);
    const shapes = new Map([["w", [1, 2]], ["b", [1]]]);
    const st = adamState(params);
    const grads = new Map([["w", Float64Array.from([0.3, -0.4])], ["b", Float64Array.from([0.1])]]);
    expect(clipGradNorm(grads.values(), 0.25)).toBeCloseTo(Math.sqrt(0.26), 12);
    const n = Math.hypot(...grads.get("w")!, ...grads.get("b")!);
    expect(n).toBeCloseTo(0.25, 5);
    adamStep(params, grads, st, shapes, 0.1, { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.5, decoupled: true });
    // Step 1: m̂/√v̂ = sign(g); decay 1 - lr·wd on w only.
    expect(params.get("w")![0]).toBeCloseTo(1 * 0.95 - 0.1, 6);
    expect(params.get("w")![1]).toBeCloseTo(-2 * 0.95 + 0.1, 6);
    expect(params.get("b")![0]).toBeCloseTo(0.5 - 0.1, 6);
    expect(st.step).toBe(1);
  });
});

describe("float32 gradients on float32 targets", () => {
  it("are the MLP hidden values and attention outputs, each written once by a linear's dx, never a parameter", () => {
    const names = (spec: string) => {
      const p = differentiate(trainingGraph(checkFile(spec).entry!, { dropout: 0 }));
      const params = new Set(p.params.values());
      const ids = [...float32Gradients(p)];
      expect(ids.filter((id) => params.has(id))).toEqual([]);
      return ids.map((id) => p.forward.values[id].name).sort();
    };
    expect(names("specs/tiny-gpt2.sf")).toEqual(["decoder.0.attn.scores", "decoder.0.mlp.act", "decoder.1.attn.scores", "decoder.1.mlp.act"]);
    // SwiGLU's fused gate epilogue too; cross-attention's output as self-attention's.
    expect(names("specs/tiny-llama.sf")).toEqual(["decoder.0.attn.scores", "decoder.0.mlp.act", "decoder.1.attn.scores", "decoder.1.mlp.act"]);
    expect(names("specs/tiny-torch-transformer.sf").filter((n) => n.includes("layer.0"))).toEqual(["decoder.decoder_layer.0.attn.scores", "decoder.decoder_layer.0.cross_attn.scores", "decoder.decoder_layer.0.mlp.act", "encoder.encoder_layer.0.attn.scores", "encoder.encoder_layer.0.mlp.act"]);
  });
});
