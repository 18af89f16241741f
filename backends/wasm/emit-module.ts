// Assembles the specialised module: the kernels the plan's ops need (deduplicated by their
// baked-in shape), the two entry points that call them with constant addresses, the thread
// barrier and, in the shared-memory variant, the worker loop. The memory is imported so the
// runtime sizes it (and, for threads, shares it).

import { emitAttention, attentionName } from "./emit-attention.ts";
import { appendHeads, emitRope, ropeName } from "./emit-kv-rows.ts";
import { emitLinearAttention, linearAttentionName } from "./emit-linear-attention.ts";
import { emitMatmul, matmulName, tileRows } from "./emit-matmul.ts";
import { emitSsmConv, emitSsmScan, ssmConvName, ssmScanName } from "./emit-ssm.ts";
import { emitActivation, emitAdd, emitAddPosition, emitEmbed, emitEmbedLowBit, emitGated, emitHelpers, emitNorm, emitSoftcap, threadRows } from "./emit-rows.ts";
import type { BarrierAt } from "./barriers.ts";
import type { WOp } from "./ops.ts";
import { DESC, MAX_PAGES, SLOT, type WasmPlan } from "./plan.ts";
import { type EmitFlags, Func, get, i32 } from "./wat.ts";

const tag = (x: number): string => String(x).replace(/[^0-9a-zA-Z]/g, "_");

class ModuleText {
  private readonly funcs = new Map<string, string>();
  constructor(readonly fl: EmitFlags, readonly plan: WasmPlan) {}
  /** Adds a kernel once; returns its name. */
  need(name: string, make: () => string): string {
    if (!this.funcs.has(name)) this.funcs.set(name, make());
    return name;
  }
  kernels(): string {
    return [...this.funcs.values()].join("\n\n");
  }
}

function persistName(op: Extract<WOp, { op: "persist" }>): string {
  return `persist_kv${op.kvHeads}_d${op.headDim}${op.ropeKey ? `_rope${op.ropeDim}` : ""}`;
}

/** Copies encode's memory K (RoPE at source positions) and V rows into a cross slot. */
function emitPersist(op: Extract<WOp, { op: "persist" }>, desc: number, positions: number): string {
  const kvDim = op.kvHeads * op.headDim;
  const f = new Func(persistName(op), ["k", "v", "sd", "rope"], undefined, "memory K/V → cross slot");
  f.local("i32", "g", "n", "kb", "vb", "stride", "s", "t", "src", "dst");
  const rope = op.ropeKey ? ropeName(op.ropeDim, positions) : "";
  const row = `
    (local.set $s (i32.div_u ${get("r")} ${get("n")}))
    (local.set $t (i32.rem_u ${get("r")} ${get("n")}))
    (local.set $src (i32.add ${get("k")} (i32.mul ${get("r")} ${i32(kvDim * 4)})))
    ${rope ? Array.from({ length: op.kvHeads }, (_, h) => `(call $${rope} (i32.add ${get("src")} ${i32(h * op.headDim * 4)}) ${get("t")} ${get("rope")})`).join("\n") : ""}
    ${appendHeads(f, get("src"), get("kb"), get("t"), op.kvHeads, op.headDim, "ck")}
    ${appendHeads(f, `(i32.add ${get("v")} (i32.mul ${get("r")} ${i32(kvDim * 4)}))`, get("vb"), get("t"), op.kvHeads, op.headDim, "cv")}`;
  return f.text(`(local.set $g (i32.load ${i32(desc + DESC.g)}))
  (local.set $n (i32.load ${i32(desc + DESC.n)}))
  (local.set $kb (i32.load offset=${SLOT.k} ${get("sd")}))
  (local.set $vb (i32.load offset=${SLOT.v} ${get("sd")}))
  (local.set $stride (i32.load offset=${SLOT.stride} ${get("sd")}))
  ${threadRows(f, `(i32.mul ${get("g")} ${get("n")})`, row)}`);
}

/** One op as a call with its constant addresses. */
function callOp(mt: ModuleText, op: WOp, addr: Record<number, number>): string {
  const { fl, plan } = mt;
  const a = (id: number): string => {
    const x = addr[id];
    if (x === undefined) throw new Error(`wasm emit: value %${id} has no address`);
    return i32(x);
  };
  const w = (name: string | undefined): string => (name === undefined ? i32(0) : i32(plan.weightAddr[name]));
  const t = (key: string | undefined): string => (key === undefined ? i32(0) : i32(plan.tableAddr[key]));
  const desc = plan.layout.desc;
  const positions = plan.rows;
  const rows = get("rows");
  switch (op.op) {
    case "embed": {
      if (op.storage) {
        const id = `embed_${op.storage}_v${op.vocab}_d${op.dim}_s${tag(op.scale)}`;
        const name = mt.need(id, () => emitEmbedLowBit(fl, id, op.storage!, op.vocab, op.dim, op.scale));
        return `(call $${name} ${i32(plan.layout.inputs[op.ids])} ${w(op.table)} ${a(op.out)} ${rows})`;
      }
      const name = mt.need(`embed_d${op.dim}_s${tag(op.scale)}`, () => emitEmbed(fl, `embed_d${op.dim}_s${tag(op.scale)}`, op.dim, op.scale));
      return `(call $${name} ${i32(plan.layout.inputs[op.ids])} ${w(op.table)} ${a(op.out)} ${rows})`;
    }
    case "add_position": {
      const name = mt.need(`addpos_d${op.dim}`, () => emitAddPosition(fl, `addpos_d${op.dim}`, op.dim, desc));
      return `(call $${name} ${a(op.x)} ${op.table ? w(op.table) : t(op.tableKey)} ${a(op.out)} ${rows})`;
    }
    case "add": {
      const name = mt.need(`add_w${op.width}`, () => emitAdd(fl, `add_w${op.width}`, op.width));
      return `(call $${name} ${a(op.a)} ${a(op.b)} ${a(op.out)} ${rows})`;
    }
    case "norm": {
      const name = `norm_${op.kind}_d${op.dim}${op.bias ? "_b" : ""}_eps${tag(op.eps)}${op.offset !== 0 ? `_o${tag(op.offset)}` : ""}`;
      mt.need(name, () => emitNorm(fl, name, op.kind, op.dim, op.bias !== undefined, op.eps, op.offset));
      // Per-head groups are rows of their own: a value row holds `groups` of them, contiguous.
      return `(call $${name} ${a(op.x)} ${w(op.weight)} ${w(op.bias)} ${a(op.out)} ${op.groups > 1 ? `(i32.mul ${rows} ${i32(op.groups)})` : rows})`;
    }
    case "linear": {
      const lowBit = op.storage ? { storage: op.storage, scratch: { base: plan.layout.scratch, bytes: plan.layout.scratchBytes }, ...(plan.layout.actq !== undefined ? { actq: plan.layout.actq } : {}) } : {};
      const spec = { K: op.K, N: op.N, bias: op.bias !== undefined, ...(op.act ? { act: op.act } : {}), ...(op.gate ? { gateAct: op.gate.act } : {}), residual: op.residual !== undefined, ...lowBit };
      const name = mt.need(matmulName(spec), () => emitMatmul(fl, spec));
      const gate = op.gate ? a(op.gate.id) : i32(0);
      const res = op.residual !== undefined ? a(op.residual) : i32(0);
      return `;; ${op.name}\n(call $${name} ${a(op.x)} ${i32(plan.packedAddr[op.weight])} ${w(op.bias)} ${a(op.out)} ${gate} ${res} ${rows})`;
    }
    case "activation": {
      const name = mt.need(`act_${op.act}_w${op.width}`, () => emitActivation(fl, `act_${op.act}_w${op.width}`, op.width, op.act));
      return `(call $${name} ${a(op.x)} ${a(op.out)} ${rows})`;
    }
    case "softcap": {
      const id = `softcap_w${op.width}_c${String(op.cap).replace(/[^0-9a-z]/gi, "_")}`;
      const name = mt.need(id, () => emitSoftcap(fl, id, op.width, op.cap));
      return `(call $${name} ${a(op.x)} ${a(op.out)} ${rows})`;
    }
    case "gated": {
      const name = mt.need(`gated_${op.act}_w${op.width}`, () => emitGated(fl, `gated_${op.act}_w${op.width}`, op.width, op.act));
      return `(call $${name} ${a(op.gate)} ${a(op.up)} ${a(op.out)} ${rows})`;
    }
    case "attention":
    case "linear_attention": {
      if (op.ropeKey) mt.need(ropeName(op.ropeDim, positions), () => emitRope(ropeName(op.ropeDim, positions), op.ropeDim, positions));
      const sd = i32(plan.slots[op.slot].desc);
      const { scratch, scratchBytes } = plan.layout;
      const kv = op.source === "memory" ? `${i32(0)} ${i32(0)}` : `${a(op.k)} ${a(op.v)}`;
      if (op.op === "attention") {
        const name = mt.need(attentionName(op), () => emitAttention(fl, op, desc, scratch, scratchBytes, positions));
        return `;; ${op.name}\n(call $${name} ${a(op.q)} ${kv} ${a(op.out)} ${sd} ${t(op.ropeKey)} ${t(op.alibiKey)})`;
      }
      const name = mt.need(linearAttentionName(op), () => emitLinearAttention(fl, op, desc, scratch, scratchBytes, positions));
      return `;; ${op.name}\n(call $${name} ${a(op.q)} ${kv} ${a(op.out)} ${sd} ${t(op.ropeKey)})`;
    }
    case "ssm_conv": {
      const name = mt.need(ssmConvName(op), () => emitSsmConv(fl, op, desc, plan.weightAddr[op.weight], op.bias === undefined ? undefined : plan.weightAddr[op.bias]));
      return `;; ${op.name}\n(call $${name} ${a(op.x)} ${a(op.out)} ${i32(plan.slots[op.slot].desc)})`;
    }
    case "ssm_scan": {
      const addrs = { dtWeight: plan.weightAddr[op.dtWeight], dtBias: plan.weightAddr[op.dtBias], aLog: plan.weightAddr[op.aLog], d: plan.weightAddr[op.d] };
      const name = mt.need(ssmScanName(op), () => emitSsmScan(fl, op, desc, plan.layout.scratch, plan.layout.scratchBytes, addrs));
      return `;; ${op.name}\n(call $${name} ${a(op.u)} ${a(op.proj)} ${a(op.z)} ${a(op.out)} ${i32(plan.slots[op.slot].desc)})`;
    }
    case "persist": {
      if (op.ropeKey) mt.need(ropeName(op.ropeDim, positions), () => emitRope(ropeName(op.ropeDim, positions), op.ropeDim, positions));
      const name = mt.need(persistName(op), () => emitPersist(op, desc, positions));
      return `(call $${name} ${a(op.k)} ${a(op.v)} ${i32(plan.slots[op.slot].desc)} ${t(op.ropeKey)})`;
    }
  }
}

/** The barrier after an op (barriers.ts); the rows test matches the low-bit matmuls' choice of path. */
function barrierCode(mt: ModuleText, at: BarrierAt): string {
  const tile = i32(tileRows(mt.fl));
  switch (at) {
    case "always":
      return "(call $barrier)";
    case "never":
      return "";
    case "prefill":
      return `(if (i32.ge_s ${get("rows")} ${tile}) (then (call $barrier)))`;
    case "step":
      return `(if (i32.lt_s ${get("rows")} ${tile}) (then (call $barrier)))`;
  }
}

function entry(mt: ModuleText, name: string, ops: WOp[], addr: Record<number, number>, barriers: BarrierAt[]): string {
  const desc = mt.plan.layout.desc;
  const calls = ops.map((op, i) => [callOp(mt, op, addr), barrierCode(mt, barriers[i])].filter((line) => line !== "").join("\n")).join("\n");
  return `(func $${name}
  (local $rows i32)
  (local.set $rows (i32.mul (i32.load ${i32(desc + DESC.g)}) (i32.load ${i32(desc + DESC.n)})))
  ${calls})`;
}

/**
 * Polls of the barrier's word before a waiting thread sleeps (~25 µs); a sleeper costs a futex
 * wake-up at every barrier it sleeps through. q4 decode of bench/bandwidth-bound.sf on two
 * threads, quiet machine, alternating runs: 4,096 polls 3.6–4.4 ms / token, 2^15 2.7–3.2, 2^17
 * 2.7–3.3; f32 10–12 → 9.4–10. At load ≥ 3 on this 2-core machine 2^17 was slower (6.8 → 10 ms:
 * the spinner takes the core the late thread needs), so the shorter of the two that pay.
 */
const SPIN_BEFORE_SLEEP = 1 << 15;

function threadCode(fl: EmitFlags, desc: number): string {
  if (!fl.threads) return `(func $barrier)`;
  const cnt = i32(desc + DESC.barCount);
  const gen = i32(desc + DESC.barGen);
  return `;; Sense-reversing barrier: the last thread to arrive resets the count and bumps the generation.
;; Waiters spin briefly before sleeping in memory.atomic.wait32 (SPIN_BEFORE_SLEEP).
(func $barrier
  (local $g i32) (local $spin i32)
  (if (i32.eq (global.get $nth) (i32.const 1)) (then (return)))
  (local.set $g (i32.atomic.load ${gen}))
  (if (i32.eq (i32.atomic.rmw.add ${cnt} (i32.const 1)) (i32.sub (global.get $nth) (i32.const 1)))
    (then
      (i32.atomic.store ${cnt} (i32.const 0))
      (drop (i32.atomic.rmw.add ${gen} (i32.const 1)))
      (drop (memory.atomic.notify ${gen} (i32.const -1))))
    (else
      (block $done (loop $wait
        (br_if $done (i32.ne (i32.atomic.load ${gen}) ${get("g")}))
        (br_if $done (i32.atomic.load ${i32(desc + DESC.abort)}))
        (local.set $spin (i32.add ${get("spin")} (i32.const 1)))
        (if (i32.gt_u ${get("spin")} ${i32(SPIN_BEFORE_SLEEP)})
          (then (drop (memory.atomic.wait32 ${gen} ${get("g")} (i64.const 1000000)))))
        (br $wait))))))
;; $gen: the generation the runtime read before starting this worker, so a command issued
;; before the worker reaches its first wait is not missed.
(func $worker_loop (export "worker_loop") (param $gen i32)
  (local $cmd i32)
  (loop $L
    (drop (memory.atomic.wait32 ${i32(desc + DESC.gen)} ${get("gen")} (i64.const -1)))
    (if (i32.ne (i32.atomic.load ${i32(desc + DESC.gen)}) ${get("gen")}) (then
      (local.set $gen (i32.atomic.load ${i32(desc + DESC.gen)}))
      (local.set $cmd (i32.atomic.load ${i32(desc + DESC.cmd)}))
      (if (i32.eq ${get("cmd")} (i32.const 3)) (then (return)))
      (if (i32.eq ${get("cmd")} (i32.const 1)) (then (call $encode)))
      (if (i32.eq ${get("cmd")} (i32.const 2)) (then (call $decode)))))
    (br $L)))`;
}

/** The whole module as WAT: readable, with each kernel's shape in its name and comment. */
export function emitModuleText(plan: WasmPlan, fl: EmitFlags): string {
  const mt = new ModuleText(fl, plan);
  const encode = entry(mt, "encode", plan.encode, plan.addr.encode, plan.barriers.encode);
  const decode = entry(mt, "decode", plan.decode, plan.addr.decode, plan.barriers.decode);
  const pages = plan.layout.staticBytes / 65536;
  return `;; specformer Wasm backend: model ${plan.model}, ${fl.relaxed ? "relaxed SIMD (fused multiply-add)" : "SIMD128"}${fl.threads ? ", shared memory" : ""}
;; rows per call ${plan.rows}, context ${plan.context}${plan.sourceContext !== undefined ? `, source context ${plan.sourceContext}` : ""}, arena ${plan.layout.arena.bytes} bytes at ${plan.layout.arena.offset}
(module
 (import "env" "memory" (memory ${pages} ${MAX_PAGES}${fl.threads ? " shared" : ""}))
 (global $tid (mut i32) (i32.const 0))
 (global $nth (mut i32) (i32.const 1))
 (func (export "set_thread") (param $t i32) (param $n i32) (global.set $tid (local.get $t)) (global.set $nth (local.get $n)))
 (export "encode" (func $encode))
 (export "decode" (func $decode))
${emitHelpers()}
${threadCode(fl, plan.layout.desc)}
${encode}
${decode}
${mt.kernels()}
)`;
}
