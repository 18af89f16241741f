// Shape validation shared by the kernels. Kernels take flat arrays plus explicit sizes, so a
// mismatched size would otherwise read out of bounds (undefined -> NaN) instead of failing loudly.

/** Sizes shared by the softmax and linear attention kernels. */
export interface AttentionDims {
  batch: number;
  seqQ: number;
  seqK: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

export function checkSize(fn: string, name: string, value: number, min = 0): void {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${fn}: ${name} must be an integer >= ${min}, got ${value}`);
  }
}

export function checkLength(fn: string, name: string, actual: number, shape: Record<string, number>): void {
  let expected = 1;
  for (const n of Object.values(shape)) expected *= n;
  if (actual !== expected) {
    const desc = Object.entries(shape)
      .map(([k, n]) => `${k}=${n}`)
      .join(" x ");
    throw new Error(`${fn}: ${name} has length ${actual}, expected ${expected} (${desc})`);
  }
}

/** Validates q/k/v against dims; returns the GQA group size (query heads per kv head). */
export function checkAttentionDims(
  fn: string,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: AttentionDims,
): number {
  const { batch, seqQ, seqK, heads, kvHeads, headDim } = dims;
  checkSize(fn, "dims.batch", batch);
  checkSize(fn, "dims.seqQ", seqQ);
  checkSize(fn, "dims.seqK", seqK);
  checkSize(fn, "dims.heads", heads, 1);
  checkSize(fn, "dims.kvHeads", kvHeads, 1);
  checkSize(fn, "dims.headDim", headDim, 1);
  if (heads % kvHeads !== 0) {
    throw new Error(`${fn}: dims.heads (${heads}) must be a multiple of dims.kvHeads (${kvHeads})`);
  }
  checkLength(fn, "q", q.length, { batch, seqQ, heads, headDim });
  checkLength(fn, "k", k.length, { batch, seqK, kvHeads, headDim });
  checkLength(fn, "v", v.length, { batch, seqK, kvHeads, headDim });
  return heads / kvHeads;
}
