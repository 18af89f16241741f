// fuse-epilogues: folds what follows a projection into the projection itself, so every
// backend runs it as the matmul's epilogue (no round trip of the activations through
// memory) and the reference runs the very same program. Rewrites, in graph order:
//   linear → activation            ⇒ linear{act}
//   linear(up) with gated(gate, ·) ⇒ linear{gate, gateAct}, when the gate is a sibling
//                                     projection of the same input (SwiGLU / GeGLU)
//   linear → add(·, other)         ⇒ linear{residual: other}   (the residual connection)
// A value is folded only when its one reader is the op folded into, and a residual or gate
// only when it is computed before the projection, so the fused node reads nothing later.

import type { Node } from "./ir.ts";
import { operands } from "./ops.ts";
import type { Pass } from "./passes.ts";

type Linear = Extract<Node, { op: "linear" }>;

export const fuseEpilogues: Pass = {
  name: "fuse-epilogues",
  run: (g) => {
    const nodes: Array<Node | undefined> = [...g.nodes];
    const at = new Map<number, number>();
    const readers = new Map<number, number>();
    nodes.forEach((n, i) => {
      at.set(n!.out, i);
      for (const o of operands(n!)) readers.set(o, (readers.get(o) ?? 0) + 1);
    });
    const bare = (l: Linear): boolean => l.act === undefined && l.gate === undefined && l.residual === undefined;
    /** The linear producing `id` when only `n` reads it and nothing is fused into it yet, with its index. */
    const soleLinear = (id: number, want: (l: Linear) => boolean): [Linear, number] | undefined => {
      const i = at.get(id)!;
      const p = nodes[i];
      return p?.op === "linear" && readers.get(id) === 1 && want(p) ? [p, i] : undefined;
    };
    const before = (id: number, i: number): boolean => at.get(id)! < i;
    const fold = (i: number, fused: Linear, reader: Node, readerIndex: number): void => {
      nodes[i] = fused;
      nodes[readerIndex] = undefined;
      at.set(fused.out, i);
    };

    nodes.forEach((n, ri) => {
      if (n === undefined) return;
      if (n.op === "activation") {
        const hit = soleLinear(n.x, bare);
        if (hit) fold(hit[1], { ...hit[0], act: n.act, out: n.out }, n, ri);
      } else if (n.op === "gated") {
        const up = soleLinear(n.up, bare);
        const gate = soleLinear(n.gate, bare);
        if (up && gate && gate[1] < up[1] && gate[0].x === up[0].x && (gate[0].bias === undefined) === (up[0].bias === undefined)) {
          fold(up[1], { ...up[0], gate: n.gate, gateAct: n.act, out: n.out }, n, ri);
        }
      } else if (n.op === "add" && n.a !== n.b) {
        for (const [mine, other] of [[n.b, n.a], [n.a, n.b]] as const) {
          const hit = soleLinear(mine, (l) => l.residual === undefined);
          if (hit && before(other, hit[1])) {
            fold(hit[1], { ...hit[0], residual: other, out: n.out }, n, ri);
            return;
          }
        }
      }
    });
    return { ...g, nodes: nodes.filter((n): n is Node => n !== undefined) };
  },
};
