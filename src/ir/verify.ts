import type { Dim, Graph, Node, Value } from "./ir.ts";
import { operands } from "./ir.ts";

/** A broken graph is a compiler bug, never a user error: the message says which node and why. */
export class IrError extends Error {}

const same = (a: Dim, b: Dim): boolean => a === b;
const fmtShape = (s: Dim[]): string => `[${s.join(", ")}]`;

/**
 * Structural and shape checks, run after lowering and after every pass: values defined
 * before use, one producer per value, dtypes, every op's shape rule, and encoder-phase
 * work never reading decoder-phase values.
 */
export function verify(g: Graph, knownWeights?: ReadonlyMap<string, number[]>): void {
  const defined = new Set<number>();
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
      if (!defined.has(id)) fail(`operand %${id} is used before it is defined`);
      if (n.phase === "encoder" && producer.get(id)!.phase === "decoder") fail(`encoder-phase work reads decoder-phase value %${id}`);
    }
    const v = (id: number): Value => g.values[id];
    const expect = (ok: boolean, why: string) => ok || fail(why);
    const lastDim = (id: number): Dim => v(id).shape[v(id).shape.length - 1];
    switch (n.op) {
      case "weight":
        if (knownWeights) {
          const s = knownWeights.get(n.weight);
          expect(s !== undefined, `weight ${n.weight} is not in the model's layout`);
          expect(fmtShape(s!) === fmtShape(out.shape), `weight ${n.weight} has shape ${fmtShape(out.shape)}, layout says ${fmtShape(s!)}`);
        }
        break;
      case "embed":
        expect(v(n.ids).dtype === "i32" && v(n.ids).shape.length === 2, "ids must be i32[batch, seq]");
        expect(v(n.table).shape.length === 2, "table must be 2-D");
        expect(same(out.shape[2], v(n.table).shape[1]), `output width ${out.shape[2]} differs from table width ${v(n.table).shape[1]}`);
        break;
      case "add":
        expect(fmtShape(v(n.a).shape) === fmtShape(v(n.b).shape) && fmtShape(v(n.a).shape) === fmtShape(out.shape), `add of ${fmtShape(v(n.a).shape)} and ${fmtShape(v(n.b).shape)}`);
        break;
      case "add_position":
        expect(fmtShape(v(n.x).shape) === fmtShape(out.shape), "shape changes");
        if (n.table !== undefined) expect(same(v(n.table).shape[1], lastDim(n.x)), "position table width differs from x");
        break;
      case "norm":
        expect(fmtShape(v(n.weight).shape) === fmtShape([lastDim(n.x)]), `norm weight ${fmtShape(v(n.weight).shape)} for width ${lastDim(n.x)}`);
        if (n.bias !== undefined) expect(fmtShape(v(n.bias).shape) === fmtShape([lastDim(n.x)]), "norm bias shape");
        break;
      case "linear": {
        const w = v(n.weight).shape;
        expect(w.length === 2, "weight must be 2-D");
        expect(same(lastDim(n.x), w[1]), `x width ${lastDim(n.x)} but weight is ${fmtShape(w)} (out, in)`);
        expect(same(out.shape[out.shape.length - 1], w[0]), `output width ${out.shape[out.shape.length - 1]} but weight rows ${w[0]}`);
        if (n.bias !== undefined) expect(fmtShape(v(n.bias).shape) === fmtShape([w[0]]), "bias shape");
        break;
      }
      case "activation":
      case "dropout":
        expect(fmtShape(v(n.x).shape) === fmtShape(out.shape), "shape changes");
        break;
      case "gated":
        expect(fmtShape(v(n.gate).shape) === fmtShape(v(n.up).shape), "gate and up differ in shape");
        break;
      case "attention":
      case "linear_attention": {
        expect(n.heads % n.kvHeads === 0, `heads ${n.heads} not a multiple of kvHeads ${n.kvHeads}`);
        expect(same(lastDim(n.q), n.heads * n.headDim), `q width ${lastDim(n.q)} != heads × headDim`);
        expect(same(lastDim(n.k), n.kvHeads * n.headDim) && same(lastDim(n.v), n.kvHeads * n.headDim), "k/v width != kvHeads × headDim");
        expect(same(v(n.k).shape[1], v(n.v).shape[1]), "k and v differ in length");
        expect(fmtShape(out.shape) === fmtShape(v(n.q).shape), "output shape differs from q");
        if (n.rope) expect(n.rope.dim % 2 === 0 && n.rope.dim <= n.headDim, "rope dim must be even and ≤ headDim");
        if (n.padding !== undefined) {
          expect(v(n.padding).dtype === "bool", "padding mask must be bool");
          expect(same(v(n.padding).shape[1], v(n.k).shape[1]), "padding mask length differs from keys");
        }
        break;
      }
      case "output":
        if (n.output === "logits") expect(out.shape.length === 3, "logits must be [batch, seq, vocab]");
        break;
      case "input":
        break;
    }
    defined.add(n.out);
    producer.set(n.out, n);
  }
  const outputs = g.nodes.filter((n) => n.op === "output" && n.output === "logits");
  if (outputs.length !== 1) throw new IrError(`IR verification failed: the graph has ${outputs.length} logits outputs, expected 1`);
}
