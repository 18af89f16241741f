// y = x · Wᵀ for x [rows, K] and W [N, K] (nn.Linear layout: both operands are contiguous
// along K, so both load as vec4 along K and the inner product is a dot of vec4s). Variants,
// kept side by side so the bench can show what each step buys:
//   naive    one output per thread, straight from global memory;
//   tiled    16×16 tiles staged in workgroup memory, one output per thread;
//   blocked  64×64 tiles in workgroup memory, 8×8 outputs per thread in registers, vec4 loads
//            (the GPU kernel);
//   register the same register blocking with no workgroup memory and no barriers (fastest
//            on llvmpipe, where barriers are coroutine switches and caches do the staging).
//
// The epilogue fuses what would otherwise be extra passes over the output: bias, activation,
// the gated unit (two weight matrices, two accumulators), the residual add, and the scatter of
// one fused projection (q|k|v) into several destinations, KV-cache rows included.

import type { Activation } from "../../../src/model/model.ts";
import { Bindings, activationFn, kernel, opaque, seqLen, storeRow, u32, type Kernel, type SeqSym } from "../wgsl.ts";
import { ringStoreRow } from "./attention.ts";
import type { LowBitDType } from "../lowbit.ts";
import { enableF16, lowBitVec4Fn } from "./lowbit.ts";

export type MatmulVariant = "naive" | "tiled" | "blocked" | "register";

/** One token per sequence (decoding): a handful of rows, where 64-row tiles would be mostly idle. */
export const SKINNY = "skinny";

/** One destination of the output columns [c0, c1) (global column numbers). */
export interface MatmulOut {
  c0: number;
  c1: number;
  /** Row width of the destination. */
  stride: number;
  /** Rows go to their KV-cache slot (storeRow) instead of row m. */
  store: boolean;
  /** The cache is a ring of this many rows (state plan): rows go to their ring slot. */
  ring?: number;
}

export interface MatmulSpec {
  variant: MatmulVariant | typeof SKINNY;
  rows: SeqSym;
  K: number;
  /** Output columns of this dispatch: the rows of its weight buffer. */
  N: number;
  /** Global column of the weight buffer's first row (a split weight's chunk offset). */
  nOff: number;
  bias: boolean;
  /** Gated unit: act(x·W1ᵀ + b1) ⊙ (x·W2ᵀ + b2) with W1 the gate and W2 the up projection. */
  gated?: Activation;
  act?: Activation;
  /** Adds residual[m, c] (row width given) after the activation. */
  residual?: number;
  outs: MatmulOut[];
  /** W's low-bit storage (row records of ../lowbit.ts, dequantised in load_w); absent: f32. */
  storage?: LowBitDType;
  /** The same for W2 of a gated unit. */
  storage2?: LowBitDType;
  /** Read f16 through f16 types (the device has `shader-f16`); else unpack2x16float. */
  f16?: boolean;
}

export interface MatmulKernel extends Kernel {
  tileM: number;
  tileN: number;
}

/** Thread tile (rows × columns per thread) and workgroup shape of the register-blocked variants. */
function blocking(s: MatmulSpec): { tm: number; tn: number; wx: number; wy: number } {
  // Two accumulators per output for the gated unit: half the columns keeps registers in check.
  const tn = s.gated ? 4 : 8;
  if (s.variant === SKINNY) return { tm: 1, tn: 4, wx: 32, wy: 1 };
  return s.variant === "register" ? { tm: 8, tn, wx: 16, wy: 4 } : { tm: 8, tn, wx: 8, wy: 8 };
}

/** k-steps of 4 staged per barrier pair in the blocked variant. */
const BK4 = 8;

export function matmulKernel(s: MatmulSpec): MatmulKernel {
  const blockedLike = s.variant === "blocked" || s.variant === "register" || s.variant === SKINNY;
  if (s.gated && !blockedLike) throw new Error("matmul: the gated epilogue exists in the blocked and register variants only");
  if (s.outs.length === 0) throw new Error("matmul: no output");
  if ((s.storage || s.storage2) && !blockedLike) throw new Error("matmul: low-bit weights exist in the blocked, register and skinny variants only");
  const vec = blockedLike && s.K % 4 === 0;
  const b = new Bindings();
  const elem = vec ? "array<vec4<f32>>" : "array<f32>";
  b.add("X", "read", elem);
  b.add("W", "read", s.storage ? "array<u32>" : elem);
  if (s.gated) b.add("W2", "read", s.storage2 ? "array<u32>" : elem);
  if (s.bias) {
    b.add("Bias", "read", "array<f32>");
    if (s.gated) b.add("Bias2", "read", "array<f32>");
  }
  if (s.residual !== undefined) b.add("R", "read", "array<f32>");
  s.outs.forEach((_, i) => b.add(`Y${i}`, "rw", "array<f32>"));

  const consts = `const K = ${u32(s.K)};\nconst K4 = ${u32(Math.ceil(s.K / 4))};\nconst N = ${u32(s.N)};\nconst NOFF = ${u32(s.nOff)};`;
  const body = `${consts}\n${blockedLike ? loaders(s, vec) : ""}\n${epilogue(s)}\n${VARIANTS[s.variant](s)}`;
  if (!blockedLike) {
    return { ...kernel(b, body, 256, s.variant === "tiled" ? 2 * 1024 : 0), tileM: 16, tileN: 16 };
  }
  const { tm, tn, wx, wy } = blocking(s);
  const bytes = s.variant === "blocked" ? (tm * wy + (s.gated ? 2 : 1) * tn * wx) * BK4 * 16 : 0;
  const f16 = Boolean(s.f16) && [s.storage, s.storage2].some((d) => d !== undefined);
  return { ...enableF16(kernel(b, body, wx * wy, bytes), f16), tileM: tm * wy, tileN: tn * wx };
}

/**
 * load_x / load_w(row, k4): elements 4·k4 .. 4·k4 + 3 of a row (rows clamped in range, k
 * zero-padded); a low-bit weight's loader dequantises its row record (kernels/lowbit.ts).
 */
function loaders(s: MatmulSpec, vec: boolean): string {
  const one = (fn: string, buf: string) =>
    vec
      ? `fn ${fn}(r: u32, k4: u32) -> vec4<f32> { return ${buf}[r * K4 + k4]; }`
      : `fn ${fn}(r: u32, k4: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { let k = k4 * 4u + e; if (k < K) { v[e] = ${buf}[r * K + k]; } }
  return v;
}`;
  const weight = (fn: string, buf: string, storage: LowBitDType | undefined) => (storage ? lowBitVec4Fn(fn, buf, { storage, K: s.K, f16: Boolean(s.f16) }) : one(fn, buf));
  return [one("load_x", "X"), weight("load_w", "W", s.storage), s.gated ? weight("load_w2", "W2", s.storage2) : ""].join("\n");
}

function epilogue(s: MatmulSpec): string {
  const lines: string[] = [];
  if (s.gated) {
    lines.push(`  let gate = a${s.bias ? " + Bias[c]" : ""};`, `  let up = a2${s.bias ? " + Bias2[c]" : ""};`, "  var v = act_f(gate) * up;");
  } else {
    lines.push(`  var v = a${s.bias ? " + Bias[c]" : ""};`);
    if (s.act) lines.push("  v = act_f(v);");
  }
  if (s.residual !== undefined) lines.push(`  v = v + R[m * ${u32(s.residual)} + c];`);
  const writes = s.outs.map((o, i) => {
    const row = o.store ? (o.ring !== undefined ? ringStoreRow("m", o.ring) : storeRow(s.rows, "m")) : "m";
    const w = `Y${i}[${row} * ${u32(o.stride)} + c - ${u32(o.c0)}] = v;`;
    return s.outs.length === 1 ? `  ${w}` : `  ${i === 0 ? "" : "else "}if (c < ${u32(o.c1)}) { ${w} }`;
  });
  const act = s.gated ?? s.act;
  return `${act ? activationFn(act) : ""}
fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
${lines.join("\n")}
${writes.join("\n")}
}`;
}

/** The TM×TN accumulation of one k-step and the epilogue loop, shared by both blocked variants. */
function blockBody(s: MatmulSpec, a: (i: string) => string, w: (j: string) => string, w2: (j: string) => string): { step: string; store: string } {
  const { tm, tn } = blocking(s);
  const g = s.gated !== undefined;
  const step = `
      var a: array<vec4<f32>, ${tm}>;
      for (var i = 0u; i < ${tm}u; i++) { a[i] = ${a("i")}; }
      for (var j = 0u; j < ${tn}u; j++) {
        let b = ${w("j")};
        ${g ? `let b2 = ${w2("j")};` : ""}
        for (var i = 0u; i < ${tm}u; i++) {
          acc[i][j] += dot(a[i], b);
          ${g ? "acc2[i][j] += dot(a[i], b2);" : ""}
        }
      }`;
  // The epilogue runs from a copy of the accumulators in a loop the compiler cannot unroll:
  // unrolled, emit() (an erfc GELU, a residual, three destinations) was inlined TM × TN times
  // and llvmpipe spent ~0.5 s compiling each matmul. Indexing the copy dynamically keeps the
  // accumulators themselves in registers.
  const store = `
  var res: array<f32, ${tm * tn}>;
  ${g ? `var res2: array<f32, ${tm * tn}>;` : ""}
  for (var i = 0u; i < ${tm}u; i++) {
    for (var j = 0u; j < ${tn}u; j++) {
      res[i * ${tn}u + j] = acc[i][j];
      ${g ? `res2[i * ${tn}u + j] = acc2[i][j];` : ""}
    }
  }
  for (var e = 0u; e < ${opaque(String(tm * tn) + "u")}; e++) {
    let m = m0 + e / ${tn}u;
    let n = n0 + e % ${tn}u;
    if (m < M && n < N) { emit(m, n, res[e], ${g ? "res2[e]" : "0.0"}); }
  }`;
  return { step, store };
}

const VARIANTS: Record<MatmulVariant | typeof SKINNY, (s: MatmulSpec) => string> = {
  naive: (s) => `
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * ${seqLen(s.rows)};
  let m = gid.y;
  let n = gid.x;
  if (m >= M || n >= N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < K; k++) { acc += X[m * K + k] * W[n * K + k]; }
  emit(m, n, acc, 0.0);
}`,

  tiled: (s) => `
var<workgroup> As: array<f32, 256>;
var<workgroup> Bs: array<f32, 256>;
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = P.batch * ${seqLen(s.rows)};
  let m = wg.y * 16u + lid.y;
  let n = wg.x * 16u + lid.x;
  let wr = wg.x * 16u + lid.y;
  var acc = 0.0;
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    // Thread (x, y) stages x[m, k0 + x] and W[row y of the tile, k0 + x]: 16 k per barrier pair.
    let k = k0 + lid.x;
    As[lid.y * 16u + lid.x] = select(0.0, X[min(m, M - 1u) * K + min(k, K - 1u)], m < M && k < K);
    Bs[lid.y * 16u + lid.x] = select(0.0, W[min(wr, N - 1u) * K + min(k, K - 1u)], wr < N && k < K);
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) { acc += As[lid.y * 16u + kk] * Bs[lid.x * 16u + kk]; }
    workgroupBarrier();
  }
  if (m < M && n < N) { emit(m, n, acc, 0.0); }
}`,

  // Workgroup-memory tiles of BM rows × BN columns × 4·BK4 k, kept as vec4 along k so staging
  // is a straight copy and the inner product is dot(): each thread then turns TM + TN vec4
  // loads into TM × TN dot products.
  blocked: (s) => {
    const { tm, tn, wx, wy } = blocking(s);
    const bm = tm * wy;
    const bn = tn * wx;
    const g = s.gated !== undefined;
    const { step, store } = blockBody(
      s,
      (i) => `As[(lid.y * ${tm}u + ${i}) * BK4 + kk]`,
      (j) => `Bs[(lid.x * ${tn}u + ${j}) * BK4 + kk]`,
      (j) => `Bs2[(lid.x * ${tn}u + ${j}) * BK4 + kk]`,
    );
    return `
const BK4 = ${u32(BK4)};
var<workgroup> As: array<vec4<f32>, ${bm * BK4}>;
var<workgroup> Bs: array<vec4<f32>, ${bn * BK4}>;
${g ? `var<workgroup> Bs2: array<vec4<f32>, ${bn * BK4}>;` : ""}
@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * ${seqLen(s.rows)};
  var acc: array<array<f32, ${tn}>, ${tm}>;
  ${g ? `var acc2: array<array<f32, ${tn}>, ${tm}>;` : ""}
  for (var k0 = 0u; k0 < K4; k0 += BK4) {
    for (var e = li; e < ${bm}u * BK4; e += ${wx * wy}u) {
      let k4 = k0 + e % BK4;
      As[e] = select(vec4<f32>(0.0), load_x(min(wg.y * ${bm}u + e / BK4, M - 1u), min(k4, K4 - 1u)), k4 < K4);
    }
    for (var e = li; e < ${bn}u * BK4; e += ${wx * wy}u) {
      let k4 = k0 + e % BK4;
      let r = min(wg.x * ${bn}u + e / BK4, N - 1u);
      Bs[e] = select(vec4<f32>(0.0), load_w(r, min(k4, K4 - 1u)), k4 < K4);
      ${g ? "Bs2[e] = select(vec4<f32>(0.0), load_w2(r, min(k4, K4 - 1u)), k4 < K4);" : ""}
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK4; kk++) {${step}
    }
    workgroupBarrier();
  }
  let m0 = wg.y * ${bm}u + lid.y * ${tm}u;
  let n0 = wg.x * ${bn}u + lid.x * ${tn}u;${store}
}`;
  },

  // The same register blocking straight from global memory: no barriers, which is what a CPU
  // "GPU" (llvmpipe) prefers — its caches do the staging.
  register: (s) => {
    const { tm, tn, wx, wy } = blocking(s);
    const { step, store } = blockBody(
      s,
      (i) => `load_x(min(m0 + ${i}, M - 1u), kk)`,
      (j) => `load_w(min(n0 + ${j}, N - 1u), kk)`,
      (j) => `load_w2(min(n0 + ${j}, N - 1u), kk)`,
    );
    return `
@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * ${seqLen(s.rows)};
  let m0 = gid.y * ${tm}u;
  let n0 = gid.x * ${tn}u;
  var acc: array<array<f32, ${tn}>, ${tm}>;
  ${s.gated ? `var acc2: array<array<f32, ${tn}>, ${tm}>;` : ""}
  for (var kk = 0u; kk < K4; kk++) {${step}
  }${store}
}`;
  },

  // Register blocking by columns only, one row per workgroup row: every weight element is
  // read once per row, which is all a matrix-vector product can do.
  skinny: (s) => {
    const { tn, wx } = blocking(s);
    const { step, store } = blockBody(
      s,
      () => "load_x(m0, kk)",
      (j) => `load_w(min(n0 + ${j}, N - 1u), kk)`,
      (j) => `load_w2(min(n0 + ${j}, N - 1u), kk)`,
    );
    return `
@compute @workgroup_size(${wx}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * ${seqLen(s.rows)};
  let m0 = gid.y;
  let n0 = gid.x * ${tn}u;
  if (m0 >= M || n0 >= N) { return; }
  var acc: array<array<f32, ${tn}>, 1>;
  ${s.gated ? `var acc2: array<array<f32, ${tn}>, 1>;` : ""}
  for (var kk = 0u; kk < K4; kk++) {${step}
  }${store}
}`;
  },
};
