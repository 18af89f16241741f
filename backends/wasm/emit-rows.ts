// Row-wise kernels: embedding gather, positions, residual add, LayerNorm / RMSNorm,
// activations and gated units. Each is specialised on its row width; threads take
// contiguous row ranges. A row whose width is not a multiple of 4 ends with one partial
// vector: loaded whole (buffers carry spare bytes past their end), stored lane by lane.

import { BLOCK } from "../../src/runtime/weights/format.ts";
import { type Act, activationV, expV, softcapV } from "./emit-math.ts";
import { f16ToF32Scalar, f16x4ToF32 } from "./emit-matmul.ts";
import { DESC } from "./plan.ts";
import { type EmitFlags, f32, Func, get, i32, loadV, set, splat, storeV } from "./wat.ts";

/** Sets $r0/$r1 to this thread's share of `rows` and loops $r over it. */
export function threadRows(f: Func, rows: string, body: string, label = "r"): string {
  f.local("i32", "r", "r1");
  return `
  (local.set $r (i32.div_u (i32.mul ${rows} (global.get $tid)) (global.get $nth)))
  (local.set $r1 (i32.div_u (i32.mul ${rows} (i32.add (global.get $tid) (i32.const 1))) (global.get $nth)))
  (block $B_${label} (loop $L_${label}
    (br_if $B_${label} (i32.ge_s ${get("r")} ${get("r1")}))
    ${body}
    (local.set $r (i32.add ${get("r")} (i32.const 1)))
    (br $L_${label})))`;
}

/** Stores the first `lanes` lanes of a v128 expression held in local `v`. */
export function storeLanes(addr: string, v: string, lanes: number, offset: number): string {
  if (lanes === 4) return storeV(addr, get(v), offset);
  return Array.from({ length: lanes }, (_, l) => `(f32.store offset=${offset + 4 * l} ${addr} (f32x4.extract_lane ${l} ${get(v)}))`).join("\n");
}

/**
 * The first `lanes` (1–3) floats at addr + offset as a v128, the other lanes zero: reads only
 * those floats, so it may end a row whose neighbour another thread writes, or a buffer.
 */
export function loadPart(addr: string, lanes: number, offset: number): string {
  const at = (o: number) => (o === 0 ? "" : ` offset=${o}`);
  if (lanes === 1) return `(v128.load32_zero${at(offset)} ${addr})`;
  if (lanes === 2) return `(v128.load64_zero${at(offset)} ${addr})`;
  if (lanes === 3) return `(f32x4.replace_lane 2 (v128.load64_zero${at(offset)} ${addr}) (f32.load offset=${offset + 8} ${addr}))`;
  throw new Error(`wasm emit: loadPart of ${lanes} lanes`);
}

/** All-ones in the first `lanes` lanes: masks the partial vector out of reductions. */
export const laneMask = (lanes: number): string => `(v128.const i32x4 ${[0, 1, 2, 3].map((l) => (l < lanes ? -1 : 0)).join(" ")})`;

/**
 * Walks a row of `width` floats: `full(off)` for each whole vector at byte offset local $j,
 * then `part(off, lanes)` once for the partial vector, with a constant byte offset.
 */
export function vecLoop(f: Func, width: number, label: string, full: (off: string) => string, part: (off: string, lanes: number) => string): string {
  f.local("i32", "j");
  const nv = Math.floor(width / 4);
  const lanes = width % 4;
  const loop =
    nv === 0
      ? ""
      : `(local.set $j (i32.const 0))
  (loop $L_${label}
    ${full(get("j"))}
    (br_if $L_${label} (i32.lt_s (local.tee $j (i32.add ${get("j")} (i32.const 16))) ${i32(nv * 16)})))`;
  return lanes === 0 ? loop : `${loop}\n${part(i32(nv * 16), lanes)}`;
}

const rowPtr = (base: string, width: number): string => `(i32.add ${get(base)} (i32.mul ${get("r")} ${i32(width * 4)}))`;

/** out[r] = table[ids[r]] · scale. */
export function emitEmbed(_fl: EmitFlags, name: string, dim: number, scale: number): string {
  const f = new Func(name, ["ids", "table", "out", "rows"], undefined, `embedding gather, ${dim} wide, scale ${scale}`);
  f.local("i32", "src", "dst");
  f.local("v128", "y");
  const s = (e: string) => (scale === 1 ? e : `(f32x4.mul ${e} ${splat(scale)})`);
  const body = `
    (local.set $src (i32.add ${get("table")} (i32.mul (i32.load (i32.add ${get("ids")} (i32.shl ${get("r")} (i32.const 2)))) ${i32(dim * 4)})))
    (local.set $dst ${rowPtr("out", dim)})
    ${vecLoop(
      f,
      dim,
      "e",
      (o) => storeV(`(i32.add ${get("dst")} ${o})`, s(loadV(`(i32.add ${get("src")} ${o})`))),
      (o, lanes) => `${set("y", s(loadV(`(i32.add ${get("src")} ${o})`)))}\n${storeLanes(`(i32.add ${get("dst")} ${o})`, "y", lanes, 0)}`,
    )}`;
  return f.text(threadRows(f, get("rows"), body));
}

/**
 * out[r] = dequantised table row ids[r] · scale, for a table stored f16 ([vocab][dim] u16) or
 * q8 (codes [vocab][nb · 32] int8, then scales [vocab][nb] u16; lowbit.ts), four elements at a time.
 */
export function emitEmbedLowBit(_fl: EmitFlags, name: string, storage: "f16" | "q8", vocab: number, dim: number, scale: number): string {
  const f = new Func(name, ["ids", "table", "out", "rows"], undefined, `embedding gather from a ${storage} table [${vocab}, ${dim}], scale ${scale}`);
  f.local("i32", "id", "src", "sc", "dst");
  f.local("v128", "y");
  f.local("f32", "s");
  const nb = Math.ceil(dim / BLOCK);
  const groups = Math.ceil(dim / 4);
  const parts: string[] = [];
  for (let g = 0; g < groups; g++) {
    const k = 4 * g;
    const lanes = Math.min(4, dim - k);
    let v: string;
    if (storage === "f16") {
      v = f16x4ToF32(`(v128.load16x4_s offset=${2 * k} ${get("src")})`);
      if (scale !== 1) v = `(f32x4.mul ${v} ${splat(scale)})`;
    } else {
      if (k % BLOCK === 0) {
        // The block's scale, times the embedding scale.
        parts.push(set("s", `(f32.mul ${f16ToF32Scalar(`(i32.load16_s offset=${2 * (k / BLOCK)} ${get("sc")})`)} ${f32(scale)})`));
      }
      v = `(f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (i16x8.extend_low_i8x16_s (v128.load32_zero offset=${k} ${get("src")})))) (f32x4.splat ${get("s")}))`;
    }
    parts.push(set("y", v));
    parts.push(storeLanes(get("dst"), "y", lanes, 4 * k));
  }
  const rowBytes = storage === "f16" ? 2 * dim : nb * BLOCK;
  const body = `
    (local.set $id (i32.load (i32.add ${get("ids")} (i32.shl ${get("r")} (i32.const 2)))))
    (local.set $src (i32.add ${get("table")} (i32.mul ${get("id")} ${i32(rowBytes)})))
    (local.set $sc (i32.add ${get("table")} (i32.add ${i32(vocab * nb * BLOCK)} (i32.mul ${get("id")} ${i32(2 * nb)}))))
    (local.set $dst ${rowPtr("out", dim)})
    ${parts.join("\n")}`;
  return f.text(threadRows(f, get("rows"), body));
}

/** out[r] = x[r] + table[pos0 + r mod n]: learned or sinusoidal positions. */
export function emitAddPosition(_fl: EmitFlags, name: string, dim: number, desc: number): string {
  const f = new Func(name, ["x", "table", "out", "rows"], undefined, `absolute positions, ${dim} wide`);
  f.local("i32", "src", "dst", "pe", "n", "pos0");
  f.local("v128", "y");
  const body = `
    (local.set $src ${rowPtr("x", dim)})
    (local.set $dst ${rowPtr("out", dim)})
    (local.set $pe (i32.add ${get("table")} (i32.mul (i32.add ${get("pos0")} (i32.rem_u ${get("r")} ${get("n")})) ${i32(dim * 4)})))
    ${vecLoop(
      f,
      dim,
      "p",
      (o) => storeV(`(i32.add ${get("dst")} ${o})`, `(f32x4.add ${loadV(`(i32.add ${get("src")} ${o})`)} ${loadV(`(i32.add ${get("pe")} ${o})`)})`),
      (o, lanes) =>
        `${set("y", `(f32x4.add ${loadV(`(i32.add ${get("src")} ${o})`)} ${loadV(`(i32.add ${get("pe")} ${o})`)})`)}\n${storeLanes(`(i32.add ${get("dst")} ${o})`, "y", lanes, 0)}`,
    )}`;
  return f.text(`(local.set $n (i32.load ${i32(desc + DESC.n)}))
  (local.set $pos0 (i32.load ${i32(desc + DESC.pos0)}))
  ${threadRows(f, get("rows"), body)}`);
}

/** Elementwise out = op(a[, b]) over rows of `width`. */
function elementwise(name: string, width: number, params: string[], comment: string, compute: (f: Func, load: (p: string) => string) => string): string {
  const f = new Func(name, [...params, "out", "rows"], undefined, comment);
  f.local("i32", "off");
  f.local("v128", "y");
  const at = (p: string, o: string) => loadV(`(i32.add (i32.add ${get(p)} ${get("off")}) ${o})`);
  const body = `
    (local.set $off (i32.mul ${get("r")} ${i32(width * 4)}))
    ${vecLoop(
      f,
      width,
      "w",
      (o) => `${compute(f, (p) => at(p, o))}\n${storeV(`(i32.add (i32.add ${get("out")} ${get("off")}) ${o})`, get("y"))}`,
      (o, lanes) => `${compute(f, (p) => at(p, o))}\n${storeLanes(`(i32.add (i32.add ${get("out")} ${get("off")}) ${o})`, "y", lanes, 0)}`,
    )}`;
  return f.text(threadRows(f, get("rows"), body));
}

export function emitAdd(_fl: EmitFlags, name: string, width: number): string {
  return elementwise(name, width, ["a", "b"], `residual add, ${width} wide`, (_f, l) => set("y", `(f32x4.add ${l("a")} ${l("b")})`));
}

export function emitActivation(fl: EmitFlags, name: string, width: number, act: Act): string {
  return elementwise(name, width, ["x"], `${act}, ${width} wide`, (f, l) => `${set(f.local("v128", "xin"), l("x"))}\n${activationV(f, fl, act, "t", "xin")}\n${set("y", get("t"))}`);
}

/** cap · tanh(x / cap) (softcapV). */
export function emitSoftcap(fl: EmitFlags, name: string, width: number, cap: number): string {
  return elementwise(name, width, ["x"], `softcap ${cap}, ${width} wide`, (f, l) => `${set(f.local("v128", "xin"), l("x"))}\n${softcapV(f, fl, "t", "xin", cap)}\n${set("y", get("t"))}`);
}

export function emitGated(fl: EmitFlags, name: string, width: number, act: Act): string {
  return elementwise(name, width, ["gate", "up"], `${act}(gate) · up, ${width} wide`, (f, l) => {
    f.local("v128", "xin");
    return `${set("xin", l("gate"))}\n${activationV(f, fl, act, "t", "xin")}\n${set("y", `(f32x4.mul ${get("t")} ${l("up")})`)}`;
  });
}

/** LayerNorm (two-pass mean / variance) or RMSNorm over rows of `dim`, scaled by offset + w. */
export function emitNorm(_fl: EmitFlags, name: string, kind: "layer" | "rms", dim: number, bias: boolean, eps: number, offset = 0): string {
  const f = new Func(name, ["x", "w", "b", "out", "rows"], undefined, `${kind === "layer" ? "LayerNorm" : "RMSNorm"} over ${dim}, eps ${eps}${offset !== 0 ? `, weight offset ${offset}` : ""}`);
  f.local("i32", "src", "dst");
  f.local("v128", "acc", "d", "y");
  f.local("f32", "mean", "inv");
  const ld = (p: string, o: string) => loadV(`(i32.add ${get(p)} ${o})`);
  const centred = (o: string) => (kind === "layer" ? `(f32x4.sub ${ld("src", o)} (f32x4.splat ${get("mean")}))` : ld("src", o));
  const sum = vecLoop(
    f,
    dim,
    "s",
    (o) => set("acc", `(f32x4.add ${get("acc")} ${ld("src", o)})`),
    (o, lanes) => set("acc", `(f32x4.add ${get("acc")} (v128.and ${ld("src", o)} ${laneMask(lanes)}))`),
  );
  const sq = vecLoop(
    f,
    dim,
    "q",
    (o) => `${set("d", centred(o))}\n${set("acc", `(f32x4.add ${get("acc")} (f32x4.mul ${get("d")} ${get("d")}))`)}`,
    (o, lanes) =>
      `${set("d", `(v128.and ${centred(o)} ${laneMask(lanes)})`)}\n${set("acc", `(f32x4.add ${get("acc")} (f32x4.mul ${get("d")} ${get("d")}))`)}`,
  );
  const scaled = (o: string) => {
    const gamma = offset === 0 ? ld("w", o) : `(f32x4.add ${ld("w", o)} (f32x4.splat ${f32(offset)}))`;
    let e = `(f32x4.mul (f32x4.mul ${centred(o)} (f32x4.splat ${get("inv")})) ${gamma})`;
    if (bias) e = `(f32x4.add ${e} ${ld("b", o)})`;
    return set("y", e);
  };
  const write = vecLoop(
    f,
    dim,
    "o",
    (o) => `${scaled(o)}\n${storeV(`(i32.add ${get("dst")} ${o})`, get("y"))}`,
    (o, lanes) => `${scaled(o)}\n${storeLanes(`(i32.add ${get("dst")} ${o})`, "y", lanes, 0)}`,
  );
  const body = `
    (local.set $src ${rowPtr("x", dim)})
    (local.set $dst ${rowPtr("out", dim)})
    (local.set $mean ${f32(0)})
    ${kind === "layer" ? `(local.set $acc (v128.const i32x4 0 0 0 0))\n${sum}\n(local.set $mean (f32.div (call $hsum ${get("acc")}) ${f32(dim)}))` : ""}
    (local.set $acc (v128.const i32x4 0 0 0 0))
    ${sq}
    (local.set $inv (f32.div ${f32(1)} (f32.sqrt (f32.add (f32.div (call $hsum ${get("acc")}) ${f32(dim)}) ${f32(eps)}))))
    ${write}`;
  return f.text(threadRows(f, get("rows"), body));
}

/** Shared helpers every module carries. */
export function emitHelpers(): string {
  return `(func $hsum (param $x v128) (result f32)
  (local.set $x (f32x4.add ${get("x")} (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${get("x")} ${get("x")})))
  (f32.add (f32x4.extract_lane 0 ${get("x")}) (f32x4.extract_lane 1 ${get("x")})))
(func $imax (param $a i32) (param $b i32) (result i32) (select (local.get $a) (local.get $b) (i32.gt_s (local.get $a) (local.get $b))))
(func $imin (param $a i32) (param $b i32) (result i32) (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b))))`;
}
