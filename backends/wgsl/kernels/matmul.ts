// y = x · Wᵀ for x [rows, K] and W [N, K] (nn.Linear layout: both operands are contiguous
// along K, so both tiles load as vec4 along K). Three variants, kept side by side so the bench
// can show what each step buys: naive (one output per thread, straight from global memory),
// tiled (16×16 tiles staged in workgroup memory) and blocked (64×64 tiles, 4×4 outputs per
// thread in registers, vec4 loads). The model always uses `blocked`.
//
// The epilogue fuses what would otherwise be extra passes over the output: bias, activation,
// the gated unit (two weight matrices, two accumulators), the residual add, and the scatter of
// one fused projection (q|k|v) into several destinations, KV-cache rows included.

import type { Activation } from "../../../src/model/model.ts";
import { Bindings, activationFn, kernel, seqLen, storeRow, u32, type Kernel, type SeqSym } from "../wgsl.ts";

export type MatmulVariant = "naive" | "tiled" | "blocked";

/** One destination of the output columns [c0, c1) (global column numbers). */
export interface MatmulOut {
  c0: number;
  c1: number;
  /** Row width of the destination. */
  stride: number;
  /** Rows go to their KV-cache slot (storeRow) instead of row m. */
  store: boolean;
}

export interface MatmulSpec {
  variant: MatmulVariant;
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
}

export interface MatmulKernel extends Kernel {
  tileM: number;
  tileN: number;
}

export function matmulKernel(s: MatmulSpec): MatmulKernel {
  if (s.gated && s.variant !== "blocked") throw new Error("matmul: the gated epilogue exists in the blocked variant only");
  if (s.outs.length === 0) throw new Error("matmul: no output");
  const vec = s.variant === "blocked" && s.K % 4 === 0;
  const b = new Bindings();
  const elem = vec ? "array<vec4<f32>>" : "array<f32>";
  b.add("X", "read", elem);
  b.add("W", "read", elem);
  if (s.gated) b.add("W2", "read", elem);
  if (s.bias) {
    b.add("Bias", "read", "array<f32>");
    if (s.gated) b.add("Bias2", "read", "array<f32>");
  }
  if (s.residual !== undefined) b.add("R", "read", "array<f32>");
  s.outs.forEach((_, i) => b.add(`Y${i}`, "rw", "array<f32>"));

  const consts = `const K = ${u32(s.K)};\nconst N = ${u32(s.N)};\nconst NOFF = ${u32(s.nOff)};`;
  const body = `${consts}\n${loaders(vec, s.gated !== undefined)}\n${epilogue(s)}\n${VARIANTS[s.variant](s)}`;
  const tile = s.variant === "blocked" ? 64 : 16;
  const bytes = s.variant === "blocked" ? (s.gated ? 3 : 2) * 4096 : s.variant === "tiled" ? 2 * 1024 : 0;
  return { ...kernel(b, body, 256, bytes), tileM: tile, tileN: tile };
}

/** load_x / load_w: 4 consecutive K elements of a row, zero outside the matrix. */
function loaders(vec: boolean, gated: boolean): string {
  const one = (fn: string, buf: string, limit: string) =>
    vec
      ? `fn ${fn}(r: u32, k: u32, lim: u32) -> vec4<f32> {
  if (r < lim && k < K) { return ${buf}[(r * K + k) / 4u]; }
  return vec4<f32>(0.0);
}`
      : `fn ${fn}(r: u32, k: u32, lim: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (r < lim) {
    for (var e = 0u; e < 4u; e++) { if (k + e < K) { v[e] = ${buf}[r * K + k + e]; } }
  }
  return v;
}`;
  return [one("load_x", "X", "M"), one("load_w", "W", "N"), gated ? one("load_w2", "W2", "N") : ""].join("\n");
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
    const row = o.store ? storeRow(s.rows, "m") : "m";
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

const VARIANTS: Record<MatmulVariant, (s: MatmulSpec) => string> = {
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
    As[lid.y * 16u + lid.x] = select(0.0, X[m * K + k], m < M && k < K);
    Bs[lid.y * 16u + lid.x] = select(0.0, W[wr * K + k], wr < N && k < K);
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) { acc += As[lid.y * 16u + kk] * Bs[lid.x * 16u + kk]; }
    workgroupBarrier();
  }
  if (m < M && n < N) { emit(m, n, acc, 0.0); }
}`,

  blocked: (s) => {
    const g = s.gated !== undefined;
    return `
// Tiles of 64 rows × 16 k, transposed into [k][row] so the inner loop reads 4 rows (or 4
// columns) of one k as a single vec4: 4 + 4 loads feed 16 FMAs per k.
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;
${g ? "var<workgroup> Bs2: array<vec4<f32>, 256>;" : ""}
fn stage_a(i: u32, r: u32, v: vec4<f32>) { let q = r / 4u; let c = r % 4u; As[i * 16u + q][c] = v.x; As[(i + 1u) * 16u + q][c] = v.y; As[(i + 2u) * 16u + q][c] = v.z; As[(i + 3u) * 16u + q][c] = v.w; }
fn stage_b(i: u32, r: u32, v: vec4<f32>) { let q = r / 4u; let c = r % 4u; Bs[i * 16u + q][c] = v.x; Bs[(i + 1u) * 16u + q][c] = v.y; Bs[(i + 2u) * 16u + q][c] = v.z; Bs[(i + 3u) * 16u + q][c] = v.w; }
${g ? "fn stage_b2(i: u32, r: u32, v: vec4<f32>) { let q = r / 4u; let c = r % 4u; Bs2[i * 16u + q][c] = v.x; Bs2[(i + 1u) * 16u + q][c] = v.y; Bs2[(i + 2u) * 16u + q][c] = v.z; Bs2[(i + 3u) * 16u + q][c] = v.w; }" : ""}
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * ${seqLen(s.rows)};
  let m0 = wg.y * 64u;
  let n0 = wg.x * 64u;
  let lr = li / 4u;
  let lk = (li % 4u) * 4u;
  var acc: array<vec4<f32>, 4>;
  ${g ? "var acc2: array<vec4<f32>, 4>;" : ""}
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    stage_a(lk, lr, load_x(m0 + lr, k0 + lk, M));
    stage_b(lk, lr, load_w(n0 + lr, k0 + lk, N));
    ${g ? "stage_b2(lk, lr, load_w2(n0 + lr, k0 + lk, N));" : ""}
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let av = As[kk * 16u + lid.y];
      let bv = Bs[kk * 16u + lid.x];
      acc[0] += av.x * bv; acc[1] += av.y * bv; acc[2] += av.z * bv; acc[3] += av.w * bv;
      ${g ? "let bu = Bs2[kk * 16u + lid.x]; acc2[0] += av.x * bu; acc2[1] += av.y * bu; acc2[2] += av.z * bu; acc2[3] += av.w * bu;" : ""}
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y * 4u + i;
    if (m >= M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x * 4u + j;
      if (n < N) { emit(m, n, acc[i][j], ${g ? "acc2[i][j]" : "0.0"}); }
    }
  }
}`;
  },
};
