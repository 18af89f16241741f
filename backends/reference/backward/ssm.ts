// Mamba-1's causal depthwise conv and selective scan for training: the float64 forwards and
// their vector–Jacobian products. With, per channel e and state n (ir.ts's ssm_scan):
//   δ_t = softplus(p_t), p_t = dtBias + W·dt_t,  a_n = −exp(A_log[e, n]),  Ā_t = exp(δ_t a_n),
//   h_t = Ā_t h_{t−1} + δ_t B_t u_t,  y_t = Σ_n C_t h_t + D u_t,  out_t = y_t · silu(z_t),
// the reverse scan carries g = ∂L/∂h_t back through h_{t−1} = Ā_t⁻¹(…): g ← g·Ā_t after step t.
//
// RECOMPUTATION: the forward keeps only its inputs on the tape; the backward reruns the scan
// storing h_t for every step of one (batch, channel) pair at a time: O(seq · N) extra memory.
// Every kernel ACCUMULATES (+=) into the buffers it is given, as dense.ts's.

import type { Num } from "./dense.ts";

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const silu = (x: number): number => x * sigmoid(x);
const siluGrad = (x: number): number => {
  const s = sigmoid(x);
  return s * (1 + x * (1 - s));
};
/** torch's softplus (threshold 20) and its derivative. */
const softplus = (x: number): number => (x > 20 ? x : Math.log1p(Math.exp(x)));
const softplusGrad = (x: number): number => (x > 20 ? 1 : sigmoid(x));

export interface ConvDims {
  batch: number;
  seq: number;
  rowWidth: number;
  channels: number;
  width: number;
}

/** Pre-activations of the conv: bias + Σ_k w[c, k] x[t − (K − 1) + k, c]. */
function convPre(x: Num, d: ConvDims, w: Num, bias: Num | null): Float64Array {
  const { batch, seq, rowWidth, channels: E, width: K } = d;
  const pre = new Float64Array(batch * seq * E);
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < seq; t++)
      for (let c = 0; c < E; c++) {
        let acc = bias ? bias[c] : 0;
        for (let k = 0; k < K; k++) {
          const s = t - (K - 1) + k;
          if (s >= 0) acc += w[c * K + k] * x[(b * seq + s) * rowWidth + c];
        }
        pre[(b * seq + t) * E + c] = acc;
      }
  return pre;
}

export function ssmConvForward(x: Num, d: ConvDims, w: Num, bias: Num | null): Float64Array {
  return convPre(x, d, w, bias).map(silu);
}

export function ssmConvBackward(dOut: Float64Array, x: Num, d: ConvDims, w: Num, bias: Num | null, dx: Float64Array | null, dw: Float64Array | null, dBias: Float64Array | null): void {
  const { batch, seq, rowWidth, channels: E, width: K } = d;
  const pre = convPre(x, d, w, bias);
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < seq; t++)
      for (let c = 0; c < E; c++) {
        const i = (b * seq + t) * E + c;
        const g = dOut[i] * siluGrad(pre[i]);
        if (dBias) dBias[c] += g;
        for (let k = 0; k < K; k++) {
          const s = t - (K - 1) + k;
          if (s < 0) continue;
          const xi = (b * seq + s) * rowWidth + c;
          if (dw) dw[c * K + k] += g * x[xi];
          if (dx) dx[xi] += g * w[c * K + k];
        }
      }
}

export interface ScanDims {
  batch: number;
  seq: number;
  inner: number;
  stateSize: number;
  dtRank: number;
}

export interface ScanParams {
  dtWeight: Num;
  dtBias: Num;
  aLog: Num;
  d: Num;
}

/** p_t = dtBias[e] + Σ_r W[e, r] proj[row, r]. */
function dtPre(proj: Num, row: number, e: number, dims: ScanDims, w: ScanParams): number {
  const R = dims.dtRank;
  const p = row * (R + 2 * dims.stateSize);
  let acc = w.dtBias[e];
  for (let r = 0; r < R; r++) acc += w.dtWeight[e * R + r] * proj[p + r];
  return acc;
}

export function ssmScanForward(u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams): Float64Array {
  const { batch, seq, inner: E, stateSize: N, dtRank: R } = dims;
  const P = R + 2 * N;
  const out = new Float64Array(batch * seq * E);
  const h = new Float64Array(N);
  for (let b = 0; b < batch; b++)
    for (let e = 0; e < E; e++) {
      h.fill(0);
      for (let t = 0; t < seq; t++) {
        const row = b * seq + t;
        const dt = softplus(dtPre(proj, row, e, dims, w));
        const x = u[row * E + e];
        let y = w.d[e] * x;
        for (let n = 0; n < N; n++) {
          h[n] = Math.exp(-dt * Math.exp(w.aLog[e * N + n])) * h[n] + dt * proj[row * P + R + n] * x;
          y += h[n] * proj[row * P + R + N + n];
        }
        out[row * E + e] = y * silu(z[row * 2 * E + E + e]);
      }
    }
  return out;
}

export interface ScanGrads {
  u: Float64Array | null;
  proj: Float64Array | null;
  z: Float64Array | null;
  dtWeight: Float64Array | null;
  dtBias: Float64Array | null;
  aLog: Float64Array | null;
  d: Float64Array | null;
}

export function ssmScanBackward(dOut: Float64Array, u: Num, proj: Num, z: Num, dims: ScanDims, w: ScanParams, g: ScanGrads): void {
  const { batch, seq, inner: E, stateSize: N, dtRank: R } = dims;
  const P = R + 2 * N;
  const hs = new Float64Array((seq + 1) * N); // hs[t + 1] = h_t, hs[0] = 0
  const dts = new Float64Array(seq);
  const pres = new Float64Array(seq);
  const ys = new Float64Array(seq);
  const dh = new Float64Array(N);
  for (let b = 0; b < batch; b++)
    for (let e = 0; e < E; e++) {
      const a = Array.from({ length: N }, (_, n) => -Math.exp(w.aLog[e * N + n]));
      for (let t = 0; t < seq; t++) {
        const row = b * seq + t;
        pres[t] = dtPre(proj, row, e, dims, w);
        const dt = (dts[t] = softplus(pres[t]));
        const x = u[row * E + e];
        let y = w.d[e] * x;
        for (let n = 0; n < N; n++) {
          const h = Math.exp(dt * a[n]) * hs[t * N + n] + dt * proj[row * P + R + n] * x;
          hs[(t + 1) * N + n] = h;
          y += h * proj[row * P + R + N + n];
        }
        ys[t] = y;
      }
      dh.fill(0);
      for (let t = seq - 1; t >= 0; t--) {
        const row = b * seq + t;
        const zi = row * 2 * E + E + e;
        const gate = silu(z[zi]);
        const dy = dOut[row * E + e] * gate;
        if (g.z) g.z[zi] += dOut[row * E + e] * ys[t] * siluGrad(z[zi]);
        const x = u[row * E + e];
        const dt = dts[t];
        let dx = dy * w.d[e];
        if (g.d) g.d[e] += dy * x;
        let dDt = 0;
        for (let n = 0; n < N; n++) {
          const C = proj[row * P + R + N + n];
          const B = proj[row * P + R + n];
          const h = hs[(t + 1) * N + n];
          if (g.proj) g.proj[row * P + R + N + n] += dy * h;
          dh[n] += dy * C;
          const decay = Math.exp(dt * a[n]);
          const dDecay = dh[n] * hs[t * N + n];
          dDt += dDecay * decay * a[n] + dh[n] * B * x;
          if (g.aLog) g.aLog[e * N + n] += dDecay * decay * dt * a[n];
          if (g.proj) g.proj[row * P + R + n] += dh[n] * dt * x;
          dx += dh[n] * dt * B;
          dh[n] *= decay;
        }
        if (g.u) g.u[row * E + e] += dx;
        const dPre = dDt * softplusGrad(pres[t]);
        if (g.dtBias) g.dtBias[e] += dPre;
        for (let r = 0; r < R; r++) {
          if (g.dtWeight) g.dtWeight[e * R + r] += dPre * proj[row * P + r];
          if (g.proj) g.proj[row * P + r] += dPre * w.dtWeight[e * R + r];
        }
      }
    }
}
