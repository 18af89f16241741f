// The backward pass of one node: its vector–Jacobian product, accumulated (+=) into the
// gradients of the inputs it has one for — matmuls, attention, activations and Mamba (and the
// norms where the target has kernels for them) through the target's TrainKernels, the rest on
// the reference kernels (backends/reference/backward).

import {
  accumulate,
  embedBackward,
  gatedBackward,
  linearAttentionBackward,
  normBackward,
  positionBackward,
  rope,
  softcapBackward,
  type Num,
} from "../../backends/reference/backward/index.ts";
import { activationFn } from "../../backends/reference/kernels/activation.ts";
import type { Node } from "../ir/ir.ts";
import { unhandledOp } from "../ir/ops.ts";
import { attentionOptions, type NodeShapes, type Tape } from "./engine-nodes.ts";

/** The gradient array of an input (by its field on the node and its value id), or null where none is wanted. */
export type Want = (field: string, id: number | undefined) => Float64Array | null;

/** Where a node's VJP writes: the gradients of its inputs (engine.ts's backward). */
export interface GradSink {
  want: Want;
  /** The same, where the gradient may be a float32 one (float32Gradients): a linear's dx. */
  wantAny(field: string, id: number | undefined): Num | null;
  /**
   * gradient(id) += d, for `d` the node's own output gradient passed on unchanged (a residual,
   * an add): the sink may hand `d` itself over where nothing was added into that gradient yet.
   */
  pass(field: string, id: number | undefined, d: Num): void;
}

/**
 * The VJP of `n` given its output's gradient `dIn`: float32 (float32Gradients) only for a
 * linear or softmax attention node, whose kernels read it as they read any input.
 */
export async function backwardNode(e: NodeShapes, n: Node, dIn: Num, g: GradSink, val: (id: number) => Num, tape: Tape): Promise<void> {
  const want = g.want;
  if (n.op === "linear") return linearNode(e, n, dIn, g, val, tape);
  if (n.op === "attention" || n.op === "linear_attention") return attentionNode(e, n, dIn, want, val, tape);
  if (!(dIn instanceof Float64Array)) throw new Error(`a float32 output gradient reached a ${n.op} node`);
  const dOut = dIn;
  const dims = tape.dims;
  switch (n.op) {
    case "embed": {
      const dim = e.shape(n.table, dims)[1];
      embedBackward(dOut, tape.values.get(n.ids) as Int32Array, dim, n.scale, want("table", n.table)!);
      return;
    }
    case "add_position": {
      g.pass("x", n.x, dOut);
      const dt = want("table", n.table);
      if (dt) {
        const [b, s, d] = e.shape(n.x, dims);
        positionBackward(dOut, b, s, d, dt);
      }
      return;
    }
    case "add":
      g.pass("a", n.a, dOut);
      g.pass("b", n.b, dOut);
      return;
    case "norm": {
      const dim = e.shape(n.weight, dims)[0];
      const x = val(n.x);
      const args = [n.kind, dOut, x, x.length / dim, dim, val(n.weight), n.eps, want("x", n.x), want("weight", n.weight), want("bias", n.bias), n.offset] as const;
      if (e.kernels.normBackward) await e.kernels.normBackward(...args);
      else normBackward(...args);
      return;
    }
    case "activation": {
      accumulate(want("x", n.x)!, await e.kernels.activationGrad(dOut, val(n.x), n.act));
      return;
    }
    case "gated":
      gatedBackward(dOut, val(n.gate), val(n.up), n.act, want("gate", n.gate), want("up", n.up));
      return;
    case "softcap":
      softcapBackward(dOut, val(n.x), n.cap, want("x", n.x)!);
      return;
    case "ssm_conv":
      await e.kernels.ssmConvBackward(dOut, val(n.x), e.convDims(n, dims), val(n.weight), n.bias === undefined ? null : val(n.bias), want("x", n.x), want("weight", n.weight), want("bias", n.bias));
      return;
    case "ssm_scan": {
      const w = { dtWeight: val(n.dtWeight), dtBias: val(n.dtBias), aLog: val(n.aLog), d: val(n.d) };
      const grads = { u: want("u", n.u), proj: want("proj", n.proj), z: want("z", n.z), dtWeight: want("dtWeight", n.dtWeight), dtBias: want("dtBias", n.dtBias), aLog: want("aLog", n.aLog), d: want("d", n.d) };
      await e.kernels.ssmScanBackward(dOut, val(n.u), val(n.proj), val(n.z), e.scanDims(n, dims), w, grads);
      return;
    }
    case "dropout": {
      const mask = tape.masks.get(n.out);
      if (mask === undefined) {
        g.pass("x", n.x, dOut); // dropout was off in this forward
        return;
      }
      const dx = want("x", n.x)!;
      const keep = 1 / (1 - n.p);
      for (let i = 0; i < dOut.length; i++) if (mask[i]) dx[i] += dOut[i] * keep;
      return;
    }
    case "output":
      g.pass("x", n.x, dOut);
      return;
    case "input":
    case "weight":
      return;
    default:
      unhandledOp(n, "backward");
  }
}

/** A linear's VJP (its dx maybe float32: wantAny), from a float32 or float64 output gradient. */
async function linearNode(e: NodeShapes, n: Extract<Node, { op: "linear" }>, dOut: Num, g: GradSink, val: (id: number) => Num, tape: Tape): Promise<void> {
  const dims = tape.dims;
  const want = g.want;
  g.pass("residual", n.residual, dOut);
  const [outDim, inDim] = e.shape(n.weight, dims);
  let dy: Num = dOut;
  if (n.act !== undefined) {
    dy = await e.kernels.activationGrad(dOut, tape.pre.get(n.out)!, n.act);
  } else if (n.gate !== undefined) {
    const pre = tape.pre.get(n.out)!;
    const gate = val(n.gate);
    const f = activationFn(n.gateAct!);
    dy = e.pool.any64(dOut.length);
    for (let i = 0; i < dy.length; i++) dy[i] = dOut[i] * f(gate[i]);
    const dg = want("gate", n.gate);
    if (dg) gatedBackward(dOut instanceof Float64Array ? dOut : new Float64Array(dOut), gate, pre, n.gateAct!, dg, null);
  }
  const x = val(n.x);
  await e.kernels.linearBackward(dy, x, x.length / inDim, inDim, val(n.weight), outDim, g.wantAny("x", n.x), want("weight", n.weight), want("bias", n.bias));
}

/** Softmax (float32 or float64 output gradient) or linear attention's VJP, through RoPE's transpose where the node rotates. */
async function attentionNode(e: NodeShapes, n: Extract<Node, { op: "attention" | "linear_attention" }>, dOut: Num, want: Want, val: (id: number) => Num, tape: Tape): Promise<void> {
  const dims = tape.dims;
  const d = e.attentionDims(n, dims);
  const [q, k] = e.rotated(n, val(n.q), val(n.k), d);
  // The kernels accumulate: without RoPE they add into the inputs' gradients directly;
  // with it, into fresh arrays that go back through the transposed rotation.
  const fresh = (g: Float64Array | null) => (g === null ? null : n.rope ? e.pool.zeros64(g.length) : g);
  const [dq, dk, dv] = [want("q", n.q), want("k", n.k), want("v", n.v)];
  const [dqR, dkR] = [fresh(dq), fresh(dk)];
  const keyMask = n.padding !== undefined ? (tape.values.get(n.padding) as Uint8Array) : undefined;
  if (n.op === "attention") {
    // The forward's own dropout counters: the kernel regenerates the same masks.
    const o = attentionOptions(n, keyMask, tape.attentionDropout.get(n.out));
    await e.kernels.attentionBackward(q, k, val(n.v), val(n.out), tape.lse.get(n.out)!, dOut, d, o, dqR, dkR, dv);
  } else {
    if (!(dOut instanceof Float64Array)) throw new Error("a float32 output gradient reached a linear attention node");
    linearAttentionBackward(q, k, val(n.v), val(n.out), dOut, d, { causal: n.causal, featureMap: n.featureMap, ...(keyMask !== undefined ? { keyMask } : {}) }, dqR, dkR, dv);
  }
  if (n.rope) {
    if (dq && dqR) accumulate(dq, rope(dqR, d.batch, d.seqQ, d.heads, d.headDim, n.rope, true));
    if (dk && dkR) accumulate(dk, rope(dkR, d.batch, d.seqK, d.kvHeads, d.headDim, n.rope, true));
  }
  return;
}
