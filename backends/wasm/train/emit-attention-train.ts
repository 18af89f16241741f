// Softmax attention for training on Wasm SIMD: the forward (output and each row's running max
// and denominator, from which the caller forms the log-sum-exp) and the vector–Jacobian
// product, flash-style like the reference (backends/reference/backward/attention.ts): no n×n
// matrix is stored; the backward recomputes each visible pair's probability from q, k and
// the row's log-sum-exp. dk and dv rows are accumulated in place; threads split the work by
// KV head (rowLoops), so each row of them has one writer.
//
// Keys are taken four at a time: four q·k dot products (head-dim vectors, then one 4×4
// transpose-add), one vector exp for the four probabilities, and the online-softmax rescale
// once per block. Lanes past the row's last visible key or on a padded key are masked out
// (their probability is exactly 0), so the four-key reads may run up to three rows past a
// buffer — the caller leaves that much slack after k, v, dk and dv.
//
// Baked in: the head dim (a multiple of 4), the score scale and the soft-cap. At run time:
// shapes, causal / window (the reference visibleKeySegments rule: causal hi = i + 1; window
// lo = i − w + 1, and without causal hi = i + w), per-head windows (Hard-ALiBi), ALiBi slopes
// and a key mask as f32 0 / 1 (pointers; 0 = absent).

import { expV, softcapV } from "../emit-math.ts";
import { type EmitFlags, f32, Func, get, i32, madd, set, splat } from "../wat.ts";

export interface AttentionTrainSpec {
  headDim: number;
  scale: number;
  softcap?: number;
}

export const attentionTrainKey = (s: AttentionTrainSpec): string => `d${s.headDim}_s${Math.fround(s.scale)}${s.softcap !== undefined ? `_c${s.softcap}` : ""}`;

const PARAMS_COMMON = ["keep", "slopes", "hw", "B", "S", "Sk", "H", "KVH", "causal", "win"];

/** Four dot-product partial vectors → one vector of their sums (lane t = Σ d_t). */
function hsum4(d: string[]): string {
  const sh = (a: string, b: string, lanes: number[]) => `(i8x16.shuffle ${lanes.flatMap((l) => [0, 1, 2, 3].map((k) => 4 * l + k)).join(" ")} ${a} ${b})`;
  const ab = `(f32x4.add ${sh(get(d[0]), get(d[1]), [0, 4, 1, 5])} ${sh(get(d[0]), get(d[1]), [2, 6, 3, 7])})`;
  const cd = `(f32x4.add ${sh(get(d[2]), get(d[3]), [0, 4, 1, 5])} ${sh(get(d[2]), get(d[3]), [2, 6, 3, 7])})`;
  return [set("ab", ab), set("cd", cd), `(f32x4.add ${sh(get("ab"), get("cd"), [0, 1, 4, 5])} ${sh(get("ab"), get("cd"), [2, 3, 6, 7])})`].join("\n");
}

/** Row bounds of query i for head h into $lo / $hi, and the per-head constants. */
function rowSetup(f: Func): string {
  f.local("i32", "lo", "hi", "kvh", "hwin");
  f.local("f32", "slope");
  return `
      (local.set $hi ${get("Sk")})
      (if ${get("causal")} (then (local.set $hi (call $imin ${get("hi")} (i32.add ${get("i")} (i32.const 1))))))
      (local.set $lo (i32.const 0))
      (if (i32.gt_s ${get("win")} (i32.const 0)) (then
        (local.set $lo (call $imax (i32.const 0) (i32.add (i32.sub ${get("i")} ${get("win")}) (i32.const 1))))
        (if (i32.eqz ${get("causal")}) (then (local.set $hi (call $imin ${get("hi")} (i32.add ${get("i")} ${get("win")})))))))
      (if ${get("hw")} (then
        (local.set $hwin (i32.load (i32.add ${get("hw")} (i32.shl ${get("h")} (i32.const 2)))))
        (if (i32.gt_s ${get("hwin")} (i32.const 0)) (then
          (local.set $lo (call $imax ${get("lo")} (i32.add (i32.sub ${get("i")} ${get("hwin")}) (i32.const 1))))))))
      (local.set $kvh (i32.div_u ${get("h")} (i32.div_u ${get("H")} ${get("KVH")})))
      (local.set $slope (f32.const 0))
      (if ${get("slopes")} (then (local.set $slope (f32.load (i32.add ${get("slopes")} (i32.shl ${get("h")} (i32.const 2)))))))`;
}

/**
 * The four scores of keys j..j+3 into $s (scaled, soft-capped, minus ALiBi), the raw capped
 * scores into $sc (for the soft-cap's derivative), and the lane mask $valid.
 */
function blockScores(f: Func, fl: EmitFlags, s: AttentionTrainSpec, nv: number, extraDots?: { acc: string; vec: (v: number) => string; from: string }): string {
  const out: string[] = [];
  f.local("v128", "s", "sc", "valid", "ab", "cd", "dist", "kk");
  const dots = [0, 1, 2, 3].map((t) => `dt${t}`);
  const extra = [0, 1, 2, 3].map((t) => `de${t}`);
  f.local("v128", ...dots, ...extra);
  for (let t = 0; t < 4; t++) {
    out.push(set(dots[t], "(v128.const i32x4 0 0 0 0)"));
    if (extraDots) out.push(set(extra[t], "(v128.const i32x4 0 0 0 0)"));
    for (let v = 0; v < nv; v++) {
      out.push(set("kk", `(v128.load offset=${v * 16} (i32.add ${get("kp")} (i32.mul ${i32(t)} ${get("rowK")})))`));
      out.push(set(dots[t], madd(fl, `(local.get $qv${v})`, get("kk"), get(dots[t]))));
      if (extraDots) {
        out.push(set("kk", `(v128.load offset=${v * 16} (i32.add ${get(extraDots.from)} (i32.mul ${i32(t)} ${get("rowK")})))`));
        out.push(set(extra[t], madd(fl, extraDots.vec(v), get("kk"), get(extra[t]))));
      }
    }
  }
  out.push(set("s", hsum4(dots)));
  if (extraDots) out.push(set(extraDots.acc, hsum4(extra)));
  if (s.softcap !== undefined) {
    out.push(softcapV(f, fl, "capped", "s", s.softcap));
    out.push(set("s", get("capped")));
  }
  out.push(set("sc", get("s")));
  const lanes = "(v128.const i32x4 0 1 2 3)";
  out.push(`(if (f32.ne ${get("slope")} (f32.const 0)) (then
    (local.set $dist (f32x4.abs (f32x4.convert_i32x4_s (i32x4.sub (i32x4.splat (i32.sub ${get("i")} ${get("j")})) ${lanes}))))
    ${set("s", `(f32x4.sub ${get("s")} (f32x4.mul ${get("dist")} (f32x4.splat ${get("slope")})))`)}))`);
  out.push(set("valid", `(i32x4.lt_s (i32x4.add (i32x4.splat ${get("j")}) ${lanes}) (i32x4.splat ${get("hi")}))`));
  out.push(`(if ${get("keep")} (then ${set("valid", `(v128.and ${get("valid")} (f32x4.ne (v128.load (i32.add ${get("keep")} (i32.shl (i32.add (i32.mul ${get("b")} ${get("Sk")}) ${get("j")}) (i32.const 2)))) (v128.const i32x4 0 0 0 0)))`)}))`);
  return out.join("\n");
}

/**
 * The loops around `body`, with $qp (this row's q) set: over units — (batch, head) pairs for the
 * forward, (batch, KV head) pairs for the backward, whose query heads are the KV head's GQA
 * group — then query rows, then the unit's heads. Threads split the units ($tid's share): a
 * backward unit owns its KV head's dk and dv rows, so no two threads accumulate into one, and
 * each dk / dv row still sums its (row, head) terms in the order one thread would.
 */
function rowLoops(f: Func, s: AttentionTrainSpec, body: string, unit: "head" | "group"): string {
  f.local("i32", "b", "i", "h", "j", "row", "qp", "kp", "vp", "rowK", "u", "u1", "units", "h0", "h1", "per");
  const D4 = s.headDim * 4;
  const setUnit =
    unit === "head"
      ? `(local.set $b (i32.div_u ${get("u")} ${get("H")}))
    (local.set $h0 (i32.rem_u ${get("u")} ${get("H")}))
    (local.set $h1 (i32.add ${get("h0")} (i32.const 1)))`
      : `(local.set $b (i32.div_u ${get("u")} ${get("KVH")}))
    (local.set $h0 (i32.mul (i32.rem_u ${get("u")} ${get("KVH")}) ${get("per")}))
    (local.set $h1 (i32.add ${get("h0")} ${get("per")}))`;
  return `
  (local.set $rowK (i32.mul ${get("KVH")} ${i32(D4)}))
  (local.set $per (i32.div_u ${get("H")} ${get("KVH")}))
  (local.set $units (i32.mul ${get("B")} ${unit === "head" ? get("H") : get("KVH")}))
  (local.set $u (i32.div_u (i32.mul ${get("units")} (global.get $tid)) (global.get $nth)))
  (local.set $u1 (i32.div_u (i32.mul ${get("units")} (i32.add (global.get $tid) (i32.const 1))) (global.get $nth)))
  (block $B_u (loop $L_u (br_if $B_u (i32.ge_s ${get("u")} ${get("u1")}))
    ${setUnit}
    (local.set $i (i32.const 0))
    (block $B_i (loop $L_i (br_if $B_i (i32.ge_s ${get("i")} ${get("S")}))
      (local.set $h ${get("h0")})
      (block $B_h (loop $L_h (br_if $B_h (i32.ge_s ${get("h")} ${get("h1")}))
        (local.set $row (i32.add (i32.mul (i32.add (i32.mul ${get("b")} ${get("S")}) ${get("i")}) ${get("H")}) ${get("h")}))
        (local.set $qp (i32.mul ${get("row")} ${i32(D4)}))
        ${rowSetup(f)}
        (block $B_row ${body})
        (local.set $h (i32.add ${get("h")} (i32.const 1))) (br $L_h)))
      (local.set $i (i32.add ${get("i")} (i32.const 1))) (br $L_i)))
    (local.set $u (i32.add ${get("u")} (i32.const 1))) (br $L_u)))`;
}

/** Byte address of key row j (this batch, this kv head) in buffer `base`. */
const keyRow = (base: string, D4: number) => `(i32.add ${get(base)} (i32.mul (i32.add (i32.mul (i32.add (i32.mul ${get("b")} ${get("Sk")}) ${get("j")}) ${get("KVH")}) ${get("kvh")}) ${i32(D4)}))`;

/** (func $attn_fwd (param q k v out ml keep slopes hw B S Sk H KVH causal win)): ml = (max, denominator) per row. */
export function emitAttentionForward(fl: EmitFlags, s: AttentionTrainSpec): string {
  if (s.headDim % 4 !== 0) throw new Error(`wasm training attention: head dim ${s.headDim} is not a multiple of 4`);
  const nv = s.headDim / 4;
  const D4 = s.headDim * 4;
  const f = new Func("attn_fwd", ["q", "k", "v", "out", "ml", ...PARAMS_COMMON], undefined, `training attention forward, head dim ${s.headDim}`);
  f.local("v128", ...Array.from({ length: nv }, (_, v) => `qv${v}`), ...Array.from({ length: nv }, (_, v) => `acc${v}`), "p", "pt", "x", "e", "bm");
  f.local("f32", "m", "l", "mnew", "c");
  const lanes = (e: string, t: number) => `(f32x4.extract_lane ${t} ${e})`;
  const body = `
        ${Array.from({ length: nv }, (_, v) => set(`qv${v}`, `(f32x4.mul (v128.load offset=${v * 16} (i32.add ${get("q")} ${get("qp")})) ${splat(s.scale)})`)).join("\n")}
        ${Array.from({ length: nv }, (_, v) => set(`acc${v}`, "(v128.const i32x4 0 0 0 0)")).join("\n")}
        (local.set $m ${f32(-3e38)})
        (local.set $l (f32.const 0))
        (local.set $j ${get("lo")})
        (block $B_j (loop $L_j (br_if $B_j (i32.ge_s ${get("j")} ${get("hi")}))
          (local.set $kp ${keyRow("k", D4)})
          (local.set $vp ${keyRow("v", D4)})
          ${blockScores(f, fl, s, nv)}
          (local.set $s (v128.bitselect ${get("s")} ${splat(-3e38)} ${get("valid")}))
          (local.set $bm (f32x4.pmax ${get("s")} (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${get("s")} ${get("s")})))
          (local.set $bm (f32x4.pmax ${get("bm")} (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 ${get("bm")} ${get("bm")})))
          (local.set $mnew ${lanes(get("bm"), 0)})
          (if (f32.gt ${get("mnew")} ${get("m")}) (then
            (local.set $x (f32x4.splat (f32.sub ${get("m")} ${get("mnew")})))
            ${expV(f, fl, "e", "x")}
            (local.set $c ${lanes(get("e"), 0)})
            (local.set $l (f32.mul ${get("l")} ${get("c")}))
            ${Array.from({ length: nv }, (_, v) => set(`acc${v}`, `(f32x4.mul ${get(`acc${v}`)} (f32x4.splat ${get("c")}))`)).join("\n")}
            (local.set $m ${get("mnew")})))
          (local.set $x (f32x4.sub ${get("s")} (f32x4.splat ${get("m")})))
          ${expV(f, fl, "p", "x")}
          (local.set $p (v128.and ${get("p")} ${get("valid")}))
          (local.set $l (f32.add ${get("l")} (call $hsum ${get("p")})))
          ${[0, 1, 2, 3]
            .map((t) => [set("pt", `(f32x4.splat ${lanes(get("p"), t)})`), ...Array.from({ length: nv }, (_, v) => set(`acc${v}`, madd(fl, get("pt"), `(v128.load offset=${v * 16} (i32.add ${get("vp")} (i32.mul ${i32(t)} ${get("rowK")})))`, get(`acc${v}`))))].join("\n"))
            .join("\n")}
          (local.set $j (i32.add ${get("j")} (i32.const 4))) (br $L_j)))
        (f32.store (i32.add ${get("ml")} (i32.shl ${get("row")} (i32.const 3))) ${get("m")})
        (f32.store offset=4 (i32.add ${get("ml")} (i32.shl ${get("row")} (i32.const 3))) ${get("l")})
        (if (f32.gt ${get("l")} (f32.const 0)) (then
          (local.set $x (f32x4.splat (f32.div (f32.const 1) ${get("l")})))
          ${Array.from({ length: nv }, (_, v) => `(v128.store offset=${v * 16} (i32.add ${get("out")} ${get("qp")}) (f32x4.mul ${get(`acc${v}`)} ${get("x")}))`).join("\n")})
         (else
          ${Array.from({ length: nv }, (_, v) => `(v128.store offset=${v * 16} (i32.add ${get("out")} ${get("qp")}) (v128.const i32x4 0 0 0 0))`).join("\n")}))`;
  return f.text(rowLoops(f, s, body, "head"));
}

/**
 * (func $attn_bwd (param q k v out do lse dq dk dv keep slopes hw B S Sk H KVH causal win)):
 * accumulates dq, dk, dv. A row whose lse is −inf saw no key and passes no gradient.
 */
export function emitAttentionBackward(fl: EmitFlags, s: AttentionTrainSpec): string {
  if (s.headDim % 4 !== 0) throw new Error(`wasm training attention: head dim ${s.headDim} is not a multiple of 4`);
  const nv = s.headDim / 4;
  const D4 = s.headDim * 4;
  const f = new Func("attn_bwd", ["q", "k", "v", "out", "do", "lse", "dq", "dk", "dv", ...PARAMS_COMMON], undefined, `training attention backward, head dim ${s.headDim}`);
  const qv = (v: number) => `qv${v}`;
  const dov = (v: number) => `dov${v}`;
  f.local("v128", ...Array.from({ length: nv }, (_, v) => qv(v)), ...Array.from({ length: nv }, (_, v) => dov(v)), ...Array.from({ length: nv }, (_, v) => `dqa${v}`));
  f.local("v128", "p", "pt", "dt", "x", "dp", "ds", "Dv");
  f.local("f32", "L", "Dsum");
  f.local("i32", "dkp", "dvp", "jt");
  const lane = (e: string, t: number) => `(f32x4.extract_lane ${t} ${e})`;
  const capFactor =
    s.softcap === undefined
      ? ""
      : set("ds", `(f32x4.mul ${get("ds")} (f32x4.sub ${splat(1)} (f32x4.mul (f32x4.mul ${get("sc")} ${get("sc")}) ${splat(1 / (s.softcap * s.softcap))})))`);
  const perKey = (t: number) => `
          (local.set $jt (i32.add ${get("j")} ${i32(t)}))
          (if (i32.lt_s ${get("jt")} ${get("hi")}) (then
            (local.set $pt (f32x4.splat ${lane(get("p"), t)}))
            (local.set $dt (f32x4.splat ${lane(get("ds"), t)}))
            ${Array.from({ length: nv }, (_, v) => {
              const o = `(i32.add (i32.mul ${i32(t)} ${get("rowK")}) ${i32(v * 16)})`;
              return [
                `(v128.store (i32.add ${get("dvp")} ${o}) ${madd(fl, get("pt"), get(dov(v)), `(v128.load (i32.add ${get("dvp")} ${o}))`)})`,
                set(`dqa${v}`, madd(fl, get("dt"), `(v128.load (i32.add ${get("kp")} ${o}))`, get(`dqa${v}`))),
                `(v128.store (i32.add ${get("dkp")} ${o}) ${madd(fl, get("dt"), get(qv(v)), `(v128.load (i32.add ${get("dkp")} ${o}))`)})`,
              ].join("\n");
            }).join("\n")}))`;
  const body = `
        (local.set $L (f32.load (i32.add ${get("lse")} (i32.shl ${get("row")} (i32.const 2)))))
        (br_if $B_row (f32.eq ${get("L")} (f32.const -inf)))
        (local.set $Dv (v128.const i32x4 0 0 0 0))
        ${Array.from({ length: nv }, (_, v) =>
          [
            set(qv(v), `(f32x4.mul (v128.load offset=${v * 16} (i32.add ${get("q")} ${get("qp")})) ${splat(s.scale)})`),
            set(dov(v), `(v128.load offset=${v * 16} (i32.add ${get("do")} ${get("qp")}))`),
            set("Dv", madd(fl, get(dov(v)), `(v128.load offset=${v * 16} (i32.add ${get("out")} ${get("qp")}))`, get("Dv"))),
            set(`dqa${v}`, "(v128.const i32x4 0 0 0 0)"),
          ].join("\n"),
        ).join("\n")}
        (local.set $Dsum (call $hsum ${get("Dv")}))
        (local.set $j ${get("lo")})
        (block $B_j (loop $L_j (br_if $B_j (i32.ge_s ${get("j")} ${get("hi")}))
          (local.set $kp ${keyRow("k", D4)})
          (local.set $vp ${keyRow("v", D4)})
          (local.set $dkp ${keyRow("dk", D4)})
          (local.set $dvp ${keyRow("dv", D4)})
          ${blockScores(f, fl, s, nv, { acc: "dp", vec: (v) => get(dov(v)), from: "vp" })}
          (local.set $x (f32x4.sub ${get("s")} (f32x4.splat ${get("L")})))
          ${expV(f, fl, "p", "x")}
          (local.set $p (v128.and ${get("p")} ${get("valid")}))
          (local.set $ds (f32x4.mul ${get("p")} (f32x4.sub ${get("dp")} (f32x4.splat ${get("Dsum")}))))
          ${capFactor}
          ${[0, 1, 2, 3].map(perKey).join("\n")}
          (local.set $j (i32.add ${get("j")} (i32.const 4))) (br $L_j)))
        ${Array.from({ length: nv }, (_, v) => `(v128.store offset=${v * 16} (i32.add ${get("dq")} ${get("qp")}) ${madd(fl, get(`dqa${v}`), splat(s.scale), `(v128.load offset=${v * 16} (i32.add ${get("dq")} ${get("qp")}))`)})`).join("\n")}`;
  return f.text(rowLoops(f, s, body, "group"));
}
