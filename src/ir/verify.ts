import type { Dim, Graph, Node } from "./ir.ts";
import { operands, verifyOp } from "./ops.ts";

/** A broken graph is a compiler bug, never a user error: the message says which node and why. */
export class IrError extends Error {}

const fmtShape = (s: Dim[]): string => `[${s.join(", ")}]`;

/**
 * Structural checks, run after lowering and after every pass: values defined before use, one
 * producer per value, encoder-phase work never reading decoder-phase values, weights matching
 * the model's layout, and every op's own rule (ops.ts).
 */
export function verify(g: Graph, knownWeights?: ReadonlyMap<string, number[]>): void {
  const producer = new Map<number, Node>();
  for (const n of g.nodes) {
    const here = `node %${n.out} (${n.op} "${g.values[n.out]?.name ?? "?"}")`;
    const fail = (why: string): never => {
      throw new IrError(`IR verification failed at ${here}: ${why}`);
    };
    const out = g.values[n.out];
    if (!out || out.id !== n.out) fail("its output value does not exist");
    if (producer.has(n.out)) fail("a value is produced twice");
    for (const id of operands(n)) {
      const p = producer.get(id);
      if (p === undefined) fail(`operand %${id} is used before it is defined`);
      if (n.phase === "encoder" && p!.phase === "decoder") fail(`encoder-phase work reads decoder-phase value %${id}`);
    }
    if (n.op === "weight" && knownWeights) {
      const s = knownWeights.get(n.weight);
      if (s === undefined) fail(`weight ${n.weight} is not in the model's layout`);
      if (fmtShape(s!) !== fmtShape(out.shape)) fail(`weight ${n.weight} has shape ${fmtShape(out.shape)}, layout says ${fmtShape(s!)}`);
    }
    const why = verifyOp(n, (id) => g.values[id], out);
    if (why !== undefined) fail(why);
    producer.set(n.out, n);
  }
  const outputs = g.nodes.filter((n) => n.op === "output" && n.output === "logits");
  if (outputs.length !== 1) throw new IrError(`IR verification failed: the graph has ${outputs.length} logits outputs, expected 1`);
}
