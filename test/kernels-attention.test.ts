import { describe, expect, it } from "vitest";
import {
  alibiSlopes,
  attention,
  type AttentionDims,
  type AttentionOptions,
} from "../backends/reference/kernels/index.ts";
import { mulberry32 } from "../src/runtime/sample.ts";

function randomArray(n: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rng() * 2 - 1);
}

function inputs(d: AttentionDims, seed: number) {
  return {
    q: randomArray(d.batch * d.seqQ * d.heads * d.headDim, seed),
    k: randomArray(d.batch * d.seqK * d.kvHeads * d.headDim, seed + 1),
    v: randomArray(d.batch * d.seqK * d.kvHeads * d.headDim, seed + 2),
  };
}

/** Visibility written straight from the rules, independent of the kernel's interval walking. */
function visible(i: number, j: number, b: number, seqK: number, o: AttentionOptions): boolean {
  if (o.keyMask && o.keyMask[b * seqK + j] === 0) return false;
  if (o.causal && j > i) return false;
  if (o.window !== undefined) {
    if (o.causal ? !(i - o.window < j && j <= i) : !(Math.abs(i - j) < o.window)) return false;
  }
  const sp = o.sparse;
  if (sp?.kind === "block") {
    const bi = Math.floor(i / sp.block);
    const bj = Math.floor(j / sp.block);
    if (!(Math.abs(bi - bj) < sp.local || bj < sp.global || bi < sp.global)) return false;
  } else if (sp?.kind === "strided") {
    if (!(Math.abs(i - j) < sp.stride || Math.abs(i - j) % sp.stride === 0)) return false;
  }
  return true;
}

/** Brute force: full score matrix per (batch, head) with -Infinity masks, softmax, weighted sum. */
function dense(q: Float32Array, k: Float32Array, v: Float32Array, d: AttentionDims, o: AttentionOptions) {
  const { batch, seqQ, seqK, heads, kvHeads, headDim } = d;
  const off = o.queryOffset ?? seqK - seqQ;
  const scale = o.scale ?? 1 / Math.sqrt(headDim);
  const out = new Float32Array(batch * seqQ * heads * headDim);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / (heads / kvHeads));
      const scores: number[][] = [];
      for (let r = 0; r < seqQ; r++) {
        const i = off + r;
        const row: number[] = [];
        for (let j = 0; j < seqK; j++) {
          let s = 0;
          for (let c = 0; c < headDim; c++) {
            s += q[((b * seqQ + r) * heads + h) * headDim + c] * k[((b * seqK + j) * kvHeads + g) * headDim + c];
          }
          s *= scale;
          if (o.alibi) s -= o.alibi[h] * (o.causal ? i - j : Math.abs(i - j));
          row.push(visible(i, j, b, seqK, o) ? s : -Infinity);
        }
        scores.push(row);
      }
      for (let r = 0; r < seqQ; r++) {
        const max = Math.max(...scores[r]);
        if (max === -Infinity) continue; // no visible key: zeros
        const p = scores[r].map((s) => Math.exp(s - max));
        const sum = p.reduce((a, x) => a + x, 0);
        for (let c = 0; c < headDim; c++) {
          let acc = 0;
          for (let j = 0; j < seqK; j++) acc += (p[j] / sum) * v[((b * seqK + j) * kvHeads + g) * headDim + c];
          out[((b * seqQ + r) * heads + h) * headDim + c] = acc;
        }
      }
    }
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const base: AttentionDims = { batch: 2, seqQ: 10, seqK: 10, heads: 4, kvHeads: 4, headDim: 8 };

const cases: [string, Partial<AttentionDims>, AttentionOptions][] = [
  ["full", {}, { causal: false }],
  ["causal", {}, { causal: true }],
  ["causal window", {}, { causal: true, window: 3 }],
  ["bidirectional window", {}, { causal: false, window: 3 }],
  ["window 1", {}, { causal: false, window: 1 }],
  ["ALiBi causal", {}, { causal: true, alibi: alibiSlopes(4) }],
  ["ALiBi bidirectional", {}, { causal: false, alibi: alibiSlopes(4) }],
  ["ALiBi + window", {}, { causal: true, window: 4, alibi: alibiSlopes(4) }],
  ["GQA causal", { kvHeads: 2 }, { causal: true }],
  ["MQA causal", { kvHeads: 1 }, { causal: true }],
  ["GQA + ALiBi non-power-of-2 heads", { heads: 6, kvHeads: 3 }, { causal: true, alibi: alibiSlopes(6) }],
  ["custom scale", {}, { causal: false, scale: 0.7 }],
  ["cross attention seqQ != seqK", { seqQ: 4, seqK: 9 }, { causal: false }],
  ["queryOffset bidirectional window", { seqQ: 4, seqK: 12 }, { causal: false, window: 3, queryOffset: 2 }],
  ["block sparse", { seqQ: 16, seqK: 16 }, { causal: false, sparse: { kind: "block", block: 4, local: 1, global: 1 } }],
  ["block sparse causal", { seqQ: 16, seqK: 16 }, { causal: true, sparse: { kind: "block", block: 4, local: 1, global: 1 } }],
  ["block sparse wide band", { seqQ: 19, seqK: 19 }, { causal: false, sparse: { kind: "block", block: 3, local: 2, global: 2 } }],
  ["block sparse local 0", { seqQ: 12, seqK: 12 }, { causal: false, sparse: { kind: "block", block: 3, local: 0, global: 1 } }],
  ["block sparse + window", { seqQ: 16, seqK: 16 }, { causal: true, window: 6, sparse: { kind: "block", block: 4, local: 1, global: 1 } }],
  ["strided", { seqQ: 17, seqK: 17 }, { causal: false, sparse: { kind: "strided", stride: 4 } }],
  ["strided causal", { seqQ: 17, seqK: 17 }, { causal: true, sparse: { kind: "strided", stride: 4 } }],
  ["strided stride 1", { seqQ: 7, seqK: 7 }, { causal: false, sparse: { kind: "strided", stride: 1 } }],
  ["strided incremental", { seqQ: 3, seqK: 17 }, { causal: true, sparse: { kind: "strided", stride: 3 } }],
];

describe("attention vs dense brute force", () => {
  cases.forEach(([name, over, opts], n) => {
    it(name, () => {
      const d = { ...base, ...over };
      const { q, k, v } = inputs(d, 100 + 10 * n);
      expect(maxAbsDiff(attention(q, k, v, d, opts), dense(q, k, v, d, opts))).toBeLessThan(1e-5);
    });
  });

  it("padding mask, including a fully padded sequence that outputs zeros", () => {
    const d = { ...base, batch: 3 };
    const { q, k, v } = inputs(d, 7);
    const keyMask = new Uint8Array(3 * 10);
    keyMask.fill(1, 0, 7); // batch 0: 3 right-padded slots
    keyMask.fill(1, 12, 20); // batch 1: 2 left-padded slots; batch 2: all padding
    for (const causal of [false, true]) {
      const opts = { causal, keyMask };
      const out = attention(q, k, v, d, opts);
      expect(maxAbsDiff(out, dense(q, k, v, d, opts))).toBeLessThan(1e-5);
      expect(out.subarray(2 * 10 * 4 * 8).every((x) => x === 0)).toBe(true);
      // Causal + left padding: batch 1 rows 0 and 1 see only padding.
      if (causal) expect(out.subarray(10 * 4 * 8, 12 * 4 * 8).every((x) => x === 0)).toBe(true);
    }
  });

  it("incremental decoding: last 3 queries against 10 keys equal rows 7..9 of the full causal result", () => {
    const d = { ...base };
    const { q, k, v } = inputs(d, 11);
    const full = attention(q, k, v, d, { causal: true });
    const rowLen = d.heads * d.headDim;
    const lastQ = new Float32Array(d.batch * 3 * rowLen);
    for (let b = 0; b < d.batch; b++) {
      lastQ.set(q.subarray((b * 10 + 7) * rowLen, (b * 10 + 10) * rowLen), b * 3 * rowLen);
    }
    const dq = { ...d, seqQ: 3 };
    const inc = attention(lastQ, k, v, dq, { causal: true }); // default queryOffset = 7
    const explicit = attention(lastQ, k, v, dq, { causal: true, queryOffset: 7 });
    expect(explicit).toEqual(inc);
    for (let b = 0; b < d.batch; b++) {
      const want = full.subarray((b * 10 + 7) * rowLen, (b * 10 + 10) * rowLen);
      const got = inc.subarray(b * 3 * rowLen, (b + 1) * 3 * rowLen);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
    }
  });
});

describe("attention randomized sweep vs dense", () => {
  it("random combinations of causal, window, offset, ALiBi, padding and sparse patterns", () => {
    const rng = mulberry32(2024);
    const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
    for (let t = 0; t < 150; t++) {
      const kvHeads = int(1, 2);
      const d: AttentionDims = {
        batch: int(1, 2),
        seqQ: int(1, 13),
        seqK: int(1, 13),
        heads: kvHeads * int(1, 3),
        kvHeads,
        headDim: int(1, 6),
      };
      const opts: AttentionOptions = { causal: rng() < 0.5 };
      if (rng() < 0.4) opts.window = int(1, 6);
      if (rng() < 0.5) opts.queryOffset = int(-3, 12);
      if (rng() < 0.3) opts.alibi = alibiSlopes(d.heads);
      if (rng() < 0.3) opts.keyMask = Uint8Array.from({ length: d.batch * d.seqK }, () => (rng() < 0.7 ? 1 : 0));
      const r = rng();
      if (r < 0.3) opts.sparse = { kind: "block", block: int(1, 4), local: int(0, 3), global: int(0, 2) };
      else if (r < 0.6) opts.sparse = { kind: "strided", stride: int(1, 5) };
      const { q, k, v } = inputs(d, 1000 + t);
      const diff = maxAbsDiff(attention(q, k, v, d, opts), dense(q, k, v, d, opts));
      if (!(diff < 1e-5)) throw new Error(`case ${t}: ${JSON.stringify({ d, opts })} diff ${diff}`);
    }
  });
});

describe("attention only reads visible keys", () => {
  function poison(k: Float32Array, v: Float32Array, d: AttentionDims, bad: (b: number, j: number) => boolean) {
    const k2 = k.slice();
    const v2 = v.slice();
    const row = d.kvHeads * d.headDim;
    for (let b = 0; b < d.batch; b++) {
      for (let j = 0; j < d.seqK; j++) {
        if (bad(b, j)) {
          k2.fill(NaN, (b * d.seqK + j) * row, (b * d.seqK + j + 1) * row);
          v2.fill(NaN, (b * d.seqK + j) * row, (b * d.seqK + j + 1) * row);
        }
      }
    }
    return { k2, v2 };
  }

  it("causal window: NaN keys older than every query's window are never read", () => {
    const d = { ...base, seqQ: 4, seqK: 40, kvHeads: 2 };
    const { q, k, v } = inputs(d, 21);
    const opts = { causal: true, window: 5 }; // queries 36..39 see keys 32..39
    const { k2, v2 } = poison(k, v, d, (_, j) => j < 32);
    const out = attention(q, k2, v2, d, opts);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(out, dense(q, k, v, d, opts))).toBeLessThan(1e-5);
  });

  it("bidirectional window: NaN keys on both sides are never read", () => {
    const d = { ...base, seqQ: 4, seqK: 30 };
    const { q, k, v } = inputs(d, 31);
    const opts = { causal: false, window: 3, queryOffset: 10 }; // queries 10..13 see keys 8..15
    const { k2, v2 } = poison(k, v, d, (_, j) => j < 8 || j > 15);
    const out = attention(q, k2, v2, d, opts);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(out, dense(q, k, v, d, opts))).toBeLessThan(1e-5);
  });

  it("padding: NaN in padded slots is never read", () => {
    const d = { ...base };
    const { q, k, v } = inputs(d, 41);
    const keyMask = new Uint8Array(20).fill(1);
    keyMask.fill(0, 6, 10); // batch 0: right padding
    keyMask.fill(0, 10, 13); // batch 1: left padding
    const { k2, v2 } = poison(k, v, d, (b, j) => keyMask[b * 10 + j] === 0);
    for (const causal of [false, true]) {
      const opts = { causal, keyMask };
      const out = attention(q, k2, v2, d, opts);
      expect(out.every(Number.isFinite)).toBe(true);
      expect(maxAbsDiff(out, dense(q, k, v, d, opts))).toBeLessThan(1e-5);
    }
  });

  it("a long sequence with a small window runs without an n x n buffer", () => {
    const d: AttentionDims = { batch: 1, seqQ: 20000, seqK: 20000, heads: 1, kvHeads: 1, headDim: 4 };
    const { q, k, v } = inputs(d, 51);
    const out = attention(q, k, v, d, { causal: true, window: 4 });
    const tail: AttentionDims = { ...d, seqQ: 1, seqK: 4 };
    const want = dense(q.subarray(-4), k.subarray(-16), v.subarray(-16), tail, { causal: true });
    expect(maxAbsDiff(out.subarray(-4), want)).toBeLessThan(1e-5);
  });
});

describe("attention validation", () => {
  const d = { ...base };
  const { q, k, v } = inputs(d, 61);
  it("rejects arrays that do not match dims", () => {
    expect(() => attention(q.subarray(1), k, v, d, { causal: false })).toThrow(
      /attention: q has length 639, expected 640/,
    );
    expect(() => attention(q, k, v.subarray(8), d, { causal: false })).toThrow(/attention: v has length/);
    expect(() => attention(q, k, v, { ...d, kvHeads: 3 }, { causal: false })).toThrow(/multiple of dims.kvHeads/);
    expect(() => attention(q, k, v, d, { causal: false, keyMask: new Uint8Array(3) })).toThrow(/keyMask/);
    expect(() => attention(q, k, v, d, { causal: false, alibi: new Float32Array(2) })).toThrow(/alibi/);
    expect(() => attention(q, k, v, d, { causal: false, window: 0 })).toThrow(/window/);
    expect(() => attention(q, k, v, d, { causal: false, sparse: { kind: "strided", stride: 0 } })).toThrow(/stride/);
  });
});
