// The Wasm backend's Model: the reference backend's input validation (same errors for the
// same bad inputs), then the specialised module. A forward is a fresh decode state run over
// the whole sequence; sequences are processed in chunks that fit the arena's rows.

import type { Graph } from "../../src/ir/ir.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import { generate } from "../../src/runtime/generate.ts";
import { ModelInputError, type DecodeState, type ForwardOptions, type GenerateOptions, type Model } from "../../src/runtime/model-api.ts";
import { bindInputs, planInputs, type InputPlan } from "../reference/inputs.ts";
import type { Tensor } from "../reference/values.ts";
import type { CompiledWasm } from "./compile.ts";
import { checkWeights, fillStatic } from "./load.ts";
import { MAX_BYTES, MAX_THREADS, planWasm, type WasmPlan } from "./plan.ts";
import { formatBytes, WasmRuntime } from "./runtime.ts";
import { StateRegion, stateLayout } from "./state.ts";

export interface WasmModelOptions {
  /** Threads (the calling one included) splitting every op; default 1. */
  threads?: number;
  /** Use relaxed SIMD (fused multiply-add): default when the engine supports it. */
  relaxed?: boolean;
  /** Positions cap for sections without a declared bound (default 2048). */
  maxSeq?: number;
  /** A build from compileWasm for this model and graph, to skip compiling again. */
  compiled?: CompiledWasm;
}

// (module (func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd …))): valid only where
// the engine has relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd).
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 133, 2, 11,
]);

export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

class WasmState implements DecodeState {
  position = 0;
  disposed = false;
  broken = false;
  constructor(
    readonly owner: WasmModel,
    readonly batch: number,
    readonly srcLen: number,
    readonly region: StateRegion,
  ) {}
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.owner.disposed) this.region.release();
  }
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

class WasmModel implements Model {
  readonly config: Model["config"];
  disposed = false;
  private readonly decodeProblem: string | undefined;

  constructor(
    private readonly m: ModelInfo,
    private readonly inputs: InputPlan,
    private readonly plan: WasmPlan,
    private readonly rt: WasmRuntime,
    /** Nodes per phase, for the same "cannot decode" rule as the reference. */
    stepAttention: Array<{ cache: string; causal: boolean }>,
  ) {
    this.config = { name: m.name, vocab: m.head.vocab, ...(inputs.context !== undefined ? { context: inputs.context } : {}), dims: Object.fromEntries(m.dims) };
    const bidirectional = stepAttention.find((a) => !a.causal);
    const fed = new Set([inputs.tokens.name, ...(inputs.mask ? [inputs.mask.name] : [])]);
    const other = [...inputs.stepInputs].find((n) => !fed.has(n));
    this.decodeProblem = bidirectional
      ? `attention "${bidirectional.cache}" is bidirectional, so earlier positions depend on later tokens; use forward()`
      : other !== undefined
        ? `step() cannot supply input "${other}"; use forward()`
        : undefined;
  }

  private live(): void {
    if (this.disposed) throw new Error(`model ${this.m.name} is disposed`);
  }

  /** The arena holds `plan.rows` rows: a longer sequence cannot run, whatever the spec allows. */
  private checkCaps(seq: number, position: number, srcSeq: number | undefined): void {
    const name = this.inputs.tokens.name;
    if (position + seq > this.plan.context) {
      throw new ModelInputError(
        `input "${name}": positions up to ${position + seq} exceed this Wasm build's cap of ${this.plan.context} (compile with a larger maxSeq)`,
      );
    }
    if (srcSeq !== undefined && srcSeq > (this.plan.sourceContext ?? 0)) {
      throw new ModelInputError(`input "${this.inputs.source!.name}": src.seq ${srcSeq} exceeds this Wasm build's cap of ${this.plan.sourceContext}`);
    }
  }

  /** Copies rows [b0, b0 + count) of every embedded int input of `which` into its buffer. */
  private writeIds(inputs: Map<string, Tensor>, which: Set<string>, b0: number, count: number): void {
    const i32 = this.rt.i32();
    for (const [name, offset] of Object.entries(this.plan.layout.inputs)) {
      const t = inputs.get(name);
      if (!t || !which.has(name)) continue;
      const per = t.shape[1];
      i32.set((t.data as Int32Array).subarray(b0 * per, (b0 + count) * per), offset / 4);
    }
  }

  private writeMasks(region: StateRegion, inputs: Map<string, Tensor>, section: "encoder" | "decoder", b0: number, count: number, from: number, regionB0: number): void {
    for (const mk of this.plan.masks) {
      const t = inputs.get(mk.name);
      if (mk.section !== section || !t) continue;
      const cols = t.shape[1];
      region.writeMask(mk.name, (t.data as Uint8Array).subarray(b0 * cols, (b0 + count) * cols), regionB0, count, from, cols);
    }
  }

  private encodeChunks(region: StateRegion, inputs: Map<string, Tensor>, batch: number, srcLen: number): void {
    const g = Math.max(1, Math.floor(this.plan.rows / srcLen));
    const staticNames = new Set([...inputs.keys()].filter((n) => !this.inputs.stepInputs.has(n)));
    for (let b0 = 0; b0 < batch; b0 += g) {
      const count = Math.min(g, batch - b0);
      this.writeIds(inputs, staticNames, b0, count);
      this.writeMasks(region, inputs, "encoder", b0, count, 0, b0);
      region.bind(b0);
      this.rt.setCall({ g: count, n: srcLen, pos0: 0, srcLen });
      this.rt.run("encode");
    }
  }

  async forward(tokens: Int32Array, opts: ForwardOptions): Promise<Float32Array> {
    this.live();
    const inputs = bindInputs(this.m, this.inputs, { batch: opts.batch, tokens, seq: opts.seq, ...pick(opts, "mask", "inputs", "src") }, this.m.inputs.map((i) => i.name));
    const S = opts.seq;
    const srcLen = opts.src?.seq ?? 0;
    this.checkCaps(S, 0, this.inputs.source ? srcLen : undefined);
    const B = opts.batch;
    const vocab = this.plan.logits.vocab;
    const g = Math.max(1, Math.min(B, Math.floor(this.plan.rows / Math.max(S, srcLen))));
    const region = StateRegion.allocate(this.rt, stateLayout(this.plan, g, S, srcLen), `a forward of ${g} sequence(s) of ${S} tokens`);
    const out = new Float32Array(B * S * vocab);
    const stepNames = new Set([...inputs.keys()].filter((n) => this.inputs.stepInputs.has(n)));
    try {
      for (let b0 = 0; b0 < B; b0 += g) {
        const count = Math.min(g, B - b0);
        region.resetLinear();
        if (this.inputs.source) this.encodeChunks(region, sliceBatch(inputs, b0, count), count, srcLen);
        this.writeIds(inputs, stepNames, b0, count);
        this.writeMasks(region, inputs, "decoder", b0, count, 0, 0);
        region.bind(0);
        this.rt.setCall({ g: count, n: S, pos0: 0, srcLen });
        this.rt.run("decode");
        out.set(this.rt.f32().subarray(this.plan.logits.offset / 4, this.plan.logits.offset / 4 + count * S * vocab), b0 * S * vocab);
      }
    } finally {
      region.release();
    }
    return out;
  }

  async begin(opts: { batch: number; src?: ForwardOptions["src"] }): Promise<DecodeState> {
    this.live();
    if (this.decodeProblem) throw new Error(`model ${this.m.name} cannot decode incrementally: ${this.decodeProblem}`);
    const staticInputs = this.m.inputs.filter((i) => !this.inputs.stepInputs.has(i.name)).map((i) => i.name);
    const inputs = bindInputs(this.m, this.inputs, { batch: opts.batch, ...pick(opts, "src") }, staticInputs);
    const srcLen = opts.src?.seq ?? 0;
    if (this.inputs.source) this.checkCaps(0, 0, srcLen);
    const layout = stateLayout(this.plan, opts.batch, this.plan.context, srcLen);
    const need = layout.bytes;
    if (this.plan.layout.staticBytes + need > MAX_BYTES) {
      throw new ModelInputError(`begin: a decode state for batch ${opts.batch} needs ${need} bytes (${formatBytes(need)}) of Wasm memory, beyond the 4 GiB wasm32 limit`);
    }
    let region: StateRegion;
    try {
      region = StateRegion.allocate(this.rt, layout, `a decode state for batch ${opts.batch}`);
    } catch (e) {
      // Other live states count too: past the 4 GiB limit this is still a request too large.
      if (e instanceof RangeError) throw new ModelInputError(`begin: ${e.message}`);
      throw e;
    }
    region.resetLinear();
    if (this.inputs.source) this.encodeChunks(region, inputs, opts.batch, srcLen);
    return new WasmState(this, opts.batch, srcLen, region);
  }

  async step(state: DecodeState, tokens: Int32Array, n: number, opts: { mask?: Uint8Array } = {}): Promise<Float32Array> {
    this.live();
    if (!(state instanceof WasmState) || state.owner !== this) throw new ModelInputError("step: the state was not created by this model's begin()");
    if (state.disposed) throw new ModelInputError("step: the state has been disposed");
    if (state.broken) throw new Error("step: an earlier step on this state failed part-way; begin a new state");
    const inputs = bindInputs(this.m, this.inputs, { batch: state.batch, tokens, seq: n, position: state.position, ...pick(opts, "mask") }, this.inputs.stepInputs);
    this.checkCaps(n, state.position, undefined);
    const B = state.batch;
    const vocab = this.plan.logits.vocab;
    const g = Math.max(1, Math.min(B, Math.floor(this.plan.rows / n)));
    const out = new Float32Array(B * n * vocab);
    try {
      this.writeMasks(state.region, inputs, "decoder", 0, B, state.position, 0);
      for (let b0 = 0; b0 < B; b0 += g) {
        const count = Math.min(g, B - b0);
        this.writeIds(inputs, this.inputs.stepInputs, b0, count);
        state.region.bind(b0);
        this.rt.setCall({ g: count, n, pos0: state.position, srcLen: state.srcLen });
        this.rt.run("decode");
        out.set(this.rt.f32().subarray(this.plan.logits.offset / 4, this.plan.logits.offset / 4 + count * n * vocab), b0 * n * vocab);
      }
    } catch (e) {
      state.broken = true;
      throw e;
    }
    state.position += n;
    return out;
  }

  generate(prompt: Int32Array, opts: GenerateOptions): AsyncIterable<number> {
    this.live();
    return generate(this, prompt, opts);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rt.dispose();
  }
}

/** Rows [b0, b0 + count) of every batch-major input. */
function sliceBatch(inputs: Map<string, Tensor>, b0: number, count: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of inputs) {
    const per = t.data.length / t.shape[0];
    out.set(name, { data: t.data.subarray(b0 * per, (b0 + count) * per), shape: [count, ...t.shape.slice(1)] });
  }
  return out;
}

/**
 * A Model running `graph` (lowered from `m`) as a WebAssembly module specialised to the model.
 * `weights` holds native names; missing or mis-sized tensors throw WeightsError.
 */
export async function createWasmModel(m: ModelInfo, graph: Graph, weights: Map<string, Float32Array>, opts: WasmModelOptions = {}): Promise<Model> {
  const threads = Math.max(1, Math.min(MAX_THREADS, Math.floor(opts.threads ?? 1)));
  const relaxed = opts.relaxed ?? relaxedSimdSupported();
  const plan = opts.compiled?.plan ?? planWasm(m, graph, opts.maxSeq !== undefined ? { maxSeq: opts.maxSeq } : {});
  if (plan.layout.staticBytes > MAX_BYTES) {
    throw new RangeError(
      `wasm backend: model ${m.name} needs ${plan.layout.staticBytes} bytes (${formatBytes(plan.layout.staticBytes)}) of Wasm memory ` +
        `for weights, tables and activations, beyond the 4 GiB (${MAX_BYTES} bytes) wasm32 limit`,
    );
  }
  const shapes = new Map<string, number[]>();
  for (const n of graph.nodes) if (n.op === "weight") shapes.set(n.weight, graph.values[n.out].shape as number[]);
  checkWeights(shapes, weights);
  const prebuilt = opts.compiled?.variants.find((v) => v.relaxed === relaxed && v.threads === threads > 1);
  // The compiler (binaryen) loads only when no prebuilt variant fits: a generated module
  // ships its binaries and never needs it.
  const variant = prebuilt ?? (await import("./compile.ts")).compileVariant(plan, { relaxed, threads: threads > 1 });
  const module = await WebAssembly.compile(variant.binary as Uint8Array<ArrayBuffer>);
  const rt = await WasmRuntime.create(plan, module, threads);
  fillStatic(plan, rt.memory.buffer, weights);
  const stepAttention = (plan.decode.filter((o) => (o.op === "attention" || o.op === "linear_attention") && o.source === "self") as Array<{ name: string; causal: boolean }>).map((o) => ({ cache: o.name, causal: o.causal }));
  return new WasmModel(m, planInputs(m), plan, rt, stepAttention);
}

