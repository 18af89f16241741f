// One definition per op: its operand fields, its verifier rule and its printed attributes,
// side by side. The table is a mapped type over the Op union, so a new op that lacks a
// definition is a type error here; the verifier, the printer, operand walks and rewrites all
// read this table and never switch over ops themselves.

import { describeRopeScaling } from "../model/rope.ts";
import type { Dim, Node, Op, Rope, Value } from "./ir.ts";

export type OpName = Op["op"];
export type OpOf<K extends OpName> = Extract<Op, { op: K }>;

/** Field names of an op that hold value ids (optional ones may be absent). */
type OperandField<K extends OpName> = { [F in keyof OpOf<K>]-?: OpOf<K>[F] extends number | undefined ? (F extends "op" ? never : F) : never }[keyof OpOf<K>];

/** What a rule can ask about the graph: a value by id. */
export type ValueOf = (id: number) => Value;

export interface OpDef<K extends OpName> {
  /** Value-id fields in a fixed order: what the verifier, the printer and rewrites walk. */
  operands: readonly OperandField<K>[];
  /** The op's shape and dtype rule: a reason it is broken, or undefined. */
  verify(n: OpOf<K>, v: ValueOf, out: Value): string | undefined;
  /** Attributes as `inspect --ir` prints them. */
  print(n: OpOf<K>): string;
}

const fmt = (s: Dim[]): string => `[${s.join(", ")}]`;
const sameShape = (a: Dim[], b: Dim[]): boolean => fmt(a) === fmt(b);
const last = (s: Dim[]): Dim => s[s.length - 1];
const opt = (cond: boolean, s: string): string => (cond ? s : "");
/** The first failing check's reason. */
const first = (...checks: Array<[boolean, string]>): string | undefined => checks.find(([ok]) => !ok)?.[1];

const ropeText = (r: Rope): string => `rope(dim=${r.dim}, base=${r.base}${r.scaling ? `, scaling=${describeRopeScaling(r.scaling)}` : ""})`;

function verifyAttention(n: OpOf<"attention"> | OpOf<"linear_attention">, v: ValueOf, out: Value): string | undefined {
  return first(
    [n.heads % n.kvHeads === 0, `heads ${n.heads} not a multiple of kvHeads ${n.kvHeads}`],
    [last(v(n.q).shape) === n.heads * n.headDim, `q width ${last(v(n.q).shape)} != heads × headDim`],
    [last(v(n.k).shape) === n.kvHeads * n.headDim && last(v(n.v).shape) === n.kvHeads * n.headDim, "k/v width != kvHeads × headDim"],
    [v(n.k).shape[1] === v(n.v).shape[1], "k and v differ in length"],
    [sameShape(out.shape, v(n.q).shape), "output shape differs from q"],
    [!n.rope || (n.rope.dim % 2 === 0 && n.rope.dim <= n.headDim), "rope dim must be even and ≤ headDim"],
    [!n.rope?.scaling || (n.rope.scaling.factor > 0 && Number.isFinite(n.rope.scaling.factor)), "rope scaling factor must be a finite positive number"],
    [!n.rope?.scaling || n.rope.scaling.kind === "linear" || n.rope.scaling.lowFreqFactor < n.rope.scaling.highFreqFactor, "llama3 rope scaling needs low_freq_factor < high_freq_factor"],
    [n.op === "linear_attention" || n.scale === undefined || (Number.isFinite(n.scale) && n.scale > 0), "scale must be a finite positive number"],
    [n.op === "linear_attention" || n.softcap === undefined || (Number.isFinite(n.softcap) && n.softcap > 0), "softcap must be a finite positive number"],
    [n.op === "linear_attention" || n.dropout === undefined || (n.dropout >= 0 && n.dropout < 1), "dropout must be in [0, 1)"],
    [n.padding === undefined || v(n.padding).dtype === "bool", "padding mask must be bool"],
    [n.padding === undefined || v(n.padding).shape[1] === v(n.k).shape[1], "padding mask length differs from keys"],
    [n.op === "linear_attention" || n.headWindows === undefined || (n.causal && n.headWindows.length === n.heads && n.headWindows.every((w) => Number.isInteger(w) && w >= 0)), "head windows need causal attention and one integer >= 0 per head"],
  );
}

export const OPS: { [K in OpName]: OpDef<K> } = {
  input: { operands: [], verify: () => undefined, print: (n) => n.input },
  // Weight shapes are checked against the model's layout by the verifier itself; a low-bit
  // storage is blocked along the last (input) dim of a matrix.
  weight: {
    operands: [],
    verify: (n, _v, out) =>
      first(
        [n.storage === undefined || ["f32", "f16", "q8", "q4"].includes(n.storage), `unknown weight storage ${String(n.storage)}`],
        [(n.storage !== "q8" && n.storage !== "q4") || out.shape.length === 2, `${n.storage} storage needs a matrix, weight is ${fmt(out.shape)}`],
        [out.dtype === "f32", "a weight's value is f32 whatever its storage"],
      ),
    print: (n) => `${n.weight}${opt(n.storage !== undefined && n.storage !== "f32", ` (${n.storage})`)}`,
  },
  embed: {
    operands: ["table", "ids"],
    verify: (n, v, out) =>
      first(
        [v(n.ids).dtype === "i32" && v(n.ids).shape.length === 2, "ids must be i32[batch, seq]"],
        [v(n.table).shape.length === 2, "table must be 2-D"],
        [out.shape[2] === v(n.table).shape[1], `output width ${out.shape[2]} differs from table width ${v(n.table).shape[1]}`],
      ),
    print: (n) => `%${n.table}[%${n.ids}]${opt(n.scale !== 1, ` × ${Number(n.scale.toPrecision(6))}`)}`,
  },
  add_position: {
    operands: ["x", "table"],
    verify: (n, v, out) =>
      first([sameShape(v(n.x).shape, out.shape), "shape changes"], [n.table === undefined || v(n.table).shape[1] === last(v(n.x).shape), "position table width differs from x"]),
    print: (n) => `%${n.x} + ${n.kind}${opt(n.table !== undefined, ` %${n.table}`)}`,
  },
  add: {
    operands: ["a", "b"],
    verify: (n, v, out) => first([sameShape(v(n.a).shape, v(n.b).shape) && sameShape(v(n.a).shape, out.shape), `add of ${fmt(v(n.a).shape)} and ${fmt(v(n.b).shape)}`]),
    print: (n) => `%${n.a} + %${n.b}`,
  },
  norm: {
    operands: ["x", "weight", "bias"],
    verify: (n, v, out) => {
      const groups = n.groups ?? 1;
      const width = last(v(n.x).shape);
      const channels = typeof width === "number" ? [width / groups] : [width];
      return first(
        [Number.isInteger(groups) && groups >= 1, `groups ${groups} must be a positive integer`],
        [sameShape(v(n.weight).shape, channels), `norm weight ${fmt(v(n.weight).shape)} for width ${width}${opt(groups > 1, ` in ${groups} groups`)}`],
        [n.bias === undefined || sameShape(v(n.bias).shape, channels), "norm bias shape"],
        [Number.isFinite(n.eps) && n.eps > 0, `eps ${n.eps} must be a finite positive number`],
        [n.offset === undefined || Number.isFinite(n.offset), `offset ${n.offset} must be finite`],
        [sameShape(out.shape, v(n.x).shape), "shape changes"],
      );
    },
    print: (n) =>
      `${n.kind} %${n.x} w=%${n.weight}${opt(n.offset !== undefined, ` + ${n.offset}`)}${opt(n.bias !== undefined, ` b=%${n.bias}`)} eps=${n.eps}${opt(n.groups !== undefined, ` groups=${n.groups}`)}`,
  },
  linear: {
    operands: ["x", "weight", "bias", "gate", "residual"],
    verify: (n, v, out) => {
      const w = v(n.weight).shape;
      return first(
        [w.length === 2, "weight must be 2-D"],
        [last(v(n.x).shape) === w[1], `x width ${last(v(n.x).shape)} but weight is ${fmt(w)} (out, in)`],
        [last(out.shape) === w[0], `output width ${last(out.shape)} but weight rows ${w[0]}`],
        [n.bias === undefined || sameShape(v(n.bias).shape, [w[0]]), "bias shape"],
        [(n.gate === undefined) === (n.gateAct === undefined), "a gate needs its activation and nothing else"],
        [n.gate === undefined || n.act === undefined, "an epilogue applies an activation or a gate, not both"],
        [n.gate === undefined || sameShape(v(n.gate).shape, out.shape), "gate shape differs from the output"],
        [n.residual === undefined || sameShape(v(n.residual).shape, out.shape), "residual shape differs from the output"],
      );
    },
    print: (n) =>
      `%${n.x} · %${n.weight}ᵀ${opt(n.bias !== undefined, ` + %${n.bias}`)}${opt(n.act !== undefined, ` → ${n.act}`)}` +
      `${opt(n.gate !== undefined, ` × ${n.gateAct}(%${n.gate})`)}${opt(n.residual !== undefined, ` + %${n.residual}`)}`,
  },
  activation: { operands: ["x"], verify: (n, v, out) => first([sameShape(v(n.x).shape, out.shape), "shape changes"]), print: (n) => `${n.act}(%${n.x})` },
  gated: { operands: ["gate", "up"], verify: (n, v) => first([sameShape(v(n.gate).shape, v(n.up).shape), "gate and up differ in shape"]), print: (n) => `${n.act}(%${n.gate}) * %${n.up}` },
  attention: {
    operands: ["q", "k", "v", "padding"],
    verify: verifyAttention,
    print: (n) => {
      const opts = [
        `heads=${n.heads}`,
        opt(n.kvHeads !== n.heads, `kv_heads=${n.kvHeads}`),
        `head_dim=${n.headDim}`,
        opt(n.causal, "causal"),
        opt(n.window !== undefined, `window=${n.window}`),
        n.sparse ? (n.sparse.kind === "block" ? `block(${n.sparse.block}, local=${n.sparse.local}, global=${n.sparse.global})` : `strided(${n.sparse.stride})`) : "",
        opt(n.alibi, "alibi"),
        opt(n.headWindows !== undefined, `head_windows=[${n.headWindows?.join(",")}]`),
        n.rope ? ropeText(n.rope) : "",
        opt(n.scale !== undefined, `scale=${n.scale}`),
        opt(n.softcap !== undefined, `softcap=${n.softcap}`),
        opt(n.padding !== undefined, `padding=%${n.padding}`),
        opt(n.dropout !== undefined, `dropout=${n.dropout}`),
        opt(n.source === "memory", "memory"),
      ].filter(Boolean);
      return `q=%${n.q} k=%${n.k} v=%${n.v} ${opts.join(" ")}`;
    },
  },
  linear_attention: {
    operands: ["q", "k", "v", "padding"],
    verify: verifyAttention,
    print: (n) => `q=%${n.q} k=%${n.k} v=%${n.v} heads=${n.heads} head_dim=${n.headDim} ${n.featureMap}${opt(n.causal, " causal prefix-scan")}`,
  },
  ssm_conv: {
    operands: ["x", "weight", "bias"],
    verify: (n, v, out) =>
      first(
        [typeof last(v(n.x).shape) !== "number" || (last(v(n.x).shape) as number) >= n.channels, `x width ${last(v(n.x).shape)} has fewer than ${n.channels} channels`],
        [sameShape(v(n.weight).shape, [n.channels, 1, n.width]), `conv weight ${fmt(v(n.weight).shape)} is not [${n.channels}, 1, ${n.width}]`],
        [n.bias === undefined || sameShape(v(n.bias).shape, [n.channels]), "conv bias shape"],
        [Number.isInteger(n.width) && n.width >= 1, `conv width ${n.width} must be a positive integer`],
        [sameShape(out.shape, [...v(n.x).shape.slice(0, -1), n.channels]), "output is not [..., channels]"],
      ),
    print: (n) => `silu(conv1d(%${n.x}[..., :${n.channels}], %${n.weight}${opt(n.bias !== undefined, ` + %${n.bias}`)}, width=${n.width}, causal))`,
  },
  ssm_scan: {
    operands: ["u", "proj", "z", "dtWeight", "dtBias", "aLog", "d"],
    verify: (n, v, out) => {
      const e = last(v(n.u).shape);
      return first(
        [last(v(n.proj).shape) === n.dtRank + 2 * n.stateSize, `proj width ${last(v(n.proj).shape)} != dtRank + 2 × stateSize`],
        [typeof e !== "number" || last(v(n.z).shape) === 2 * e, `z width ${last(v(n.z).shape)} is not 2 × ${e}`],
        [sameShape(v(n.dtWeight).shape, [e, n.dtRank]), `dt_proj weight ${fmt(v(n.dtWeight).shape)} is not [${e}, ${n.dtRank}]`],
        [sameShape(v(n.dtBias).shape, [e]) && sameShape(v(n.d).shape, [e]), "dt bias / D shape"],
        [sameShape(v(n.aLog).shape, [e, n.stateSize]), `A_log ${fmt(v(n.aLog).shape)} is not [${e}, ${n.stateSize}]`],
        [sameShape(out.shape, v(n.u).shape), "output shape differs from u"],
      );
    },
    print: (n) => `u=%${n.u} dtBC=%${n.proj} z=%${n.z}[..., E:] dt_proj=%${n.dtWeight} + %${n.dtBias} A_log=%${n.aLog} D=%${n.d} state=${n.stateSize} dt_rank=${n.dtRank}`,
  },
  softcap: {
    operands: ["x"],
    verify: (n, v, out) => first([sameShape(v(n.x).shape, out.shape), "shape changes"], [Number.isFinite(n.cap) && n.cap > 0, `cap ${n.cap} must be a finite positive number`]),
    print: (n) => `${n.cap} · tanh(%${n.x} / ${n.cap})`,
  },
  dropout: { operands: ["x"], verify: (n, v, out) => first([sameShape(v(n.x).shape, out.shape), "shape changes"]), print: (n) => `%${n.x} p=${n.p}` },
  output: {
    operands: ["x"],
    verify: (n, _v, out) => first([n.output !== "logits" || out.shape.length === 3, "logits must be [batch, seq, vocab]"]),
    print: (n) => `${n.output} = %${n.x}`,
  },
};

function defOf<K extends OpName>(n: OpOf<K>): OpDef<K> {
  return OPS[n.op as K];
}

/** Operand value ids of a node, in its definition's order. */
export function operands(n: Op): number[] {
  const rec = n as unknown as Record<string, number | undefined>;
  return (defOf(n).operands as readonly string[]).map((f) => rec[f]).filter((id): id is number => id !== undefined);
}

/** The node with every operand id mapped through `f`: the rewrite primitive of the passes. */
export function mapOperands<N extends Op>(n: N, f: (id: number) => number): N {
  const out = { ...n } as unknown as Record<string, unknown>;
  for (const field of defOf(n).operands as readonly string[]) if (typeof out[field] === "number") out[field] = f(out[field] as number);
  return out as unknown as N;
}

export function verifyOp(n: Node, v: ValueOf, out: Value): string | undefined {
  return (defOf(n).verify as (n: Op, v: ValueOf, out: Value) => string | undefined)(n, v, out);
}

export function printOp(n: Node): string {
  return (defOf(n).print as (n: Op) => string)(n);
}

/** For the `default` of a switch over ops: tsc names every case still missing. */
export function unhandledOp(n: never, where: string): never {
  throw new Error(`${where}: no case for op ${(n as { op?: string }).op}`);
}
