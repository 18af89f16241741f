// compileWgsl: IR graph → WGSL shaders specialised to the model's sizes + a JSON plan of
// buffers and dispatches. Build-time only: nothing here touches a device, so the CLI can run
// it on a machine without one and the runtime just replays the plan.

import type { Graph, Node } from "../../src/ir/ir.ts";
import { splitPhases } from "../../src/ir/phases.ts";
import { planStates, type StatePlan } from "../../src/ir/state-plan.ts";
import { encoderSection, outputSection, type ModelInfo } from "../../src/model/model.ts";
import { planInputs } from "../../src/runtime/inputs.ts";
import { nodeStorage } from "../../src/runtime/weights/store.ts";
import { BufferTable } from "./buffers.ts";
import type { LowBitDType } from "./lowbit.ts";
import { quantizeRowsKernel, quantizeThreadsPerRow } from "./kernels/lowbit.ts";
import { fuse, taskReads, taskWrites, type Dest, type Task } from "./fuse.ts";
import { flashKernel, flashTiles, type AttentionMode, type AttentionSpec } from "./kernels/attention.ts";
import { NSPLIT, combineKernel, decodeKernel, partialSize } from "./kernels/decode.ts";
import { eltGroupsPerRow, eltKernel } from "./kernels/elementwise.ts";
import { linearAttentionKernel } from "./kernels/linear-attention.ts";
import { SSM_GROUP, ssmConvKernel, ssmScanKernel } from "./kernels/ssm.ts";
import { SKINNY, matmulKernel, type MatmulSpec, type MatmulVariant } from "./kernels/matmul.ts";
import { normKernel } from "./kernels/norm.ts";
import { embedKernel, ropeKernel, ropePairsPerRow, type RopeTarget } from "./kernels/position.ts";
import { DEFAULT_LIMITS, PARAM_FIELDS, type Extent, type Plan, type PlanDispatch, type PlanInput, type WgslLimits } from "./plan.ts";
import type { Kernel, SeqSym } from "./wgsl.ts";

export interface CompiledWgsl {
  /** Kernel name → WGSL source. Names are generated (family_index), never taken from the spec. */
  shaders: Record<string, string>;
  plan: Plan;
  /** The shared state plan (src/ir/state-plan.ts) these kernels follow. */
  states: StatePlan;
  /**
   * Plan buffer id → rows per sequence, for the ring buffers of a decode state (sliding-window
   * K/V caches and their mask histories): fixed-size there, whatever the position. In a forward
   * they are ordinary "K" buffers of seq rows.
   */
  rings: Record<number, number>;
}

export interface CompileOptions {
  /** Matmul variant for every projection (the bench compares them); default "blocked". */
  matmul?: MatmulVariant;
  /** Attention over K/V tiles in workgroup memory (default) or per-query key walks. */
  attention?: AttentionMode;
  /** Mamba's scan: prefill in time chunks (default, kernels/ssm.ts) or one walk per channel. */
  scan?: "chunked" | "sequential";
}

export function compileWgsl(m: ModelInfo, graph: Graph, limits: Partial<WgslLimits> = {}, opts: CompileOptions = {}): CompiledWgsl {
  return new Compiler(m, graph, { ...DEFAULT_LIMITS, ...limits }, opts.matmul ?? "blocked", opts.attention ?? "tiles", opts.scan ?? "chunked").run();
}

class Compiler {
  private readonly shaders = new Map<string, string>();
  private readonly kernels: Plan["kernels"] = {};
  private readonly dispatches: PlanDispatch[] = [];
  private readonly table: BufferTable;
  private readonly valueBuf = new Map<number, number>();
  private readonly caches = new Map<string, { k: number; v: number }>();
  private readonly states: StatePlan;
  private readonly rings: Record<number, number> = {};
  /** Values whose rows live in a KV cache instead of a buffer of their own. */
  private readonly cached = new Map<number, { cache: string; part: "k" | "v" }>();
  /** By user-chosen input name: no prototype, so `__proto__` or `constructor` is a key like any other. */
  private readonly inputs: Record<string, PlanInput> = Object.create(null);
  private readonly producer = new Map<number, Node>();
  private readonly decSeq: string;
  private readonly encSeq: string | undefined;
  private scratch = -1;
  private scratchSize = 0;

  constructor(
    private readonly m: ModelInfo,
    private readonly g: Graph,
    private readonly limits: WgslLimits,
    private readonly variant: MatmulVariant,
    private readonly attentionMode: AttentionMode,
    private readonly scanMode: "chunked" | "sequential",
  ) {
    for (const n of g.nodes) this.producer.set(n.out, n);
    this.decSeq = outputSection(m).seqDim;
    this.encSeq = encoderSection(m)?.seqDim;
    const ip = planInputs(m);
    this.states = planStates(g, { ...(ip.context !== undefined ? { context: ip.context } : {}), ...(ip.sourceContext !== undefined ? { sourceContext: ip.sourceContext } : {}) });
    const weightNode = (w: string) => {
      const n = g.nodes.find((x): x is Extract<Node, { op: "weight" }> => x.op === "weight" && x.weight === w);
      if (!n) throw new Error(`webgpu: no weight ${w} in the graph`);
      return n;
    };
    this.table = new BufferTable(
      limits,
      (w) => g.values[weightNode(w).out].shape as number[],
      (w) => nodeStorage(weightNode(w)),
    );
    this.storage = (w) => {
      const st = nodeStorage(weightNode(w));
      return st === "f32" ? undefined : st;
    };
  }

  /** A weight's low-bit storage (the program's `storage` on its node), undefined for f32. */
  private readonly storage: (weight: string) => LowBitDType | undefined;

  private sym(id: number): SeqSym {
    const v = this.g.values[id];
    // Axis 0 is the batch, whatever the spec calls it (activations say "batch"; inputs keep the
    // user's name, or a fixed size): kernels read the call's batch from the params.
    if (v.shape.length < 2) throw new Error(`webgpu: value ${v.name} has shape [${v.shape}], expected [batch, seq, ...]`);
    if (v.shape[1] === this.decSeq) return "seq";
    if (this.encSeq !== undefined && v.shape[1] === this.encSeq) return "src";
    throw new Error(`webgpu: value ${v.name} has sequence axis ${String(v.shape[1])}, neither ${this.decSeq} nor ${this.encSeq ?? "a source"}`);
  }

  private width(id: number): number {
    const s = this.g.values[id].shape.slice(2);
    if (!s.every((d): d is number => typeof d === "number")) throw new Error(`webgpu: value ${this.g.values[id].name} has run-time dims past its sequence axis`);
    return s.reduce((a, b) => a * b, 1);
  }

  run(): CompiledWgsl {
    const g = this.g;
    const stepInputs = planInputs(this.m).stepInputs;
    const dynamic = splitPhases(g, stepInputs).dynamic;
    const tasks = fuse(g, {
      isDecoderSeq: (v) => this.sym(v) === "seq",
      // Only weights of one storage can share a buffer of row records.
      fits: (ws) => this.table.sameStorage(ws) && this.table.bytesOf(ws) <= this.table.maxBytes,
    });
    // Everything independent of the decoder's per-step inputs first: in a decode state that
    // part runs once (begin), the rest on every step; a forward runs both in this order.
    const ordered = [...tasks.filter((t) => !dynamic.has(t.out)), ...tasks.filter((t) => dynamic.has(t.out))];
    for (const t of ordered) {
      if (t.kind !== "matmul") continue;
      for (const d of t.outs) if ("cache" in d) this.cached.set(d.value, { cache: d.cache, part: d.part });
    }
    for (const t of ordered) {
      if (t.kind === "norm" && t.cache) this.cached.set(t.out, { cache: t.cache.cache, part: t.cache.part });
    }
    this.allocateInputs();
    const logitsNode = g.nodes.find((n): n is Extract<Node, { op: "output" }> => n.op === "output" && n.output === "logits");
    if (!logitsNode) throw new Error(`webgpu: graph ${g.model} has no logits output`);
    const logits = this.table.add({ name: g.values[logitsNode.x].name, kind: "logits", dtype: "f32", elements: this.width(logitsNode.x), cap: "R" });
    this.valueBuf.set(logitsNode.x, logits);

    const lastUse = new Map<number, number>();
    const stepReads = new Set<number>();
    ordered.forEach((t, i) => {
      for (const v of taskReads(t)) {
        lastUse.set(v, i);
        if (dynamic.has(t.out)) stepReads.add(v);
      }
    });
    ordered.forEach((t, i) => {
      const phase = dynamic.has(t.out) ? "step" : "static";
      for (const v of taskWrites(t)) {
        if (this.valueBuf.has(v)) continue;
        const id = this.table.acquire(g.values[v].name, this.sym(v) === "seq" ? "R" : "S", this.width(v));
        if (phase === "static" && stepReads.has(v)) this.table.buffers[id].pinned = true;
        this.valueBuf.set(v, id);
      }
      this.emit(t, phase);
      for (const v of [...taskReads(t), ...taskWrites(t)]) {
        const b = this.valueBuf.get(v);
        if (b !== undefined && (lastUse.get(v) ?? -1) <= i && this.producer.get(v)?.op !== "input") this.table.release(b);
      }
    });
    this.checkLimits();
    return {
      shaders: Object.fromEntries([...this.shaders].map(([src, name]) => [name, src])),
      plan: {
        format: "specformer-webgpu-plan",
        version: 1,
        model: this.m.name,
        params: [...PARAM_FIELDS],
        limits: this.limits,
        kernels: this.kernels,
        buffers: this.table.buffers,
        dispatches: this.dispatches,
        inputs: this.inputs,
        logits,
        vocab: this.m.head.vocab,
      },
      states: this.states,
      rings: this.rings,
    };
  }

  private allocateInputs(): void {
    for (const n of this.g.nodes) {
      if (n.op !== "input") continue;
      const v = this.g.values[n.out];
      const sym = this.sym(n.out);
      const mask = v.dtype === "bool";
      // A padding mask over the decoder's tokens is a history over every cached position.
      const cap = mask ? (sym === "seq" ? "K" : "S") : sym === "seq" ? "R" : "S";
      const buffer = this.table.add({ name: n.input, kind: "input", dtype: mask ? "u32" : "i32", elements: 1, cap, input: n.input });
      const mp = this.states.masks[n.input];
      if (mask && sym === "seq" && mp?.kind === "ring") this.rings[buffer] = mp.rows;
      this.valueBuf.set(n.out, buffer);
      this.inputs[n.input] = { buffer, kind: mask ? "mask" : "ids", sym };
    }
  }

  private buf(v: number): number {
    const b = this.valueBuf.get(v);
    if (b === undefined) throw new Error(`webgpu: value ${this.g.values[v].name} has no buffer`);
    return b;
  }

  private cache(name: string, width: number): { k: number; v: number } {
    let c = this.caches.get(name);
    if (!c) {
      const kv = (part: string) => this.table.add({ name: `${name}.${part}`, kind: "kv", dtype: "f32", elements: width, cap: "K" });
      c = { k: kv("k"), v: kv("v") };
      this.caches.set(name, c);
      const ring = this.ringOf(name);
      if (ring !== undefined) this.rings[c.k] = this.rings[c.v] = ring;
    }
    return c;
  }

  /** Rows of the ring the state plan makes of a cache, or undefined for any other cache. */
  private ringOf(cache: string): number | undefined {
    const p = this.states.caches[cache];
    return p?.kind === "ring" ? p.rows : undefined;
  }

  /** The buffer holding a value's rows: its own, or the KV cache it was written into. */
  private rowsOf(v: number): { buffer: number; store: boolean } {
    const c = this.cached.get(v);
    if (c) return { buffer: this.caches.get(c.cache)![c.part], store: true };
    return { buffer: this.buf(v), store: false };
  }

  private kernel(family: string, k: Kernel): string {
    let name = this.shaders.get(k.wgsl);
    if (name === undefined) {
      name = `${family}_${this.shaders.size}`;
      this.shaders.set(k.wgsl, name);
      this.kernels[name] = { bindings: k.bindings, workgroupSize: k.workgroupSize, workgroupBytes: k.workgroupBytes };
    }
    return name;
  }

  private dispatch(d: Omit<PlanDispatch, "kernel">, family: string, k: Kernel): void {
    if (d.bindings.length !== k.bindings.length) throw new Error(`webgpu: ${family} for ${d.label} binds ${d.bindings.length} buffers, its kernel declares ${k.bindings.length}`);
    this.dispatches.push({ ...d, kernel: this.kernel(family, k) });
  }

  private emit(t: Task, phase: "static" | "step"): void {
    const label = this.g.values[t.out].name;
    const one: Extent = { n: 1 };
    const rowsExt = (s: SeqSym, n: number, div = 1): Extent => ({ n, per: s === "seq" ? "rows" : "srcRows", div });
    switch (t.kind) {
      case "matmul": {
        const rows = this.sym(t.x);
        const K = this.width(t.x);
        const N = t.outs[t.outs.length - 1].c1;
        const w = this.table.weight(t.w, t.w.length === 1);
        const w2 = t.gated ? this.table.weight([t.gated.w], true) : undefined;
        const bias = t.bias ? this.table.whole(t.bias) : undefined;
        const bias2 = t.gated?.bias ? this.table.whole([t.gated.bias]) : undefined;
        const outs = t.outs.map((d: Dest) => {
          if ("cache" in d) {
            const ring = this.ringOf(d.cache);
            return { buffer: this.cache(d.cache, d.width)[d.part], out: { c0: d.c0, c1: d.c1, stride: d.width, store: true, ...(ring !== undefined ? { ring } : {}) } };
          }
          return { buffer: this.buf(d.value), out: { c0: d.c0, c1: d.c1, stride: this.width(d.value), store: false } };
        });
        const storage = this.storage(t.w[0]);
        const storage2 = t.gated ? this.storage(t.gated.w) : undefined;
        const lowBit = { ...(storage ? { storage } : {}), ...(storage2 ? { storage2 } : {}), ...(storage || storage2 ? { f16: this.limits.shaderF16 } : {}) };
        const x = this.matmulInput(t, label, phase, rows, K, storage, storage2);
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
          if (t.residual !== undefined) bindings.push(this.buf(t.residual));
          bindings.push(...outs.map((o) => o.buffer));
          const main = matmulKernel(spec(this.variant));
          const grid: PlanDispatch["grid"] = [{ n: Math.ceil(n / main.tileN) }, rowsExt(rows, 1, main.tileM), one];
          this.dispatch({ label, phase, bindings, grid, when: { sym: rows, one: false } }, "matmul", main);
          const skinny = matmulKernel(spec(SKINNY));
          this.dispatch({ label, phase, bindings, grid: [{ n: Math.ceil(n / skinny.tileN) }, rowsExt(rows, 1), one], when: { sym: rows, one: true } }, "matmul", skinny);
        });
        x.done();
        return;
      }
      case "embed": {
        const rows = this.sym(t.out);
        const D = this.width(t.out);
        const pos = t.position;
        const posBuf = pos?.table !== undefined ? [this.table.whole([pos.table])] : [];
        const chunks = t.table !== undefined ? this.table.weight([t.table], true) : [undefined];
        const storage = t.table !== undefined ? this.storage(t.table) : undefined;
        const lowBit = storage ? { storage, f16: this.limits.shaderF16 } : {};
        for (const c of chunks) {
          const k = embedKernel({
            rows,
            D,
            ...(c ? { gather: { scale: t.scale, lo: c.rows[0], hi: c.rows[1], ...lowBit } } : {}),
            residual: t.residual !== undefined,
            ...(pos ? { position: pos.kind } : {}),
          });
          const bindings = [
            ...(c ? [this.buf(t.ids!), c.buffer] : []),
            ...(t.residual !== undefined ? [this.buf(t.residual)] : []),
            ...posBuf,
            this.buf(t.out),
          ];
          this.dispatch({ label, phase, bindings, grid: [rowsExt(rows, D, 64), one, one], flat: true }, "embed", k);
        }
        return;
      }
      case "norm": {
        const n = t.node;
        const rows = this.sym(n.x);
        const bias = n.bias === undefined ? [] : [this.table.whole([this.weightName(n.bias)])];
        // A per-head norm's groups are norm rows of their own, contiguous in the activation row.
        const groups = n.groups ?? 1;
        const store = t.cache ? { ...(this.ringOf(t.cache.cache) !== undefined ? { ring: this.ringOf(t.cache.cache)! } : {}) } : undefined;
        const spec = { kind: n.kind, rows, D: this.width(n.x) / groups, groups, eps: n.eps, bias: bias.length > 0, offset: n.offset ?? 0, ...(store ? { store } : {}) };
        const k = normKernel(spec, this.limits.maxComputeInvocationsPerWorkgroup);
        const out = t.cache ? this.cache(t.cache.cache, t.cache.width)[t.cache.part] : this.buf(t.out);
        const bindings = [this.buf(n.x), this.table.whole([this.weightName(n.weight)]), ...bias, out];
        this.dispatch({ label, phase, bindings, grid: [rowsExt(rows, groups), one, one], flat: true }, "norm", k);
        return;
      }
      case "elt": {
        const rows = this.sym(t.out);
        const width = this.width(t.out);
        const k = eltKernel({ op: t.op, ...(t.act ? { act: t.act } : {}), ...(t.cap !== undefined ? { cap: t.cap } : {}), rows, width });
        const bindings = [...t.ins.map((v) => this.buf(v)), this.buf(t.out)];
        this.dispatch({ label, phase, bindings, grid: [rowsExt(rows, eltGroupsPerRow(width), 64), one, one], flat: true }, "elt", k);
        return;
      }
      case "rope":
        return this.rope(t, label, phase);
      case "attention":
        return this.attention(t, label, phase);
      case "linear_attention": {
        const n = t.node;
        const q = this.sym(n.q);
        const spec = { q, self: n.source === "self", causal: n.causal, heads: n.heads, kvHeads: n.kvHeads, headDim: n.headDim, featureMap: n.featureMap, mask: n.padding !== undefined };
        const k = linearAttentionKernel(spec, this.limits.maxComputeWorkgroupStorageSize, this.limits.maxComputeInvocationsPerWorkgroup);
        const bindings = [this.buf(n.q), this.buf(n.k), this.buf(n.v), ...(n.padding !== undefined ? [this.buf(n.padding)] : [])];
        if (n.causal) {
          const st = (part: string, elements: number) => this.table.add({ name: `${n.cache}.${part}`, kind: "state", dtype: "f32", elements, cap: "B", clearOnForward: true });
          bindings.push(st("S", n.kvHeads * n.headDim * n.headDim), st("z", n.kvHeads * n.headDim));
        }
        bindings.push(this.buf(t.out));
        this.dispatch({ label, phase, bindings, grid: [{ n: n.kvHeads }, { n: 1, per: "batch" }, one] }, "linear_attention", k);
        return;
      }
      case "ssm_conv":
      case "ssm_scan":
        return this.ssm(t, label, phase);
    }
  }

  /**
   * The rows a matmul reads: its input, or for q8 / q4 weights the input quantised per block
   * (kernels/lowbit.ts quantizeRowsKernel) into a slot of its own, freed after the matmul.
   */
  private matmulInput(t: Extract<Task, { kind: "matmul" }>, label: string, phase: "static" | "step", rows: SeqSym, K: number, storage?: LowBitDType, storage2?: LowBitDType): { buffer: number; done: () => void } {
    const quantised = (d?: LowBitDType) => d === "q8" || d === "q4";
    if (t.gated && quantised(storage) !== quantised(storage2)) {
      throw new Error(`webgpu: ${label}: a gated unit with one weight in q8 / q4 and the other not (${storage ?? "f32"}, ${storage2 ?? "f32"}) has no kernel; store both alike`);
    }
    if (!quantised(storage)) return { buffer: this.buf(t.x), done: () => {} };
    const xq = this.table.acquire(`${label}.xq`, rows === "seq" ? "R" : "S", K);
    const grid: PlanDispatch["grid"] = [{ n: quantizeThreadsPerRow(K), per: rows === "seq" ? "rows" : "srcRows", div: 64 }, { n: 1 }, { n: 1 }];
    this.dispatch({ label: `${label}.xq`, phase, bindings: [this.buf(t.x), xq], grid, flat: true }, "quantize", quantizeRowsKernel({ rows, K }));
    return { buffer: xq, done: () => this.table.release(xq) };
  }

  /** A state-space op: one invocation per (sequence, channel); its state a buffer per sequence. */
  private ssm(t: Extract<Task, { kind: "ssm_conv" | "ssm_scan" }>, label: string, phase: "static" | "step"): void {
    const state = (cache: string, elements: number) => this.table.add({ name: cache, kind: "state", dtype: "f32", elements, cap: "B", clearOnForward: true });
    const w = (id: number) => this.table.whole([this.weightName(id)]);
    if (t.kind === "ssm_conv") {
      const n = t.node;
      const k = ssmConvKernel({ channels: n.channels, rowWidth: this.width(n.x), width: n.width, bias: n.bias !== undefined });
      const bindings = [this.buf(n.x), w(n.weight), ...(n.bias !== undefined ? [w(n.bias)] : []), state(n.cache, Math.max(1, (n.width - 1) * n.channels)), this.buf(t.out)];
      this.dispatch({ label, phase, bindings, grid: [{ n: Math.ceil(n.channels / SSM_GROUP) }, { n: 1, per: "batch" }, { n: 1 }] }, "ssm_conv", k);
      return;
    }
    const n = t.node;
    const inner = this.width(n.u);
    const k = ssmScanKernel({ inner, stateSize: n.stateSize, dtRank: n.dtRank, chunked: this.scanMode === "chunked" });
    // dt_proj's bias and D share one binding ([E] each): the scan is at the 8-buffer limit.
    const biasAndD = this.table.whole([this.weightName(n.dtBias), this.weightName(n.d)]);
    const bindings = [this.buf(n.u), this.buf(n.proj), this.buf(n.z), w(n.dtWeight), w(n.aLog), biasAndD, state(n.cache, inner * n.stateSize), this.buf(t.out)];
    this.dispatch({ label, phase, bindings, grid: [{ n: Math.ceil(inner / SSM_GROUP) }, { n: 1, per: "batch" }, { n: 1 }] }, "ssm_scan", k);
  }

  private weightName(id: number): string {
    const n = this.producer.get(id);
    if (n?.op !== "weight") throw new Error(`webgpu: value %${id} is not a weight`);
    return n.weight;
  }

  private rope(t: Extract<Task, { kind: "rope" }>, label: string, phase: "static" | "step"): void {
    const n = t.attn;
    const rope = n.rope!;
    const targets: RopeTarget[] = [];
    const bindings: number[] = [];
    const add = (v: number, heads: number) => {
      const r = this.rowsOf(v);
      const ring = r.store ? this.ringOf(this.cached.get(v)!.cache) : undefined;
      targets.push({ heads, width: heads * n.headDim, store: r.store, ...(ring !== undefined ? { ring } : {}) });
      bindings.push(r.buffer);
    };
    if (t.which !== "k") add(n.q, n.heads);
    if (t.which !== "q") add(n.k, n.kvHeads);
    const rows = this.sym(t.which === "k" ? n.k : n.q);
    const spec = { rows, headDim: n.headDim, rotary: rope.dim, base: rope.base, ...(rope.scaling ? { scaling: rope.scaling } : {}), targets };
    const grid: PlanDispatch["grid"] = [{ n: ropePairsPerRow(spec), per: rows === "seq" ? "rows" : "srcRows", div: 64 }, { n: 1 }, { n: 1 }];
    this.dispatch({ label: `${label}.rope`, phase, bindings, grid, flat: true }, "rope", ropeKernel(spec));
  }

  private attention(t: Extract<Task, { kind: "attention" }>, label: string, phase: "static" | "step"): void {
    const n = t.node;
    const q = this.sym(n.q);
    const self = n.source === "self";
    if (self && q === "seq" && !this.cached.has(n.k)) throw new Error(`webgpu: keys of ${label} are not projections the compiler can route into the KV cache`);
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
    const ring = self && q === "seq" ? this.ringOf(n.cache) : undefined;
    if (ring !== undefined) {
      spec.ring = ring;
      if (n.padding !== undefined && this.rings[this.buf(n.padding)] === ring) spec.maskRing = true;
    }
    const kv = [this.rowsOf(n.k).buffer, this.rowsOf(n.v).buffer];
    const mask = n.padding !== undefined ? [this.buf(n.padding)] : [];
    const out = this.buf(t.out);
    const batch: Extent = { n: 1, per: "batch" };
    const { bq } = flashTiles(spec, this.limits.maxComputeWorkgroupStorageSize);
    const flash = flashKernel(spec, this.limits.maxComputeWorkgroupStorageSize, this.attentionMode);
    this.dispatch(
      { label, phase, bindings: [this.buf(n.q), ...kv, ...mask, out], grid: [{ n: 1, per: q, div: bq }, { n: n.heads }, batch], when: { sym: q, one: false } },
      "attention",
      flash,
    );
    // One query row: split-KV partials, then their merge.
    const size = partialSize(spec);
    if (this.scratch < 0) this.scratch = this.table.add({ name: "attention.partials", kind: "scratch", dtype: "f32", elements: size, cap: "B" });
    this.scratchSize = Math.max(this.scratchSize, size);
    this.table.buffers[this.scratch].elements = this.scratchSize;
    const when = { sym: q, one: true } as const;
    this.dispatch({ label: `${label}.split`, phase, bindings: [this.buf(n.q), ...kv, ...mask, this.scratch], grid: [{ n: NSPLIT }, { n: n.heads }, batch], when }, "decode", decodeKernel(spec));
    this.dispatch({ label: `${label}.merge`, phase, bindings: [this.scratch, out], grid: [{ n: n.heads, per: "batch" }, { n: 1 }, { n: 1 }], when }, "combine", combineKernel(spec));
  }

  /** Every kernel within the device's limits; a clear message naming the kernel otherwise. */
  private checkLimits(): void {
    const l = this.limits;
    for (const [name, k] of Object.entries(this.kernels)) {
      const where = `webgpu: kernel ${name} (${this.dispatches.find((d) => d.kernel === name)?.label ?? "?"})`;
      if (k.bindings.length > l.maxStorageBuffersPerShaderStage) throw new Error(`${where} needs ${k.bindings.length} storage buffers, the device allows ${l.maxStorageBuffersPerShaderStage} (maxStorageBuffersPerShaderStage)`);
      if (k.workgroupBytes > l.maxComputeWorkgroupStorageSize) throw new Error(`${where} needs ${k.workgroupBytes} bytes of workgroup memory, the device allows ${l.maxComputeWorkgroupStorageSize} (maxComputeWorkgroupStorageSize)`);
      if (k.workgroupSize > l.maxComputeInvocationsPerWorkgroup || k.workgroupSize > l.maxComputeWorkgroupSizeX) {
        throw new Error(`${where} needs ${k.workgroupSize} invocations per workgroup, the device allows ${Math.min(l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX)}`);
      }
    }
    for (const b of this.table.buffers) {
      const bytes = b.elements * 4;
      if (b.cap === undefined && bytes > this.table.maxBytes) throw new Error(`webgpu: buffer ${b.name} needs ${bytes} bytes, over the device's binding limit of ${this.table.maxBytes}`);
    }
  }
}
