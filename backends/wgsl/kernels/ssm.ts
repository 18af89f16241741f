// Mamba-1 on WebGPU: the causal depthwise conv and the selective scan, one invocation per
// (sequence, channel), walking the call's tokens in order: channels never mix, so the
// parallelism is B · E invocations and time is the only sequential axis. The states live in
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
}

/**
 * Bindings: U [B, seq, E], PJ [B, seq, R + 2N] (dt, B, C), Z (rows of 2E, z from E), DTW [E, R],
 * AL (A_log) [E, N], DB (dt bias then D, 2E), St (h) [B, E, N], O [B, seq, E]; grid (ceil(E / 64), batch).
 * softplus(x) = max(x, 0) + log1p(e^−|x|), log1p(y) = 2·atanh(y / (2 + y)): no cancellation for
 * large negative x (WGSL has no log1p), and equal to torch's thresholded form within f32.
 */
export function ssmScanKernel(s: SsmScanSpec): Kernel {
  const b = new Bindings();
  for (const name of ["U", "PJ", "Z", "DTW", "AL", "DB"]) b.add(name, "read", "array<f32>");
  b.add("St", "rw", "array<f32>");
  b.add("O", "rw", "array<f32>");
  const { inner: E, stateSize: N, dtRank: R } = s;
  const body = `
const E = ${u32(E)};
const N = ${u32(N)};
const R = ${u32(R)};
const PW = ${u32(R + 2 * N)};
${SILU}
@compute @workgroup_size(${SSM_GROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = wg.x * ${u32(SSM_GROUP)} + li;
  let b = wg.y;
  if (e >= E) { return; }
  var h: array<f32, ${N}>;
  var a: array<f32, ${N}>;
  for (var n = 0u; n < N; n++) {
    h[n] = St[(b * E + e) * N + n];
    a[n] = -exp(AL[e * N + n]);
  }
  let dtb = DB[e];
  let dd = DB[E + e];
  for (var t = 0u; t < P.seq; t++) {
    let row = b * P.seq + t;
    let p = row * PW;
    var pre = dtb;
    for (var r = 0u; r < R; r++) { pre += DTW[e * R + r] * PJ[p + r]; }
    let ex = exp(-abs(pre));
    let dt = max(pre, 0.0) + 2.0 * atanh(ex / (2.0 + ex));
    let x = U[row * E + e];
    var y = dd * x;
    for (var n = 0u; n < N; n++) {
      h[n] = exp(dt * a[n]) * h[n] + dt * PJ[p + R + n] * x;
      y += h[n] * PJ[p + R + N + n];
    }
    O[row * E + e] = y * silu(Z[row * 2u * E + E + e]);
  }
  for (var n = 0u; n < N; n++) { St[(b * E + e) * N + n] = h[n]; }
}`;
  return kernel(b, body, SSM_GROUP, 0);
}
