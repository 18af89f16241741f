// WGSL for Mamba-1's training kernels — the causal depthwise conv (+ silu) and the selective
// scan, forward and vector–Jacobian product — with the formulas of
// backends/reference/backward/ssm.ts in f32. ssm-gpu.ts uploads the operands and runs them.
//
// Parallelism:
//   conv forward            one invocation per (row, channel): no recurrence
//   conv backward           g = dOut · silu'(pre) per (row, channel) first (one exp each), then
//                           dx per (row, channel) from the K g's it takes, and dW, dbias by one
//                           workgroup per channel striding over the rows, then a reduction
//   scan forward            one invocation per (sequence, channel), sequential over time (the
//                           recurrence), as the inference kernel (kernels/ssm.ts)
//   scan backward           the same invocations, WG channels to a workgroup. What it keeps:
//                           the engine's tape holds only the op's inputs, so it reruns the
//                           forward, storing h at chunk boundaries (every CH steps: CK
//                           [B, E, ceil(seq / CH), N]), then walks the chunks backwards,
//                           recomputing each chunk's h_t into private memory (CH · N floats)
//                           and running the reverse recurrence through it — never the
//                           [B, seq, E, N] tensor. ∂proj (dt, B and C are shared by every
//                           channel of a row) is summed over the workgroup's channels in
//                           workgroup memory at every step; the workgroups' partial sums
//                           (DP [groups, rows, P]) and the sequences' per-channel parameter
//                           gradients (DPK [B, E, R + N + 2]) are added by the host, so every
//                           output has one writer and the result does not depend on scheduling.

import { u32 } from "../wgsl.ts";

export type Access = "read" | "rw";

/** A generated training kernel: its source and its storage bindings' access, in binding order (binding 0 is the uniform). */
export interface SsmGpuKernel {
  key: string;
  wgsl: string;
  bindings: Access[];
}

export const FLAT_GROUP = 64;

const UNIFORM = "struct SP { batch: u32, seq: u32, p2: u32, p3: u32 }\n@group(0) @binding(0) var<uniform> P: SP;";
const SIGMOID = "fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(min(-x, 80.0))); }";
const SILU_GRAD = "fn silu_grad(x: f32) -> f32 { let s = sigmoid(x); return s * (1.0 + x * (1.0 - s)); }";
// max(x, 0) + log1p(e^−|x|), log1p(y) = 2·atanh(y / (2 + y)): kernels/ssm.ts's softplus.
const SOFTPLUS = "fn softplus(x: f32) -> f32 { let ex = exp(-abs(x)); return max(x, 0.0) + 2.0 * atanh(ex / (2.0 + ex)); }";

function declare(name: string, bindings: Array<[string, Access]>, body: string): SsmGpuKernel {
  const decls = bindings.map(([n, a], i) => `@group(0) @binding(${i + 1}) var<storage, ${a === "read" ? "read" : "read_write"}> ${n}: array<f32>;`);
  return { key: name, wgsl: `${UNIFORM}\n${decls.join("\n")}\n${SIGMOID}\n${body.trim()}\n`, bindings: bindings.map(([, a]) => a) };
}

export interface ConvGpuSpec {
  channels: number;
  rowWidth: number;
  width: number;
}

/** fn pre(row, t, e): the conv's pre-activation at a row of time t. */
const convPre = (s: ConvGpuSpec) => `
const E = ${u32(s.channels)};
const RW = ${u32(s.rowWidth)};
const K = ${u32(s.width)};
fn pre(row: u32, t: u32, e: u32) -> f32 {
  var acc = BI[e];
  for (var k = 0u; k < K; k++) {
    let lag = K - 1u - k;
    if (t >= lag) { acc += W[e * K + k] * X[(row - lag) * RW + e]; }
  }
  return acc;
}
const FG = ${u32(FLAT_GROUP)};
fn flat(wg: vec3u, nwg: vec3u, li: u32) -> u32 { return (wg.x + wg.y * nwg.x) * FG + li; }`;

const convKey = (s: ConvGpuSpec) => `e${s.channels}_w${s.rowWidth}_k${s.width}`;

/** X [rows, RW] (the first E channels), W [E, K], BI [E], O [rows, E]; flat over rows · E. */
export function convForwardKernel(s: ConvGpuSpec): SsmGpuKernel {
  return declare(`ssm_conv_fwd_${convKey(s)}`, [["X", "read"], ["W", "read"], ["BI", "read"], ["O", "rw"]], `
${convPre(s)}
@compute @workgroup_size(${FLAT_GROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat(wg, nwg, li);
  if (i >= P.batch * P.seq * E) { return; }
  let row = i / E;
  let e = i % E;
  let x = pre(row, row % P.seq, e);
  O[i] = x * sigmoid(x);
}`);
}

/** G [rows, E] = dOut · silu'(pre): the conv backward's one transcendental per element; flat over rows · E. */
export function convGradKernel(s: ConvGpuSpec): SsmGpuKernel {
  return declare(`ssm_conv_g_${convKey(s)}`, [["X", "read"], ["W", "read"], ["BI", "read"], ["DO", "read"], ["G", "rw"]], `
${convPre(s)}
${SILU_GRAD}
@compute @workgroup_size(${FLAT_GROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat(wg, nwg, li);
  if (i >= P.batch * P.seq * E) { return; }
  let row = i / E;
  G[i] = DO[i] * silu_grad(pre(row, row % P.seq, i % E));
}`);
}

/** The conv's taps with G: W, G read; no pre-activations. */
const convTaps = (s: ConvGpuSpec) => `
const E = ${u32(s.channels)};
const RW = ${u32(s.rowWidth)};
const K = ${u32(s.width)};
const FG = ${u32(FLAT_GROUP)};`;

/** DX [rows, E]: dx[s, e] = Σ_k G[s + K − 1 − k, e] · W[e, k] (rows of the same sequence); flat over rows · E. */
export function convDxKernel(s: ConvGpuSpec): SsmGpuKernel {
  return declare(`ssm_conv_dx_${convKey(s)}`, [["W", "read"], ["G", "read"], ["DX", "rw"]], `
${convTaps(s)}
@compute @workgroup_size(${FLAT_GROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * FG + li;
  if (i >= P.batch * P.seq * E) { return; }
  let srow = i / E;
  let e = i % E;
  let ts = srow % P.seq;
  var acc = 0.0;
  for (var k = 0u; k < K; k++) {
    let lag = K - 1u - k;
    if (ts + lag < P.seq) { acc += G[(srow + lag) * E + e] * W[e * K + k]; }
  }
  DX[i] = acc;
}`);
}

/** DW [E, K] and DBI [E] (written): Σ over rows of G · x and G; one workgroup of FLAT_GROUP per channel. */
export function convDwKernel(s: ConvGpuSpec): SsmGpuKernel {
  const K1 = s.width + 1;
  return declare(`ssm_conv_dw_${convKey(s)}`, [["X", "read"], ["G", "read"], ["DW", "rw"], ["DBI", "rw"]], `
${convTaps(s)}
var<workgroup> red: array<f32, ${FLAT_GROUP * K1}>;
@compute @workgroup_size(${FLAT_GROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = wg.x;
  var acc: array<f32, ${K1}>;
  for (var row = li; row < P.batch * P.seq; row += FG) {
    let t = row % P.seq;
    let g = G[row * E + e];
    acc[K] += g;
    for (var k = 0u; k < K; k++) {
      let lag = K - 1u - k;
      if (t >= lag) { acc[k] += g * X[(row - lag) * RW + e]; }
    }
  }
  for (var k = 0u; k <= K; k++) { red[li * ${u32(K1)} + k] = acc[k]; }
  workgroupBarrier();
  if (li <= K) {
    var sum = 0.0;
    for (var j = 0u; j < FG; j++) { sum += red[j * ${u32(K1)} + li]; }
    if (li < K) { DW[e * K + li] = sum; } else { DBI[e] = sum; }
  }
}`);
}

export interface ScanGpuSpec {
  inner: number;
  stateSize: number;
  dtRank: number;
}

const scanKey = (s: ScanGpuSpec) => `e${s.inner}_n${s.stateSize}_r${s.dtRank}`;

/** The scan's constants and fn dt_pre(row, e). */
const scanCommon = (s: ScanGpuSpec) => `
const E = ${u32(s.inner)};
const N = ${u32(s.stateSize)};
const R = ${u32(s.dtRank)};
const PW = ${u32(s.dtRank + 2 * s.stateSize)};
${SOFTPLUS}
fn dt_pre(row: u32, e: u32) -> f32 {
  var acc = DB[e];
  for (var r = 0u; r < R; r++) { acc += DTW[e * R + r] * PJ[row * PW + r]; }
  return acc;
}`;

export const SCAN_FORWARD_GROUP = 64;

/** U [rows, E], PJ [rows, R + 2N], Z [rows, 2E] (z from E), DTW [E, R], AL [E, N], DB [2E] (dt bias, D), O [rows, E]; grid (ceil(E / 64), B). */
export function scanForwardKernel(s: ScanGpuSpec): SsmGpuKernel {
  return declare(`ssm_scan_fwd_${scanKey(s)}`, [["U", "read"], ["PJ", "read"], ["Z", "read"], ["DTW", "read"], ["AL", "read"], ["DB", "read"], ["O", "rw"]], `
${scanCommon(s)}
@compute @workgroup_size(${SCAN_FORWARD_GROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = wg.x * ${u32(SCAN_FORWARD_GROUP)} + li;
  let b = wg.y;
  if (e >= E) { return; }
  var h: array<f32, N>;
  var a: array<f32, N>;
  for (var n = 0u; n < N; n++) { a[n] = -exp(AL[e * N + n]); }
  let dd = DB[E + e];
  for (var t = 0u; t < P.seq; t++) {
    let row = b * P.seq + t;
    let dt = softplus(dt_pre(row, e));
    let x = U[row * E + e];
    var y = dd * x;
    for (var n = 0u; n < N; n++) {
      h[n] = exp(dt * a[n]) * h[n] + dt * PJ[row * PW + R + n] * x;
      y += h[n] * PJ[row * PW + R + N + n];
    }
    let zz = Z[row * 2u * E + E + e];
    O[row * E + e] = y * zz * sigmoid(zz);
  }
}`);
}

/** The scan backward's channels per workgroup: ∂proj's workgroup buffer (WG · P floats) within WebGPU's guaranteed 16 KiB; 0 if not even one fits. */
export function scanBackwardGroup(s: ScanGpuSpec): number {
  const P = s.dtRank + 2 * s.stateSize;
  let wg = 64;
  while (wg > 1 && wg * P * 4 > 16384) wg /= 2;
  return wg * P * 4 > 16384 ? 0 : wg;
}

/** Steps between the backward's stored states: CH · N private floats per invocation. */
export const scanChunk = (s: ScanGpuSpec): number => Math.max(1, Math.min(32, Math.floor(256 / s.stateSize)));

/**
 * DO [rows, E], U, PJ, Z, DTW, AL, DB as the forward; CK (scratch) [B, groups · WG, ceil(seq / CH), N];
 * DU, DZ [rows, E] (written); DP [groups, rows, P] and DPK [B, E, R + N + 2] (written: dtWeight
 * [R], dtBias, A_log [N], D per channel) for the host to add up. Grid (groups, B).
 */
export function scanBackwardKernel(s: ScanGpuSpec): SsmGpuKernel {
  const WG = scanBackwardGroup(s);
  if (WG === 0) throw new Error(`webgpu ssm scan: dt rank ${s.dtRank} + 2 × state ${s.stateSize} is too wide for the backward's workgroup buffer`);
  const CH = scanChunk(s);
  const N = s.stateSize;
  const bindings: Array<[string, Access]> = [["DO", "read"], ["U", "read"], ["PJ", "read"], ["Z", "read"], ["DTW", "read"], ["AL", "read"], ["DB", "read"], ["CK", "rw"], ["DU", "rw"], ["DZ", "rw"], ["DP", "rw"], ["DPK", "rw"]];
  return declare(`ssm_scan_bwd_${scanKey(s)}`, bindings, `
${scanCommon(s)}
${SILU_GRAD}
const WG = ${u32(WG)};
const CH = ${u32(CH)};
const NP = ${u32(s.dtRank + N + 2)};
var<workgroup> red: array<f32, ${WG * (s.dtRank + 2 * N)}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = wg.x * WG + li;
  let b = wg.y;
  // Channels past E run the same loops (every invocation must reach the barriers) on channel
  // E − 1's inputs with dOut = 0, so everything they contribute is 0; they write nothing else.
  let live = e < E;
  let ec = min(e, E - 1u);
  let rows = P.batch * P.seq;
  let nc = (P.seq + CH - 1u) / CH;
  let ck0 = (b * nwg.x * WG + e) * nc * N;
  var a: array<f32, N>;
  for (var n = 0u; n < N; n++) { a[n] = -exp(AL[ec * N + n]); }
  let dd = DB[E + ec];
  // The forward again, storing h before every CH-th step.
  var h: array<f32, N>;
  for (var t = 0u; t < P.seq; t++) {
    if (t % CH == 0u) { for (var n = 0u; n < N; n++) { CK[ck0 + (t / CH) * N + n] = h[n]; } }
    let row = b * P.seq + t;
    let dt = softplus(dt_pre(row, ec));
    let x = U[row * E + ec];
    for (var n = 0u; n < N; n++) { h[n] = exp(dt * a[n]) * h[n] + dt * PJ[row * PW + R + n] * x; }
  }
  var dh: array<f32, N>;
  var gA: array<f32, N>;
  var gW: array<f32, R>;
  var gDtb = 0.0;
  var gD = 0.0;
  var hs: array<f32, ${CH * N}>;
  var dts: array<f32, CH>;
  var sgs: array<f32, CH>;
  var h0: array<f32, N>;
  for (var cc = 0u; cc < nc; cc++) {
    let c = nc - 1u - cc;
    let t0 = c * CH;
    let len = min(P.seq - t0, CH);
    // This chunk's states h_t0 … h_(t0 + len − 1), from the stored h_(t0 − 1).
    for (var n = 0u; n < N; n++) { h0[n] = CK[ck0 + c * N + n]; h[n] = h0[n]; }
    for (var j = 0u; j < len; j++) {
      let row = b * P.seq + t0 + j;
      let p = dt_pre(row, ec);
      let dt = softplus(p);
      dts[j] = dt;
      sgs[j] = sigmoid(p);
      let x = U[row * E + ec];
      for (var n = 0u; n < N; n++) {
        h[n] = exp(dt * a[n]) * h[n] + dt * PJ[row * PW + R + n] * x;
        hs[j * N + n] = h[n];
      }
    }
    for (var jj = 0u; jj < len; jj++) {
      let j = len - 1u - jj;
      let row = b * P.seq + t0 + j;
      let zz = Z[row * 2u * E + E + ec];
      let dout = select(0.0, DO[row * E + ec], live);
      let dy = dout * zz * sigmoid(zz);
      let x = U[row * E + ec];
      let dt = dts[j];
      var dx = dy * dd;
      gD += dy * x;
      var y = dd * x;
      var ddt = 0.0;
      for (var n = 0u; n < N; n++) {
        let bn = PJ[row * PW + R + n];
        let cn = PJ[row * PW + R + N + n];
        let hc = hs[j * N + n];
        var hp = h0[n];
        if (j > 0u) { hp = hs[(j - 1u) * N + n]; }
        y += hc * cn;
        red[li * PW + R + N + n] = dy * hc;
        let dhn = dh[n] + dy * cn;
        let decay = exp(dt * a[n]);
        // ∂L/∂(exp(δ a)) · exp(δ a): the term ∂δ and ∂A_log share.
        let t1 = dhn * hp * decay;
        ddt += t1 * a[n] + dhn * bn * x;
        gA[n] += t1 * dt * a[n];
        red[li * PW + R + n] = dhn * dt * x;
        dx += dhn * dt * bn;
        dh[n] = dhn * decay;
      }
      let dpre = ddt * sgs[j];
      gDtb += dpre;
      for (var r = 0u; r < R; r++) {
        gW[r] += dpre * PJ[row * PW + r];
        red[li * PW + r] = dpre * DTW[ec * R + r];
      }
      if (live) {
        DU[row * E + e] = dx;
        DZ[row * E + e] = dout * y * silu_grad(zz);
      }
      workgroupBarrier();
      for (var q = li; q < PW; q += WG) {
        var sum = 0.0;
        for (var i = 0u; i < WG; i++) { sum += red[i * PW + q]; }
        DP[(wg.x * rows + row) * PW + q] = sum;
      }
      workgroupBarrier();
    }
  }
  if (live) {
    let o = (b * E + e) * NP;
    for (var r = 0u; r < R; r++) { DPK[o + r] = gW[r]; }
    DPK[o + R] = gDtb;
    for (var n = 0u; n < N; n++) { DPK[o + R + 1u + n] = gA[n]; }
    DPK[o + R + 1u + N] = gD;
  }
}`);
}
