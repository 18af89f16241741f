// Row reductions for training on Wasm SIMD: LayerNorm / RMSNorm forward and backward over rows
// of a baked-in width (a multiple of 4), the column sums a linear's bias gradient needs, and
// the softmax cross-entropy over the logits' rows (row sums and gradient; emitCrossEntropy).
// The norms follow backends/reference/backward/dense.ts (biased variance, the row statistics
// recomputed in the backward rather than stored), in float32: mean and variance in two passes
// over the row, so no cancellation of E[x²] − E[x]². The caller folds a norm's weight offset
// into the scale it passes (s = offset + w) and passes zeros for a missing bias.
//   forward   y = (x − μ) · inv · s + b,  inv = 1 / √(mean((x − μ)²) + eps)   (μ = 0 for RMSNorm)
//   backward  x̂ = (x − μ) · inv, g = dy ⊙ s:  dx = inv · (g − mean(g) − x̂ · mean(g ⊙ x̂))
//             (RMSNorm: without − mean(g)), dw += Σ_rows dy ⊙ x̂, db += Σ_rows dy (float32
//             sums over the rows, as the matmuls' dW)
// Column sums add dy's rows into float64 sums (f64x2 lanes): a bias gradient over thousands of
// rows keeps the reference's precision, and the float32 dy is the kernels' own input.

import { expV } from "../emit-math.ts";
import { type EmitFlags, Func, get, madd, set, splat } from "../wat.ts";

export interface NormTrainSpec {
  kind: "layer" | "rms";
  /** The row width; a multiple of 4. */
  dim: number;
}

const v = (op: string, ...args: string[]): string => `(f32x4.${op} ${args.join(" ")})`;
/** The sum of a v128 local's four lanes. */
const hsum = (name: string): string => `(f32.add (f32.add (f32x4.extract_lane 0 ${get(name)}) (f32x4.extract_lane 1 ${get(name)})) (f32.add (f32x4.extract_lane 2 ${get(name)}) (f32x4.extract_lane 3 ${get(name)})))`;
const at = (base: string): string => `(v128.load (i32.add ${get(base)} ${get("i")}))`;
const rowAt = (base: string): string => `(v128.load (i32.add (i32.add ${get(base)} ${get("ro")}) ${get("i")}))`;

/** A loop of $i over the row's bytes, four floats at a time. */
function overRow(f: Func, dim: number, body: string): string {
  f.local("i32", "i");
  return `(local.set $i (i32.const 0))
    (block $B (loop $L (br_if $B (i32.ge_u ${get("i")} (i32.const ${dim * 4})))
      ${body}
      (local.set $i (i32.add ${get("i")} (i32.const 16))) (br $L)))`;
}

/** A loop over the rows: $ro is the row's byte offset. */
function overRows(f: Func, dim: number, body: string): string {
  f.local("i32", "r", "ro");
  return `(local.set $r (i32.const 0)) (local.set $ro (i32.const 0))
  (block $RB (loop $RL (br_if $RB (i32.ge_u ${get("r")} ${get("rows")}))
    ${body}
    (local.set $ro (i32.add ${get("ro")} (i32.const ${dim * 4})))
    (local.set $r (i32.add ${get("r")} (i32.const 1))) (br $RL)))`;
}

/** The row's statistics: $m = splat(μ), $iv = splat(inv). */
function rowStats(f: Func, fl: EmitFlags, s: NormTrainSpec): string {
  f.local("v128", "acc", "t", "m", "iv");
  f.local("f32", "mean");
  const mean =
    s.kind === "layer"
      ? `(local.set $acc (v128.const i32x4 0 0 0 0))
    ${overRow(f, s.dim, set("acc", v("add", get("acc"), rowAt("x"))))}
    ${set("mean", `(f32.div ${hsum("acc")} (f32.const ${s.dim}))`)}`
      : set("mean", "(f32.const 0)");
  return `${mean}
    ${set("m", `(f32x4.splat ${get("mean")})`)}
    (local.set $acc (v128.const i32x4 0 0 0 0))
    ${overRow(f, s.dim, `${set("t", v("sub", rowAt("x"), get("m")))} ${set("acc", madd(fl, get("t"), get("t"), get("acc")))}`)}
    ${set("iv", `(f32x4.splat (f32.div (f32.const 1) (f32.sqrt (f32.add (f32.div ${hsum("acc")} (f32.const ${s.dim})) ${get("eps")}))))`)}`;
}

/** (func $name (param $x $s $b $y $rows i32) (param $eps f32)): y = norm(x) · s + b. */
export function emitNormForward(fl: EmitFlags, s: NormTrainSpec, name: string): string {
  const f = new Func(name, [["x", "i32"], ["s", "i32"], ["b", "i32"], ["y", "i32"], ["rows", "i32"], ["eps", "f32"]], undefined, `${s.kind} norm forward, width ${s.dim}`);
  const store = `(v128.store (i32.add (i32.add ${get("y")} ${get("ro")}) ${get("i")}) ${madd(fl, v("mul", v("sub", rowAt("x"), get("m")), get("iv")), at("s"), at("b"))})`;
  return f.text(overRows(f, s.dim, `${rowStats(f, fl, s)}\n    ${overRow(f, s.dim, store)}`));
}

/**
 * (func $name (param $dy $x $s $dx $dw $db $rows i32) (param $eps f32)): dx = the rows' input
 * gradients (written), dw and db += the scale's and bias's (over all rows).
 */
export function emitNormBackward(fl: EmitFlags, s: NormTrainSpec, name: string): string {
  const f = new Func(name, [["dy", "i32"], ["x", "i32"], ["s", "i32"], ["dx", "i32"], ["dw", "i32"], ["db", "i32"], ["rows", "i32"], ["eps", "f32"]], undefined, `${s.kind} norm backward, width ${s.dim}`);
  f.local("v128", "xh", "d", "g", "gacc", "gxacc", "gm", "gxm");
  const xhat = set("xh", v("mul", v("sub", rowAt("x"), get("m")), get("iv")));
  const sums = `${xhat} ${set("d", rowAt("dy"))} ${set("g", v("mul", get("d"), at("s")))}
      ${set("gacc", v("add", get("gacc"), get("g")))} ${set("gxacc", madd(fl, get("g"), get("xh"), get("gxacc")))}
      (v128.store (i32.add ${get("dw")} ${get("i")}) ${madd(fl, get("d"), get("xh"), at("dw"))})
      (v128.store (i32.add ${get("db")} ${get("i")}) ${v("add", get("d"), at("db"))})`;
  const centre = s.kind === "layer" ? `(f32x4.splat (f32.div ${hsum("gacc")} (f32.const ${s.dim})))` : "(v128.const i32x4 0 0 0 0)";
  const dx = `${xhat} ${set("g", v("mul", rowAt("dy"), at("s")))}
      (v128.store (i32.add (i32.add ${get("dx")} ${get("ro")}) ${get("i")}) ${v("mul", get("iv"), v("sub", v("sub", get("g"), get("gm")), v("mul", get("xh"), get("gxm"))))})`;
  const row = `${rowStats(f, fl, s)}
    (local.set $gacc (v128.const i32x4 0 0 0 0)) (local.set $gxacc (v128.const i32x4 0 0 0 0))
    ${overRow(f, s.dim, sums)}
    ${set("gm", centre)}
    ${set("gxm", `(f32x4.splat (f32.div ${hsum("gxacc")} (f32.const ${s.dim})))`)}
    ${overRow(f, s.dim, dx)}`;
  return f.text(overRows(f, s.dim, row));
}

/**
 * (func $name (param $dy $rows $n $out)): out [n] (float64) += Σ_r dy [r, :] (float32), four
 * floats a step, two f64x2 lanes each. Rows are n floats apart; with n not a multiple of 4 a
 * row's last step reads into the next one (or the slack after the buffer), into lanes of out
 * past n, which the caller sizes to n rounded up to 4 and ignores.
 */
export function emitColumnSums(name: string): string {
  const f = new Func(name, ["dy", "rows", "n", "out"], undefined, "column sums into float64");
  f.local("i32", "r", "i", "p", "o", "rowBytes", "end");
  f.local("v128", "x");
  return f.text(`(local.set $rowBytes (i32.shl ${get("n")} (i32.const 2)))
  (local.set $end (i32.shl (i32.and (i32.add ${get("n")} (i32.const 3)) (i32.const -4)) (i32.const 2)))
  (local.set $p ${get("dy")}) (local.set $r (i32.const 0))
  (block $RB (loop $RL (br_if $RB (i32.ge_u ${get("r")} ${get("rows")}))
    (local.set $i (i32.const 0)) (local.set $o ${get("out")})
    (block $B (loop $L (br_if $B (i32.ge_u ${get("i")} ${get("end")}))
      ${set("x", `(v128.load (i32.add ${get("p")} ${get("i")}))`)}
      (v128.store ${get("o")} (f64x2.add (v128.load ${get("o")}) (f64x2.promote_low_f32x4 ${get("x")})))
      (v128.store offset=16 ${get("o")} (f64x2.add (v128.load offset=16 ${get("o")}) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${get("x")} ${get("x")}))))
      (local.set $o (i32.add ${get("o")} (i32.const 32)))
      (local.set $i (i32.add ${get("i")} (i32.const 16))) (br $L)))
    (local.set $p (i32.add ${get("p")} ${get("rowBytes")}))
    (local.set $r (i32.add ${get("r")} (i32.const 1))) (br $RL)))`);
}

/**
 * (func $name (param $z $g $rows $targets $stats i32) (param $invCount $smooth f32)): softmax
 * cross-entropy's row sums and gradient over rows of `vocab` logits (src/train/loss.ts's
 * semantics, label smoothing ε). Per row: stats [max, Σ e^(z − max), Σ z] (the host takes the
 * log and the loss in float64), and g = e^(z − max) / Σ · invCount − smooth — the gradient but
 * for the target's −(1 − ε) · invCount, which the host adds; a row whose target is negative
 * (ignored) gets g = 0. The last vector of a row masks the lanes past `vocab`; its stores run
 * into the next row, which writes them after (or into the slack after the buffer).
 */
export function emitCrossEntropy(fl: EmitFlags, vocab: number, name: string): string {
  const f = new Func(name, [["z", "i32"], ["g", "i32"], ["rows", "i32"], ["targets", "i32"], ["stats", "i32"], ["invCount", "f32"], ["smooth", "f32"]], undefined, `cross-entropy, vocab ${vocab}`);
  f.local("i32", "i", "zr", "gr", "st");
  f.local("v128", "x", "mx", "se", "sz", "keep", "sc", "sh");
  f.local("f32", "mxs");
  const full = Math.floor(vocab / 4) * 16;
  const tail = vocab % 4;
  // Lanes of the last vector that belong to the row (tail > 0), as a mask.
  const mask = `(v128.const i32x4 ${[0, 1, 2, 3].map((l) => (l < tail ? -1 : 0)).join(" ")})`;
  const z = `(v128.load (i32.add ${get("zr")} ${get("i")}))`;
  const loop = (body: string) => `(local.set $i (i32.const 0))
    (block $B (loop $L (br_if $B (i32.ge_u ${get("i")} (i32.const ${full})))
      ${body}
      (local.set $i (i32.add ${get("i")} (i32.const 16))) (br $L)))`;
  const maxLane = (a: string, b: string) => `(f32.max ${a} ${b})`;
  const lane = (l: number) => `(f32x4.extract_lane ${l} ${get("mx")})`;
  const exp = `${set("x", v("sub", z, get("mx")))} ${expV(f, fl, "e", "x")}`;
  // i = full here: the tail vector.
  const tailMax = tail ? set("mx", v("pmax", get("mx"), `(v128.bitselect ${z} ${splat(-Infinity)} ${mask})`)) : "";
  const tailSums = tail ? `${exp} ${set("se", v("add", get("se"), `(v128.and ${get("e")} ${mask})`))} ${set("sz", v("add", get("sz"), `(v128.and ${z} ${mask})`))} (v128.store (i32.add ${get("gr")} ${get("i")}) ${get("e")})` : "";
  const grad = set("x", `(v128.load (i32.add ${get("gr")} ${get("i")}))`) + ` (v128.store (i32.add ${get("gr")} ${get("i")}) (v128.and ${get("keep")} ${v("sub", v("mul", get("x"), get("sc")), get("sh"))}))`;
  const tailGrad = tail ? grad : "";
  const row = `${set("mx", splat(-Infinity))}
    ${loop(set("mx", v("pmax", get("mx"), z)))}
    ${tailMax}
    ${set("mxs", maxLane(maxLane(lane(0), lane(1)), maxLane(lane(2), lane(3))))}
    ${set("mx", `(f32x4.splat ${get("mxs")})`)}
    (local.set $se (v128.const i32x4 0 0 0 0)) (local.set $sz (v128.const i32x4 0 0 0 0))
    ${loop(`${exp} ${set("se", v("add", get("se"), get("e")))} ${set("sz", v("add", get("sz"), z))} (v128.store (i32.add ${get("gr")} ${get("i")}) ${get("e")})`)}
    ${tailSums}
    (f32.store ${get("st")} ${get("mxs")})
    (f32.store offset=4 ${get("st")} ${hsum("se")})
    (f32.store offset=8 ${get("st")} ${hsum("sz")})
    ;; keep: all ones for a counted row, zeros for an ignored one (target < 0)
    ${set("keep", `(i32x4.splat (i32.sub (i32.const 0) (i32.ge_s (i32.load ${get("targets")}) (i32.const 0))))`)}
    ${set("sc", `(f32x4.splat (f32.div ${get("invCount")} ${hsum("se")}))`)}
    ${set("sh", `(f32x4.splat ${get("smooth")})`)}
    ${loop(grad)}
    ${tailGrad}`;
  return f.text(`(local.set $zr ${get("z")}) (local.set $gr ${get("g")}) (local.set $st ${get("stats")})
  (block $RB (loop $RL (br_if $RB (i32.eqz ${get("rows")}))
    ${row}
    (local.set $zr (i32.add ${get("zr")} (i32.const ${vocab * 4})))
    (local.set $gr (i32.add ${get("gr")} (i32.const ${vocab * 4})))
    (local.set $st (i32.add ${get("st")} (i32.const 12)))
    (local.set $targets (i32.add ${get("targets")} (i32.const 4)))
    (local.set $rows (i32.sub ${get("rows")} (i32.const 1))) (br $RL)))`);
}
