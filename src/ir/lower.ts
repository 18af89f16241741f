import type { AttentionInfo, MlpInfo, ModelInfo, NormInfo, SectionInfo, SsmInfo, Step } from "../model/model.ts";
import { layerSublayers, outputSection } from "../model/model.ts";
import { embedTableName, sectionPrefix, sublayerNames, tiedEmbeddingName, weightLayout } from "../model/weights-layout.ts";
import { GraphBuilder } from "./builder.ts";
import type { Dim, Graph } from "./ir.ts";
import { runPasses } from "./passes.ts";

/** The graph a backend executes: lowered, verified, training-only ops removed. */
export function inferenceGraph(m: ModelInfo): Graph {
  return runPasses(lowerModel(m), m);
}

/**
 * ModelInfo → Graph. Every attention kind lowers to one fused op that never builds an
 * n×n mask: windows, sparsity and linear attention are attributes the kernels honour.
 */
export function lowerModel(m: ModelInfo): Graph {
  const shapes = new Map(weightLayout(m).map((t) => [t.name, t.shape]));
  const b = new GraphBuilder({
    weight: (name) => {
      const s = shapes.get(name);
      if (!s) throw new Error(`lowering: no weight ${name} in the layout`);
      return s;
    },
  });
  const inputDtype = new Map(m.inputs.map((i) => [i.name, i.dtype === "int" ? ("i32" as const) : ("bool" as const)]));
  const inputShape = new Map(m.inputs.map((i) => [i.name, i.shape as Dim[]]));
  const input = (name: string) => b.input(name, inputDtype.get(name) ?? "i32", inputShape.get(name) ?? ["batch", "seq"]);

  let memory: { id: number; seq: Dim } | undefined;
  let x = -1;
  for (const sec of m.sections) {
    b.phase = sec.role === "encoder" ? "encoder" : "decoder";
    x = lowerSection(b, m, sec, input, memory);
    if (sec.role === "encoder") {
      b.emit({ op: "output", x, output: "memory" }, "f32", b.shape(x), "memory");
      memory = { id: x, seq: sec.seqDim };
    }
  }
  const out = outputSection(m);
  const p = "head";
  const seq = out.seqDim;
  if (m.head.transform) {
    const t = b.emit({ op: "linear", x, weight: b.weight(`${p}.transform.weight`), bias: b.weight(`${p}.transform.bias`) }, "f32", ["batch", seq, out.width], `${p}.transform`);
    const a = b.emit({ op: "activation", x: t, act: m.head.transform.act }, "f32", ["batch", seq, out.width], `${p}.transform.act`);
    x = b.emit(
      { op: "norm", kind: "layer", x: a, weight: b.weight(`${p}.transform_norm.weight`), bias: b.weight(`${p}.transform_norm.bias`), eps: m.head.transform.eps },
      "f32",
      ["batch", seq, out.width],
      `${p}.transform_norm`,
    );
  }
  const table = m.head.kind === "tied" ? tiedEmbeddingName(m)! : `${p}.weight`;
  const logits = b.emit(
    { op: "linear", x, weight: b.weight(table), ...(m.head.bias ? { bias: b.weight(`${p}.bias`) } : {}) },
    "f32",
    ["batch", seq, m.head.vocab],
    "logits",
  );
  const capped = m.head.softcap === undefined ? logits : b.emit({ op: "softcap", x: logits, cap: m.head.softcap }, "f32", ["batch", seq, m.head.vocab], "logits.softcap");
  b.emit({ op: "output", x: capped, output: "logits" }, "f32", ["batch", seq, m.head.vocab], "logits");
  return b.build(m.name, m.train);
}

type InputFn = (name: string) => number;

function lowerSection(b: GraphBuilder, m: ModelInfo, sec: SectionInfo, input: InputFn, memory: { id: number; seq: Dim } | undefined): number {
  const p = sectionPrefix(sec);
  const act: Dim[] = ["batch", sec.seqDim, sec.width];
  let x = -1;
  let norms = 0;
  let drops = 0;
  for (const step of sec.steps) {
    switch (step.op) {
      case "embed": {
        const e = b.emit({ op: "embed", table: b.weight(embedTableName(m, sec, step)), ids: input(step.input), scale: step.scale }, "f32", act, `${p}embed.${step.input}`);
        x = x < 0 ? e : b.emit({ op: "add", a: x, b: e }, "f32", act, `${p}embed`);
        break;
      }
      case "position":
        if (step.position.kind === "learned") x = b.emit({ op: "add_position", x, kind: "learned", table: b.weight(`${p}position.weight`) }, "f32", act, `${p}position`);
        else if (step.position.kind === "sinusoidal") x = b.emit({ op: "add_position", x, kind: "sinusoidal" }, "f32", act, `${p}position`);
        break;
      case "norm":
        x = norm(b, x, step.norm, `${p}norm.${norms++}`, act);
        break;
      case "dropout":
        x = b.emit({ op: "dropout", x, p: step.p }, "f32", act, `${p}dropout.${drops++}`);
        break;
      case "stack":
        x = lowerStack(b, step, sec, x, input, memory);
        break;
    }
  }
  return x;
}

/** A norm op over `shape`; `groups` > 1 norms each of that many equal runs of the last axis on its own. */
function norm(b: GraphBuilder, x: number, n: NormInfo, name: string, shape: Dim[], groups = 1): number {
  const op = {
    op: "norm" as const,
    kind: n.kind,
    x,
    weight: b.weight(`${name}.weight`),
    ...(n.bias ? { bias: b.weight(`${name}.bias`) } : {}),
    eps: n.eps,
    ...(n.offset !== undefined && n.offset !== 0 ? { offset: n.offset } : {}),
    ...(groups > 1 ? { groups } : {}),
  };
  return b.emit(op, "f32", shape, name);
}

/**
 * Pre-norm: x ← x + sub(norm(x)); post-norm: x ← norm(x + sub(x)); sandwich: x ← x + post(sub(pre(x))).
 * A parallel residual feeds every sublayer the layer's input, so x ← x + Σ sub(norm(input)).
 */
function lowerStack(b: GraphBuilder, step: Extract<Step, { op: "stack" }>, sec: SectionInfo, x: number, input: InputFn, memory: { id: number; seq: Dim } | undefined): number {
  const st = step.stack;
  const shape: Dim[] = ["batch", sec.seqDim, sec.width];
  for (let i = 0; i < st.count; i++) {
    const layer = `${sectionPrefix(sec)}${st.name}.${i}`;
    const sublayers = layerSublayers(st, i);
    const names = sublayerNames({ sublayers });
    const layerInput = x;
    sublayers.forEach((sub, j) => {
      const name = `${layer}.${names[j]}`;
      const src = st.residual === "parallel" ? layerInput : x;
      const h = st.placement !== "post" && sub.norm ? norm(b, src, sub.norm, `${name}_norm`, shape) : src;
      let y = sub.kind === "attention" ? attention(b, sub, h, name, sec, input, memory) : sub.kind === "ssm" ? ssm(b, sub, h, name, sec) : mlp(b, sub, h, name, sec);
      if (sub.dropout > 0) y = b.emit({ op: "dropout", x: y, p: sub.dropout }, "f32", shape, `${name}.dropout`);
      if (sub.postNorm) y = norm(b, y, sub.postNorm, `${name}_post_norm`, shape);
      x = b.emit({ op: "add", a: x, b: y }, "f32", shape, `${name}.residual`);
      if (st.placement === "post" && sub.norm) x = norm(b, x, sub.norm, `${name}_norm`, shape);
    });
  }
  return x;
}

/** Qwen3's q_norm / k_norm: RMSNorm of each head of a projection, before RoPE (absent: the projection itself). */
function headNorm(b: GraphBuilder, a: AttentionInfo, x: number, name: string, which: "q" | "k"): number {
  if (!a.qkNorm) return x;
  const v = b.shape(x);
  return norm(b, x, a.qkNorm, `${name}.${which}_norm`, v, (v[v.length - 1] as number) / a.headDim);
}

function attention(b: GraphBuilder, a: AttentionInfo, h: number, name: string, sec: SectionInfo, input: InputFn, memory: { id: number; seq: Dim } | undefined): number {
  const qDim = a.heads * a.headDim;
  const kvDim = a.kvHeads * a.headDim;
  const proj = (x: number, w: string, bias: boolean, seq: Dim, out: number) =>
    b.emit({ op: "linear", x, weight: b.weight(`${name}.${w}.weight`), ...(bias ? { bias: b.weight(`${name}.${w}.bias`) } : {}) }, "f32", ["batch", seq, out], `${name}.${w}`);
  const q = headNorm(b, a, proj(h, "q", a.qkvBias, sec.seqDim, qDim), name, "q");
  let k: number;
  let v: number;
  if (a.source === "cross") {
    // Keys and values of the encoder's output are computed once per source sequence.
    const phase = b.phase;
    b.phase = "encoder";
    k = headNorm(b, a, proj(memory!.id, "k", a.qkvBias, memory!.seq, kvDim), name, "k");
    v = proj(memory!.id, "v", a.qkvBias, memory!.seq, kvDim);
    b.phase = phase;
  } else {
    k = headNorm(b, a, proj(h, "k", a.qkvBias, sec.seqDim, kvDim), name, "k");
    v = proj(h, "v", a.qkvBias, sec.seqDim, kvDim);
  }
  const common = {
    q,
    k,
    v,
    heads: a.heads,
    kvHeads: a.kvHeads,
    headDim: a.headDim,
    ...(a.ropeDim > 0 ? { rope: { dim: a.ropeDim, base: a.ropeBase, ...(a.ropeScaling ? { scaling: a.ropeScaling } : {}) } } : {}),
    ...(a.padding !== undefined ? { padding: input(a.padding) } : {}),
    source: a.source === "cross" ? ("memory" as const) : ("self" as const),
    cache: name,
  };
  const out: Dim[] = ["batch", sec.seqDim, qDim];
  // `attention(dropout = p)` drops the softmax weights at p (here) and the sublayer's output
  // before the residual add (lowerStack), as torch.nn.TransformerEncoderLayer(dropout = p) and
  // BERT / GPT-2 (attention and hidden dropout, both 0.1) do. Linear attention has no weights.
  const att = a.linear
    ? b.emit({ op: "linear_attention", ...common, featureMap: a.linear.featureMap, causal: a.causal }, "f32", out, `${name}.scores`)
    : b.emit(
        { op: "attention", ...common, causal: a.causal, ...(a.scale !== undefined ? { scale: a.scale } : {}), ...(a.softcap !== undefined ? { softcap: a.softcap } : {}), ...(a.window !== undefined ? { window: a.window } : {}), ...(a.sparse ? { sparse: a.sparse } : {}), alibi: a.alibi, ...(a.headWindows ? { headWindows: a.headWindows } : {}), ...(a.dropout > 0 ? { dropout: a.dropout } : {}) },
        "f32",
        out,
        `${name}.scores`,
      );
  return proj(att, "o", a.outBias, sec.seqDim, sec.width);
}

const GATE_ACT = { swiglu: "silu", geglu: "gelu", geglu_tanh: "gelu_tanh" } as const;

function mlp(b: GraphBuilder, f: MlpInfo, h: number, name: string, sec: SectionInfo): number {
  const hidden: Dim[] = ["batch", sec.seqDim, f.hidden];
  const proj = (x: number, w: string, out: Dim[]) =>
    b.emit({ op: "linear", x, weight: b.weight(`${name}.${w}.weight`), ...(f.bias ? { bias: b.weight(`${name}.${w}.bias`) } : {}) }, "f32", out, `${name}.${w}`);
  let a: number;
  if (f.act === "swiglu" || f.act === "geglu" || f.act === "geglu_tanh") {
    const gate = proj(h, "gate", hidden);
    const up = proj(h, "up", hidden);
    a = b.emit({ op: "gated", gate, up, act: GATE_ACT[f.act] }, "f32", hidden, `${name}.act`);
  } else {
    a = b.emit({ op: "activation", x: proj(h, "up", hidden), act: f.act }, "f32", hidden, `${name}.act`);
  }
  return proj(a, "down", ["batch", sec.seqDim, sec.width]);
}

/** Mamba-1's mixer: in_proj → (conv → silu → x_proj) → selective scan gated by silu(z) → out_proj. */
function ssm(b: GraphBuilder, s: SsmInfo, h: number, name: string, sec: SectionInfo): number {
  const e = s.inner;
  const row = (w: number): Dim[] => ["batch", sec.seqDim, w];
  const proj = (x: number, w: string, bias: boolean, out: number) =>
    b.emit({ op: "linear", x, weight: b.weight(`${name}.${w}.weight`), ...(bias ? { bias: b.weight(`${name}.${w}.bias`) } : {}) }, "f32", row(out), `${name}.${w}`);
  const xz = proj(h, "in_proj", s.bias, 2 * e);
  const conv = b.emit(
    { op: "ssm_conv", x: xz, weight: b.weight(`${name}.conv1d.weight`), ...(s.convBias ? { bias: b.weight(`${name}.conv1d.bias`) } : {}), channels: e, width: s.convWidth, cache: `${name}.conv` },
    "f32",
    row(e),
    `${name}.conv1d`,
  );
  const dtBC = proj(conv, "x_proj", false, s.dtRank + 2 * s.stateSize);
  const y = b.emit(
    {
      op: "ssm_scan",
      u: conv,
      proj: dtBC,
      z: xz,
      dtWeight: b.weight(`${name}.dt_proj.weight`),
      dtBias: b.weight(`${name}.dt_proj.bias`),
      aLog: b.weight(`${name}.A_log`),
      d: b.weight(`${name}.D`),
      dtRank: s.dtRank,
      stateSize: s.stateSize,
      cache: `${name}.scan`,
    },
    "f32",
    row(e),
    `${name}.scan`,
  );
  return proj(y, "out_proj", s.bias, sec.width);
}
