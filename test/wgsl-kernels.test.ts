// WGSL kernels one at a time against the reference kernels, on shapes chosen to hit the edges
// the model tests cannot reach cheaply: ragged tiles, K not a multiple of 4, every attention
// pattern in every kernel mode (tiles, walk, split-KV), cache offsets, multi-chunk scans.

import { afterAll, describe, expect, it } from "vitest";
import { activationFn, alibiSlopes, applyRope, attention, layerNorm, linear, linearAttention, rmsNorm, sinusoidalTable, type AttentionOptions } from "../backends/reference/kernels/index.ts";
import { mulberry32 } from "../src/runtime/sample.ts";
import { KernelHarness } from "../backends/wgsl/harness.ts";
import { flashKernel, flashTiles, type AttentionMode, type AttentionSpec } from "../backends/wgsl/kernels/attention.ts";
import { NSPLIT, combineKernel, decodeKernel, partialSize } from "../backends/wgsl/kernels/decode.ts";
import { eltKernel } from "../backends/wgsl/kernels/elementwise.ts";
import { linearAttentionKernel, type LinearAttentionSpec } from "../backends/wgsl/kernels/linear-attention.ts";
import { SKINNY, matmulKernel, type MatmulSpec } from "../backends/wgsl/kernels/matmul.ts";
import { normKernel } from "../backends/wgsl/kernels/norm.ts";
import { embedKernel, ropeKernel } from "../backends/wgsl/kernels/position.ts";
import type { Kernel } from "../backends/wgsl/wgsl.ts";
import { gpuDevice } from "./helpers/gpu.ts";

const device = await gpuDevice();
afterAll(() => device?.destroy());
const harness = device ? new KernelHarness(device) : undefined;
const WG_BYTES = 16384;

function rand(n: number, seed: number, scale = 1): Float32Array<ArrayBuffer> {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5): void {
  expect(got.length, what).toBeGreaterThanOrEqual(want.length);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
    if (Number.isNaN(got[i])) throw new Error(`${what}: NaN at ${i}`);
  }
  expect(diff, `${what}: max |diff| ${diff}`).toBeLessThanOrEqual(tol * scale);
}

async function run(k: Kernel, params: { batch: number; seq: number; src?: number; pos?: number; cap?: number }, buffers: (Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>)[], grid: [number, number, number]) {
  const { messages } = await harness!.prepare(k);
  expect(messages.map((m) => m.message)).toEqual([]);
  return (await harness!.run(k, { params, buffers, grid })).outputs;
}

describe.skipIf(!device)("WGSL kernels", () => {
  describe("matmul", () => {
    const shapes: Array<[number, number, number]> = [
      [5, 12, 7],
      [70, 36, 130],
      [3, 10, 65], // K % 4 ≠ 0: the scalar loaders
    ];
    for (const variant of ["naive", "tiled", "blocked", "register", SKINNY] as const) {
      it(`${variant}: bias + activation + residual on ragged shapes`, async () => {
        for (const [M, K, N] of shapes) {
          const x = rand(M * K, 1);
          const w = rand(N * K, 2);
          const bias = rand(N, 3);
          const r = rand(M * N, 4);
          const k = matmulKernel({ variant, rows: "seq", K, N, nOff: 0, bias: true, act: "gelu", residual: N, outs: [{ c0: 0, c1: N, stride: N, store: false }] });
          const [y] = await run(k, { batch: 1, seq: M }, [x, w, bias, r, new Float32Array(M * N)], [Math.ceil(N / k.tileN), Math.ceil(M / k.tileM), 1]);
          const gelu = activationFn("gelu");
          const want = linear(x, M, K, w, bias, N).map((v, i) => gelu(v) + r[i]);
          expectClose(y, want, `${variant} ${M}×${K}×${N}`);
        }
      });
    }

    for (const variant of ["blocked", "register", SKINNY] as const) {
      it(`${variant}: gated unit and a split weight's column offset`, async () => {
        const [M, K, N, nOff, total] = [9, 20, 24, 40, 64];
        const x = rand(M * K, 5);
        const [wg, wu] = [rand(N * K, 6), rand(N * K, 7)];
        const [bg, bu] = [rand(total, 8), rand(total, 9)];
        const k = matmulKernel({ variant, rows: "seq", K, N, nOff, bias: true, gated: "silu", outs: [{ c0: 0, c1: total, stride: total, store: false }] });
        const [y] = await run(k, { batch: 1, seq: M }, [x, wg, wu, bg, bu, new Float32Array(M * total)], [Math.ceil(N / k.tileN), Math.ceil(M / k.tileM), 1]);
        const silu = activationFn("silu");
        const g = linear(x, M, K, wg, bg.subarray(nOff, nOff + N), N);
        const u = linear(x, M, K, wu, bu.subarray(nOff, nOff + N), N);
        const want = new Float32Array(M * total);
        for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) want[m * total + nOff + n] = silu(g[m * N + n]) * u[m * N + n];
        expectClose(y, want, variant);
      });
    }

    it("fused q|k|v projection scatters into KV-cache rows", async () => {
      // batch 2, 3 new tokens at position 4 of a cache of 8 rows per sequence.
      const [batch, seq, pos, cap, K] = [2, 3, 4, 8, 8];
      const [q, kv] = [8, 4];
      const N = q + 2 * kv;
      const x = rand(batch * seq * K, 10);
      const w = rand(N * K, 11);
      const outs = [
        { c0: 0, c1: q, stride: q, store: false },
        { c0: q, c1: q + kv, stride: kv, store: true },
        { c0: q + kv, c1: N, stride: kv, store: true },
      ];
      const k = matmulKernel({ variant: "blocked", rows: "seq", K, N, nOff: 0, bias: false, outs });
      const [yq, yk, yv] = await run(k, { batch, seq, pos, cap }, [x, w, new Float32Array(batch * seq * q), new Float32Array(batch * cap * kv), new Float32Array(batch * cap * kv)], [1, 1, 1]);
      const full = linear(x, batch * seq, K, w, null, N);
      for (let b = 0; b < batch; b++) {
        for (let s = 0; s < seq; s++) {
          const row = full.subarray((b * seq + s) * N, (b * seq + s + 1) * N);
          expectClose(yq.subarray((b * seq + s) * q, (b * seq + s + 1) * q), row.subarray(0, q), "q");
          const slot = (b * cap + pos + s) * kv;
          expectClose(yk.subarray(slot, slot + kv), row.subarray(q, q + kv), "k");
          expectClose(yv.subarray(slot, slot + kv), row.subarray(q + kv), "v");
        }
      }
    });
  });

  describe("attention", () => {
    interface Case {
      name: string;
      heads: number;
      kvHeads: number;
      headDim: number;
      opts: Omit<AttentionOptions, "alibi" | "keyMask"> & { alibi?: boolean; mask?: boolean };
    }
    const cases: Case[] = [
      { name: "causal GQA", heads: 4, kvHeads: 2, headDim: 8, opts: { causal: true } },
      { name: "full MQA with padding, head dim 6", heads: 3, kvHeads: 1, headDim: 6, opts: { causal: false, mask: true } },
      { name: "causal window + ALiBi (6 heads)", heads: 6, kvHeads: 6, headDim: 4, opts: { causal: true, window: 5, alibi: true } },
      { name: "bidirectional window", heads: 2, kvHeads: 2, headDim: 8, opts: { causal: false, window: 3 } },
      { name: "block sparse, padding", heads: 2, kvHeads: 1, headDim: 8, opts: { causal: false, sparse: { kind: "block", block: 4, local: 2, global: 1 }, mask: true } },
      { name: "block sparse, no band", heads: 2, kvHeads: 2, headDim: 4, opts: { causal: true, sparse: { kind: "block", block: 3, local: 0, global: 2 } } },
      { name: "strided causal", heads: 2, kvHeads: 2, headDim: 8, opts: { causal: true, sparse: { kind: "strided", stride: 4 } } },
      { name: "strided bidirectional", heads: 2, kvHeads: 2, headDim: 4, opts: { causal: false, sparse: { kind: "strided", stride: 3 } } },
    ];
    const [batch, seqQ, pos, cap] = [2, 37, 6, 48];
    const seqK = pos + seqQ;

    /** Self-attention of seqQ new rows at position pos over a cache of cap rows per sequence. */
    async function check(c: Case, mode: AttentionMode | "decode"): Promise<void> {
      const q0 = mode === "decode" ? seqK - 1 : pos;
      const nq = mode === "decode" ? 1 : seqQ;
      const spec: AttentionSpec = { q: "seq", self: true, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, causal: c.opts.causal, alibi: !!c.opts.alibi, mask: !!c.opts.mask, ...(c.opts.window ? { window: c.opts.window } : {}), ...(c.opts.sparse ? { sparse: c.opts.sparse } : {}) };
      const qw = c.heads * c.headDim;
      const kw = c.kvHeads * c.headDim;
      const q = rand(batch * nq * qw, 20);
      const k = rand(batch * seqK * kw, 21);
      const v = rand(batch * seqK * kw, 22);
      const mask = Uint8Array.from({ length: batch * seqK }, (_, i) => (i >= seqK && (i - seqK) % 5 === 3 ? 0 : 1));
      const store = (a: Float32Array) => {
        const out = new Float32Array(batch * cap * kw).fill(Number.NaN);
        for (let b = 0; b < batch; b++) out.set(a.subarray(b * seqK * kw, (b + 1) * seqK * kw), b * cap * kw);
        return out;
      };
      const maskStore = new Uint32Array(batch * cap);
      for (let b = 0; b < batch; b++) for (let j = 0; j < seqK; j++) maskStore[b * cap + j] = mask[b * seqK + j];
      const want = attention(q, k, v, { batch, seqQ: nq, seqK, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim }, {
        ...c.opts,
        ...(c.opts.alibi ? { alibi: alibiSlopes(c.heads) } : {}),
        ...(c.opts.mask ? { keyMask: mask } : {}),
        queryOffset: q0,
      } as AttentionOptions);
      const params = { batch, seq: nq, pos: q0, cap };
      const ins = [q, store(k), store(v), ...(c.opts.mask ? [maskStore] : [])];
      let out: Float32Array;
      if (mode === "decode") {
        const part = new Float32Array(batch * partialSize(spec));
        const [p] = await run(decodeKernel(spec), params, [...ins, part], [NSPLIT, c.heads, batch]);
        [out] = (await run(combineKernel(spec), params, [p as Float32Array<ArrayBuffer>, new Float32Array(batch * qw)], [batch * c.heads, 1, 1])) as Float32Array[];
      } else {
        const { bq } = flashTiles(spec, WG_BYTES);
        [out] = (await run(flashKernel(spec, WG_BYTES, mode), params, [...ins, new Float32Array(batch * nq * qw)], [Math.ceil(nq / bq), c.heads, batch])) as Float32Array[];
      }
      expectClose(out, want, `${c.name} (${mode})`);
    }

    for (const mode of ["tiles", "walk", "decode"] as const) {
      it(`${mode}: every pattern at a cache offset`, async () => {
        for (const c of cases) await check(c, mode);
      });
    }

    it("cross-attention over the encoder's output (tiles and split-KV)", async () => {
      const [b, nq, src, heads, hd] = [2, 5, 9, 2, 8];
      const spec: AttentionSpec = { q: "seq", self: false, heads, kvHeads: heads, headDim: hd, causal: false, alibi: false, mask: true };
      const q = rand(b * nq * heads * hd, 30);
      const k = rand(b * src * heads * hd, 31);
      const v = rand(b * src * heads * hd, 32);
      const mask = Uint8Array.from({ length: b * src }, (_, i) => (i % src < (i < src ? 9 : 6) ? 1 : 0));
      const want = attention(q, k, v, { batch: b, seqQ: nq, seqK: src, heads, kvHeads: heads, headDim: hd }, { causal: false, keyMask: mask, queryOffset: 3 });
      const [out] = await run(flashKernel(spec, WG_BYTES), { batch: b, seq: nq, src, pos: 3 }, [q, k, v, Uint32Array.from(mask), new Float32Array(q.length)], [1, heads, b]);
      expectClose(out, want, "cross");
    });
  });

  describe("linear attention", () => {
    const featureMaps = ["elu1", "relu"] as const;
    it("causal chunked scan carries its state across calls (decoding)", async () => {
      const [batch, heads, kvHeads, hd, n1, n2] = [2, 4, 2, 8, 37, 11];
      const n = n1 + n2;
      for (const featureMap of featureMaps) {
        const spec: LinearAttentionSpec = { q: "seq", self: true, causal: true, heads, kvHeads, headDim: hd, featureMap, mask: false };
        const k = linearAttentionKernel(spec, WG_BYTES, 256);
        const [q, kk, v] = [rand(batch * n * heads * hd, 40), rand(batch * n * kvHeads * hd, 41), rand(batch * n * kvHeads * hd, 42)];
        const want = linearAttention(q, kk, v, { batch, seqQ: n, seqK: n, heads, kvHeads, headDim: hd }, { causal: true, featureMap });
        const rows = (a: Float32Array<ArrayBuffer>, w: number, from: number, len: number) => {
          const out = new Float32Array(batch * len * w);
          for (let b = 0; b < batch; b++) out.set(a.subarray((b * n + from) * w, (b * n + from + len) * w), b * len * w);
          return out;
        };
        let S = new Float32Array(batch * kvHeads * hd * hd);
        let Z = new Float32Array(batch * kvHeads * hd);
        const got = new Float32Array(want.length);
        for (const [from, len] of [[0, n1], [n1, n2]]) {
          const outs = await run(k, { batch, seq: len, pos: from, cap: n }, [rows(q, heads * hd, from, len), rows(kk, kvHeads * hd, from, len), rows(v, kvHeads * hd, from, len), S, Z, new Float32Array(batch * len * heads * hd)], [kvHeads, batch, 1]);
          [S, Z] = outs as Float32Array<ArrayBuffer>[];
          const o = outs[2] as Float32Array;
          for (let b = 0; b < batch; b++) got.set(o.subarray(b * len * heads * hd, (b + 1) * len * heads * hd), (b * n + from) * heads * hd);
        }
        expectClose(got, want, `causal ${featureMap}`, 1e-4);
      }
    });

    it("bidirectional over the encoder's output, with padding", async () => {
      const [batch, heads, kvHeads, hd, nq, src] = [2, 2, 1, 4, 5, 9];
      const spec: LinearAttentionSpec = { q: "seq", self: false, causal: false, heads, kvHeads, headDim: hd, featureMap: "elu1", mask: true };
      const [q, k, v] = [rand(batch * nq * heads * hd, 50), rand(batch * src * kvHeads * hd, 51), rand(batch * src * kvHeads * hd, 52)];
      const mask = Uint8Array.from({ length: batch * src }, (_, i) => (i > src + 6 ? 0 : 1));
      // The reference masks padded keys by φ(-inf) = 0 and v = 0, as the model op does.
      const km = k.slice();
      const vm = v.slice();
      for (let r = 0; r < batch * src; r++) if (!mask[r]) {
        km.fill(-Infinity, r * kvHeads * hd, (r + 1) * kvHeads * hd);
        vm.fill(0, r * kvHeads * hd, (r + 1) * kvHeads * hd);
      }
      const want = linearAttention(q, km, vm, { batch, seqQ: nq, seqK: src, heads, kvHeads, headDim: hd }, { causal: false, featureMap: "elu1" });
      const [out] = await run(linearAttentionKernel(spec, WG_BYTES, 256), { batch, seq: nq, src }, [q, k, v, Uint32Array.from(mask), new Float32Array(want.length)], [kvHeads, batch, 1]);
      expectClose(out, want, "memory", 1e-4);
    });
  });

  describe("pointwise, norms, positions", () => {
    it("activations match the reference (exact GELU via erfc)", async () => {
      const x = Float32Array.from({ length: 400 }, (_, i) => (i - 200) / 20);
      for (const act of ["gelu", "gelu_tanh", "silu", "relu"] as const) {
        const [y] = await run(eltKernel({ op: "act", act, rows: "seq", width: 400 }), { batch: 1, seq: 1 }, [x, new Float32Array(400)], [2, 1, 1]);
        const f = activationFn(act);
        expectClose(y, Array.from(x, f), act, 2e-6);
      }
    });

    it("soft-capping keeps small values' digits (tanh_acc: the series below 0.4, tanh above)", async () => {
      const cap = 30;
      // x / cap over ±[1e-7, 1e2], log-spaced, plus 0: 400 values, a vec4 row.
      const x = Float32Array.from({ length: 400 }, (_, i) => (i === 0 ? 0 : (i % 2 ? -1 : 1) * cap * 10 ** (-7 + (9 * i) / 399)));
      const [y] = await run(eltKernel({ op: "softcap", cap, rows: "seq", width: 400 }), { batch: 1, seq: 1 }, [x, new Float32Array(400)], [2, 1, 1]);
      let worst = 0;
      for (let i = 1; i < 400; i++) worst = Math.max(worst, Math.abs(y[i] / (cap * Math.tanh(x[i] / cap)) - 1));
      expect(y[0]).toBe(0);
      expect(worst).toBeLessThan(1e-6);
    });

    it("LayerNorm and RMSNorm on rows wider than the workgroup", async () => {
      const [rows, D] = [7, 100];
      const x = rand(rows * D, 60, 3).map((v) => v + 2);
      const [g, b] = [rand(D, 61), rand(D, 62)];
      const [yl] = await run(normKernel({ kind: "layer", rows: "seq", D, eps: 1e-5, bias: true }, 256), { batch: 1, seq: rows }, [x, g, b, new Float32Array(rows * D)], [rows, 1, 1]);
      expectClose(yl, layerNorm(x, rows, D, g, b, 1e-5), "layer");
      const [yr] = await run(normKernel({ kind: "rms", rows: "seq", D, eps: 1e-6, bias: false }, 256), { batch: 1, seq: rows }, [x, g, new Float32Array(rows * D)], [rows, 1, 1]);
      expectClose(yr, rmsNorm(x, rows, D, g, 1e-6), "rms");
    });

    it("RoPE rotates q rows and cache rows at their absolute positions (partial rotary)", async () => {
      const [batch, seq, pos, cap, heads, kvHeads, hd, rot] = [2, 3, 5, 10, 2, 1, 8, 4];
      const q = rand(batch * seq * heads * hd, 70);
      const k = rand(batch * cap * kvHeads * hd, 71);
      const spec = { rows: "seq" as const, headDim: hd, rotary: rot, base: 10000, targets: [{ heads, width: heads * hd, store: false }, { heads: kvHeads, width: kvHeads * hd, store: true }] };
      const [yq, yk] = await run(ropeKernel(spec), { batch, seq, pos, cap }, [q, k], [1, 1, 1]);
      const positions = Array.from({ length: seq }, (_, s) => pos + s);
      expectClose(yq, applyRope(q.slice(), batch, seq, heads, hd, positions, rot, 10000), "q");
      for (let b = 0; b < batch; b++) {
        const rows = k.slice((b * cap + pos) * kvHeads * hd, (b * cap + pos + seq) * kvHeads * hd);
        const want = applyRope(rows, 1, seq, kvHeads, hd, positions, rot, 10000);
        expectClose(yk.subarray((b * cap + pos) * kvHeads * hd, (b * cap + pos + seq) * kvHeads * hd), want, "k");
        expectClose(yk.subarray(b * cap * kvHeads * hd, (b * cap + pos) * kvHeads * hd), k.subarray(b * cap * kvHeads * hd, (b * cap + pos) * kvHeads * hd), "untouched");
      }
    });

    it("embedding gather from a table chunk, plus a residual and sinusoidal positions", async () => {
      const [batch, seq, pos, D, lo, hi] = [2, 4, 3, 10, 8, 16];
      const ids = Int32Array.from({ length: batch * seq }, (_, i) => (i * 5) % 20);
      const table = rand((hi - lo) * D, 80);
      const r = rand(batch * seq * D, 81);
      const y0 = new Float32Array(batch * seq * D).fill(-7);
      const k = embedKernel({ rows: "seq", D, gather: { scale: 2, lo, hi }, residual: true, position: "sinusoidal" });
      const [y] = await run(k, { batch, seq, pos }, [ids, table, r, y0], [Math.ceil((batch * seq * D) / 64), 1, 1]);
      const pe = sinusoidalTable(Array.from({ length: seq }, (_, s) => pos + s), D);
      for (let i = 0; i < batch * seq; i++) {
        const id = ids[i];
        for (let c = 0; c < D; c++) {
          const want = id >= lo && id < hi ? table[(id - lo) * D + c] * 2 + r[i * D + c] + pe[(i % seq) * D + c] : -7;
          expect(Math.abs(y[i * D + c] - want), `row ${i} id ${id}`).toBeLessThan(1e-5);
        }
      }
    });
  });
});
