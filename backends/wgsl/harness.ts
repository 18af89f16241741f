// Runs one generated kernel on host arrays: what kernel-level tests and the matmul benchmark
// need, without a model around it. Not used by the model runtime.

import type { Kernel } from "./wgsl.ts";

type HostArray = Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>;

export interface KernelRun {
  /** Params uniform: batch, seq, src, pos, cap. */
  params: { batch: number; seq: number; src?: number; pos?: number; cap?: number };
  /** One array per storage binding, in binding order; read_write ones are read back. */
  buffers: HostArray[];
  grid: [number, number, number];
  /** Dispatch this many times in one pass (timing); default 1. */
  repeat?: number;
}

export class KernelHarness {
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();

  constructor(readonly device: GPUDevice) {}

  async prepare(k: Kernel): Promise<{ pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; messages: readonly GPUCompilationMessage[] }> {
    const known = this.pipelines.get(k.wgsl);
    const module = this.device.createShaderModule({ code: k.wgsl });
    const messages = (await module.getCompilationInfo()).messages;
    if (known) return { ...known, messages };
    if (messages.some((m) => m.type === "error")) throw new Error(`kernel does not compile:\n${messages.map((m) => `${m.lineNum}: ${m.message}`).join("\n")}\n${k.wgsl}`);
    const layout = this.device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: 4, buffer: { type: "uniform" } },
        ...k.bindings.map((a, i) => ({ binding: i + 1, visibility: 4, buffer: { type: a === "read" ? ("read-only-storage" as const) : ("storage" as const) } })),
      ],
    });
    const pipeline = await this.device.createComputePipelineAsync({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
    });
    this.pipelines.set(k.wgsl, { pipeline, layout });
    return { pipeline, layout, messages };
  }

  /** Runs the kernel; returns the read_write buffers' contents (in binding order) and the GPU wall time. */
  async run(k: Kernel, r: KernelRun): Promise<{ outputs: HostArray[]; ms: number }> {
    const dev = this.device;
    const { pipeline, layout } = await this.prepare(k);
    const p = r.params;
    const params = dev.createBuffer({ size: 32, usage: 64 | 8 });
    dev.queue.writeBuffer(params, 0, new Uint32Array([p.batch, p.seq, p.src ?? 0, p.pos ?? 0, p.cap ?? p.seq, 0, 0, 0]));
    const bufs = r.buffers.map((a) => {
      const b = dev.createBuffer({ size: Math.ceil(Math.max(a.byteLength, 16) / 16) * 16, usage: 128 | 8 | 4 });
      dev.queue.writeBuffer(b, 0, a);
      return b;
    });
    const group = dev.createBindGroup({
      layout,
      entries: [{ binding: 0, resource: { buffer: params } }, ...bufs.map((b, i) => ({ binding: i + 1, resource: { buffer: b } }))],
    });
    await dev.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    for (let i = 0; i < (r.repeat ?? 1); i++) pass.dispatchWorkgroups(...r.grid);
    pass.end();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    const outputs: HostArray[] = [];
    for (let i = 0; i < bufs.length; i++) {
      if (k.bindings[i] !== "rw") continue;
      const a = r.buffers[i];
      const rb = dev.createBuffer({ size: bufs[i].size, usage: 1 | 8 });
      const e = dev.createCommandEncoder();
      e.copyBufferToBuffer(bufs[i], 0, rb, 0, bufs[i].size);
      dev.queue.submit([e.finish()]);
      await rb.mapAsync(1);
      const bytes = rb.getMappedRange().slice(0, a.byteLength);
      rb.destroy();
      outputs.push(new (a.constructor as new (b: ArrayBuffer) => HostArray)(bytes));
    }
    params.destroy();
    for (const b of bufs) b.destroy();
    return { outputs, ms };
  }
}
