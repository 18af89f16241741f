// Reverse-mode differentiation as a pass over the training forward program (graph.ts):
// Graph → BackwardProgram, checked by verifyBackward like any other pass's output.
//
// Why its own types rather than new ops in src/ir/ir.ts: the Op union is the inference
// contract every backend implements exhaustively; a backward op would have to be handled (or
// refused) by every inference backend. The backward program instead refers to the forward
// graph's nodes: one GradStep per forward node that has a gradient to pass on, in reverse
// order, each naming the node whose vector–Jacobian product it applies, the gradient it reads
// (the node output's) and the gradients it accumulates into (its operands'). A gradient is
// identified by the id of the value it is the gradient of, and has that value's shape.
//
// The rule for each op (which operands receive a gradient, which forward values the rule reads
// back from the tape, what it recomputes instead of storing) lives in VJP_RULES, a mapped type
// over the Op union: a new op without a rule is a type error here, as in src/ir/ops.ts. The
// kernels that apply the rules are in backends/reference/backward/; src/train/engine.ts runs
// the program.

import type { Graph, Node, Op } from "../ir/ir.ts";
import type { OpName, OpOf } from "../ir/ops.ts";
import { operands } from "../ir/ops.ts";

export interface VjpRule<K extends OpName> {
  /** Operand fields through which a gradient flows (dtype f32 only; masks and ids never do). */
  wrt: readonly Exclude<keyof OpOf<K>, "op">[];
  /** Operand values the rule reads back from the tape. */
  reads: (n: OpOf<K>) => number[];
  /** Whether it reads the node's own output too. */
  readsOut?: true;
  /** What the forward keeps beside its output for this rule, or what the rule recomputes. */
  memory: string;
}

const ops = (...xs: Array<number | undefined>): number[] => xs.filter((x): x is number => x !== undefined);

export const VJP_RULES: { [K in OpName]: VjpRule<K> } = {
  input: { wrt: [], reads: () => [], memory: "a leaf" },
  weight: { wrt: [], reads: () => [], memory: "a leaf: its gradient is the parameter's" },
  embed: { wrt: ["table"], reads: (n) => [n.ids], memory: "the ids; the table gradient is a scatter-add" },
  add_position: { wrt: ["x", "table"], reads: () => [], memory: "nothing" },
  add: { wrt: ["a", "b"], reads: () => [], memory: "nothing" },
  norm: { wrt: ["x", "weight", "bias"], reads: (n) => [n.x, n.weight], memory: "the input; mean and 1/σ are recomputed per row" },
  linear: {
    wrt: ["x", "weight", "bias", "gate", "residual"],
    reads: (n) => ops(n.x, n.weight, n.gate),
    memory: "the input, and with an act or gate epilogue the pre-activation x·Wᵀ + b (one [rows, out] array)",
  },
  activation: { wrt: ["x"], reads: (n) => [n.x], memory: "the input" },
  gated: { wrt: ["gate", "up"], reads: (n) => [n.gate, n.up], memory: "both inputs" },
  softcap: { wrt: ["x"], reads: (n) => [n.x], memory: "the input" },
  attention: {
    wrt: ["q", "k", "v"],
    reads: (n) => ops(n.q, n.k, n.v, n.padding),
    readsOut: true,
    memory: "q, k, v, the output and one log-sum-exp per query row and head; scores, probabilities, RoPE and weight-dropout keep-masks (a hash of seed, step, node, b, h, i, j) recomputed (flash-style)",
  },
  linear_attention: {
    wrt: ["q", "k", "v"],
    reads: (n) => ops(n.q, n.k, n.v, n.padding),
    readsOut: true,
    memory: "q, k, v and the output; the prefix states S_i, z_i recomputed by a forward and a reverse scan",
  },
  ssm_conv: { wrt: ["x", "weight", "bias"], reads: (n) => ops(n.x, n.weight, n.bias), memory: "the input; the pre-activations recomputed" },
  ssm_scan: {
    wrt: ["u", "proj", "z", "dtWeight", "dtBias", "aLog", "d"],
    reads: (n) => [n.u, n.proj, n.z, n.dtWeight, n.dtBias, n.aLog, n.d],
    memory: "the inputs; the states h_t rerun per (sequence, channel) in the backward, O(seq · state) at a time",
  },
  dropout: { wrt: ["x"], reads: () => [], memory: "the keep-mask (one byte per element)" },
  output: { wrt: ["x"], reads: () => [], memory: "nothing" },
};

function ruleOf<K extends OpName>(n: OpOf<K>): VjpRule<K> {
  return VJP_RULES[n.op as K];
}

export interface GradStep {
  node: Node;
  /** Gradient read: that of node.out. */
  seed: number;
  /** Gradients accumulated into: operand value id per field. */
  writes: Array<{ field: string; value: number }>;
}

export interface BackwardProgram {
  /** The training forward program. */
  forward: Graph;
  /** Value id of the logits output node, where the loss's gradient enters. */
  logits: number;
  /** In execution order (the forward's reverse). */
  steps: GradStep[];
  /** Weight name → value id whose gradient is the parameter's (tied tables: one entry). */
  params: Map<string, number>;
  /** Forward values the backward reads: the tape. Everything else may go once the forward is done. */
  tape: Set<number>;
}

export class BackwardError extends Error {}

/**
 * The backward program of a training graph. A value gets a gradient when it is an f32 value
 * reached from a weight and it reaches the logits; steps exist only for nodes whose output has
 * a gradient, and write only operands that get one.
 */
export function differentiate(g: Graph): BackwardProgram {
  const logitsNode = g.nodes.find((n) => n.op === "output" && n.output === "logits");
  if (logitsNode === undefined || logitsNode.op !== "output") throw new BackwardError(`graph ${g.model} has no logits output`);
  // Forward reach from weights.
  const fromWeight = new Set<number>();
  for (const n of g.nodes) {
    if (n.op === "weight" || (g.values[n.out].dtype === "f32" && operands(n).some((id) => fromWeight.has(id)))) fromWeight.add(n.out);
  }
  // Backward reach to the logits.
  const toLoss = new Set<number>([logitsNode.out]);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!toLoss.has(n.out)) continue;
    for (const id of operands(n)) toLoss.add(id);
  }
  const hasGrad = (id: number) => fromWeight.has(id) && toLoss.has(id) && g.values[id].dtype === "f32";

  const steps: GradStep[] = [];
  const tape = new Set<number>();
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.op === "weight" || n.op === "input" || !hasGrad(n.out)) continue;
    const rule = ruleOf(n as OpOf<OpName>) as VjpRule<OpName>;
    const rec = n as unknown as Record<string, unknown>;
    const writes = (rule.wrt as readonly string[])
      .filter((f) => typeof rec[f] === "number" && hasGrad(rec[f] as number))
      .map((field) => ({ field, value: rec[field] as number }));
    if (writes.length === 0) continue;
    steps.push({ node: n, seed: n.out, writes });
    for (const r of rule.reads(n as Op as OpOf<OpName>)) tape.add(r);
    if (rule.readsOut) tape.add(n.out);
  }
  const params = new Map<string, number>();
  for (const n of g.nodes) if (n.op === "weight" && hasGrad(n.out)) params.set(n.weight, n.out);
  const prog = { forward: g, logits: logitsNode.out, steps, params, tape };
  verifyBackward(prog);
  return prog;
}

/**
 * The backward program's invariants: every gradient is complete before it is read (all its
 * writers run earlier), none is written after it was read, writes target operands of the step's
 * node with an f32 value of the same shape, and every weight that reaches the logits has a
 * gradient.
 */
export function verifyBackward(p: BackwardProgram): void {
  const g = p.forward;
  const fail = (why: string): never => {
    throw new BackwardError(`backward program of ${g.model}: ${why}`);
  };
  const read = new Set<number>();
  const written = new Set<number>([p.logits]);
  for (const s of p.steps) {
    const here = `step for %${s.node.out} (${s.node.op} "${g.values[s.node.out].name}")`;
    if (s.seed !== s.node.out) fail(`${here} reads the gradient of %${s.seed}, not of its output`);
    // The logits' output node passes the loss gradient on; other seeds must have been written.
    if (!(s.node.op === "output" && s.node.output === "logits") && !written.has(s.seed)) fail(`${here} reads a gradient nothing wrote`);
    read.add(s.seed);
    const ids = new Set(operands(s.node));
    for (const w of s.writes) {
      if (!ids.has(w.value)) fail(`${here} writes %${w.value}, which is not its operand`);
      if (g.values[w.value].dtype !== "f32") fail(`${here} writes a gradient of a ${g.values[w.value].dtype} value`);
      if (read.has(w.value)) fail(`${here} writes the gradient of %${w.value} after it was read`);
      written.add(w.value);
    }
  }
  for (const [name, id] of p.params) if (!written.has(id)) fail(`weight ${name} reaches the logits but gets no gradient`);
  for (const id of p.tape) if (g.values[id] === undefined) fail(`the tape keeps %${id}, which does not exist`);
}

/** One line per step, for dumps and tests. */
export function printBackward(p: BackwardProgram): string {
  const v = (id: number) => `%${id}`;
  return p.steps
    .map((s) => `d${v(s.seed)} → ${s.writes.map((w) => `d${v(w.value)}`).join(", ")}  ; vjp ${s.node.op} "${p.forward.values[s.node.out].name}"`)
    .join("\n");
}
