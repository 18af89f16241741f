// Mamba-1's causal depthwise conv and selective scan, sequential over time: the oracle the
// chunked Wasm and WebGPU kernels are checked against. A state carried across calls makes
// begin/step decode one token in O(1): the conv's last width − 1 inputs and the scan's h.

/** torch.nn.functional.softplus with its default threshold: x past 20 is returned as is. */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

export const silu = (x: number): number => x / (1 + Math.exp(-x));

export interface SsmConvDims {
  batch: number;
  seq: number;
  /** Floats per row of x: the conv reads its first `channels`. */
  rowWidth: number;
  channels: number;
  width: number;
}

/**
 * out[b, t, c] = silu(bias[c] + Σ_k w[c, k] · x[b, t − (width − 1) + k, c]), inputs before the
 * sequence from `state` [batch, width − 1, channels] (oldest first; zeros when null), which is
 * left holding the last width − 1 inputs.
 */
export function ssmConv(x: Float32Array, d: SsmConvDims, weight: Float32Array, bias: Float32Array | null, state: Float32Array | null): Float32Array {
  const { batch, seq, rowWidth, channels: E, width: K } = d;
  const hist = K - 1;
  const out = new Float32Array(batch * seq * E);
  for (let b = 0; b < batch; b++) {
    // Input at time t (t may be negative: from the state) of channel c.
    const at = (t: number, c: number): number => {
      if (t >= 0) return x[(b * seq + t) * rowWidth + c];
      const slot = hist + t;
      return state && slot >= 0 ? state[(b * hist + slot) * E + c] : 0;
    };
    for (let t = 0; t < seq; t++) {
      for (let c = 0; c < E; c++) {
        let acc = bias ? bias[c] : 0;
        for (let k = 0; k < K; k++) acc += weight[c * K + k] * at(t - hist + k, c);
        out[(b * seq + t) * E + c] = silu(acc);
      }
    }
    if (state) {
      const next = new Float32Array(hist * E);
      for (let s = 0; s < hist; s++) for (let c = 0; c < E; c++) next[s * E + c] = at(seq - hist + s, c);
      state.set(next, b * hist * E);
    }
  }
  return out;
}

export interface SsmScanDims {
  batch: number;
  seq: number;
  /** d_inner. */
  inner: number;
  stateSize: number;
  dtRank: number;
}

export interface SsmScanWeights {
  dtWeight: Float32Array;
  dtBias: Float32Array;
  aLog: Float32Array;
  d: Float32Array;
}

/**
 * The selective scan of ir.ts's ssm_scan, one token after another (Mamba's slow path):
 * u [b, s, E], proj [b, s, R + 2N] = (dt, B, C), z rows of 2E read from E. `state` h
 * [batch, E, N] (zeros when null) is left holding the state after the last token.
 */
export function ssmScan(u: Float32Array, proj: Float32Array, z: Float32Array, dims: SsmScanDims, w: SsmScanWeights, state: Float32Array | null): Float32Array {
  const { batch, seq, inner: E, stateSize: N, dtRank: R } = dims;
  const P = R + 2 * N;
  const out = new Float32Array(batch * seq * E);
  const h = new Float64Array(E * N);
  for (let b = 0; b < batch; b++) {
    if (state) for (let i = 0; i < E * N; i++) h[i] = state[b * E * N + i];
    else h.fill(0);
    for (let t = 0; t < seq; t++) {
      const row = b * seq + t;
      const p = row * P;
      for (let e = 0; e < E; e++) {
        let dt = w.dtBias[e];
        for (let r = 0; r < R; r++) dt += w.dtWeight[e * R + r] * proj[p + r];
        dt = softplus(dt);
        const x = u[row * E + e];
        let y = 0;
        for (let n = 0; n < N; n++) {
          const a = -Math.exp(w.aLog[e * N + n]);
          const i = e * N + n;
          h[i] = Math.exp(dt * a) * h[i] + dt * proj[p + R + n] * x;
          y += h[i] * proj[p + R + N + n];
        }
        out[row * E + e] = (y + w.d[e] * x) * silu(z[row * 2 * E + E + e]);
      }
    }
    if (state) for (let i = 0; i < E * N; i++) state[b * E * N + i] = h[i];
  }
  return out;
}
