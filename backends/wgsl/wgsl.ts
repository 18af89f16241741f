// Code-generation helpers shared by the kernel generators. Kernels are specialised to the
// model: every static size is a literal, so the only run-time inputs are the Params uniform
// (batch, tokens, position, cache capacity) and the buffers themselves.

import type { Activation } from "../../src/model/model.ts";
import type { Access, PlanKernel } from "./plan.ts";

/** A generated kernel: its source and what the plan needs to bind and check it. */
export interface Kernel extends PlanKernel {
  wgsl: string;
}

/** Which run-time sequence a kernel's rows belong to: the decoder's tokens or the encoder's source. */
export type SeqSym = "seq" | "src";

export const PARAMS = `struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;`;

/**
 * A loop bound the shader compiler cannot see through: P.zero is always 0. llvmpipe fully
 * unrolls nested constant-trip loops, which took the linear-attention scan from 0.3 s to 2+ s
 * of JIT time per pipeline; loops whose bodies are not register-blocked lose nothing by
 * staying loops.
 */
export const opaque = (bound: string): string => `(${bound} + P.zero)`;

/** Tokens per sequence of the rows a kernel processes. */
export const seqLen = (s: SeqSym): string => (s === "seq" ? "P.seq" : "P.src");
/** Absolute position of the first of those tokens. */
export const seqPos = (s: SeqSym): string => (s === "seq" ? "P.pos" : "0u");
/** Rows per sequence of a KV store or mask history over `s`. */
export const seqCap = (s: SeqSym): string => (s === "seq" ? "P.cap" : "P.src");

/**
 * Row of a [batch, cap, width] store that activation row m ([batch, seq]) lands in: the cache
 * row of its absolute position. With cap = seq and pos = 0 (a forward) it is m itself.
 */
export function storeRow(s: SeqSym, m: string): string {
  if (s === "src") return m;
  return `((${m}) / P.seq * P.cap + P.pos + (${m}) % P.seq)`;
}

/** A WGSL f32 literal; refuses what WGSL cannot spell. */
export function f32(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`wgsl: cannot write ${x} as an f32 literal`);
  const v = Math.fround(x);
  if (Object.is(v, -0)) return "-0.0f";
  const s = String(v);
  return /[.eE]/.test(s) ? `${s}f` : `${s}.0f`;
}

export const u32 = (x: number): string => {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`wgsl: ${x} is not a u32`);
  return `${x}u`;
};

/** `const NAME = array<f32, n>(...)`: small per-model tables (ALiBi slopes, RoPE frequencies). */
export function f32Table(name: string, values: ArrayLike<number>): string {
  return `const ${name} = array<f32, ${values.length}>(${Array.from(values, f32).join(", ")});`;
}

/** Storage bindings 1..n, declared in order; binding 0 is the Params uniform. */
export class Bindings {
  readonly access: Access[] = [];
  private readonly decls: string[] = [];

  add(name: string, access: Access, type: string): string {
    const slot = this.access.length + 1;
    this.access.push(access);
    const mode = access === "read" ? "read" : "read_write";
    this.decls.push(`@group(0) @binding(${slot}) var<storage, ${mode}> ${name}: ${type};`);
    return name;
  }

  get count(): number {
    return this.access.length;
  }

  header(): string {
    return `${PARAMS}\n${this.decls.join("\n")}`;
  }
}

export function kernel(b: Bindings, body: string, workgroupSize: number, workgroupBytes: number): Kernel {
  return { wgsl: `${b.header()}\n${body.trim()}\n`, bindings: [...b.access], workgroupSize, workgroupBytes };
}

/**
 * Flat workgroup index for 1-D grids the runtime may fold into two dimensions (more than
 * maxComputeWorkgroupsPerDimension workgroups).
 */
export const FLAT_ID = "(wg.x + wg.y * nwg.x)";
export const FLAT_ARGS = "@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u";

// erfc from Numerical Recipes (Chebyshev fit, fractional error < 1.2e-7 everywhere): WGSL has
// no erf, and exact GELU must match torch's erf form to f32 accuracy, not the tanh approximation.
const ERFC = `fn erfc_f(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, x >= 0.0);
}`;

/**
 * `tanh_acc(u)`, tanh without cancellation near 0 for `T` (f32 or vec4<f32>): WGSL's tanh is
 * specified as sinh / cosh, i.e. from exp(u) − exp(−u), whose difference loses a small
 * argument's digits (a logit far below its soft-cap would come out with cap · 2^-24 of error);
 * below 0.4 the Taylor series to u¹³ (its next term is 4e-9 of tanh there), above it the builtin
 * of an argument clamped to ±10 (±1 in f32; some implementations overflow past that).
 */
export function tanhAccFn(t: "f32" | "vec4<f32>"): string {
  const c = [-1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925, 21844 / 6081075].map((x) => f32(x));
  const poly = c.reduceRight((acc, k) => (acc === "" ? k : `${k} + s * (${acc})`), "");
  return `fn tanh_acc(u: ${t}) -> ${t} {
  let a = abs(u);
  let s = a * a;
  let p = a + a * s * (${poly});
  return select(tanh(clamp(u, ${t}(-10.0), ${t}(10.0))), sign(u) * p, a < ${t}(0.4));
}`;
}

/** WGSL for `fn act_f(x: f32) -> f32` computing the activation (plus helpers it needs). */
export function activationFn(act: Activation): string {
  switch (act) {
    case "relu":
      return "fn act_f(x: f32) -> f32 { return max(x, 0.0); }";
    case "gelu":
      // erfc(-x/√2) rather than 1 + erf(x/√2): no cancellation for negative x.
      return `${ERFC}\nfn act_f(x: f32) -> f32 { return 0.5 * x * erfc_f(-x * 0.7071067811865476); }`;
    case "gelu_tanh":
      // tanh saturates long before 10; clamping keeps backends that expand tanh via exp finite.
      return "fn act_f(x: f32) -> f32 { let u = 0.7978845608028654 * (x + 0.044715 * x * x * x); return 0.5 * x * (1.0 + tanh(clamp(u, -10.0, 10.0))); }";
    case "silu":
      // min(): exp(-x) would overflow to inf below -88; x / 5e34 is already 0 to f32 accuracy.
      return "fn act_f(x: f32) -> f32 { return x / (1.0 + exp(min(-x, 80.0))); }";
  }
}

/** Largest power of two ≤ n (n ≥ 1). */
export function floorPow2(n: number): number {
  return 2 ** Math.floor(Math.log2(Math.max(1, n)));
}
