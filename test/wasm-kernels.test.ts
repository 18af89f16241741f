// Kernel-level checks of the Wasm backend: the packed matmul at awkward shapes (row tails,
// partial panels, K not a multiple of the unroll) and the vector activations against the
// reference's f64 functions, in both SIMD flavours.

import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { gelu, geluTanh, silu } from "../backends/reference/kernels/index.ts";
import { activationModule, attentionModule, exp2Module, loadMatmul, matmulModule, peakModule, softcapModule } from "../backends/wasm/kernel-bench.ts";
import { packPanels } from "../backends/wasm/load.ts";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

describe("wasm kernels: packed matmul", () => {
  it("packs W [N, K] into zero-padded 8-column panels", () => {
    const W = Float32Array.from({ length: 3 * 2 }, (_, i) => i + 1); // N = 3, K = 2
    const out = new Float32Array(16).fill(NaN);
    packPanels(W, 3, 2, out);
    expect([...out]).toEqual([1, 3, 5, 0, 0, 0, 0, 0, 2, 4, 6, 0, 0, 0, 0, 0]);
  });

  const shapes: Array<[number, number, number]> = [
    [1, 7, 5],
    [5, 33, 13],
    [13, 64, 24],
    [7, 100, 101],
    [6, 16, 8],
  ];
  for (const relaxed of [false, true]) {
    it.each(shapes)(`C[%i, %i] · W[%i]ᵀ + bias matches a plain loop (${relaxed ? "relaxed" : "plain"})`, (M, K, N) => {
      const A = rand(M * K, 1);
      const W = rand(N * K, 2);
      const b = rand(N, 3);
      const mm = loadMatmul(matmulModule(relaxed, M, K, N, { bias: true }), A, W, b, K, N);
      for (const rows of [M, Math.max(1, M - 1)]) {
        mm.run(rows);
        const C = mm.c();
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < N; j++) {
            let s = b[j];
            for (let k = 0; k < K; k++) s += A[i * K + k] * W[j * K + k];
            expect(Math.abs(C[i * N + j] - s)).toBeLessThan(1e-5);
          }
        }
      }
    });
  }
});

describe("wasm kernels: activations", () => {
  const rows = 16;
  const xs = Float32Array.from({ length: rows * 256 }, (_, i) => -9 + (18 * i) / (rows * 256));
  const cases = [
    ["gelu", gelu],
    ["gelu_tanh", geluTanh],
    ["silu", silu],
  ] as const;
  for (const relaxed of [false, true]) {
    it.each(cases)(`%s is within 1e-6·max(1, |x|) of the f64 reference (${relaxed ? "relaxed" : "plain"})`, (act, ref) => {
      const y = activationModule(relaxed, act, rows).run(xs);
      let worst = 0;
      for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(y[i] - ref(xs[i])) / Math.max(1, Math.abs(xs[i])));
      expect(worst).toBeLessThan(1e-6);
    });
  }

  it("exact GELU's erf approximation is within 1e-6 of erf", () => {
    // gelu(x) = x/2 (1 + erf(x/√2)), so erf's error is 2·|Δgelu| / |x| (f32 output rounding included).
    const y = activationModule(false, "gelu", rows).run(xs);
    let worst = 0;
    for (let i = 0; i < xs.length; i++) if (Math.abs(xs[i]) > 0.25) worst = Math.max(worst, (2 * Math.abs(y[i] - gelu(xs[i]))) / Math.abs(xs[i]));
    expect(worst).toBeLessThan(1e-6);
  });

  it("relu keeps negatives at 0 and positives as they are", () => {
    const y = activationModule(true, "relu", 1).run(xs.subarray(0, 256));
    for (let i = 0; i < 256; i++) expect(y[i]).toBe(Math.max(0, xs[i]));
  });
});

describe("wasm kernels: the softmax's 2^x", () => {
  // Every float in [-127, 0] on a fine grid (ulp-spaced near 0, where most softmax weights live), then the edges.
  const grid = Float32Array.from({ length: 200_000 }, (_, i) => -127 * (i / 199_999) ** 2);
  const edges = Float32Array.of(0, -0, -1e-30, -0.5, -126, -126.4, -127, -127.5, -200, -3e38, -Infinity, NaN);
  for (const relaxed of [false, true]) {
    it(`is within an ulp (1.2e-7) of 2^x down to 2^-126, exactly 0 from -127 down to -inf, NaN for NaN (${relaxed ? "relaxed" : "plain"})`, () => {
      const y = exp2Module(relaxed, grid.length).run(grid);
      let worst = 0;
      for (let i = 0; i < grid.length; i++) if (grid[i] >= -126) worst = Math.max(worst, Math.abs(y[i] / 2 ** grid[i] - 1));
      expect(worst).toBeLessThan(1.2e-7);
      const e = exp2Module(relaxed, edges.length).run(edges);
      expect([...e.subarray(0, 4)].map((v, i) => Math.abs(v / 2 ** edges[i] - 1) < 1.2e-7)).toEqual([true, true, true, true]);
      expect(e[0]).toBe(1);
      expect(Math.abs(e[4] / 2 ** -126 - 1)).toBeLessThan(1.2e-7);
      expect([...e.subarray(6, 11)]).toEqual([0, 0, 0, 0, 0]);
      expect(e[11]).toBeNaN();
    });
  }
});

describe("wasm kernels: soft-capping, cap · tanh(x / cap)", () => {
  // x / cap over ±[1e-7, 1e3] (log-spaced: logits far below the cap are where the old
  // cap − 2·cap / (1 + e^(2x/cap)) lost their digits), and the edges.
  const ratios = Array.from({ length: 40_000 }, (_, i) => (i % 2 ? -1 : 1) * 10 ** (-7 + (10 * Math.floor(i / 2)) / 19_999));
  for (const relaxed of [false, true]) {
    it.each([30, 50, 1000, 1e18])(`is within 3 ulp (3.6e-7) of cap · tanh(x / cap) however small x is, ±cap at ±inf, NaN for NaN, 0 at 0 (cap %s, ${relaxed ? "relaxed" : "plain"})`, (cap) => {
      const xs = Float32Array.from([...ratios.map((r) => r * cap), 0, Infinity, -Infinity, NaN]);
      const y = softcapModule(relaxed, xs.length, cap).run(xs);
      let worst = 0;
      for (let i = 0; i < ratios.length; i++) worst = Math.max(worst, Math.abs(y[i] / (cap * Math.tanh(xs[i] / cap)) - 1));
      expect(worst).toBeLessThan(3.6e-7);
      const n = ratios.length;
      expect([y[n], y[n + 1], y[n + 2]]).toEqual([0, Math.fround(cap), -Math.fround(cap)]);
      expect(y[n + 3]).toBeNaN();
    });
    it.each([30, 50, 1e18])(`for attention scores, within 4 · cap · 2^-24 absolute (a few f32 spacings at the cap's scale), ±cap at ±inf (cap %s, ${relaxed ? "relaxed" : "plain"})`, (cap) => {
      const xs = Float32Array.from([...ratios.map((r) => r * cap), Infinity, -Infinity]);
      const y = softcapModule(relaxed, xs.length, cap, true).run(xs);
      let worst = 0;
      for (let i = 0; i < ratios.length; i++) worst = Math.max(worst, Math.abs(y[i] - cap * Math.tanh(xs[i] / cap)));
      expect(worst / cap).toBeLessThan(4 * 2 ** -24);
      expect([y[ratios.length], y[ratios.length + 1]]).toEqual([Math.fround(cap), -Math.fround(cap)]);
    });
  }
});

describe("wasm kernels: peak module", () => {
  it.each([false, true])("runs and stays finite (relaxed %s)", (relaxed) => {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(peakModule(relaxed, 12).binary as Uint8Array<ArrayBuffer>));
    const r = (inst.exports.peak as (n: number) => number)(1000);
    expect(Number.isFinite(r)).toBe(true);
  });
});

describe("wasm kernels: fused causal attention", () => {
  /** Plain f64 causal softmax attention over [n, heads·hd] rows. */
  function naive(q: Float32Array, k: Float32Array, v: Float32Array, n: number, heads: number, hd: number): Float64Array {
    const w = heads * hd;
    const out = new Float64Array(n * w);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < n; i++) {
        const s: number[] = [];
        for (let j = 0; j <= i; j++) {
          let d = 0;
          for (let c = 0; c < hd; c++) d += q[i * w + h * hd + c] * k[j * w + h * hd + c];
          s.push(d / Math.sqrt(hd));
        }
        const m = Math.max(...s);
        const p = s.map((x) => Math.exp(x - m));
        const l = p.reduce((a, b) => a + b, 0);
        for (let c = 0; c < hd; c++) {
          let acc = 0;
          for (let j = 0; j <= i; j++) acc += p[j] * v[j * w + h * hd + c];
          out[i * w + h * hd + c] = acc / l;
        }
      }
    }
    return out;
  }
  for (const relaxed of [false, true]) {
    // 1 and 3 rows take the one-query path; 4, 13 and 37 the blocked one (partial blocks, key tails).
    for (const [n, heads, hd] of [[1, 2, 8], [3, 2, 8], [4, 3, 12], [13, 2, 32], [37, 2, 64]] as const) {
      it(`${n} rows, ${heads} heads × ${hd} matches a plain loop (${relaxed ? "relaxed" : "plain"})`, () => {
        const mod = attentionModule(relaxed, heads, hd, n);
        const q = rand(n * heads * hd, 1 + n);
        const k = rand(n * heads * hd, 2 + n);
        const v = rand(n * heads * hd, 3 + n);
        mod.setQKV(q.map((x) => 4 * x), k.map((x) => 4 * x), v);
        mod.run();
        const got = mod.out();
        const want = naive(q.map((x) => 4 * x), k.map((x) => 4 * x), v, n, heads, hd);
        let err = 0;
        for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
        expect(err).toBeLessThan(2e-5);
      });
    }
  }
});
