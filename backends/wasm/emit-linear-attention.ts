// Linear attention (Katharopoulos et al. 2020) as an O(n) scan over the prefix state
// S = Σ φ(k) vᵀ [headDim × headDim] and z = Σ φ(k) per kv head: a causal row first adds its
// key, then reads out every query head of its group; a bidirectional one adds all keys
// first. Decoding keeps (S, z) in the state's slot, so a step costs O(headDim²), not O(n).
// Keys of a memory source are re-summed into per-thread scratch on every call.

import { featureV } from "./emit-math.ts";
import { ropeName } from "./emit-kv-rows.ts";
import { laneMask, loadPart, storeLanes, threadRows } from "./emit-rows.ts";
import type { WOp } from "./ops.ts";
import { DESC, SLOT } from "./plan.ts";
import { type EmitFlags, f32, Func, get, i32, loadV, madd, set, storeV } from "./wat.ts";

type LinearOp = Extract<WOp, { op: "linear_attention" }>;

export function linearAttentionName(op: LinearOp): string {
  return [
    `lattn_h${op.heads}_kv${op.kvHeads}_d${op.headDim}_${op.featureMap}`,
    op.source === "memory" ? "mem" : "self",
    op.causal ? "causal" : "",
    op.ropeKey ? `rope${op.ropeDim}` : "",
    op.padding ? "pad" : "",
  ]
    .filter(Boolean)
    .join("_");
}

export function emitLinearAttention(fl: EmitFlags, op: LinearOp, desc: number, scratch: number, scratchBytes: number, positions: number): string {
  const { heads: H, kvHeads: G, headDim: hd, featureMap } = op;
  const kvDim = G * hd;
  const group = H / G;
  // Head vectors as C chunks of 4 floats; a head dim that is not a multiple of 4 ends with a
  // partial chunk of `tail` floats, loaded zero-filled and stored lane by lane, so a row of S,
  // z or the output never touches its neighbour (another kv head's, perhaps another thread's).
  const C = Math.ceil(hd / 4);
  const tail = hd % 4;
  const partial = (c: number) => tail !== 0 && c === C - 1;
  const ldc = (addr: string, o: number, c: number) => (partial(c) ? loadPart(addr, tail, o) : loadV(addr, o));
  const f = new Func(linearAttentionName(op), ["q", "k", "v", "out", "sd", "rope"], undefined, `linear attention (${featureMap}): ${H} heads, ${G} kv heads, head dim ${hd}`);
  f.local("i32", "g", "n", "pos0", "rows", "kb", "vb", "stride", "mb", "mstride", "s", "t", "pos", "src", "w", "items", "kvh", "sp", "zp", "scr", "fk", "fq", "d", "kr", "vr", "hh", "qr", "o", "keys", "j");
  f.local("f32", "den", "fd");
  f.local("v128", "x", "den4", ...Array.from({ length: C }, (_, c) => `vv${c}`), ...Array.from({ length: C }, (_, c) => `nu${c}`));
  if (tail !== 0) f.local("v128", "ot");
  const stc = (addr: string, e: string, o: number, c: number) => (partial(c) ? `${set("ot", e)}\n${storeLanes(addr, "ot", tail, o)}` : storeV(addr, e, o));
  const rope = op.ropeKey ? ropeName(op.ropeDim, positions) : "";
  const ropeRow = (base: string, width: number, heads: number, pos: string) =>
    rope ? Array.from({ length: heads }, (_, h) => `(call $${rope} (i32.add ${base} ${i32(h * hd * 4)}) ${pos} ${get("rope")})`).join("\n") : "";

  // φ of one head vector at `src` into scratch at `dst` (whole vectors; the spare lanes of a
  // partial chunk are zeroed, as φ(0) need not be 0).
  const feature = (src: string, dst: string) =>
    Array.from(
      { length: C },
      (_, c) => `${set("x", ldc(src, c * 16, c))}\n${featureV(f, fl, featureMap, "phi", "x")}\n${storeV(dst, partial(c) ? `(v128.and ${get("phi")} ${laneMask(tail)})` : get("phi"), c * 16)}`,
    ).join("\n");

  // S += φ(k) vᵀ, z += φ(k) for the key row at $kr / value row at $vr.
  const accumulate = `
    ${feature(get("kr"), get("fk"))}
    ${Array.from({ length: C }, (_, c) => set(`vv${c}`, ldc(get("vr"), c * 16, c))).join("\n")}
    (local.set $d (i32.const 0))
    (loop $L_acc
      (local.set $x (v128.load32_splat (i32.add ${get("fk")} (i32.shl ${get("d")} (i32.const 2)))))
      (local.set $src (i32.add ${get("sp")} (i32.mul ${get("d")} ${i32(hd * 4)})))
      ${Array.from({ length: C }, (_, c) => stc(get("src"), madd(fl, get("x"), get(`vv${c}`), ldc(get("src"), c * 16, c)), c * 16, c)).join("\n")}
      (br_if $L_acc (i32.lt_s (local.tee $d (i32.add ${get("d")} (i32.const 1))) ${i32(hd)})))
    ${Array.from({ length: C }, (_, c) => stc(get("zp"), `(f32x4.add ${ldc(get("zp"), c * 16, c)} ${loadV(get("fk"), c * 16)})`, c * 16, c)).join("\n")}`;

  // out[row $t, heads of group $kvh] = φ(q)ᵀ S / (φ(q)ᵀ z + eps).
  const readout = `
    (local.set $hh (i32.const 0))
    (loop $L_heads
      (local.set $qr (i32.add ${get("q")} (i32.mul (i32.add (i32.mul (i32.add (i32.mul ${get("s")} ${get("n")}) ${get("t")}) ${i32(H)}) (i32.add (i32.mul ${get("kvh")} ${i32(group)}) ${get("hh")})) ${i32(hd * 4)})))
      ${feature(get("qr"), get("fq"))}
      ${Array.from({ length: C }, (_, c) => set(`nu${c}`, "(v128.const i32x4 0 0 0 0)")).join("\n")}
      (local.set $den4 (v128.const i32x4 0 0 0 0))
      ${Array.from({ length: C }, (_, c) => set("den4", madd(fl, loadV(get("fq"), c * 16), ldc(get("zp"), c * 16, c), get("den4")))).join("\n")}
      (local.set $d (i32.const 0))
      (loop $L_read
        (local.set $x (v128.load32_splat (i32.add ${get("fq")} (i32.shl ${get("d")} (i32.const 2)))))
        (local.set $src (i32.add ${get("sp")} (i32.mul ${get("d")} ${i32(hd * 4)})))
        ${Array.from({ length: C }, (_, c) => set(`nu${c}`, madd(fl, get("x"), ldc(get("src"), c * 16, c), get(`nu${c}`)))).join("\n")}
        (br_if $L_read (i32.lt_s (local.tee $d (i32.add ${get("d")} (i32.const 1))) ${i32(hd)})))
      (local.set $den4 (f32x4.splat (f32.add (call $hsum ${get("den4")}) ${f32(1e-6)})))
      (local.set $o (i32.add ${get("out")} (i32.sub ${get("qr")} ${get("q")})))
      ${Array.from({ length: C }, (_, c) => stc(get("o"), `(f32x4.div ${get(`nu${c}`)} ${get("den4")})`, c * 16, c)).join("\n")}
      (br_if $L_heads (i32.lt_s (local.tee $hh (i32.add ${get("hh")} (i32.const 1))) ${i32(group)})))`;

  // Row j of sequence $s among this call's arena rows of k/v.
  const keyRows = (kBase: string, vBase: string, strideRows: string, j: string) => `
    (local.set $kr (i32.add ${kBase} (i32.add (i32.mul (i32.add (i32.mul ${get("s")} ${strideRows}) ${j}) ${i32(kvDim * 4)}) (i32.mul ${get("kvh")} ${i32(hd * 4)}))))
    (local.set $vr (i32.add ${vBase} (i32.add (i32.mul (i32.add (i32.mul ${get("s")} ${strideRows}) ${j}) ${i32(kvDim * 4)}) (i32.mul ${get("kvh")} ${i32(hd * 4)}))))`;
  // Key j of sequence $s in the cross slot, head-major as emitPersist writes it (appendHeads).
  const slotKeyRows = (j: string) => {
    const at = (base: string) => `(i32.add ${base} (i32.mul (i32.add (i32.mul (i32.add (i32.mul ${get("s")} ${i32(G)}) ${get("kvh")}) ${get("stride")}) ${j}) ${i32(hd * 4)}))`;
    return `(local.set $kr ${at(get("kb"))}) (local.set $vr ${at(get("vb"))})`;
  };
  const kept = (pos: string) => (op.padding ? `(i32.load (i32.add ${get("mb")} (i32.shl (i32.add (i32.mul ${get("s")} ${get("mstride")}) ${pos}) (i32.const 2))))` : "(i32.const 1)");
  const zeroState = `
    (local.set $d (i32.const 0))
    (loop $L_zero
      ${storeV(`(i32.add ${get("sp")} (i32.shl ${get("d")} (i32.const 2)))`, "(v128.const i32x4 0 0 0 0)")}
      (br_if $L_zero (i32.lt_s (local.tee $d (i32.add ${get("d")} (i32.const 4))) ${i32(hd * hd + hd)})))`;

  let perItem: string;
  if (op.source === "memory") {
    // Memory keys live in the cross slot; S and z are rebuilt in scratch (S then z, contiguous).
    perItem = `
    (local.set $sp ${get("scr")})
    (local.set $zp (i32.add ${get("scr")} ${i32(hd * hd * 4)}))
    ${zeroState}
    (local.set $keys (i32.load ${i32(desc + DESC.srcLen)}))
    (local.set $j (i32.const 0))
    (block $B_keys (loop $L_keys
      (br_if $B_keys (i32.ge_s ${get("j")} ${get("keys")}))
      ${slotKeyRows(get("j"))}
      (if ${kept(get("j"))} (then ${accumulate}))
      (local.set $j (i32.add ${get("j")} (i32.const 1)))
      (br $L_keys)))
    (local.set $t (i32.const 0))
    (loop $L_rows ${readout}
      (br_if $L_rows (i32.lt_s (local.tee $t (i32.add ${get("t")} (i32.const 1))) ${get("n")})))`;
  } else {
    const stateAt = `
    (local.set $sp (i32.add ${get("kb")} (i32.mul (i32.add (i32.mul ${get("s")} ${i32(G)}) ${get("kvh")}) ${i32(hd * hd * 4)})))
    (local.set $zp (i32.add ${get("vb")} (i32.mul (i32.add (i32.mul ${get("s")} ${i32(G)}) ${get("kvh")}) ${i32(hd * 4)})))`;
    // This call's rows of k/v sit in the arena at row s·n + t.
    const own = `${keyRows(get("k"), get("v"), get("n"), get("t"))}`;
    const addKey = `${own}\n(if ${kept(`(i32.add ${get("pos0")} ${get("t")})`)} (then ${accumulate}))`;
    perItem = op.causal
      ? `${stateAt}
    (local.set $t (i32.const 0))
    (loop $L_rows ${addKey} ${readout}
      (br_if $L_rows (i32.lt_s (local.tee $t (i32.add ${get("t")} (i32.const 1))) ${get("n")})))`
      : `${stateAt}
    (local.set $t (i32.const 0))
    (loop $L_add ${addKey}
      (br_if $L_add (i32.lt_s (local.tee $t (i32.add ${get("t")} (i32.const 1))) ${get("n")})))
    (local.set $t (i32.const 0))
    (loop $L_rows ${readout}
      (br_if $L_rows (i32.lt_s (local.tee $t (i32.add ${get("t")} (i32.const 1))) ${get("n")})))`;
  }

  const prep = threadRows(
    f,
    get("rows"),
    `(local.set $pos (i32.add ${get("pos0")} (i32.rem_u ${get("r")} ${get("n")})))
    ${ropeRow(`(i32.add ${get("q")} (i32.mul ${get("r")} ${i32(H * hd * 4)}))`, H * hd, H, get("pos"))}
    ${op.source === "self" ? ropeRow(`(i32.add ${get("k")} (i32.mul ${get("r")} ${i32(kvDim * 4)}))`, kvDim, G, get("pos")) : ""}`,
    "prep",
  );
  const body = `
  (local.set $g (i32.load ${i32(desc + DESC.g)}))
  (local.set $n (i32.load ${i32(desc + DESC.n)}))
  (local.set $pos0 (i32.load ${i32(desc + DESC.pos0)}))
  (local.set $rows (i32.mul ${get("g")} ${get("n")}))
  (local.set $kb (i32.load offset=${SLOT.k} ${get("sd")}))
  (local.set $vb (i32.load offset=${SLOT.v} ${get("sd")}))
  (local.set $stride (i32.load offset=${SLOT.stride} ${get("sd")}))
  (local.set $mb (i32.load offset=${SLOT.mask} ${get("sd")}))
  (local.set $mstride (i32.load offset=${SLOT.maskStride} ${get("sd")}))
  (local.set $scr (i32.add ${i32(scratch)} (i32.mul (global.get $tid) ${i32(scratchBytes)})))
  (local.set $fk (i32.add ${get("scr")} ${i32((hd * hd + hd) * 4)}))
  (local.set $fq (i32.add ${get("fk")} ${i32(hd * 4)}))
  ${rope ? `${prep}\n(call $barrier)` : ""}
  (local.set $items (i32.mul ${get("g")} ${i32(G)}))
  (local.set $w (global.get $tid))
  (block $B_items (loop $L_items
    (br_if $B_items (i32.ge_s ${get("w")} ${get("items")}))
    (local.set $s (i32.div_u ${get("w")} ${i32(G)}))
    (local.set $kvh (i32.rem_u ${get("w")} ${i32(G)}))
    ${perItem}
    (local.set $w (i32.add ${get("w")} (global.get $nth)))
    (br $L_items)))`;
  return f.text(body);
}
