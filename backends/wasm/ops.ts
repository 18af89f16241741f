// Graph → the fused op lists of the two entry points. `encode` runs the nodes that do not
// depend on per-step inputs (the encoder, cross-attention K/V) once per source; `decode` runs
// the rest for every batch of new tokens (a full forward is one decode call over the whole
// sequence on a fresh state). Epilogues (activation, gate, residual) arrive fused into the
// IR's linear nodes by the shared fuse-epilogues pass; this file only maps ops to kernels.

import type { Graph, Node } from "../../src/ir/ir.ts";
import { operands, unhandledOp } from "../../src/ir/ops.ts";
import { splitPhases } from "../../src/ir/phases.ts";
import type { RopeScaling, SparsePattern } from "../../src/model/model.ts";
import { ropeKey } from "../../src/model/rope.ts";
import type { Act } from "./emit-math.ts";
import type { LowBitStorage } from "./emit-matmul.ts";
import { NR } from "./plan.ts";
import { paddedChannels } from "./emit-ssm.ts";
import { blockedScratchFloats } from "./emit-attention-blocked.ts";

type NodeOf<K extends Node["op"]> = Extract<Node, { op: K }>;

export interface AttentionCommon {
  slot: number;
  out: number;
  q: number;
  k: number;
  v: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  causal: boolean;
  source: "self" | "memory";
  /** Rotary table key and rotated channels per head (0: none). */
  ropeKey?: string;
  ropeDim: number;
  /** Whether a key padding mask applies (its address comes from the slot record). */
  padding: boolean;
  name: string;
}

export type WOp =
  /** `storage`: the table's low-bit storage (f16 or q8), absent for f32. */
  | { op: "embed"; out: number; ids: string; table: string; vocab: number; dim: number; scale: number; storage?: "f16" | "q8" }
  /** Learned positions read the weight `table`; sinusoidal ones a load-time table by key. */
  | { op: "add_position"; out: number; x: number; dim: number; table?: string; tableKey?: string }
  | { op: "add"; out: number; a: number; b: number; width: number }
  /** Rows of `dim` (the weight's length), `groups` of them per row of the value; y = x̂ · (offset + w) (+ bias). */
  | { op: "norm"; out: number; x: number; kind: "layer" | "rms"; dim: number; groups: number; weight: string; bias?: string; eps: number; offset: number }
  | {
      op: "linear";
      out: number;
      x: number;
      weight: string;
      bias?: string;
      K: number;
      N: number;
      /** Epilogue, in order: + bias, act, × act(gate) (gate: a buffer of the same shape), + residual. */
      act?: Act;
      gate?: { id: number; act: Act };
      residual?: number;
      name: string;
      /** The weight's low-bit storage (src/runtime/weights/format.ts), absent for f32. */
      storage?: LowBitStorage;
    }
  | { op: "activation"; out: number; x: number; width: number; act: Act }
  | { op: "gated"; out: number; gate: number; up: number; width: number; act: Act }
  | { op: "softcap"; out: number; x: number; width: number; cap: number }
  /** `scale` multiplies the queries; `softcap` caps each scaled score before ALiBi and masks. */
  /** `headWindows` (Hard-ALiBi): head h sees keys j > i - w_h; 0 = no limit (causal only). */
  | ({ op: "attention"; scale: number; softcap?: number; window?: number; sparse?: SparsePattern; alibiKey?: string; headWindows?: readonly number[] } & AttentionCommon)
  | ({ op: "linear_attention"; featureMap: "elu1" | "relu" } & AttentionCommon)
  /** Mamba's conv (emit-ssm.ts): channels [0, channels) of rows of rowWidth; its window in slot `slot`. */
  | { op: "ssm_conv"; out: number; x: number; rowWidth: number; channels: number; width: number; weight: string; bias?: string; slot: number; name: string }
  /** Mamba's selective scan (emit-ssm.ts); h in slot `slot`. */
  | { op: "ssm_scan"; out: number; u: number; proj: number; z: number; inner: number; stateSize: number; dtRank: number; dtWeight: string; dtBias: string; aLog: string; d: string; slot: number; name: string }
  /** Copies memory K/V (RoPE applied at source positions) into a cross slot, in encode. */
  | { op: "persist"; slot: number; k: number; v: number; kvHeads: number; headDim: number; ropeKey?: string; ropeDim: number };

export interface Slot {
  index: number;
  cache: string;
  /** kv: self-attention K/V cache; linear: (S, z) state; cross: memory K/V written by encode; recurrent: an ssm op's state of `floats` per sequence. */
  kind: "kv" | "linear" | "cross" | "recurrent";
  floats?: number;
  /** The entry point that reads it: encode-phase self slots live only for one call. */
  phase: "encode" | "decode";
  kvHeads: number;
  headDim: number;
  /** Bool input masking its keys, and the section whose positions that mask indexes. */
  mask?: string;
  keys: "encoder" | "decoder";
  /** Address of the slot record in the descriptor (filled by the plan). */
  desc?: number;
}

export interface TableRequest {
  key: string;
  kind: "sinusoidal" | "rope" | "alibi";
  section: "encoder" | "decoder";
  dim: number;
  base: number;
  /** RoPE's frequency scaling (src/model/rope.ts). */
  scaling?: RopeScaling;
  heads: number;
  /** ALiBi under Hard-ALiBi's per-head windows: only the unwindowed heads get slopes (headSlopes). */
  windows?: readonly number[];
}

export interface BuiltOps {
  encode: WOp[];
  decode: WOp[];
  slots: Slot[];
  rawWeights: string[];
  packedWeights: string[];
  tables: TableRequest[];
  intInputs: string[];
  masks: Array<{ name: string; section: "encoder" | "decoder" }>;
  logits: number;
  /** Value id → row width (floats), for the arena. */
  width: Map<number, number>;
  /** Floats of per-thread scratch the kernels need. */
  scratchFloats: number;
  /** Low-bit storage of weights by name (f32 ones absent). */
  storage: Record<string, LowBitStorage>;
}

const ACTS = new Set(["relu", "gelu", "gelu_tanh", "silu"]);
function act(a: string, where: string): Act {
  if (!ACTS.has(a)) throw new Error(`wasm backend: ${where}: unsupported activation "${a}"`);
  return a as Act;
}

export function buildOps(graph: Graph, stepInputs: ReadonlySet<string>): BuiltOps {
  const { static: staticNodes, step } = splitPhases(graph, stepInputs);
  const vals = graph.values;
  const nodeOf = new Map<number, Node>();
  for (const n of graph.nodes) nodeOf.set(n.out, n);
  const width = new Map<number, number>();
  for (const v of vals) width.set(v.id, Number(v.shape[v.shape.length - 1]));
  const weightName = (id: number): string => {
    const n = nodeOf.get(id);
    if (n?.op !== "weight") throw new Error(`wasm backend: value %${id} (${vals[id]?.name}) is not a weight`);
    return n.weight;
  };
  const storage: Record<string, LowBitStorage> = Object.create(null);
  /** A weight's low-bit storage as the program records it (src/runtime/weights/store.ts sets it). */
  const storageOf = (id: number): LowBitStorage | undefined => {
    const n = nodeOf.get(id);
    if (n?.op !== "weight" || n.storage === undefined || n.storage === "f32") return undefined;
    storage[n.weight] = n.storage;
    return n.storage;
  };
  const inputName = (id: number): string => {
    const n = nodeOf.get(id);
    if (n?.op !== "input") throw new Error(`wasm backend: value %${id} (${vals[id]?.name}) is not an input`);
    return n.input;
  };

  const raw = new Set<string>();
  const packed = new Set<string>();
  const tables = new Map<string, TableRequest>();
  const intInputs = new Set<string>();
  const masks = new Map<string, "encoder" | "decoder">();
  const slots: Slot[] = [];
  let scratchFloats = 0;
  let logits = -1;
  /** Output and fused nodes alias the value they forward. */
  const alias = new Map<number, number>();
  const real = (id: number): number => alias.get(id) ?? id;
  const table = (t: Omit<TableRequest, "key">): string => {
    const key = `${t.kind}:${t.section}:${ropeKey(t.dim, t.base, t.scaling)}:${t.heads}${t.windows ? `:${t.windows.join(",")}` : ""}`;
    tables.set(key, { ...t, key });
    return key;
  };

  const lower = (nodes: Node[], phase: "encode" | "decode"): WOp[] => {
    const section = phase === "encode" ? "encoder" : "decoder";
    const out: WOp[] = [];
    for (const n of nodes) {
      switch (n.op) {
        case "input":
          if (vals[n.out].dtype === "i32") intInputs.add(n.input);
          break;
        case "output":
          alias.set(n.out, real(n.x));
          if (n.output === "logits") logits = n.out;
          break;
        case "embed": {
          raw.add(weightName(n.table));
          const st = storageOf(n.table);
          if (st === "q4") throw new Error(`wasm backend: embedding table ${weightName(n.table)} is stored as q4; tables are f16 or q8 at most`);
          out.push({ op: "embed", out: n.out, ids: inputName(n.ids), table: weightName(n.table), vocab: Number(vals[n.table].shape[0]), dim: width.get(n.out)!, scale: n.scale, ...(st ? { storage: st } : {}) });
          break;
        }
        case "add_position": {
          const dim = width.get(n.out)!;
          if (n.kind === "learned") {
            raw.add(weightName(n.table!));
            out.push({ op: "add_position", out: n.out, x: real(n.x), dim, table: weightName(n.table!) });
          } else {
            out.push({ op: "add_position", out: n.out, x: real(n.x), dim, tableKey: table({ kind: "sinusoidal", section, dim, base: 0, heads: 0 }) });
          }
          break;
        }
        case "add":
          out.push({ op: "add", out: n.out, a: real(n.a), b: real(n.b), width: width.get(n.out)! });
          break;
        case "norm":
          raw.add(weightName(n.weight));
          if (n.bias !== undefined) raw.add(weightName(n.bias));
          out.push({
            op: "norm",
            out: n.out,
            x: real(n.x),
            kind: n.kind,
            dim: width.get(n.out)! / (n.groups ?? 1),
            groups: n.groups ?? 1,
            weight: weightName(n.weight),
            ...(n.bias !== undefined ? { bias: weightName(n.bias) } : {}),
            eps: n.eps,
            offset: n.offset ?? 0,
          });
          break;
        case "linear": {
          const w = weightName(n.weight);
          packed.add(w);
          if (n.bias !== undefined) raw.add(weightName(n.bias));
          const [N, K] = vals[n.weight].shape as number[];
          const st = storageOf(n.weight);
          // A low-bit matmul dequantises a panel ([K][NR] f32) into the thread's scratch.
          if (st) scratchFloats = Math.max(scratchFloats, K * NR);
          // The epilogue comes fused from the IR pass (src/ir/fuse.ts).
          out.push({
            op: "linear",
            out: n.out,
            x: real(n.x),
            weight: w,
            ...(n.bias !== undefined ? { bias: weightName(n.bias) } : {}),
            K,
            N,
            ...(n.act !== undefined ? { act: act(n.act, vals[n.out].name) } : {}),
            ...(n.gate !== undefined ? { gate: { id: real(n.gate), act: act(n.gateAct!, vals[n.out].name) } } : {}),
            ...(n.residual !== undefined ? { residual: real(n.residual) } : {}),
            name: vals[n.out].name,
            ...(st ? { storage: st } : {}),
          });
          break;
        }
        case "activation":
          out.push({ op: "activation", out: n.out, x: real(n.x), width: width.get(n.out)!, act: act(n.act, vals[n.out].name) });
          break;
        case "gated":
          out.push({ op: "gated", out: n.out, gate: real(n.gate), up: real(n.up), width: width.get(n.out)!, act: act(n.act, vals[n.out].name) });
          break;
        case "softcap":
          out.push({ op: "softcap", out: n.out, x: real(n.x), width: width.get(n.out)!, cap: n.cap });
          break;
        case "attention":
        case "linear_attention":
          out.push(...attention(n, phase, section));
          break;
        case "ssm_conv":
        case "ssm_scan":
          out.push(ssm(n, phase));
          break;
        case "dropout":
          alias.set(n.out, real(n.x));
          break;
        case "weight":
          break;
        default:
          unhandledOp(n, "wasm backend");
      }
    }
    return out;
  };

  const attention = (n: NodeOf<"attention"> | NodeOf<"linear_attention">, phase: "encode" | "decode", section: "encoder" | "decoder"): WOp[] => {
    const where = `${n.op} ${n.cache}`;
    if (n.heads % n.kvHeads !== 0) throw new Error(`wasm backend: ${where}: heads ${n.heads} not a multiple of kv heads ${n.kvHeads}`);
    const index = slots.length;
    const mask = n.padding === undefined ? undefined : inputName(n.padding);
    const keys = n.source === "memory" ? "encoder" : section;
    if (mask) masks.set(mask, stepInputs.has(mask) ? "decoder" : "encoder");
    slots.push({ index, cache: n.cache, kind: n.source === "memory" ? "cross" : n.op === "attention" ? "kv" : "linear", phase, kvHeads: n.kvHeads, headDim: n.headDim, ...(mask ? { mask } : {}), keys });
    const ropeKey = n.rope ? table({ kind: "rope", section: "decoder" /* one table covers both sections' positions */, dim: n.rope.dim, base: n.rope.base, ...(n.rope.scaling ? { scaling: n.rope.scaling } : {}), heads: 0 }) : undefined;
    const common: AttentionCommon = {
      slot: index, out: n.out, q: real(n.q), k: real(n.k), v: real(n.v), heads: n.heads, kvHeads: n.kvHeads, headDim: n.headDim, causal: n.causal,
      source: n.source, ...(ropeKey ? { ropeKey } : {}), ropeDim: n.rope?.dim ?? 0, padding: mask !== undefined, name: n.cache,
    };
    const hd = n.headDim;
    // Softmax: the blocked prefill's buffers (emit-attention-blocked.ts), then the one-row path's accumulator.
    scratchFloats = Math.max(scratchFloats, n.op === "attention" ? blockedScratchFloats(hd) + 4 * hd + 64 : hd * hd + 8 * hd + 64);
    const op: WOp =
      n.op === "attention"
        ? { op: "attention", ...common, scale: n.scale ?? 1 / Math.sqrt(hd), ...(n.softcap !== undefined ? { softcap: n.softcap } : {}), ...(n.window !== undefined ? { window: n.window } : {}), ...(n.sparse ? { sparse: n.sparse } : {}), ...(n.alibi ? { alibiKey: table({ kind: "alibi", section, dim: 0, base: 0, heads: n.heads, ...(n.headWindows ? { windows: n.headWindows } : {}) }) } : {}), ...(n.headWindows ? { headWindows: n.headWindows } : {}) }
        : { op: "linear_attention", ...common, featureMap: n.featureMap };
    if (n.source === "memory") {
      // Memory K/V come from the encode entry; persist them there, right after both exist.
      persists.push({ op: "persist", slot: index, k: real(n.k), v: real(n.v), kvHeads: n.kvHeads, headDim: hd, ...(ropeKey ? { ropeKey } : {}), ropeDim: n.rope?.dim ?? 0 });
    }
    return [op];
  };
  const persists: Array<WOp & { op: "persist" }> = [];

  /** A state-space op and its recurrent slot (states rows padded to whole vectors, emit-ssm.ts). */
  const ssm = (n: NodeOf<"ssm_conv"> | NodeOf<"ssm_scan">, phase: "encode" | "decode"): WOp => {
    const slot = slots.length;
    const rawName = (id: number) => {
      const w = weightName(id);
      raw.add(w);
      return w;
    };
    const name = vals[n.out].name;
    if (n.op === "ssm_conv") {
      slots.push({ index: slot, cache: n.cache, kind: "recurrent", phase, kvHeads: 0, headDim: 0, floats: (n.width - 1) * paddedChannels(n.channels), keys: "decoder" });
      return { op: "ssm_conv", out: n.out, x: real(n.x), rowWidth: width.get(n.x)!, channels: n.channels, width: n.width, weight: rawName(n.weight), ...(n.bias !== undefined ? { bias: rawName(n.bias) } : {}), slot, name };
    }
    const inner = width.get(n.u)!;
    slots.push({ index: slot, cache: n.cache, kind: "recurrent", phase, kvHeads: 0, headDim: 0, floats: n.stateSize * paddedChannels(inner), keys: "decoder" });
    // Per thread: the channel group's dt_proj columns and A, one vector each.
    scratchFloats = Math.max(scratchFloats, 4 * (n.dtRank + n.stateSize));
    return {
      op: "ssm_scan", out: n.out, u: real(n.u), proj: real(n.proj), z: real(n.z), inner, stateSize: n.stateSize, dtRank: n.dtRank,
      dtWeight: rawName(n.dtWeight), dtBias: rawName(n.dtBias), aLog: rawName(n.aLog), d: rawName(n.d), slot, name,
    };
  };

  // Lower decode first: it discovers the cross slots whose K/V encode must persist.
  const decode = lower(step, "decode");
  const encode = lower(staticNodes, "encode");
  const staticIds = new Set(staticNodes.map((n) => n.out));
  for (const op of decode) {
    for (const id of opReads(op)) {
      // Memory K/V reach decode through their slot (opReads leaves them out); nothing else may cross.
      if (staticIds.has(id)) {
        throw new Error(`wasm backend: value ${vals[id].name} crosses from encode to decode other than as cross-attention keys`);
      }
    }
  }
  for (const p of persists) {
    const at = Math.max(encode.findIndex((o) => opWrites(o) === p.k), encode.findIndex((o) => opWrites(o) === p.v));
    encode.splice(at + 1, 0, p);
  }
  if (logits < 0) throw new Error(`wasm backend: graph ${graph.model} has no logits output`);
  return {
    encode,
    decode,
    slots,
    rawWeights: [...raw],
    packedWeights: [...packed],
    tables: [...tables.values()],
    intInputs: [...intInputs],
    masks: [...masks].map(([name, section]) => ({ name, section })),
    logits: real(logits),
    width,
    scratchFloats,
    storage,
  };
}

/** Value ids an op reads (arena values only; weights and inputs are named). */
export function opReads(op: WOp): number[] {
  switch (op.op) {
    case "embed":
      return [];
    case "add_position":
    case "norm":
    case "activation":
    case "softcap":
      return [op.x];
    case "add":
      return [op.a, op.b];
    case "linear":
      return [op.x, ...(op.gate ? [op.gate.id] : []), ...(op.residual !== undefined ? [op.residual] : [])];
    case "gated":
      return [op.gate, op.up];
    case "attention":
    case "linear_attention":
      return op.source === "memory" ? [op.q] : [op.q, op.k, op.v];
    case "persist":
      return [op.k, op.v];
    case "ssm_conv":
      return [op.x];
    case "ssm_scan":
      return [op.u, op.proj, op.z];
  }
}

export function opWrites(op: WOp): number | undefined {
  return op.op === "persist" ? undefined : op.out;
}
