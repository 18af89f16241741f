// The WebGPU backend's Model: the reference backend's input validation (so both reject the same
// inputs with the same messages), the compiled plan replayed by runtime.ts, and decode states
// whose KV caches, linear-attention states and encoder outputs stay on the GPU.

import type { Graph } from "../../src/ir/ir.ts";
import { outputSection, type ModelInfo } from "../../src/model/model.ts";
import { generate } from "../../src/runtime/generate.ts";
import { ModelInputError, type DecodeState, type ForwardOptions, type GenerateOptions, type Model } from "../../src/runtime/model-api.ts";
import { bindInputs, planInputs, type InputPlan } from "../reference/inputs.ts";
import type { Tensor } from "../reference/values.ts";
import { compileWgsl, type CompiledWgsl } from "./compile.ts";
import { isCpuAdapter, requestDevice } from "./device.ts";
import type { AttentionMode } from "./kernels/attention.ts";
import type { MatmulVariant } from "./kernels/matmul.ts";
import { limitsOf, type WgslLimits } from "./plan.ts";
import { Context, WgslProgram } from "./runtime.ts";

export interface WebGpuModelOptions {
  /** Device to run on; without one the model creates (and on dispose destroys) its own. */
  device?: GPUDevice;
  /** Matmul kernel variant; default "register" on a CPU adapter (llvmpipe), else "blocked". */
  matmul?: MatmulVariant;
  /** Attention kernel; default "walk" on a CPU adapter, else "tiles". */
  attention?: AttentionMode;
  /** Limits tighter than the device's, e.g. to check that a model fits a smaller GPU. */
  limits?: Partial<WgslLimits>;
}

/** Smallest KV-cache capacity a decode state starts with (rows per sequence). */
const MIN_CACHE = 64;

class WebGpuState implements DecodeState {
  position = 0;
  disposed = false;
  broken = false;
  /** Rows per sequence the KV caches hold. */
  cap: number;

  constructor(
    readonly owner: WebGpuModel,
    readonly batch: number,
    readonly src: number,
    readonly ctx: Context,
    cap: number,
  ) {
    this.cap = cap;
  }

  dispose(): void {
    this.disposed = true;
    this.ctx.dispose();
  }
}

class WebGpuModel implements Model {
  readonly config: Model["config"];
  private readonly inputs: InputPlan;
  private readonly decodeProblem: string | undefined;
  private forwardCtx: Context | undefined;
  private disposed = false;

  constructor(
    private readonly m: ModelInfo,
    graph: Graph,
    readonly program: WgslProgram,
    readonly compiled: CompiledWgsl,
    private readonly ownDevice: boolean,
  ) {
    this.inputs = planInputs(m);
    this.config = {
      name: m.name,
      vocab: m.head.vocab,
      ...(this.inputs.context !== undefined ? { context: this.inputs.context } : {}),
      dims: Object.fromEntries(m.dims),
    };
    this.decodeProblem = this.findDecodeProblem(graph);
  }

  private findDecodeProblem(g: Graph): string | undefined {
    const seq = outputSection(this.m).seqDim;
    for (const n of g.nodes) {
      if ((n.op === "attention" || n.op === "linear_attention") && n.source === "self" && !n.causal && g.values[n.q].shape[1] === seq) {
        return `attention "${n.cache}" is bidirectional, so earlier positions depend on later tokens; use forward()`;
      }
    }
    const fed = new Set([this.inputs.tokens.name, ...(this.inputs.mask ? [this.inputs.mask.name] : [])]);
    const other = [...this.inputs.stepInputs].find((n) => !fed.has(n));
    return other === undefined ? undefined : `step() cannot supply input "${other}"; use forward()`;
  }

  private live(): void {
    if (this.disposed) throw new Error(`model ${this.m.name} is disposed`);
  }

  /** Queues the validated inputs into ctx's input buffers; masks land in columns [pos, pos + n) of a `stride`-wide history. */
  private writeInputs(ctx: Context, inputs: Map<string, Tensor>, at: { pos: number; stride: number } = { pos: 0, stride: 0 }): void {
    const q = this.program.device.queue;
    for (const [name, t] of inputs) {
      const pi = this.compiled.plan.inputs[name];
      if (!pi) continue; // an input the graph never reads
      const buf = ctx.buffer(pi.buffer);
      if (pi.kind === "ids") {
        // A copy: the caller's array may be a view on a SharedArrayBuffer or another buffer's slice.
        q.writeBuffer(buf, 0, Int32Array.from(t.data));
        continue;
      }
      const [batch, n] = t.shape;
      const data = Uint32Array.from(t.data);
      if (pi.sym === "src" || at.stride === 0) q.writeBuffer(buf, 0, data);
      else for (let b = 0; b < batch; b++) q.writeBuffer(buf, (b * at.stride + at.pos) * 4, data, b * n, n);
    }
  }

  async forward(tokens: Int32Array, opts: ForwardOptions): Promise<Float32Array> {
    this.live();
    const inputs = bindInputs(
      this.m,
      this.inputs,
      { batch: opts.batch, tokens, seq: opts.seq, ...pick(opts, "mask", "inputs", "src") },
      this.m.inputs.map((i) => i.name),
    );
    const { batch, seq } = opts;
    const src = opts.src?.seq ?? 0;
    return this.program.exclusive(async () => {
      this.forwardCtx ??= new Context(this.program);
      const ctx = this.forwardCtx;
      ctx.ensure({ B: batch, R: batch * seq, S: batch * src, K: batch * seq });
      this.writeInputs(ctx, inputs);
      const out = await this.program.run(ctx, { batch, seq, src, pos: 0, cap: seq }, new Set(["static", "step"] as const), { clearStates: true, logitsRows: batch * seq });
      return out!;
    });
  }

  async begin(opts: { batch: number; src?: ForwardOptions["src"] }): Promise<DecodeState> {
    this.live();
    if (this.decodeProblem) throw new Error(`model ${this.m.name} cannot decode incrementally: ${this.decodeProblem}`);
    const staticInputs = this.m.inputs.filter((i) => !this.inputs.stepInputs.has(i.name)).map((i) => i.name);
    const inputs = bindInputs(this.m, this.inputs, { batch: opts.batch, ...pick(opts, "src") }, staticInputs);
    const batch = opts.batch;
    const src = opts.src?.seq ?? 0;
    const cap = Math.min(this.config.context ?? Infinity, MIN_CACHE);
    return this.program.exclusive(async () => {
      const ctx = new Context(this.program);
      try {
        ctx.ensure({ B: batch, R: batch, S: batch * src, K: batch * cap });
        this.writeInputs(ctx, inputs);
        if (this.compiled.plan.dispatches.some((d) => d.phase === "static")) {
          await this.program.run(ctx, { batch, seq: 0, src, pos: 0, cap }, new Set(["static"] as const), { clearStates: false, logitsRows: 0 });
        }
      } catch (e) {
        ctx.dispose();
        throw e;
      }
      return new WebGpuState(this, batch, src, ctx, cap);
    });
  }

  async step(state: DecodeState, tokens: Int32Array, n: number, opts: { mask?: Uint8Array } = {}): Promise<Float32Array> {
    this.live();
    if (!(state instanceof WebGpuState) || state.owner !== this) throw new ModelInputError("step: the state was not created by this model's begin()");
    if (state.disposed) throw new ModelInputError("step: the state has been disposed");
    if (state.broken) throw new Error("step: an earlier step on this state failed part-way; begin a new state");
    const inputs = bindInputs(this.m, this.inputs, { batch: state.batch, tokens, seq: n, position: state.position, ...pick(opts, "mask") }, this.inputs.stepInputs);
    return this.program.exclusive(async () => {
      try {
        const { batch, src, position: pos } = state;
        if (pos + n > state.cap) {
          let cap = state.cap;
          while (cap < pos + n) cap *= 2;
          cap = Math.min(cap, Math.max(this.config.context ?? Infinity, pos + n));
          state.ctx.ensure({ K: batch * cap }, { batch, rows: pos, from: state.cap, to: cap });
          state.cap = cap;
        }
        state.ctx.ensure({ R: batch * n });
        this.writeInputs(state.ctx, inputs, { pos, stride: state.cap });
        const logits = await this.program.run(state.ctx, { batch, seq: n, src, pos, cap: state.cap }, new Set(["step"] as const), { clearStates: false, logitsRows: batch * n });
        state.position += n;
        return logits!;
      } catch (e) {
        state.broken = true;
        throw e;
      }
    });
  }

  generate(prompt: Int32Array, opts: GenerateOptions): AsyncIterable<number> {
    this.live();
    return generate(this, prompt, opts);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.forwardCtx?.dispose();
    this.program.destroy();
    if (this.ownDevice) this.program.device.destroy();
  }
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * A Model running `graph` (lowered from `m`, see inferenceGraph) as WGSL compute pipelines.
 * All pipelines are created and all weights uploaded here, once.
 */
export async function createWebGpuModel(
  m: ModelInfo,
  graph: Graph,
  weights: Map<string, Float32Array>,
  opts: WebGpuModelOptions = {},
): Promise<Model> {
  const device = opts.device ?? (await requestDevice());
  try {
    // On a CPU adapter barriers are coroutine switches: the barrier-free kernels win there.
    const cpu = isCpuAdapter(device.adapterInfo);
    const compiled = compileWgsl(m, graph, tighten(limitsOf(device), opts.limits), {
      matmul: opts.matmul ?? (cpu ? "register" : "blocked"),
      attention: opts.attention ?? (cpu ? "walk" : "tiles"),
    });
    const program = await WgslProgram.create(device, compiled, weights);
    return new WebGpuModel(m, graph, program, compiled, opts.device === undefined);
  } catch (e) {
    if (opts.device === undefined) device.destroy();
    throw e;
  }
}

/** The device's limits, lowered (never raised) by the caller's. */
function tighten(device: WgslLimits, extra: Partial<WgslLimits> | undefined): WgslLimits {
  const out = { ...device };
  for (const [k, v] of Object.entries(extra ?? {}) as [keyof WgslLimits, number | boolean][]) {
    if (typeof v === "boolean") (out as Record<string, unknown>)[k] = (device[k] as boolean) && v;
    else (out as Record<string, unknown>)[k] = Math.min(device[k] as number, v);
  }
  return out;
}
