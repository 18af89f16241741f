// The Wasm backend behind the one backend interface: the specialised module (compile.ts)
// run over an arena. A forward is a fresh state region run over the whole sequence, in
// chunks of sequences that fit the arena's rows; a decode state is a region holding KV
// caches, linear-attention states, memory K/V and key-mask histories.

import type { Graph } from "../../src/ir/ir.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import type { Backend, Call, Executor, Inputs } from "../../src/runtime/executor.ts";
import { planInputs, type InputPlan } from "../../src/runtime/inputs.ts";
import { CompiledModel } from "../../src/runtime/model.ts";
import { ModelInputError, type Model } from "../../src/runtime/model-api.ts";
import { sliceSeq, type Tensor } from "../../src/runtime/tensor.ts";
import type { StoredWeight } from "../../src/runtime/weights/format.ts";
import type { CompiledWasm } from "./compile.ts";
import { checkWeights, fillStatic } from "./load.ts";
import { MAX_BYTES, MAX_THREADS, planWasm, type WasmPlan } from "./plan.ts";
import { formatBytes, WasmRuntime } from "./runtime.ts";
import { StateRegion, stateLayout } from "./state.ts";
import { stepChunks } from "../../src/ir/state-plan.ts";

export interface WasmModelOptions {
  /** Threads (the calling one included) splitting every op; default 1. */
  threads?: number;
  /**
   * Split every call across the threads, even a decode step too small for a split to pay
   * (runtime.ts splitFixed; else measured both ways): for tests of the threaded kernels on tiny models.
   */
  splitEveryCall?: boolean;
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

interface WasmState {
  region: StateRegion;
}

class WasmExecutor implements Executor<WasmState> {
  readonly caps: Executor["caps"];

  constructor(
    private readonly inputs: InputPlan,
    private readonly plan: WasmPlan,
    private readonly rt: WasmRuntime,
  ) {
    this.caps = { context: plan.context, ...(plan.sourceContext !== undefined ? { sourceContext: plan.sourceContext } : {}) };
  }

  /** Copies rows [b0, b0 + count) of every embedded int input of `which` into its buffer. */
  private writeIds(inputs: Inputs, which: ReadonlySet<string>, b0: number, count: number): void {
    const i32 = this.rt.i32();
    for (const [name, offset] of Object.entries(this.plan.layout.inputs)) {
      const t = inputs.get(name);
      if (!t || !which.has(name)) continue;
      const per = t.shape[1];
      i32.set((t.data as Int32Array).subarray(b0 * per, (b0 + count) * per), offset / 4);
    }
  }

  private writeMasks(region: StateRegion, inputs: Inputs, section: "encoder" | "decoder", b0: number, count: number, from: number, regionB0: number): void {
    for (const mk of this.plan.masks) {
      const t = inputs.get(mk.name);
      if (mk.section !== section || !t) continue;
      const cols = t.shape[1];
      region.writeMask(mk.name, (t.data as Uint8Array).subarray(b0 * cols, (b0 + count) * cols), regionB0, count, from, cols);
    }
  }

  private encodeChunks(region: StateRegion, inputs: Inputs, batch: number, srcLen: number): void {
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

  async forward(inputs: Inputs, call: Call): Promise<Float32Array> {
    const { batch: B, seq: S, src: srcLen } = call;
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

  async begin(inputs: Inputs, call: Call): Promise<WasmState> {
    // Sized by the shared state plan: rings for sliding windows, the context for full caches.
    const layout = stateLayout(this.plan, call.batch, this.plan.context, call.src, true);
    const need = layout.bytes;
    if (this.plan.layout.staticBytes + need > MAX_BYTES) {
      throw new ModelInputError(`begin: a decode state for batch ${call.batch} needs ${need} bytes (${formatBytes(need)}) of Wasm memory, beyond the 4 GiB wasm32 limit`);
    }
    let region: StateRegion;
    try {
      region = StateRegion.allocate(this.rt, layout, `a decode state for batch ${call.batch}`);
    } catch (e) {
      // Other live states count too: past the 4 GiB limit this is still a request too large.
      if (e instanceof RangeError) throw new ModelInputError(`begin: ${e.message}`);
      throw e;
    }
    region.resetLinear();
    if (this.inputs.source) this.encodeChunks(region, inputs, call.batch, call.src);
    return { region };
  }

  async step(state: WasmState, inputs: Inputs, _masks: ReadonlyMap<string, Uint8Array>, call: Call): Promise<Float32Array> {
    const { batch: B, seq: n, position } = call;
    const vocab = this.plan.logits.vocab;
    const out = new Float32Array(B * n * vocab);
    // A ring holds the plan's history plus one chunk of new rows: longer steps run chunk by chunk.
    for (const [from, len] of stepChunks(n, this.plan.states?.chunk)) {
      const part = len === n ? inputs : sliceSteps(inputs, this.inputs.stepInputs, B, n, from, len);
      const g = Math.max(1, Math.min(B, Math.floor(this.plan.rows / len)));
      // The region keeps the mask history itself: only the new columns are written.
      this.writeMasks(state.region, part, "decoder", 0, B, position + from, 0);
      for (let b0 = 0; b0 < B; b0 += g) {
        const count = Math.min(g, B - b0);
        this.writeIds(part, this.inputs.stepInputs, b0, count);
        state.region.bind(b0);
        this.rt.setCall({ g: count, n: len, pos0: position + from, srcLen: call.src });
        this.rt.run("decode");
        const logits = this.rt.f32().subarray(this.plan.logits.offset / 4, this.plan.logits.offset / 4 + count * len * vocab);
        if (len === n) out.set(logits, b0 * n * vocab);
        else for (let k = 0; k < count; k++) out.set(logits.subarray(k * len * vocab, (k + 1) * len * vocab), ((b0 + k) * n + from) * vocab);
      }
    }
    return out;
  }

  /** Bytes of Wasm memory the decode state holds (caches, states, histories): fixed at begin. */
  stateBytes(state: WasmState): number {
    return state.region.layout.bytes;
  }

  release(state: WasmState): void {
    state.region.release();
  }

  dispose(): void {
    this.rt.dispose();
  }
}

/** Columns [from, from + len) of the step-fed [batch, n, …] inputs (the others as they are). */
function sliceSteps(inputs: Inputs, stepInputs: ReadonlySet<string>, batch: number, n: number, from: number, len: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of inputs) out.set(name, stepInputs.has(name) ? sliceSeq(t, batch, n, from, len) : t);
  return out;
}

/** Rows [b0, b0 + count) of every batch-major input. */
function sliceBatch(inputs: Inputs, b0: number, count: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of inputs) {
    const per = t.data.length / t.shape[0];
    out.set(name, { data: t.data.subarray(b0 * per, (b0 + count) * per), shape: [count, ...t.shape.slice(1)] });
  }
  return out;
}

/** Builds (or takes from `opts.compiled`) the module, places the weights, starts the threads. */
async function instantiateWasm(m: ModelInfo, graph: Graph, weights: ReadonlyMap<string, StoredWeight>, opts: WasmModelOptions = {}): Promise<WasmExecutor> {
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
  checkWeights(shapes, weights, plan);
  const prebuilt = opts.compiled?.variants.find((v) => v.relaxed === relaxed && v.threads === threads > 1);
  // The compiler (binaryen) loads only when no prebuilt variant fits: a generated module
  // ships its binaries and never needs it.
  const variant = prebuilt ?? (await import("./compile.ts")).compileVariant(plan, { relaxed, threads: threads > 1 });
  const module = await WebAssembly.compile(variant.binary as Uint8Array<ArrayBuffer>);
  const rt = await WasmRuntime.create(plan, module, threads, opts.splitEveryCall ?? false);
  fillStatic(plan, rt.memory.buffer, weights);
  return new WasmExecutor(planInputs(m), plan, rt);
}

/**
 * A Model running `graph` (lowered from `m`) as a WebAssembly module specialised to the model.
 * `weights` holds native names; missing or mis-sized tensors throw WeightsError. Low-bit
 * tensors (src/runtime/weights/) need a graph whose weight nodes carry their storage
 * (withStorage): the build is specialised to it.
 */
export async function createWasmModel(m: ModelInfo, graph: Graph, weights: ReadonlyMap<string, StoredWeight>, opts: WasmModelOptions = {}): Promise<Model> {
  return new CompiledModel(m, graph, await instantiateWasm(m, graph, weights, opts), "Wasm");
}

export const wasmBackend: Backend<CompiledWasm> = {
  target: "wasm",
  compile: async (m, program, opts = {}) => (await import("./compile.ts")).compileWasm(m, program, { threads: opts.threads ?? true }),
  files: (c, opts = {}) => {
    // Every flavour the loader may pick (plain / relaxed SIMD, one thread / shared memory),
    // so the module never needs the compiler at run time.
    const files: Record<string, Uint8Array | string> = {};
    const artifacts: Record<string, string> = {};
    for (const v of c.variants) {
      const name = `model${v.relaxed ? ".relaxed" : ""}${v.threads ? ".threads" : ""}.wasm`;
      files[name] = v.binary;
      artifacts[`wasm:${v.relaxed ? "relaxed" : "plain"}:${v.threads ? "threads" : "single"}`] = name;
    }
    if (opts.emitText) {
      files["model.wat"] = c.text;
      artifacts["wat"] = "model.wat";
    }
    return { plan: c.plan, files, artifacts };
  },
  instantiate: (m, program, artifact, weights, opts = {}) =>
    instantiateWasm(m, program, weights, { ...(opts.threads !== undefined ? { threads: opts.threads } : {}), ...(opts.splitEveryCall ? { splitEveryCall: true } : {}), ...(artifact ? { compiled: artifact } : {}) }),
};
