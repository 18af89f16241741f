// compileWgsl: IR graph → WGSL shaders specialised to the model's sizes + a JSON plan of
// buffers and dispatches. Build-time only: nothing here touches a device, so the CLI can run
// it on a machine without one and the runtime just replays the plan. This file orders the
// fused tasks and gives every value a buffer; emit-task.ts renders each task.

import type { Graph, Node } from "../../src/ir/ir.ts";
import { splitPhases } from "../../src/ir/phases.ts";
import type { StatePlan } from "../../src/ir/state-plan.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import { planInputs } from "../../src/runtime/inputs.ts";
import { CompileContext } from "./compile-context.ts";
import { emitTask } from "./emit-task.ts";
import { fuse, taskReads, taskWrites } from "./fuse.ts";
import type { AttentionMode } from "./kernels/attention.ts";
import type { MatmulVariant } from "./kernels/matmul.ts";
import { DEFAULT_LIMITS, PARAM_FIELDS, type Plan, type WgslLimits } from "./plan.ts";

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
  const c = new CompileContext(m, graph, { ...DEFAULT_LIMITS, ...limits }, opts.matmul ?? "blocked", opts.attention ?? "tiles", opts.scan ?? "chunked");
  const g = c.g;
  const stepInputs = planInputs(m).stepInputs;
  const dynamic = splitPhases(g, stepInputs).dynamic;
  const tasks = fuse(g, {
    isDecoderSeq: (v) => c.sym(v) === "seq",
    // Only weights of one storage can share a buffer of row records.
    fits: (ws) => c.table.sameStorage(ws) && c.table.bytesOf(ws) <= c.table.maxBytes,
  });
  // Everything independent of the decoder's per-step inputs first: in a decode state that
  // part runs once (begin), the rest on every step; a forward runs both in this order.
  const ordered = [...tasks.filter((t) => !dynamic.has(t.out)), ...tasks.filter((t) => dynamic.has(t.out))];
  for (const t of ordered) {
    if (t.kind !== "matmul") continue;
    for (const d of t.outs) if ("cache" in d) c.cached.set(d.value, { cache: d.cache, part: d.part });
  }
  for (const t of ordered) {
    if (t.kind === "norm" && t.cache) c.cached.set(t.out, { cache: t.cache.cache, part: t.cache.part });
  }
  allocateInputs(c);
  const logitsNode = g.nodes.find((n): n is Extract<Node, { op: "output" }> => n.op === "output" && n.output === "logits");
  if (!logitsNode) throw new Error(`webgpu: graph ${g.model} has no logits output`);
  const logits = c.table.add({ name: g.values[logitsNode.x].name, kind: "logits", dtype: "f32", elements: c.width(logitsNode.x), cap: "R" });
  c.valueBuf.set(logitsNode.x, logits);

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
      if (c.valueBuf.has(v)) continue;
      const id = c.table.acquire(g.values[v].name, c.sym(v) === "seq" ? "R" : "S", c.width(v));
      if (phase === "static" && stepReads.has(v)) c.table.buffers[id].pinned = true;
      c.valueBuf.set(v, id);
    }
    emitTask(c, t, phase);
    for (const v of [...taskReads(t), ...taskWrites(t)]) {
      const b = c.valueBuf.get(v);
      if (b !== undefined && (lastUse.get(v) ?? -1) <= i && c.producer.get(v)?.op !== "input") c.table.release(b);
    }
  });
  checkLimits(c);
  return {
    shaders: Object.fromEntries([...c.shaders].map(([src, name]) => [name, src])),
    plan: {
      format: "specformer-webgpu-plan",
      version: 1,
      model: m.name,
      params: [...PARAM_FIELDS],
      limits: c.limits,
      kernels: c.kernels,
      buffers: c.table.buffers,
      dispatches: c.dispatches,
      inputs: c.inputs,
      logits,
      vocab: m.head.vocab,
    },
    states: c.states,
    rings: c.rings,
  };
}

function allocateInputs(c: CompileContext): void {
  for (const n of c.g.nodes) {
    if (n.op !== "input") continue;
    const v = c.g.values[n.out];
    const sym = c.sym(n.out);
    const mask = v.dtype === "bool";
    // A padding mask over the decoder's tokens is a history over every cached position.
    const cap = mask ? (sym === "seq" ? "K" : "S") : sym === "seq" ? "R" : "S";
    const buffer = c.table.add({ name: n.input, kind: "input", dtype: mask ? "u32" : "i32", elements: 1, cap, input: n.input });
    const mp = c.states.masks[n.input];
    if (mask && sym === "seq" && mp?.kind === "ring") c.rings[buffer] = mp.rows;
    c.valueBuf.set(n.out, buffer);
    c.inputs[n.input] = { buffer, kind: mask ? "mask" : "ids", sym };
  }
}

/** Every kernel within the device's limits; a clear message naming the kernel otherwise. */
function checkLimits(c: CompileContext): void {
  const l = c.limits;
  for (const [name, k] of Object.entries(c.kernels)) {
    const where = `webgpu: kernel ${name} (${c.dispatches.find((d) => d.kernel === name)?.label ?? "?"})`;
    if (k.bindings.length > l.maxStorageBuffersPerShaderStage) throw new Error(`${where} needs ${k.bindings.length} storage buffers, the device allows ${l.maxStorageBuffersPerShaderStage} (maxStorageBuffersPerShaderStage)`);
    if (k.workgroupBytes > l.maxComputeWorkgroupStorageSize) throw new Error(`${where} needs ${k.workgroupBytes} bytes of workgroup memory, the device allows ${l.maxComputeWorkgroupStorageSize} (maxComputeWorkgroupStorageSize)`);
    if (k.workgroupSize > l.maxComputeInvocationsPerWorkgroup || k.workgroupSize > l.maxComputeWorkgroupSizeX) {
      throw new Error(`${where} needs ${k.workgroupSize} invocations per workgroup, the device allows ${Math.min(l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX)}`);
    }
  }
  for (const b of c.table.buffers) {
    const bytes = b.elements * 4;
    if (b.cap === undefined && bytes > c.table.maxBytes) throw new Error(`webgpu: buffer ${b.name} needs ${bytes} bytes, over the device's binding limit of ${c.table.maxBytes}`);
  }
}
