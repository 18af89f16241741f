/**
 * How many (query, key) pairs one attention head scores over a sequence, for inspect's FLOP
 * counts (summary.ts): dense, windowed, strided and block-sparse patterns, in closed form.
 */
import type { AttentionInfo } from "../model/model.ts";

/** Σ floor(i / s) for i in [0, n): closed form, so the sums below cost O(1), not O(seq). */
function sumFloorDiv(n: number, s: number): number {
  if (n <= 0) return 0;
  const q = Math.floor(n / s);
  return (s * q * (q - 1)) / 2 + (n - q * s) * q;
}

/**
 * Σ f(i) for integers i in [lo, hi), where f is affine between consecutive `cuts` (the
 * integers where a new piece starts): each piece is summed as an arithmetic series.
 */
function sumPieces(f: (i: number) => number, lo: number, hi: number, cuts: number[]): number {
  const at = [...new Set(cuts.map((c) => Math.min(hi, Math.max(lo, c))))].filter((c) => c > lo && c < hi).sort((a, b) => a - b);
  let total = 0;
  let start = lo;
  for (const end of [...at, hi]) {
    const n = end - start;
    if (n > 0) total += (n * (f(start) + f(end - 1))) / 2;
    start = end;
  }
  return total;
}

/**
 * (query, key) pairs one head scores over the whole sequence. Causal masking is ignored for
 * dense and sparse patterns alike: a causal kernel can skip about half, but not every kernel does.
 * Sparse patterns are counted in closed form (per block, or per arithmetic run of rows): an
 * `inspect --seq` of 2^40 must not walk 2^40 rows.
 */
export function scoredPairs(a: AttentionInfo, seq: number, keys: number): number {
  // A causal window sees w keys; a bidirectional one |i - j| < w, so 2w - 1.
  const windowKeys = a.window === undefined ? keys : Math.min(keys, a.causal ? a.window : 2 * a.window - 1);
  const sp = a.sparse;
  if (!sp) return seq * windowKeys;
  // A window and a pattern together is no checked model; count those row by row.
  if (a.window === undefined) return sp.kind === "strided" ? stridedPairs(sp.stride, seq, keys) : blockPairs(sp, seq, keys);
  let pairs = 0;
  for (let i = 0; i < seq; i++) {
    let visible: number;
    if (sp.kind === "strided") {
      // The band |i - j| < stride plus the columns i ± k·stride outside it.
      const band = Math.min(i + sp.stride, keys) - Math.max(i - sp.stride + 1, 0);
      visible = band + Math.floor(i / sp.stride) + Math.floor(Math.max(keys - 1 - i, 0) / sp.stride);
    } else {
      // Visible blocks: all of them for a global query block, else the global blocks ∪ the band.
      const bi = Math.floor(i / sp.block);
      const globalEnd = Math.min(sp.global * sp.block, keys);
      if (bi < sp.global) visible = keys;
      else if (sp.local <= 0) visible = globalEnd;
      else {
        const lo = Math.max((bi - sp.local + 1) * sp.block, globalEnd);
        const hi = Math.min((bi + sp.local) * sp.block, keys);
        visible = globalEnd + Math.max(hi - lo, 0);
      }
    }
    pairs += Math.min(visible, windowKeys);
  }
  return pairs;
}

/**
 * Strided: row i sees the band |i - j| < s, i.e. min(i + s, K) - max(i - s + 1, 0) keys,
 * plus floor(i / s) columns to its left and floor((K - 1 - i) / s) to its right.
 */
function stridedPairs(s: number, seq: number, K: number): number {
  const n1 = Math.min(Math.max(K - s + 1, 0), seq); // rows whose band ends at i + s, not at K
  const bandEnds = (n1 * (n1 - 1)) / 2 + s * n1 + (seq - n1) * K;
  const m = Math.max(seq - s, 0); // rows whose band starts past 0 (at i - s + 1 = 1, 2, ...)
  const bandStarts = (m * (m + 1)) / 2;
  const n2 = Math.min(seq, K);
  const right = sumFloorDiv(K, s) - sumFloorDiv(K - n2, s);
  return bandEnds - bandStarts + sumFloorDiv(seq, s) + right;
}

/**
 * Block-sparse: every row of query block b sees the same keys, so the sum runs over blocks,
 * and over runs of blocks in closed form: what a block sees is affine in b between the
 * blocks where a bound of its band clamps or the band empties.
 */
function blockPairs(sp: Extract<NonNullable<AttentionInfo["sparse"]>, { kind: "block" }>, seq: number, K: number): number {
  const { block: B, local: L, global: G } = sp;
  const gEnd = Math.min(G * B, K);
  const visible = (b: number): number => {
    if (b < G) return K;
    if (L <= 0) return gEnd;
    const lo = Math.max((b - L + 1) * B, gEnd);
    const hi = Math.min((b + L) * B, K);
    return gEnd + Math.max(hi - lo, 0);
  };
  const blocks = Math.ceil(seq / B);
  const after = (x: number) => Math.floor(x) + 1;
  const cuts = [G, after(K / B - L), after(gEnd / B + L - 1), after(K / B + L - 1), after(gEnd / B - L)];
  // Every block has B rows but the last, which may be cut short by seq.
  const full = sumPieces(visible, 0, blocks - 1, cuts);
  return B * full + (seq - (blocks - 1) * B) * visible(blocks - 1);
}
