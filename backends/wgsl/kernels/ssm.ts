// Mamba-1 on WebGPU: the causal depthwise conv and the selective scan, one invocation per
// (sequence, channel) walking the call's tokens in order (channels never mix, so the
// parallelism is B · E invocations and time is the only sequential axis) — except the scan of
// a prefill, which also splits time into chunks (ssmScanKernel). The states live in
// buffers between calls ([B, K − 1, E] conv windows, [B, E, N] h), cleared before a forward.

import { Bindings, f32, kernel, u32, type Kernel } from "../wgsl.ts";

export const SSM_GROUP = 64;

export interface SsmConvSpec {
  channels: number;
  /** Floats per row of the input: the conv reads its first `channels`. */
  rowWidth: number;
  width: number;
  bias: boolean;
}

const SILU = "fn silu(x: f32) -> f32 { return x / (1.0 + exp(min(-x, 80.0))); }";

/** Bindings: X, W [E, 1, K], (bias [E]), St [B, K − 1, E], O [B, seq, E]; grid (ceil(E / 64), batch). */
export function ssmConvKernel(s: SsmConvSpec): Kernel {
  const b = new Bindings();
  b.add("X", "read", "array<f32>");
  b.add("W", "read", "array<f32>");
  if (s.bias) b.add("Bc", "read", "array<f32>");
  b.add("St", "rw", "array<f32>");
  b.add("O", "rw", "array<f32>");
  const K = s.width;
  const H = K - 1;
  const body = `
const E = ${u32(s.channels)};
const RW = ${u32(s.rowWidth)};
${SILU}
@compute @workgroup_size(${SSM_GROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = wg.x * ${u32(SSM_GROUP)} + li;
  let b = wg.y;
  if (e >= E) { return; }
  ${H > 0 ? `var win: array<f32, ${H}>;
  for (var k = 0u; k < ${u32(H)}; k++) { win[k] = St[(b * ${u32(H)} + k) * E + e]; }` : ""}
  for (var t = 0u; t < P.seq; t++) {
    let row = b * P.seq + t;
    let x = X[row * RW + e];
    var acc = ${s.bias ? "Bc[e]" : f32(0)} + W[e * ${u32(K)} + ${u32(K - 1)}] * x;
    ${H > 0 ? `for (var k = 0u; k < ${u32(H)}; k++) { acc += W[e * ${u32(K)} + k] * win[k]; }
    for (var k = 0u; k + 1u < ${u32(H)}; k++) { win[k] = win[k + 1u]; }
    win[${u32(H - 1)}] = x;` : ""}
    O[row * E + e] = silu(acc);
  }
  ${H > 0 ? `for (var k = 0u; k < ${u32(H)}; k++) { St[(b * ${u32(H)} + k) * E + e] = win[k]; }` : ""}
}`;
  return kernel(b, body, SSM_GROUP, 0);
}

export interface SsmScanSpec {
  inner: number;
  stateSize: number;
  dtRank: number;
  /** Prefill as a chunked scan (default); false: one invocation per channel walks every call (a CPU adapter's choice). */
  chunked?: boolean;
}

/**
 * Time chunks per channel of the scan's prefill: the most of 4, 3, 2 whose chunk summaries
 * ((chunks − 1) · 64 channels · (N + 1) floats) fit WebGPU's guaranteed 16 KiB of workgroup
 * memory; 1 (the plain sequential kernel) past state 63.
 */
export function scanChunks(stateSize: number): number {
  for (const c of [4, 3, 2]) if ((c - 1) * SSM_GROUP * (stateSize + 1) * 4 <= 16384) return c;
  return 1;
}

/** Calls of fewer tokens (decode steps) take the sequential path: chunking would only add a second pass. */
export const SCAN_CHUNKED_FROM = 8;

/**
 * Bindings: U [B, seq, E], PJ [B, seq, R + 2N] (dt, B, C), Z (rows of 2E, z from E), DTW [E, R],
 * AL (A_log) [E, N], DB (dt bias then D, 2E), St (h) [B, E, N], O [B, seq, E]; grid (ceil(E / 64), batch).
 * softplus(x) = max(x, 0) + log1p(e^−|x|), log1p(y) = 2·atanh(y / (2 + y)): no cancellation for
 * large negative x (WGSL has no log1p), and equal to torch's thresholded form within f32.
 *
 * PREFILL IS A CHUNKED SCAN: a workgroup is 64 channels × C time chunks (scanChunks), so a call
 * of n ≥ SCAN_CHUNKED_FROM tokens runs C invocations per (sequence, channel) instead of one.
 * The recurrence h_t = Ā_t h_(t−1) + b_t is linear, so a chunk's effect on h is (Π Ā_t, its
 * state from h = 0), and Π_t exp(δ_t a) = exp(a Σ_t δ_t): one float per chunk besides its state.
 *   1. chunks 0 … C − 2 in parallel: Σ δ and the chunk's end state from 0 (workgroup memory);
 *   2. each chunk folds the summaries of the chunks before it into the carried state: its
 *      start state (at most C − 1 short steps, no single-invocation pass);
 *   3. chunks in parallel again from their start states, writing the outputs; the last writes
 *      the state carried to the next call.
 * About (2C − 1)/C of the sequential kernel's work, with C times its parallelism over time:
 * what a GPU needs when batch × channels is small (a prefill of one sequence). On a CPU adapter
 * the extra pass costs more than the parallelism gains (llvmpipe, 2 cores: 1.5–3× slower), so
 * the backend asks for the sequential kernel there (`chunked: false`, compile.ts's scan mode).
 */
export function ssmScanKernel(s: SsmScanSpec): Kernel {
  const b = new Bindings();
  for (const name of ["U", "PJ", "Z", "DTW", "AL", "DB"]) b.add(name, "read", "array<f32>");
  b.add("St", "rw", "array<f32>");
  b.add("O", "rw", "array<f32>");
  const { inner: E, stateSize: N, dtRank: R } = s;
  const C = s.chunked === false ? 1 : scanChunks(N);
  // One step of the recurrence at row `row` of this invocation's channel: dt, x, and h updated; y when `out`.
  const step = (hv: string, out: boolean, sum?: string) => `
      let row = b * P.seq + t;
      let p = row * PW;
      var pre = dtb;
      for (var r = 0u; r < R; r++) { pre += DTW[ec * R + r] * PJ[p + r]; }
      let ex = exp(-abs(pre));
      let dt = max(pre, 0.0) + 2.0 * atanh(ex / (2.0 + ex));
      let x = U[row * E + ec];
      ${sum ? `${sum} += dt;` : ""}
      ${out ? "var y = dd * x;" : ""}
      for (var n = 0u; n < N; n++) {
        ${hv}[n] = exp(dt * a[n]) * ${hv}[n] + dt * PJ[p + R + n] * x;
        ${out ? `y += ${hv}[n] * PJ[p + R + N + n];` : ""}
      }
      ${out ? "if (live) { O[row * E + e] = y * silu(Z[row * 2u * E + E + e]); }" : ""}`;
  const sequential = `for (var t = 0u; t < P.seq; t++) {${step("h", true)}
    }
    if (live) { for (var n = 0u; n < N; n++) { St[(b * E + e) * N + n] = h[n]; } }`;
  const chunked = `
    let len = (P.seq + C - 1u) / C;
    let t0 = k * len;
    let t1 = min(P.seq, t0 + len);
    if (k + 1u < C) {
      var hl: array<f32, N>;
      var sum = 0.0;
      for (var t = t0; t < t1; t++) {${step("hl", false, "sum")}
      }
      for (var n = 0u; n < N; n++) { HEND[(k * G + c) * N + n] = hl[n]; }
      SDT[k * G + c] = sum;
    }
    workgroupBarrier();
    for (var j = 0u; j < k; j++) {
      let sj = SDT[j * G + c];
      for (var n = 0u; n < N; n++) { h[n] = exp(a[n] * sj) * h[n] + HEND[(j * G + c) * N + n]; }
    }
    for (var t = t0; t < t1; t++) {${step("h", true)}
    }
    if (live && k + 1u == C) { for (var n = 0u; n < N; n++) { St[(b * E + e) * N + n] = h[n]; } }`;
  const body = `
const E = ${u32(E)};
const N = ${u32(N)};
const R = ${u32(R)};
const PW = ${u32(R + 2 * N)};
const G = ${u32(SSM_GROUP)};
const C = ${u32(C)};
${SILU}
${C > 1 ? `var<workgroup> HEND: array<f32, ${(C - 1) * SSM_GROUP * N}>;
var<workgroup> SDT: array<f32, ${(C - 1) * SSM_GROUP}>;` : ""}
@compute @workgroup_size(${SSM_GROUP * C})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let c = li % G;
  let k = li / G;
  let e = wg.x * G + c;
  let b = wg.y;
  // Channels past E run on channel E − 1's inputs (every invocation must reach the barrier) and write nothing.
  let live = e < E;
  let ec = min(e, E - 1u);
  var h: array<f32, N>;
  var a: array<f32, N>;
  // Every read of the carried state comes before the barrier, its one write (the last chunk's) after.
  for (var n = 0u; n < N; n++) {
    h[n] = St[(b * E + ec) * N + n];
    a[n] = -exp(AL[ec * N + n]);
  }
  let dtb = DB[ec];
  let dd = DB[E + ec];
  ${C > 1 ? `if (P.seq < ${u32(SCAN_CHUNKED_FROM)}) {
    if (k == 0u) {
    ${sequential}
    }
  } else {${chunked}
  }` : sequential}
}`;
  return kernel(b, body, SSM_GROUP * C, C > 1 ? (C - 1) * SSM_GROUP * (N + 1) * 4 : 0);
}
