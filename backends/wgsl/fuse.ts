// IR nodes → kernel tasks. A task is one kernel's worth of work; fusion decides which nodes
// share one. Every rule removes a round trip through memory or a dispatch:
//   q/k/v projections of one attention → one matmul with three destinations (k/v straight
//     into the KV cache, so decoding never copies them);
//   a gate projection and the up projection it gates → one matmul with two accumulators;
//   (activation and residual epilogues come fused from the IR pass, src/ir/fuse.ts);
//   embedding gathers, their sum and the position encoding → one gather kernel.
// A value is fused away only when its single reader is the next op of the chain.

import type { Graph, Node } from "../../src/ir/ir.ts";
import { operands, unhandledOp } from "../../src/ir/ops.ts";
import type { Activation } from "../../src/model/model.ts";

type N<K extends Node["op"]> = Extract<Node, { op: K }>;
export type AttentionNode = N<"attention">;
export type LinearAttentionNode = N<"linear_attention">;

/** Where a projection's columns go: a graph value, or a KV cache of an attention node. */
export type Dest = { c0: number; c1: number } & ({ value: number } | { cache: string; part: "k" | "v"; width: number; value: number });

export type Task =
  | { kind: "matmul"; x: number; w: string[]; bias?: string[]; gated?: { act: Activation; w: string; bias?: string }; act?: Activation; residual?: number; outs: Dest[]; out: number }
  | { kind: "embed"; ids?: number; table?: string; scale: number; residual?: number; position?: { kind: "learned" | "sinusoidal"; table?: string }; out: number }
  /** `cache`: a per-head key norm (Qwen3's k_norm) writes its rows straight into the KV cache, as a k projection would. */
  | { kind: "norm"; node: N<"norm">; out: number; cache?: { cache: string; part: "k"; width: number } }
  | { kind: "elt"; op: "add" | "act" | "gated" | "softcap"; ins: number[]; act?: Activation; cap?: number; out: number }
  | { kind: "rope"; attn: AttentionNode | LinearAttentionNode; which: "qk" | "q" | "k"; out: number }
  | { kind: "attention"; node: AttentionNode; out: number }
  | { kind: "linear_attention"; node: LinearAttentionNode; out: number }
  | { kind: "ssm_conv"; node: N<"ssm_conv">; out: number }
  | { kind: "ssm_scan"; node: N<"ssm_scan">; out: number };

export interface FusionOptions {
  /** Value ids whose shape's seq axis is the decoder's (vs the encoder's source). */
  isDecoderSeq: (value: number) => boolean;
  /** Whether a concatenation of these weights fits one buffer binding. */
  fits: (weights: string[]) => boolean;
}

export function fuse(g: Graph, opts: FusionOptions): Task[] {
  const producer = new Map<number, Node>();
  const index = new Map<number, number>();
  const readers = new Map<number, Node[]>();
  g.nodes.forEach((n, i) => {
    producer.set(n.out, n);
    index.set(n.out, i);
    for (const o of operands(n)) readers.set(o, [...(readers.get(o) ?? []), n]);
  });
  const weightName = (id: number): string => {
    const n = producer.get(id);
    if (n?.op !== "weight") throw new Error(`wgsl: value %${id} is not a weight`);
    return n.weight;
  };
  const only = (id: number): Node | undefined => {
    const r = readers.get(id) ?? [];
    return r.length === 1 ? r[0] : undefined;
  };
  const linearOf = (id: number): N<"linear"> | undefined => {
    const n = producer.get(id);
    return n?.op === "linear" ? n : undefined;
  };
  const width = (id: number): number => {
    const s = g.values[id].shape;
    return s.slice(2).reduce<number>((a, d) => a * (d as number), 1);
  };
  /** Produced before node index `at` (weights and inputs always are). */
  const before = (id: number, at: number): boolean => (index.get(id) ?? -1) < at;

  const done = new Set<Node>();
  const tasks: Task[] = [];

  // q/k/v groups keyed by the linear node that comes first in graph order.
  const groups = new Map<Node, { members: N<"linear">[]; attn: AttentionNode | LinearAttentionNode }>();
  for (const n of g.nodes) {
    if (n.op !== "attention" && n.op !== "linear_attention") continue;
    const lins = (n.source === "self" ? [n.q, n.k, n.v] : [n.k, n.v]).map(linearOf);
    if (lins.some((l) => l === undefined)) continue;
    const ls = lins as N<"linear">[];
    const sameX = ls.every((l) => l.x === ls[0].x && (l.bias === undefined) === (ls[0].bias === undefined) && only(l.out) === n);
    if (!sameX || !opts.fits(ls.map((l) => weightName(l.weight)))) continue;
    ls.sort((a, b) => index.get(a.out)! - index.get(b.out)!);
    groups.set(ls[0], { members: ls, attn: n });
  }

  /** Where an attention's k or v projection writes: its KV cache when decoding will need one. */
  const destFor = (l: N<"linear">, c0: number): Dest => {
    const c1 = c0 + width(l.out);
    const r = only(l.out);
    if (r?.op === "attention" && r.source === "self" && opts.isDecoderSeq(r.q) && (r.k === l.out || r.v === l.out)) {
      return { c0, c1, cache: r.cache, part: r.k === l.out ? "k" : "v", width: c1 - c0, value: l.out };
    }
    return { c0, c1, value: l.out };
  };

  g.nodes.forEach((n, at) => {
    if (done.has(n)) return;
    switch (n.op) {
      case "input":
      case "weight":
      case "output":
      case "dropout":
        return;
      case "linear": {
        const grp = groups.get(n);
        if (grp) {
          let c = 0;
          const outs = grp.members.map((l) => {
            const d = destFor(l, c);
            c = d.c1;
            done.add(l);
            return d;
          });
          const bias = grp.members.every((l) => l.bias !== undefined) ? grp.members.map((l) => weightName(l.bias!)) : undefined;
          tasks.push({ kind: "matmul", x: n.x, w: grp.members.map((l) => weightName(l.weight)), ...(bias ? { bias } : {}), outs, out: n.out });
          return;
        }
        // Activation, gate and residual arrive fused by the IR pass (src/ir/fuse.ts). A gate
        // projection and the up projection it gates share one kernel with two accumulators.
        const up = only(n.out);
        if (up?.op === "linear" && up.gate === n.out && up.x === n.x && (up.bias === undefined) === (n.bias === undefined)) {
          done.add(up);
          tasks.push({
            kind: "matmul",
            x: n.x,
            w: [weightName(n.weight)],
            ...(n.bias !== undefined ? { bias: [weightName(n.bias)] } : {}),
            gated: { act: up.gateAct!, w: weightName(up.weight), ...(up.bias !== undefined ? { bias: weightName(up.bias) } : {}) },
            ...(up.residual !== undefined ? { residual: up.residual } : {}),
            outs: [{ c0: 0, c1: width(up.out), value: up.out }],
            out: up.out,
          });
          return;
        }
        if (n.gate !== undefined) throw new Error(`webgpu: projection ${g.values[n.out].name} is gated by a value that is not its sibling projection`);
        tasks.push({
          kind: "matmul",
          x: n.x,
          w: [weightName(n.weight)],
          ...(n.bias !== undefined ? { bias: [weightName(n.bias)] } : {}),
          ...(n.act !== undefined ? { act: n.act } : {}),
          ...(n.residual !== undefined ? { residual: n.residual } : {}),
          outs: [n.act === undefined && n.residual === undefined ? destFor(n, 0) : { c0: 0, c1: width(n.out), value: n.out }],
          out: n.out,
        });
        return;
      }
      case "embed":
      case "add_position": {
        let t: Extract<Task, { kind: "embed" }> =
          n.op === "embed"
            ? { kind: "embed", ids: n.ids, table: weightName(n.table), scale: n.scale, out: n.out }
            : { kind: "embed", scale: 1, residual: n.x, position: { kind: n.kind, ...(n.table !== undefined ? { table: weightName(n.table) } : {}) }, out: n.out };
        const a = only(t.out);
        if (t.ids !== undefined && a?.op === "add" && a.a !== a.b) {
          const other = a.a === t.out ? a.b : a.a;
          if (before(other, at)) {
            done.add(a);
            t = { ...t, residual: other, out: a.out };
          }
        }
        const p = only(t.out);
        if (t.position === undefined && p?.op === "add_position") {
          done.add(p);
          t = { ...t, position: { kind: p.kind, ...(p.table !== undefined ? { table: weightName(p.table) } : {}) }, out: p.out };
        }
        tasks.push(t);
        return;
      }
      case "norm": {
        const r = only(n.out);
        const keys = r?.op === "attention" && r.source === "self" && opts.isDecoderSeq(r.q) && r.k === n.out;
        tasks.push({ kind: "norm", node: n, out: n.out, ...(keys ? { cache: { cache: r.cache, part: "k" as const, width: width(n.out) } } : {}) });
        return;
      }
      case "add":
        tasks.push({ kind: "elt", op: "add", ins: [n.a, n.b], out: n.out });
        return;
      case "activation":
        tasks.push({ kind: "elt", op: "act", ins: [n.x], act: n.act, out: n.out });
        return;
      case "gated":
        tasks.push({ kind: "elt", op: "gated", ins: [n.gate, n.up], act: n.act, out: n.out });
        return;
      case "softcap":
        tasks.push({ kind: "elt", op: "softcap", ins: [n.x], cap: n.cap, out: n.out });
        return;
      case "attention":
      case "linear_attention":
        if (n.rope) {
          if (n.source === "self") tasks.push({ kind: "rope", attn: n, which: "qk", out: n.q });
          else tasks.push({ kind: "rope", attn: n, which: "k", out: n.k }, { kind: "rope", attn: n, which: "q", out: n.q });
        }
        tasks.push(n.op === "attention" ? { kind: "attention", node: n, out: n.out } : { kind: "linear_attention", node: n, out: n.out });
        return;
      case "ssm_conv":
        tasks.push({ kind: "ssm_conv", node: n, out: n.out });
        return;
      case "ssm_scan":
        tasks.push({ kind: "ssm_scan", node: n, out: n.out });
        return;
      default:
        unhandledOp(n, "webgpu");
    }
  });
  return tasks;
}

/** Value ids a task reads (inputs of its kernel), for liveness. */
export function taskReads(t: Task): number[] {
  switch (t.kind) {
    case "matmul":
      return [t.x, ...(t.residual !== undefined ? [t.residual] : [])];
    case "embed":
      return [...(t.ids !== undefined ? [t.ids] : []), ...(t.residual !== undefined ? [t.residual] : [])];
    case "norm":
      return [t.node.x];
    case "elt":
      return t.ins;
    case "rope":
      return t.which === "k" ? [t.attn.k] : t.which === "q" ? [t.attn.q] : [t.attn.q, t.attn.k];
    case "attention":
    case "linear_attention": {
      const n = t.node;
      return [n.q, n.k, n.v, ...(n.padding !== undefined ? [n.padding] : [])];
    }
    case "ssm_conv":
      return [t.node.x];
    case "ssm_scan":
      return [t.node.u, t.node.proj, t.node.z];
  }
}

/** Value ids a task writes into value buffers (KV-cache destinations excluded). */
export function taskWrites(t: Task): number[] {
  if (t.kind === "matmul") return t.outs.filter((d) => !("cache" in d)).map((d) => d.value);
  if (t.kind === "rope" || (t.kind === "norm" && t.cache)) return [];
  return [t.out];
}
