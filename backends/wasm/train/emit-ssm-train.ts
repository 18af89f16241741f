// Mamba-1 training kernels on Wasm SIMD: the causal depthwise conv (+ silu) and the selective
// scan, forward and vector–Jacobian product, the formulas of backends/reference/backward/ssm.ts
// in f32, four channels per vector. Channels never mix in either op, so a work item is one
// group of four channels (all sequences of the batch), walked in time order; items are strided
// over $tid / $nth (one thread: all of them).
//
// Layouts (the host packs them, ssm-kernels.ts): every [rows, channels] tensor is [rows, E4],
// E4 = channels rounded up to 4, with zeros in the padding lanes, so every access is a whole
// vector and no kernel needs a tail case. Zero padding is inert: u = z = dOut = 0 there gives
// h = y = 0 and zero gradients, and the packed weights are 0 (A = 0: decay 1, finite).
// Per-channel parameters are packed as rows of E4 too:
//   conv  pk = [K taps][E4] then bias [E4]                 (dpk: the same, accumulated)
//   scan  pk = dtWeight [R][E4], dtBias [E4], A = −exp(A_log) [N][E4], D [E4]
//         dpk = the same rows, with ∂/∂A_log in A's place   (accumulated)
// The cross-channel sums (the scan's ∂proj: dt, B and C are shared by every channel of a row)
// are accumulated as vectors, dpp [nth][rows][P] of f32x4 partial sums, whose lanes (and
// threads' copies) the host adds: no horizontal add in the inner loop, one writer per copy.
//
// WHAT THE BACKWARD KEEPS: the engine's tape holds only the op's inputs, so the scan's backward
// reruns its forward. It does so one item at a time, storing h_t and exp(δ_t a) for every step
// of that item's sequence (2 · seq · N vectors, plus δ_t and sigmoid(p_t) per step) in the
// thread's scratch, then walks the sequence backwards: O(seq · N · 4) floats live at once, never
// the [batch, seq, inner, state] tensor. (Per group, not per chunk of time: on a CPU the group's
// whole sequence fits in L2 — 2 × 64 steps × 16 states × 16 B = 32 KiB for the copy experiment —
// and a rerun per chunk would cost a third forward.) The conv's backward recomputes its pre-activations.

import { activationV, expV } from "../emit-math.ts";
import { paddedChannels, softplusV } from "../emit-ssm.ts";
import { type EmitFlags, Func, get, i32, loadV, madd, set, splat, splatLoad, storeV } from "../wat.ts";

const v = (op: string, ...args: string[]): string => `(f32x4.${op} ${args.join(" ")})`;
const add = (a: string, b: string): string => `(i32.add ${a} ${b})`;
const ZERO = "(v128.const i32x4 0 0 0 0)";

export interface SsmConvTrainSpec {
  channels: number;
  width: number;
}
export interface SsmScanTrainSpec {
  inner: number;
  stateSize: number;
  dtRank: number;
}

/** Bytes of the scan backward's scratch per thread for `seq` steps: h_0..h_seq, exp(δ a) per step, δ, sigmoid(p), dh. */
export const scanScratchBytes = (seq: number, N: number): number => ((seq + 1) * N + seq * N + 2 * seq + N) * 16;

/** out = sigmoid(x) = 1 / (1 + e^−x). */
function sigmoidV(f: Func, fl: EmitFlags, out: string, x: string): string {
  f.local("v128", out, `${out}_u`);
  return [set(`${out}_u`, v("neg", get(x))), expV(f, fl, `${out}_e`, `${out}_u`), set(out, v("div", splat(1), v("add", get(`${out}_e`), splat(1))))].join("\n");
}

/** silu'(x) = s (1 + x (1 − s)), s = sigmoid(x) (`s` already set). */
const siluGradV = (fl: EmitFlags, x: string, s: string): string => v("mul", get(s), madd(fl, get(x), v("sub", splat(1), get(s)), splat(1)));

/** `(local.set $acc …)` += a · b, the vector at `addr`: load, multiply-add, store. */
const accumulate = (fl: EmitFlags, addr: string, a: string, b: string, o = 0): string => storeV(addr, madd(fl, a, b, loadV(addr, o)), o);

/** A counted loop: `name` from `from` to `to` (exclusive) over `body`. */
function loop(name: string, from: string, to: string, body: string): string {
  return `(local.set $${name} ${from})
  (block $B_${name} (loop $L_${name}
    (br_if $B_${name} (i32.ge_s ${get(name)} ${to}))
    ${body}
    (local.set $${name} (i32.add ${get(name)} (i32.const 1)))
    (br $L_${name})))`;
}

/** The items loop: channel groups $g strided over threads, $e0b the group's byte offset in a row. */
function groupsLoop(G: number, body: string): string {
  return `(local.set $g (global.get $tid))
  (block $B_g (loop $L_g
    (br_if $B_g (i32.ge_s ${get("g")} ${i32(G)}))
    (local.set $e0b (i32.shl ${get("g")} (i32.const 4)))
    ${body}
    (local.set $g (i32.add ${get("g")} (global.get $nth)))
    (br $L_g)))`;
}

/** The conv's pre-activation at row byte offset $at, time $t, into $acc (taps in $tap0…). */
function convPre(fl: EmitFlags, E4B: number, K: number): string {
  const lags = Array.from({ length: K - 1 }, (_, i) => i + 1);
  return [
    set("x0", loadV(add(get("x"), get("at")))),
    set("acc", madd(fl, get(`tap${K - 1}`), get("x0"), get("bias"))),
    // Lag j reads row t − j, which exists from t = j on (the zero padding before the sequence).
    ...lags.map((j) => `(if (i32.ge_s ${get("t")} ${i32(j)}) (then ${set("acc", madd(fl, get(`tap${K - 1 - j}`), loadV(`(i32.sub ${add(get("x"), get("at"))} ${i32(j * E4B)})`), get("acc")))}))`),
  ].join("\n");
}

/** Rows of the batch for the current group: $b, $t, with $at = row · E4B + $e0b. */
function rowsLoop(E4B: number, body: string): string {
  return loop(
    "b",
    i32(0),
    get("batch"),
    `(local.set $at (i32.add (i32.mul (i32.mul ${get("b")} ${get("seq")}) ${i32(E4B)}) ${get("e0b")}))
    ${loop("t", i32(0), get("seq"), `${body}\n(local.set $at (i32.add ${get("at")} ${i32(E4B)}))`)}`,
  );
}

/** (func $name (param $x $pk $out $batch $seq)): out = silu(bias + Σ_k w_k · x[t − (K − 1) + k]). */
export function emitSsmConvForward(fl: EmitFlags, s: SsmConvTrainSpec, name: string): string {
  const E4 = paddedChannels(s.channels);
  const K = s.width;
  const E4B = E4 * 4;
  const f = new Func(name, ["x", "pk", "out", "batch", "seq"], undefined, `ssm conv forward: ${s.channels} channels, width ${K}`);
  const taps = Array.from({ length: K }, (_, k) => `tap${k}`);
  f.local("i32", "g", "e0b", "b", "t", "at", "pg");
  f.local("v128", "bias", "x0", "acc", ...taps);
  const body = `
    (local.set $pg (i32.add ${get("pk")} ${get("e0b")}))
    ${taps.map((t, k) => set(t, loadV(get("pg"), k * E4B))).join("\n")}
    ${set("bias", loadV(get("pg"), K * E4B))}
    ${rowsLoop(E4B, `${convPre(fl, E4B, K)}\n${activationV(f, fl, "silu", "y", "acc")}\n${storeV(add(get("out"), get("at")), get("y"))}`)}`;
  return f.text(groupsLoop(E4 / 4, body));
}

/**
 * (func $name (param $dout $x $pk $dx $dpk $batch $seq)): with g_t = dOut_t · silu'(pre_t),
 * dbias += Σ g, dw_k += Σ g_t x[t − (K − 1) + k], dx[t − (K − 1) + k] += g_t w_k (dx zeroed by
 * the caller; the group's dw and dbias summed in registers, added to dpk once).
 */
export function emitSsmConvBackward(fl: EmitFlags, s: SsmConvTrainSpec, name: string): string {
  const E4 = paddedChannels(s.channels);
  const K = s.width;
  const E4B = E4 * 4;
  const f = new Func(name, ["dout", "x", "pk", "dx", "dpk", "batch", "seq"], undefined, `ssm conv backward: ${s.channels} channels, width ${K}`);
  const taps = Array.from({ length: K }, (_, k) => `tap${k}`);
  const dtaps = taps.map((t) => `d${t}`);
  f.local("i32", "g", "e0b", "b", "t", "at", "pg", "lag");
  f.local("v128", "bias", "dbias", "x0", "acc", "gg", ...taps, ...dtaps);
  const lagged = Array.from({ length: K - 1 }, (_, i) => i + 1).map((j) => {
    const k = K - 1 - j;
    return `(if (i32.ge_s ${get("t")} ${i32(j)}) (then
        (local.set $lag (i32.sub ${get("at")} ${i32(j * E4B)}))
        ${set(dtaps[k], madd(fl, get("gg"), loadV(add(get("x"), get("lag"))), get(dtaps[k])))}
        ${accumulate(fl, add(get("dx"), get("lag")), get("gg"), get(taps[k]))}))`;
  });
  const perRow = `${convPre(fl, E4B, K)}
    ${sigmoidV(f, fl, "sg", "acc")}
    ${set("gg", v("mul", loadV(add(get("dout"), get("at"))), siluGradV(fl, "acc", "sg")))}
    ${set("dbias", v("add", get("dbias"), get("gg")))}
    ${set(dtaps[K - 1], madd(fl, get("gg"), get("x0"), get(dtaps[K - 1])))}
    ${accumulate(fl, add(get("dx"), get("at")), get("gg"), get(taps[K - 1]))}
    ${lagged.join("\n")}`;
  const body = `
    (local.set $pg (i32.add ${get("pk")} ${get("e0b")}))
    ${taps.map((t, k) => set(t, loadV(get("pg"), k * E4B))).join("\n")}
    ${set("bias", loadV(get("pg"), K * E4B))}
    ${[...dtaps, "dbias"].map((d) => set(d, ZERO)).join("\n")}
    ${rowsLoop(E4B, perRow)}
    (local.set $pg (i32.add ${get("dpk")} ${get("e0b")}))
    ${dtaps.map((d, k) => storeV(get("pg"), v("add", loadV(get("pg"), k * E4B), get(d)), k * E4B)).join("\n")}
    ${storeV(get("pg"), v("add", loadV(get("pg"), K * E4B), get("dbias")), K * E4B)}`;
  return f.text(groupsLoop(E4 / 4, body));
}

/** Offsets (bytes, within a group's column of pk / dpk) of the scan's packed parameter rows. */
function scanRows(s: SsmScanTrainSpec) {
  const E4B = paddedChannels(s.inner) * 4;
  const R = s.dtRank;
  const N = s.stateSize;
  return { E4B, w: 0, dtb: R * E4B, a: (R + 1) * E4B, d: (R + 1 + N) * E4B };
}

/** δ = softplus(dtBias + Σ_r W_r proj[row, r]) for the row at $pr, into $dt (and the pre-activation in $acc). */
function dtOf(f: Func, fl: EmitFlags, s: SsmScanTrainSpec, E4B: number): string {
  return `${set("acc", get("dtb"))}
      (local.set $wp ${get("pg")})
      ${loop("r", i32(0), i32(s.dtRank), `${set("acc", madd(fl, splatLoad(add(get("pr"), `(i32.shl ${get("r")} (i32.const 2))`)), loadV(get("wp")), get("acc")))}
        (local.set $wp (i32.add ${get("wp")} ${i32(E4B)}))`)}
      ${softplusV(f, fl, "dt", "acc")}`;
}

/**
 * One step of the forward recurrence over the N states: h = exp(δ a_n) h_prev + δ x B_n, with
 * h_prev at $hp, h stored at $hq (the same address in the forward); the forward adds C_n h to y,
 * the backward's rerun keeps exp(δ a_n) at $dcp (its reverse step needs it again). The forward
 * unrolls the states (constant offsets, no loop; measured 1.6× faster at N = 16); in the
 * backward's larger function unrolling measured slower, so the rerun keeps the loop.
 */
function stateStep(f: Func, fl: EmitFlags, s: SsmScanTrainSpec, rows: ReturnType<typeof scanRows>, forward: boolean): string {
  const N = s.stateSize;
  const setup = `(local.set $ap (i32.add ${get("pg")} ${i32(rows.a)}))
      (local.set $bp (i32.add ${get("pr")} ${i32(s.dtRank * 4)}))`;
  const step = (n: number) => `${set("arg", v("mul", get("dt"), loadV(get("ap"), n * rows.E4B)))}
        ${expV(f, fl, "da", "arg")}
        ${set("h", madd(fl, get("da"), loadV(get("hp"), n * 16), v("mul", get("dtx"), splatLoad(get("bp"), n * 4))))}
        ${storeV(get("hq"), get("h"), n * 16)}
        ${forward ? set("y", madd(fl, get("h"), splatLoad(get("bp"), (N + n) * 4), get("y"))) : storeV(get("dcp"), get("da"), n * 16)}`;
  if (forward && N <= UNROLL_STATES) return `${setup}
${Array.from({ length: N }, (_, n) => step(n)).join("\n")}`;
  return `${setup}
      ${loop(
        "n",
        i32(0),
        i32(N),
        `${step(0)}
        (local.set $ap (i32.add ${get("ap")} ${i32(rows.E4B)}))
        (local.set $bp (i32.add ${get("bp")} (i32.const 4)))
        (local.set $hp (i32.add ${get("hp")} (i32.const 16)))
        (local.set $hq (i32.add ${get("hq")} (i32.const 16)))
        ${forward ? "" : `(local.set $dcp (i32.add ${get("dcp")} (i32.const 16)))`}`,
      )}`;
}

/** States up to which the forward's recurrence is unrolled (code size beyond). */
const UNROLL_STATES = 32;

function scanLocals(f: Func): void {
  f.local("i32", "g", "e0b", "b", "t", "at", "pg", "pr", "wp", "ap", "bp", "hp", "hq", "r", "n", "row", "scr");
  f.local("v128", "dtb", "dd", "acc", "x0", "dtx", "y", "h", "arg", "zz");
}

/** (func $name (param $u $proj $z $pk $out $scr $batch $seq)): the selective scan, h from 0; $scr: N vectors per thread. */
export function emitSsmScanForward(fl: EmitFlags, s: SsmScanTrainSpec, name: string): string {
  const rows = scanRows(s);
  const { E4B } = rows;
  const N = s.stateSize;
  const P = s.dtRank + 2 * N;
  const f = new Func(name, ["u", "proj", "z", "pk", "out", "scrBase", "batch", "seq"], undefined, `ssm scan forward: ${s.inner} channels, state ${N}, dt rank ${s.dtRank}`);
  scanLocals(f);
  const body = `
    (local.set $pg (i32.add ${get("pk")} ${get("e0b")}))
    ${set("dtb", loadV(get("pg"), rows.dtb))}
    ${set("dd", loadV(get("pg"), rows.d))}
    ${loop(
      "b",
      i32(0),
      get("batch"),
      `${loop("n", i32(0), i32(N), storeV(add(get("scr"), `(i32.shl ${get("n")} (i32.const 4))`), ZERO))}
      (local.set $row (i32.mul ${get("b")} ${get("seq")}))
      ${loop(
        "t",
        i32(0),
        get("seq"),
        `(local.set $pr (i32.add ${get("proj")} (i32.mul ${get("row")} ${i32(P * 4)})))
        (local.set $at (i32.add (i32.mul ${get("row")} ${i32(E4B)}) ${get("e0b")}))
        ${dtOf(f, fl, s, E4B)}
        ${set("x0", loadV(add(get("u"), get("at"))))}
        ${set("dtx", v("mul", get("dt"), get("x0")))}
        ${set("y", v("mul", get("dd"), get("x0")))}
        (local.set $hp ${get("scr")})
        (local.set $hq ${get("scr")})
        ${stateStep(f, fl, s, rows, true)}
        ${set("zz", loadV(add(get("z"), get("at"))))}
        ${activationV(f, fl, "silu", "gz", "zz")}
        ${storeV(add(get("out"), get("at")), v("mul", get("y"), get("gz")))}
        (local.set $row (i32.add ${get("row")} (i32.const 1)))`,
      )}`,
    )}`;
  return f.text(`(local.set $scr (i32.add ${get("scrBase")} (i32.mul (global.get $tid) ${i32(N * 16)})))
  ${groupsLoop(rows.E4B / 16, body)}`);
}


/** The reverse-time step of the scan's VJP at row $row (time $t), with $dh holding ∂L/∂h_t's running sum. */
function reverseStep(f: Func, fl: EmitFlags, s: SsmScanTrainSpec, rows: ReturnType<typeof scanRows>): string {
  const { E4B } = rows;
  const N = s.stateSize;
  const R = s.dtRank;
  const P = R + 2 * N;
  const perState = `${set("bs", splatLoad(get("bp")))}
        ${set("cs", splatLoad(get("bp"), N * 4))}
        ${set("h", loadV(get("hq")))}
        ${set("y", madd(fl, get("h"), get("cs"), get("y")))}
        ${accumulate(fl, get("dqb"), get("dy"), get("h"), N * 16)}
        ${set("dhn", madd(fl, get("dy"), get("cs"), loadV(get("dhp"))))}
        ${set("arg", v("mul", get("dt"), loadV(get("ap"))))}
        ${set("da", loadV(get("dcp")))}
        ;; ∂L/∂(exp(δ a)) · exp(δ a) = dh · h_{t−1} · decay: the one term both ∂δ and ∂A_log take.
        ${set("t1", v("mul", v("mul", get("dhn"), loadV(get("hp"))), get("da")))}
        ${set("ddt", madd(fl, get("t1"), loadV(get("ap")), get("ddt")))}
        ${set("ddt", madd(fl, v("mul", get("dhn"), get("bs")), get("x0"), get("ddt")))}
        ${accumulate(fl, get("dap"), get("t1"), get("arg"))}
        ${accumulate(fl, get("dqb"), get("dhn"), get("dtx"))}
        ${set("dxv", madd(fl, v("mul", get("dhn"), get("dt")), get("bs"), get("dxv")))}
        ${storeV(get("dhp"), v("mul", get("dhn"), get("da")))}
        (local.set $bp (i32.add ${get("bp")} (i32.const 4)))
        (local.set $hq (i32.add ${get("hq")} (i32.const 16)))
        (local.set $hp (i32.add ${get("hp")} (i32.const 16)))
        (local.set $ap (i32.add ${get("ap")} ${i32(E4B)}))
        (local.set $dap (i32.add ${get("dap")} ${i32(E4B)}))
        (local.set $dhp (i32.add ${get("dhp")} (i32.const 16)))
        (local.set $dcp (i32.add ${get("dcp")} (i32.const 16)))
        (local.set $dqb (i32.add ${get("dqb")} (i32.const 16)))`;
  const perRank = `${accumulate(fl, get("dwp"), get("dpre"), splatLoad(add(get("pr"), `(i32.shl ${get("r")} (i32.const 2))`)))}
        ${accumulate(fl, add(get("dq"), `(i32.shl ${get("r")} (i32.const 4))`), get("dpre"), loadV(get("wp")))}
        (local.set $wp (i32.add ${get("wp")} ${i32(E4B)}))
        (local.set $dwp (i32.add ${get("dwp")} ${i32(E4B)}))`;
  return `(local.set $pr (i32.add ${get("proj")} (i32.mul ${get("row")} ${i32(P * 4)})))
      (local.set $dq (i32.add ${get("dpp")} (i32.mul ${get("row")} ${i32(P * 16)})))
      (local.set $at (i32.add (i32.mul ${get("row")} ${i32(E4B)}) ${get("e0b")}))
      ${set("zz", loadV(add(get("z"), get("at"))))}
      ${sigmoidV(f, fl, "sz", "zz")}
      ${set("do", loadV(add(get("dout"), get("at"))))}
      ${set("dy", v("mul", get("do"), v("mul", get("zz"), get("sz"))))}
      ${set("x0", loadV(add(get("u"), get("at"))))}
      ${set("dt", loadV(add(get("dts"), `(i32.shl ${get("t")} (i32.const 4))`)))}
      ${set("dtx", v("mul", get("dt"), get("x0")))}
      ${set("dxv", v("mul", get("dy"), get("dd")))}
      ${set("dDacc", madd(fl, get("dy"), get("x0"), get("dDacc")))}
      ${set("y", v("mul", get("dd"), get("x0")))}
      ${set("ddt", ZERO)}
      (local.set $hq (i32.add ${get("hs")} (i32.mul (i32.add ${get("t")} (i32.const 1)) ${i32(N * 16)})))
      (local.set $hp (i32.sub ${get("hq")} ${i32(N * 16)}))
      (local.set $ap (i32.add ${get("pg")} ${i32(rows.a)}))
      (local.set $dap (i32.add ${get("dpg")} ${i32(rows.a)}))
      (local.set $bp (i32.add ${get("pr")} ${i32(R * 4)}))
      (local.set $dhp ${get("dh")})
      (local.set $dcp (i32.add ${get("decays")} (i32.mul ${get("t")} ${i32(N * 16)})))
      (local.set $dqb (i32.add ${get("dq")} ${i32(R * 16)}))
      ${loop("n", i32(0), i32(N), perState)}
      ${storeV(add(get("du"), get("at")), get("dxv"))}
      ${storeV(add(get("dz"), get("at")), v("mul", v("mul", get("do"), get("y")), siluGradV(fl, "zz", "sz")))}
      ${set("dpre", v("mul", get("ddt"), loadV(add(get("sigs"), `(i32.shl ${get("t")} (i32.const 4))`))))}
      ${set("dtbAcc", v("add", get("dtbAcc"), get("dpre")))}
      (local.set $wp ${get("pg")})
      (local.set $dwp ${get("dpg")})
      ${loop("r", i32(0), i32(R), perRank)}`;
}

/**
 * (func $name (param $dout $u $proj $z $pk $du $dz $dpp $dpk $scrBase $batch $seq)): the scan's
 * VJP. du and dz [rows, E4] are written (every lane); dpp [nth][rows][P] vectors and dpk are
 * accumulated into (zeroed by the caller); $scrBase holds scanScratchBytes(seq, N) per thread.
 * Per item and sequence: the forward again, keeping h_t, exp(δ_t a), δ_t and sigmoid(p_t); then t from the
 * end, dh ← dh + dy·C_t, the gradients of step t, dh ← dh · exp(δ_t a) (ssm.ts's recurrence).
 */
export function emitSsmScanBackward(fl: EmitFlags, s: SsmScanTrainSpec, name: string): string {
  const rows = scanRows(s);
  const { E4B } = rows;
  const N = s.stateSize;
  const P = s.dtRank + 2 * N;
  const f = new Func(name, ["dout", "u", "proj", "z", "pk", "du", "dz", "dppBase", "dpk", "scrBase", "batch", "seq"], undefined, `ssm scan backward: ${s.inner} channels, state ${N}, dt rank ${s.dtRank}`);
  scanLocals(f);
  f.local("i32", "hs", "decays", "dcp", "dts", "sigs", "dh", "dq", "dqb", "dap", "dhp", "dwp", "dpg", "dpp");
  f.local("v128", "bs", "cs", "dhn", "t1", "ddt", "dxv", "dy", "do", "dpre", "dDacc", "dtbAcc");
  const forward = loop(
    "t",
    i32(0),
    get("seq"),
    `(local.set $pr (i32.add ${get("proj")} (i32.mul ${get("row")} ${i32(P * 4)})))
        (local.set $at (i32.add (i32.mul ${get("row")} ${i32(E4B)}) ${get("e0b")}))
        ${dtOf(f, fl, s, E4B)}
        ${storeV(add(get("dts"), `(i32.shl ${get("t")} (i32.const 4))`), get("dt"))}
        ${sigmoidV(f, fl, "sp", "acc")}
        ${storeV(add(get("sigs"), `(i32.shl ${get("t")} (i32.const 4))`), get("sp"))}
        ${set("x0", loadV(add(get("u"), get("at"))))}
        ${set("dtx", v("mul", get("dt"), get("x0")))}
        (local.set $hp (i32.add ${get("hs")} (i32.mul ${get("t")} ${i32(N * 16)})))
        (local.set $hq (i32.add ${get("hp")} ${i32(N * 16)}))
        (local.set $dcp (i32.add ${get("decays")} (i32.mul ${get("t")} ${i32(N * 16)})))
        ${stateStep(f, fl, s, rows, false)}
        (local.set $row (i32.add ${get("row")} (i32.const 1)))`,
  );
  const backward = `(local.set $t (i32.sub ${get("seq")} (i32.const 1)))
      (block $B_rt (loop $L_rt
        (br_if $B_rt (i32.lt_s ${get("t")} (i32.const 0)))
        (local.set $row (i32.add (i32.mul ${get("b")} ${get("seq")}) ${get("t")}))
        ${reverseStep(f, fl, s, rows)}
        (local.set $t (i32.sub ${get("t")} (i32.const 1)))
        (br $L_rt)))`;
  const body = `
    (local.set $pg (i32.add ${get("pk")} ${get("e0b")}))
    (local.set $dpg (i32.add ${get("dpk")} ${get("e0b")}))
    ${set("dtb", loadV(get("pg"), rows.dtb))}
    ${set("dd", loadV(get("pg"), rows.d))}
    ${set("dDacc", ZERO)}
    ${set("dtbAcc", ZERO)}
    ${loop(
      "b",
      i32(0),
      get("batch"),
      `${loop("n", i32(0), i32(N), `${storeV(add(get("hs"), `(i32.shl ${get("n")} (i32.const 4))`), ZERO)}\n${storeV(add(get("dh"), `(i32.shl ${get("n")} (i32.const 4))`), ZERO)}`)}
      (local.set $row (i32.mul ${get("b")} ${get("seq")}))
      ${forward}
      ${backward}`,
    )}
    ${storeV(get("dpg"), v("add", loadV(get("dpg"), rows.dtb), get("dtbAcc")), rows.dtb)}
    ${storeV(get("dpg"), v("add", loadV(get("dpg"), rows.d), get("dDacc")), rows.d)}`;
  // This thread's scratch and ∂proj copy; the scratch's parts as scanScratchBytes orders them.
  return f.text(`(local.set $hs (i32.add ${get("scrBase")} (i32.mul (global.get $tid) (i32.mul (i32.add (i32.mul (i32.add (i32.shl ${get("seq")} (i32.const 1)) (i32.const 2)) ${i32(N)}) (i32.shl ${get("seq")} (i32.const 1))) (i32.const 16)))))
  (local.set $decays (i32.add ${get("hs")} (i32.mul (i32.add ${get("seq")} (i32.const 1)) ${i32(N * 16)})))
  (local.set $dts (i32.add ${get("decays")} (i32.mul ${get("seq")} ${i32(N * 16)})))
  (local.set $sigs (i32.add ${get("dts")} (i32.shl ${get("seq")} (i32.const 4))))
  (local.set $dh (i32.add ${get("sigs")} (i32.shl ${get("seq")} (i32.const 4))))
  (local.set $dpp (i32.add ${get("dppBase")} (i32.mul (global.get $tid) (i32.mul (i32.mul ${get("batch")} ${get("seq")}) ${i32(P * 16)}))))
  ${groupsLoop(E4B / 16, body)}`);
}
