// Stand-alone attention modules for bench/attention.ts and the tile-edge kernel tests: the
// backend's softmax attention (full, causal, sliding window, ALiBi, GQA, soft-cap) or linear
// attention for one sequence of `n` new rows at position 0, over fixed buffers, one thread.

import { assemble } from "./compile.ts";
import { attentionName, emitAttention } from "./emit-attention.ts";
import { blockedScratchFloats } from "./emit-attention-blocked.ts";
import { emitLinearAttention, linearAttentionName } from "./emit-linear-attention.ts";
import { emitHelpers } from "./emit-rows.ts";
import type { WOp } from "./ops.ts";
import { DESC, SLOT } from "./plan.ts";
import type { EmitFlags } from "./wat.ts";

export interface AttentionBenchSpec {
  kind: "softmax" | "linear";
  heads: number;
  kvHeads: number;
  headDim: number;
  n: number;
  causal: boolean;
  window?: number;
  alibi?: boolean;
  softcap?: number;
  scale?: number;
}

export interface AttentionBench {
  run(): void;
  /** Useful FLOPs of one run: 4·hd per visible (query, key) pair and head; linear: 6·hd² per row and head (S update, numerator, denominator). */
  flops: number;
  out(): Float32Array;
  setQKV(q: Float32Array, k: Float32Array, v: Float32Array): void;
}

/** Keys query i sees (position i, keys 0..n-1). */
function visible(spec: AttentionBenchSpec, i: number): number {
  const hi = spec.causal ? i + 1 : spec.n;
  const lo = spec.window === undefined ? 0 : Math.max(0, i - spec.window + 1);
  const hiW = spec.window === undefined || spec.causal ? hi : Math.min(hi, i + spec.window);
  return Math.max(0, hiW - lo);
}

/** ALiBi slopes of `heads` heads (the geometric sequence of Press et al.; any positive values do for a benchmark). */
export const alibiSlopes = (heads: number): Float32Array => Float32Array.from({ length: heads }, (_, h) => 2 ** (-8 * (h + 1) / heads));

/** Per-thread scratch the bench gives the kernel: generous, so any kernel version fits. */
const scratchFloatsFor = (hd: number): number => Math.max(24 * hd + 1024, hd * hd + 8 * hd + 64, blockedScratchFloats(hd) + 4 * hd + 64);

export function attentionBenchModule(relaxed: boolean, spec: AttentionBenchSpec): AttentionBench {
  const fl: EmitFlags = { relaxed, threads: false };
  const { heads, kvHeads, headDim: hd, n } = spec;
  const common = { slot: 0, out: 0, q: 0, k: 0, v: 0, heads, kvHeads, headDim: hd, causal: spec.causal, source: "self" as const, ropeDim: 0, padding: false, name: "bench" };
  const op: WOp =
    spec.kind === "linear"
      ? { op: "linear_attention", ...common, featureMap: "elu1" }
      : {
          op: "attention",
          ...common,
          scale: spec.scale ?? 1 / Math.sqrt(hd),
          ...(spec.window !== undefined ? { window: spec.window } : {}),
          ...(spec.softcap !== undefined ? { softcap: spec.softcap } : {}),
          ...(spec.alibi ? { alibiKey: "bench_alibi" } : {}),
        };
  const desc = 0;
  const sd = DESC.slots;
  const scratchBytes = Math.ceil((4 * scratchFloatsFor(hd) + 256) / 64) * 64;
  const scratch = 1024;
  const qBytes = 4 * n * heads * hd + 64;
  const kvBytes = 4 * n * kvHeads * hd + 64;
  const alibi = scratch + scratchBytes + 1024;
  const q = alibi + Math.ceil((4 * heads + 64) / 64) * 64;
  const k = q + qBytes;
  const v = k + kvBytes;
  const out = v + kvBytes;
  // Softmax: the K/V cache; linear: the (S, z) state per kv head.
  const kc = out + qBytes;
  const kcBytes = spec.kind === "linear" ? 4 * kvHeads * hd * hd + 64 : kvBytes;
  const vc = kc + kcBytes;
  const vcBytes = spec.kind === "linear" ? 4 * kvHeads * hd + 64 : kvBytes;
  const pages = Math.ceil((vc + vcBytes + 1024) / 65536);
  const kernel = op.op === "linear_attention" ? emitLinearAttention(fl, op, desc, scratch, scratchBytes, n) : emitAttention(fl, op, desc, scratch, scratchBytes, n);
  const name = op.op === "linear_attention" ? linearAttentionName(op) : attentionName(op);
  const call = op.op === "linear_attention" ? `(i32.const 0)` : `(i32.const 0) (i32.const ${alibi})`;
  const text = `(module
  (import "env" "memory" (memory ${pages}))
  (global $tid (mut i32) (i32.const 0))
  (global $nth (mut i32) (i32.const 1))
  (func $barrier)
  ${emitHelpers()}
  ${kernel}
  (func (export "attn") (call $${name} (i32.const ${q}) (i32.const ${k}) (i32.const ${v}) (i32.const ${out}) (i32.const ${sd}) ${call})))`;
  const memory = new WebAssembly.Memory({ initial: pages });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(assemble(text, fl) as Uint8Array<ArrayBuffer>), { env: { memory } });
  const i32v = new Int32Array(memory.buffer);
  i32v[(desc + DESC.g) / 4] = 1;
  i32v[(desc + DESC.n) / 4] = n;
  i32v[(desc + DESC.pos0) / 4] = 0;
  i32v[(sd + SLOT.k) / 4] = kc;
  i32v[(sd + SLOT.v) / 4] = vc;
  i32v[(sd + SLOT.stride) / 4] = n;
  const f32v = new Float32Array(memory.buffer);
  f32v.set(alibiSlopes(heads), alibi / 4);
  let q0 = Float32Array.from({ length: n * heads * hd }, (_, i) => Math.sin(i * 0.37));
  f32v.set(q0, q / 4);
  f32v.set(Float32Array.from({ length: n * kvHeads * hd }, (_, i) => Math.cos(i * 0.21)), k / 4);
  f32v.set(Float32Array.from({ length: n * kvHeads * hd }, (_, i) => Math.sin(i * 0.13 + 1)), v / 4);
  const attn = inst.exports.attn as () => void;
  let pairs = 0;
  for (let i = 0; i < n; i++) pairs += visible(spec, i);
  const clearState = () => {
    // Linear attention accumulates into its state: each run starts from an empty prefix.
    if (spec.kind === "linear") f32v.fill(0, kc / 4, (vc + vcBytes) / 4);
  };
  return {
    flops: spec.kind === "linear" ? 6 * hd * hd * heads * n : 4 * hd * heads * pairs,
    run() {
      f32v.set(q0, q / 4);
      clearState();
      attn();
    },
    out: () => f32v.slice(out / 4, out / 4 + n * heads * hd),
    setQKV(qq, kk, vv) {
      q0 = qq.slice();
      f32v.set(qq, q / 4);
      f32v.set(kk, k / 4);
      f32v.set(vv, v / 4);
    },
  };
}
