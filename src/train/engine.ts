// Runs a BackwardProgram: the forward program with a tape, the loss, and the backward steps,
// each one vector–Jacobian kernel call — matmuls and attention through the TrainKernels of the
// chosen target (kernels.ts), the rest on the reference kernels (backends/reference/backward).
// Activations and gradients are float64; parameters are read as given (Float32Array when
// training, Float64Array in finite-difference checks).

import {
  activationBackward,
  activationForward,
  embedBackward,
  embedForward,
  gatedBackward,
  gatedForward,
  linearAttentionBackward,
  linearAttentionForward,
  normBackward,
  normForward,
  positionBackward,
  positionForward,
  rope,
  softcapBackward,
  softcapForward,
  accumulate,
  activationGrad,
  type AttentionDropout,
  type Num,
  type TrainAttentionOptions,
} from "../../backends/reference/backward/index.ts";
import { activationFn } from "../../backends/reference/kernels/activation.ts";
import type { AttentionDims } from "../../backends/reference/kernels/shape.ts";
import type { Dim, Node } from "../ir/ir.ts";
import { unhandledOp } from "../ir/ops.ts";
import type { BackwardProgram } from "./autodiff.ts";
import { referenceKernels, type TrainKernels } from "./kernels.ts";
import { crossEntropy } from "./loss.ts";
import { hash32 } from "./rng.ts";

export type Params = ReadonlyMap<string, Num>;
type Stored = Num | Int32Array | Uint8Array;

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
  pre: Map<number, Float64Array>;
  lse: Map<number, Float64Array>;
  masks: Map<number, Uint8Array>;
  /** Per attention node whose weights this forward dropped: the counters its masks came from (the backward recomputes the masks). */
  attentionDropout: Map<number, AttentionDropout>;
  dims: Readonly<Record<string, number>>;
  logits: Float64Array;
}

const f64 = (x: Stored): Num => {
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

export class TrainingEngine {
  constructor(
    readonly program: BackwardProgram,
    readonly kernels: TrainKernels = referenceKernels,
  ) {}

  private shape(id: number, dims: Readonly<Record<string, number>>): number[] {
    return this.program.forward.values[id].shape.map((d: Dim) => {
      if (typeof d === "number") return d;
      const v = dims[d];
      if (v === undefined) throw new Error(`run-time dim ${d} is not bound by the batch`);
      return v;
    });
  }

  /** The forward program; with `keepAll` false only the tape's values survive it. */
  async forward(params: Params, batch: Batch, o: ForwardOptions, keepAll = false): Promise<Tape> {
    const g = this.program.forward;
    const tape: Tape = { values: new Map(), pre: new Map(), lse: new Map(), masks: new Map(), attentionDropout: new Map(), dims: batch.dims, logits: new Float64Array(0) };
    const env = tape.values;
    for (const n of g.nodes) {
      try {
        env.set(n.out, await this.evalNode(n, env, params, batch, o, tape));
      } catch (e) {
        if (e instanceof Error) e.message = `training forward: node %${n.out} (${n.op} "${g.values[n.out].name}"): ${e.message}`;
        throw e;
      }
    }
    tape.logits = f64(env.get(this.program.logits)!) as Float64Array;
    if (!keepAll) for (const id of [...env.keys()]) if (!this.program.tape.has(id)) env.delete(id);
    return tape;
  }

  private convDims(n: Extract<Node, { op: "ssm_conv" }>, dims: Readonly<Record<string, number>>) {
    const [batch, seq, rowWidth] = this.shape(n.x, dims);
    return { batch, seq, rowWidth, channels: n.channels, width: n.width };
  }

  private scanDims(n: Extract<Node, { op: "ssm_scan" }>, dims: Readonly<Record<string, number>>) {
    const [batch, seq, inner] = this.shape(n.u, dims);
    return { batch, seq, inner, stateSize: n.stateSize, dtRank: n.dtRank };
  }

  private attentionDims(n: Extract<Node, { op: "attention" | "linear_attention" }>, dims: Readonly<Record<string, number>>): AttentionDims {
    const [batch, seqQ] = this.shape(n.q, dims);
    const seqK = this.shape(n.k, dims)[1];
    return { batch, seqQ, seqK, heads: n.heads, kvHeads: n.kvHeads, headDim: n.headDim };
  }

  /** q and k as the kernels want them: rotated when the op has RoPE (positions from 0). */
  private rotated(n: Extract<Node, { op: "attention" | "linear_attention" }>, q: Num, k: Num, d: AttentionDims): [Num, Num] {
    if (!n.rope) return [q, k];
    return [rope(q, d.batch, d.seqQ, d.heads, d.headDim, n.rope), rope(k, d.batch, d.seqK, d.kvHeads, d.headDim, n.rope)];
  }

  private async evalNode(n: Node, env: Map<number, Stored>, params: Params, batch: Batch, o: ForwardOptions, tape: Tape): Promise<Stored> {
    const val = (id: number) => f64(env.get(id)!);
    const dims = batch.dims;
    switch (n.op) {
      case "input": {
        const t = batch.inputs.get(n.input);
        if (t === undefined) throw new Error(`input "${n.input}" was not supplied`);
        return t;
      }
      case "weight": {
        const w = params.get(n.weight);
        if (w === undefined) throw new Error(`no parameter ${n.weight}`);
        // A float64 copy per forward: the kernels then see one array type (V8 runs them ~2×
        // faster monomorphic), and the copy is small next to the activations.
        return w instanceof Float64Array ? w : Float64Array.from(w);
      }
      case "embed": {
        const [vocab, dim] = this.shape(n.table, dims);
        return embedForward(val(n.table), vocab, dim, env.get(n.ids) as Int32Array, n.scale);
      }
      case "add_position": {
        const [b, s, d] = this.shape(n.x, dims);
        return positionForward(val(n.x), b, s, d, n.table === undefined ? null : val(n.table));
      }
      case "add": {
        const a = val(n.a);
        const b = val(n.b);
        const out = new Float64Array(a.length);
        for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
        return out;
      }
      case "norm": {
        const x = val(n.x);
        const dim = this.shape(n.weight, dims)[0];
        return normForward(n.kind, x, x.length / dim, dim, val(n.weight), n.bias === undefined ? null : val(n.bias), n.eps, n.offset);
      }
      case "linear": {
        const x = val(n.x);
        const [outDim, inDim] = this.shape(n.weight, dims);
        const rows = x.length / inDim;
        const y = await this.kernels.linearForward(x, rows, inDim, val(n.weight), n.bias === undefined ? null : val(n.bias), outDim);
        let out = y;
        if (n.act !== undefined) {
          tape.pre.set(n.out, y);
          out = await this.kernels.activationForward(y, n.act);
        } else if (n.gate !== undefined) {
          tape.pre.set(n.out, y);
          out = gatedForward(val(n.gate), y, n.gateAct!);
        }
        if (n.residual !== undefined) {
          if (out === y) out = Float64Array.from(y);
          accumulate(out, val(n.residual));
        }
        return out;
      }
      case "activation":
        return await this.kernels.activationForward(val(n.x), n.act);
      case "gated":
        return gatedForward(val(n.gate), val(n.up), n.act);
      case "softcap":
        return softcapForward(val(n.x), n.cap);
      case "attention": {
        const d = this.attentionDims(n, dims);
        const [q, k] = this.rotated(n, val(n.q), val(n.k), d);
        // Weight dropout keyed by (seed, step, node), like the dropout nodes' masks.
        const dropout = o.train && n.dropout !== undefined && n.dropout > 0 ? { p: n.dropout, seed: o.seed ?? 0, step: o.step ?? 0, node: n.out } : undefined;
        const keyMask = n.padding !== undefined ? (env.get(n.padding) as Uint8Array) : undefined;
        const r = await this.kernels.attentionForward(q, k, val(n.v), d, attentionOptions(n, keyMask, dropout));
        tape.lse.set(n.out, r.lse);
        if (dropout !== undefined) tape.attentionDropout.set(n.out, dropout);
        return r.out;
      }
      case "linear_attention": {
        const d = this.attentionDims(n, dims);
        const [q, k] = this.rotated(n, val(n.q), val(n.k), d);
        return linearAttentionForward(q, k, val(n.v), d, {
          causal: n.causal,
          featureMap: n.featureMap,
          ...(n.padding !== undefined ? { keyMask: env.get(n.padding) as Uint8Array } : {}),
        });
      }
      case "ssm_conv":
        return await this.kernels.ssmConvForward(val(n.x), this.convDims(n, dims), val(n.weight), n.bias === undefined ? null : val(n.bias));
      case "ssm_scan":
        return await this.kernels.ssmScanForward(val(n.u), val(n.proj), val(n.z), this.scanDims(n, dims), { dtWeight: val(n.dtWeight), dtBias: val(n.dtBias), aLog: val(n.aLog), d: val(n.d) });
      case "dropout": {
        const x = val(n.x);
        if (!o.train || !(n.p > 0)) return x;
        // Inverted dropout: kept elements scaled by 1 / (1 - p), as torch.nn.Dropout.
        const mask = new Uint8Array(x.length);
        const out = new Float64Array(x.length);
        const keep = 1 / (1 - n.p);
        const seed = o.seed ?? 0;
        const step = o.step ?? 0;
        for (let i = 0; i < x.length; i++) {
          if (hash32(seed, step, n.out, i) / 4294967296 >= n.p) {
            mask[i] = 1;
            out[i] = x[i] * keep;
          }
        }
        tape.masks.set(n.out, mask);
        return out;
      }
      case "output":
        return env.get(n.x)!;
      default:
        return unhandledOp(n, "training forward");
    }
  }

  /** Mean loss (and its gradient) of a forward's logits. */
  loss(tape: Tape, batch: Batch, smoothing: number, wantGrad = true): ReturnType<typeof crossEntropy> {
    const vocab = this.program.forward.values[this.program.logits].shape.at(-1) as number;
    return crossEntropy(tape.logits, batch.targets, vocab, smoothing, wantGrad);
  }

  /** The backward program: parameter gradients (float64) by weight name, given d loss / d logits. */
  async backward(tape: Tape, dLogits: Float64Array, params: Params): Promise<Map<string, Float64Array>> {
    const g = this.program.forward;
    const dims = tape.dims;
    const grads = new Map<number, Float64Array>([[this.program.logits, dLogits]]);
    const paramIds = new Set(this.program.params.values());
    const gradOf = (id: number): Float64Array => {
      let a = grads.get(id);
      if (a === undefined) {
        const len = this.shape(id, dims).reduce((x, y) => x * y, 1);
        a = new Float64Array(len);
        grads.set(id, a);
      }
      return a;
    };
    const val = (id: number): Num => {
      const v = tape.values.get(id);
      if (v === undefined) throw new Error(`value %${id} is not on the tape`);
      return f64(v);
    };
    for (const s of this.program.steps) {
      const n = s.node;
      const dOut = grads.get(s.seed);
      if (dOut === undefined) continue; // nothing reached this node's output: a zero gradient
      const fields = new Set(s.writes.map((w) => w.field));
      const want = (field: string, id: number | undefined): Float64Array | null => (id !== undefined && fields.has(field) ? gradOf(id) : null);
      try {
        await this.step(n, dOut, want, val, tape, params);
      } catch (e) {
        if (e instanceof Error) e.message = `backward: node %${n.out} (${n.op} "${g.values[n.out].name}"): ${e.message}`;
        throw e;
      }
      if (!paramIds.has(s.seed)) grads.delete(s.seed);
    }
    const out = new Map<string, Float64Array>();
    for (const [name, id] of this.program.params) out.set(name, grads.get(id) ?? new Float64Array(params.get(name)!.length));
    return out;
  }

  private async step(n: Node, dOut: Float64Array, want: (field: string, id: number | undefined) => Float64Array | null, val: (id: number) => Num, tape: Tape, params: Params): Promise<void> {
    const dims = tape.dims;
    switch (n.op) {
      case "embed": {
        const dim = this.shape(n.table, dims)[1];
        embedBackward(dOut, tape.values.get(n.ids) as Int32Array, dim, n.scale, want("table", n.table)!);
        return;
      }
      case "add_position": {
        const dx = want("x", n.x);
        if (dx) accumulate(dx, dOut);
        const dt = want("table", n.table);
        if (dt) {
          const [b, s, d] = this.shape(n.x, dims);
          positionBackward(dOut, b, s, d, dt);
        }
        return;
      }
      case "add": {
        const da = want("a", n.a);
        if (da) accumulate(da, dOut);
        const db = want("b", n.b);
        if (db) accumulate(db, dOut);
        return;
      }
      case "norm": {
        const dim = this.shape(n.weight, dims)[0];
        const x = val(n.x);
        normBackward(n.kind, dOut, x, x.length / dim, dim, val(n.weight), n.eps, want("x", n.x), want("weight", n.weight), want("bias", n.bias), n.offset);
        return;
      }
      case "linear": {
        const dr = want("residual", n.residual);
        if (dr) accumulate(dr, dOut);
        const [outDim, inDim] = this.shape(n.weight, dims);
        let dy = dOut;
        if (n.act !== undefined) {
          dy = await this.kernels.activationGrad(dOut, tape.pre.get(n.out)!, n.act);
        } else if (n.gate !== undefined) {
          const pre = tape.pre.get(n.out)!;
          const gate = val(n.gate);
          const f = activationFn(n.gateAct!);
          dy = new Float64Array(dOut.length);
          for (let i = 0; i < dy.length; i++) dy[i] = dOut[i] * f(gate[i]);
          const dg = want("gate", n.gate);
          if (dg) gatedBackward(dOut, gate, pre, n.gateAct!, dg, null);
        }
        const x = val(n.x);
        await this.kernels.linearBackward(dy, x, x.length / inDim, inDim, val(n.weight), outDim, want("x", n.x), want("weight", n.weight), want("bias", n.bias));
        return;
      }
      case "activation": {
        accumulate(want("x", n.x)!, await this.kernels.activationGrad(dOut, val(n.x), n.act));
        return;
      }
      case "gated":
        gatedBackward(dOut, val(n.gate), val(n.up), n.act, want("gate", n.gate), want("up", n.up));
        return;
      case "softcap":
        softcapBackward(dOut, val(n.x), n.cap, want("x", n.x)!);
        return;
      case "attention":
      case "linear_attention": {
        const d = this.attentionDims(n, dims);
        const [q, k] = this.rotated(n, val(n.q), val(n.k), d);
        const dqR = want("q", n.q) ? new Float64Array(q.length) : null;
        const dkR = want("k", n.k) ? new Float64Array(k.length) : null;
        const dv = want("v", n.v) ? new Float64Array(val(n.v).length) : null;
        const keyMask = n.padding !== undefined ? (tape.values.get(n.padding) as Uint8Array) : undefined;
        if (n.op === "attention") {
          // The forward's own dropout counters: the kernel regenerates the same masks.
          const o = attentionOptions(n, keyMask, tape.attentionDropout.get(n.out));
          await this.kernels.attentionBackward(q, k, val(n.v), val(n.out), tape.lse.get(n.out)!, dOut, d, o, dqR, dkR, dv);
        } else {
          linearAttentionBackward(q, k, val(n.v), val(n.out), dOut, d, { causal: n.causal, featureMap: n.featureMap, ...(keyMask !== undefined ? { keyMask } : {}) }, dqR, dkR, dv);
        }
        // Back through RoPE: the transposed rotation.
        const unrotate = (g: Float64Array, heads: number, seq: number) => (n.rope ? rope(g, d.batch, seq, heads, d.headDim, n.rope, true) : g);
        if (dqR) accumulate(want("q", n.q)!, unrotate(dqR, d.heads, d.seqQ));
        if (dkR) accumulate(want("k", n.k)!, unrotate(dkR, d.kvHeads, d.seqK));
        if (dv) accumulate(want("v", n.v)!, dv);
        return;
      }
      case "ssm_conv":
        await this.kernels.ssmConvBackward(dOut, val(n.x), this.convDims(n, dims), val(n.weight), n.bias === undefined ? null : val(n.bias), want("x", n.x), want("weight", n.weight), want("bias", n.bias));
        return;
      case "ssm_scan": {
        const w = { dtWeight: val(n.dtWeight), dtBias: val(n.dtBias), aLog: val(n.aLog), d: val(n.d) };
        const grads = { u: want("u", n.u), proj: want("proj", n.proj), z: want("z", n.z), dtWeight: want("dtWeight", n.dtWeight), dtBias: want("dtBias", n.dtBias), aLog: want("aLog", n.aLog), d: want("d", n.d) };
        await this.kernels.ssmScanBackward(dOut, val(n.u), val(n.proj), val(n.z), this.scanDims(n, dims), w, grads);
        return;
      }
      case "dropout": {
        const dx = want("x", n.x)!;
        const mask = tape.masks.get(n.out);
        if (mask === undefined) {
          accumulate(dx, dOut); // dropout was off in this forward
          return;
        }
        const keep = 1 / (1 - n.p);
        for (let i = 0; i < dOut.length; i++) if (mask[i]) dx[i] += dOut[i] * keep;
        return;
      }
      case "output": {
        accumulate(want("x", n.x)!, dOut);
        return;
      }
      case "input":
      case "weight":
        return;
      default:
        unhandledOp(n, "backward");
    }
    void params;
  }

  /** Loss and parameter gradients of one batch. */
  async lossAndGrads(params: Params, batch: Batch, o: ForwardOptions & { smoothing: number }): Promise<{ loss: number; count: number; grads: Map<string, Float64Array> }> {
    const tape = await this.forward(params, batch, o);
    const l = this.loss(tape, batch, o.smoothing);
    const grads = await this.backward(tape, l.dLogits, params);
    return { loss: l.loss, count: l.count, grads };
  }
}
