import { describe, expect, it } from "vitest";
import {
  activate,
  add,
  alibiSlopes,
  applyRope,
  type AttentionDims,
  erf,
  erfc,
  gatedActivate,
  gelu,
  geluTanh,
  layerNorm,
  linear,
  linearAttention,
  linearAttentionState,
  linearAttentionStep,
  relu,
  rmsNorm,
  silu,
  sinusoidalTable,
} from "../backends/reference/kernels/index.ts";
import { argmax, mulberry32, sample } from "../src/runtime/sample.ts";

function randomArray(n: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rng() * 2 - 1);
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      throw new Error(`index ${i}: got ${got[i]}, want ${want[i]} (tol ${tol})`);
    }
  }
}

describe("linear", () => {
  it("computes x Wᵀ + b with W in nn.Linear [out, in] layout", () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const w = Float32Array.from([1, 0, -1, 0.5, 0.5, 0.5]);
    expectClose(linear(x, 2, 3, w, Float32Array.from([10, 20]), 2), [8, 23, 8, 27.5], 0);
    expectClose(linear(x, 2, 3, w, null, 2), [-2, 3, -2, 7.5], 0);
  });
  it("rejects mismatched shapes", () => {
    expect(() => linear(new Float32Array(5), 2, 3, new Float32Array(6), null, 2)).toThrow(/linear: x has length 5/);
    expect(() => linear(new Float32Array(6), 2, 3, new Float32Array(6), new Float32Array(3), 2)).toThrow(/bias/);
  });
  it("add is an in-place residual add", () => {
    const a = Float32Array.from([1, 2, 3]);
    expect(add(a, Float32Array.from([0.5, -2, 1]))).toBe(a);
    expectClose(a, [1.5, 0, 4], 0);
    expect(() => add(a, new Float32Array(2))).toThrow(/length mismatch/);
  });
});

describe("norm", () => {
  it("layerNorm known case (biased variance)", () => {
    const x = Float32Array.from([1, 2, 3, 4, 10, 10, 10, 10]);
    const s = 1 / Math.sqrt(1.25);
    const ones = new Float32Array(4).fill(1);
    expectClose(layerNorm(x, 2, 4, ones, null, 0).subarray(0, 4), [-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s], 1e-6);
    const out = layerNorm(x, 2, 4, Float32Array.from([2, 2, 2, 2]), Float32Array.from([1, 0, 0, -1]), 1e-5);
    const s2 = 1 / Math.sqrt(1.25 + 1e-5);
    expectClose(out, [1 - 3 * s2, -s2, s2, 3 * s2 - 1, 1, 0, 0, -1], 1e-6); // constant row -> beta
  });
  it("layerNorm is accurate with a large mean", () => {
    const x = Float32Array.from([1e4 + 1, 1e4 - 1]);
    expectClose(layerNorm(x, 1, 2, Float32Array.from([1, 1]), null, 0), [1, -1], 1e-6);
  });
  it("rmsNorm known case", () => {
    const x = Float32Array.from([1, 2, 3, 4]);
    const s = 1 / Math.sqrt(7.5);
    expectClose(rmsNorm(x, 1, 4, Float32Array.from([1, 1, 1, 1]), 0), [s, 2 * s, 3 * s, 4 * s], 1e-6);
    const t = 1 / Math.sqrt(12.5 + 1);
    expectClose(rmsNorm(Float32Array.from([3, 4]), 1, 2, Float32Array.from([1, 0.5]), 1), [3 * t, 2 * t], 1e-6);
  });
});

describe("activation", () => {
  it("known values", () => {
    expect(gelu(1)).toBeCloseTo(0.8413447460685429, 15);
    expect(geluTanh(1)).toBeCloseTo(0.8411919906082768, 15);
    expect(silu(1)).toBeCloseTo(0.7310585786300049, 15);
    expect(gelu(-3)).toBeCloseTo(-0.004049694094890287, 15);
    expect(gelu(-10) / -7.619853024160593e-23).toBeCloseTo(1, 12); // erfc form keeps the tail
    expect(relu(-2)).toBe(0);
    expect(relu(2)).toBe(2);
    expect(relu(NaN)).toBeNaN();
  });
  it("erf / erfc to double precision (values from Python's math.erf)", () => {
    const cases: [number, number][] = [
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [-0.3, -0.3286267594591274],
    ];
    for (const [x, want] of cases) expect(Math.abs(erf(x) - want)).toBeLessThan(1e-15);
    for (const [x, want] of [[3, 2.2090496998585438e-5], [5, 1.5374597944280351e-12], [10, 2.088487583762545e-45]]) {
      expect(Math.abs(erfc(x) / want - 1)).toBeLessThan(1e-13);
    }
    expect(erf(0)).toBe(0);
    expect(erf(40)).toBe(1);
    expect(erf(-40)).toBe(-1);
  });
  it("activate works in place and rejects unknown names", () => {
    const x = Float32Array.from([-1, 0, 1]);
    expect(activate(x, "gelu")).toBe(x);
    expectClose(x, [-0.15865525393145707, 0, 0.8413447460685429], 1e-7);
    expect(() => activate(x, "swish" as never)).toThrow(/unknown activation/);
  });
  it("gatedActivate: swiglu and geglu", () => {
    const gate = Float32Array.from([1, -1, 2]);
    const up = Float32Array.from([2, 3, -1]);
    expectClose(gatedActivate(gate, up, "silu"), [2 * silu(1), 3 * silu(-1), -silu(2)], 1e-7);
    expectClose(gatedActivate(gate, up, "gelu"), [2 * gelu(1), 3 * gelu(-1), -gelu(2)], 1e-7);
    expect(() => gatedActivate(gate, new Float32Array(2), "silu")).toThrow(/length/);
  });
});

describe("position", () => {
  it("sinusoidal table, interleaved sin/cos", () => {
    const pe = sinusoidalTable(3, 8);
    expectClose(pe.subarray(0, 8), [0, 1, 0, 1, 0, 1, 0, 1], 0);
    expect(pe[8]).toBeCloseTo(Math.sin(1), 7);
    expect(pe[9]).toBeCloseTo(Math.cos(1), 7);
    expect(pe[16 + 2]).toBeCloseTo(Math.sin(2 / Math.pow(10000, 2 / 8)), 7);
    expect(pe[16 + 7]).toBeCloseTo(Math.cos(2 / Math.pow(10000, 6 / 8)), 7);
    expectClose(sinusoidalTable([5], 4), [Math.sin(5), Math.cos(5), Math.sin(0.05), Math.cos(0.05)], 1e-7);
  });

  it("rope known value (rotate_half pairs (c, c + d/2))", () => {
    // Channel pair (0, 2) turns by 1 rad, pair (1, 3) by 1 * 10000^(-1/2) = 0.01 rad.
    const x = Float32Array.from([1, 2, 3, 4]);
    applyRope(x, 1, 1, 1, 4, [1], 4, 10000);
    expectClose(x, [-1.9841106485555495, 1.959900667496664, 2.4623779024123156, 4.019799668334994], 1e-6);
    const y = Float32Array.from([1, 2, 3, 4]);
    applyRope(y, 1, 1, 1, 4, Int32Array.from([0]), 4, 10000);
    expectClose(y, [1, 2, 3, 4], 0);
  });

  it("rope: q·k depends only on relative position", () => {
    const headDim = 16;
    const q = randomArray(headDim, 1);
    const k = randomArray(headDim, 2);
    const dotAt = (p: number, pk: number): number => {
      const qr = applyRope(q.slice(), 1, 1, 1, headDim, [p], headDim, 10000);
      const kr = applyRope(k.slice(), 1, 1, 1, headDim, [pk], headDim, 10000);
      return qr.reduce((s, x, i) => s + x * kr[i], 0);
    };
    for (const [p, pk] of [[3, 1], [0, 7], [20, 20], [100, 37]]) {
      expect(Math.abs(dotAt(p, pk) - dotAt(p + 5, pk + 5))).toBeLessThan(1e-5);
    }
    expect(Math.abs(dotAt(3, 1) - dotAt(3, 2))).toBeGreaterThan(1e-3); // and it does depend on it
  });

  it("rope: partial rotary leaves the tail, matches full rope on the head, per position", () => {
    const [batch, seq, heads, headDim, rot] = [2, 3, 2, 6, 4];
    const x = randomArray(batch * seq * heads * headDim, 3);
    const y = applyRope(x.slice(), batch, seq, heads, headDim, [4, 9, 2], rot, 500);
    for (let t = 0; t < batch * seq * heads; t++) {
      const o = t * headDim;
      expectClose(y.subarray(o + rot, o + headDim), x.subarray(o + rot, o + headDim), 0);
      const s = Math.floor(t / heads) % seq;
      const head = applyRope(x.slice(o, o + rot), 1, 1, 1, rot, [[4, 9, 2][s]], rot, 500);
      expectClose(y.subarray(o, o + rot), head, 1e-7);
    }
    expect(() => applyRope(x, batch, seq, heads, headDim, [1, 2, 3], 5, 500)).toThrow(/rotaryDim/);
    expect(() => applyRope(x, batch, seq, heads, headDim, [1, 2], 4, 500)).toThrow(/positions/);
  });

  it("alibi slopes", () => {
    expectClose(alibiSlopes(8), [1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256], 0);
    // The paper's / HF get_slopes recipe, transcribed.
    const getSlopes = (n: number): number[] => {
      const pow2 = (m: number): number[] => {
        const start = 2 ** -(2 ** -(Math.log2(m) - 3));
        const ratio = start;
        return Array.from({ length: m }, (_, i) => start * ratio ** i);
      };
      if (Number.isInteger(Math.log2(n))) return pow2(n);
      const closest = 2 ** Math.floor(Math.log2(n));
      return [...pow2(closest), ...getSlopes(2 * closest).filter((_, i) => i % 2 === 0).slice(0, n - closest)];
    };
    for (const n of [1, 2, 3, 6, 12, 16, 20, 40]) expectClose(alibiSlopes(n), Float32Array.from(getSlopes(n)), 0);
    const s12 = alibiSlopes(12);
    expectClose(s12.subarray(8), [2 ** -0.5, 2 ** -1.5, 2 ** -2.5, 2 ** -3.5].map(Math.fround), 0);
  });
});

describe("linear attention", () => {
  const phi = (x: number): number => (x > 0 ? x + 1 : Math.exp(x));

  function quadratic(q: Float32Array, k: Float32Array, v: Float32Array, d: AttentionDims, causal: boolean, f = phi) {
    const { batch, seqQ, seqK, heads, kvHeads, headDim } = d;
    const out = new Float32Array(q.length);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < seqQ; i++) {
        for (let h = 0; h < heads; h++) {
          const g = Math.floor(h / (heads / kvHeads));
          const qo = ((b * seqQ + i) * heads + h) * headDim;
          const num = new Float64Array(headDim);
          let den = 0;
          for (let j = 0; j < (causal ? i + 1 : seqK); j++) {
            const ko = ((b * seqK + j) * kvHeads + g) * headDim;
            let a = 0;
            for (let c = 0; c < headDim; c++) a += f(q[qo + c]) * f(k[ko + c]);
            den += a;
            for (let c = 0; c < headDim; c++) num[c] += a * v[ko + c];
          }
          for (let c = 0; c < headDim; c++) out[qo + c] = num[c] / (den + 1e-6);
        }
      }
    }
    return out;
  }

  const d: AttentionDims = { batch: 2, seqQ: 9, seqK: 9, heads: 4, kvHeads: 2, headDim: 5 };
  const n = d.batch * d.seqQ * d.heads * d.headDim;
  const nk = d.batch * d.seqK * d.kvHeads * d.headDim;
  const q = randomArray(n, 11);
  const k = randomArray(nk, 12);
  const v = randomArray(nk, 13);

  it("causal and non-causal match the quadratic formulation (GQA)", () => {
    for (const causal of [true, false]) {
      expectClose(linearAttention(q, k, v, d, { causal, featureMap: "elu1" }), quadratic(q, k, v, d, causal), 1e-5);
    }
  });

  it("relu feature map, causal and not, and an all-zero denominator gives 0 (eps)", () => {
    const relu = (x: number): number => Math.max(x, 0);
    for (const causal of [true, false]) {
      const got = linearAttention(q, k, v, d, { causal, featureMap: "relu" });
      expectClose(got, quadratic(q, k, v, d, causal, relu), 1e-5);
    }
    const neg = (a: Float32Array) => a.map((x) => -Math.abs(x) - 0.1);
    expect(linearAttention(q, neg(k), v, d, { causal: true, featureMap: "relu" }).every((x) => x === 0)).toBe(true);
  });

  it("decoding one token at a time equals the full causal call exactly", () => {
    const full = linearAttention(q, k, v, d, { causal: true, featureMap: "elu1" });
    const state = linearAttentionState(d.batch, d.kvHeads, d.headDim);
    const qRow = d.heads * d.headDim;
    const kRow = d.kvHeads * d.headDim;
    const step: AttentionDims = { ...d, seqQ: 1, seqK: 1 };
    for (let t = 0; t < d.seqQ; t++) {
      const pick = (a: Float32Array, row: number, seq: number) => {
        const o = new Float32Array(d.batch * row);
        for (let b = 0; b < d.batch; b++) o.set(a.subarray((b * seq + t) * row, (b * seq + t + 1) * row), b * row);
        return o;
      };
      const out = linearAttentionStep(state, pick(q, qRow, d.seqQ), pick(k, kRow, d.seqK), pick(v, kRow, d.seqK), step);
      for (let b = 0; b < d.batch; b++) {
        const want = full.subarray((b * d.seqQ + t) * qRow, (b * d.seqQ + t + 1) * qRow);
        expect(out.subarray(b * qRow, (b + 1) * qRow)).toEqual(want);
      }
    }
    expect(() => linearAttentionStep(state, q, k, v, { ...d, kvHeads: 4 })).toThrow();
  });

  it("steps of several tokens (chunked prefill, then decode) also equal the full call", () => {
    const d1: AttentionDims = { ...d, batch: 1 };
    const qRow = d.heads * d.headDim;
    const kRow = d.kvHeads * d.headDim;
    const [q1, k1, v1] = [q.subarray(0, 9 * qRow), k.subarray(0, 9 * kRow), v.subarray(0, 9 * kRow)];
    const full = linearAttention(q1, k1, v1, d1, { causal: true, featureMap: "relu", eps: 1e-3 });
    const state = linearAttentionState(1, d.kvHeads, d.headDim);
    const parts: Float32Array[] = [];
    for (const [from, to] of [[0, 4], [4, 5], [5, 9]]) {
      const n = to - from;
      parts.push(
        linearAttentionStep(
          state,
          q.slice(from * qRow, to * qRow),
          k.slice(from * kRow, to * kRow),
          v.slice(from * kRow, to * kRow),
          { ...d1, seqQ: n, seqK: n },
          { featureMap: "relu", eps: 1e-3 },
        ),
      );
    }
    const joined = new Float32Array(full.length);
    let o = 0;
    for (const p of parts) {
      joined.set(p, o);
      o += p.length;
    }
    expect(joined).toEqual(full);
  });
});

describe("sample", () => {
  const logits = randomArray(50, 21).map((x) => x * 4);

  it("same seed, same sequence; different seed, different sequence", () => {
    const draw = (seed: number) => {
      const rng = mulberry32(seed);
      return Array.from({ length: 40 }, () => sample(logits, { temperature: 1, topK: 10, rng }));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it("topK = 1 and temperature 0 equal argmax", () => {
    const rng = mulberry32(3);
    for (let t = 0; t < 20; t++) {
      const l = randomArray(30, 100 + t);
      const best = argmax(l);
      expect(l.every((x) => x <= l[best])).toBe(true);
      expect(sample(l, { temperature: 0.8, topK: 1, rng })).toBe(best);
      expect(sample(l, { temperature: 0 })).toBe(best);
    }
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });

  it("top-k never picks outside the k largest, and frequencies follow the softmax", () => {
    const l = [0, Math.log(2), Math.log(3), -5, Math.log(4)];
    const rng = mulberry32(99);
    const counts = [0, 0, 0, 0, 0];
    const trials = 20000;
    for (let t = 0; t < trials; t++) counts[sample(l, { temperature: 1, topK: 3, rng })]++;
    expect(counts[0]).toBe(0);
    expect(counts[3]).toBe(0);
    for (const [i, p] of [[1, 2 / 9], [2, 3 / 9], [4, 4 / 9]]) expect(Math.abs(counts[i] / trials - p)).toBeLessThan(0.02);
  });

  it("rejects bad input", () => {
    expect(() => sample([1, 2], { temperature: 1 })).toThrow(/rng/);
    expect(() => sample([1, NaN], { temperature: 1, rng: mulberry32(1) })).toThrow(/NaN/);
    expect(() => argmax([])).toThrow(/empty/);
    expect(() => sample([1], { temperature: -1 })).toThrow(/temperature/);
  });
});
