// The training forward program: the lowered graph, with dropout where the spec declares it,
// then the same dead-code and fuse-epilogues passes as inference, each verified (runPasses).
//
// Why differentiate the FUSED graph rather than the lowered one: training then runs exactly the
// program inference runs (same nodes, same fused linears), and the fused linear's VJP is the
// rule compiled backends will need when their backward kernels come — they execute fused
// linears too. The one place the two programs differ is dropout, which inference strips and
// training keeps (a dropout between a projection and its residual add keeps the add unfused,
// as it must: the residual is added after the mask).
//
// Where dropout comes from:
//   - `dropout(p)` statements and `dropout = p` on attention / mlp (residual dropout), which
//     lowering already emits as dropout nodes;
//   - `train(dropout = p)` (or --dropout), the model-wide rate of Vaswani et al. §5.4: applied
//     to the output of every sublayer that declares no rate of its own, before the residual
//     add, and to the sum of the embeddings and positions of each section that has no
//     `dropout(p)` statement of its own.
//   - `attention(dropout = p)` also drops the softmax attention's probabilities (the op's
//     `dropout` rate, set by lowering; torch.nn.MultiheadAttention's dropout). The model-wide
//     rate does not: §5.4 names only the residual and embedding dropout (tensor2tensor's
//     transformer_base has attention_dropout = 0).

import type { Dim, Graph, Node, Value } from "../ir/ir.ts";
import { lowerModel } from "../ir/lower.ts";
import { deadCode, runPasses, substitute, withoutAttentionDropout, type Pass } from "../ir/passes.ts";
import { fuseEpilogues } from "../ir/fuse.ts";
import type { ModelInfo } from "../model/model.ts";
import { sectionPrefix } from "../model/weights-layout.ts";

export interface TrainGraphOptions {
  /** Overrides the spec's `train(dropout = …)` rate; 0 turns every dropout node off. */
  dropout?: number;
}

/** Inserts a dropout node reading `id` right after its producer and rewires every other reader. */
function insertDropout(values: Value[], nodes: Node[], id: number, p: number, name: string): void {
  const out = values.length;
  values.push({ id: out, dtype: "f32", shape: [...values[id].shape] as Dim[], name });
  const at = nodes.findIndex((n) => n.out === id);
  const rest = substitute(nodes.slice(at + 1), new Map([[id, out]]));
  nodes.splice(at + 1, nodes.length, { op: "dropout", x: id, p, out, phase: nodes[at].phase } as Node, ...rest);
}

/** The spec-wide rate of train(dropout = p), as residual and embedding dropout. */
function modelDropout(m: ModelInfo, p: number): Pass {
  return {
    name: "train-dropout",
    run: (g) => {
      if (!(p > 0)) return g;
      const values = [...g.values];
      const nodes = [...g.nodes];
      const producer = (id: number) => nodes.find((n) => n.out === id);
      // Sublayer outputs: the `b` of every residual add (lower.ts: add{a: stream, b: sublayer}).
      for (const n of [...nodes]) {
        if (n.op !== "add" || !values[n.out].name.endsWith(".residual")) continue;
        if (producer(n.b)?.op === "dropout") continue;
        insertDropout(values, nodes, n.b, p, `${values[n.out].name.slice(0, -".residual".length)}.dropout`);
      }
      // Embedding sums: the section's last embed / add_position before anything else reads it.
      for (const sec of m.sections) {
        if (sec.steps.some((s) => s.op === "dropout")) continue;
        const prefix = sectionPrefix(sec);
        const names = new Set([`${prefix}position`, `${prefix}embed`, ...sec.steps.flatMap((s) => (s.op === "embed" ? [`${prefix}embed.${s.input}`] : []))]);
        let last: number | undefined;
        for (const n of nodes) {
          if ((n.op === "embed" || n.op === "add" || n.op === "add_position") && names.has(values[n.out].name)) last = n.out;
        }
        if (last !== undefined) insertDropout(values, nodes, last, p, `${prefix}embed.dropout`);
      }
      return { ...g, values, nodes };
    },
  };
}

/** Dropout nodes of rate 0 (or every one, and attention-weight rates, when training without dropout) are the identity. */
function stripDropout(keep: boolean): Pass {
  return {
    name: "strip-zero-dropout",
    run: (g) => {
      const alias = new Map<number, number>();
      for (const n of g.nodes) if (n.op === "dropout" && (!keep || !(n.p > 0))) alias.set(n.out, n.x);
      const nodes = substitute(g.nodes.filter((n) => !alias.has(n.out)), alias);
      return { ...g, nodes: keep ? nodes : nodes.map(withoutAttentionDropout) };
    },
  };
}

/** The verified training forward program of a model. */
export function trainingGraph(m: ModelInfo, o: TrainGraphOptions = {}): Graph {
  const rate = o.dropout ?? m.train.dropout ?? 0;
  // --dropout 0 switches off declared dropout nodes too: an eval-equivalent training run.
  const keep = o.dropout === undefined || o.dropout > 0;
  return runPasses(lowerModel(m), m, [modelDropout(m, rate), stripDropout(keep), deadCode, fuseEpilogues]);
}
