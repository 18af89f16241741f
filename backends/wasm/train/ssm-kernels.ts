// The host side of the Wasm SSM training kernels (emit-ssm-train.ts): packs the operands into
// the kernels' layouts in the shared kernel memory (float32, [rows, E4] with zero padding
// lanes; per-channel parameters as rows of E4), calls them, and unpacks the results as
// TrainKernels' contract wants — fresh Float64Arrays, gradients added (+=) into the caller's
// arrays. The packing is O(rows · channels), against the kernels' O(rows · channels · state).
// The lane and thread partial sums of ∂proj are added here, in float64.

import type { ConvDims, Num, ScanDims, ScanGrads, ScanParams } from "../../reference/backward/index.ts";
import { paddedChannels } from "../emit-ssm.ts";
import { scanScratchBytes } from "./emit-ssm-train.ts";
import type { KernelMemory } from "./kernel-memory.ts";
import type { TrainKernel } from "./kernel-names.ts";

/** Calls kernel `k`'s function `role` with `args` (WasmTrainKernels' lookup; compiled on first use). */
export type SsmKernelCall = (k: TrainKernel, role: "fwd" | "bwd", args: number[]) => void;

export class WasmSsmKernels {
  constructor(
    private readonly mem: KernelMemory,
    private readonly call: SsmKernelCall,
  ) {}

  /** [rows, width] channels of `src` (rows `stride` apart, from `offset`) → a zero-padded [rows, E4] buffer. */
  private putPadded(src: Num, rows: number, stride: number, offset: number, width: number): number {
    const E4 = paddedChannels(width);
    const at = this.mem.alloc(rows * E4);
    const f = this.mem.f32;
    const o = at >> 2;
    for (let r = 0; r < rows; r++) {
      const d = o + r * E4;
      const s = r * stride + offset;
      if (src instanceof Float32Array) f.set(src.subarray(s, s + width), d);
      else for (let c = 0; c < width; c++) f[d + c] = src[s + c];
      for (let c = width; c < E4; c++) f[d + c] = 0;
    }
    return at;
  }

  /** `rowCount` rows of `width` per-channel values (row j: src[c · stride + j]; `fill` where src is null) → [rowCount][E4]. */
  private putColumns(at: number, src: Num | null, channels: number, stride: number, rowCount: number, map: (x: number) => number = (x) => x): void {
    const E4 = paddedChannels(channels);
    const f = this.mem.f32;
    const o = at >> 2;
    for (let j = 0; j < rowCount; j++) {
      for (let c = 0; c < channels; c++) f[o + j * E4 + c] = src === null ? 0 : map(src[c * stride + j]);
      for (let c = channels; c < E4; c++) f[o + j * E4 + c] = 0;
    }
  }

  /** dst[r · stride + offset + c] += the [rows, E4] buffer at `at`, c < width. */
  private addPadded(dst: Float64Array, at: number, rows: number, stride: number, offset: number, width: number): void {
    const E4 = paddedChannels(width);
    const f = this.mem.f32;
    const o = at >> 2;
    for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) dst[r * stride + offset + c] += f[o + r * E4 + c];
  }

  /** dst[c · stride + j] += row j of the [rowCount][E4] block at `at`, c < channels. */
  private addColumns(dst: Float64Array, at: number, channels: number, stride: number, rowCount: number): void {
    const E4 = paddedChannels(channels);
    const f = this.mem.f32;
    const o = at >> 2;
    for (let j = 0; j < rowCount; j++) for (let c = 0; c < channels; c++) dst[c * stride + j] += f[o + j * E4 + c];
  }

  private convKernel(d: ConvDims): TrainKernel {
    if (d.channels > d.rowWidth) throw new Error(`ssm conv: ${d.channels} channels do not fit rows of ${d.rowWidth}`);
    return { kind: "ssm_conv", spec: { channels: d.channels, width: d.width } };
  }

  /** The conv's packed taps and bias: [K][E4] then [E4]. */
  private putConvParams(d: ConvDims, w: Num, bias: Num | null): number {
    const E4 = paddedChannels(d.channels);
    const at = this.mem.alloc((d.width + 1) * E4);
    this.putColumns(at, w, d.channels, d.width, d.width);
    this.putColumns(at + d.width * E4 * 4, bias, d.channels, 1, 1);
    return at;
  }

  convForward(x: Num, d: ConvDims, w: Num, bias: Num | null): Float64Array {
    const { batch, seq, rowWidth, channels: E, width: K } = d;
    const rows = batch * seq;
    if (x.length !== rows * rowWidth || w.length !== E * K) throw new Error(`ssm conv: x ${x.length} / weight ${w.length} do not match [${batch}, ${seq}, ${rowWidth}] rows and ${E} × ${K} taps`);
    const k = this.convKernel(d);
    this.mem.reset();
    const xp = this.putPadded(x, rows, rowWidth, 0, E);
    const pk = this.putConvParams(d, w, bias);
    const out = this.mem.alloc(rows * paddedChannels(E));
    this.call(k, "fwd", [xp, pk, out, batch, seq]);
    const result = this.mem.pool.zeros64(rows * E);
    this.addPadded(result, out, rows, E, 0, E);
    return result;
  }

  convBackward(dOut: Float64Array, x: Num, d: ConvDims, w: Num, bias: Num | null, dx: Float64Array | null, dw: Float64Array | null, dBias: Float64Array | null): void {
    if (dx === null && dw === null && dBias === null) return;
    const { batch, seq, rowWidth, channels: E, width: K } = d;
    const rows = batch * seq;
    const E4 = paddedChannels(E);
    const k = this.convKernel(d);
    this.mem.reset();
    const dp = this.putPadded(dOut, rows, E, 0, E);
    const xp = this.putPadded(x, rows, rowWidth, 0, E);
    const pk = this.putConvParams(d, w, bias);
    const dxp = this.mem.zeros(rows * E4);
    const dpk = this.mem.zeros((K + 1) * E4);
    this.call(k, "bwd", [dp, xp, pk, dxp, dpk, batch, seq]);
    if (dx !== null) this.addPadded(dx, dxp, rows, rowWidth, 0, E);
    if (dw !== null) this.addColumns(dw, dpk, E, K, K);
    if (dBias !== null) this.addColumns(dBias, dpk + K * E4 * 4, E, 1, 1);
  }

  /** The scan's packed parameters: dtWeight [R][E4], dtBias [E4], A = −exp(A_log) [N][E4], D [E4]. */
  private putScanParams(dims: ScanDims, w: ScanParams): number {
    const { inner: E, stateSize: N, dtRank: R } = dims;
    const E4B = paddedChannels(E) * 4;
    const at = this.mem.alloc((R + N + 2) * paddedChannels(E));
    this.putColumns(at, w.dtWeight, E, R, R);
    this.putColumns(at + R * E4B, w.dtBias, E, 1, 1);
    this.putColumns(at + (R + 1) * E4B, w.aLog, E, N, N, (a) => -Math.exp(a));
    this.putColumns(at + (R + 1 + N) * E4B, w.d, E, 1, 1);
    return at;
  }

  private scanKernel(dims: ScanDims, u: Num, proj: Num, z: Num): TrainKernel {
    const { batch, seq, inner: E, stateSize: N, dtRank: R } = dims;
    const rows = batch * seq;
    if (u.length !== rows * E || proj.length !== rows * (R + 2 * N) || z.length !== rows * 2 * E) {
      throw new Error(`ssm scan: u ${u.length} / proj ${proj.length} / z ${z.length} do not match ${rows} rows of ${E} channels, state ${N}, dt rank ${R}`);
    }
    return { kind: "ssm_scan", spec: { inner: E, stateSize: N, dtRank: R } };
  }

  scanForward(u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams): Float64Array {
    const { batch, seq, inner: E, stateSize: N } = dims;
    const rows = batch * seq;
    const k = this.scanKernel(dims, u, proj, z);
    this.mem.reset();
    const up = this.putPadded(u, rows, E, 0, E);
    const pp = this.mem.put(proj);
    const zp = this.putPadded(z, rows, 2 * E, E, E);
    const pk = this.putScanParams(dims, w);
    const out = this.mem.alloc(rows * paddedChannels(E));
    const scr = this.mem.alloc(N * 4);
    this.call(k, "fwd", [up, pp, zp, pk, out, scr, batch, seq]);
    const result = this.mem.pool.zeros64(rows * E);
    this.addPadded(result, out, rows, E, 0, E);
    return result;
  }

  scanBackward(dOut: Float64Array, u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams, g: ScanGrads): void {
    if (Object.values(g).every((a) => a === null)) return;
    const { batch, seq, inner: E, stateSize: N, dtRank: R } = dims;
    const rows = batch * seq;
    const P = R + 2 * N;
    const E4 = paddedChannels(E);
    const E4B = E4 * 4;
    const k = this.scanKernel(dims, u, proj, z);
    this.mem.reset();
    const dp = this.putPadded(dOut, rows, E, 0, E);
    const up = this.putPadded(u, rows, E, 0, E);
    const pp = this.mem.put(proj);
    const zp = this.putPadded(z, rows, 2 * E, E, E);
    const pk = this.putScanParams(dims, w);
    const du = this.mem.alloc(rows * E4);
    const dz = this.mem.alloc(rows * E4);
    const dpp = this.mem.zeros(rows * P * 4);
    const dpk = this.mem.zeros((R + N + 2) * E4);
    const scr = this.mem.alloc(scanScratchBytes(seq, N) / 4);
    this.call(k, "bwd", [dp, up, pp, zp, pk, du, dz, dpp, dpk, scr, batch, seq]);
    if (g.u) this.addPadded(g.u, du, rows, E, 0, E);
    if (g.z) this.addPadded(g.z, dz, rows, 2 * E, E, E);
    if (g.proj) {
      const f = this.mem.f32;
      const o = dpp >> 2;
      for (let i = 0; i < rows * P; i++) g.proj[i] += f[o + 4 * i] + f[o + 4 * i + 1] + (f[o + 4 * i + 2] + f[o + 4 * i + 3]);
    }
    if (g.dtWeight) this.addColumns(g.dtWeight, dpk, E, R, R);
    if (g.dtBias) this.addColumns(g.dtBias, dpk + R * E4B, E, 1, 1);
    if (g.aLog) this.addColumns(g.aLog, dpk + (R + 1) * E4B, E, N, N);
    if (g.d) this.addColumns(g.d, dpk + (R + 1 + N) * E4B, E, 1, 1);
  }
}
