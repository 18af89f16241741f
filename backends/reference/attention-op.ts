// The attention ops of the reference executor, in both modes: a full forward, where q/k/v
// cover the whole sequence, and an incremental step, where k/v of the new rows join the
// state's cache first. Both modes end in the same kernel call with the same absolute
// positions, which is what makes step-by-step decoding reproduce the forward logits.

import type { Node } from "../../src/ir/ir.ts";
import {
  headSlopes,
  applyRope,
  attention,
  linearAttention,
  linearAttentionStep,
  type AttentionDims,
  type AttentionOptions,
} from "./kernels/index.ts";
import { slidingWindow, windowHistory } from "../../src/ir/state-plan.ts";
import { f32, get, positions, type Env, type KVCache, type RunContext, type Tensor } from "./values.ts";

type AttentionNode = Extract<Node, { op: "attention" }>;
type LinearAttentionNode = Extract<Node, { op: "linear_attention" }>;

interface Projected {
  dims: AttentionDims;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

/** q/k/v as the kernels want them, with RoPE applied at absolute positions. */
function project(n: AttentionNode | LinearAttentionNode, env: Env, ctx: RunContext): Projected {
  const q = f32(env, n.q);
  const k = f32(env, n.k);
  const v = f32(env, n.v);
  const [batch, seqQ] = q.shape;
  const seqK = k.shape[1];
  const { heads, kvHeads, headDim } = n;
  if (q.shape[2] !== heads * headDim || k.shape[2] !== kvHeads * headDim || v.shape[2] !== kvHeads * headDim) {
    throw new Error(`q ${q.shape} / k ${k.shape} / v ${v.shape} do not match heads ${heads}, kvHeads ${kvHeads}, headDim ${headDim}`);
  }
  let qd = q.data;
  let kd = k.data;
  if (n.rope) {
    const { dim, base, scaling } = n.rope;
    // Copies: the projections are graph values and must stay as computed.
    qd = applyRope(qd.slice(), batch, seqQ, heads, headDim, positions(ctx.offset, seqQ), dim, base, scaling);
    // Self keys are the same rows as the queries; memory keys sit at source positions 0..seqK-1.
    const kOffset = n.source === "self" ? ctx.offset : 0;
    kd = applyRope(kd.slice(), batch, seqK, kvHeads, headDim, positions(kOffset, seqK), dim, base, scaling);
  }
  return { dims: { batch, seqQ, seqK, heads, kvHeads, headDim }, q: qd, k: kd, v: v.data };
}

function mask(env: Env, id: number): Uint8Array {
  const t = get(env, id);
  if (!(t.data instanceof Uint8Array)) throw new Error(`padding mask %${id} is not bool`);
  return t.data;
}

/** Appends `n` rows per sequence of k/v [batch, n, width] to the cache. */
function append(c: KVCache, k: Float32Array, v: Float32Array, batch: number, n: number, width: number): void {
  const len = c.length + n;
  const nk = new Float32Array(batch * len * width);
  const nv = new Float32Array(batch * len * width);
  for (let b = 0; b < batch; b++) {
    const old = [b * c.length * width, (b + 1) * c.length * width] as const;
    const add = [b * n * width, (b + 1) * n * width] as const;
    nk.set(c.k.subarray(...old), b * len * width);
    nv.set(c.v.subarray(...old), b * len * width);
    nk.set(k.subarray(...add), (b * len + c.length) * width);
    nv.set(v.subarray(...add), (b * len + c.length) * width);
  }
  c.k = nk;
  c.v = nv;
  c.length = len;
}

/** Keeps the newest `keep` rows per sequence. */
function dropOldest(c: KVCache, keep: number, batch: number, width: number): void {
  if (c.length <= keep) return;
  const drop = c.length - keep;
  const nk = new Float32Array(batch * keep * width);
  const nv = new Float32Array(batch * keep * width);
  for (let b = 0; b < batch; b++) {
    const from = (b * c.length + drop) * width;
    nk.set(c.k.subarray(from, from + keep * width), b * keep * width);
    nv.set(c.v.subarray(from, from + keep * width), b * keep * width);
  }
  c.k = nk;
  c.v = nv;
  c.start += drop;
  c.length = keep;
}

/** Columns [start, start + length) of a [batch, total] mask history. */
function maskColumns(history: Uint8Array, batch: number, start: number, length: number): Uint8Array {
  const total = history.length / batch;
  const out = new Uint8Array(batch * length);
  for (let b = 0; b < batch; b++) out.set(history.subarray(b * total + start, b * total + start + length), b * length);
  return out;
}

export function runAttention(n: AttentionNode, env: Env, ctx: RunContext, inputOf: ReadonlyMap<number, string>): Tensor {
  const p = project(n, env, ctx);
  const { batch, seqQ, heads, kvHeads, headDim } = p.dims;
  const opts: AttentionOptions = {
    causal: n.causal,
    ...(n.scale !== undefined ? { scale: n.scale } : {}),
    ...(n.softcap !== undefined ? { softcap: n.softcap } : {}),
    ...(n.window !== undefined ? { window: n.window } : {}),
    ...(n.sparse ? { sparse: n.sparse } : {}),
    ...(n.alibi ? { alibi: headSlopes(heads, true, n.headWindows) } : {}),
    ...(n.headWindows ? { headWindows: n.headWindows } : {}),
  };
  const shape = [batch, seqQ, heads * headDim];

  if (ctx.decode === undefined || n.source === "memory") {
    // Memory keys are static (computed once per source), so stepping needs no cache for them.
    const keyMask = n.padding === undefined ? undefined : mask(env, n.padding);
    const out = attention(p.q, p.k, p.v, p.dims, { ...opts, ...(keyMask ? { keyMask } : {}), queryOffset: ctx.offset });
    return { data: out, shape };
  }

  const cache = ctx.decode.kv.get(n.cache);
  if (cache === undefined) throw new Error(`the decode state has no KV cache "${n.cache}"`);
  const width = kvHeads * headDim;
  append(cache, p.k, p.v, batch, p.dims.seqK, width);
  let keyMask: Uint8Array | undefined;
  if (n.padding !== undefined) {
    // The step's mask input covers only the new rows; the state keeps every earlier row's.
    const history = ctx.decode.masks.get(inputOf.get(n.padding) ?? "");
    keyMask = history ? maskColumns(history, batch, cache.start, cache.length) : mask(env, n.padding);
  }
  const out = attention(p.q, cache.k, cache.v, { ...p.dims, seqK: cache.length }, {
    ...opts,
    ...(keyMask ? { keyMask } : {}),
    // Cache row j is absolute position start + j; the kernel's positions are cache-relative.
    queryOffset: ctx.offset - cache.start,
  });
  // The shared state plan's policy (src/ir/state-plan.ts): a causal sliding window of w lets the
  // next query (at start + length) see only the last w - 1 rows, its `history`; the compiled
  // backends keep those in a ring of history + chunk rows. Other caches keep everything.
  const w = slidingWindow(n);
  if (w !== undefined) dropOldest(cache, windowHistory(w), batch, width);
  return { data: out, shape };
}

export function runLinearAttention(n: LinearAttentionNode, env: Env, ctx: RunContext): Tensor {
  const p = project(n, env, ctx);
  const { batch, seqQ, seqK, heads, kvHeads, headDim } = p.dims;
  let { k, v } = p;
  if (n.padding !== undefined) {
    // φ(-inf) = 0 for both feature maps (elu1: exp(-inf); relu: 0), so a padded key adds
    // nothing to S = Σ φ(k) vᵀ or z = Σ φ(k); its value is zeroed so 0 · garbage stays 0.
    const m = mask(env, n.padding);
    const width = kvHeads * headDim;
    k = k.slice();
    v = v.slice();
    for (let r = 0; r < batch * seqK; r++) {
      if (m[r] !== 0) continue;
      k.fill(-Infinity, r * width, (r + 1) * width);
      v.fill(0, r * width, (r + 1) * width);
    }
  }
  let out: Float32Array;
  if (ctx.decode !== undefined && n.source === "self") {
    const state = ctx.decode.linear.get(n.cache);
    if (state === undefined) throw new Error(`the decode state has no linear-attention state "${n.cache}"`);
    out = linearAttentionStep(state, p.q, k, v, p.dims, { featureMap: n.featureMap });
  } else {
    out = linearAttention(p.q, k, v, p.dims, { causal: n.causal, featureMap: n.featureMap });
  }
  return { data: out, shape: [batch, seqQ, heads * headDim] };
}
