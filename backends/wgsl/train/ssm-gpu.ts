// Mamba-1's training kernels on a GPUDevice (ssm-wgsl.ts's kernels), with the reference
// kernels' signatures (backends/reference/backward/ssm.ts) plus the device, answering with
// promises: inputs uploaded as float32, one submission per call (every dispatch of the call,
// then the copies to mappable buffers), results read back as fresh Float64Arrays and
// gradients added (+=) into the caller's arrays — the host adding up the kernels' partial sums
// (∂proj over workgroups of channels, the per-channel parameters over sequences) in float64.
// Pipelines are compiled once per device and kernel. WebGpuTrainKernels delegates its ssm*
// methods here. A call whose largest buffer exceeds the device's storage-binding or buffer size
// limit, or (the scan backward) whose dt rank + 2 × state is too wide for its workgroup buffer,
// runs the reference kernel instead (as covers.ts's rule does for the other kernels).

import { type ConvDims, type Num, type ScanDims, type ScanGrads, type ScanParams, ssmConvBackward, ssmConvForward, ssmScanBackward, ssmScanForward } from "../../reference/backward/index.ts";
import {
  convDwKernel,
  convDxKernel,
  convForwardKernel,
  convGradKernel,
  FLAT_GROUP,
  SCAN_FORWARD_GROUP,
  scanBackwardGroup,
  scanBackwardKernel,
  scanChunk,
  scanForwardKernel,
  type SsmGpuKernel,
} from "./ssm-wgsl.ts";

// GPUBufferUsage / GPUMapMode bits as numbers: this module does not need Dawn's globals.
const MAP_READ = 0x01;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const UNIFORM = 0x40;
const STORAGE = 0x80;
const COMPUTE = 0x4;
const MAX_GRID = 65535;

interface Pipe {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}
const pipelines = new WeakMap<GPUDevice, Map<string, Promise<Pipe>>>();

async function compile(device: GPUDevice, k: SsmGpuKernel): Promise<Pipe> {
  const module = device.createShaderModule({ code: k.wgsl, label: k.key });
  const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === "error");
  if (errors.length > 0) throw new Error(`webgpu training kernel ${k.key} does not compile: ${errors.map((m) => `${m.lineNum}: ${m.message}`).join("; ")}`);
  const layout = device.createBindGroupLayout({
    entries: [
      { binding: 0, visibility: COMPUTE, buffer: { type: "uniform" } },
      ...k.bindings.map((a, i) => ({ binding: i + 1, visibility: COMPUTE, buffer: { type: a === "read" ? ("read-only-storage" as const) : ("storage" as const) } })),
    ],
  });
  const pipeline = await device.createComputePipelineAsync({ layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module, entryPoint: "main" }, label: k.key });
  return { pipeline, layout };
}

function pipe(device: GPUDevice, k: SsmGpuKernel): Promise<Pipe> {
  let byKey = pipelines.get(device);
  if (byKey === undefined) pipelines.set(device, (byKey = new Map()));
  let p = byKey.get(k.wgsl);
  if (p === undefined) {
    p = compile(device, k);
    byKey.set(k.wgsl, p);
    p.catch(() => byKey.delete(k.wgsl));
  }
  return p;
}

/** A flat grid of `n` workgroups folded into two dimensions past the per-dimension limit. */
const flatGrid = (n: number): [number, number] => (n <= MAX_GRID ? [Math.max(1, n), 1] : [MAX_GRID, Math.ceil(n / MAX_GRID)]);

/** One call's buffers and dispatches, submitted together; every buffer is destroyed after the read-back. */
class Job {
  private readonly buffers: GPUBuffer[] = [];
  private readonly steps: Array<{ kernel: SsmGpuKernel; args: GPUBuffer[]; grid: [number, number] }> = [];
  private readonly params: GPUBuffer;

  constructor(
    private readonly device: GPUDevice,
    batch: number,
    seq: number,
  ) {
    this.params = this.buffer(16, UNIFORM | COPY_DST);
    device.queue.writeBuffer(this.params, 0, new Uint32Array([batch, seq, 0, 0]));
  }

  private buffer(bytes: number, usage: number): GPUBuffer {
    const b = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
    this.buffers.push(b);
    return b;
  }

  /** An f32 copy of `a` (an empty array stands for one zero). */
  input(a: Num): GPUBuffer {
    const b = this.buffer(a.length * 4, STORAGE | COPY_DST);
    if (a.length > 0) this.device.queue.writeBuffer(b, 0, a instanceof Float32Array && a.buffer instanceof ArrayBuffer ? (a as Float32Array<ArrayBuffer>) : Float32Array.from(a));
    return b;
  }

  /** `floats` zeros (WebGPU clears new buffers), written by the kernels. */
  output(floats: number): GPUBuffer {
    return this.buffer(floats * 4, STORAGE | COPY_SRC);
  }

  dispatch(kernel: SsmGpuKernel, args: GPUBuffer[], grid: [number, number]): void {
    if (args.length !== kernel.bindings.length) throw new Error(`webgpu ssm: kernel ${kernel.key} takes ${kernel.bindings.length} buffers, given ${args.length}`);
    this.steps.push({ kernel, args, grid });
  }

  /** Runs the dispatches in order and reads `outs` back. */
  async run(outs: GPUBuffer[]): Promise<Float32Array[]> {
    const dev = this.device;
    try {
      const pipes = await Promise.all(this.steps.map((s) => pipe(dev, s.kernel)));
      dev.pushErrorScope("validation");
      dev.pushErrorScope("out-of-memory");
      const enc = dev.createCommandEncoder();
      const pass = enc.beginComputePass();
      this.steps.forEach((s, i) => {
        const entries = [{ binding: 0, resource: { buffer: this.params } }, ...s.args.map((buffer, j) => ({ binding: j + 1, resource: { buffer } }))];
        pass.setPipeline(pipes[i].pipeline);
        pass.setBindGroup(0, dev.createBindGroup({ layout: pipes[i].layout, entries }));
        pass.dispatchWorkgroups(s.grid[0], s.grid[1]);
      });
      pass.end();
      const reads = outs.map((o) => {
        const r = this.buffer(o.size, MAP_READ | COPY_DST);
        enc.copyBufferToBuffer(o, 0, r, 0, o.size);
        return r;
      });
      dev.queue.submit([enc.finish()]);
      const oom = await dev.popErrorScope();
      const invalid = await dev.popErrorScope();
      const err = invalid ?? oom;
      if (err) throw new Error(`webgpu ssm training kernels (${this.steps.map((s) => s.kernel.key).join(", ")}): ${err.message}`);
      await Promise.all(reads.map((r) => r.mapAsync(MAP_READ)));
      return reads.map((r) => new Float32Array(r.getMappedRange().slice(0)));
    } finally {
      for (const b of this.buffers) b.destroy();
    }
  }
}

/** Whether buffers of `floats` f32 each fit the device's limits. */
const fits = (device: GPUDevice, ...floats: number[]): boolean => Math.max(...floats) * 4 <= Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);

function checkConv(x: Num, d: ConvDims, w: Num): void {
  if (d.channels > d.rowWidth || x.length !== d.batch * d.seq * d.rowWidth || w.length !== d.channels * d.width) {
    throw new Error(`ssm conv: x ${x.length} / weight ${w.length} do not match [${d.batch}, ${d.seq}, ${d.rowWidth}] rows and ${d.channels} × ${d.width} taps`);
  }
}

export async function gpuSsmConvForward(device: GPUDevice, x: Num, d: ConvDims, w: Num, bias: Num | null): Promise<Float64Array> {
  checkConv(x, d, w);
  if (!fits(device, x.length)) return ssmConvForward(x, d, w, bias);
  const rows = d.batch * d.seq;
  const job = new Job(device, d.batch, d.seq);
  const out = job.output(rows * d.channels);
  job.dispatch(convForwardKernel(d), [job.input(x), job.input(w), job.input(bias ?? new Float32Array(d.channels)), out], flatGrid(Math.ceil((rows * d.channels) / FLAT_GROUP)));
  const [o] = await job.run([out]);
  return Float64Array.from(o.subarray(0, rows * d.channels));
}

export async function gpuSsmConvBackward(device: GPUDevice, dOut: Float64Array, x: Num, d: ConvDims, w: Num, bias: Num | null, dx: Float64Array | null, dw: Float64Array | null, dBias: Float64Array | null): Promise<void> {
  if (dx === null && dw === null && dBias === null) return;
  checkConv(x, d, w);
  if (!fits(device, x.length)) return ssmConvBackward(dOut, x, d, w, bias, dx, dw, dBias);
  const { channels: E, width: K, rowWidth } = d;
  const rows = d.batch * d.seq;
  const job = new Job(device, d.batch, d.seq);
  const xb = job.input(x);
  const wb = job.input(w);
  const grid = flatGrid(Math.ceil((rows * E) / FLAT_GROUP));
  const gb = job.output(rows * E);
  job.dispatch(convGradKernel(d), [xb, wb, job.input(bias ?? new Float32Array(E)), job.input(dOut), gb], grid);
  const outs: GPUBuffer[] = [];
  const dxb = job.output(rows * E);
  const dwb = job.output(E * K);
  const dbb = job.output(E);
  if (dx !== null) {
    job.dispatch(convDxKernel(d), [wb, gb, dxb], grid);
    outs.push(dxb);
  }
  if (dw !== null || dBias !== null) {
    job.dispatch(convDwKernel(d), [xb, gb, dwb, dbb], [E, 1]);
    outs.push(dwb, dbb);
  }
  const got = await job.run(outs);
  let i = 0;
  if (dx !== null) {
    const g = got[i++];
    for (let r = 0; r < rows; r++) for (let c = 0; c < E; c++) dx[r * rowWidth + c] += g[r * E + c];
  }
  if (dw !== null || dBias !== null) {
    const gw = got[i++];
    const gb = got[i++];
    if (dw !== null) for (let j = 0; j < E * K; j++) dw[j] += gw[j];
    if (dBias !== null) for (let c = 0; c < E; c++) dBias[c] += gb[c];
  }
}

function checkScan(u: Num, proj: Num, z: Num, dims: ScanDims): void {
  const { batch, seq, inner: E, stateSize: N, dtRank: R } = dims;
  const rows = batch * seq;
  if (u.length !== rows * E || proj.length !== rows * (R + 2 * N) || z.length !== rows * 2 * E) {
    throw new Error(`ssm scan: u ${u.length} / proj ${proj.length} / z ${z.length} do not match ${rows} rows of ${E} channels, state ${N}, dt rank ${R}`);
  }
}

/** The scan's parameter buffers: DTW, AL, DB (dt bias then D). */
function scanParams(job: Job, dims: ScanDims, w: ScanParams): GPUBuffer[] {
  const E = dims.inner;
  const db = new Float32Array(2 * E);
  for (let e = 0; e < E; e++) {
    db[e] = w.dtBias[e];
    db[E + e] = w.d[e];
  }
  return [job.input(w.dtWeight), job.input(w.aLog), job.input(db)];
}

export async function gpuSsmScanForward(device: GPUDevice, u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams): Promise<Float64Array> {
  checkScan(u, proj, z, dims);
  if (!fits(device, z.length, proj.length)) return ssmScanForward(u, proj, z, dims, w);
  const rows = dims.batch * dims.seq;
  const job = new Job(device, dims.batch, dims.seq);
  const out = job.output(rows * dims.inner);
  job.dispatch(scanForwardKernel(dims), [job.input(u), job.input(proj), job.input(z), ...scanParams(job, dims, w), out], [Math.ceil(dims.inner / SCAN_FORWARD_GROUP), dims.batch]);
  const [o] = await job.run([out]);
  return Float64Array.from(o.subarray(0, rows * dims.inner));
}

export async function gpuSsmScanBackward(device: GPUDevice, dOut: Float64Array, u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams, g: ScanGrads): Promise<void> {
  if (Object.values(g).every((a) => a === null)) return;
  checkScan(u, proj, z, dims);
  const { batch, seq, inner: E, stateSize: N, dtRank: R } = dims;
  const rows = batch * seq;
  const P = R + 2 * N;
  const NP = R + N + 2;
  const WG = scanBackwardGroup(dims);
  const groups = Math.ceil(E / Math.max(1, WG));
  const ckFloats = batch * groups * WG * Math.ceil(seq / scanChunk(dims)) * N;
  if (WG === 0 || !fits(device, z.length, ckFloats, groups * rows * P)) return ssmScanBackward(dOut, u, proj, z, dims, w, g);
  const job = new Job(device, batch, seq);
  const ck = job.output(ckFloats);
  const du = job.output(rows * E);
  const dz = job.output(rows * E);
  const dp = job.output(groups * rows * P);
  const dpk = job.output(batch * E * NP);
  const ins = [job.input(dOut), job.input(u), job.input(proj), job.input(z), ...scanParams(job, dims, w)];
  job.dispatch(scanBackwardKernel(dims), [...ins, ck, du, dz, dp, dpk], [groups, batch]);
  const [gu, gz, gp, gk] = await job.run([du, dz, dp, dpk]);
  if (g.u) for (let i = 0; i < rows * E; i++) g.u[i] += gu[i];
  if (g.z) for (let r = 0; r < rows; r++) for (let e = 0; e < E; e++) g.z[r * 2 * E + E + e] += gz[r * E + e];
  if (g.proj) for (let q = 0; q < groups; q++) for (let i = 0; i < rows * P; i++) g.proj[i] += gp[q * rows * P + i];
  for (let b = 0; b < batch; b++) {
    for (let e = 0; e < E; e++) {
      const o = (b * E + e) * NP;
      if (g.dtWeight) for (let r = 0; r < R; r++) g.dtWeight[e * R + r] += gk[o + r];
      if (g.dtBias) g.dtBias[e] += gk[o + R];
      if (g.aLog) for (let n = 0; n < N; n++) g.aLog[e * N + n] += gk[o + R + 1 + n];
      if (g.d) g.d[e] += gk[o + R + 1 + N];
    }
  }
}
