// One fused task (fuse.ts) → its WGSL kernels and dispatches, through the compilation's
// context (compile-context.ts): which kernel variant, which buffers it binds, its grid.

import { type Dest, type Task } from "./fuse.ts";
import { flashKernel, flashTiles, type AttentionSpec } from "./kernels/attention.ts";
import { NSPLIT, combineKernel, decodeKernel, partialSize } from "./kernels/decode.ts";
import { eltGroupsPerRow, eltKernel } from "./kernels/elementwise.ts";
import { linearAttentionKernel } from "./kernels/linear-attention.ts";
import { quantizeRowsKernel, quantizeThreadsPerRow } from "./kernels/lowbit.ts";
import { SKINNY, matmulKernel, type MatmulSpec } from "./kernels/matmul.ts";
import { normKernel } from "./kernels/norm.ts";
import { embedKernel, ropeKernel, ropePairsPerRow, type RopeTarget } from "./kernels/position.ts";
import { SSM_GROUP, ssmConvKernel, ssmScanKernel } from "./kernels/ssm.ts";
import type { LowBitDType } from "./lowbit.ts";
import type { Extent, PlanDispatch } from "./plan.ts";
import type { SeqSym } from "./wgsl.ts";
import type { CompileContext, Phase } from "./compile-context.ts";

type TaskOf<K extends Task["kind"]> = Extract<Task, { kind: K }>;

const one: Extent = { n: 1 };
const rowsExt = (s: SeqSym, n: number, div = 1): Extent => ({ n, per: s === "seq" ? "rows" : "srcRows", div });

export function emitTask(c: CompileContext, t: Task, phase: Phase): void {
  const label = c.g.values[t.out].name;
  switch (t.kind) {
    case "matmul":
      return emitMatmul(c, t, label, phase);
    case "embed":
      return emitEmbed(c, t, label, phase);
    case "norm":
      return emitNorm(c, t, label, phase);
    case "elt": {
      const rows = c.sym(t.out);
      const width = c.width(t.out);
      const k = eltKernel({ op: t.op, ...(t.act ? { act: t.act } : {}), ...(t.cap !== undefined ? { cap: t.cap } : {}), rows, width });
      const bindings = [...t.ins.map((v) => c.buf(v)), c.buf(t.out)];
      c.dispatch({ label, phase, bindings, grid: [rowsExt(rows, eltGroupsPerRow(width), 64), one, one], flat: true }, "elt", k);
      return;
    }
    case "rope":
      return emitRope(c, t, label, phase);
    case "attention":
      return emitAttention(c, t, label, phase);
    case "linear_attention":
      return emitLinearAttention(c, t, label, phase);
    case "ssm_conv":
    case "ssm_scan":
      return emitSsm(c, t, label, phase);
  }
}

function emitMatmul(c: CompileContext, t: TaskOf<"matmul">, label: string, phase: Phase): void {
  const rows = c.sym(t.x);
  const K = c.width(t.x);
  const N = t.outs[t.outs.length - 1].c1;
  const w = c.table.weight(t.w, t.w.length === 1);
  const w2 = t.gated ? c.table.weight([t.gated.w], true) : undefined;
  const bias = t.bias ? c.table.whole(t.bias) : undefined;
  const bias2 = t.gated?.bias ? c.table.whole([t.gated.bias]) : undefined;
  const outs = t.outs.map((d: Dest) => {
    if ("cache" in d) {
      const ring = c.ringOf(d.cache);
      return { buffer: c.cache(d.cache, d.width)[d.part], out: { c0: d.c0, c1: d.c1, stride: d.width, store: true, ...(ring !== undefined ? { ring } : {}) } };
    }
    return { buffer: c.buf(d.value), out: { c0: d.c0, c1: d.c1, stride: c.width(d.value), store: false } };
  });
  const storage = c.storage(t.w[0]);
  const storage2 = t.gated ? c.storage(t.gated.w) : undefined;
  const lowBit = { ...(storage ? { storage } : {}), ...(storage2 ? { storage2 } : {}), ...(storage || storage2 ? { f16: c.limits.shaderF16 } : {}) };
  const x = matmulInput(c, t, label, phase, rows, K, storage, storage2);
  w.forEach((chunk, i) => {
    const n = chunk.rows[1] - chunk.rows[0];
    const spec = (variant: MatmulSpec["variant"]) => ({
      // Only the blocked variants have the two-accumulator gated epilogue and low-bit loaders.
      variant: (t.gated || storage || storage2) && (variant === "naive" || variant === "tiled") ? ("blocked" as const) : variant,
      ...lowBit,
      rows,
      K,
      N: n,
      nOff: chunk.rows[0],
      bias: bias !== undefined,
      ...(t.gated ? { gated: t.gated.act } : {}),
      ...(t.act ? { act: t.act } : {}),
      ...(t.residual !== undefined ? { residual: N } : {}),
      outs: outs.map((o) => o.out),
    });
    const bindings = [x.buffer, chunk.buffer, ...(w2 ? [w2[i].buffer] : []), ...(bias !== undefined ? [bias] : []), ...(bias2 !== undefined ? [bias2] : [])];
    if (t.residual !== undefined) bindings.push(c.buf(t.residual));
    bindings.push(...outs.map((o) => o.buffer));
    const main = matmulKernel(spec(c.variant));
    const grid: PlanDispatch["grid"] = [{ n: Math.ceil(n / main.tileN) }, rowsExt(rows, 1, main.tileM), one];
    c.dispatch({ label, phase, bindings, grid, when: { sym: rows, one: false } }, "matmul", main);
    const skinny = matmulKernel(spec(SKINNY));
    c.dispatch({ label, phase, bindings, grid: [{ n: Math.ceil(n / skinny.tileN) }, rowsExt(rows, 1), one], when: { sym: rows, one: true } }, "matmul", skinny);
  });
  x.done();
}

function emitEmbed(c: CompileContext, t: TaskOf<"embed">, label: string, phase: Phase): void {
  const rows = c.sym(t.out);
  const D = c.width(t.out);
  const pos = t.position;
  const posBuf = pos?.table !== undefined ? [c.table.whole([pos.table])] : [];
  const chunks = t.table !== undefined ? c.table.weight([t.table], true) : [undefined];
  const storage = t.table !== undefined ? c.storage(t.table) : undefined;
  const lowBit = storage ? { storage, f16: c.limits.shaderF16 } : {};
  for (const chunk of chunks) {
    const k = embedKernel({
      rows,
      D,
      ...(chunk ? { gather: { scale: t.scale, lo: chunk.rows[0], hi: chunk.rows[1], ...lowBit } } : {}),
      residual: t.residual !== undefined,
      ...(pos ? { position: pos.kind } : {}),
    });
    const bindings = [
      ...(chunk ? [c.buf(t.ids!), chunk.buffer] : []),
      ...(t.residual !== undefined ? [c.buf(t.residual)] : []),
      ...posBuf,
      c.buf(t.out),
    ];
    c.dispatch({ label, phase, bindings, grid: [rowsExt(rows, D, 64), one, one], flat: true }, "embed", k);
  }
}

function emitNorm(c: CompileContext, t: TaskOf<"norm">, label: string, phase: Phase): void {
  const n = t.node;
  const rows = c.sym(n.x);
  const bias = n.bias === undefined ? [] : [c.table.whole([c.weightName(n.bias)])];
  // A per-head norm's groups are norm rows of their own, contiguous in the activation row.
  const groups = n.groups ?? 1;
  const store = t.cache ? { ...(c.ringOf(t.cache.cache) !== undefined ? { ring: c.ringOf(t.cache.cache)! } : {}) } : undefined;
  const spec = { kind: n.kind, rows, D: c.width(n.x) / groups, groups, eps: n.eps, bias: bias.length > 0, offset: n.offset ?? 0, ...(store ? { store } : {}) };
  const k = normKernel(spec, c.limits.maxComputeInvocationsPerWorkgroup);
  const out = t.cache ? c.cache(t.cache.cache, t.cache.width)[t.cache.part] : c.buf(t.out);
  const bindings = [c.buf(n.x), c.table.whole([c.weightName(n.weight)]), ...bias, out];
  c.dispatch({ label, phase, bindings, grid: [rowsExt(rows, groups), one, one], flat: true }, "norm", k);
}

function emitLinearAttention(c: CompileContext, t: TaskOf<"linear_attention">, label: string, phase: Phase): void {
  const n = t.node;
  const q = c.sym(n.q);
  const spec = { q, self: n.source === "self", causal: n.causal, heads: n.heads, kvHeads: n.kvHeads, headDim: n.headDim, featureMap: n.featureMap, mask: n.padding !== undefined };
  const k = linearAttentionKernel(spec, c.limits.maxComputeWorkgroupStorageSize, c.limits.maxComputeInvocationsPerWorkgroup);
  const bindings = [c.buf(n.q), c.buf(n.k), c.buf(n.v), ...(n.padding !== undefined ? [c.buf(n.padding)] : [])];
  if (n.causal) {
    const st = (part: string, elements: number) => c.table.add({ name: `${n.cache}.${part}`, kind: "state", dtype: "f32", elements, cap: "B", clearOnForward: true });
    bindings.push(st("S", n.kvHeads * n.headDim * n.headDim), st("z", n.kvHeads * n.headDim));
  }
  bindings.push(c.buf(t.out));
  c.dispatch({ label, phase, bindings, grid: [{ n: n.kvHeads }, { n: 1, per: "batch" }, one] }, "linear_attention", k);
}

/**
 * The rows a matmul reads: its input, or for q8 / q4 weights the input quantised per block
 * (kernels/lowbit.ts quantizeRowsKernel) into a slot of its own, freed after the matmul.
 */
function matmulInput(c: CompileContext, t: TaskOf<"matmul">, label: string, phase: Phase, rows: SeqSym, K: number, storage?: LowBitDType, storage2?: LowBitDType): { buffer: number; done: () => void } {
  const quantised = (d?: LowBitDType) => d === "q8" || d === "q4";
  if (t.gated && quantised(storage) !== quantised(storage2)) {
    throw new Error(`webgpu: ${label}: a gated unit with one weight in q8 / q4 and the other not (${storage ?? "f32"}, ${storage2 ?? "f32"}) has no kernel; store both alike`);
  }
  if (!quantised(storage)) return { buffer: c.buf(t.x), done: () => {} };
  const xq = c.table.acquire(`${label}.xq`, rows === "seq" ? "R" : "S", K);
  const grid: PlanDispatch["grid"] = [{ n: quantizeThreadsPerRow(K), per: rows === "seq" ? "rows" : "srcRows", div: 64 }, { n: 1 }, { n: 1 }];
  c.dispatch({ label: `${label}.xq`, phase, bindings: [c.buf(t.x), xq], grid, flat: true }, "quantize", quantizeRowsKernel({ rows, K }));
  return { buffer: xq, done: () => c.table.release(xq) };
}

/** A state-space op: one invocation per (sequence, channel); its state a buffer per sequence. */
function emitSsm(c: CompileContext, t: TaskOf<"ssm_conv" | "ssm_scan">, label: string, phase: Phase): void {
  const state = (cache: string, elements: number) => c.table.add({ name: cache, kind: "state", dtype: "f32", elements, cap: "B", clearOnForward: true });
  const w = (id: number) => c.table.whole([c.weightName(id)]);
  if (t.kind === "ssm_conv") {
    const n = t.node;
    const k = ssmConvKernel({ channels: n.channels, rowWidth: c.width(n.x), width: n.width, bias: n.bias !== undefined });
    const bindings = [c.buf(n.x), w(n.weight), ...(n.bias !== undefined ? [w(n.bias)] : []), state(n.cache, Math.max(1, (n.width - 1) * n.channels)), c.buf(t.out)];
    c.dispatch({ label, phase, bindings, grid: [{ n: Math.ceil(n.channels / SSM_GROUP) }, { n: 1, per: "batch" }, { n: 1 }] }, "ssm_conv", k);
    return;
  }
  const n = t.node;
  const inner = c.width(n.u);
  const k = ssmScanKernel({ inner, stateSize: n.stateSize, dtRank: n.dtRank, chunked: c.scanMode === "chunked" });
  // dt_proj's bias and D share one binding ([E] each): the scan is at the 8-buffer limit.
  const biasAndD = c.table.whole([c.weightName(n.dtBias), c.weightName(n.d)]);
  const bindings = [c.buf(n.u), c.buf(n.proj), c.buf(n.z), w(n.dtWeight), w(n.aLog), biasAndD, state(n.cache, inner * n.stateSize), c.buf(t.out)];
  c.dispatch({ label, phase, bindings, grid: [{ n: Math.ceil(inner / SSM_GROUP) }, { n: 1, per: "batch" }, { n: 1 }] }, "ssm_scan", k);
}

function emitRope(c: CompileContext, t: TaskOf<"rope">, label: string, phase: Phase): void {
  const n = t.attn;
  const rope = n.rope!;
  const targets: RopeTarget[] = [];
  const bindings: number[] = [];
  const add = (v: number, heads: number) => {
    const r = c.rowsOf(v);
    const ring = r.store ? c.ringOf(c.cached.get(v)!.cache) : undefined;
    targets.push({ heads, width: heads * n.headDim, store: r.store, ...(ring !== undefined ? { ring } : {}) });
    bindings.push(r.buffer);
  };
  if (t.which !== "k") add(n.q, n.heads);
  if (t.which !== "q") add(n.k, n.kvHeads);
  const rows = c.sym(t.which === "k" ? n.k : n.q);
  const spec = { rows, headDim: n.headDim, rotary: rope.dim, base: rope.base, ...(rope.scaling ? { scaling: rope.scaling } : {}), targets };
  const grid: PlanDispatch["grid"] = [{ n: ropePairsPerRow(spec), per: rows === "seq" ? "rows" : "srcRows", div: 64 }, { n: 1 }, { n: 1 }];
  c.dispatch({ label: `${label}.rope`, phase, bindings, grid, flat: true }, "rope", ropeKernel(spec));
}

function emitAttention(c: CompileContext, t: TaskOf<"attention">, label: string, phase: Phase): void {
  const n = t.node;
  const q = c.sym(n.q);
  const self = n.source === "self";
  if (self && q === "seq" && !c.cached.has(n.k)) throw new Error(`webgpu: keys of ${label} are not projections the compiler can route into the KV cache`);
  const spec: AttentionSpec = {
    q,
    self,
    heads: n.heads,
    kvHeads: n.kvHeads,
    headDim: n.headDim,
    causal: n.causal,
    ...(n.window !== undefined ? { window: n.window } : {}),
    ...(n.sparse ? { sparse: n.sparse } : {}),
    alibi: n.alibi,
    ...(n.headWindows ? { headWindows: n.headWindows } : {}),
    mask: n.padding !== undefined,
    ...(n.scale !== undefined ? { scale: n.scale } : {}),
    ...(n.softcap !== undefined ? { softcap: n.softcap } : {}),
  };
  // A ring cache (the state plan's): slots modulo its rows; its mask history may be a ring too.
  const ring = self && q === "seq" ? c.ringOf(n.cache) : undefined;
  if (ring !== undefined) {
    spec.ring = ring;
    if (n.padding !== undefined && c.rings[c.buf(n.padding)] === ring) spec.maskRing = true;
  }
  const kv = [c.rowsOf(n.k).buffer, c.rowsOf(n.v).buffer];
  const mask = n.padding !== undefined ? [c.buf(n.padding)] : [];
  const out = c.buf(t.out);
  const batch: Extent = { n: 1, per: "batch" };
  const { bq } = flashTiles(spec, c.limits.maxComputeWorkgroupStorageSize);
  const flash = flashKernel(spec, c.limits.maxComputeWorkgroupStorageSize, c.attentionMode);
  c.dispatch(
    { label, phase, bindings: [c.buf(n.q), ...kv, ...mask, out], grid: [{ n: 1, per: q, div: bq }, { n: n.heads }, batch], when: { sym: q, one: false } },
    "attention",
    flash,
  );
  // One query row: split-KV partials, then their merge.
  const size = partialSize(spec);
  if (c.scratch < 0) c.scratch = c.table.add({ name: "attention.partials", kind: "scratch", dtype: "f32", elements: size, cap: "B" });
  c.scratchSize = Math.max(c.scratchSize, size);
  c.table.buffers[c.scratch].elements = c.scratchSize;
  const when = { sym: q, one: true } as const;
  c.dispatch({ label: `${label}.split`, phase, bindings: [c.buf(n.q), ...kv, ...mask, c.scratch], grid: [{ n: NSPLIT }, { n: n.heads }, batch], when }, "decode", decodeKernel(spec));
  c.dispatch({ label: `${label}.merge`, phase, bindings: [c.scratch, out], grid: [{ n: n.heads, per: "batch" }, { n: 1 }, { n: 1 }], when }, "combine", combineKernel(spec));
}
