// The state one WGSL compilation builds up — buffers, kernels by source, dispatches, which
// values live in a KV cache — and the small lookups every task's emitter uses. compile.ts
// walks the tasks; emit-task.ts renders each one through this context.

import type { Graph, Node } from "../../src/ir/ir.ts";
import { planStates, type StatePlan } from "../../src/ir/state-plan.ts";
import { encoderSection, outputSection, type ModelInfo } from "../../src/model/model.ts";
import { planInputs } from "../../src/runtime/inputs.ts";
import { nodeStorage } from "../../src/runtime/weights/store.ts";
import { BufferTable } from "./buffers.ts";
import type { AttentionMode } from "./kernels/attention.ts";
import type { MatmulVariant } from "./kernels/matmul.ts";
import type { LowBitDType } from "./lowbit.ts";
import type { Plan, PlanDispatch, PlanInput, WgslLimits } from "./plan.ts";
import type { Kernel, SeqSym } from "./wgsl.ts";

export type Phase = "static" | "step";

export class CompileContext {
  /** WGSL source → its generated kernel name (so equal kernels are emitted once). */
  readonly shaders = new Map<string, string>();
  readonly kernels: Plan["kernels"] = {};
  readonly dispatches: PlanDispatch[] = [];
  readonly table: BufferTable;
  readonly valueBuf = new Map<number, number>();
  readonly caches = new Map<string, { k: number; v: number }>();
  readonly states: StatePlan;
  readonly rings: Record<number, number> = {};
  /** Values whose rows live in a KV cache instead of a buffer of their own. */
  readonly cached = new Map<number, { cache: string; part: "k" | "v" }>();
  /** By user-chosen input name: no prototype, so `__proto__` or `constructor` is a key like any other. */
  readonly inputs: Record<string, PlanInput> = Object.create(null);
  readonly producer = new Map<number, Node>();
  readonly decSeq: string;
  readonly encSeq: string | undefined;
  /** The split-KV decode partials, one buffer shared by every attention (-1 until needed). */
  scratch = -1;
  scratchSize = 0;
  /** A weight's low-bit storage (the program's `storage` on its node), undefined for f32. */
  readonly storage: (weight: string) => LowBitDType | undefined;

  constructor(
    readonly m: ModelInfo,
    readonly g: Graph,
    readonly limits: WgslLimits,
    readonly variant: MatmulVariant,
    readonly attentionMode: AttentionMode,
    readonly scanMode: "chunked" | "sequential",
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

  sym(id: number): SeqSym {
    const v = this.g.values[id];
    // Axis 0 is the batch, whatever the spec calls it (activations say "batch"; inputs keep the
    // user's name, or a fixed size): kernels read the call's batch from the params.
    if (v.shape.length < 2) throw new Error(`webgpu: value ${v.name} has shape [${v.shape}], expected [batch, seq, ...]`);
    if (v.shape[1] === this.decSeq) return "seq";
    if (this.encSeq !== undefined && v.shape[1] === this.encSeq) return "src";
    throw new Error(`webgpu: value ${v.name} has sequence axis ${String(v.shape[1])}, neither ${this.decSeq} nor ${this.encSeq ?? "a source"}`);
  }

  width(id: number): number {
    const s = this.g.values[id].shape.slice(2);
    if (!s.every((d): d is number => typeof d === "number")) throw new Error(`webgpu: value ${this.g.values[id].name} has run-time dims past its sequence axis`);
    return s.reduce((a, b) => a * b, 1);
  }

  buf(v: number): number {
    const b = this.valueBuf.get(v);
    if (b === undefined) throw new Error(`webgpu: value ${this.g.values[v].name} has no buffer`);
    return b;
  }

  cache(name: string, width: number): { k: number; v: number } {
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
  ringOf(cache: string): number | undefined {
    const p = this.states.caches[cache];
    return p?.kind === "ring" ? p.rows : undefined;
  }

  /** The buffer holding a value's rows: its own, or the KV cache it was written into. */
  rowsOf(v: number): { buffer: number; store: boolean } {
    const c = this.cached.get(v);
    if (c) return { buffer: this.caches.get(c.cache)![c.part], store: true };
    return { buffer: this.buf(v), store: false };
  }

  weightName(id: number): string {
    const n = this.producer.get(id);
    if (n?.op !== "weight") throw new Error(`webgpu: value %${id} is not a weight`);
    return n.weight;
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

  dispatch(d: Omit<PlanDispatch, "kernel">, family: string, k: Kernel): void {
    if (d.bindings.length !== k.bindings.length) throw new Error(`webgpu: ${family} for ${d.label} binds ${d.bindings.length} buffers, its kernel declares ${k.bindings.length}`);
    this.dispatches.push({ ...d, kernel: this.kernel(family, k) });
  }
}
