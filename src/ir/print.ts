import type { Graph } from "./ir.ts";
import { printOp } from "./ops.ts";

const shape = (s: (number | string)[]) => `[${s.join(", ")}]`;

/** Readable dump for `specformer inspect --ir`: one line per node, weights folded into a count. */
export function printGraph(g: Graph, opts: { weights?: boolean } = {}): string {
  const lines = [`graph ${g.model} {`];
  let weights = 0;
  let phase = "";
  for (const n of g.nodes) {
    if (n.op === "weight" && !opts.weights) {
      weights++;
      continue;
    }
    if (n.phase !== phase && n.op !== "weight" && n.op !== "input") {
      phase = n.phase;
      lines.push(`  // ${phase}`);
    }
    const v = g.values[n.out];
    const lhs = `%${n.out}`.padStart(6);
    lines.push(`${lhs} = ${n.op.padEnd(16)} ${printOp(n).padEnd(48)} : ${v.dtype}${shape(v.shape)}  # ${v.name}`);
  }
  if (weights) lines.push(`  // ${weights} weight tensors (show them with --weights)`);
  const t = g.train;
  if (t.dropout !== undefined || t.labelSmoothing !== undefined) {
    lines.push(`  // training: ${[t.dropout !== undefined ? `dropout=${t.dropout}` : "", t.labelSmoothing !== undefined ? `label_smoothing=${t.labelSmoothing}` : ""].filter(Boolean).join(" ")} (ignored at inference)`);
  }
  lines.push("}");
  return lines.join("\n");
}
