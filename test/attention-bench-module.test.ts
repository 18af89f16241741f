// The bench's attention modules (backends/wasm/kernel-bench-attention.ts) run the backend's
// kernels on the shapes bench/attention.ts times: their outputs against a plain softmax loop,
// at row counts that are not multiples of the kernel's 4-row blocks.
import { describe, expect, it } from "vitest";
import { type AttentionBenchSpec, alibiSlopes, attentionBenchModule } from "../backends/wasm/kernel-bench-attention.ts";

function plain(spec: AttentionBenchSpec, q: Float32Array, k: Float32Array, v: Float32Array): Float32Array {
  const { heads: H, kvHeads: G, headDim: hd, n } = spec;
  const out = new Float32Array(n * H * hd);
  const slopes = alibiSlopes(H);
  const scale = spec.scale ?? 1 / Math.sqrt(hd);
  for (let i = 0; i < n; i++)
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / (H / G));
      const s: number[] = [];
      for (let j = 0; j < n; j++) {
        const vis = (!spec.causal || j <= i) && (spec.window === undefined || (i - j < spec.window && (spec.causal || j - i < spec.window)));
        if (!vis) continue;
        let d = 0;
        for (let c = 0; c < hd; c++) d += q[(i * H + h) * hd + c] * scale * k[(j * G + kh) * hd + c];
        if (spec.alibi) d -= slopes[h] * Math.abs(i - j);
        s.push(j, d);
      }
      let m = -Infinity;
      for (let x = 1; x < s.length; x += 2) m = Math.max(m, s[x]);
      let l = 0;
      for (let x = 1; x < s.length; x += 2) l += Math.exp(s[x] - m);
      for (let x = 0; x < s.length; x += 2) {
        const p = Math.exp(s[x + 1] - m) / l;
        for (let c = 0; c < hd; c++) out[(i * H + h) * hd + c] += p * v[(s[x] * G + kh) * hd + c];
      }
    }
  return out;
}

const cases: AttentionBenchSpec[] = [
  { kind: "softmax", heads: 2, kvHeads: 2, headDim: 6, n: 13, causal: true },
  { kind: "softmax", heads: 2, kvHeads: 2, headDim: 5, n: 11, causal: false },
  { kind: "softmax", heads: 2, kvHeads: 2, headDim: 8, n: 19, causal: true, window: 5 },
  { kind: "softmax", heads: 4, kvHeads: 4, headDim: 10, n: 9, causal: true, alibi: true },
  { kind: "softmax", heads: 4, kvHeads: 2, headDim: 3, n: 17, causal: true },
];

describe("attention bench modules match a plain softmax loop", () => {
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))("%s", (_, spec) => {
    const mod = attentionBenchModule(false, spec);
    const rows = spec.n * spec.heads * spec.headDim;
    const kv = spec.n * spec.kvHeads * spec.headDim;
    const q = Float32Array.from({ length: rows }, (_, i) => Math.sin(i * 1.3));
    const k = Float32Array.from({ length: kv }, (_, i) => Math.cos(i * 0.7));
    const v = Float32Array.from({ length: kv }, (_, i) => Math.sin(i * 0.29 + 0.5));
    mod.setQKV(q, k, v);
    mod.run();
    const want = plain(spec, q, k, v);
    const got = mod.out();
    let err = 0;
    for (let i = 0; i < rows; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    expect(err).toBeLessThan(1e-5);
    expect(mod.flops).toBeGreaterThan(0);
  });
});
