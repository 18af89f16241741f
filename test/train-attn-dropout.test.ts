// Attention-weight dropout in training: `attention(dropout = p)` drops the softmax weights
// (p_ij ← p_ij · m_ij / (1 − p), torch.nn.MultiheadAttention's dropout) as well as the sublayer's
// output; the masks are a function of (seed, step, node, b, h, i, j) that the backward recomputes.
//   - parity with PyTorch autograd, float64 (test/fixtures/train-attn-dropout.safetensors from
//     scripts/make-attn-dropout-fixtures.py, which shares only a port of hash32): the loss at two
//     steps and in evaluation within 1e-9 relative, every gradient within 1e-10 of its tensor's
//     scale (the key biases, zero by symmetry, at PyTorch's float64 noise: within 1e-7 of 1e-9 ×
//     the largest gradient);
//     on the wasm target (float32 matmuls; attention falls back to the reference kernel when it
//     drops weights) the loss within 1e-6 and the gradients within 1e-5;
//   - the kernel's masks: they are what hash32 says, differ between steps, and the backward uses
//     the forward's (finite differences of the kernel, and a backward given another step's masks
//     failing them);
//   - finite differences of a whole encoder–decoder (self and cross attention with padding, GQA);
//   - where the rate lives: on the training graph's softmax attention only, never at inference,
//     off with --dropout 0 and in evaluation.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { attentionBackward, attentionForward, type TrainAttentionOptions } from "../backends/reference/backward/index.ts";
import type { AttentionDims } from "../backends/reference/kernels/shape.ts";
import { wasmAttentionCovers, WasmTrainKernels } from "../backends/wasm/train/kernels.ts";
import { checkFile, checkSource } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { Graph } from "../src/ir/ir.ts";
import { printGraph } from "../src/ir/print.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { differentiate } from "../src/train/autodiff.ts";
import { bindBatch } from "../src/train/data.ts";
import { TrainingEngine } from "../src/train/engine.ts";
import { trainingGraph } from "../src/train/graph.ts";
import { hash32, normals, streamRng } from "../src/train/rng.ts";
import { directionalErrors } from "./helpers/gradcheck.ts";
import { maxRelError } from "./helpers/rel-error.ts";

const SPEC = "test/fixtures/train-attn-dropout.sf";
const FIXTURE = "test/fixtures/train-attn-dropout.safetensors";

function spec(text: string): ModelInfo {
  const r = checkSource(text, "attn-dropout.sf");
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.entry || errors.length) throw new Error(errors.map((d) => d.message).join("; "));
  return r.entry;
}

const attentionRates = (g: Graph): Array<number | undefined> => g.nodes.flatMap((n) => (n.op === "attention" ? [n.dropout] : []));

describe("attention-weight dropout: parity with PyTorch autograd (float64)", () => {
  const m = checkFile(SPEC).entry!;
  const file = parseSafetensors(readFileSync(FIXTURE));
  const f64 = (name: string) => new Float64Array(file.raw(name).slice().buffer);
  const i64 = (name: string) => Int32Array.from(file.i64(name), Number);
  const seed = Number(file.metadata.seed);
  const step = Number(file.metadata.step);
  const g = trainingGraph(m);

  it("the fixture's hash32 port and node ids are specformer's", () => {
    const samples: number[][] = JSON.parse(file.metadata.hash32_samples!);
    expect(samples.map((s) => hash32(...s))).toEqual([...i64("check.hash32")].map((x) => x >>> 0));
    const nodes: Record<string, number> = JSON.parse(file.metadata.nodes!);
    const ids = Object.fromEntries(Object.keys(nodes).map((name) => [name, g.values.findIndex((v) => v.name === name)]));
    expect(ids, "update NODES in scripts/make-attn-dropout-fixtures.py and regenerate").toEqual(nodes);
    expect(attentionRates(g)).toEqual([0.2, 0.2]);
  });

  it("loss (two steps, evaluation) and every gradient", async () => {
    const params = new Map(weightLayout(m).map((t) => [t.name, f64(`weight.${t.name}`)]));
    const tokens = file.get("input.tokens");
    const batch = bindBatch(m, new Map([["tokens", { data: i64("input.tokens"), shape: tokens.shape }]]), i64("input.targets").map((t) => (t < 0 ? -1 : t)));
    const engine = new TrainingEngine(differentiate(g));
    const o = { train: true, seed, step, smoothing: 0.1 };
    const r = await engine.lossAndGrads(params, batch, o);
    const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);
    const lossOf = async (x: { train: boolean; step?: number }) => engine.loss(await engine.forward(params, batch, { seed, ...x }), batch, 0.1, false).loss;
    const errs = {
      loss: rel(r.loss, f64("expected.loss")[0]),
      next: rel(await lossOf({ train: true, step: step + 1 }), f64("expected.loss_next")[0]),
      eval: rel(await lossOf({ train: false }), f64("expected.eval_loss")[0]),
    };
    const globalScale = Math.max(...weightLayout(m).flatMap((t) => [...f64(`grad.${t.name}`)].map(Math.abs)));
    // The key biases' exact gradient is 0 (softmax is shift-invariant, dropout or not): measured against 1e-9 of the largest gradient.
    const worst = weightLayout(m)
      .map((t): [string, number] => [t.name, maxRelError(r.grads.get(t.name)!, f64(`grad.${t.name}`), 1e-9 * globalScale)])
      .sort((a, b) => b[1] - a[1]);
    const proper = worst.find(([name]) => !name.endsWith(".k.bias"))!;
    console.log(`attn dropout parity: loss ${errs.loss.toExponential(2)}, step+1 ${errs.next.toExponential(2)}, eval ${errs.eval.toExponential(2)}; worst gradient ${worst[0][1].toExponential(2)} (${worst[0][0]}), ${proper[1].toExponential(2)} (${proper[0]}) past the key biases, over ${worst.length} tensors`);
    expect(errs.loss).toBeLessThan(1e-9);
    expect(errs.next).toBeLessThan(1e-9);
    expect(errs.eval).toBeLessThan(1e-9);
    expect(worst[0][1], `worst: ${worst[0][0]}`).toBeLessThan(1e-7);
    expect(proper[1], `worst: ${proper[0]}`).toBeLessThan(1e-10);
    // The three losses are three different functions: the masks matter and change with the step.
    expect(Math.abs(f64("expected.loss")[0] - f64("expected.loss_next")[0])).toBeGreaterThan(1e-3);
  });

  it("the wasm target: the same loss and gradients (float32 matmuls)", async () => {
    const params = new Map(weightLayout(m).map((t) => [t.name, Float32Array.from(f64(`weight.${t.name}`))]));
    const tokens = file.get("input.tokens");
    const batch = bindBatch(m, new Map([["tokens", { data: i64("input.tokens"), shape: tokens.shape }]]), i64("input.targets").map((t) => (t < 0 ? -1 : t)));
    const r = await new TrainingEngine(differentiate(g), new WasmTrainKernels()).lossAndGrads(params, batch, { train: true, seed, step, smoothing: 0.1 });
    const want = f64("expected.loss")[0];
    const globalScale = Math.max(...weightLayout(m).flatMap((t) => [...f64(`grad.${t.name}`)].map(Math.abs)));
    const worst = Math.max(...weightLayout(m).map((t) => maxRelError(r.grads.get(t.name)!, f64(`grad.${t.name}`), 1e-3 * globalScale)));
    console.log(`attn dropout parity, wasm: loss ${(Math.abs(r.loss - want) / want).toExponential(2)}, worst gradient ${worst.toExponential(2)}`);
    expect(Math.abs(r.loss - want) / want).toBeLessThan(1e-6);
    expect(worst).toBeLessThan(1e-5);
  });
});

describe("attention-weight dropout: the kernel's masks", () => {
  const dims: AttentionDims = { batch: 2, seqQ: 6, seqK: 6, heads: 2, kvHeads: 1, headDim: 8 };
  const drop = (s: number) => ({ p: 0.3, seed: 9, step: s, node: 41 });
  const base: TrainAttentionOptions = { causal: true, alibi: false };

  /** q = k = 0 (uniform weights over the visible keys) and v_j = e_j: O_i[j] = m_ij / ((1 − p)(i + 1)). */
  function revealedMask(s: number): number[] {
    const q = new Float64Array(dims.batch * dims.seqQ * dims.heads * dims.headDim);
    const v = new Float64Array(dims.batch * dims.seqK * dims.headDim);
    for (let b = 0; b < dims.batch; b++) for (let j = 0; j < dims.seqK; j++) v[(b * dims.seqK + j) * dims.headDim + j] = 1;
    const { out } = attentionForward(q, v.map(() => 0), v, dims, { ...base, dropout: drop(s) });
    const keep: number[] = [];
    for (let b = 0; b < dims.batch; b++)
      for (let h = 0; h < dims.heads; h++)
        for (let i = 0; i < dims.seqQ; i++)
          for (let j = 0; j <= i; j++) keep.push(Math.round(out[((b * dims.seqQ + i) * dims.heads + h) * dims.headDim + j] * 0.7 * (i + 1)));
    return keep;
  }

  it("keeps exactly the pairs hash32(seed, step, node, ((b·H + h)·Sq + i)·Sk + j) keeps, other ones at the next step", () => {
    const want: number[] = [];
    for (let b = 0; b < dims.batch; b++)
      for (let h = 0; h < dims.heads; h++)
        for (let i = 0; i < dims.seqQ; i++)
          for (let j = 0; j <= i; j++) want.push(hash32(9, 3, 41, ((b * dims.heads + h) * dims.seqQ + i) * dims.seqK + j) / 2 ** 32 >= 0.3 ? 1 : 0);
    const now = revealedMask(3);
    const next = revealedMask(4);
    expect(now).toEqual(want);
    const dropped = now.filter((x) => x === 0).length;
    const changed = now.filter((x, i) => x !== next[i]).length;
    // 84 pairs at p = 0.3: some dropped, some kept, and the next step's mask is another draw.
    expect(dropped).toBeGreaterThan(10);
    expect(dropped).toBeLessThan(45);
    expect(changed).toBeGreaterThan(10);
  });

  it("the backward recomputes the forward's masks (finite differences of the kernel)", () => {
    const n = normals(streamRng(5));
    const size = (heads: number) => dims.batch * dims.seqQ * heads * dims.headDim;
    const q = Float64Array.from({ length: size(dims.heads) }, n);
    const k = Float64Array.from({ length: size(dims.kvHeads) }, n);
    const v = Float64Array.from({ length: size(dims.kvHeads) }, n);
    const w = Float64Array.from({ length: size(dims.heads) }, n);
    const o: TrainAttentionOptions = { ...base, keyMask: Uint8Array.from({ length: 12 }, (_, i) => (i === 10 || i === 11 ? 0 : 1)), dropout: drop(3) };
    const loss = (qq: Float64Array, kk: Float64Array, vv: Float64Array) => attentionForward(qq, kk, vv, dims, o).out.reduce((s, x, i) => s + x * w[i], 0);
    const fwd = attentionForward(q, k, v, dims, o);
    const errorOf = (bo: TrainAttentionOptions): number => {
      const g = [new Float64Array(q.length), new Float64Array(k.length), new Float64Array(v.length)];
      attentionBackward(q, k, v, fwd.out, fwd.lse, w, dims, bo, g[0], g[1], g[2]);
      let worst = 0;
      [q, k, v].forEach((x, which) => {
        const u = Float64Array.from(x, n);
        const at = (s: number) => {
          const xs = [q, k, v].map((y, t) => (t === which ? y.map((e, i) => e + s * u[i]) : y));
          return loss(xs[0], xs[1], xs[2]);
        };
        const fd = (at(1e-5) - at(-1e-5)) / 2e-5;
        const an = g[which].reduce((s, e, i) => s + e * u[i], 0);
        worst = Math.max(worst, Math.abs(fd - an) / Math.max(Math.abs(fd), 1e-3));
      });
      return worst;
    };
    expect(errorOf(o)).toBeLessThan(1e-7);
    // The check can fail: a backward drawing another step's masks is wrong.
    expect(errorOf({ ...o, dropout: drop(4) })).toBeGreaterThan(1e-2);
  });

  it("the wasm kernel leaves dropped attention to the reference kernel", () => {
    expect(wasmAttentionCovers(dims, base)).toBe(true);
    expect(wasmAttentionCovers(dims, { ...base, dropout: drop(3) })).toBe(false);
  });
});

const SEQ2SEQ = `
model fd_attn_dropout {
  dims { vocab = 13, d = 8, heads = 2, ff = 16, layers = 1, context = 16 }
  input src_tokens: int[batch, src_seq] where src_seq <= context
  input src_mask: bool[batch, src_seq]
  input tokens: int[batch, seq] where seq <= context
  encoder {
    embed src_tokens(vocab, d, scale = sqrt(d))
    position sinusoidal
    stack layers × encoder_layer(norm = post) {
      attention self(heads = heads, padding = src_mask, bias = true, dropout = 0.3)
      norm layer(eps = 1e-6)
      mlp(hidden = ff, act = relu)
      norm layer(eps = 1e-6)
    }
  }
  decoder {
    embed tokens(vocab, d, scale = sqrt(d), tie = src_tokens)
    position sinusoidal
    stack layers × decoder_layer(norm = post) {
      attention self(heads = heads, kv_heads = 1, mask = causal, dropout = 0.3)
      norm layer(eps = 1e-6)
      attention cross(heads = heads, padding = src_mask, bias = true, dropout = 0.4)
      norm layer(eps = 1e-6)
      mlp(hidden = ff, act = relu)
      norm layer(eps = 1e-6)
    }
  }
  head tied
}`;

describe("attention-weight dropout: the training program", () => {
  const m = spec(SEQ2SEQ);
  const rng = streamRng(21);
  const ids = (len: number) => Int32Array.from({ length: 2 * len }, () => Math.floor(rng() * 13));
  const mask = Uint8Array.from({ length: 12 }, (_, i) => (i >= 10 ? 0 : 1));
  const targets = ids(7);
  targets.fill(-1, 12);
  const batch = bindBatch(m, new Map([["src_tokens", { data: ids(6), shape: [2, 6] }], ["src_mask", { data: mask, shape: [2, 6] }], ["tokens", { data: ids(7), shape: [2, 7] }]]), targets);

  it("the rate is on softmax attention in training only: not at inference, not with --dropout 0, not from train(dropout)", () => {
    expect(attentionRates(trainingGraph(m))).toEqual([0.3, 0.3, 0.4]);
    expect(printGraph(trainingGraph(m))).toMatch(/attention .*padding=%\d+ dropout=0\.4 memory/);
    expect(attentionRates(inferenceGraph(m))).toEqual([undefined, undefined, undefined]);
    expect(attentionRates(trainingGraph(m, { dropout: 0 }))).toEqual([undefined, undefined, undefined]);
    const modelWide = spec(SEQ2SEQ.replace(/, dropout = 0\.\d/g, "").replace("input tokens:", "train(dropout = 0.3)\n  input tokens:"));
    const g = trainingGraph(modelWide);
    expect(g.nodes.some((n) => n.op === "dropout")).toBe(true);
    expect(attentionRates(g)).toEqual([undefined, undefined, undefined]);
  });

  it("evaluation ignores it; training steps draw other masks", async () => {
    const engine = new TrainingEngine(differentiate(trainingGraph(m)));
    const off = new TrainingEngine(differentiate(trainingGraph(m, { dropout: 0 })));
    const params = new Map(weightLayout(m).map((t) => [t.name, Float64Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, normals(streamRng(3, t.shape[0])))]));
    const logits = async (e: TrainingEngine, o: { train: boolean; step?: number }) => (await e.forward(params, batch, { seed: 1, ...o })).logits;
    expect(await logits(engine, { train: false })).toEqual(await logits(off, { train: true }));
    const a = await logits(engine, { train: true, step: 0 });
    expect(maxRelError(a, await logits(engine, { train: true, step: 0 }), 0)).toBe(0);
    expect(maxRelError(a, await logits(engine, { train: true, step: 1 }))).toBeGreaterThan(1e-3);
    expect(maxRelError(a, await logits(engine, { train: false }))).toBeGreaterThan(1e-3);
  });

  it("finite differences (float64) through self and cross attention with dropped weights, padding, MQA", async () => {
    const n = normals(streamRng(4, 1));
    const params = new Map(
      weightLayout(m).map((t) => {
        const a = new Float64Array(t.shape.reduce((x, y) => x * y, 1));
        for (let i = 0; i < a.length; i++) a[i] = t.shape.length === 1 ? (t.name.endsWith(".bias") ? 0.1 * n() : 1 + 0.3 * n()) : n() / Math.sqrt(t.shape[1]);
        return [t.name, a];
      }),
    );
    const errors = await directionalErrors(new TrainingEngine(differentiate(trainingGraph(m))), params, batch, 4);
    console.log(`attn dropout FD: worst ${errors[0][1].toExponential(2)} (${errors[0][0]}) over ${errors.length} tensors`);
    expect(errors[0][1], `worst: ${errors[0][0]}`).toBeLessThan(1e-6);
  });
});
