// Runs a BackwardProgram: the forward program with a tape, the loss, and the backward steps
// (engine-backward.ts), each one vector–Jacobian kernel call — matmuls and attention through
// the TrainKernels of the chosen target (kernels.ts), the rest on the reference kernels
// (backends/reference/backward). Activations and gradients are float64 on the reference
// target; where the target's kernels compute in float32 (`float32`: wasm) their outputs stay
// Float32Array, parameters are passed as given, and the gradients that pass only from one
// kernel to the next are Float32Array (float32Gradients), so no value is converted to float64
// and back on its way between two kernels. Parameter gradients are float64 on every target.
// Parameters are Float32Array when training, Float64Array in finite-difference checks.

import {
  embedForward,
  gatedForward,
  linearAttentionForward,
  normForward,
  positionForward,
  softcapForward,
  accumulate,
  type Num,
} from "../../backends/reference/backward/index.ts";
import { unhandledOp } from "../ir/ops.ts";
import type { Node } from "../ir/ir.ts";
import type { BackwardProgram } from "./autodiff.ts";
import { backwardNode, type GradSink } from "./engine-backward.ts";
import { attentionOptions, f64, float32Gradients, NodeShapes, type Batch, type ForwardOptions, type Params, type Stored, type Tape } from "./engine-nodes.ts";
import { referenceKernels, type TrainKernels } from "./kernels.ts";
import { crossEntropy } from "./loss.ts";
import { hash32 } from "./rng.ts";

export { attentionOptions, type Batch, type ForwardOptions, type Params, type Tape } from "./engine-nodes.ts";

export class TrainingEngine extends NodeShapes {
  /** On a float32 target: the values whose gradients stay Float32Array (float32Gradients). */
  private f32Grads?: Set<number>;

  constructor(program: BackwardProgram, kernels: TrainKernels = referenceKernels) {
    super(program, kernels);
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
    tape.logits = f64(env.get(this.program.logits)!);
    if (!keepAll) for (const id of [...env.keys()]) if (!this.program.tape.has(id)) env.delete(id);
    return tape;
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
        // On float64 targets a float64 copy per forward: the kernels then see one array type (V8
        // runs them ~2× faster monomorphic), and the copy is small next to the activations.
        return w instanceof Float64Array || this.kernels.float32 ? w : new Float64Array(w);
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
        return sumOf(this.pool.any64(a.length), a, b);
      }
      case "norm": {
        const x = val(n.x);
        const dim = this.shape(n.weight, dims)[0];
        const args = [n.kind, x, x.length / dim, dim, val(n.weight), n.bias === undefined ? null : val(n.bias), n.eps, n.offset] as const;
        return this.kernels.normForward ? await this.kernels.normForward(...args) : normForward(...args);
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
          // The residual stream stays float64 on every target (one rounding fewer per layer).
          if (out !== y && out instanceof Float64Array) accumulate(out, val(n.residual));
          else out = sumOf(this.pool.any64(out.length), out, val(n.residual));
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
        const out = this.pool.zeros64(x.length);
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
    const k = this.kernels;
    return k.crossEntropy ? k.crossEntropy(tape.logits, batch.targets, vocab, smoothing, wantGrad) : crossEntropy(tape.logits, batch.targets, vocab, smoothing, wantGrad);
  }

  /**
   * The backward program: parameter gradients (float64) by weight name, given d loss / d logits.
   * With `into` (a step's earlier answer), the gradients are written into its arrays, zeroed
   * first, instead of fresh ones. `ownLogits`: dLogits is the engine's own (lossAndGrads), so it
   * may become another value's gradient rather than be copied there.
   */
  async backward(tape: Tape, dLogits: Float64Array, params: Params, into?: Map<string, Float64Array>, ownLogits = false): Promise<Map<string, Float64Array>> {
    const g = this.program.forward;
    const dims = tape.dims;
    const grads = new Map<number, Num>([[this.program.logits, dLogits]]);
    const paramIds = new Set(this.program.params.values());
    const paramGrads = new Map<number, Float64Array>();
    if (into) for (const [name, id] of this.program.params) paramGrads.set(id, into.get(name)!.fill(0));
    const single = this.kernels.float32 ? (this.f32Grads ??= float32Gradients(this.program)) : undefined;
    // The gradients this pass allocated (so it may hand one on to another value, as `pass` does).
    const owned = new Set<Num>(ownLogits ? [dLogits] : []);
    const gradOf = (id: number): Num => {
      let a = grads.get(id);
      if (a === undefined) {
        const len = this.shape(id, dims).reduce((x, y) => x * y, 1);
        // Parameter gradients leave the pass: never the pool's.
        if (paramIds.has(id)) a = paramGrads.get(id) ?? new Float64Array(len);
        else owned.add((a = single?.has(id) ? this.pool.zeros32(len) : this.pool.zeros64(len)));
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
      // dOut dies with this step unless it is a parameter's: it may then become the gradient of
      // one input nothing has added into yet (0 + dOut is dOut) and no other field writes.
      let movable = owned.has(dOut) && !paramIds.has(s.seed);
      const sink: GradSink = {
        wantAny: (field, id) => (id !== undefined && fields.has(field) ? gradOf(id) : null),
        want: (field, id) => {
          const a = sink.wantAny(field, id);
          if (a !== null && !(a instanceof Float64Array)) throw new Error(`the gradient of %${id} is float32 here, where only a linear's dx may write one`);
          return a;
        },
        pass: (field, id, d) => {
          if (id === undefined || !fields.has(field)) return;
          if (movable && d === dOut && d instanceof Float64Array && !grads.has(id) && !paramIds.has(id) && !single?.has(id) && s.writes.filter((w) => w.value === id).length === 1) {
            grads.set(id, d);
            movable = false;
          } else accumulate(sink.want(field, id)!, d);
        },
      };
      try {
        await backwardNode(this, n, dOut, sink, val, tape);
      } catch (e) {
        if (e instanceof Error) e.message = `backward: node %${n.out} (${n.op} "${g.values[n.out].name}"): ${e.message}`;
        throw e;
      }
      if (!paramIds.has(s.seed)) grads.delete(s.seed);
    }
    const out = new Map<string, Float64Array>();
    for (const [name, id] of this.program.params) {
      const gr = grads.get(id) ?? paramGrads.get(id) ?? new Float64Array(params.get(name)!.length);
      if (!(gr instanceof Float64Array)) throw new Error(`the gradient of parameter ${name} is not float64`);
      out.set(name, gr);
    }
    return out;
  }

  /**
   * Loss and parameter gradients of one batch; with `into`, the gradients go into its arrays
   * (the Trainer passes the last step's). Inside, the engine and the kernels reuse the last
   * call's tape and intermediate arrays (buffer-pool.ts): none of them outlives the call.
   */
  async lossAndGrads(params: Params, batch: Batch, o: ForwardOptions & { smoothing: number }, into?: Map<string, Float64Array>): Promise<{ loss: number; count: number; grads: Map<string, Float64Array> }> {
    this.pool.open();
    this.kernels.stepBegin?.();
    try {
      const tape = await this.forward(params, batch, o);
      const l = this.loss(tape, batch, o.smoothing);
      const grads = await this.backward(tape, l.dLogits, params, into, true);
      return { loss: l.loss, count: l.count, grads };
    } finally {
      this.kernels.stepEnd?.();
      this.pool.close();
    }
  }
}

/** dst = a + b, elementwise (an add node, or a residual sum: the sublayer's output and the float64 stream). */
function sumOf(dst: Float64Array, a: Num, b: Num): Float64Array {
  for (let i = 0; i < dst.length; i++) dst[i] = a[i] + b[i];
  return dst;
}
