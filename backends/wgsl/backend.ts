// The WebGPU backend behind the one backend interface: the compiled plan (compile.ts)
// replayed by runtime.ts. Decode states keep their KV caches, linear-attention states and
// encoder outputs on the GPU, sized by the shared state plan (src/ir/state-plan.ts): a
// sliding-window cache (and a mask history whose readers are all such rings) is a fixed ring of
// the plan's rows; a full cache starts at MIN_CACHE rows and doubles on demand up to the
// context (the plan's capacity), so short decodes of a long-context model stay small. Steps
// longer than the plan's chunk run chunk by chunk, so a ring never holds more than it can.

import type { Graph } from "../../src/ir/ir.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import type { Backend, Call, Executor, Inputs } from "../../src/runtime/executor.ts";
import { planInputs } from "../../src/runtime/inputs.ts";
import { CompiledModel } from "../../src/runtime/model.ts";
import type { Model } from "../../src/runtime/model-api.ts";
import { sliceSeq, type Tensor } from "../../src/runtime/tensor.ts";
import type { StoredWeight } from "../../src/runtime/weights/format.ts";
import { compileWgsl, type CompiledWgsl } from "./compile.ts";
import { isCpuAdapter, sharedDevice } from "./device.ts";
import type { AttentionMode } from "./kernels/attention.ts";
import type { MatmulVariant } from "./kernels/matmul.ts";
import { limitsOf, type WgslLimits } from "./plan.ts";
import { Context, WgslProgram } from "./runtime.ts";
import { stepChunks } from "../../src/ir/state-plan.ts";

export interface WebGpuModelOptions {
  /** Device to run on; without one the model creates (and on dispose destroys) its own. */
  device?: GPUDevice;
  /** Matmul kernel variant; default "register" on a CPU adapter (llvmpipe), else "blocked". */
  matmul?: MatmulVariant;
  /** Attention kernel; default "walk" on a CPU adapter, else "tiles". */
  attention?: AttentionMode;
  /** Mamba's scan; default "sequential" on a CPU adapter, else "chunked" (prefill in time chunks). */
  scan?: "chunked" | "sequential";
  /**
   * Limits tighter than the device's, e.g. to check that a model fits a smaller GPU;
   * `shaderF16: false` makes low-bit readers take the f32 path on a device with `shader-f16`.
   */
  limits?: Partial<WgslLimits>;
}

/** Smallest KV-cache capacity a decode state starts with (rows per sequence). */
const MIN_CACHE = 64;

interface WebGpuState {
  ctx: Context;
  /** Rows per sequence the KV caches hold. */
  cap: number;
}

class WebGpuExecutor implements Executor<WebGpuState> {
  readonly caps = {};
  private forwardCtx: Context | undefined;

  constructor(
    readonly program: WgslProgram,
    readonly compiled: CompiledWgsl,
    private readonly context: number | undefined,
    private readonly ownDevice: boolean,
  ) {}

  /**
   * Queues the validated inputs into ctx's input buffers; masks land in columns [pos, pos + n)
   * of a `stride`-wide history, or of their ring (column p in entry p mod rows).
   */
  private writeInputs(ctx: Context, inputs: Inputs, at: { pos: number; stride: number } = { pos: 0, stride: 0 }): void {
    const q = this.program.device.queue;
    for (const [name, t] of inputs) {
      if (!Object.hasOwn(this.compiled.plan.inputs, name)) continue; // an input the graph never reads
      const pi = this.compiled.plan.inputs[name];
      const buf = ctx.buffer(pi.buffer);
      if (pi.kind === "ids") {
        // A copy: the caller's array may be a view on a SharedArrayBuffer or another buffer's slice.
        q.writeBuffer(buf, 0, Int32Array.from(t.data));
        continue;
      }
      const [batch, n] = t.shape;
      const data = Uint32Array.from(t.data);
      const ring = this.compiled.rings[pi.buffer];
      if (pi.sym === "src" || at.stride === 0) q.writeBuffer(buf, 0, data);
      else if (ring === undefined) for (let b = 0; b < batch; b++) q.writeBuffer(buf, (b * at.stride + at.pos) * 4, data, b * n, n);
      else {
        // At most one wrap: a step chunk is never longer than the ring.
        const first = Math.min(n, ring - (at.pos % ring));
        for (let b = 0; b < batch; b++) {
          q.writeBuffer(buf, (b * ring + (at.pos % ring)) * 4, data, b * n, first);
          if (first < n) q.writeBuffer(buf, b * ring * 4, data, b * n + first, n - first);
        }
      }
    }
  }

  forward(inputs: Inputs, call: Call): Promise<Float32Array> {
    const { batch, seq, src } = call;
    return this.program.exclusive(async () => {
      this.forwardCtx ??= new Context(this.program);
      const ctx = this.forwardCtx;
      ctx.ensure({ B: batch, R: batch * seq, S: batch * src, K: batch * seq });
      this.writeInputs(ctx, inputs);
      const out = await this.program.run(ctx, { batch, seq, src, pos: 0, cap: seq }, new Set(["static", "step"] as const), { clearStates: true, logitsRows: batch * seq });
      return out!;
    });
  }

  begin(inputs: Inputs, call: Call): Promise<WebGpuState> {
    const { batch, src } = call;
    const cap = Math.min(this.context ?? Infinity, MIN_CACHE);
    return this.program.exclusive(async () => {
      const ctx = new Context(this.program, this.compiled.rings);
      try {
        ctx.ensure({ B: batch, R: batch, S: batch * src, K: batch * cap });
        this.writeInputs(ctx, inputs);
        if (this.compiled.plan.dispatches.some((d) => d.phase === "static")) {
          await this.program.run(ctx, { batch, seq: 0, src, pos: 0, cap, ring: true }, new Set(["static"] as const), { clearStates: false, logitsRows: 0 });
        }
      } catch (e) {
        ctx.dispose();
        throw e;
      }
      return { ctx, cap };
    });
  }

  step(state: WebGpuState, inputs: Inputs, _masks: ReadonlyMap<string, Uint8Array>, call: Call): Promise<Float32Array> {
    const { batch, seq: n, src, position: pos } = call;
    return this.program.exclusive(async () => {
      if (pos + n > state.cap) {
        let cap = state.cap;
        while (cap < pos + n) cap *= 2;
        cap = Math.min(cap, Math.max(this.context ?? Infinity, pos + n));
        state.ctx.ensure({ K: batch * cap }, { batch, rows: pos, from: state.cap, to: cap });
        state.cap = cap;
      }
      const pieces = stepChunks(n, this.compiled.states.chunk);
      state.ctx.ensure({ R: batch * Math.max(...pieces.map(([, len]) => len)) });
      const vocab = this.compiled.plan.vocab;
      let out: Float32Array | undefined;
      for (const [from, len] of pieces) {
        const part = len === n ? inputs : sliceSteps(inputs, batch, n, from, len);
        // The mask buffers keep the history: only the new columns are written.
        this.writeInputs(state.ctx, part, { pos: pos + from, stride: state.cap });
        const logits = (await this.program.run(state.ctx, { batch, seq: len, src, pos: pos + from, cap: state.cap, ring: true }, new Set(["step"] as const), { clearStates: false, logitsRows: batch * len }))!;
        if (len === n) return logits;
        out ??= new Float32Array(batch * n * vocab);
        for (let b = 0; b < batch; b++) out.set(logits.subarray(b * len * vocab, (b + 1) * len * vocab), (b * n + from) * vocab);
      }
      return out!;
    });
  }

  /** Bytes of device memory the decode state's context holds (caches, states, histories, activations). */
  stateBytes(state: WebGpuState): number {
    return state.ctx.bytes();
  }

  release(state: WebGpuState): void {
    state.ctx.dispose();
  }

  dispose(): void {
    this.forwardCtx?.dispose();
    this.program.destroy();
    if (this.ownDevice) this.program.device.destroy();
  }
}

/** Columns [from, from + len) of the step's [batch, n] inputs (every step input is over the new tokens). */
function sliceSteps(inputs: Inputs, batch: number, n: number, from: number, len: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of inputs) out.set(name, t.shape[0] === batch && t.shape[1] === n ? sliceSeq(t, batch, n, from, len) : t);
  return out;
}

/**
 * Compiles against the device it gets (its limits decide splits and kernel variants), uploads
 * the weights once. Low-bit weights (the program's weight nodes carry their storage) go up in
 * their storage and are dequantised in the kernels.
 */
async function instantiateWebGpu(m: ModelInfo, graph: Graph, weights: ReadonlyMap<string, StoredWeight>, opts: WebGpuModelOptions = {}): Promise<WebGpuExecutor> {
  // The caller's device, or the process's shared one: neither is the model's to destroy.
  const device = opts.device ?? (await sharedDevice());
  // On a CPU adapter barriers are coroutine switches: the barrier-free kernels win there.
  const cpu = isCpuAdapter(device.adapterInfo);
  const compiled = compileWgsl(m, graph, tighten(limitsOf(device), opts.limits), {
    matmul: opts.matmul ?? (cpu ? "register" : "blocked"),
    attention: opts.attention ?? (cpu ? "walk" : "tiles"),
    scan: opts.scan ?? (cpu ? "sequential" : "chunked"),
  });
  const program = await WgslProgram.create(device, compiled, weights);
  return new WebGpuExecutor(program, compiled, planInputs(m).context, false);
}

/**
 * A Model running `graph` (lowered from `m`, see inferenceGraph) as WGSL compute pipelines.
 * All pipelines are created and all weights uploaded here, once.
 */
export async function createWebGpuModel(m: ModelInfo, graph: Graph, weights: ReadonlyMap<string, StoredWeight>, opts: WebGpuModelOptions = {}): Promise<Model> {
  return new CompiledModel(m, graph, await instantiateWebGpu(m, graph, weights, opts), "WebGPU");
}

export const webgpuBackend: Backend<CompiledWgsl> = {
  target: "webgpu",
  // The shaders for WebGPU's default limits, to read and diff: instantiate recompiles
  // against the device it gets.
  compile: async (m, program) => compileWgsl(m, program),
  files: ({ shaders, plan }) => {
    const files: Record<string, string> = {};
    for (const [name, code] of Object.entries(shaders)) files[`${name}.wgsl`] = code;
    return { plan, files, artifacts: Object.fromEntries(Object.keys(shaders).map((n) => [`wgsl:${n}`, `${n}.wgsl`])) };
  },
  instantiate: (m, program, _artifact, weights, opts = {}) => instantiateWebGpu(m, program, weights, opts.device ? { device: opts.device } : {}),
};

/** The device's limits, lowered (never raised) by the caller's. */
function tighten(device: WgslLimits, extra: Partial<WgslLimits> | undefined): WgslLimits {
  const out = { ...device };
  for (const [k, v] of Object.entries(extra ?? {}) as [keyof WgslLimits, number | boolean][]) {
    if (typeof v === "boolean") (out as Record<string, unknown>)[k] = (device[k] as boolean) && v;
    else (out as Record<string, unknown>)[k] = Math.min(device[k] as number, v);
  }
  return out;
}
