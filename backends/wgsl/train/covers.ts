// Which calls the WebGPU training kernels take, and which run the float64 reference kernels.
//
// THE RULE. A call runs the reference kernel when
//   - attention: it has a block-sparse or strided pattern, or attention-weight dropout, or
//     heads not a multiple of kv heads — the options the Wasm kernels leave to the reference too
//     (backends/wasm/train/kernels.ts wasmAttentionCovers). Unlike Wasm, a head dim that is not
//     a multiple of 4 stays here: the WGSL kernels read such rows as scalars (attentionCommon's
//     VT = f32), where Wasm's SIMD lanes need whole vec4s;
//   - any call: one of its buffers would exceed the device's maxStorageBufferBindingSize or
//     maxBufferSize, its kernels would bind more storage buffers than
//     maxStorageBuffersPerShaderStage allows, or its grid more workgroups in a dimension than
//     maxComputeWorkgroupsPerDimension (1-D grids fold into two dimensions first).
// Workgroup memory never forces a fallback: a head dim whose staged blocks do not fit
// maxComputeWorkgroupStorageSize runs the walk variant, which stages nothing. No workgroup has
// more than 128 invocations (matmuls 64, attention 32 / 64, elementwise and reductions 128) nor
// stages more than 16 KiB: WebGPU's minimums even at the compatibility feature level, so those
// limits need no test.

import type { TrainAttentionOptions } from "../../reference/backward/attention.ts";
import type { AttentionDims } from "../../reference/kernels/shape.ts";
import { BKV, BQ } from "./attention-train.ts";
import { ACT_LINE } from "./activation-train.ts";
import { gemmTile, LINE } from "./matmul-train.ts";

export interface TrainLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupsPerDimension: number;
}

const fitsBuffers = (l: TrainLimits, words: number[]): boolean => words.every((w) => w * 4 <= Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize));
const fitsGrid = (l: TrainLimits, grid: number[]): boolean => grid.every((n) => n <= l.maxComputeWorkgroupsPerDimension);
/** A folded 1-D grid of n workgroups: at most the limit squared. */
const fitsLine = (l: TrainLimits, n: number): boolean => n <= l.maxComputeWorkgroupsPerDimension ** 2;

/** Attention options the WGSL kernels implement (independent of the device). */
export function webgpuAttentionOptionsCovered(dims: AttentionDims, o: TrainAttentionOptions): boolean {
  return o.sparse === undefined && o.dropout === undefined && dims.heads % dims.kvHeads === 0;
}

export function attentionFits(l: TrainLimits, dims: AttentionDims, o: TrainAttentionOptions): boolean {
  const { batch, seqQ, seqK, heads, kvHeads, headDim } = dims;
  const rows = batch * seqQ * heads;
  const bindings = 7 + (o.keyMask !== undefined ? 1 : 0); // the dk/dv pass: Q K V dO LD [mask] dK dV
  return (
    webgpuAttentionOptionsCovered(dims, o) &&
    bindings <= l.maxStorageBuffersPerShaderStage &&
    fitsBuffers(l, [rows * headDim, batch * seqK * kvHeads * headDim, 2 * rows, batch * seqK]) &&
    fitsGrid(l, [Math.ceil(seqQ / BQ), Math.ceil(seqK / BKV), heads, batch]) &&
    fitsLine(l, Math.ceil(rows / 64))
  );
}

/**
 * A linear layer's calls, forward and backward, with `slices` partial dW slices: x [rows, in],
 * W [out, in], y / dy [rows, out], the partials [slices, out, in], and the three grids.
 */
export function linearFits(l: TrainLimits, rows: number, inDim: number, outDim: number, tiles: boolean, slices: number): boolean {
  const { bm, bn } = gemmTile(tiles);
  return (
    l.maxStorageBuffersPerShaderStage >= 4 &&
    fitsBuffers(l, [rows * inDim, outDim * inDim, rows * outDim, slices * outDim * inDim]) &&
    fitsGrid(l, [Math.ceil(outDim / bn), Math.ceil(rows / bm), Math.ceil(inDim / bn), Math.ceil(outDim / bm), slices]) &&
    fitsLine(l, Math.ceil((outDim * inDim) / LINE))
  );
}

export function elementsFit(l: TrainLimits, n: number): boolean {
  return l.maxStorageBuffersPerShaderStage >= 3 && fitsBuffers(l, [n]) && fitsLine(l, Math.ceil(n / ACT_LINE));
}
