// specformer codegen golden: WGSL of tiny_linear (compileWgsl at WebGPU's default limits and kernels, as build writes it)
//
// model tiny_linear; params batch, seq, src, pos, cap, zero, p1, p2; logits #1, vocab 101
//
// buffers: id kind dtype elements[×cap] name (weights: the tensors' row ranges) [(pinned, cleared on forward)]
//   #0   input      i32 1×R      tokens
//   #1   logits     f32 101×R    logits
//   #2   activation f32 32×R     position
//   #3   weight     f32 3232     embed.tokens.weight
//   #4   activation f32 32×R     decoder.0.attn_norm
//   #5   weight     f32 32       decoder.0.attn_norm.bias
//   #6   weight     f32 32       decoder.0.attn_norm.weight
//   #7   activation f32 32×R     decoder.0.attn.q
//   #8   activation f32 32×R     decoder.0.attn.k
//   #9   activation f32 128×R    decoder.0.mlp.act
//   #10  weight     f32 3072     decoder.0.attn.q.weight[0:32] + decoder.0.attn.k.weight[0:32] + decoder.0.attn.v.weight[0:32]
//   #11  weight     f32 96       decoder.0.attn.q.bias[0:32] + decoder.0.attn.k.bias[0:32] + decoder.0.attn.v.bias[0:32]
//   #12  state      f32 256×B    decoder.0.attn.S (cleared on forward)
//   #13  state      f32 32×B     decoder.0.attn.z (cleared on forward)
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
//   #26  state      f32 256×B    decoder.1.attn.S (cleared on forward)
//   #27  state      f32 32×B     decoder.1.attn.z (cleared on forward)
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
//   step   embed_0 (32·rows/64, 1, 1) flat #0 #3 #2: position
//   step   norm_1 (rows, 1, 1) flat #2 #6 #5 #4: decoder.0.attn_norm
//   step   matmul_2 [seq > 1] (2, rows/64, 1) #4 #10 #11 #7 #8 #9: decoder.0.attn.q
//   step   matmul_3 [seq = 1] (1, rows, 1) #4 #10 #11 #7 #8 #9: decoder.0.attn.q
//   step   linear_attention_4 (4, batch, 1) #7 #8 #9 #12 #13 #4: decoder.0.attn.scores
//   step   matmul_5 [seq > 1] (1, rows/64, 1) #4 #14 #15 #2 #7: decoder.0.attn.residual
//   step   matmul_6 [seq = 1] (1, rows, 1) #4 #14 #15 #2 #7: decoder.0.attn.residual
//   step   norm_1 (rows, 1, 1) flat #7 #17 #16 #8: decoder.0.mlp_norm
//   step   matmul_7 [seq > 1] (2, rows/64, 1) #8 #18 #19 #9: decoder.0.mlp.act
//   step   matmul_8 [seq = 1] (1, rows, 1) #8 #18 #19 #9: decoder.0.mlp.act
//   step   matmul_9 [seq > 1] (1, rows/64, 1) #9 #20 #21 #7 #4: decoder.0.mlp.residual
//   step   matmul_10 [seq = 1] (1, rows, 1) #9 #20 #21 #7 #4: decoder.0.mlp.residual
//   step   norm_1 (rows, 1, 1) flat #4 #23 #22 #2: decoder.1.attn_norm
//   step   matmul_2 [seq > 1] (2, rows/64, 1) #2 #24 #25 #8 #7 #9: decoder.1.attn.q
//   step   matmul_3 [seq = 1] (1, rows, 1) #2 #24 #25 #8 #7 #9: decoder.1.attn.q
//   step   linear_attention_4 (4, batch, 1) #8 #7 #9 #26 #27 #2: decoder.1.attn.scores
//   step   matmul_5 [seq > 1] (1, rows/64, 1) #2 #28 #29 #4 #8: decoder.1.attn.residual
//   step   matmul_6 [seq = 1] (1, rows, 1) #2 #28 #29 #4 #8: decoder.1.attn.residual
//   step   norm_1 (rows, 1, 1) flat #8 #31 #30 #7: decoder.1.mlp_norm
//   step   matmul_7 [seq > 1] (2, rows/64, 1) #7 #32 #33 #9: decoder.1.mlp.act
//   step   matmul_8 [seq = 1] (1, rows, 1) #7 #32 #33 #9: decoder.1.mlp.act
//   step   matmul_9 [seq > 1] (1, rows/64, 1) #9 #34 #35 #8 #2: decoder.1.mlp.residual
//   step   matmul_10 [seq = 1] (1, rows, 1) #9 #34 #35 #8 #2: decoder.1.mlp.residual
//   step   norm_1 (rows, 1, 1) flat #2 #37 #36 #4: norm.0
//   step   matmul_11 [seq > 1] (2, rows/64, 1) #4 #3 #1: logits
//   step   matmul_12 [seq = 1] (1, rows, 1) #4 #3 #1: logits

// ---- embed_0 (bindings read read rw; workgroup 64; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Ids: array<i32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
const D = 32u;
const FREQ = array<f32, 16>(1.0f, 0.5623413324356079f, 0.3162277638912201f, 0.17782793939113617f, 0.10000000149011612f, 0.05623413249850273f, 0.03162277489900589f, 0.017782794311642647f, 0.009999999776482582f, 0.005623413249850273f, 0.003162277629598975f, 0.0017782794311642647f, 0.0010000000474974513f, 0.000562341301701963f, 0.0003162277571391314f, 0.00017782794020604342f);
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
  let a = f32(p) * FREQ[c / 2u];
  v = v + select(cos(a), sin(a), c % 2u == 0u);
  Y[i] = v;
}

// ---- linear_attention_4 (bindings read read read rw rw rw; workgroup 8; 7200 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read_write> St: array<f32>;
@group(0) @binding(5) var<storage, read_write> Zt: array<f32>;
@group(0) @binding(6) var<storage, read_write> O: array<f32>;
const H = 4u;
const KVH = 4u;
const G = 1u;
const HD = 8u;
const C = 32u;
fn phi(x: f32) -> f32 { return select(exp(x), x + 1.0, x > 0.0); }
var<workgroup> fk: array<f32, 256>;
var<workgroup> vv: array<f32, 256>;
var<workgroup> fq: array<f32, 256>;
var<workgroup> A: array<f32, 1024>;
var<workgroup> zs: array<f32, 8>;
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let kvh = wg.x;
  let b = wg.y;
  let qlen = P.seq;
  let klen = P.seq;
  var S: array<f32, 8>;
  let so = (b * KVH + kvh) * HD;
  for (var d = 0u; d < HD; d++) { S[d] = St[(so + d) * HD + t]; }
  zs[t] = Zt[so + t];
  workgroupBarrier();
  
  for (var r0 = 0u; r0 < qlen; r0 += C) {
    
    for (var x = t; x < C * HD; x += HD) {
      let j = r0 + x / HD;
      var fkv = 0.0;
      var vvv = 0.0;
      if (j < klen) {
        let o = ((b * klen + j) * KVH + kvh) * HD + x % HD;
        fkv = phi(K[o]);
        vvv = V[o];
      }
      fk[x] = fkv;
      vv[x] = vvv;
    }
    
    for (var x = t; x < G * C * HD; x += HD) {
      let g = x / (C * HD);
      let i = r0 + (x / HD) % C;
      fq[x] = select(0.0, phi(Q[((b * qlen + min(i, qlen - 1u)) * H + kvh * G + g) * HD + x % HD]), i < qlen);
    }
    workgroupBarrier();
    for (var x = t; x < G * C * C; x += HD) {
      let gi = x / C;
      let jj = x % C;
      var a = 0.0;
      if (jj <= gi % C) { for (var d = 0u; d < (HD + P.zero); d++) { a += fq[gi * HD + d] * fk[jj * HD + d]; } }
      A[x] = a;
    }
    workgroupBarrier();
    
    for (var g = 0u; g < (G + P.zero); g++) {
      for (var ii = 0u; ii < (C + P.zero); ii++) {
        if (r0 + ii >= qlen) { break; }
        let f = (g * C + ii) * HD;
        var num = 0.0;
        var den = 0.0;
        for (var d = 0u; d < (HD + P.zero); d++) { num += fq[f + d] * S[d]; den += fq[f + d] * zs[d]; }
        for (var jj = 0u; jj <= ii; jj++) { let a = A[(g * C + ii) * C + jj]; num += a * vv[jj * HD + t]; den += a; }
        O[((b * qlen + r0 + ii) * H + kvh * G + g) * HD + t] = num / (den + 1e-6f);
      }
    }
    workgroupBarrier();
    
    for (var d = 0u; d < (HD + P.zero); d++) {
      var a = 0.0;
      for (var jj = 0u; jj < (C + P.zero); jj++) { a += fk[jj * HD + d] * vv[jj * HD + t]; }
      S[d] += a;
    }
    var za = 0.0;
    for (var jj = 0u; jj < (C + P.zero); jj++) { za += fk[jj * HD + t]; }
    zs[t] += za;
    workgroupBarrier();
  }
  for (var d = 0u; d < HD; d++) { St[(so + d) * HD + t] = S[d]; }
  Zt[so + t] = zs[t];
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
  else if (c < 64u) { Y1[m * 32u + c - 32u] = v; }
  else if (c < 96u) { Y2[m * 32u + c - 64u] = v; }
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
  else if (c < 64u) { Y1[m * 32u + c - 32u] = v; }
  else if (c < 96u) { Y2[m * 32u + c - 64u] = v; }
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

// ---- matmul_5 (bindings read read read read rw; workgroup 64; 16384 B workgroup memory)
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

// ---- matmul_6 (bindings read read read read rw; workgroup 32; 0 B workgroup memory)
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

// ---- matmul_7 (bindings read read read rw; workgroup 64; 16384 B workgroup memory)
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

fn erfc_f(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, x >= 0.0);
}
fn act_f(x: f32) -> f32 { return 0.5 * x * erfc_f(-x * 0.7071067811865476); }
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

// ---- matmul_8 (bindings read read read rw; workgroup 32; 0 B workgroup memory)
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

fn erfc_f(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, x >= 0.0);
}
fn act_f(x: f32) -> f32 { return 0.5 * x * erfc_f(-x * 0.7071067811865476); }
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

// ---- matmul_9 (bindings read read read read rw; workgroup 64; 16384 B workgroup memory)
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

// ---- matmul_10 (bindings read read read read rw; workgroup 32; 0 B workgroup memory)
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

// ---- matmul_11 (bindings read read rw; workgroup 64; 16384 B workgroup memory)
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

// ---- matmul_12 (bindings read read rw; workgroup 32; 0 B workgroup memory)
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
