// Cross-entropy with label smoothing, PyTorch's semantics:
//   F.cross_entropy(logits, targets, ignore_index = -100, label_smoothing = ε), reduction "mean":
//   loss = Σ_{i valid} [(1 - ε)(lse_i - z_{i,y_i}) + ε (lse_i - mean_c z_{i,c})] / #valid,
// i.e. the target distribution (1 - ε)·onehot + ε/V. Targets < 0 are ignored (padding); its
// gradient with respect to the logits is (softmax - target distribution) / #valid.

export interface LossResult {
  /** Mean over the counted targets (0 when there are none). */
  loss: number;
  /** Counted (non-ignored) targets. */
  count: number;
  /** d loss / d logits, [rows, vocab]. */
  dLogits: Float64Array;
}

/** The inputs' checks (one-line errors), shared with the targets' own kernels; returns the counted targets. */
export function checkLossInputs(logits: ArrayLike<number>, targets: Int32Array, vocab: number, smoothing: number): number {
  const rows = targets.length;
  if (logits.length !== rows * vocab) throw new Error(`cross-entropy: ${logits.length} logits for ${rows} targets of vocab ${vocab}`);
  if (!(smoothing >= 0 && smoothing <= 1)) throw new Error(`label smoothing must be in [0, 1], got ${smoothing}`);
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const y = targets[r];
    if (y >= vocab) throw new Error(`target ${y} at row ${r} is outside [0, ${vocab})`);
    if (y >= 0) count++;
  }
  return count;
}

export function crossEntropy(logits: ArrayLike<number>, targets: Int32Array, vocab: number, smoothing = 0, wantGrad = true): LossResult {
  const rows = targets.length;
  const count = checkLossInputs(logits, targets, vocab, smoothing);
  const dLogits = new Float64Array(wantGrad ? rows * vocab : 0);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const y = targets[r];
    if (y < 0) continue;
    const o = r * vocab;
    let max = -Infinity;
    let sum = 0;
    for (let c = 0; c < vocab; c++) max = Math.max(max, logits[o + c]);
    let mean = 0;
    for (let c = 0; c < vocab; c++) {
      sum += Math.exp(logits[o + c] - max);
      mean += logits[o + c];
    }
    mean /= vocab;
    const lse = max + Math.log(sum);
    total += (1 - smoothing) * (lse - logits[o + y]) + smoothing * (lse - mean);
    if (!wantGrad) continue;
    for (let c = 0; c < vocab; c++) dLogits[o + c] = (Math.exp(logits[o + c] - lse) - smoothing / vocab - (c === y ? 1 - smoothing : 0)) / count;
  }
  return { loss: count > 0 ? total / count : 0, count, dLogits };
}
