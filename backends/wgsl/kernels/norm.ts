// LayerNorm / RMSNorm over the last axis: one workgroup per row, tree reductions in workgroup
// memory. LayerNorm takes two passes (mean, then squared deviations) like the reference, since
// E[x²] − E[x]² cancels badly when |mean| ≫ std.

import { Bindings, FLAT_ARGS, FLAT_ID, f32, floorPow2, kernel, seqLen, storeRow, u32, type Kernel, type SeqSym } from "../wgsl.ts";
import { ringStoreRow } from "./attention.ts";

export interface NormSpec {
  kind: "layer" | "rms";
  rows: SeqSym;
  /** Channels normed together: the weight's length. */
  D: number;
  /** Norm rows per activation row (heads, for a per-head q/k norm); absent: 1, a whole-row norm. */
  groups?: number;
  eps: number;
  bias: boolean;
  /** y = x̂ · (offset + w); absent: 0. */
  offset?: number;
  /** Rows go to their KV-cache slot (a key norm's output), in a ring of that many rows if given. */
  store?: { ring?: number };
}

export function normKernel(s: NormSpec, maxThreads: number): Kernel {
  // 32 threads (one warp) per row: wider rows loop. More threads only add reduction steps, and
  // on llvmpipe every barrier is a coroutine switch: 256 threads ran 6× slower than 32.
  const wg = Math.max(1, Math.min(floorPow2(maxThreads), 32, floorPow2(s.D)));
  const b = new Bindings();
  b.add("X", "read", "array<f32>");
  b.add("G", "read", "array<f32>");
  if (s.bias) b.add("Bt", "read", "array<f32>");
  b.add("Y", "rw", "array<f32>");
  const layer = s.kind === "layer";
  const body = `
const D = ${u32(s.D)};
const WG = ${u32(wg)};
const EPS = ${f32(s.eps)};
${reducer("mean", wg)}
${reducer("sq", wg)}
@compute @workgroup_size(${wg})
fn main(${FLAT_ARGS}, @builtin(local_invocation_index) t: u32) {
  let row = ${FLAT_ID};
  if (row >= P.batch * ${seqLen(s.rows)}${(s.groups ?? 1) > 1 ? ` * ${u32(s.groups!)}` : ""}) { return; }
  let base = row * D;${s.store ? `
  ${storeBase(s, s.store)}` : ""}
  ${
    layer
      ? `var s = 0.0;
  for (var i = t; i < D; i += WG) { s += X[base + i]; }
  let mean = total_mean(s, t) / f32(D);`
      : "let mean = 0.0;"
  }
  var q = 0.0;
  for (var i = t; i < D; i += WG) { let d = X[base + i] - mean; q += d * d; }
  let inv = 1.0 / sqrt(total_sq(q, t) / f32(D) + EPS);
  for (var i = t; i < D; i += WG) { Y[${s.store ? "out" : "base"} + i] = (X[base + i] - mean) * inv * ${s.offset ? `(${f32(s.offset)} + G[i])` : "G[i]"}${s.bias ? " + Bt[i]" : ""}; }
}`;
  return kernel(b, body, wg, 2 * wg * 4);
}

/** `out`: where a key norm's row goes, in its activation row's KV-cache slot. */
function storeBase(s: NormSpec, store: { ring?: number }): string {
  const groups = s.groups ?? 1;
  const m = groups > 1 ? `row / ${u32(groups)}` : "row";
  const slot = store.ring !== undefined ? ringStoreRow(m, store.ring) : storeRow(s.rows, m);
  return `let out = ${slot} * ${u32(groups * s.D)}${groups > 1 ? ` + row % ${u32(groups)} * D` : ""};`;
}

/**
 * `total_<name>(v, t)`: the sum of v over the workgroup, returned to every thread. Each
 * reduction gets its own workgroup array: on llvmpipe, reusing one array for the second
 * reduction let some threads read the first one's result after it had been overwritten,
 * despite the barriers between.
 */
function reducer(name: string, wg: number): string {
  return `var<workgroup> red_${name}: array<f32, ${wg}>;
fn total_${name}(v: f32, t: u32) -> f32 {
  red_${name}[t] = v;
  workgroupBarrier();
  for (var s = ${Math.floor(wg / 2)}u; s > 0u; s = s / 2u) {
    if (t < s) { red_${name}[t] = red_${name}[t] + red_${name}[t + s]; }
    workgroupBarrier();
  }
  return red_${name}[0];
}`;
}
