// Scaled dot-product attention with masks, ALiBi, GQA and sparse patterns, by online softmax.
// Each query row walks only its visible keys, so cost is O(visible keys) per query and no
// [seqQ, seqK] score buffer ever exists: a window-w model over n tokens costs O(n·w).

import { type AttentionDims, checkAttentionDims, checkLength, checkSize } from "./shape.ts";

export type { AttentionDims } from "./shape.ts";

export type SparsePattern =
  | { kind: "block"; block: number; local: number; global: number }
  | { kind: "strided"; stride: number };

export interface AttentionOptions {
  causal: boolean;
  /** Sliding window: causal: key j visible iff i - window < j <= i; bidirectional: |i - j| < window. */
  window?: number;
  /** Per query head slope; adds -slope * |i - j| to the score. */
  alibi?: Float32Array;
  /** Per query head window (Hard-ALiBi), causal only: head h sees keys j > i - w_h; 0 = no limit. */
  headWindows?: readonly number[];
  /** [batch, seqK], 1 = real token, 0 = padding. */
  keyMask?: Uint8Array;
  /** Absolute position of query row 0; default seqK - seqQ (queries are the newest positions). */
  queryOffset?: number;
  /** Default 1 / sqrt(headDim). */
  scale?: number;
  /** Scaled scores become softcap · tanh(score / softcap) before ALiBi and masks (Gemma-2). */
  softcap?: number;
  sparse?: SparsePattern;
}

/**
 * Visible key positions for a query at absolute position i, as [start, end, step) triples in
 * increasing key order, appended to `out` (cleared first). Masks that depend on batch (padding)
 * are applied by the caller; everything here depends on i only.
 */
export function visibleKeySegments(i: number, seqK: number, opts: AttentionOptions, out: number[]): void {
  out.length = 0;
  let lo = 0;
  let hi = seqK;
  if (opts.causal) hi = Math.min(hi, i + 1);
  if (opts.window !== undefined) {
    lo = Math.max(lo, i - opts.window + 1);
    if (!opts.causal) hi = Math.min(hi, i + opts.window);
  }
  const push = (start: number, end: number, step: number): void => {
    const s = Math.max(start, lo);
    const e = Math.min(end, hi);
    if (s < e) out.push(s, e, step);
  };
  if (lo >= hi) return;
  const sp = opts.sparse;
  if (sp === undefined) {
    push(lo, hi, 1);
  } else if (sp.kind === "block") {
    const bi = Math.floor(i / sp.block);
    if (bi < sp.global) {
      push(lo, hi, 1); // a global query block sees every block
      return;
    }
    // Union of the leading global blocks and the band of blocks with |bi - bj| < local.
    const globalEnd = sp.global * sp.block;
    if (sp.local <= 0) {
      push(0, globalEnd, 1);
      return;
    }
    const bandStart = (bi - sp.local + 1) * sp.block;
    const bandEnd = (bi + sp.local) * sp.block;
    if (bandStart <= globalEnd) {
      push(0, Math.max(globalEnd, bandEnd), 1);
    } else {
      push(0, globalEnd, 1);
      push(bandStart, bandEnd, 1);
    }
  } else {
    // Strided (Child et al. 2019): the band |i - j| < stride plus every key with
    // (i - j) ≡ 0 mod stride, split into left columns, band, right columns so none repeats.
    const st = sp.stride;
    const firstColumn = lo + (((i - lo) % st) + st) % st; // smallest j >= lo with j ≡ i (mod st)
    push(firstColumn, i - st + 1, st);
    push(i - st + 1, i + st, 1);
    push(Math.max(i + st, firstColumn), hi, st);
  }
}

function checkOptions(opts: AttentionOptions, dims: AttentionDims): void {
  const fn = "attention";
  if (opts.window !== undefined) checkSize(fn, "window", opts.window, 1);
  if (opts.alibi !== undefined) checkLength(fn, "alibi", opts.alibi.length, { heads: dims.heads });
  if (opts.headWindows !== undefined) {
    checkLength(fn, "headWindows", opts.headWindows.length, { heads: dims.heads });
    if (!opts.causal) throw new Error(`${fn}: headWindows need causal attention`);
    opts.headWindows.forEach((w, h) => checkSize(fn, `headWindows[${h}]`, w));
  }
  if (opts.keyMask !== undefined) {
    checkLength(fn, "keyMask", opts.keyMask.length, { batch: dims.batch, seqK: dims.seqK });
  }
  if (opts.queryOffset !== undefined && !Number.isInteger(opts.queryOffset)) {
    throw new Error(`${fn}: queryOffset must be an integer, got ${opts.queryOffset}`);
  }
  if (opts.scale !== undefined && !Number.isFinite(opts.scale)) {
    throw new Error(`${fn}: scale must be finite, got ${opts.scale}`);
  }
  if (opts.softcap !== undefined && !(opts.softcap > 0 && Number.isFinite(opts.softcap))) {
    throw new Error(`${fn}: softcap must be a finite positive number, got ${opts.softcap}`);
  }
  const sp = opts.sparse;
  if (sp === undefined) return;
  if (sp.kind === "block") {
    checkSize(fn, "sparse.block", sp.block, 1);
    checkSize(fn, "sparse.local", sp.local);
    checkSize(fn, "sparse.global", sp.global);
  } else if (sp.kind === "strided") {
    checkSize(fn, "sparse.stride", sp.stride, 1);
  } else {
    throw new Error(`${fn}: unknown sparse pattern kind "${String((sp as { kind: unknown }).kind)}"`);
  }
}

/**
 * softmax(cap(q kᵀ · scale) + bias + mask) v (cap: the optional softcap) for q [batch, seqQ, heads, headDim] and k, v
 * [batch, seqK, kvHeads, headDim]; returns [batch, seqQ, heads, headDim]. Query head h reads kv
 * head floor(h / (heads / kvHeads)) (GQA; MQA when kvHeads = 1). Query row r sits at absolute
 * position queryOffset + r, key j at position j. A query with no visible key outputs zeros.
 */
export function attention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dims: AttentionDims,
  opts: AttentionOptions,
): Float32Array {
  const group = checkAttentionDims("attention", q, k, v, dims);
  checkOptions(opts, dims);
  const { batch, seqQ, seqK, heads, kvHeads, headDim } = dims;
  const offset = opts.queryOffset ?? seqK - seqQ;
  const scale = opts.scale ?? 1 / Math.sqrt(headDim);
  const { alibi, keyMask, softcap } = opts;
  const out = new Float32Array(batch * seqQ * heads * headDim);
  const acc = new Float64Array(headDim);
  const segs: number[] = [];

  for (let r = 0; r < seqQ; r++) {
    const i = offset + r;
    visibleKeySegments(i, seqK, opts, segs);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        const kvh = Math.floor(h / group);
        const qo = ((b * seqQ + r) * heads + h) * headDim;
        const slope = alibi === undefined ? 0 : alibi[h];
        const hw = opts.headWindows?.[h] ?? 0;
        const first = hw > 0 ? i - hw + 1 : 0; // the head's own window, inside the row's keys
        // Online softmax (Milakov & Gimelshein 2018): running max m, running denominator l, and
        // acc = Σ exp(s_j - m) v_j, all rescaled whenever m grows. One pass, exact result.
        let m = -Infinity;
        let l = 0;
        let seen = false;
        acc.fill(0);
        for (let t = 0; t < segs.length; t += 3) {
          const end = segs[t + 1];
          const step = segs[t + 2];
          for (let j = segs[t]; j < end; j += step) {
            if (j < first) continue;
            // Skip padding before reading k/v: padded slots may hold garbage (even NaN).
            if (keyMask !== undefined && keyMask[b * seqK + j] === 0) continue;
            const ko = ((b * seqK + j) * kvHeads + kvh) * headDim;
            let dot = 0;
            for (let d = 0; d < headDim; d++) dot += q[qo + d] * k[ko + d];
            const scaled = dot * scale;
            const s = (softcap === undefined ? scaled : softcap * Math.tanh(scaled / softcap)) - slope * Math.abs(i - j);
            if (s > m) {
              const c = Math.exp(m - s); // 0 on the first key (m = -Infinity)
              l *= c;
              for (let d = 0; d < headDim; d++) acc[d] *= c;
              m = s;
            }
            seen = true;
            // A -inf score weighs 0 (not exp(-inf - -inf) = NaN while m is still -inf), as in a
            // whole-row softmax; its value is still read (0 · NaN is NaN there too).
            const p = s === -Infinity ? 0 : Math.exp(s - m);
            l += p;
            for (let d = 0; d < headDim; d++) acc[d] += p * v[ko + d];
          }
        }
        // l === 0 when no key was visible (zeros) or every visible key scored -inf (NaN, as
        // softmax over a row of -inf); a NaN l (bad inputs) must stay NaN, not become 0.
        if (l !== 0) for (let d = 0; d < headDim; d++) out[qo + d] = acc[d] / l;
        else if (seen) out.fill(NaN, qo, qo + headDim);
      }
    }
  }
  return out;
}
