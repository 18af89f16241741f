// Stand-alone modules for measuring kernels outside a model: the machine's SIMD peak (chains
// of independent multiply-adds) and one specialised matmul. Used by bench/wasm.ts and by the
// kernel tests, which check the matmul against a plain loop.

import { assemble } from "./compile.ts";
import { emitMatmul, matmulName, type MatmulSpec } from "./emit-matmul.ts";
import { type Act, exp2V, softcapScoresV, softcapV } from "./emit-math.ts";
import { emitActivation, emitHelpers } from "./emit-rows.ts";
import { NR } from "./plan.ts";
import { type AttentionBench, attentionBenchModule } from "./kernel-bench-attention.ts";
import { packPanels } from "./load.ts";
import { actRowBytes } from "./emit-quant.ts";
import { packLowBit, packedBytes } from "./lowbit.ts";
import { BLOCK, blocksOf, type LowBitWeight, type StorageDType } from "../../src/runtime/weights/format.ts";
import { quantize } from "../../src/runtime/weights/quantize.ts";
import { type EmitFlags, Func, get, madd } from "./wat.ts";

/**
 * (func $peak (param $n i32) (result f32)), n iterations over `chains` independent
 * accumulators. Relaxed: each chain is a fused multiply-add (8 flops per iteration). Plain:
 * half the chains multiply, half add (4 flops each), so neither waits on the other's latency:
 * the throughput bound of separate f32x4.mul and f32x4.add, as a matmul issues them.
 */
export function peakModule(relaxed: boolean, chains: number): { binary: Uint8Array; flopsPerIter: number } {
  const fl: EmitFlags = { relaxed, threads: false };
  const locals = Array.from({ length: chains }, (_, i) => `(local $a${i} v128)`).join(" ");
  const init = Array.from({ length: chains }, (_, i) => `(local.set $a${i} (f32x4.splat (f32.const ${1 + (i + 1) * 0.001})))`).join("\n");
  // Multipliers just above 1 and tiny addends keep every value normal for millions of iterations.
  const step = (i: number) =>
    relaxed
      ? madd(fl, `(local.get $a${i})`, "(local.get $x)", "(local.get $y)")
      : i % 2 === 0
        ? `(f32x4.mul (local.get $a${i}) (local.get $x))`
        : `(f32x4.add (local.get $a${i}) (local.get $y))`;
  const body = Array.from({ length: chains }, (_, i) => `(local.set $a${i} ${step(i)})`).join("\n");
  let sum = "(local.get $a0)";
  for (let i = 1; i < chains; i++) sum = `(f32x4.add ${sum} (local.get $a${i}))`;
  const text = `(module
  (func (export "peak") (param $n i32) (result f32) (local $x v128) (local $y v128) ${locals}
    (local.set $x (f32x4.splat (f32.const ${relaxed ? 0.999 : 1.0000001})))
    (local.set $y (f32x4.splat (f32.const 0.001)))
    ${init}
    (loop $l ${body} (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (f32x4.extract_lane 0 ${sum})))`;
  return { binary: assemble(text, fl), flopsPerIter: chains * (relaxed ? 8 : 4) };
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

/**
 * `read(p, n)`: sums n bytes from p as i32x4 over four independent accumulators (64 bytes per
 * iteration) — the streaming-read bandwidth a matrix–vector kernel can at best reach.
 */
export function streamReadModule(shared: boolean): Uint8Array {
  const acc = [0, 1, 2, 3];
  const text = `(module (import "env" "memory" (memory 1 65536${shared ? " shared" : ""}))
 (func (export "read") (param $p i32) (param $n i32) (result i32) (local $e i32) ${acc.map((i) => `(local $a${i} v128)`).join(" ")}
  (local.set $e (i32.add (local.get $p) (local.get $n)))
  (loop $l
    ${acc.map((i) => `(local.set $a${i} (i32x4.add (local.get $a${i}) (v128.load offset=${16 * i} (local.get $p))))`).join("\n")}
    (br_if $l (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 64))) (local.get $e))))
  (i32x4.extract_lane 0 (i32x4.add (i32x4.add (local.get $a0) (local.get $a1)) (i32x4.add (local.get $a2) (local.get $a3))))))`;
  return assemble(text, { relaxed: false, threads: shared });
}

export interface LowBitMatmul {
  run(rows: number): void;
  c(rows: number): Float32Array;
  /** Bytes of the packed weights (what one decode row streams). */
  weightBytes: number;
}

/** A single-threaded module over an imported memory of `pages`: the globals and the (no-op) barrier kernels expect, the helpers, then `funcs`. */
const benchModuleText = (pages: number, funcs: string): string => `(module
  (import "env" "memory" (memory ${pages}))
  (global $tid (mut i32) (i32.const 0))
  (global $nth (mut i32) (i32.const 1))
  (func $barrier)
  ${emitHelpers()}
  ${funcs})`;

/** Per-thread scratch of a low-bit matmul over K: a decode step's quantised rows, or prefill's dequantised panel. */
const lowBitScratchBytes = (K: number): number => Math.ceil((Math.max(3 * actRowBytes(K), 4 * blocksOf(K) * BLOCK * NR) + 256) / 64) * 64;

/** `(func (export "mm") (param $w i32) (param $rows i32))`: the matmul `s` over the weights at $w. */
const mmExport = (s: MatmulSpec, a: number, c: number): string =>
  `(func (export "mm") (param $w i32) (param $rows i32)
    (call $${matmulName(s)} (i32.const ${a}) (local.get $w) (i32.const 0) (i32.const ${c}) (i32.const 0) (i32.const 0) (local.get $rows)))`;

/**
 * The backend's low-bit matmul for one shape over fixed buffers (A [M, K] f32, W packed from its
 * storage, C [M, N]); `rows` < MR takes the decode path, more the prefill one. Single-threaded.
 */
export function lowBitMatmulModule(relaxed: boolean, w: LowBitWeight, A: Float32Array, M: number): LowBitMatmul {
  const fl: EmitFlags = { relaxed, threads: false };
  const [N, K] = w.shape;
  const storage = w.dtype;
  const scratchBytes = lowBitScratchBytes(K);
  const scratch = 1024;
  const a = scratch + scratchBytes;
  const actq = a + Math.ceil((4 * M * K + 64) / 64) * 64;
  const wAt = actq + Math.ceil((4 * M * K + 64) / 64) * 64;
  const weightBytes = packedBytes(storage, N, K);
  const c = wAt + Math.ceil(weightBytes / 64) * 64;
  const pages = Math.ceil((c + 4 * M * N + 1024) / 65536);
  const s: MatmulSpec = { K, N, bias: false, residual: false, storage, scratch: { base: scratch, bytes: scratchBytes }, actq };
  const text = benchModuleText(pages, `${emitMatmul(fl, s)}\n${mmExport(s, a, c)}`);
  const memory = new WebAssembly.Memory({ initial: pages });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(assemble(text, fl) as Uint8Array<ArrayBuffer>), { env: { memory } });
  new Float32Array(memory.buffer).set(A, a / 4);
  packLowBit(w, new Uint8Array(memory.buffer, wAt, weightBytes));
  const mm = inst.exports.mm as (w: number, rows: number) => void;
  return { run: (rows) => mm(wAt, rows), c: (rows) => new Float32Array(memory.buffer, c, rows * N).slice(), weightBytes };
}

export interface DecodeBench {
  /** One decode row (x [K]) over copy `i` of the weights. */
  run(i: number): void;
  /** Bytes of one packed copy; copies. */
  bytes: number;
  copies: number;
}

/**
 * The backend's matmul for W [N, K] in `storage` (W the f32 values, converted as a load would)
 * at one row, over `copies` packed copies of W, so that a pass over all of them streams from
 * memory rather than from the caches (bench/lowbit-kernels.ts).
 */
export function decodeBenchModule(relaxed: boolean, storage: StorageDType, W: Float32Array, N: number, K: number, copies: number): DecodeBench {
  const fl: EmitFlags = { relaxed, threads: false };
  const bytes = packedBytes(storage, N, K);
  const scratchBytes = lowBitScratchBytes(K);
  const scratch = 1024;
  const a = scratch + scratchBytes;
  const actq = a + 4 * K + 64;
  const c = actq + 4 * K + 64;
  const w0 = Math.ceil((c + 4 * N + 64) / 4096) * 4096;
  const stride = Math.ceil(bytes / 4096) * 4096;
  const pages = Math.ceil((w0 + stride * copies) / 65536);
  const s: MatmulSpec = { K, N, bias: false, residual: false, ...(storage === "f32" ? {} : { storage, scratch: { base: scratch, bytes: scratchBytes }, actq }) };
  const memory = new WebAssembly.Memory({ initial: pages });
  const text = benchModuleText(pages, `${emitMatmul(fl, s)}\n${mmExport(s, a, c)}`);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(assemble(text, fl) as Uint8Array<ArrayBuffer>), { env: { memory } });
  const x = new Float32Array(memory.buffer, a, K);
  for (let k = 0; k < K; k++) x[k] = Math.sin(k + 1);
  const first = new Uint8Array(memory.buffer, w0, bytes);
  if (storage === "f32") packPanels(W, N, K, new Float32Array(memory.buffer, w0, bytes / 4));
  else packLowBit(quantize(W, [N, K], storage) as LowBitWeight, first);
  for (let i = 1; i < copies; i++) new Uint8Array(memory.buffer, w0 + i * stride, bytes).set(first);
  const mm = inst.exports.mm as (w: number, rows: number) => void;
  return { run: (i) => mm(w0 + i * stride, 1), bytes, copies };
}

/** A module exporting `act(rows)`: the backend's activation kernel over [rows, 256] at fixed buffers. */
export function activationModule(relaxed: boolean, act: Act, rows: number): { run(x: Float32Array): Float32Array } {
  const fl: EmitFlags = { relaxed, threads: false };
  const width = 256;
  const x = 1024;
  const y = x + 4 * rows * width + 64;
  const pages = Math.ceil((y + 4 * rows * width + 1024) / 65536);
  const text = `(module
  (import "env" "memory" (memory ${pages}))
  (global $tid (mut i32) (i32.const 0))
  (global $nth (mut i32) (i32.const 1))
  ${emitActivation(fl, "act", width, act)}
  (func (export "act") (param $rows i32) (call $act (i32.const ${x}) (i32.const ${y}) (local.get $rows))))`;
  const memory = new WebAssembly.Memory({ initial: pages });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(assemble(text, fl) as Uint8Array<ArrayBuffer>), { env: { memory } });
  return {
    run(input: Float32Array): Float32Array {
      if (input.length !== rows * width) throw new Error(`activationModule: expected ${rows * width} values`);
      new Float32Array(memory.buffer).set(input, x / 4);
      (inst.exports.act as (r: number) => void)(rows);
      return new Float32Array(memory.buffer, y, rows * width).slice();
    },
  };
}

/** An elementwise vector kernel (`emit(f, fl, out, x)`) over n values (a multiple of 4), in place from byte 0: for accuracy tests. */
function elementwiseModule(relaxed: boolean, n: number, what: string, emit: (f: Func, fl: EmitFlags, out: string, x: string) => string): { run(x: Float32Array): Float32Array } {
  const fl: EmitFlags = { relaxed, threads: false };
  const f = new Func("elt", ["n"], undefined, `${what}, four lanes at a time, in place from byte 0`);
  f.local("v128", "x");
  f.local("i32", "p");
  const body = `(loop $L
    (local.set $x (v128.load ${get("p")}))
    ${emit(f, fl, "e", "x")}
    (v128.store ${get("p")} ${get("e")})
    (br_if $L (i32.lt_s (local.tee $p (i32.add ${get("p")} (i32.const 16))) (i32.shl ${get("n")} (i32.const 2)))))`;
  const pages = Math.ceil((4 * n) / 65536) + 1;
  const text = `(module (import "env" "memory" (memory ${pages})) ${f.text(body)} (export "elt" (func $elt)))`;
  const memory = new WebAssembly.Memory({ initial: pages });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(assemble(text, fl) as Uint8Array<ArrayBuffer>), { env: { memory } });
  return {
    run(input: Float32Array): Float32Array {
      if (input.length !== n) throw new Error(`${what}: expected ${n} values`);
      new Float32Array(memory.buffer).set(input);
      (inst.exports.elt as (n: number) => void)(n);
      return new Float32Array(memory.buffer, 0, n).slice();
    },
  };
}

/** The attention softmax's exponent (exp2V) over n values (a multiple of 4), for its accuracy test. */
export const exp2Module = (relaxed: boolean, n: number) => elementwiseModule(relaxed, n, "2^x", exp2V);

/** cap · tanh(x / cap) (softcapV, or the attention scores' softcapScoresV) over n values (a multiple of 4), for accuracy tests. */
export const softcapModule = (relaxed: boolean, n: number, cap: number, scores = false) =>
  elementwiseModule(relaxed, n, `softcap ${cap}`, (f, fl, out, x) => (scores ? softcapScoresV : softcapV)(f, fl, out, x, cap));

/**
 * A module exporting `attn()`: the backend's fused causal self-attention for one sequence of
 * `n` new rows at position 0 (heads × headDim, no RoPE, no padding) over fixed buffers; the
 * general form (window, ALiBi, GQA, linear) is kernel-bench-attention.ts.
 */
export function attentionModule(relaxed: boolean, heads: number, headDim: number, n: number): AttentionBench {
  return attentionBenchModule(relaxed, { kind: "softmax", heads, kvHeads: heads, headDim, n, causal: true });
}
