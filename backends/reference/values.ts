// Run-time values of the reference executor and the per-sequence decoding caches, shared by
// the interpreter (executor.ts) and the attention ops (attention-op.ts).

import type { LinearAttentionState } from "./kernels/index.ts";

import type { Tensor } from "../../src/runtime/tensor.ts";

export type { Tensor, TensorData } from "../../src/runtime/tensor.ts";
export type F32Tensor = Tensor & { data: Float32Array };
/** Value id → tensor. */
export type Env = Map<number, Tensor>;

/**
 * Self-attention keys/values of the positions decoded so far, after RoPE, as
 * [batch, length, kvHeads * headDim]. A sliding-window cache drops rows that no future query
 * can see, so row 0 holds absolute position `start`.
 */
export interface KVCache {
  k: Float32Array;
  v: Float32Array;
  start: number;
  length: number;
}

export interface DecodeCaches {
  batch: number;
  /** By attention node `cache` name. */
  kv: Map<string, KVCache>;
  linear: Map<string, LinearAttentionState>;
  /** By ssm_conv / ssm_scan `cache` name: [batch, floats per sequence] (the state plan's "recurrent"). */
  recurrent: Map<string, Float32Array>;
  /** Per step-fed bool input: the mask of every position decoded so far, [batch, position]. */
  masks: ReadonlyMap<string, Uint8Array>;
}

export interface RunContext {
  /** Absolute position of the first decoder row: 0 in forward, tokens already decoded in step. */
  offset: number;
  /** Input name → tensor, already validated (inputs.ts). */
  inputs: ReadonlyMap<string, Tensor>;
  /** Present when stepping: the caches of the decode state. */
  decode?: DecodeCaches;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function get(env: Env, id: number): Tensor {
  const t = env.get(id);
  if (t === undefined) throw new Error(`reference executor: value %${id} is not computed yet`);
  return t;
}

export function f32(env: Env, id: number): F32Tensor {
  const t = get(env, id);
  if (!(t.data instanceof Float32Array)) throw new Error(`reference executor: value %${id} is not f32`);
  return t as F32Tensor;
}

/** positions[r] = offset + r. */
export function positions(offset: number, n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, r) => offset + r);
}
