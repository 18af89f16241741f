// The training engine's data (a batch, forward options, the tape) and what its forward
// (engine.ts) and backward (engine-backward.ts) passes share: the run-time shapes of a
// program's values and the kernels' views of a node (attention and Mamba dims, RoPE).

import { rope, type Num, type AttentionDropout, type TrainAttentionOptions } from "../../backends/reference/backward/index.ts";
import type { AttentionDims } from "../../backends/reference/kernels/shape.ts";
import type { Dim, Node } from "../ir/ir.ts";
import type { BackwardProgram } from "./autodiff.ts";
import { BufferPool } from "./buffer-pool.ts";
import type { TrainKernels } from "./kernels.ts";

export type Params = ReadonlyMap<string, Num>;
export type Stored = Num | Int32Array | Uint8Array;

/** One batch: the model's inputs by spec name, the run-time dims, next-token targets. */
export interface Batch {
  inputs: ReadonlyMap<string, Int32Array | Uint8Array>;
  /** Run-time dims by name: batch, seq, src_seq … */
  dims: Readonly<Record<string, number>>;
  /** [batch, seq] target ids of the logits rows; negative = ignored (padding). */
  targets: Int32Array;
}

export interface ForwardOptions {
  /** Dropout on (training) or off (evaluation). */
  train: boolean;
  /** Dropout masks are a function of (seed, step, node, element). */
  seed?: number;
  step?: number;
}

/** What a forward keeps for the backward pass. */
export interface Tape {
  values: Map<number, Stored>;
  /** Per node: a fused linear's pre-activation, attention's log-sum-exp, dropout's keep-mask. */
  pre: Map<number, Num>;
  lse: Map<number, Float64Array>;
  masks: Map<number, Uint8Array>;
  /** Per attention node whose weights this forward dropped: the counters its masks came from (the backward recomputes the masks). */
  attentionDropout: Map<number, AttentionDropout>;
  dims: Readonly<Record<string, number>>;
  logits: Num;
}

export const f64 = (x: Stored): Num => {
  if (x instanceof Int32Array || x instanceof Uint8Array) throw new Error("expected a float value");
  return x;
};

/** An attention node's options as the training kernels take them, with the batch's key mask and the forward's weight dropout if any. */
export const attentionOptions = (n: Extract<Node, { op: "attention" }>, keyMask?: Uint8Array, dropout?: AttentionDropout): TrainAttentionOptions => ({
  causal: n.causal,
  alibi: n.alibi,
  ...(n.headWindows ? { headWindows: n.headWindows } : {}),
  ...(n.scale !== undefined ? { scale: n.scale } : {}),
  ...(n.softcap !== undefined ? { softcap: n.softcap } : {}),
  ...(n.window !== undefined ? { window: n.window } : {}),
  ...(n.sparse ? { sparse: n.sparse } : {}),
  ...(keyMask !== undefined ? { keyMask } : {}),
  ...(dropout !== undefined ? { dropout } : {}),
});

/** The shapes of a program's values once a batch binds its run-time dims, and the kernels' views of a node. */
export class NodeShapes {
  /** The engine's own per-step arrays (residual sums, intermediate gradients), reused inside lossAndGrads. */
  readonly pool = new BufferPool();

  constructor(
    readonly program: BackwardProgram,
    readonly kernels: TrainKernels,
  ) {}

  shape(id: number, dims: Readonly<Record<string, number>>): number[] {
    return this.program.forward.values[id].shape.map((d: Dim) => {
      if (typeof d === "number") return d;
      const v = dims[d];
      if (v === undefined) throw new Error(`run-time dim ${d} is not bound by the batch`);
      return v;
    });
  }

  convDims(n: Extract<Node, { op: "ssm_conv" }>, dims: Readonly<Record<string, number>>) {
    const [batch, seq, rowWidth] = this.shape(n.x, dims);
    return { batch, seq, rowWidth, channels: n.channels, width: n.width };
  }

  scanDims(n: Extract<Node, { op: "ssm_scan" }>, dims: Readonly<Record<string, number>>) {
    const [batch, seq, inner] = this.shape(n.u, dims);
    return { batch, seq, inner, stateSize: n.stateSize, dtRank: n.dtRank };
  }

  attentionDims(n: Extract<Node, { op: "attention" | "linear_attention" }>, dims: Readonly<Record<string, number>>): AttentionDims {
    const [batch, seqQ] = this.shape(n.q, dims);
    const seqK = this.shape(n.k, dims)[1];
    return { batch, seqQ, seqK, heads: n.heads, kvHeads: n.kvHeads, headDim: n.headDim };
  }

  /** q and k as the kernels want them: rotated when the op has RoPE (positions from 0). */
  rotated(n: Extract<Node, { op: "attention" | "linear_attention" }>, q: Num, k: Num, d: AttentionDims): [Num, Num] {
    if (!n.rope) return [q, k];
    return [rope(q, d.batch, d.seqQ, d.heads, d.headDim, n.rope), rope(k, d.batch, d.seqK, d.kvHeads, d.headDim, n.rope)];
  }

}

/**
 * The values whose gradients a float32 target holds as Float32Array: written once, as a
 * linear's dx — a float32 kernel result added into zeros, so the float64 array would hold the
 * same numbers — and read as the output gradient of a linear or softmax attention node, whose
 * kernels read it as float32 anyway. The float64 round trip (a conversion out of the kernel
 * memory and one back in) is all they save; parameters and any value with two writers keep
 * float64 gradients.
 */
export function float32Gradients(p: BackwardProgram): Set<number> {
  const writers = new Map<number, number>();
  const byLinearDx = new Set<number>();
  for (const s of p.steps) {
    for (const w of s.writes) {
      writers.set(w.value, (writers.get(w.value) ?? 0) + 1);
      if (s.node.op === "linear" && w.field === "x") byLinearDx.add(w.value);
    }
  }
  const params = new Set(p.params.values());
  const producer = new Map(p.forward.nodes.map((n) => [n.out, n.op]));
  const out = new Set<number>();
  for (const id of byLinearDx) {
    const op = producer.get(id);
    if (writers.get(id) === 1 && !params.has(id) && (op === "linear" || op === "attention")) out.add(id);
  }
  return out;
}
