// The Model API, written once over any backend's Executor: input validation, the context
// rule, the decode-state lifecycle, padding-mask history and the incremental-decoding rule.
// A backend that runs the entries of the shared phase split gets all of it for free, and
// every backend rejects the same calls with the same messages.

import type { Graph } from "../ir/ir.ts";
import { splitPhases, stepProblem } from "../ir/phases.ts";
import type { ModelInfo } from "../model/model.ts";
import type { Call, Executor } from "./executor.ts";
import { generate } from "./generate.ts";
import { bindInputs, planInputs, type InputPlan } from "./inputs.ts";
import { ModelInputError, type DecodeState, type ForwardOptions, type GenerateOptions, type Model } from "./model-api.ts";

class State implements DecodeState {
  position = 0;
  disposed = false;
  /** Set when a step failed part-way: the caches may hold half an update. */
  broken = false;
  /** Per step-fed padding input: [batch, position], 1 = real token. */
  readonly masks = new Map<string, Uint8Array>();

  constructor(
    readonly owner: CompiledModel,
    readonly batch: number,
    readonly src: number,
    readonly inner: unknown,
  ) {}

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.owner.release(this);
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

/** The given keys of `o` whose values are defined (strict optional properties stay absent). */
function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * The context rule for a section whose spec declares no bound (no `where seq <= …`, no learned
 * position table): every backend takes this many positions, generation stops there and a longer
 * call is refused with the same message everywhere (the Wasm arena is sized for it; WebGPU's
 * buffers and the reference's arrays would grow further, and then the backends would differ).
 * A build may cap lower (a Wasm `maxSeq`), never higher; declaring a bound sets another.
 */
export const UNBOUNDED_CONTEXT = 2048;

/** What a model's API accepts, decided by its spec and program: the runtime and the generated `.d.ts` both read this. */
export interface Capabilities {
  /** A padding input over the decoder's tokens exists: `mask` is accepted. */
  mask: boolean;
  /** The encoder's tokens have a padding input: `src.mask` is accepted. */
  srcMask: boolean;
  /** Why begin/step/generate are refused, or undefined when the model decodes incrementally. */
  decodeProblem: string | undefined;
  /** Padding inputs fed again on every step (their history is kept per state). */
  stepMasks: string[];
}

export function capabilities(m: ModelInfo, program: Graph): Capabilities {
  const plan = planInputs(m);
  const fed = new Set([plan.tokens.name, ...(plan.mask ? [plan.mask.name] : [])]);
  const fedOnce = new Set([plan.source?.name, plan.sourceMask?.name].filter((n): n is string => n !== undefined));
  return {
    mask: plan.mask !== undefined,
    srcMask: plan.sourceMask !== undefined,
    decodeProblem: stepProblem(splitPhases(program, plan.stepInputs), fed, fedOnce),
    stepMasks: plan.mask && plan.stepInputs.has(plan.mask.name) ? [plan.mask.name] : [],
  };
}

export class CompiledModel implements Model {
  readonly config: Model["config"];
  private readonly plan: InputPlan;
  private readonly decodeProblem: string | undefined;
  private readonly stepMasks: string[];
  private readonly live = new Set<State>();
  private disposed = false;
  /** Calls still running: dispose() waits for them before the executor frees anything. */
  private inflight = 0;

  constructor(
    private readonly m: ModelInfo,
    program: Graph,
    private readonly ex: Executor,
    /** Names the build in cap messages, e.g. "Wasm". */
    private readonly buildName: string,
  ) {
    this.plan = planInputs(m);
    const caps = capabilities(m, program);
    this.decodeProblem = caps.decodeProblem;
    this.stepMasks = caps.stepMasks;
    const context = minDefined(this.plan.context ?? UNBOUNDED_CONTEXT, ex.caps.context);
    this.config = { name: m.name, vocab: m.head.vocab, ...(context !== undefined ? { context } : {}), dims: Object.fromEntries(m.dims) };
  }

  private alive(): void {
    if (this.disposed) throw new ModelInputError(`model ${this.m.name} is disposed`);
  }

  /** The context rule for unbounded specs, then the build's own caps, past the spec's bounds that bindInputs checks. */
  private checkCaps(seq: number, position: number, src: number | undefined): void {
    const unbounded = (what: string, dim: string | number | undefined) =>
      `${what} the context of ${UNBOUNDED_CONTEXT} that every backend gives a spec without a bound (declare \`where ${typeof dim === "string" ? dim : "seq"} <= N\` for another)`;
    if (this.plan.context === undefined && position + seq > UNBOUNDED_CONTEXT) {
      const name = this.plan.tokens.name;
      throw new ModelInputError(
        unbounded(position === 0 ? `input "${name}": seq ${seq} exceeds` : `input "${name}": ${seq} more token(s) at position ${position} would exceed`, this.plan.tokens.shape[1]),
      );
    }
    if (src !== undefined && this.plan.source && this.plan.sourceContext === undefined && src > UNBOUNDED_CONTEXT) {
      throw new ModelInputError(unbounded(`input "${this.plan.source.name}": src.seq ${src} exceeds`, this.plan.source.shape[1]));
    }
    const cap = this.ex.caps.context;
    if (cap !== undefined && position + seq > cap) {
      throw new ModelInputError(
        `input "${this.plan.tokens.name}": positions up to ${position + seq} exceed this ${this.buildName} build's cap of ${cap} (compile with a larger maxSeq)`,
      );
    }
    const srcCap = this.ex.caps.sourceContext;
    if (src !== undefined && srcCap !== undefined && src > srcCap) {
      throw new ModelInputError(`input "${this.plan.source!.name}": src.seq ${src} exceeds this ${this.buildName} build's cap of ${srcCap}`);
    }
  }

  /** Runs `f` counted as in flight, so that a dispose() meanwhile frees nothing it uses. */
  private async track<T>(f: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await f();
    } finally {
      if (--this.inflight === 0 && this.disposed) this.free();
    }
  }

  async forward(tokens: Int32Array, opts?: ForwardOptions): Promise<Float32Array> {
    this.alive();
    const o: ForwardOptions = opts ?? { batch: 1, seq: tokens instanceof Int32Array ? tokens.length : 0 };
    const inputs = bindInputs(this.m, this.plan, { batch: o.batch, tokens, seq: o.seq, ...pick(o, "mask", "inputs", "src") }, this.m.inputs.map((i) => i.name));
    const src = o.src?.seq ?? 0;
    this.checkCaps(o.seq, 0, this.plan.source ? src : undefined);
    return this.track(() => this.ex.forward(inputs, { batch: o.batch, seq: o.seq, position: 0, src }));
  }

  async begin(opts: { batch: number; src?: ForwardOptions["src"] }): Promise<DecodeState> {
    this.alive();
    if (this.decodeProblem) throw new ModelInputError(`model ${this.m.name} cannot decode incrementally: ${this.decodeProblem}`);
    const staticInputs = this.m.inputs.filter((i) => !this.plan.stepInputs.has(i.name)).map((i) => i.name);
    const inputs = bindInputs(this.m, this.plan, { batch: opts.batch, ...pick(opts, "src") }, staticInputs);
    const src = opts.src?.seq ?? 0;
    if (this.plan.source) this.checkCaps(0, 0, src);
    const inner = await this.track(() => this.ex.begin(inputs, { batch: opts.batch, seq: 0, position: 0, src }));
    if (this.disposed) {
      this.ex.release(inner);
      throw new ModelInputError(`model ${this.m.name} was disposed while begin() ran`);
    }
    const state = new State(this, opts.batch, src, inner);
    for (const name of this.stepMasks) state.masks.set(name, new Uint8Array(0));
    this.live.add(state);
    return state;
  }

  async step(state: DecodeState, tokens: Int32Array, n: number, opts: { mask?: Uint8Array } = {}): Promise<Float32Array> {
    this.alive();
    if (!(state instanceof State) || state.owner !== this) throw new ModelInputError("step: the state was not created by this model's begin()");
    if (state.disposed) throw new ModelInputError("step: the state has been disposed");
    if (state.broken) throw new ModelInputError("step: an earlier step on this state failed part-way; begin a new state");
    const inputs = bindInputs(this.m, this.plan, { batch: state.batch, tokens, seq: n, position: state.position, ...pick(opts, "mask") }, this.plan.stepInputs);
    this.checkCaps(n, state.position, undefined);
    const call: Call = { batch: state.batch, seq: n, position: state.position, src: state.src };
    const history = new Map(state.masks);
    for (const [name, h] of history) history.set(name, appendColumns(h, inputs.get(name)!.data as Uint8Array, state.batch));
    try {
      const logits = await this.track(() => this.ex.step(state.inner, inputs, history, call));
      for (const [name, h] of history) state.masks.set(name, h);
      state.position += n;
      return logits;
    } catch (e) {
      state.broken = true;
      throw e;
    }
  }

  generate(prompt: Int32Array, opts: GenerateOptions): AsyncIterable<number> {
    this.alive();
    return generate(this, prompt, opts);
  }

  /** Called by a state's dispose(): its caches go back to the executor. */
  release(state: State): void {
    if (!this.live.delete(state) || this.disposed) return;
    this.ex.release(state.inner);
  }

  /** Frees everything now, or once the calls in flight have finished. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.inflight === 0) this.free();
  }

  private free(): void {
    for (const s of this.live) this.ex.release(s.inner);
    this.live.clear();
    this.ex.dispose();
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
