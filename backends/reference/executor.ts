// Graph interpreter of the reference backend: walks the IR node by node over Float32Arrays,
// one kernel call per op. Deliberately naive (fresh arrays everywhere, no fusion): it is the
// oracle the Wasm and WebGPU backends are compared against, so it must be obviously right.

import type { Graph, Node } from "../../src/ir/ir.ts";
import { unhandledOp } from "../../src/ir/ops.ts";
import { splitPhases } from "../../src/ir/phases.ts";
import { WeightsError, formatShape } from "../../src/runtime/safetensors.ts";
import { isLowBit, storedElements, type LowBitWeight, type StoredWeight } from "../../src/runtime/weights/format.ts";
import { dequantizeRow } from "../../src/runtime/weights/quantize.ts";
import { linearQuantized } from "./kernels/lowbit-linear.ts";
import { runAttention, runLinearAttention } from "./attention-op.ts";
import { runSsmConv, runSsmScan } from "./ssm-op.ts";
import { f32, get, size, type Env, type F32Tensor, type RunContext, type Tensor } from "./values.ts";
import { activate, gatedActivate, layerNorm, linear, rmsNorm, sinusoidalTable } from "./kernels/index.ts";

export type { Env, RunContext, Tensor } from "./values.ts";

export type NodeOf<K extends Node["op"]> = Extract<Node, { op: K }>;
type RunNode = NodeOf<Exclude<Node["op"], "weight">>;

export class GraphExecutor {
  /** Nodes whose values do not depend on per-step inputs: the encoder, cross-attention K/V. */
  readonly staticNodes: RunNode[];
  /** Nodes that must run for every batch of new decoder tokens, in graph order. */
  readonly stepNodes: RunNode[];
  /** Value id of the logits output. */
  readonly logits: number;
  /** Value id → input name, for masks whose history a decode state keeps. */
  readonly inputOf = new Map<number, string>();
  private readonly weightEnv: Env = new Map();
  /** Weights kept in a low-bit storage (f16, q8, q4), by value id: linear and embed dequantise them on read. */
  private readonly lowBit = new Map<number, LowBitWeight>();

  /**
   * `stepInputs` are the inputs fed on every decode step (the decoder's tokens and their
   * mask); everything not reachable from them is computed once per source in begin().
   */
  constructor(
    readonly graph: Graph,
    weights: ReadonlyMap<string, StoredWeight>,
    stepInputs: ReadonlySet<string>,
  ) {
    let logits: number | undefined;
    for (const n of graph.nodes) {
      if (n.op === "weight") {
        const shape = graph.values[n.out].shape;
        if (!shape.every((d): d is number => typeof d === "number")) {
          throw new Error(`reference executor: weight ${n.weight} has a run-time dim in ${formatShape(shape as number[])}`);
        }
        const data = weights.get(n.weight);
        if (data === undefined) throw new WeightsError("missing from the weight map", n.weight);
        if (storedElements(data) !== size(shape) || (isLowBit(data) && formatShape(data.shape) !== formatShape(shape))) {
          const found = isLowBit(data) ? `${data.dtype} shape ${formatShape(data.shape)}` : `${data.length} elements`;
          throw new WeightsError(`has ${found}, expected shape ${formatShape(shape)} = ${size(shape)}`, n.weight);
        }
        if (isLowBit(data)) this.lowBit.set(n.out, data);
        else this.weightEnv.set(n.out, { data, shape });
        continue;
      }
      if (n.op === "input") this.inputOf.set(n.out, n.input);
      if (n.op === "output" && n.output === "logits") logits = n.out;
    }
    const split = splitPhases(graph, stepInputs);
    this.staticNodes = split.static as RunNode[];
    this.stepNodes = split.step as RunNode[];
    if (logits === undefined) throw new Error(`reference executor: graph ${graph.model} has no logits output`);
    this.logits = logits;
  }

  /** A fresh environment holding only the weights. */
  weightsEnv(): Env {
    return new Map(this.weightEnv);
  }

  run(nodes: readonly Node[], env: Env, ctx: RunContext): void {
    for (const n of nodes) {
      const value = this.graph.values[n.out];
      try {
        env.set(n.out, this.evalNode(n, env, ctx));
      } catch (e) {
        if (e instanceof Error && !e.message.startsWith("reference executor")) {
          e.message = `reference executor: node %${n.out} (${n.op} "${value?.name ?? "?"}"): ${e.message}`;
        }
        throw e;
      }
    }
  }

  private evalNode(n: Node, env: Env, ctx: RunContext): Tensor {
    switch (n.op) {
      case "weight":
        return get(this.weightEnv, n.out);
      case "input": {
        const t = ctx.inputs.get(n.input);
        if (t === undefined) throw new Error(`input "${n.input}" was not supplied`);
        return t;
      }
      case "embed": {
        const stored = this.lowBit.get(n.table);
        return stored ? embedStored(stored, get(env, n.ids), n.scale) : embed(f32(env, n.table), get(env, n.ids), n.scale);
      }
      case "add_position":
        return addPosition(f32(env, n.x), n.kind, n.table === undefined ? undefined : f32(env, n.table), ctx.offset);
      case "add": {
        const a = f32(env, n.a);
        const b = f32(env, n.b);
        if (a.data.length !== b.data.length) throw new Error(`add of ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
        const out = new Float32Array(a.data.length);
        for (let i = 0; i < out.length; i++) out[i] = a.data[i] + b.data[i];
        return { data: out, shape: a.shape };
      }
      case "norm": {
        const x = f32(env, n.x);
        const weight = f32(env, n.weight).data;
        // Groups of weight-length channels (per-head q/k norm) are rows of their own.
        const dim = weight.length;
        const rows = x.data.length / dim;
        const offset = n.offset ?? 0;
        const w = offset === 0 ? weight : weight.map((g) => offset + g);
        const data =
          n.kind === "layer"
            ? layerNorm(x.data, rows, dim, w, n.bias === undefined ? null : f32(env, n.bias).data, n.eps)
            : rmsNorm(x.data, rows, dim, w, n.eps);
        return { data, shape: x.shape };
      }
      case "linear": {
        const x = f32(env, n.x);
        const stored = this.lowBit.get(n.weight);
        const wShape = stored ? stored.shape : f32(env, n.weight).shape;
        const [outDim, inDim] = wShape;
        if (x.shape[x.shape.length - 1] !== inDim) throw new Error(`x ${formatShape(x.shape)} against weight ${formatShape(wShape)}`);
        const rows = x.data.length / inDim;
        const bias = n.bias === undefined ? null : f32(env, n.bias).data;
        let y = stored ? linearStored(x.data, rows, inDim, stored, bias, outDim) : linear(x.data, rows, inDim, f32(env, n.weight).data, bias, outDim);
        // The epilogue, in the IR's order (ir.ts): act or × act(gate), then + residual.
        if (n.act !== undefined) y = activate(y, n.act);
        if (n.gate !== undefined) y = gatedActivate(f32(env, n.gate).data, y, n.gateAct!);
        if (n.residual !== undefined) {
          const r = f32(env, n.residual).data;
          for (let i = 0; i < y.length; i++) y[i] += r[i];
        }
        return { data: y, shape: [...x.shape.slice(0, -1), outDim] };
      }
      case "activation": {
        const x = f32(env, n.x);
        return { data: activate(x.data.slice(), n.act), shape: x.shape };
      }
      case "gated": {
        const gate = f32(env, n.gate);
        return { data: gatedActivate(gate.data, f32(env, n.up).data, n.act), shape: gate.shape };
      }
      case "attention":
        return runAttention(n, env, ctx, this.inputOf);
      case "linear_attention":
        return runLinearAttention(n, env, ctx);
      case "ssm_conv":
        return runSsmConv(n, env, ctx);
      case "ssm_scan":
        return runSsmScan(n, env, ctx);
      case "softcap": {
        const x = f32(env, n.x);
        return { data: x.data.map((t) => n.cap * Math.tanh(t / n.cap)), shape: x.shape };
      }
      case "dropout":
        return get(env, n.x); // identity at inference; the inference pass normally removes it
      case "output":
        return get(env, n.x);
      default:
        return unhandledOp(n, "reference executor");
    }
  }
}

function embed(table: F32Tensor, ids: Tensor, scale: number): Tensor {
  const [vocab, dim] = table.shape;
  const out = new Float32Array(ids.data.length * dim);
  for (let i = 0; i < ids.data.length; i++) {
    const id = ids.data[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`token id ${id} at index ${i} is outside [0, ${vocab})`);
    for (let d = 0; d < dim; d++) out[i * dim + d] = table.data[id * dim + d] * scale;
  }
  return { data: out, shape: [...ids.shape, dim] };
}

/** embed() over a low-bit table: each looked-up row dequantised (exactly, in f32) on read. */
function embedStored(table: LowBitWeight, ids: Tensor, scale: number): Tensor {
  const [vocab, dim] = table.shape;
  const out = new Float32Array(ids.data.length * dim);
  const row = new Float32Array(dim);
  for (let i = 0; i < ids.data.length; i++) {
    const id = ids.data[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`token id ${id} at index ${i} is outside [0, ${vocab})`);
    dequantizeRow(table, id, row);
    for (let d = 0; d < dim; d++) out[i * dim + d] = row[d] * scale;
  }
  return { data: out, shape: [...ids.shape, dim] };
}

/**
 * linear() over a low-bit W [outDim, inDim]: f16 rows dequantised on read (exact in f32), then
 * the same f64 dot products as the f32 kernel; q8 / q4 as linearQuantized. The oracle of every
 * low-bit kernel.
 */
function linearStored(x: Float32Array, rows: number, inDim: number, w: LowBitWeight, bias: Float32Array | null, outDim: number): Float32Array {
  // q8 / q4: the input quantised to int8 per block, integer block dots (weights/activations.ts).
  if (w.dtype !== "f16") return linearQuantized(x, rows, inDim, w, bias, outDim);
  const out = new Float32Array(rows * outDim);
  const row = new Float32Array(inDim);
  for (let o = 0; o < outDim; o++) {
    dequantizeRow(w, o, row);
    for (let r = 0; r < rows; r++) {
      const xo = r * inDim;
      let s = 0;
      for (let i = 0; i < inDim; i++) s += x[xo + i] * row[i];
      if (bias !== null) s += bias[o];
      out[r * outDim + o] = s;
    }
  }
  return out;
}

/** Row r of every sequence gets the encoding of position offset + r. */
function addPosition(
  x: F32Tensor,
  kind: "learned" | "sinusoidal",
  table: (F32Tensor) | undefined,
  offset: number,
): Tensor {
  const [batch, seq, dim] = x.shape;
  let pe: Float32Array;
  if (kind === "learned") {
    if (table === undefined) throw new Error("learned positions need a table");
    if (offset + seq > table.shape[0]) {
      throw new Error(`positions up to ${offset + seq - 1} exceed the learned table of ${table.shape[0]} rows`);
    }
    pe = table.data.subarray(offset * dim, (offset + seq) * dim);
  } else {
    pe = sinusoidalTable(Array.from({ length: seq }, (_, r) => offset + r), dim);
  }
  const out = new Float32Array(x.data.length);
  for (let b = 0; b < batch; b++) {
    const o = b * seq * dim;
    for (let i = 0; i < seq * dim; i++) out[o + i] = x.data[o + i] + pe[i];
  }
  return { data: out, shape: x.shape };
}
