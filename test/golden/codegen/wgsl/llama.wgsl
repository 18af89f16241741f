// specformer codegen golden: WGSL of tiny_llama (compileWgsl at WebGPU's default limits and kernels, as build writes it)
//
// model tiny_llama; params batch, seq, src, pos, cap, zero, p1, p2; logits #1, vocab 101
//
// buffers: id kind dtype elements[×cap] name (weights: the tensors' row ranges) [(pinned, cleared on forward)]
//   #0   input      i32 1×R      tokens
//   #1   logits     f32 101×R    logits
//   #2   activation f32 88×R     decoder.0.mlp.act
//   #3   weight     f32 3232     embed.tokens.weight
//   #4   activation f32 88×R     decoder.1.mlp.act
//   #5   weight     f32 32       decoder.0.attn_norm.weight
//   #6   activation f32 32×R     decoder.0.attn.q
//   #7   weight     f32 2048     decoder.0.attn.q.weight[0:32] + decoder.0.attn.k.weight[0:16] + decoder.0.attn.v.weight[0:16]
//   #8   kv         f32 16×K     decoder.0.attn.k
//   #9   kv         f32 16×K     decoder.0.attn.v
//   #10  scratch    f32 320×B    attention.partials
//   #11  weight     f32 1024     decoder.0.attn.o.weight
//   #12  weight     f32 32       decoder.0.mlp_norm.weight
//   #13  weight     f32 2816     decoder.0.mlp.gate.weight
//   #14  weight     f32 2816     decoder.0.mlp.up.weight
//   #15  weight     f32 2816     decoder.0.mlp.down.weight
//   #16  weight     f32 32       decoder.1.attn_norm.weight
//   #17  weight     f32 2048     decoder.1.attn.q.weight[0:32] + decoder.1.attn.k.weight[0:16] + decoder.1.attn.v.weight[0:16]
//   #18  kv         f32 16×K     decoder.1.attn.k
//   #19  kv         f32 16×K     decoder.1.attn.v
//   #20  weight     f32 1024     decoder.1.attn.o.weight
//   #21  weight     f32 32       decoder.1.mlp_norm.weight
//   #22  weight     f32 2816     decoder.1.mlp.gate.weight
//   #23  weight     f32 2816     decoder.1.mlp.up.weight
//   #24  weight     f32 2816     decoder.1.mlp.down.weight
//   #25  weight     f32 32       norm.0.weight
//   #26  weight     f32 3232     head.weight
//
// inputs:
//   tokens → #0 (ids over seq)
//
// dispatches: phase kernel [when] grid (x, y, z) bindings 1..n: label
//   step   embed_0 (32·rows/64, 1, 1) flat #0 #3 #2: embed.tokens
//   step   norm_1 (rows, 1, 1) flat #2 #5 #4: decoder.0.attn_norm
//   step   matmul_2 [seq > 1] (1, rows/64, 1) #4 #7 #6 #8 #9: decoder.0.attn.q
//   step   matmul_3 [seq = 1] (1, rows, 1) #4 #7 #6 #8 #9: decoder.0.attn.q
//   step   rope_4 (24·rows/64, 1, 1) flat #6 #8: decoder.0.attn.q.rope
//   step   attention_5 [seq > 1] (seq/32, 4, batch) #6 #8 #9 #4: decoder.0.attn.scores
//   step   decode_6 [seq = 1] (8, 4, batch) #6 #8 #9 #10: decoder.0.attn.scores.split
//   step   combine_7 [seq = 1] (4·batch, 1, 1) #10 #4: decoder.0.attn.scores.merge
//   step   matmul_8 [seq > 1] (1, rows/64, 1) #4 #11 #2 #6: decoder.0.attn.residual
//   step   matmul_9 [seq = 1] (1, rows, 1) #4 #11 #2 #6: decoder.0.attn.residual
//   step   norm_1 (rows, 1, 1) flat #6 #12 #4: decoder.0.mlp_norm
//   step   matmul_10 [seq > 1] (3, rows/64, 1) #4 #13 #14 #2: decoder.0.mlp.act
//   step   matmul_11 [seq = 1] (1, rows, 1) #4 #13 #14 #2: decoder.0.mlp.act
//   step   matmul_12 [seq > 1] (1, rows/64, 1) #2 #15 #6 #4: decoder.0.mlp.residual
//   step   matmul_13 [seq = 1] (1, rows, 1) #2 #15 #6 #4: decoder.0.mlp.residual
//   step   norm_1 (rows, 1, 1) flat #4 #16 #6: decoder.1.attn_norm
//   step   matmul_2 [seq > 1] (1, rows/64, 1) #6 #17 #2 #18 #19: decoder.1.attn.q
//   step   matmul_3 [seq = 1] (1, rows, 1) #6 #17 #2 #18 #19: decoder.1.attn.q
//   step   rope_4 (24·rows/64, 1, 1) flat #2 #18: decoder.1.attn.q.rope
//   step   attention_5 [seq > 1] (seq/32, 4, batch) #2 #18 #19 #6: decoder.1.attn.scores
//   step   decode_6 [seq = 1] (8, 4, batch) #2 #18 #19 #10: decoder.1.attn.scores.split
//   step   combine_7 [seq = 1] (4·batch, 1, 1) #10 #6: decoder.1.attn.scores.merge
//   step   matmul_8 [seq > 1] (1, rows/64, 1) #6 #20 #4 #2: decoder.1.attn.residual
//   step   matmul_9 [seq = 1] (1, rows, 1) #6 #20 #4 #2: decoder.1.attn.residual
//   step   norm_1 (rows, 1, 1) flat #2 #21 #6: decoder.1.mlp_norm
//   step   matmul_10 [seq > 1] (3, rows/64, 1) #6 #22 #23 #4: decoder.1.mlp.act
//   step   matmul_11 [seq = 1] (1, rows, 1) #6 #22 #23 #4: decoder.1.mlp.act
//   step   matmul_12 [seq > 1] (1, rows/64, 1) #4 #24 #2 #6: decoder.1.mlp.residual
//   step   matmul_13 [seq = 1] (1, rows, 1) #4 #24 #2 #6: decoder.1.mlp.residual
//   step   norm_1 (rows, 1, 1) flat #6 #25 #4: norm.0
//   step   matmul_14 [seq > 1] (2, rows/64, 1) #4 #26 #1: logits
//   step   matmul_15 [seq = 1] (1, rows, 1) #4 #26 #1: logits

// ---- attention_5 (bindings read read read rw; workgroup 32; 4096 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<VT>;
@group(0) @binding(2) var<storage, read> K: array<VT>;
@group(0) @binding(3) var<storage, read> V: array<VT>;
@group(0) @binding(4) var<storage, read_write> O: array<VT>;
const H = 4u;
const KVH = 2u;
const G = 2u;
const HD = 8u;
const NV = 2u;
const SCALE = 0.3535533845424652f;
alias VT = vec4<f32>;
fn vdot(a: VT, b: VT) -> f32 { return dot(a, b); }
fn key_range(i: i32, kvlen: i32) -> vec2<i32> {
  var lo = 0;
  var hi = kvlen;
  hi = min(hi, i + 1);
  return vec2<i32>(lo, hi);
}
fn visible(i: i32, j: i32) -> bool { return true; }
fn bias_of(h: u32, i: i32, j: i32) -> f32 { return 0.0; }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn poisons(x: f32) -> bool { return is_nan(x) || bitcast<u32>(x) == 0x7f800000u; }
fn nan_of(u: u32) -> f32 { return bitcast<f32>(u); }
fn row_scale(l: f32, seen: bool, poison: bool) -> f32 { return select(select(0.0, 1.0 / l, l > 0.0), nan_of(0x7fc00000u), poison || (seen && !(l > 0.0))); }
const BQ = 32u;
const BK = 64u;
var<private> q: array<VT, NV>;
var<private> acc: array<VT, NV>;
var<private> m: f32;
var<private> l: f32;
var<private> seen: bool;
var<private> poison: bool;

var<workgroup> Ks: array<VT, 64 * NV>;
var<workgroup> Vs: array<VT, 64 * NV>;

fn run_tiles(t: u32, valid: bool, b: u32, h: u32, kvh: u32, i: i32, first: i32, last: i32, kvlen: i32, ks: u32) {
  // The union of the rows' [lo, hi) ranges; both ends are uniform across the workgroup.
  let jr = vec2<i32>(key_range(first, kvlen).x, key_range(last, kvlen).y);
  for (var j0 = (jr.x / i32(BK)) * i32(BK); j0 < jr.y; j0 += i32(BK)) {
    if (false) { continue; }
    for (var e = t; e < BK * NV; e += BQ) {
      let j = j0 + i32(e / NV);
      var kv = VT(0.0);
      var vv = VT(0.0);
      if (j < kvlen) {
        let o = ((b * ks + u32(j)) * KVH + kvh) * NV + e % NV;
        kv = K[o];
        vv = V[o];
      }
      Ks[e] = kv;
      Vs[e] = vv;
    }
    
    workgroupBarrier();
    if (valid) {
      let kr = key_range(i, kvlen);
      var sc: array<f32, 64>;
      var tmax = -3.0e38f;
      for (var jj = 0u; jj < BK; jj++) {
        let j = j0 + i32(jj);
        var sv = -3.0e38f;
        if (j >= kr.x && j < kr.y && visible(i, j)) {
          var d = 0.0;
          for (var c = 0u; c < NV; c++) { d += vdot(q[c], Ks[jj * NV + c]); }
          sv = d + bias_of(h, i, j);
          seen = true;
          poison = poison || poisons(sv);
          tmax = max(tmax, sv);
        }
        sc[jj] = sv;
      }
      if (tmax > -3.0e38f) {
        let mn = max(m, tmax);
        let cf = exp(m - mn);
        l = l * cf;
        for (var c = 0u; c < NV; c++) { acc[c] = acc[c] * cf; }
        m = mn;
        for (var jj = 0u; jj < BK; jj++) {
          if (sc[jj] > -3.0e38f) {
            let p = exp(sc[jj] - m);
            l += p;
            for (var c = 0u; c < NV; c++) { acc[c] += p * Vs[jj * NV + c]; }
          }
        }
      }
    }
    workgroupBarrier();
  }
}
@compute @workgroup_size(32)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let h = wg.y;
  let b = wg.z;
  let kvh = h / G;
  let qlen = P.seq;
  let kvlen = i32((P.pos + P.seq));
  let ks = P.cap;
  let q0 = i32(P.pos);
  let r = wg.x * BQ + t;
  let valid = r < qlen;
  let i = q0 + i32(r);
  let qo = ((b * qlen + r) * H + h) * NV;
  m = -3.0e38f;
  l = 0.0;
  seen = false;
  poison = false;
  for (var c = 0u; c < NV; c++) {
    acc[c] = VT(0.0);
    if (valid) { q[c] = Q[qo + c] * SCALE; }
  }
  let first = q0 + i32(wg.x * BQ);
  let last = q0 + i32(min(wg.x * BQ + BQ, qlen)) - 1;
  run_tiles(t, valid, b, h, kvh, i, first, last, kvlen, ks);
  if (valid) {
    let inv = row_scale(l, seen, poison);
    for (var c = 0u; c < NV; c++) { O[qo + c] = acc[c] * inv; }
  }
}

// ---- combine_7 (bindings read rw; workgroup 64; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Part: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
const H = 4u;
const HD = 8u;
const NSPLIT = 8u;
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn poisons(x: f32) -> bool { return is_nan(x) || bitcast<u32>(x) == 0x7f800000u; }
fn nan_of(u: u32) -> f32 { return bitcast<f32>(u); }
fn row_scale(l: f32, seen: bool, poison: bool) -> f32 { return select(select(0.0, 1.0 / l, l > 0.0), nan_of(0x7fc00000u), poison || (seen && !(l > 0.0))); }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let bh = wg.x;
  let base = bh * NSPLIT * (HD + 2u);
  var mx = -3.0e38f;
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
  for (var c = t; c < HD; c += 64u) {
    var num = 0.0;
    for (var s = 0u; s < NSPLIT; s++) {
      let o = base + s * (HD + 2u);
      if (Part[o + 1u] > 0.0) { num += exp(Part[o] - mx) * Part[o + 2u + c]; }
    }
    O[bh * HD + c] = num * row_scale(den, seen, poison);
  }
}

// ---- decode_6 (bindings read read read rw; workgroup 64; 544 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read_write> Part: array<f32>;
const H = 4u;
const KVH = 2u;
const G = 2u;
const HD = 8u;
const NV = 2u;
const SCALE = 0.3535533845424652f;
alias VT = vec4<f32>;
fn vdot(a: VT, b: VT) -> f32 { return dot(a, b); }
fn key_range(i: i32, kvlen: i32) -> vec2<i32> {
  var lo = 0;
  var hi = kvlen;
  hi = min(hi, i + 1);
  return vec2<i32>(lo, hi);
}
fn visible(i: i32, j: i32) -> bool { return true; }
fn bias_of(h: u32, i: i32, j: i32) -> f32 { return 0.0; }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn poisons(x: f32) -> bool { return is_nan(x) || bitcast<u32>(x) == 0x7f800000u; }
fn nan_of(u: u32) -> f32 { return bitcast<f32>(u); }
fn row_scale(l: f32, seen: bool, poison: bool) -> f32 { return select(select(0.0, 1.0 / l, l > 0.0), nan_of(0x7fc00000u), poison || (seen && !(l > 0.0))); }
const NSPLIT = 8u;
const WG = 64u;
const CPT = 1u;
var<workgroup> qs: array<f32, 8>;
var<workgroup> ss: array<f32, 64>;
var<workgroup> ps: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let split = wg.x;
  let h = wg.y;
  let b = wg.z;
  let kvh = h / G;
  let kvlen = i32((P.pos + P.seq));
  let ks = P.cap;
  let i = i32(P.pos);
  for (var c = t; c < HD; c += WG) { qs[c] = Q[(b * H + h) * HD + c] * SCALE; }
  let kr = key_range(i, kvlen);
  let chunk = (max(kr.y - kr.x, 0) + i32(NSPLIT) - 1) / i32(NSPLIT);
  let js = kr.x + i32(split) * chunk;
  let je = min(kr.y, js + chunk);
  var m = -3.0e38f;
  var l = 0.0;
  var seen = false;
  var poison = false;
  var acc: array<f32, 1>;
  workgroupBarrier();
  for (var j0 = js; j0 < je; j0 += i32(WG)) {
    let j = j0 + i32(t);
    var sv = -3.0e38f;
    if (j < je && visible(i, j)) {
      let o = ((b * ks + u32(j)) * KVH + kvh) * HD;
      var d = 0.0;
      for (var c = 0u; c < HD; c++) { d += qs[c] * K[o + c]; }
      sv = d + bias_of(h, i, j);
    }
    ss[t] = sv;
    workgroupBarrier();
    var tmax = -3.0e38f;
    for (var e = 0u; e < WG; e++) {
      tmax = max(tmax, ss[e]);
      seen = seen || bitcast<u32>(ss[e]) != bitcast<u32>(-3.0e38f);
      poison = poison || poisons(ss[e]);
    }
    let mn = max(m, tmax);
    ps[t] = select(0.0, exp(sv - mn), sv > -3.0e38f);
    workgroupBarrier();
    let cf = exp(m - mn);
    l = l * cf;
    for (var k = 0u; k < CPT; k++) { acc[k] = acc[k] * cf; }
    m = mn;
    for (var e = 0u; e < WG; e++) {
      let p = ps[e];
      if (p > 0.0) {
        l += p;
        let o = ((b * ks + u32(j0) + e) * KVH + kvh) * HD;
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
}

// ---- embed_0 (bindings read read rw; workgroup 64; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Ids: array<i32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
const D = 32u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let i = (wg.x + wg.y * nwg.x) * 64u + t;
  if (i >= P.batch * P.seq * D) { return; }
  let r = i / D;
  let c = i % D;
  let id = Ids[r];
  if (id < 0 || id >= 101) { return; }
  var v = T[u32(id - 0) * D + c] * 1.0f;
  Y[i] = v;
}

// ---- matmul_2 (bindings read read rw rw rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Y0: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y1: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y2: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 64u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a;
  if (c < 32u) { Y0[m * 32u + c - 0u] = v; }
  else if (c < 48u) { Y1[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 16u + c - 32u] = v; }
  else if (c < 64u) { Y2[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 16u + c - 48u] = v; }
}

const BK4 = 8u;
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * P.seq;
  var acc: array<array<f32, 8>, 8>;
  
  for (var k0 = 0u; k0 < K4; k0 += BK4) {
    for (var e = li; e < 64u * BK4; e += 64u) {
      let k4 = k0 + e % BK4;
      As[e] = select(vec4<f32>(0.0), load_x(min(wg.y * 64u + e / BK4, M - 1u), min(k4, K4 - 1u)), k4 < K4);
    }
    for (var e = li; e < 64u * BK4; e += 64u) {
      let k4 = k0 + e % BK4;
      let r = min(wg.x * 64u + e / BK4, N - 1u);
      Bs[e] = select(vec4<f32>(0.0), load_w(r, min(k4, K4 - 1u)), k4 < K4);
      
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK4; kk++) {
      var a: array<vec4<f32>, 8>;
      for (var i = 0u; i < 8u; i++) { a[i] = As[(lid.y * 8u + i) * BK4 + kk]; }
      for (var j = 0u; j < 8u; j++) {
        let b = Bs[(lid.x * 8u + j) * BK4 + kk];
        
        for (var i = 0u; i < 8u; i++) {
          acc[i][j] += dot(a[i], b);
          
        }
      }
    }
    workgroupBarrier();
  }
  let m0 = wg.y * 64u + lid.y * 8u;
  let n0 = wg.x * 64u + lid.x * 8u;
  var res: array<f32, 64>;
  
  for (var i = 0u; i < 8u; i++) {
    for (var j = 0u; j < 8u; j++) {
      res[i * 8u + j] = acc[i][j];
      
    }
  }
  for (var e = 0u; e < (64u + P.zero); e++) {
    let m = m0 + e / 8u;
    let n = n0 + e % 8u;
    if (m < M && n < N) { emit(m, n, res[e], 0.0); }
  }
}

// ---- matmul_3 (bindings read read rw rw rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Y0: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y1: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y2: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 64u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a;
  if (c < 32u) { Y0[m * 32u + c - 0u] = v; }
  else if (c < 48u) { Y1[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 16u + c - 32u] = v; }
  else if (c < 64u) { Y2[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 16u + c - 48u] = v; }
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * P.seq;
  let m0 = gid.y;
  let n0 = gid.x * 4u;
  if (m0 >= M || n0 >= N) { return; }
  var acc: array<array<f32, 4>, 1>;
  
  for (var kk = 0u; kk < K4; kk++) {
      var a: array<vec4<f32>, 1>;
      for (var i = 0u; i < 1u; i++) { a[i] = load_x(m0, kk); }
      for (var j = 0u; j < 4u; j++) {
        let b = load_w(min(n0 + j, N - 1u), kk);
        
        for (var i = 0u; i < 1u; i++) {
          acc[i][j] += dot(a[i], b);
          
        }
      }
  }
  var res: array<f32, 4>;
  
  for (var i = 0u; i < 1u; i++) {
    for (var j = 0u; j < 4u; j++) {
      res[i * 4u + j] = acc[i][j];
      
    }
  }
  for (var e = 0u; e < (4u + P.zero); e++) {
    let m = m0 + e / 4u;
    let n = n0 + e % 4u;
    if (m < M && n < N) { emit(m, n, res[e], 0.0); }
  }
}

// ---- matmul_8 (bindings read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> R: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a;
  v = v + R[m * 32u + c];
  Y0[m * 32u + c - 0u] = v;
}

const BK4 = 8u;
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * P.seq;
  var acc: array<array<f32, 8>, 8>;
  
  for (var k0 = 0u; k0 < K4; k0 += BK4) {
    for (var e = li; e < 64u * BK4; e += 64u) {
      let k4 = k0 + e % BK4;
      As[e] = select(vec4<f32>(0.0), load_x(min(wg.y * 64u + e / BK4, M - 1u), min(k4, K4 - 1u)), k4 < K4);
    }
    for (var e = li; e < 64u * BK4; e += 64u) {
      let k4 = k0 + e % BK4;
      let r = min(wg.x * 64u + e / BK4, N - 1u);
      Bs[e] = select(vec4<f32>(0.0), load_w(r, min(k4, K4 - 1u)), k4 < K4);
      
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK4; kk++) {
      var a: array<vec4<f32>, 8>;
      for (var i = 0u; i < 8u; i++) { a[i] = As[(lid.y * 8u + i) * BK4 + kk]; }
      for (var j = 0u; j < 8u; j++) {
        let b = Bs[(lid.x * 8u + j) * BK4 + kk];
        
        for (var i = 0u; i < 8u; i++) {
          acc[i][j] += dot(a[i], b);
          
        }
      }
    }
    workgroupBarrier();
  }
  let m0 = wg.y * 64u + lid.y * 8u;
  let n0 = wg.x * 64u + lid.x * 8u;
  var res: array<f32, 64>;
  
  for (var i = 0u; i < 8u; i++) {
    for (var j = 0u; j < 8u; j++) {
      res[i * 8u + j] = acc[i][j];
      
    }
  }
  for (var e = 0u; e < (64u + P.zero); e++) {
    let m = m0 + e / 8u;
    let n = n0 + e % 8u;
    if (m < M && n < N) { emit(m, n, res[e], 0.0); }
  }
}

// ---- matmul_9 (bindings read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> R: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a;
  v = v + R[m * 32u + c];
  Y0[m * 32u + c - 0u] = v;
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * P.seq;
  let m0 = gid.y;
  let n0 = gid.x * 4u;
  if (m0 >= M || n0 >= N) { return; }
  var acc: array<array<f32, 4>, 1>;
  
  for (var kk = 0u; kk < K4; kk++) {
      var a: array<vec4<f32>, 1>;
      for (var i = 0u; i < 1u; i++) { a[i] = load_x(m0, kk); }
      for (var j = 0u; j < 4u; j++) {
        let b = load_w(min(n0 + j, N - 1u), kk);
        
        for (var i = 0u; i < 1u; i++) {
          acc[i][j] += dot(a[i], b);
          
        }
      }
  }
  var res: array<f32, 4>;
  
  for (var i = 0u; i < 1u; i++) {
    for (var j = 0u; j < 4u; j++) {
      res[i * 4u + j] = acc[i][j];
      
    }
  }
  for (var e = 0u; e < (4u + P.zero); e++) {
    let m = m0 + e / 4u;
    let n = n0 + e % 4u;
    if (m < M && n < N) { emit(m, n, res[e], 0.0); }
  }
}

// ---- matmul_10 (bindings read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> W2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 88u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }
fn load_w2(r: u32, k4: u32) -> vec4<f32> { return W2[r * K4 + k4]; }
fn act_f(x: f32) -> f32 { return x / (1.0 + exp(min(-x, 80.0))); }
fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  let gate = a;
  let up = a2;
  var v = act_f(gate) * up;
  Y0[m * 88u + c - 0u] = v;
}

const BK4 = 8u;
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 256>;
var<workgroup> Bs2: array<vec4<f32>, 256>;
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * P.seq;
  var acc: array<array<f32, 4>, 8>;
  var acc2: array<array<f32, 4>, 8>;
  for (var k0 = 0u; k0 < K4; k0 += BK4) {
    for (var e = li; e < 64u * BK4; e += 64u) {
      let k4 = k0 + e % BK4;
      As[e] = select(vec4<f32>(0.0), load_x(min(wg.y * 64u + e / BK4, M - 1u), min(k4, K4 - 1u)), k4 < K4);
    }
    for (var e = li; e < 32u * BK4; e += 64u) {
      let k4 = k0 + e % BK4;
      let r = min(wg.x * 32u + e / BK4, N - 1u);
      Bs[e] = select(vec4<f32>(0.0), load_w(r, min(k4, K4 - 1u)), k4 < K4);
      Bs2[e] = select(vec4<f32>(0.0), load_w2(r, min(k4, K4 - 1u)), k4 < K4);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK4; kk++) {
      var a: array<vec4<f32>, 8>;
      for (var i = 0u; i < 8u; i++) { a[i] = As[(lid.y * 8u + i) * BK4 + kk]; }
      for (var j = 0u; j < 4u; j++) {
        let b = Bs[(lid.x * 4u + j) * BK4 + kk];
        let b2 = Bs2[(lid.x * 4u + j) * BK4 + kk];
        for (var i = 0u; i < 8u; i++) {
          acc[i][j] += dot(a[i], b);
          acc2[i][j] += dot(a[i], b2);
        }
      }
    }
    workgroupBarrier();
  }
  let m0 = wg.y * 64u + lid.y * 8u;
  let n0 = wg.x * 32u + lid.x * 4u;
  var res: array<f32, 32>;
  var res2: array<f32, 32>;
  for (var i = 0u; i < 8u; i++) {
    for (var j = 0u; j < 4u; j++) {
      res[i * 4u + j] = acc[i][j];
      res2[i * 4u + j] = acc2[i][j];
    }
  }
  for (var e = 0u; e < (32u + P.zero); e++) {
    let m = m0 + e / 4u;
    let n = n0 + e % 4u;
    if (m < M && n < N) { emit(m, n, res[e], res2[e]); }
  }
}

// ---- matmul_11 (bindings read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> W2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 88u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }
fn load_w2(r: u32, k4: u32) -> vec4<f32> { return W2[r * K4 + k4]; }
fn act_f(x: f32) -> f32 { return x / (1.0 + exp(min(-x, 80.0))); }
fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  let gate = a;
  let up = a2;
  var v = act_f(gate) * up;
  Y0[m * 88u + c - 0u] = v;
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * P.seq;
  let m0 = gid.y;
  let n0 = gid.x * 4u;
  if (m0 >= M || n0 >= N) { return; }
  var acc: array<array<f32, 4>, 1>;
  var acc2: array<array<f32, 4>, 1>;
  for (var kk = 0u; kk < K4; kk++) {
      var a: array<vec4<f32>, 1>;
      for (var i = 0u; i < 1u; i++) { a[i] = load_x(m0, kk); }
      for (var j = 0u; j < 4u; j++) {
        let b = load_w(min(n0 + j, N - 1u), kk);
        let b2 = load_w2(min(n0 + j, N - 1u), kk);
        for (var i = 0u; i < 1u; i++) {
          acc[i][j] += dot(a[i], b);
          acc2[i][j] += dot(a[i], b2);
        }
      }
  }
  var res: array<f32, 4>;
  var res2: array<f32, 4>;
  for (var i = 0u; i < 1u; i++) {
    for (var j = 0u; j < 4u; j++) {
      res[i * 4u + j] = acc[i][j];
      res2[i * 4u + j] = acc2[i][j];
    }
  }
  for (var e = 0u; e < (4u + P.zero); e++) {
    let m = m0 + e / 4u;
    let n = n0 + e % 4u;
    if (m < M && n < N) { emit(m, n, res[e], res2[e]); }
  }
}

// ---- matmul_12 (bindings read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> R: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 88u;
const K4 = 22u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a;
  v = v + R[m * 32u + c];
  Y0[m * 32u + c - 0u] = v;
}

const BK4 = 8u;
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * P.seq;
  var acc: array<array<f32, 8>, 8>;
  
  for (var k0 = 0u; k0 < K4; k0 += BK4) {
    for (var e = li; e < 64u * BK4; e += 64u) {
      let k4 = k0 + e % BK4;
      As[e] = select(vec4<f32>(0.0), load_x(min(wg.y * 64u + e / BK4, M - 1u), min(k4, K4 - 1u)), k4 < K4);
    }
    for (var e = li; e < 64u * BK4; e += 64u) {
      let k4 = k0 + e % BK4;
      let r = min(wg.x * 64u + e / BK4, N - 1u);
      Bs[e] = select(vec4<f32>(0.0), load_w(r, min(k4, K4 - 1u)), k4 < K4);
      
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK4; kk++) {
      var a: array<vec4<f32>, 8>;
      for (var i = 0u; i < 8u; i++) { a[i] = As[(lid.y * 8u + i) * BK4 + kk]; }
      for (var j = 0u; j < 8u; j++) {
        let b = Bs[(lid.x * 8u + j) * BK4 + kk];
        
        for (var i = 0u; i < 8u; i++) {
          acc[i][j] += dot(a[i], b);
          
        }
      }
    }
    workgroupBarrier();
  }
  let m0 = wg.y * 64u + lid.y * 8u;
  let n0 = wg.x * 64u + lid.x * 8u;
  var res: array<f32, 64>;
  
  for (var i = 0u; i < 8u; i++) {
    for (var j = 0u; j < 8u; j++) {
      res[i * 8u + j] = acc[i][j];
      
    }
  }
  for (var e = 0u; e < (64u + P.zero); e++) {
    let m = m0 + e / 8u;
    let n = n0 + e % 8u;
    if (m < M && n < N) { emit(m, n, res[e], 0.0); }
  }
}

// ---- matmul_13 (bindings read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> R: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 88u;
const K4 = 22u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a;
  v = v + R[m * 32u + c];
  Y0[m * 32u + c - 0u] = v;
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * P.seq;
  let m0 = gid.y;
  let n0 = gid.x * 4u;
  if (m0 >= M || n0 >= N) { return; }
  var acc: array<array<f32, 4>, 1>;
  
  for (var kk = 0u; kk < K4; kk++) {
      var a: array<vec4<f32>, 1>;
      for (var i = 0u; i < 1u; i++) { a[i] = load_x(m0, kk); }
      for (var j = 0u; j < 4u; j++) {
        let b = load_w(min(n0 + j, N - 1u), kk);
        
        for (var i = 0u; i < 1u; i++) {
          acc[i][j] += dot(a[i], b);
          
        }
      }
  }
  var res: array<f32, 4>;
  
  for (var i = 0u; i < 1u; i++) {
    for (var j = 0u; j < 4u; j++) {
      res[i * 4u + j] = acc[i][j];
      
    }
  }
  for (var e = 0u; e < (4u + P.zero); e++) {
    let m = m0 + e / 4u;
    let n = n0 + e % 4u;
    if (m < M && n < N) { emit(m, n, res[e], 0.0); }
  }
}

// ---- matmul_14 (bindings read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 101u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a;
  Y0[m * 101u + c - 0u] = v;
}

const BK4 = 8u;
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * P.seq;
  var acc: array<array<f32, 8>, 8>;
  
  for (var k0 = 0u; k0 < K4; k0 += BK4) {
    for (var e = li; e < 64u * BK4; e += 64u) {
      let k4 = k0 + e % BK4;
      As[e] = select(vec4<f32>(0.0), load_x(min(wg.y * 64u + e / BK4, M - 1u), min(k4, K4 - 1u)), k4 < K4);
    }
    for (var e = li; e < 64u * BK4; e += 64u) {
      let k4 = k0 + e % BK4;
      let r = min(wg.x * 64u + e / BK4, N - 1u);
      Bs[e] = select(vec4<f32>(0.0), load_w(r, min(k4, K4 - 1u)), k4 < K4);
      
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK4; kk++) {
      var a: array<vec4<f32>, 8>;
      for (var i = 0u; i < 8u; i++) { a[i] = As[(lid.y * 8u + i) * BK4 + kk]; }
      for (var j = 0u; j < 8u; j++) {
        let b = Bs[(lid.x * 8u + j) * BK4 + kk];
        
        for (var i = 0u; i < 8u; i++) {
          acc[i][j] += dot(a[i], b);
          
        }
      }
    }
    workgroupBarrier();
  }
  let m0 = wg.y * 64u + lid.y * 8u;
  let n0 = wg.x * 64u + lid.x * 8u;
  var res: array<f32, 64>;
  
  for (var i = 0u; i < 8u; i++) {
    for (var j = 0u; j < 8u; j++) {
      res[i * 8u + j] = acc[i][j];
      
    }
  }
  for (var e = 0u; e < (64u + P.zero); e++) {
    let m = m0 + e / 8u;
    let n = n0 + e % 8u;
    if (m < M && n < N) { emit(m, n, res[e], 0.0); }
  }
}

// ---- matmul_15 (bindings read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 101u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a;
  Y0[m * 101u + c - 0u] = v;
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * P.seq;
  let m0 = gid.y;
  let n0 = gid.x * 4u;
  if (m0 >= M || n0 >= N) { return; }
  var acc: array<array<f32, 4>, 1>;
  
  for (var kk = 0u; kk < K4; kk++) {
      var a: array<vec4<f32>, 1>;
      for (var i = 0u; i < 1u; i++) { a[i] = load_x(m0, kk); }
      for (var j = 0u; j < 4u; j++) {
        let b = load_w(min(n0 + j, N - 1u), kk);
        
        for (var i = 0u; i < 1u; i++) {
          acc[i][j] += dot(a[i], b);
          
        }
      }
  }
  var res: array<f32, 4>;
  
  for (var i = 0u; i < 1u; i++) {
    for (var j = 0u; j < 4u; j++) {
      res[i * 4u + j] = acc[i][j];
      
    }
  }
  for (var e = 0u; e < (4u + P.zero); e++) {
    let m = m0 + e / 4u;
    let n = n0 + e % 4u;
    if (m < M && n < N) { emit(m, n, res[e], 0.0); }
  }
}

// ---- norm_1 (bindings read read rw; workgroup 32; 256 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
const D = 32u;
const WG = 32u;
const EPS = 0.000009999999747378752f;
var<workgroup> red_mean: array<f32, 32>;
fn total_mean(v: f32, t: u32) -> f32 {
  red_mean[t] = v;
  workgroupBarrier();
  for (var s = 16u; s > 0u; s = s / 2u) {
    if (t < s) { red_mean[t] = red_mean[t] + red_mean[t + s]; }
    workgroupBarrier();
  }
  return red_mean[0];
}
var<workgroup> red_sq: array<f32, 32>;
fn total_sq(v: f32, t: u32) -> f32 {
  red_sq[t] = v;
  workgroupBarrier();
  for (var s = 16u; s > 0u; s = s / 2u) {
    if (t < s) { red_sq[t] = red_sq[t] + red_sq[t + s]; }
    workgroupBarrier();
  }
  return red_sq[0];
}
@compute @workgroup_size(32)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = (wg.x + wg.y * nwg.x);
  if (row >= P.batch * P.seq) { return; }
  let base = row * D;
  let mean = 0.0;
  var q = 0.0;
  for (var i = t; i < D; i += WG) { let d = X[base + i] - mean; q += d * d; }
  let inv = 1.0 / sqrt(total_sq(q, t) / f32(D) + EPS);
  for (var i = t; i < D; i += WG) { Y[base + i] = (X[base + i] - mean) * inv * G[i]; }
}

// ---- rope_4 (bindings rw rw; workgroup 64; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> T0: array<f32>;
@group(0) @binding(2) var<storage, read_write> T1: array<f32>;
const HALF = 4u;
const SLOTS = 6u;
const INV_FREQ = array<f32, 4>(1.0f, 0.10000000149011612f, 0.009999999776482582f, 0.0010000000474974513f);
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let i = (wg.x + wg.y * nwg.x) * 64u + t;
  if (i >= P.batch * P.seq * SLOTS * HALF) { return; }
  let c = i % HALF;
  let h = (i / HALF) % SLOTS;
  let m = i / (HALF * SLOTS);
  let th = f32(P.pos + m % P.seq) * INV_FREQ[c];
  let cs = cos(th);
  let sn = sin(th);
  if (h < 4u) {
    let o = m * 32u + (h - 0u) * 8u + c;
    let x1 = T0[o];
    let x2 = T0[o + HALF];
    T0[o] = x1 * cs - x2 * sn;
    T0[o + HALF] = x2 * cs + x1 * sn;
  } else if (h < 6u) {
    let o = ((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 16u + (h - 4u) * 8u + c;
    let x1 = T1[o];
    let x2 = T1[o + HALF];
    T1[o] = x1 * cs - x2 * sn;
    T1[o + HALF] = x2 * cs + x1 * sn;
  }
}
