// Stand-alone modules for measuring kernels outside a model: the machine's SIMD peak (chains
// of independent multiply-adds) and one specialised matmul. Used by bench/wasm.ts and by the
// kernel tests, which check the matmul against a plain loop.

import { assemble } from "./compile.ts";
import { emitMatmul, matmulName, type MatmulSpec } from "./emit-matmul.ts";
import { emitHelpers } from "./emit-rows.ts";
import { NR } from "./plan.ts";
import { packPanels } from "./load.ts";
import { type EmitFlags, madd } from "./wat.ts";

/**
 * (func $peak (param $n i32) (result f32)): `chains` independent accumulators, each updated
 * n times by a multiply-add (fused with relaxed SIMD); 8 flops per chain per iteration.
 */
export function peakModule(relaxed: boolean, chains: number): Uint8Array {
  const fl: EmitFlags = { relaxed, threads: false };
  const locals = Array.from({ length: chains }, (_, i) => `(local $a${i} v128)`).join(" ");
  const init = Array.from({ length: chains }, (_, i) => `(local.set $a${i} (f32x4.splat (f32.const ${(i + 1) * 0.001})))`).join("\n");
  // x · 0.999 + y with x the accumulator keeps values bounded and normal.
  const body = Array.from({ length: chains }, (_, i) => `(local.set $a${i} ${madd(fl, `(local.get $a${i})`, "(local.get $x)", "(local.get $y)")})`).join("\n");
  let sum = "(local.get $a0)";
  for (let i = 1; i < chains; i++) sum = `(f32x4.add ${sum} (local.get $a${i}))`;
  const text = `(module
  (func (export "peak") (param $n i32) (result f32) (local $x v128) (local $y v128) ${locals}
    (local.set $x (f32x4.splat (f32.const 0.999)))
    (local.set $y (f32x4.splat (f32.const 0.001)))
    ${init}
    (loop $l ${body} (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (f32x4.extract_lane 0 ${sum})))`;
  return assemble(text, fl);
}

export interface MatmulModule {
  binary: Uint8Array;
  /** Byte addresses of A [M, K], packed W, bias [N], C [M, N]; memory pages needed. */
  a: number;
  w: number;
  bias: number;
  c: number;
  pages: number;
}

/** A module exporting `mm(rows)` = the backend's matmul for one shape, over fixed buffers. */
export function matmulModule(relaxed: boolean, M: number, K: number, N: number, spec: Partial<MatmulSpec> = {}): MatmulModule {
  const fl: EmitFlags = { relaxed, threads: false };
  const s: MatmulSpec = { K, N, bias: spec.bias ?? false, residual: false, ...(spec.act ? { act: spec.act } : {}) };
  const a = 1024;
  const w = a + Math.ceil((4 * M * K + 64) / 64) * 64;
  const bias = w + 4 * Math.ceil(N / NR) * NR * K;
  const c = bias + Math.ceil((4 * N + 64) / 64) * 64;
  const end = c + 4 * M * N + 1024;
  const pages = Math.ceil(end / 65536);
  const text = `(module
  (import "env" "memory" (memory ${pages}))
  (global $tid (mut i32) (i32.const 0))
  (global $nth (mut i32) (i32.const 1))
  ${emitHelpers()}
  ${emitMatmul(fl, s)}
  (func (export "mm") (param $rows i32)
    (call $${matmulName(s)} (i32.const ${a}) (i32.const ${w}) (i32.const ${bias}) (i32.const ${c}) (i32.const 0) (i32.const 0) (local.get $rows))))`;
  return { binary: assemble(text, fl), a, w, bias, c, pages };
}

/** Instantiates a matmulModule with A, W (packed) and bias filled in. */
export function loadMatmul(mm: MatmulModule, A: Float32Array, W: Float32Array, bias: Float32Array | null, K: number, N: number): { run(rows: number): void; c(): Float32Array } {
  const memory = new WebAssembly.Memory({ initial: mm.pages });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(mm.binary as Uint8Array<ArrayBuffer>), { env: { memory } });
  const f = new Float32Array(memory.buffer);
  f.set(A, mm.a / 4);
  packPanels(W, N, K, f.subarray(mm.w / 4));
  if (bias) f.set(bias, mm.bias / 4);
  const run = inst.exports.mm as (rows: number) => void;
  return { run, c: () => new Float32Array(memory.buffer, mm.c, (A.length / K) * N) };
}
