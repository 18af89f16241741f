// The reference backend's Model: input validation, the graph interpreter, and per-sequence
// decode states holding KV caches, linear-attention states and the encoder's output.

import type { Graph } from "../../src/ir/ir.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import { generate } from "../../src/runtime/generate.ts";
import { ModelInputError, type DecodeState, type ForwardOptions, type GenerateOptions, type Model } from "../../src/runtime/model-api.ts";
import { GraphExecutor } from "./executor.ts";
import { bindInputs, planInputs, type InputPlan } from "./inputs.ts";
import { linearAttentionState } from "./kernels/index.ts";
import { f32, type DecodeCaches, type Env } from "./values.ts";

class ReferenceState implements DecodeState {
  position = 0;
  disposed = false;
  /** Set when a step failed part-way: its caches may hold half an update. */
  broken = false;

  constructor(
    readonly owner: ReferenceModel,
    readonly batch: number,
    /** Weights plus every static value: the encoder's output and cross-attention K/V. */
    readonly env: Env,
    readonly caches: DecodeCaches,
  ) {}

  dispose(): void {
    this.disposed = true;
    this.env.clear();
    this.caches.kv.clear();
    this.caches.linear.clear();
    this.caches.masks.clear();
  }
}

/** [batch, a] ++ [batch, b] along the sequence axis. */
function appendColumns(history: Uint8Array, add: Uint8Array, batch: number): Uint8Array {
  const a = history.length / batch;
  const b = add.length / batch;
  const out = new Uint8Array(batch * (a + b));
  for (let i = 0; i < batch; i++) {
    out.set(history.subarray(i * a, (i + 1) * a), i * (a + b));
    out.set(add.subarray(i * b, (i + 1) * b), i * (a + b) + a);
  }
  return out;
}

class ReferenceModel implements Model {
  readonly config: Model["config"];
  private readonly plan: InputPlan;
  private readonly ex: GraphExecutor;
  /** Why begin() must refuse, if the graph cannot be decoded one step at a time. */
  private readonly decodeProblem: string | undefined;
  private disposed = false;

  constructor(
    private readonly m: ModelInfo,
    private readonly graph: Graph,
    weights: ReadonlyMap<string, Float32Array>,
  ) {
    this.plan = planInputs(m);
    this.ex = new GraphExecutor(graph, weights, this.plan.stepInputs);
    this.config = {
      name: m.name,
      vocab: m.head.vocab,
      ...(this.plan.context !== undefined ? { context: this.plan.context } : {}),
      dims: Object.fromEntries(m.dims),
    };
    this.decodeProblem = this.findDecodeProblem();
  }

  private findDecodeProblem(): string | undefined {
    for (const n of this.ex.stepNodes) {
      if ((n.op === "attention" || n.op === "linear_attention") && n.source === "self" && !n.causal) {
        return `attention "${n.cache}" is bidirectional, so earlier positions depend on later tokens; use forward()`;
      }
    }
    const fed = new Set([this.plan.tokens.name, ...(this.plan.mask ? [this.plan.mask.name] : [])]);
    const other = [...this.plan.stepInputs].find((n) => !fed.has(n));
    return other === undefined ? undefined : `step() cannot supply input "${other}"; use forward()`;
  }

  private live(): void {
    if (this.disposed) throw new Error(`model ${this.m.name} is disposed`);
  }

  async forward(tokens: Int32Array, opts: ForwardOptions): Promise<Float32Array> {
    this.live();
    const inputs = bindInputs(
      this.m,
      this.plan,
      { batch: opts.batch, tokens, seq: opts.seq, ...pick(opts, "mask", "inputs", "src") },
      this.m.inputs.map((i) => i.name),
    );
    const env = this.ex.weightsEnv();
    this.ex.run(this.graph.nodes.filter((n) => n.op !== "weight"), env, { offset: 0, inputs });
    return f32(env, this.ex.logits).data;
  }

  async begin(opts: { batch: number; src?: ForwardOptions["src"] }): Promise<DecodeState> {
    this.live();
    if (this.decodeProblem) throw new Error(`model ${this.m.name} cannot decode incrementally: ${this.decodeProblem}`);
    const staticInputs = this.m.inputs.filter((i) => !this.plan.stepInputs.has(i.name)).map((i) => i.name);
    const inputs = bindInputs(this.m, this.plan, { batch: opts.batch, ...pick(opts, "src") }, staticInputs);
    const env = this.ex.weightsEnv();
    this.ex.run(this.ex.staticNodes, env, { offset: 0, inputs });

    const caches: DecodeCaches = { batch: opts.batch, kv: new Map(), linear: new Map(), masks: new Map() };
    for (const n of this.ex.stepNodes) {
      if (n.op === "attention" && n.source === "self") {
        caches.kv.set(n.cache, { k: new Float32Array(0), v: new Float32Array(0), start: 0, length: 0 });
      } else if (n.op === "linear_attention" && n.source === "self") {
        caches.linear.set(n.cache, linearAttentionState(opts.batch, n.kvHeads, n.headDim));
      }
    }
    if (this.plan.mask && this.plan.stepInputs.has(this.plan.mask.name)) caches.masks.set(this.plan.mask.name, new Uint8Array(0));
    return new ReferenceState(this, opts.batch, env, caches);
  }

  async step(state: DecodeState, tokens: Int32Array, n: number, opts: { mask?: Uint8Array } = {}): Promise<Float32Array> {
    this.live();
    if (!(state instanceof ReferenceState) || state.owner !== this) {
      throw new ModelInputError("step: the state was not created by this model's begin()");
    }
    if (state.disposed) throw new ModelInputError("step: the state has been disposed");
    if (state.broken) throw new Error("step: an earlier step on this state failed part-way; begin a new state");
    const inputs = bindInputs(
      this.m,
      this.plan,
      { batch: state.batch, tokens, seq: n, position: state.position, ...pick(opts, "mask") },
      this.plan.stepInputs,
    );
    try {
      for (const [name, history] of state.caches.masks) {
        state.caches.masks.set(name, appendColumns(history, inputs.get(name)!.data as Uint8Array, state.batch));
      }
      const env = new Map(state.env);
      this.ex.run(this.ex.stepNodes, env, { offset: state.position, inputs, decode: state.caches });
      state.position += n;
      return f32(env, this.ex.logits).data;
    } catch (e) {
      state.broken = true;
      throw e;
    }
  }

  generate(prompt: Int32Array, opts: GenerateOptions): AsyncIterable<number> {
    this.live();
    return generate(this, prompt, opts);
  }

  dispose(): void {
    this.disposed = true;
  }
}

/** The given keys of `o` whose values are defined (strict optional properties stay absent). */
function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * A Model that interprets `graph` (lowered from `m`, dropout removed) with the reference
 * kernels. `weights` holds native names (bindWeights); missing or mis-sized tensors throw.
 */
export function createReferenceModel(m: ModelInfo, graph: Graph, weights: Map<string, Float32Array>): Model {
  return new ReferenceModel(m, graph, weights);
}
