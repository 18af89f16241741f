// Replays a compiled plan on a device. Load time creates every pipeline and uploads every
// weight once; a run writes the Params uniform and the inputs, records one command buffer (one
// compute pass over the plan's dispatches) and reads back only the logits. Per-call buffers
// (activations, KV caches, states) live in a Context, which grows when a call needs more rows
// and otherwise is reused as is, bind groups included. A decode state's context holds the ring
// buffers of the shared state plan (sliding-window caches, their mask histories) at their fixed
// rows per sequence; every other KV-class buffer grows with the state's cache capacity.

import { WeightsError } from "../../src/runtime/safetensors.ts";
import type { StoredWeight } from "../../src/runtime/weights/format.ts";
import { checkStored, writeRows } from "./lowbit.ts";
import type { CompiledWgsl } from "./compile.ts";
import { formatBytes } from "./buffers.ts";
import { extent, type CapSym, type Plan, type PlanBuffer, type RunDims } from "./plan.ts";

// GPUBufferUsage / GPUMapMode / GPUShaderStage values are fixed by the spec; spelling them out
// keeps the runtime independent of whichever binding installed the globals.
const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_READ = 1;
const STAGE_COMPUTE = 4;

export interface RunParams extends RunDims {
  /** Absolute position of the first new token. */
  pos: number;
  /** Rows per sequence of the KV caches (= seq in a forward). */
  cap: number;
  /** A decode state's run: ring caches wrap at their rows (P.p1 = 1); in a forward they hold seq rows. */
  ring?: boolean;
}

/** Per-call buffers and their bind groups. */
export class Context {
  caps: Record<CapSym, number> = { B: 0, R: 0, S: 0, K: 0 };
  readonly buffers: (GPUBuffer | undefined)[];
  bindGroups: GPUBindGroup[] | undefined;
  readonly params: GPUBuffer;
  readback: GPUBuffer | undefined;
  disposed = false;

  /**
   * `rings`: plan buffer id → rows per sequence of the ring buffers (a decode state's context);
   * those are sized batch × rows and never grow with the cache capacity. Without it (a
   * forward's context) they are ordinary KV-class buffers.
   */
  constructor(
    readonly program: WgslProgram,
    private readonly rings: Readonly<Record<number, number>> = {},
  ) {
    this.buffers = program.plan.buffers.map((b) => (b.kind === "weight" ? program.weights[b.id] : undefined));
    this.params = program.device.createBuffer({ size: 32, usage: USAGE.UNIFORM | USAGE.COPY_DST, label: "params" });
  }

  buffer(id: number): GPUBuffer {
    const b = this.buffers[id];
    if (b === undefined) throw new Error(`webgpu: buffer ${this.program.plan.buffers[id].name} is not allocated`);
    return b;
  }

  /**
   * Makes every buffer hold at least `want` rows of its class. `keep` copies the first `rows`
   * rows of each sequence of the KV-class buffers into the grown ones (a decode state's caches),
   * whose per-sequence stride changes from `from` to `to`.
   */
  ensure(want: Partial<Record<CapSym, number>>, keep?: { batch: number; rows: number; from: number; to: number }): void {
    const grow = (Object.keys(want) as CapSym[]).filter((c) => (want[c] ?? 0) > this.caps[c]);
    if (grow.length === 0 && this.bindGroups) return;
    const caps = { ...this.caps };
    for (const c of grow) caps[c] = want[c]!;
    // Allocate everything first: a buffer over the limit must leave the context as it was.
    const fresh = new Map<number, GPUBuffer>();
    try {
      for (const b of this.program.plan.buffers) {
        const cls = this.classOf(b);
        if (b.kind === "weight" || (this.buffers[b.id] && !(cls && grow.includes(cls)))) continue;
        const ring = this.rings[b.id];
        fresh.set(b.id, this.program.allocate(b, ring !== undefined ? caps.B * ring : cls ? caps[cls] : 1));
      }
    } catch (e) {
      for (const f of fresh.values()) f.destroy();
      throw e;
    }
    const dev = this.program.device;
    const enc = keep && keep.rows > 0 ? dev.createCommandEncoder() : undefined;
    const retired: GPUBuffer[] = [];
    for (const [id, buf] of fresh) {
      const old = this.buffers[id];
      const b = this.program.plan.buffers[id];
      if (old && enc && this.classOf(b) === "K") {
        const row = b.elements * 4;
        for (let s = 0; s < keep!.batch; s++) enc.copyBufferToBuffer(old, s * keep!.from * row, buf, s * keep!.to * row, keep!.rows * row);
      }
      // Destroying a buffer that submitted work still reads is allowed: the device frees it after.
      if (old) retired.push(old);
      this.buffers[id] = buf;
    }
    if (enc) dev.queue.submit([enc.finish()]);
    for (const b of retired) b.destroy();
    this.caps = caps;
    this.bindGroups = undefined;
  }

  /** The capacity class a buffer grows with here: a ring grows with the batch only. */
  private classOf(b: PlanBuffer): CapSym | undefined {
    return this.rings[b.id] !== undefined ? "B" : b.cap;
  }

  /** Bytes of device memory the context's own buffers hold (weights excluded). */
  bytes(): number {
    let n = this.params.size + (this.readback?.size ?? 0);
    this.program.plan.buffers.forEach((b, i) => {
      if (b.kind !== "weight") n += this.buffers[i]?.size ?? 0;
    });
    return n;
  }

  groups(): GPUBindGroup[] {
    if (!this.bindGroups) {
      const p = this.program;
      this.bindGroups = p.plan.dispatches.map((d, i) =>
        p.device.createBindGroup({
          label: `${d.kernel} ${i}`,
          layout: p.layouts.get(d.kernel)!,
          entries: [{ binding: 0, resource: { buffer: this.params } }, ...d.bindings.map((id, j) => ({ binding: j + 1, resource: { buffer: this.buffer(id) } }))],
        }),
      );
    }
    return this.bindGroups;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.program.plan.buffers.forEach((b, i) => {
      if (b.kind !== "weight") this.buffers[i]?.destroy();
      this.buffers[i] = undefined;
    });
    this.params.destroy();
    this.readback?.destroy();
  }
}

export class WgslProgram {
  readonly layouts = new Map<string, GPUBindGroupLayout>();
  readonly pipelines = new Map<string, GPUComputePipeline>();
  readonly weights: (GPUBuffer | undefined)[] = [];
  /** Runs are serialised: a context's buffers serve one command buffer at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly device: GPUDevice,
    readonly plan: Plan,
  ) {}

  static async create(device: GPUDevice, compiled: CompiledWgsl, weights: ReadonlyMap<string, StoredWeight>): Promise<WgslProgram> {
    const p = new WgslProgram(device, compiled.plan);
    device.pushErrorScope("validation");
    device.pushErrorScope("out-of-memory");
    await Promise.all(Object.entries(compiled.shaders).map(([name, code]) => p.pipeline(name, code)));
    p.uploadWeights(weights);
    const oom = await device.popErrorScope();
    const invalid = await device.popErrorScope();
    const err = invalid ?? oom;
    if (err) throw new Error(`webgpu: loading model ${compiled.plan.model} failed: ${err.message}`);
    return p;
  }

  private async pipeline(name: string, code: string): Promise<void> {
    const module = this.device.createShaderModule({ code, label: name });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) throw new Error(`webgpu: shader ${name} does not compile:\n${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join("\n")}`);
    const k = this.plan.kernels[name];
    const layout = this.device.createBindGroupLayout({
      label: name,
      entries: [
        { binding: 0, visibility: STAGE_COMPUTE, buffer: { type: "uniform" } },
        ...k.bindings.map((a, i) => ({ binding: i + 1, visibility: STAGE_COMPUTE, buffer: { type: a === "read" ? ("read-only-storage" as const) : ("storage" as const) } })),
      ],
    });
    this.layouts.set(name, layout);
    const pipeline = await this.device.createComputePipelineAsync({
      label: name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
    });
    this.pipelines.set(name, pipeline);
  }

  /**
   * Every weight buffer, mapped at creation and filled in place: f32 tensors copied, low-bit
   * ones written as row records straight from their storage (lowbit.ts).
   */
  private uploadWeights(weights: ReadonlyMap<string, StoredWeight>): void {
    for (const b of this.plan.buffers) {
      if (b.kind !== "weight") continue;
      const buf = this.allocate(b, 1, true);
      try {
        const range = buf.getMappedRange();
        const f32 = new Float32Array(range);
        const words = new Uint32Array(range);
        let at = 0;
        for (const part of b.parts ?? []) {
          const src = weights.get(part.name);
          if (src === undefined) throw new WeightsError("missing from the weight map", part.name);
          const [r0, r1] = part.rows;
          if (b.storage !== undefined) {
            // Rows as the tensor has them (at least r1, as the f32 path asks), columns as the plan's.
            const N = src instanceof Float32Array ? Math.floor(src.length / part.cols) : Math.max(src.shape[0], r1);
            checkStored(part.name, src, N, part.cols, b.storage);
            at = writeRows(src as Exclude<StoredWeight, Float32Array>, part.cols, r0, r1, words, at);
            continue;
          }
          if (!(src instanceof Float32Array)) throw new WeightsError(`is stored as ${src.dtype}, but the program was compiled for f32 (mark the program with its storage: withStorage)`, part.name);
          if (src.length % part.cols !== 0 || src.length / part.cols < r1) {
            throw new WeightsError(`has ${src.length} elements, too few for rows ${r0}..${r1} of ${part.cols} columns`, part.name);
          }
          f32.set(src.subarray(r0 * part.cols, r1 * part.cols), at);
          at += (r1 - r0) * part.cols;
        }
      } catch (e) {
        buf.unmap();
        buf.destroy();
        for (const w of this.weights) w?.destroy();
        throw e;
      }
      buf.unmap();
      this.weights[b.id] = buf;
    }
  }

  /** A buffer for `rows` capacity rows of plan buffer b, within the binding limit. */
  allocate(b: PlanBuffer, rows: number, mapped = false): GPUBuffer {
    const bytes = b.elements * Math.max(rows, 1) * 4;
    // The plan's limits: the device's, or tighter ones the model was compiled for.
    const limit = Math.min(this.plan.limits.maxStorageBufferBindingSize, this.plan.limits.maxBufferSize);
    if (bytes > limit) {
      throw new Error(
        `webgpu: ${b.kind} ${b.name} needs ${formatBytes(bytes)} (${b.elements} × ${rows} rows), over the device's maxStorageBufferBindingSize of ${formatBytes(limit)}; use a smaller batch or sequence`,
      );
    }
    const usage = USAGE.STORAGE | USAGE.COPY_DST | USAGE.COPY_SRC;
    return this.device.createBuffer({ size: Math.ceil(Math.max(bytes, 16) / 16) * 16, usage, mappedAtCreation: mapped, label: b.name });
  }

  /** Runs under the program's lock. */
  exclusive<T>(f: () => Promise<T>): Promise<T> {
    const r = this.queue.then(f, f);
    this.queue = r.catch(() => undefined);
    return r;
  }

  /**
   * One command buffer: the dispatches of `phases` (in plan order) for these dims, then the
   * logits copied out, when `logitsRows` > 0. Writes into ctx must be queued before.
   */
  async run(ctx: Context, p: RunParams, phases: ReadonlySet<"static" | "step">, opts: { clearStates: boolean; logitsRows: number }): Promise<Float32Array | undefined> {
    const dev = this.device;
    const plan = this.plan;
    dev.queue.writeBuffer(ctx.params, 0, new Uint32Array([p.batch, p.seq, p.src, p.pos, p.cap, 0, p.ring ? 1 : 0, 0]));
    dev.pushErrorScope("validation");
    const groups = ctx.groups();
    const enc = dev.createCommandEncoder();
    if (opts.clearStates) for (const b of plan.buffers) if (b.clearOnForward) enc.clearBuffer(ctx.buffer(b.id));
    const pass = enc.beginComputePass();
    const maxDim = dev.limits.maxComputeWorkgroupsPerDimension;
    plan.dispatches.forEach((d, i) => {
      if (!phases.has(d.phase)) return;
      if (d.when && ((d.when.sym === "seq" ? p.seq : p.src) === 1) !== d.when.one) return;
      let [x, y, z] = d.grid.map((e) => extent(e, p));
      if (x === 0 || y === 0 || z === 0) return;
      if (d.flat && x > maxDim) {
        y = Math.ceil(x / maxDim);
        x = maxDim;
      }
      if (x > maxDim || y > maxDim || z > maxDim) throw new Error(`webgpu: ${d.label} needs a ${x}×${y}×${z} grid, over ${maxDim} workgroups per dimension`);
      pass.setPipeline(this.pipelines.get(d.kernel)!);
      pass.setBindGroup(0, groups[i]);
      pass.dispatchWorkgroups(x, y, z);
    });
    pass.end();
    let out: Float32Array | undefined;
    const bytes = opts.logitsRows * plan.vocab * 4;
    if (bytes > 0) {
      if (!ctx.readback || ctx.readback.size < bytes) {
        ctx.readback?.destroy();
        ctx.readback = dev.createBuffer({ size: Math.ceil(bytes / 16) * 16, usage: USAGE.MAP_READ | USAGE.COPY_DST, label: "logits readback" });
      }
      enc.copyBufferToBuffer(ctx.buffer(plan.logits), 0, ctx.readback, 0, bytes);
    }
    dev.queue.submit([enc.finish()]);
    const err = await dev.popErrorScope();
    if (err) throw new Error(`webgpu: running model ${plan.model} failed: ${err.message}`);
    if (bytes > 0) {
      await ctx.readback!.mapAsync(MAP_READ, 0, bytes);
      out = new Float32Array(ctx.readback!.getMappedRange(0, bytes).slice(0));
      ctx.readback!.unmap();
    }
    return out;
  }

  destroy(): void {
    for (const b of this.weights) b?.destroy();
    this.weights.length = 0;
  }
}
