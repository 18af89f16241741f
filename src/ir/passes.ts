import type { ModelInfo } from "../model/model.ts";
import { weightLayout } from "../model/weights-layout.ts";
import type { Graph, Node } from "./ir.ts";
import { mapOperands, operands } from "./ops.ts";
import { fuseEpilogues } from "./fuse.ts";
import { verify } from "./verify.ts";

export type Pass = { name: string; run: (g: Graph) => Graph };

/** Replace uses of one value by another: the rewrite primitive of the passes below. */
export function substitute(nodes: Node[], from: ReadonlyMap<number, number>): Node[] {
  const r = (id: number): number => {
    let cur = id;
    while (from.has(cur)) cur = from.get(cur)!;
    return cur;
  };
  return nodes.map((n) => mapOperands(n, r));
}

/**
 * Dropout is the identity at inference: the spec's rates stay in graph.train and in dumps of the
 * lowered graph. Dropout nodes go, and so does the attention op's attention-weight rate.
 */
export const stripDropout: Pass = {
  name: "strip-dropout",
  run: (g) => {
    const alias = new Map<number, number>();
    for (const n of g.nodes) if (n.op === "dropout") alias.set(n.out, n.x);
    return { ...g, nodes: substitute(g.nodes.filter((n) => n.op !== "dropout"), alias).map(withoutAttentionDropout) };
  },
};

/** An attention node without its training-only dropout rate (any other node as it is). */
export function withoutAttentionDropout(n: Node): Node {
  if (n.op !== "attention" || n.dropout === undefined) return n;
  const { dropout: _, ...rest } = n;
  return rest;
}

/** Remove nodes nothing reads (outputs are roots). */
export const deadCode: Pass = {
  name: "dead-code",
  run: (g) => {
    const live = new Set<number>();
    for (let i = g.nodes.length - 1; i >= 0; i--) {
      const n = g.nodes[i];
      if (n.op === "output" || live.has(n.out)) {
        live.add(n.out);
        for (const o of operands(n)) live.add(o);
      }
    }
    return { ...g, nodes: g.nodes.filter((n) => live.has(n.out)) };
  },
};

export const INFERENCE_PASSES: Pass[] = [stripDropout, deadCode, fuseEpilogues];

/** Verify the lowered graph, then after every pass. */
export function runPasses(g: Graph, m: ModelInfo, passes: Pass[] = INFERENCE_PASSES): Graph {
  const layout = new Map(weightLayout(m).map((t) => [t.name, t.shape]));
  verify(g, layout);
  for (const p of passes) {
    g = p.run(g);
    verify(g, layout);
  }
  return g;
}
