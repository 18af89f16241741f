// specformer codegen golden: WGSL of tiny_gpt2 (compileWgsl at WebGPU's default limits and kernels, as build writes it)
//
// model tiny_gpt2; params batch, seq, src, pos, cap, zero, p1, p2; logits #1, vocab 101
//
// buffers: id kind dtype elements[×cap] name (weights: the tensors' row ranges) [(pinned, cleared on forward)]
//   #0   input      i32 1×R      tokens
//   #1   logits     f32 101×R    logits
//   #2   activation f32 128×R    decoder.0.mlp.act
//   #3   weight     f32 1024     position.weight
//   #4   weight     f32 3232     embed.tokens.weight
//   #5   activation f32 128×R    decoder.1.mlp.act
//   #6   weight     f32 32       decoder.0.attn_norm.bias
//   #7   weight     f32 32       decoder.0.attn_norm.weight
//   #8   activation f32 32×R     decoder.0.attn.q
//   #9   weight     f32 3072     decoder.0.attn.q.weight[0:32] + decoder.0.attn.k.weight[0:32] + decoder.0.attn.v.weight[0:32]
//   #10  weight     f32 96       decoder.0.attn.q.bias[0:32] + decoder.0.attn.k.bias[0:32] + decoder.0.attn.v.bias[0:32]
//   #11  kv         f32 32×K     decoder.0.attn.k
//   #12  kv         f32 32×K     decoder.0.attn.v
//   #13  scratch    f32 320×B    attention.partials
//   #14  weight     f32 1024     decoder.0.attn.o.weight
//   #15  weight     f32 32       decoder.0.attn.o.bias
//   #16  weight     f32 32       decoder.0.mlp_norm.bias
//   #17  weight     f32 32       decoder.0.mlp_norm.weight
//   #18  weight     f32 4096     decoder.0.mlp.up.weight
//   #19  weight     f32 128      decoder.0.mlp.up.bias
//   #20  weight     f32 4096     decoder.0.mlp.down.weight
//   #21  weight     f32 32       decoder.0.mlp.down.bias
//   #22  weight     f32 32       decoder.1.attn_norm.bias
//   #23  weight     f32 32       decoder.1.attn_norm.weight
//   #24  weight     f32 3072     decoder.1.attn.q.weight[0:32] + decoder.1.attn.k.weight[0:32] + decoder.1.attn.v.weight[0:32]
//   #25  weight     f32 96       decoder.1.attn.q.bias[0:32] + decoder.1.attn.k.bias[0:32] + decoder.1.attn.v.bias[0:32]
//   #26  kv         f32 32×K     decoder.1.attn.k
//   #27  kv         f32 32×K     decoder.1.attn.v
//   #28  weight     f32 1024     decoder.1.attn.o.weight
//   #29  weight     f32 32       decoder.1.attn.o.bias
//   #30  weight     f32 32       decoder.1.mlp_norm.bias
//   #31  weight     f32 32       decoder.1.mlp_norm.weight
//   #32  weight     f32 4096     decoder.1.mlp.up.weight
//   #33  weight     f32 128      decoder.1.mlp.up.bias
//   #34  weight     f32 4096     decoder.1.mlp.down.weight
//   #35  weight     f32 32       decoder.1.mlp.down.bias
//   #36  weight     f32 32       norm.0.bias
//   #37  weight     f32 32       norm.0.weight
//
// inputs:
//   tokens → #0 (ids over seq)
//
// dispatches: phase kernel [when] grid (x, y, z) bindings 1..n: label
//   step   embed_0 (32·rows/64, 1, 1) flat #0 #4 #3 #2: position
//   step   norm_1 (rows, 1, 1) flat #2 #7 #6 #5: decoder.0.attn_norm
//   step   matmul_2 [seq > 1] (2, rows/64, 1) #5 #9 #10 #8 #11 #12: decoder.0.attn.q
//   step   matmul_3 [seq = 1] (1, rows, 1) #5 #9 #10 #8 #11 #12: decoder.0.attn.q
//   step   attention_4 [seq > 1] (seq/32, 4, batch) #8 #11 #12 #5: decoder.0.attn.scores
//   step   decode_5 [seq = 1] (8, 4, batch) #8 #11 #12 #13: decoder.0.attn.scores.split
//   step   combine_6 [seq = 1] (4·batch, 1, 1) #13 #5: decoder.0.attn.scores.merge
//   step   matmul_7 [seq > 1] (1, rows/64, 1) #5 #14 #15 #2 #8: decoder.0.attn.residual
//   step   matmul_8 [seq = 1] (1, rows, 1) #5 #14 #15 #2 #8: decoder.0.attn.residual
//   step   norm_1 (rows, 1, 1) flat #8 #17 #16 #5: decoder.0.mlp_norm
//   step   matmul_9 [seq > 1] (2, rows/64, 1) #5 #18 #19 #2: decoder.0.mlp.act
//   step   matmul_10 [seq = 1] (1, rows, 1) #5 #18 #19 #2: decoder.0.mlp.act
//   step   matmul_11 [seq > 1] (1, rows/64, 1) #2 #20 #21 #8 #5: decoder.0.mlp.residual
//   step   matmul_12 [seq = 1] (1, rows, 1) #2 #20 #21 #8 #5: decoder.0.mlp.residual
//   step   norm_1 (rows, 1, 1) flat #5 #23 #22 #8: decoder.1.attn_norm
//   step   matmul_2 [seq > 1] (2, rows/64, 1) #8 #24 #25 #2 #26 #27: decoder.1.attn.q
//   step   matmul_3 [seq = 1] (1, rows, 1) #8 #24 #25 #2 #26 #27: decoder.1.attn.q
//   step   attention_4 [seq > 1] (seq/32, 4, batch) #2 #26 #27 #8: decoder.1.attn.scores
//   step   decode_5 [seq = 1] (8, 4, batch) #2 #26 #27 #13: decoder.1.attn.scores.split
//   step   combine_6 [seq = 1] (4·batch, 1, 1) #13 #8: decoder.1.attn.scores.merge
//   step   matmul_7 [seq > 1] (1, rows/64, 1) #8 #28 #29 #5 #2: decoder.1.attn.residual
//   step   matmul_8 [seq = 1] (1, rows, 1) #8 #28 #29 #5 #2: decoder.1.attn.residual
//   step   norm_1 (rows, 1, 1) flat #2 #31 #30 #8: decoder.1.mlp_norm
//   step   matmul_9 [seq > 1] (2, rows/64, 1) #8 #32 #33 #5: decoder.1.mlp.act
//   step   matmul_10 [seq = 1] (1, rows, 1) #8 #32 #33 #5: decoder.1.mlp.act
//   step   matmul_11 [seq > 1] (1, rows/64, 1) #5 #34 #35 #2 #8: decoder.1.mlp.residual
//   step   matmul_12 [seq = 1] (1, rows, 1) #5 #34 #35 #2 #8: decoder.1.mlp.residual
//   step   norm_1 (rows, 1, 1) flat #8 #37 #36 #5: norm.0
//   step   matmul_13 [seq > 1] (2, rows/64, 1) #5 #4 #1: logits
//   step   matmul_14 [seq = 1] (1, rows, 1) #5 #4 #1: logits

// ---- attention_4 (bindings read read read rw; workgroup 32; 4096 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<VT>;
@group(0) @binding(2) var<storage, read> K: array<VT>;
@group(0) @binding(3) var<storage, read> V: array<VT>;
@group(0) @binding(4) var<storage, read_write> O: array<VT>;
const H = 4u;
const KVH = 4u;
const G = 1u;
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

// ---- combine_6 (bindings read rw; workgroup 64; 0 B workgroup memory)
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

// ---- decode_5 (bindings read read read rw; workgroup 64; 544 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read_write> Part: array<f32>;
const H = 4u;
const KVH = 4u;
const G = 1u;
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

// ---- embed_0 (bindings read read read rw; workgroup 64; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Ids: array<i32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read> PT: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
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
  let p = P.pos + r % P.seq;
  v = v + PT[p * D + c];
  Y[i] = v;
}

// ---- matmul_2 (bindings read read read rw rw rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y1: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y2: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 96u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  if (c < 32u) { Y0[m * 32u + c - 0u] = v; }
  else if (c < 64u) { Y1[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 32u + c - 32u] = v; }
  else if (c < 96u) { Y2[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 32u + c - 64u] = v; }
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

// ---- matmul_3 (bindings read read read rw rw rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y1: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y2: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 96u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  if (c < 32u) { Y0[m * 32u + c - 0u] = v; }
  else if (c < 64u) { Y1[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 32u + c - 32u] = v; }
  else if (c < 96u) { Y2[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 32u + c - 64u] = v; }
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

// ---- matmul_7 (bindings read read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
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

// ---- matmul_8 (bindings read read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
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

// ---- matmul_9 (bindings read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 128u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }

fn act_f(x: f32) -> f32 { let u = 0.7978845608028654 * (x + 0.044715 * x * x * x); return 0.5 * x * (1.0 + tanh(clamp(u, -10.0, 10.0))); }
fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = act_f(v);
  Y0[m * 128u + c - 0u] = v;
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

// ---- matmul_10 (bindings read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 128u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }

fn act_f(x: f32) -> f32 { let u = 0.7978845608028654 * (x + 0.044715 * x * x * x); return 0.5 * x * (1.0 + tanh(clamp(u, -10.0, 10.0))); }
fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = act_f(v);
  Y0[m * 128u + c - 0u] = v;
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

// ---- matmul_11 (bindings read read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y0: array<f32>;
const K = 128u;
const K4 = 32u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
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

// ---- matmul_12 (bindings read read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y0: array<f32>;
const K = 128u;
const K4 = 32u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
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

// ---- matmul_13 (bindings read read rw; workgroup 64; 16384 B workgroup memory)
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

// ---- matmul_14 (bindings read read rw; workgroup 32; 0 B workgroup memory)
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

// ---- norm_1 (bindings read read read rw; workgroup 32; 256 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> Bt: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
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
  var s = 0.0;
  for (var i = t; i < D; i += WG) { s += X[base + i]; }
  let mean = total_mean(s, t) / f32(D);
  var q = 0.0;
  for (var i = t; i < D; i += WG) { let d = X[base + i] - mean; q += d * d; }
  let inv = 1.0 / sqrt(total_sq(q, t) / f32(D) + EPS);
  for (var i = t; i < D; i += WG) { Y[base + i] = (X[base + i] - mean) * inv * G[i] + Bt[i]; }
}
