import type { Graph, Node } from "./ir.ts";

const shape = (s: (number | string)[]) => `[${s.join(", ")}]`;

function attrs(n: Node): string {
  switch (n.op) {
    case "input":
      return n.input;
    case "weight":
      return n.weight;
    case "embed":
      return `%${n.table}[%${n.ids}]${n.scale !== 1 ? ` × ${Number(n.scale.toPrecision(6))}` : ""}`;
    case "add_position":
      return `%${n.x} + ${n.kind}${n.table !== undefined ? ` %${n.table}` : ""}`;
    case "add":
      return `%${n.a} + %${n.b}`;
    case "norm":
      return `${n.kind} %${n.x} w=%${n.weight}${n.bias !== undefined ? ` b=%${n.bias}` : ""} eps=${n.eps}`;
    case "linear":
      return `%${n.x} · %${n.weight}ᵀ${n.bias !== undefined ? ` + %${n.bias}` : ""}`;
    case "activation":
      return `${n.act}(%${n.x})`;
    case "gated":
      return `${n.act}(%${n.gate}) * %${n.up}`;
    case "attention": {
      const opts = [
        `heads=${n.heads}`,
        n.kvHeads !== n.heads ? `kv_heads=${n.kvHeads}` : "",
        `head_dim=${n.headDim}`,
        n.causal ? "causal" : "",
        n.window !== undefined ? `window=${n.window}` : "",
        n.sparse ? (n.sparse.kind === "block" ? `block(${n.sparse.block}, local=${n.sparse.local}, global=${n.sparse.global})` : `strided(${n.sparse.stride})`) : "",
        n.alibi ? "alibi" : "",
        n.rope ? `rope(dim=${n.rope.dim}, base=${n.rope.base})` : "",
        n.padding !== undefined ? `padding=%${n.padding}` : "",
        n.source === "memory" ? "memory" : "",
      ].filter(Boolean);
      return `q=%${n.q} k=%${n.k} v=%${n.v} ${opts.join(" ")}`;
    }
    case "linear_attention":
      return `q=%${n.q} k=%${n.k} v=%${n.v} heads=${n.heads} head_dim=${n.headDim} ${n.featureMap}${n.causal ? " causal prefix-scan" : ""}`;
    case "dropout":
      return `%${n.x} p=${n.p}`;
    case "output":
      return `${n.output} = %${n.x}`;
  }
}

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
    lines.push(`${lhs} = ${n.op.padEnd(16)} ${attrs(n).padEnd(48)} : ${v.dtype}${shape(v.shape)}  # ${v.name}`);
  }
  if (weights) lines.push(`  // ${weights} weight tensors (show them with --weights)`);
  const t = g.train;
  if (t.dropout !== undefined || t.labelSmoothing !== undefined) {
    lines.push(`  // training: ${[t.dropout !== undefined ? `dropout=${t.dropout}` : "", t.labelSmoothing !== undefined ? `label_smoothing=${t.labelSmoothing}` : ""].filter(Boolean).join(" ")} (ignored at inference)`);
  }
  lines.push("}");
  return lines.join("\n");
}
