// One query row per (batch, head) — the incremental-decoding case — leaves the flash kernel's
// 32-row workgroups almost idle. Split-KV instead: NSPLIT workgroups per (batch, head) each
// take a slice of the visible keys, the 64 threads of one share the keys of a tile, and each
// slice leaves a partial (max, sum, accumulator) that a second kernel merges.

import { Bindings, kernel, u32, type Kernel } from "../wgsl.ts";
import { IEEE_ROWS, NEG, attentionCommon, keyGeometry, keyRangeOf, kvRow, maskAt, scoreOf, type AttentionSpec } from "./attention.ts";

export const NSPLIT = 8;
const WG = 64;

/** Floats per partial: max, sum, headDim accumulators. */
export const partialSize = (s: AttentionSpec): number => s.heads * NSPLIT * (s.headDim + 2);

export function decodeKernel(s: AttentionSpec): Kernel {
  const b = new Bindings();
  b.add("Q", "read", "array<f32>");
  b.add("K", "read", "array<f32>");
  b.add("V", "read", "array<f32>");
  if (s.mask) b.add("Mk", "read", "array<u32>");
  b.add("Part", "rw", "array<f32>");
  const g = keyGeometry(s);
  const cpt = Math.ceil(s.headDim / WG);
  const body = `${attentionCommon(s)}
const NSPLIT = ${u32(NSPLIT)};
const WG = ${u32(WG)};
const CPT = ${u32(cpt)};
var<workgroup> qs: array<f32, ${s.headDim}>;
var<workgroup> ss: array<f32, ${WG}>;
var<workgroup> ps: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let split = wg.x;
  let h = wg.y;
  let b = wg.z;
  let kvh = h / G;
  let kvlen = i32(${g.kvlen});
  let ks = ${g.stride};
  let i = i32(${g.q0});
  for (var c = t; c < HD; c += WG) { qs[c] = Q[(b * H + h) * HD + c] * SCALE; }
  let kr = ${keyRangeOf(s, "h", "i", "kvlen")};
  let chunk = (max(kr.y - kr.x, 0) + i32(NSPLIT) - 1) / i32(NSPLIT);
  let js = kr.x + i32(split) * chunk;
  let je = min(kr.y, js + chunk);
  var m = ${NEG};
  var l = 0.0;
  var seen = false;
  var poison = false;
  var acc: array<f32, ${cpt}>;
  workgroupBarrier();
  for (var j0 = js; j0 < je; j0 += i32(WG)) {
    let j = j0 + i32(t);
    var sv = ${NEG};
    if (j < je && visible(i, j)${s.mask ? ` && ${maskAt(s, "b", "ks", "j")} != 0u` : ""}) {
      let o = (${kvRow(s, "b", "ks", "j")} * KVH + kvh) * HD;
      var d = 0.0;
      for (var c = 0u; c < HD; c++) { d += qs[c] * K[o + c]; }
      sv = ${scoreOf(s, "d")} + bias_of(h, i, j);
    }
    ss[t] = sv;
    workgroupBarrier();
    var tmax = ${NEG};
    for (var e = 0u; e < WG; e++) {
      tmax = max(tmax, ss[e]);
      seen = seen || bitcast<u32>(ss[e]) != bitcast<u32>(${NEG});
      poison = poison || poisons(ss[e]);
    }
    let mn = max(m, tmax);
    ps[t] = select(0.0, exp(sv - mn), sv > ${NEG});
    workgroupBarrier();
    let cf = exp(m - mn);
    l = l * cf;
    for (var k = 0u; k < CPT; k++) { acc[k] = acc[k] * cf; }
    m = mn;
    for (var e = 0u; e < WG; e++) {
      let p = ps[e];
      if (p > 0.0) {
        l += p;
        let o = (${s.ring !== undefined ? "(b * ks + (u32(j0) + e) % ks)" : "(b * ks + u32(j0) + e)"} * KVH + kvh) * HD;
        for (var k = 0u; k < CPT; k++) {
          let c = t + k * WG;
          if (c < HD) { acc[k] += p * V[o + c]; }
        }
      }
    }
    workgroupBarrier();
  }
  let base = ((b * H + h) * NSPLIT + split) * (HD + 2u);
  if (t == 0u) {
    Part[base] = m;
    // The partial's sum carries the IEEE rule to the merge: NaN poisons, -1 means visible keys all at -inf.
    Part[base + 1u] = select(select(l, -1.0, seen && !(l > 0.0)), nan_of(0x7fc00000u), poison);
  }
  for (var k = 0u; k < CPT; k++) {
    let c = t + k * WG;
    if (c < HD) { Part[base + 2u + c] = acc[k]; }
  }
}`;
  return kernel(b, body, WG, (s.headDim + 2 * WG) * 4);
}

/** Merges the NSPLIT partials of each (batch, head) into the output row. */
export function combineKernel(s: AttentionSpec): Kernel {
  const b = new Bindings();
  b.add("Part", "read", "array<f32>");
  b.add("O", "rw", "array<f32>");
  const body = `
const H = ${u32(s.heads)};
const HD = ${u32(s.headDim)};
const NSPLIT = ${u32(NSPLIT)};
${IEEE_ROWS}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let bh = wg.x;
  let base = bh * NSPLIT * (HD + 2u);
  var mx = ${NEG};
  var seen = false;
  var poison = false;
  for (var s = 0u; s < NSPLIT; s++) {
    let o = base + s * (HD + 2u);
    if (Part[o + 1u] > 0.0) { mx = max(mx, Part[o]); }
    seen = seen || Part[o + 1u] == -1.0;
    poison = poison || is_nan(Part[o + 1u]);
  }
  var den = 0.0;
  for (var s = 0u; s < NSPLIT; s++) {
    let o = base + s * (HD + 2u);
    if (Part[o + 1u] > 0.0) { den += exp(Part[o] - mx) * Part[o + 1u]; }
  }
  for (var c = t; c < HD; c += ${WG}u) {
    var num = 0.0;
    for (var s = 0u; s < NSPLIT; s++) {
      let o = base + s * (HD + 2u);
      if (Part[o + 1u] > 0.0) { num += exp(Part[o] - mx) * Part[o + 2u + c]; }
    }
    O[bh * HD + c] = num * row_scale(den, seen, poison);
  }
}`;
  return kernel(b, body, WG, 0);
}
