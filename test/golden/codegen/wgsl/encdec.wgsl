// specformer codegen golden: WGSL of encdec (compileWgsl at WebGPU's default limits and kernels, as build writes it)
//
// model encdec; params batch, seq, src, pos, cap, zero, p1, p2; logits #3, vocab 64
//
// buffers: id kind dtype elements[×cap] name (weights: the tensors' row ranges) [(pinned, cleared on forward)]
//   #0   input      i32 1×S      src_tokens
//   #1   input      u32 1×S      src_mask
//   #2   input      i32 1×R      tokens
//   #3   logits     f32 64×R     logits
//   #4   activation f32 16×S     encoder.position (pinned)
//   #5   weight     f32 768      encoder.embed.src_tokens.weight
//   #6   activation f32 16×S     encoder.encoder_layer.0.attn.q
//   #7   activation f32 16×S     encoder.encoder_layer.0.attn.k (pinned)
//   #8   activation f32 32×S     encoder.encoder_layer.0.mlp.act (pinned)
//   #9   weight     f32 768      encoder.encoder_layer.0.attn.q.weight[0:16] + encoder.encoder_layer.0.attn.k.weight[0:16] + encoder.encoder_layer.0.attn.v.weight[0:16]
//   #10  weight     f32 48       encoder.encoder_layer.0.attn.q.bias[0:16] + encoder.encoder_layer.0.attn.k.bias[0:16] + encoder.encoder_layer.0.attn.v.bias[0:16]
//   #11  activation f32 16×S     encoder.encoder_layer.0.attn.scores (pinned)
//   #12  scratch    f32 192×B    attention.partials
//   #13  weight     f32 256      encoder.encoder_layer.0.attn.o.weight
//   #14  weight     f32 16       encoder.encoder_layer.0.attn.o.bias
//   #15  weight     f32 16       encoder.encoder_layer.0.attn_norm.bias
//   #16  weight     f32 16       encoder.encoder_layer.0.attn_norm.weight
//   #17  weight     f32 512      encoder.encoder_layer.0.mlp.up.weight
//   #18  weight     f32 32       encoder.encoder_layer.0.mlp.up.bias
//   #19  weight     f32 512      encoder.encoder_layer.0.mlp.down.weight
//   #20  weight     f32 16       encoder.encoder_layer.0.mlp.down.bias
//   #21  weight     f32 16       encoder.encoder_layer.0.mlp_norm.bias
//   #22  weight     f32 16       encoder.encoder_layer.0.mlp_norm.weight
//   #23  weight     f32 768      encoder.encoder_layer.1.attn.q.weight[0:16] + encoder.encoder_layer.1.attn.k.weight[0:16] + encoder.encoder_layer.1.attn.v.weight[0:16]
//   #24  weight     f32 48       encoder.encoder_layer.1.attn.q.bias[0:16] + encoder.encoder_layer.1.attn.k.bias[0:16] + encoder.encoder_layer.1.attn.v.bias[0:16]
//   #25  weight     f32 256      encoder.encoder_layer.1.attn.o.weight
//   #26  weight     f32 16       encoder.encoder_layer.1.attn.o.bias
//   #27  weight     f32 16       encoder.encoder_layer.1.attn_norm.bias
//   #28  weight     f32 16       encoder.encoder_layer.1.attn_norm.weight
//   #29  weight     f32 512      encoder.encoder_layer.1.mlp.up.weight
//   #30  weight     f32 32       encoder.encoder_layer.1.mlp.up.bias
//   #31  weight     f32 512      encoder.encoder_layer.1.mlp.down.weight
//   #32  weight     f32 16       encoder.encoder_layer.1.mlp.down.bias
//   #33  weight     f32 16       encoder.encoder_layer.1.mlp_norm.bias
//   #34  weight     f32 16       encoder.encoder_layer.1.mlp_norm.weight
//   #35  weight     f32 16       encoder.norm.0.bias
//   #36  weight     f32 16       encoder.norm.0.weight
//   #37  weight     f32 512      decoder.decoder_layer.0.cross_attn.k.weight[0:16] + decoder.decoder_layer.0.cross_attn.v.weight[0:16]
//   #38  weight     f32 32       decoder.decoder_layer.0.cross_attn.k.bias[0:16] + decoder.decoder_layer.0.cross_attn.v.bias[0:16]
//   #39  weight     f32 512      decoder.decoder_layer.1.cross_attn.k.weight[0:16] + decoder.decoder_layer.1.cross_attn.v.weight[0:16]
//   #40  weight     f32 32       decoder.decoder_layer.1.cross_attn.k.bias[0:16] + decoder.decoder_layer.1.cross_attn.v.bias[0:16]
//   #41  activation f32 16×R     decoder.position
//   #42  weight     f32 1024     decoder.embed.tokens.weight
//   #43  activation f32 16×R     decoder.decoder_layer.0.attn.q
//   #44  weight     f32 768      decoder.decoder_layer.0.attn.q.weight[0:16] + decoder.decoder_layer.0.attn.k.weight[0:16] + decoder.decoder_layer.0.attn.v.weight[0:16]
//   #45  weight     f32 48       decoder.decoder_layer.0.attn.q.bias[0:16] + decoder.decoder_layer.0.attn.k.bias[0:16] + decoder.decoder_layer.0.attn.v.bias[0:16]
//   #46  kv         f32 16×K     decoder.decoder_layer.0.attn.k
//   #47  kv         f32 16×K     decoder.decoder_layer.0.attn.v
//   #48  activation f32 32×R     decoder.decoder_layer.0.mlp.act
//   #49  weight     f32 256      decoder.decoder_layer.0.attn.o.weight
//   #50  weight     f32 16       decoder.decoder_layer.0.attn.o.bias
//   #51  weight     f32 16       decoder.decoder_layer.0.attn_norm.bias
//   #52  weight     f32 16       decoder.decoder_layer.0.attn_norm.weight
//   #53  weight     f32 256      decoder.decoder_layer.0.cross_attn.q.weight
//   #54  weight     f32 16       decoder.decoder_layer.0.cross_attn.q.bias
//   #55  weight     f32 256      decoder.decoder_layer.0.cross_attn.o.weight
//   #56  weight     f32 16       decoder.decoder_layer.0.cross_attn.o.bias
//   #57  weight     f32 16       decoder.decoder_layer.0.cross_attn_norm.bias
//   #58  weight     f32 16       decoder.decoder_layer.0.cross_attn_norm.weight
//   #59  weight     f32 512      decoder.decoder_layer.0.mlp.up.weight
//   #60  weight     f32 32       decoder.decoder_layer.0.mlp.up.bias
//   #61  weight     f32 512      decoder.decoder_layer.0.mlp.down.weight
//   #62  weight     f32 16       decoder.decoder_layer.0.mlp.down.bias
//   #63  weight     f32 16       decoder.decoder_layer.0.mlp_norm.bias
//   #64  weight     f32 16       decoder.decoder_layer.0.mlp_norm.weight
//   #65  weight     f32 768      decoder.decoder_layer.1.attn.q.weight[0:16] + decoder.decoder_layer.1.attn.k.weight[0:16] + decoder.decoder_layer.1.attn.v.weight[0:16]
//   #66  weight     f32 48       decoder.decoder_layer.1.attn.q.bias[0:16] + decoder.decoder_layer.1.attn.k.bias[0:16] + decoder.decoder_layer.1.attn.v.bias[0:16]
//   #67  kv         f32 16×K     decoder.decoder_layer.1.attn.k
//   #68  kv         f32 16×K     decoder.decoder_layer.1.attn.v
//   #69  weight     f32 256      decoder.decoder_layer.1.attn.o.weight
//   #70  weight     f32 16       decoder.decoder_layer.1.attn.o.bias
//   #71  weight     f32 16       decoder.decoder_layer.1.attn_norm.bias
//   #72  weight     f32 16       decoder.decoder_layer.1.attn_norm.weight
//   #73  weight     f32 256      decoder.decoder_layer.1.cross_attn.q.weight
//   #74  weight     f32 16       decoder.decoder_layer.1.cross_attn.q.bias
//   #75  weight     f32 256      decoder.decoder_layer.1.cross_attn.o.weight
//   #76  weight     f32 16       decoder.decoder_layer.1.cross_attn.o.bias
//   #77  weight     f32 16       decoder.decoder_layer.1.cross_attn_norm.bias
//   #78  weight     f32 16       decoder.decoder_layer.1.cross_attn_norm.weight
//   #79  weight     f32 512      decoder.decoder_layer.1.mlp.up.weight
//   #80  weight     f32 32       decoder.decoder_layer.1.mlp.up.bias
//   #81  weight     f32 512      decoder.decoder_layer.1.mlp.down.weight
//   #82  weight     f32 16       decoder.decoder_layer.1.mlp.down.bias
//   #83  weight     f32 16       decoder.decoder_layer.1.mlp_norm.bias
//   #84  weight     f32 16       decoder.decoder_layer.1.mlp_norm.weight
//   #85  weight     f32 16       decoder.norm.0.bias
//   #86  weight     f32 16       decoder.norm.0.weight
//   #87  weight     f32 1024     head.weight
//   #88  weight     f32 64       head.bias
//
// inputs:
//   src_mask → #1 (mask over src)
//   src_tokens → #0 (ids over src)
//   tokens → #2 (ids over seq)
//
// dispatches: phase kernel [when] grid (x, y, z) bindings 1..n: label
//   static embed_0 (16·srcRows/64, 1, 1) flat #0 #5 #4: encoder.position
//   static matmul_1 [src > 1] (1, srcRows/64, 1) #4 #9 #10 #6 #7 #8: encoder.encoder_layer.0.attn.q
//   static matmul_2 [src = 1] (1, srcRows, 1) #4 #9 #10 #6 #7 #8: encoder.encoder_layer.0.attn.q
//   static attention_3 [src > 1] (src/32, 4, batch) #6 #7 #8 #1 #11: encoder.encoder_layer.0.attn.scores
//   static decode_4 [src = 1] (8, 4, batch) #6 #7 #8 #1 #12: encoder.encoder_layer.0.attn.scores.split
//   static combine_5 [src = 1] (4·batch, 1, 1) #12 #11: encoder.encoder_layer.0.attn.scores.merge
//   static matmul_6 [src > 1] (1, srcRows/64, 1) #11 #13 #14 #4 #6: encoder.encoder_layer.0.attn.residual
//   static matmul_7 [src = 1] (1, srcRows, 1) #11 #13 #14 #4 #6: encoder.encoder_layer.0.attn.residual
//   static norm_8 (srcRows, 1, 1) flat #6 #16 #15 #7: encoder.encoder_layer.0.attn_norm
//   static matmul_9 [src > 1] (1, srcRows/64, 1) #7 #17 #18 #8: encoder.encoder_layer.0.mlp.act
//   static matmul_10 [src = 1] (1, srcRows, 1) #7 #17 #18 #8: encoder.encoder_layer.0.mlp.act
//   static matmul_11 [src > 1] (1, srcRows/64, 1) #8 #19 #20 #7 #11: encoder.encoder_layer.0.mlp.residual
//   static matmul_12 [src = 1] (1, srcRows, 1) #8 #19 #20 #7 #11: encoder.encoder_layer.0.mlp.residual
//   static norm_8 (srcRows, 1, 1) flat #11 #22 #21 #4: encoder.encoder_layer.0.mlp_norm
//   static matmul_1 [src > 1] (1, srcRows/64, 1) #4 #23 #24 #6 #7 #11: encoder.encoder_layer.1.attn.q
//   static matmul_2 [src = 1] (1, srcRows, 1) #4 #23 #24 #6 #7 #11: encoder.encoder_layer.1.attn.q
//   static attention_3 [src > 1] (src/32, 4, batch) #6 #7 #11 #1 #8: encoder.encoder_layer.1.attn.scores
//   static decode_4 [src = 1] (8, 4, batch) #6 #7 #11 #1 #12: encoder.encoder_layer.1.attn.scores.split
//   static combine_5 [src = 1] (4·batch, 1, 1) #12 #8: encoder.encoder_layer.1.attn.scores.merge
//   static matmul_6 [src > 1] (1, srcRows/64, 1) #8 #25 #26 #4 #6: encoder.encoder_layer.1.attn.residual
//   static matmul_7 [src = 1] (1, srcRows, 1) #8 #25 #26 #4 #6: encoder.encoder_layer.1.attn.residual
//   static norm_8 (srcRows, 1, 1) flat #6 #28 #27 #7: encoder.encoder_layer.1.attn_norm
//   static matmul_9 [src > 1] (1, srcRows/64, 1) #7 #29 #30 #8: encoder.encoder_layer.1.mlp.act
//   static matmul_10 [src = 1] (1, srcRows, 1) #7 #29 #30 #8: encoder.encoder_layer.1.mlp.act
//   static matmul_11 [src > 1] (1, srcRows/64, 1) #8 #31 #32 #7 #11: encoder.encoder_layer.1.mlp.residual
//   static matmul_12 [src = 1] (1, srcRows, 1) #8 #31 #32 #7 #11: encoder.encoder_layer.1.mlp.residual
//   static norm_8 (srcRows, 1, 1) flat #11 #34 #33 #4: encoder.encoder_layer.1.mlp_norm
//   static norm_8 (srcRows, 1, 1) flat #4 #36 #35 #6: encoder.norm.0
//   static matmul_13 [src > 1] (1, srcRows/64, 1) #6 #37 #38 #7 #11: decoder.decoder_layer.0.cross_attn.k
//   static matmul_14 [src = 1] (1, srcRows, 1) #6 #37 #38 #7 #11: decoder.decoder_layer.0.cross_attn.k
//   static matmul_13 [src > 1] (1, srcRows/64, 1) #6 #39 #40 #4 #8: decoder.decoder_layer.1.cross_attn.k
//   static matmul_14 [src = 1] (1, srcRows, 1) #6 #39 #40 #4 #8: decoder.decoder_layer.1.cross_attn.k
//   step   embed_15 (16·rows/64, 1, 1) flat #2 #42 #41: decoder.position
//   step   matmul_16 [seq > 1] (1, rows/64, 1) #41 #44 #45 #43 #46 #47: decoder.decoder_layer.0.attn.q
//   step   matmul_17 [seq = 1] (1, rows, 1) #41 #44 #45 #43 #46 #47: decoder.decoder_layer.0.attn.q
//   step   attention_18 [seq > 1] (seq/32, 4, batch) #43 #46 #47 #48: decoder.decoder_layer.0.attn.scores
//   step   decode_19 [seq = 1] (8, 4, batch) #43 #46 #47 #12: decoder.decoder_layer.0.attn.scores.split
//   step   combine_5 [seq = 1] (4·batch, 1, 1) #12 #48: decoder.decoder_layer.0.attn.scores.merge
//   step   matmul_20 [seq > 1] (1, rows/64, 1) #48 #49 #50 #41 #43: decoder.decoder_layer.0.attn.residual
//   step   matmul_21 [seq = 1] (1, rows, 1) #48 #49 #50 #41 #43: decoder.decoder_layer.0.attn.residual
//   step   norm_22 (rows, 1, 1) flat #43 #52 #51 #48: decoder.decoder_layer.0.attn_norm
//   step   matmul_23 [seq > 1] (1, rows/64, 1) #48 #53 #54 #41: decoder.decoder_layer.0.cross_attn.q
//   step   matmul_24 [seq = 1] (1, rows, 1) #48 #53 #54 #41: decoder.decoder_layer.0.cross_attn.q
//   step   attention_25 [seq > 1] (seq/32, 4, batch) #41 #7 #11 #1 #43: decoder.decoder_layer.0.cross_attn.scores
//   step   decode_26 [seq = 1] (8, 4, batch) #41 #7 #11 #1 #12: decoder.decoder_layer.0.cross_attn.scores.split
//   step   combine_5 [seq = 1] (4·batch, 1, 1) #12 #43: decoder.decoder_layer.0.cross_attn.scores.merge
//   step   matmul_20 [seq > 1] (1, rows/64, 1) #43 #55 #56 #48 #41: decoder.decoder_layer.0.cross_attn.residual
//   step   matmul_21 [seq = 1] (1, rows, 1) #43 #55 #56 #48 #41: decoder.decoder_layer.0.cross_attn.residual
//   step   norm_22 (rows, 1, 1) flat #41 #58 #57 #43: decoder.decoder_layer.0.cross_attn_norm
//   step   matmul_27 [seq > 1] (1, rows/64, 1) #43 #59 #60 #48: decoder.decoder_layer.0.mlp.act
//   step   matmul_28 [seq = 1] (1, rows, 1) #43 #59 #60 #48: decoder.decoder_layer.0.mlp.act
//   step   matmul_29 [seq > 1] (1, rows/64, 1) #48 #61 #62 #43 #41: decoder.decoder_layer.0.mlp.residual
//   step   matmul_30 [seq = 1] (1, rows, 1) #48 #61 #62 #43 #41: decoder.decoder_layer.0.mlp.residual
//   step   norm_22 (rows, 1, 1) flat #41 #64 #63 #43: decoder.decoder_layer.0.mlp_norm
//   step   matmul_16 [seq > 1] (1, rows/64, 1) #43 #65 #66 #41 #67 #68: decoder.decoder_layer.1.attn.q
//   step   matmul_17 [seq = 1] (1, rows, 1) #43 #65 #66 #41 #67 #68: decoder.decoder_layer.1.attn.q
//   step   attention_18 [seq > 1] (seq/32, 4, batch) #41 #67 #68 #48: decoder.decoder_layer.1.attn.scores
//   step   decode_19 [seq = 1] (8, 4, batch) #41 #67 #68 #12: decoder.decoder_layer.1.attn.scores.split
//   step   combine_5 [seq = 1] (4·batch, 1, 1) #12 #48: decoder.decoder_layer.1.attn.scores.merge
//   step   matmul_20 [seq > 1] (1, rows/64, 1) #48 #69 #70 #43 #41: decoder.decoder_layer.1.attn.residual
//   step   matmul_21 [seq = 1] (1, rows, 1) #48 #69 #70 #43 #41: decoder.decoder_layer.1.attn.residual
//   step   norm_22 (rows, 1, 1) flat #41 #72 #71 #43: decoder.decoder_layer.1.attn_norm
//   step   matmul_23 [seq > 1] (1, rows/64, 1) #43 #73 #74 #41: decoder.decoder_layer.1.cross_attn.q
//   step   matmul_24 [seq = 1] (1, rows, 1) #43 #73 #74 #41: decoder.decoder_layer.1.cross_attn.q
//   step   attention_25 [seq > 1] (seq/32, 4, batch) #41 #4 #8 #1 #48: decoder.decoder_layer.1.cross_attn.scores
//   step   decode_26 [seq = 1] (8, 4, batch) #41 #4 #8 #1 #12: decoder.decoder_layer.1.cross_attn.scores.split
//   step   combine_5 [seq = 1] (4·batch, 1, 1) #12 #48: decoder.decoder_layer.1.cross_attn.scores.merge
//   step   matmul_20 [seq > 1] (1, rows/64, 1) #48 #75 #76 #43 #41: decoder.decoder_layer.1.cross_attn.residual
//   step   matmul_21 [seq = 1] (1, rows, 1) #48 #75 #76 #43 #41: decoder.decoder_layer.1.cross_attn.residual
//   step   norm_22 (rows, 1, 1) flat #41 #78 #77 #43: decoder.decoder_layer.1.cross_attn_norm
//   step   matmul_27 [seq > 1] (1, rows/64, 1) #43 #79 #80 #48: decoder.decoder_layer.1.mlp.act
//   step   matmul_28 [seq = 1] (1, rows, 1) #43 #79 #80 #48: decoder.decoder_layer.1.mlp.act
//   step   matmul_29 [seq > 1] (1, rows/64, 1) #48 #81 #82 #43 #41: decoder.decoder_layer.1.mlp.residual
//   step   matmul_30 [seq = 1] (1, rows, 1) #48 #81 #82 #43 #41: decoder.decoder_layer.1.mlp.residual
//   step   norm_22 (rows, 1, 1) flat #41 #84 #83 #43: decoder.decoder_layer.1.mlp_norm
//   step   norm_22 (rows, 1, 1) flat #43 #86 #85 #41: decoder.norm.0
//   step   matmul_31 [seq > 1] (1, rows/64, 1) #41 #87 #88 #3: logits
//   step   matmul_32 [seq = 1] (1, rows, 1) #41 #87 #88 #3: logits

// ---- attention_3 (bindings read read read read rw; workgroup 32; 2304 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<VT>;
@group(0) @binding(2) var<storage, read> K: array<VT>;
@group(0) @binding(3) var<storage, read> V: array<VT>;
@group(0) @binding(4) var<storage, read> Mk: array<u32>;
@group(0) @binding(5) var<storage, read_write> O: array<VT>;
const H = 4u;
const KVH = 4u;
const G = 1u;
const HD = 4u;
const NV = 1u;
const SCALE = 0.5f;
alias VT = vec4<f32>;
fn vdot(a: VT, b: VT) -> f32 { return dot(a, b); }
fn key_range(i: i32, kvlen: i32) -> vec2<i32> {
  var lo = 0;
  var hi = kvlen;
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
var<workgroup> Ms: array<u32, 64>;
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
    for (var e = t; e < BK; e += BQ) { let j = j0 + i32(e); Ms[e] = select(0u, Mk[b * ks + u32(j)], j < kvlen); }
    workgroupBarrier();
    if (valid) {
      let kr = key_range(i, kvlen);
      var sc: array<f32, 64>;
      var tmax = -3.0e38f;
      for (var jj = 0u; jj < BK; jj++) {
        let j = j0 + i32(jj);
        var sv = -3.0e38f;
        if (j >= kr.x && j < kr.y && visible(i, j) && Ms[jj] != 0u) {
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
  let qlen = P.src;
  let kvlen = i32((0u + P.src));
  let ks = P.src;
  let q0 = i32(0u);
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

// ---- attention_18 (bindings read read read rw; workgroup 32; 2048 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<VT>;
@group(0) @binding(2) var<storage, read> K: array<VT>;
@group(0) @binding(3) var<storage, read> V: array<VT>;
@group(0) @binding(4) var<storage, read_write> O: array<VT>;
const H = 4u;
const KVH = 4u;
const G = 1u;
const HD = 4u;
const NV = 1u;
const SCALE = 0.5f;
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

// ---- attention_25 (bindings read read read read rw; workgroup 32; 2304 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<VT>;
@group(0) @binding(2) var<storage, read> K: array<VT>;
@group(0) @binding(3) var<storage, read> V: array<VT>;
@group(0) @binding(4) var<storage, read> Mk: array<u32>;
@group(0) @binding(5) var<storage, read_write> O: array<VT>;
const H = 4u;
const KVH = 4u;
const G = 1u;
const HD = 4u;
const NV = 1u;
const SCALE = 0.5f;
alias VT = vec4<f32>;
fn vdot(a: VT, b: VT) -> f32 { return dot(a, b); }
fn key_range(i: i32, kvlen: i32) -> vec2<i32> {
  var lo = 0;
  var hi = kvlen;
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
var<workgroup> Ms: array<u32, 64>;
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
    for (var e = t; e < BK; e += BQ) { let j = j0 + i32(e); Ms[e] = select(0u, Mk[b * ks + u32(j)], j < kvlen); }
    workgroupBarrier();
    if (valid) {
      let kr = key_range(i, kvlen);
      var sc: array<f32, 64>;
      var tmax = -3.0e38f;
      for (var jj = 0u; jj < BK; jj++) {
        let j = j0 + i32(jj);
        var sv = -3.0e38f;
        if (j >= kr.x && j < kr.y && visible(i, j) && Ms[jj] != 0u) {
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
  let kvlen = i32(P.src);
  let ks = P.src;
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

// ---- combine_5 (bindings read rw; workgroup 64; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Part: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
const H = 4u;
const HD = 4u;
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

// ---- decode_4 (bindings read read read read rw; workgroup 64; 528 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> Mk: array<u32>;
@group(0) @binding(5) var<storage, read_write> Part: array<f32>;
const H = 4u;
const KVH = 4u;
const G = 1u;
const HD = 4u;
const NV = 1u;
const SCALE = 0.5f;
alias VT = vec4<f32>;
fn vdot(a: VT, b: VT) -> f32 { return dot(a, b); }
fn key_range(i: i32, kvlen: i32) -> vec2<i32> {
  var lo = 0;
  var hi = kvlen;
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
var<workgroup> qs: array<f32, 4>;
var<workgroup> ss: array<f32, 64>;
var<workgroup> ps: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let split = wg.x;
  let h = wg.y;
  let b = wg.z;
  let kvh = h / G;
  let kvlen = i32((0u + P.src));
  let ks = P.src;
  let i = i32(0u);
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
    if (j < je && visible(i, j) && Mk[b * ks + u32(j)] != 0u) {
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

// ---- decode_19 (bindings read read read rw; workgroup 64; 528 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read_write> Part: array<f32>;
const H = 4u;
const KVH = 4u;
const G = 1u;
const HD = 4u;
const NV = 1u;
const SCALE = 0.5f;
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
var<workgroup> qs: array<f32, 4>;
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

// ---- decode_26 (bindings read read read read rw; workgroup 64; 528 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> K: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> Mk: array<u32>;
@group(0) @binding(5) var<storage, read_write> Part: array<f32>;
const H = 4u;
const KVH = 4u;
const G = 1u;
const HD = 4u;
const NV = 1u;
const SCALE = 0.5f;
alias VT = vec4<f32>;
fn vdot(a: VT, b: VT) -> f32 { return dot(a, b); }
fn key_range(i: i32, kvlen: i32) -> vec2<i32> {
  var lo = 0;
  var hi = kvlen;
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
var<workgroup> qs: array<f32, 4>;
var<workgroup> ss: array<f32, 64>;
var<workgroup> ps: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let split = wg.x;
  let h = wg.y;
  let b = wg.z;
  let kvh = h / G;
  let kvlen = i32(P.src);
  let ks = P.src;
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
    if (j < je && visible(i, j) && Mk[b * ks + u32(j)] != 0u) {
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
const D = 16u;
const FREQ = array<f32, 8>(1.0f, 0.3162277638912201f, 0.10000000149011612f, 0.03162277489900589f, 0.009999999776482582f, 0.003162277629598975f, 0.0010000000474974513f, 0.0003162277571391314f);
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let i = (wg.x + wg.y * nwg.x) * 64u + t;
  if (i >= P.batch * P.src * D) { return; }
  let r = i / D;
  let c = i % D;
  let id = Ids[r];
  if (id < 0 || id >= 48) { return; }
  var v = T[u32(id - 0) * D + c] * 4.0f;
  let p = 0u + r % P.src;
  let a = f32(p) * FREQ[c / 2u];
  v = v + select(cos(a), sin(a), c % 2u == 0u);
  Y[i] = v;
}

// ---- embed_15 (bindings read read rw; workgroup 64; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Ids: array<i32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
const D = 16u;
const FREQ = array<f32, 8>(1.0f, 0.3162277638912201f, 0.10000000149011612f, 0.03162277489900589f, 0.009999999776482582f, 0.003162277629598975f, 0.0010000000474974513f, 0.0003162277571391314f);
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let i = (wg.x + wg.y * nwg.x) * 64u + t;
  if (i >= P.batch * P.seq * D) { return; }
  let r = i / D;
  let c = i % D;
  let id = Ids[r];
  if (id < 0 || id >= 64) { return; }
  var v = T[u32(id - 0) * D + c] * 4.0f;
  let p = P.pos + r % P.seq;
  let a = f32(p) * FREQ[c / 2u];
  v = v + select(cos(a), sin(a), c % 2u == 0u);
  Y[i] = v;
}

// ---- matmul_1 (bindings read read read rw rw rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y1: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y2: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 48u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  if (c < 16u) { Y0[m * 16u + c - 0u] = v; }
  else if (c < 32u) { Y1[m * 16u + c - 16u] = v; }
  else if (c < 48u) { Y2[m * 16u + c - 32u] = v; }
}

const BK4 = 8u;
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * P.src;
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

// ---- matmul_2 (bindings read read read rw rw rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y1: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y2: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 48u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  if (c < 16u) { Y0[m * 16u + c - 0u] = v; }
  else if (c < 32u) { Y1[m * 16u + c - 16u] = v; }
  else if (c < 48u) { Y2[m * 16u + c - 32u] = v; }
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * P.src;
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

// ---- matmul_6 (bindings read read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y0: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 16u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = v + R[m * 16u + c];
  Y0[m * 16u + c - 0u] = v;
}

const BK4 = 8u;
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * P.src;
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

// ---- matmul_7 (bindings read read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y0: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 16u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = v + R[m * 16u + c];
  Y0[m * 16u + c - 0u] = v;
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * P.src;
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
const K = 16u;
const K4 = 4u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }

fn act_f(x: f32) -> f32 { return max(x, 0.0); }
fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = act_f(v);
  Y0[m * 32u + c - 0u] = v;
}

const BK4 = 8u;
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * P.src;
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
const K = 16u;
const K4 = 4u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }

fn act_f(x: f32) -> f32 { return max(x, 0.0); }
fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = act_f(v);
  Y0[m * 32u + c - 0u] = v;
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * P.src;
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
const K = 32u;
const K4 = 8u;
const N = 16u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = v + R[m * 16u + c];
  Y0[m * 16u + c - 0u] = v;
}

const BK4 = 8u;
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * P.src;
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
const K = 32u;
const K4 = 8u;
const N = 16u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = v + R[m * 16u + c];
  Y0[m * 16u + c - 0u] = v;
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * P.src;
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

// ---- matmul_13 (bindings read read read rw rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y1: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  if (c < 16u) { Y0[m * 16u + c - 0u] = v; }
  else if (c < 32u) { Y1[m * 16u + c - 16u] = v; }
}

const BK4 = 8u;
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = P.batch * P.src;
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

// ---- matmul_14 (bindings read read read rw rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y1: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  if (c < 16u) { Y0[m * 16u + c - 0u] = v; }
  else if (c < 32u) { Y1[m * 16u + c - 16u] = v; }
}

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let M = P.batch * P.src;
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

// ---- matmul_16 (bindings read read read rw rw rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y1: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y2: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 48u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  if (c < 16u) { Y0[m * 16u + c - 0u] = v; }
  else if (c < 32u) { Y1[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 16u + c - 16u] = v; }
  else if (c < 48u) { Y2[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 16u + c - 32u] = v; }
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

// ---- matmul_17 (bindings read read read rw rw rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y1: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y2: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 48u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  if (c < 16u) { Y0[m * 16u + c - 0u] = v; }
  else if (c < 32u) { Y1[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 16u + c - 16u] = v; }
  else if (c < 48u) { Y2[((m) / P.seq * P.cap + P.pos + (m) % P.seq) * 16u + c - 32u] = v; }
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

// ---- matmul_20 (bindings read read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y0: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 16u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = v + R[m * 16u + c];
  Y0[m * 16u + c - 0u] = v;
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

// ---- matmul_21 (bindings read read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y0: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 16u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = v + R[m * 16u + c];
  Y0[m * 16u + c - 0u] = v;
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

// ---- matmul_23 (bindings read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 16u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  Y0[m * 16u + c - 0u] = v;
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

// ---- matmul_24 (bindings read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 16u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  Y0[m * 16u + c - 0u] = v;
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

// ---- matmul_27 (bindings read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }

fn act_f(x: f32) -> f32 { return max(x, 0.0); }
fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = act_f(v);
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

// ---- matmul_28 (bindings read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 32u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }

fn act_f(x: f32) -> f32 { return max(x, 0.0); }
fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = act_f(v);
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

// ---- matmul_29 (bindings read read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 16u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = v + R[m * 16u + c];
  Y0[m * 16u + c - 0u] = v;
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

// ---- matmul_30 (bindings read read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read> R: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y0: array<f32>;
const K = 32u;
const K4 = 8u;
const N = 16u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  v = v + R[m * 16u + c];
  Y0[m * 16u + c - 0u] = v;
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

// ---- matmul_31 (bindings read read read rw; workgroup 64; 16384 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 64u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  Y0[m * 64u + c - 0u] = v;
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

// ---- matmul_32 (bindings read read read rw; workgroup 32; 0 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y0: array<f32>;
const K = 16u;
const K4 = 4u;
const N = 64u;
const NOFF = 0u;
fn load_x(r: u32, k4: u32) -> vec4<f32> { return X[r * K4 + k4]; }
fn load_w(r: u32, k4: u32) -> vec4<f32> { return W[r * K4 + k4]; }


fn emit(m: u32, n: u32, a: f32, a2: f32) {
  let c = n + NOFF;
  var v = a + Bias[c];
  Y0[m * 64u + c - 0u] = v;
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

// ---- norm_8 (bindings read read read rw; workgroup 16; 128 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> Bt: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
const D = 16u;
const WG = 16u;
const EPS = 0.000009999999747378752f;
var<workgroup> red_mean: array<f32, 16>;
fn total_mean(v: f32, t: u32) -> f32 {
  red_mean[t] = v;
  workgroupBarrier();
  for (var s = 8u; s > 0u; s = s / 2u) {
    if (t < s) { red_mean[t] = red_mean[t] + red_mean[t + s]; }
    workgroupBarrier();
  }
  return red_mean[0];
}
var<workgroup> red_sq: array<f32, 16>;
fn total_sq(v: f32, t: u32) -> f32 {
  red_sq[t] = v;
  workgroupBarrier();
  for (var s = 8u; s > 0u; s = s / 2u) {
    if (t < s) { red_sq[t] = red_sq[t] + red_sq[t + s]; }
    workgroupBarrier();
  }
  return red_sq[0];
}
@compute @workgroup_size(16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = (wg.x + wg.y * nwg.x);
  if (row >= P.batch * P.src) { return; }
  let base = row * D;
  var s = 0.0;
  for (var i = t; i < D; i += WG) { s += X[base + i]; }
  let mean = total_mean(s, t) / f32(D);
  var q = 0.0;
  for (var i = t; i < D; i += WG) { let d = X[base + i] - mean; q += d * d; }
  let inv = 1.0 / sqrt(total_sq(q, t) / f32(D) + EPS);
  for (var i = t; i < D; i += WG) { Y[base + i] = (X[base + i] - mean) * inv * G[i] + Bt[i]; }
}

// ---- norm_22 (bindings read read read rw; workgroup 16; 128 B workgroup memory)
struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, zero: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> Bt: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
const D = 16u;
const WG = 16u;
const EPS = 0.000009999999747378752f;
var<workgroup> red_mean: array<f32, 16>;
fn total_mean(v: f32, t: u32) -> f32 {
  red_mean[t] = v;
  workgroupBarrier();
  for (var s = 8u; s > 0u; s = s / 2u) {
    if (t < s) { red_mean[t] = red_mean[t] + red_mean[t + s]; }
    workgroupBarrier();
  }
  return red_mean[0];
}
var<workgroup> red_sq: array<f32, 16>;
fn total_sq(v: f32, t: u32) -> f32 {
  red_sq[t] = v;
  workgroupBarrier();
  for (var s = 8u; s > 0u; s = s / 2u) {
    if (t < s) { red_sq[t] = red_sq[t] + red_sq[t + s]; }
    workgroupBarrier();
  }
  return red_sq[0];
}
@compute @workgroup_size(16)
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
