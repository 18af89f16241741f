// How one Wasm training kernel call is split over threads (thread-pool.ts's shares). Every
// output element is computed by the same code whatever the split, so T threads give one
// thread's results bit for bit:
//   matmul (linear forward, dx)  many rows: blocks of rows, cut at multiples of the register
//                                tile's MR rows so each block's tiles are the ones a single
//                                thread would run (the short tail tile, which sums K in another
//                                order, stays last); few rows: the kernel's own panel split
//                                ($tid's share of W's NR-column panels)
//   dW                           the kernel's bands of dW rows (each share owns disjoint rows)
//   attention                    the kernel's units: (batch, head) forward, (batch, KV head)
//                                backward, so dk / dv of a KV head have one writer
//   activations                  ranges of elements, cut at multiples of 16 (whole vectors,
//                                whole cache lines)
// A call below `minSplit` multiply-adds (for activations, 16 per element: an exp or erf each)
// stays on the calling thread: waking a worker costs tens of microseconds.

import { MR } from "../emit-matmul.ts";
import { NR } from "../plan.ts";
import { DW_MR } from "./emit-matmul-dw.ts";
import type { Share } from "./thread-pool.ts";

export type { Share } from "./thread-pool.ts";

/** The default minSplit: ~1 M multiply-adds, some 50 µs of kernel at the measured rates. */
export const MIN_SPLIT = 1 << 20;

/** The whole call on the calling thread. */
const whole = (args: number[]): Share[] => [{ tid: 0, nth: 1, args }];

/** Shares 0..n−1 of a kernel that splits its own work by set_thread. */
const byKernel = (n: number, args: number[]): Share[] => Array.from({ length: n }, (_, tid) => ({ tid, nth: n, args }));

/** Cuts [0, n) into `parts` ranges whose inner edges are multiples of `unit`; empty ranges left out. */
export function cuts(n: number, parts: number, unit: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let from = 0;
  for (let p = 1; p <= parts; p++) {
    const to = p === parts ? n : Math.min(n, Math.round((n * p) / parts / unit) * unit);
    if (to > from) out.push([from, to]);
    from = Math.max(from, to);
  }
  return out;
}

export interface SplitOptions {
  threads: number;
  minSplit: number;
}

/** C [rows, N] = A [rows, K] · Wᵀ: args (a, w, bias, c, rows), byte addresses. */
export function matmulShares(o: SplitOptions, relaxed: boolean, a: number, w: number, bias: number, c: number, rows: number, K: number, N: number): Share[] {
  const args = [a, w, bias, c, rows];
  if (o.threads === 1 || rows * K * N < o.minSplit) return whole(args);
  const mr = relaxed ? MR.relaxed : MR.simd;
  // Row blocks while each share keeps several register tiles; below that, W's panels.
  if (rows >= 4 * mr * o.threads) {
    return cuts(rows, o.threads, mr).map(([r0, r1]) => ({ tid: 0, nth: 1, args: [a + r0 * K * 4, w, bias, c + r0 * N * 4, r1 - r0] }));
  }
  const panels = Math.ceil(N / NR);
  return panels < 2 ? whole(args) : byKernel(Math.min(o.threads, panels), args);
}

/** dW [N, K] += dyᵀ x over `rows`: args (dy, x, c, rows, scratch); the kernel's bands are DW_MR rows of dW. */
export function dwShares(o: SplitOptions, dy: number, x: number, c: number, rows: number, N: number, K: number, scratch: number): Share[] {
  const args = [dy, x, c, rows, scratch];
  const bands = Math.ceil(N / DW_MR);
  if (o.threads === 1 || rows * K * N < o.minSplit || bands < 2) return whole(args);
  return byKernel(Math.min(o.threads, bands), args);
}

/** An attention kernel over `units` independent units of about `work` multiply-adds in all. */
export function attentionShares(o: SplitOptions, args: number[], units: number, work: number): Share[] {
  if (o.threads === 1 || work < o.minSplit || units < 2) return whole(args);
  return byKernel(Math.min(o.threads, units), args);
}

/**
 * An elementwise kernel over n floats: `ptrs` are its buffers' byte addresses, each advanced to
 * the share's first element; args (...ptrs, count).
 */
export function elementShares(o: SplitOptions, ptrs: number[], n: number): Share[] {
  if (o.threads === 1 || n * 16 < o.minSplit) return whole([...ptrs, n]);
  return cuts(n, o.threads, 16).map(([e0, e1]) => ({ tid: 0, nth: 1, args: [...ptrs.map((p) => p + e0 * 4), e1 - e0] }));
}
