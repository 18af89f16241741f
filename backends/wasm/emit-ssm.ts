// Mamba-1 on Wasm: the causal depthwise conv and the selective scan, SIMD over four channels
// at a time. Work items are (sequence, group of 4 channels), spread over the threads; each walks
// its rows in time order, which is the whole of the dependence (channels never mix), so a
// prefill of n tokens costs one pass over them and a decode step of one token O(E · N).
// The states live in the slot (the conv's last width − 1 inputs; h), laid out [·, E4] with
// E4 = E rounded up to 4, so every state access is a whole vector a single item owns. The
// last group of an E that is not a multiple of 4 stores only its real lanes into the arena.

import { activationV, expV } from "./emit-math.ts";
import { storeLanes } from "./emit-rows.ts";
import type { WOp } from "./ops.ts";
import { DESC, SLOT } from "./plan.ts";
import { type EmitFlags, f32, Func, get, i32, loadV, madd, set, splat, splatLoad, storeV } from "./wat.ts";

type ConvOp = Extract<WOp, { op: "ssm_conv" }>;
type ScanOp = Extract<WOp, { op: "ssm_scan" }>;

const v = (op: string, ...args: string[]): string => `(f32x4.${op} ${args.join(" ")})`;
const groups = (e: number): number => Math.ceil(e / 4);
/** E rounded up to whole vectors: the row width of the states. */
export const paddedChannels = (e: number): number => 4 * groups(e);

// Weight addresses are baked in, so each layer has its own kernel: the names carry the slot.
export const ssmConvName = (op: ConvOp): string => `ssm_conv_e${op.channels}_w${op.rowWidth}_k${op.width}${op.bias ? "_b" : ""}_slot${op.slot}`;
export const ssmScanName = (op: ScanOp): string => `ssm_scan_e${op.inner}_n${op.stateSize}_r${op.dtRank}_slot${op.slot}`;

/**
 * A vector of per-channel weights w[(e0 + l) · stride + j] for lanes l, 0 past the last channel
 * (lanes only the last group has).
 */
function gather(base: number, stride: number, j: string, channels: number): string {
  let out = "(v128.const i32x4 0 0 0 0)";
  for (let l = 0; l < 4; l++) {
    const idx = `(i32.add (i32.mul (i32.add ${get("e0")} ${i32(l)}) ${i32(stride)}) ${j})`;
    const load = `(f32.load (i32.add ${i32(base)} (i32.shl ${idx} (i32.const 2))))`;
    const lane = channels % 4 === 0 ? load : `(if (result f32) (i32.lt_s (i32.add ${get("e0")} ${i32(l)}) ${i32(channels)}) (then ${load}) (else ${f32(0)}))`;
    out = `(f32x4.replace_lane ${l} ${out} ${lane})`;
  }
  return out;
}

/** Stores vector local `x` at channel group $e0 of a row at `addr`: the tail group only its real lanes. */
function storeGroup(addr: string, x: string, channels: number): string {
  const tail = channels % 4;
  if (tail === 0) return storeV(addr, get(x));
  return `(if (i32.eq ${get("e0")} ${i32(channels - tail)}) (then ${storeLanes(addr, x, tail, 0)}) (else ${storeV(addr, get(x))}))`;
}

/** The items loop: item w = (sequence $s, channel group starting at $e0), strided over threads. */
function items(g: string, channels: number, perItem: string): string {
  const G = groups(channels);
  return `(local.set $items (i32.mul ${g} ${i32(G)}))
  (local.set $w (global.get $tid))
  (block $B_items (loop $L_items
    (br_if $B_items (i32.ge_s ${get("w")} ${get("items")}))
    (local.set $s (i32.div_u ${get("w")} ${i32(G)}))
    (local.set $e0 (i32.shl (i32.rem_u ${get("w")} ${i32(G)}) (i32.const 2)))
    ${perItem}
    (local.set $w (i32.add ${get("w")} (global.get $nth)))
    (br $L_items)))`;
}

/** out[s, t, e] = silu(bias[e] + Σ_k w[e, k] · x[s, t − (K − 1) + k, e]); the window carried in the slot. */
export function emitSsmConv(fl: EmitFlags, op: ConvOp, desc: number, weightAddr: number, biasAddr: number | undefined): string {
  const E = op.channels;
  const K = op.width;
  const E4 = paddedChannels(E);
  const f = new Func(ssmConvName(op), ["x", "out", "sd"], undefined, `causal depthwise conv: ${E} channels, width ${K}, then silu`);
  f.local("i32", "g", "n", "kb", "items", "w", "s", "e0", "t", "cp", "row");
  const taps = Array.from({ length: K }, (_, k) => `tap${k}`);
  const win = Array.from({ length: K - 1 }, (_, k) => `win${k}`);
  f.local("v128", "bias", "x0", "acc", ...taps, ...win);
  const winAt = (k: number) => `(i32.add ${get("cp")} ${i32(k * E4 * 4)})`;
  const perItem = `
    (local.set $cp (i32.add ${get("kb")} (i32.shl (i32.add (i32.mul ${get("s")} ${i32((K - 1) * E4)}) ${get("e0")}) (i32.const 2))))
    ${taps.map((t, k) => set(t, gather(weightAddr, K, i32(k), E))).join("\n")}
    ${set("bias", biasAddr === undefined ? "(v128.const i32x4 0 0 0 0)" : gather(biasAddr, 1, i32(0), E))}
    ${win.map((w, k) => set(w, loadV(winAt(k)))).join("\n")}
    (local.set $t (i32.const 0))
    (block $B_t (loop $L_t
      (br_if $B_t (i32.ge_s ${get("t")} ${get("n")}))
      (local.set $row (i32.add (i32.mul ${get("s")} ${get("n")}) ${get("t")}))
      ${set("x0", loadV(`(i32.add ${get("x")} (i32.shl (i32.add (i32.mul ${get("row")} ${i32(op.rowWidth)}) ${get("e0")}) (i32.const 2)))`))}
      ${set("acc", madd(fl, get(taps[K - 1]), get("x0"), get("bias")))}
      ${win.map((w, k) => set("acc", madd(fl, get(taps[k]), get(w), get("acc")))).join("\n")}
      ${win.map((w, k) => set(w, get(k + 1 < K - 1 ? win[k + 1] : "x0"))).join("\n")}
      ${activationV(f, fl, "silu", "y", "acc")}
      ${storeGroup(`(i32.add ${get("out")} (i32.shl (i32.add (i32.mul ${get("row")} ${i32(E)}) ${get("e0")}) (i32.const 2)))`, "y", E)}
      (local.set $t (i32.add ${get("t")} (i32.const 1)))
      (br $L_t)))
    ${win.map((w, k) => storeV(winAt(k), get(w))).join("\n")}`;
  return f.text(`(local.set $g (i32.load ${i32(desc + DESC.g)}))
  (local.set $n (i32.load ${i32(desc + DESC.n)}))
  (local.set $kb (i32.load offset=${SLOT.k} ${get("sd")}))
  ${items(get("g"), E, perItem)}`);
}

/**
 * softplus(x) = max(x, 0) + log1p(e^−|x|): log1p(y), y ∈ (0, 1], as 2·atanh(s), s = y / (2 + y)
 * ≤ 1/3, by its odd series to s^15 (the next term is below 2⁻²⁵ relative). Equal to torch's
 * thresholded softplus within f32 for every x.
 */
export function softplusV(f: Func, fl: EmitFlags, out: string, x: string): string {
  const a = `${out}_a`;
  const y = `${out}_y`;
  const s = `${out}_s`;
  const s2 = `${out}_s2`;
  const p = `${out}_p`;
  f.local("v128", out, a, s, s2, p);
  let poly = splat(1 / 15);
  for (const k of [13, 11, 9, 7, 5, 3, 1]) poly = madd(fl, poly, get(s2), splat(1 / k));
  return [
    set(a, v("neg", v("abs", get(x)))),
    expV(f, fl, y, a),
    set(s, v("div", get(y), v("add", get(y), splat(2)))),
    set(s2, v("mul", get(s), get(s))),
    set(p, poly),
    set(out, v("add", v("pmax", get(x), splat(0)), v("mul", v("mul", get(s), splat(2)), get(p)))),
  ].join("\n");
}

export interface ScanAddrs {
  dtWeight: number;
  dtBias: number;
  aLog: number;
  d: number;
}

/** The selective scan of ir.ts's ssm_scan; h [N, E4] per sequence in the slot. */
export function emitSsmScan(fl: EmitFlags, op: ScanOp, desc: number, scratch: number, scratchBytes: number, w: ScanAddrs): string {
  const { inner: E, stateSize: N, dtRank: R } = op;
  const E4 = paddedChannels(E);
  const P = R + 2 * N;
  const f = new Func(ssmScanName(op), ["u", "proj", "z", "out", "sd"], undefined, `selective scan: ${E} channels, state ${N}, dt rank ${R}`);
  f.local("i32", "g", "n", "kb", "items", "w", "s", "e0", "t", "row", "pr", "hp", "j", "scr", "ap");
  f.local("v128", "dtb", "dd", "acc", "x0", "dtx", "y", "h", "arg", "zz");
  // Per item: the group's dt_proj columns (R vectors), then A = −exp(A_log) (N vectors).
  const col = (j: string) => `(i32.add ${get("scr")} (i32.shl ${j} (i32.const 4)))`;
  const perItem = `
    ${set("dtb", gather(w.dtBias, 1, i32(0), E))}
    ${set("dd", gather(w.d, 1, i32(0), E))}
    (local.set $j (i32.const 0))
    (block $B_wr (loop $L_wr
      (br_if $B_wr (i32.ge_s ${get("j")} ${i32(R)}))
      ${storeV(col(get("j")), gather(w.dtWeight, R, get("j"), E))}
      (local.set $j (i32.add ${get("j")} (i32.const 1)))
      (br $L_wr)))
    (local.set $j (i32.const 0))
    (block $B_a (loop $L_a
      (br_if $B_a (i32.ge_s ${get("j")} ${i32(N)}))
      ${set("arg", gather(w.aLog, N, get("j"), E))}
      ${expV(f, fl, "ea", "arg")}
      ${storeV(col(`(i32.add ${get("j")} ${i32(R)})`), v("neg", get("ea")))}
      (local.set $j (i32.add ${get("j")} (i32.const 1)))
      (br $L_a)))
    (local.set $t (i32.const 0))
    (block $B_t (loop $L_t
      (br_if $B_t (i32.ge_s ${get("t")} ${get("n")}))
      (local.set $row (i32.add (i32.mul ${get("s")} ${get("n")}) ${get("t")}))
      (local.set $pr (i32.add ${get("proj")} (i32.mul ${get("row")} ${i32(P * 4)})))
      ${set("acc", get("dtb"))}
      (local.set $j (i32.const 0))
      (block $B_r (loop $L_r
        (br_if $B_r (i32.ge_s ${get("j")} ${i32(R)}))
        ${set("acc", madd(fl, splatLoad(`(i32.add ${get("pr")} (i32.shl ${get("j")} (i32.const 2)))`), loadV(col(get("j"))), get("acc")))}
        (local.set $j (i32.add ${get("j")} (i32.const 1)))
        (br $L_r)))
      ${softplusV(f, fl, "dt", "acc")}
      ${set("x0", loadV(`(i32.add ${get("u")} (i32.shl (i32.add (i32.mul ${get("row")} ${i32(E)}) ${get("e0")}) (i32.const 2)))`))}
      ${set("dtx", v("mul", get("dt"), get("x0")))}
      ${set("y", v("mul", get("dd"), get("x0")))}
      (local.set $hp (i32.add ${get("kb")} (i32.shl (i32.add (i32.mul ${get("s")} ${i32(N * E4)}) ${get("e0")}) (i32.const 2))))
      (local.set $ap (i32.add ${get("pr")} ${i32(R * 4)}))
      (local.set $j (i32.const 0))
      (block $B_n (loop $L_n
        (br_if $B_n (i32.ge_s ${get("j")} ${i32(N)}))
        ${set("arg", v("mul", get("dt"), loadV(col(`(i32.add ${get("j")} ${i32(R)})`))))}
        ${expV(f, fl, "da", "arg")}
        ${set("h", madd(fl, get("da"), loadV(get("hp")), v("mul", get("dtx"), splatLoad(get("ap")))))}
        ${storeV(get("hp"), get("h"))}
        ${set("y", madd(fl, get("h"), splatLoad(get("ap"), N * 4), get("y")))}
        (local.set $hp (i32.add ${get("hp")} ${i32(E4 * 4)}))
        (local.set $ap (i32.add ${get("ap")} (i32.const 4)))
        (local.set $j (i32.add ${get("j")} (i32.const 1)))
        (br $L_n)))
      ${set("zz", loadV(`(i32.add ${get("z")} (i32.shl (i32.add (i32.mul ${get("row")} ${i32(2 * E)}) (i32.add ${get("e0")} ${i32(E)})) (i32.const 2)))`))}
      ${activationV(f, fl, "silu", "gz", "zz")}
      ${set("y", v("mul", get("y"), get("gz")))}
      ${storeGroup(`(i32.add ${get("out")} (i32.shl (i32.add (i32.mul ${get("row")} ${i32(E)}) ${get("e0")}) (i32.const 2)))`, "y", E)}
      (local.set $t (i32.add ${get("t")} (i32.const 1)))
      (br $L_t)))`;
  return f.text(`(local.set $g (i32.load ${i32(desc + DESC.g)}))
  (local.set $n (i32.load ${i32(desc + DESC.n)}))
  (local.set $kb (i32.load offset=${SLOT.k} ${get("sd")}))
  (local.set $scr (i32.add ${i32(scratch)} (i32.mul (global.get $tid) ${i32(scratchBytes)})))
  ${items(get("g"), E, perItem)}`);
}
