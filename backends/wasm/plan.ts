// Build-time plan of the Wasm backend: which graph nodes run in which entry point, the fused
// op list each entry executes, and where every byte lives in the one linear memory. All
// addresses here are baked into the generated code as constants; the runtime (runtime.ts)
// only fills what the plan describes and never decides a layout itself.

import type { Graph } from "../../src/ir/ir.ts";
import type { ModelInfo, RopeScaling } from "../../src/model/model.ts";
import { planInputs } from "../../src/runtime/inputs.ts";
import { UNBOUNDED_CONTEXT } from "../../src/runtime/model.ts";
import { planStates, type StatePlan } from "../../src/ir/state-plan.ts";
import { allocateArena, valueBytes } from "./arena.ts";
import { type BarrierAt, barriersAfter } from "./barriers.ts";
import type { LowBitStorage } from "./emit-matmul.ts";
import { packedBytes, rawBytes } from "./lowbit.ts";
import { MR } from "./emit-matmul.ts";
import { actRowBytes } from "./emit-quant.ts";
import { BLOCK, blocksOf } from "../../src/runtime/weights/format.ts";
import { type WOp, buildOps, type Slot } from "./ops.ts";

export type { WOp, Slot } from "./ops.ts";

export const WASM_PAGE = 65536;
/** wasm32 addresses are 32-bit: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;
export const MAX_BYTES = MAX_PAGES * WASM_PAGE;
/** Buffers start on cache-line boundaries so v128 loads never straddle one needlessly. */
export const ALIGN = 64;
/** Matmul register tile: NR output columns per packed weight panel. */
export const NR = 8;

export const align = (n: number, a = ALIGN): number => Math.ceil(n / a) * a;

/** Fixed i32 fields of the call descriptor at layout.desc, by byte offset. */
export const DESC = {
  /** Sequences in this call. */
  g: 0,
  /** Rows per sequence: new decoder tokens, or the source length in encode. */
  n: 4,
  /** Positions already decoded (absolute position of row 0). */
  pos0: 8,
  /** Source length: the key count of cross-attention. */
  srcLen: 12,
  /** Worker command (1 encode, 2 decode, 3 exit) and its generation counter. */
  cmd: 16,
  gen: 20,
  /** Barrier arrival count and generation. */
  barCount: 24,
  barGen: 28,
  /** Set by a worker that trapped: barriers stop waiting, the runtime reports it. */
  abort: 32,
  /** The first dead worker's number, set by the runtime's watcher thread (../worker-watch.ts) with abort. */
  dead: 36,
  /** Per-slot records start here, SLOT_BYTES each. */
  slots: 64,
} as const;
export const SLOT_BYTES = 32;
/** Fields of a slot record: caches and masks live in run-time state regions the runtime allocates. */
export const SLOT = {
  /** K cache (or linear attention S) base address, already offset to the call's first sequence. */
  k: 0,
  /** V cache (or linear attention z) base address. */
  v: 4,
  /** Rows per sequence in the K/V cache (its positions capacity). */
  stride: 8,
  /** i32 key mask (0 / -1) base, offset to the first sequence, and its per-sequence stride in entries. */
  mask: 12,
  maskStride: 16,
} as const;

export interface WasmPlanOptions {
  /** Positions cap where the spec declares no bound (default 2048), or a cap below a declared one. */
  maxSeq?: number;
}

/**
 * A tensor copied into memory at load time: raw, or packed into NR-wide panels for the matmul;
 * in its low-bit storage when it has one (layouts: lowbit.ts), else f32.
 */
export interface WeightPlacement {
  name: string;
  offset: number;
  bytes: number;
  packed?: { K: number; N: number };
  storage?: LowBitStorage;
}

/** Tables the runtime computes at load time (positions, rotary angles, ALiBi slopes). */
export type TablePlacement = { offset: number; bytes: number } & (
  | { kind: "sinusoidal"; positions: number; dim: number }
  | { kind: "rope"; positions: number; rotaryDim: number; base: number; scaling?: RopeScaling }
  | { kind: "alibi"; heads: number; windows?: readonly number[] }
);

export interface WasmPlan {
  model: string;
  /** Arena rows per call (sequences × rows per sequence). */
  rows: number;
  /** Decoder (or only) section positions cap, and the encoder's. */
  context: number;
  sourceContext?: number;
  layout: {
    desc: number;
    /** Per-thread scratch (online-softmax accumulators, linear-attention state of memory keys). */
    scratch: number;
    scratchBytes: number;
    /** q8 / q4 matmuls' shared f32 [rows][K] region of quantised input rows (absent without them). */
    actq?: number;
    weights: WeightPlacement[];
    tables: TablePlacement[];
    /** i32 [rows] buffers of the int inputs that are embedded. */
    inputs: Record<string, number>;
    arena: { offset: number; bytes: number };
    /** Bytes of everything above, rounded to pages: state regions go after it. */
    staticBytes: number;
  };
  slots: Array<Slot & { desc: number }>;
  /** Fused op lists of the two entry points (value ids; see addr). */
  encode: WOp[];
  decode: WOp[];
  /** Arena address of every value, per entry point. */
  addr: { encode: Record<number, number>; decode: Record<number, number> };
  /** Per op of each entry point: whether a barrier follows it (barriers.ts). */
  barriers: { encode: BarrierAt[]; decode: BarrierAt[] };
  /** Raw weights by name, packed weights by name, load-time tables by key. */
  weightAddr: Record<string, number>;
  packedAddr: Record<string, number>;
  tableAddr: Record<string, number>;
  logits: { offset: number; vocab: number };
  /** Bool inputs used as key padding masks and the section whose positions they index. */
  masks: Array<{ name: string; section: "encoder" | "decoder" }>;
  /** Threads the scratch area is sized for. */
  maxThreads: number;
  /**
   * The shared state plan (src/ir/state-plan.ts) at this build's caps: decode states size ring
   * slots and mask histories by it, and steps longer than its chunk run in chunks. Absent in
   * plans of older builds: every cache full.
   */
  states?: StatePlan;
}

/** A section's positions cap: its declared bound (lowered by maxSeq if given), else maxSeq or the one context rule's UNBOUNDED_CONTEXT. */
function sectionCap(declared: number | undefined, opts: WasmPlanOptions): number {
  if (declared === undefined) return Math.max(1, opts.maxSeq ?? UNBOUNDED_CONTEXT);
  return opts.maxSeq === undefined ? declared : Math.max(1, Math.min(declared, opts.maxSeq));
}

export const MAX_THREADS = 16;

/**
 * What q8 / q4 matmuls need beyond the ops' own scratch: a decode step's quantised rows (fewer
 * than MR of them) and a whole-block dequantised panel per thread, and the widest K.
 */
function lowBitNeeds(ops: readonly WOp[]): { scratchBytes: number; maxK: number } {
  let scratchBytes = 0;
  let maxK = 0;
  for (const op of ops) {
    if (op.op !== "linear" || (op.storage !== "q8" && op.storage !== "q4")) continue;
    maxK = Math.max(maxK, op.K);
    scratchBytes = Math.max(scratchBytes, (Math.max(MR.simd, MR.relaxed) - 1) * actRowBytes(op.K), 4 * blocksOf(op.K) * BLOCK * NR);
  }
  return { scratchBytes, maxK };
}

/** Plans a graph; throws for graphs this backend cannot run, naming the node. */
export function planWasm(m: ModelInfo, graph: Graph, opts: WasmPlanOptions = {}): WasmPlan {
  const inputs = planInputs(m);
  const context = sectionCap(inputs.context, opts);
  const sourceContext = inputs.source ? sectionCap(inputs.sourceContext, opts) : undefined;
  const rows = Math.max(context, sourceContext ?? 0);

  const built = buildOps(graph, inputs.stepInputs);
  let at = 0;
  const take = (bytes: number): number => {
    const o = at;
    at = align(at + bytes);
    return o;
  };
  take(1024); // address 0 stays unused so a zero pointer is always a bug
  const desc = take(DESC.slots + SLOT_BYTES * built.slots.length);
  const lowBit = lowBitNeeds([...built.encode, ...built.decode]);
  const scratchBytes = align(Math.max(4 * built.scratchFloats, lowBit.scratchBytes) + 256);
  const scratch = take(scratchBytes * MAX_THREADS);

  const weights: WeightPlacement[] = [];
  const weightAddr: Record<string, number> = {};
  const packedAddr: Record<string, number> = {};
  const shapeOf = new Map<string, number[]>();
  for (const n of graph.nodes) if (n.op === "weight") shapeOf.set(n.weight, graph.values[n.out].shape as number[]);
  for (const w of built.rawWeights) {
    const st = built.storage[w];
    const bytes = rawBytes(st ?? "f32", shapeOf.get(w)!);
    // 16 spare bytes: a v128 load of a row's last partial vector stays inside the placement.
    weightAddr[w] = take(bytes + 16);
    weights.push({ name: w, offset: weightAddr[w], bytes, ...(st ? { storage: st } : {}) });
  }
  for (const w of built.packedWeights) {
    const [N, K] = shapeOf.get(w)!;
    const st = built.storage[w];
    const bytes = packedBytes(st ?? "f32", N, K);
    packedAddr[w] = take(bytes);
    weights.push({ name: w, offset: packedAddr[w], bytes, packed: { K, N }, ...(st ? { storage: st } : {}) });
  }

  const tables: TablePlacement[] = [];
  const tableAddr: Record<string, number> = {};
  for (const t of built.tables) {
    let placed: TablePlacement;
    if (t.kind === "sinusoidal") {
      const positions = t.section === "encoder" ? sourceContext ?? context : context;
      placed = { kind: "sinusoidal", positions, dim: t.dim, offset: 0, bytes: 4 * positions * t.dim };
    } else if (t.kind === "rope") {
      // cos then sin, [positions, rotaryDim / 2] each; queries and keys of both sections share it.
      placed = { kind: "rope", positions: rows, rotaryDim: t.dim, base: t.base, ...(t.scaling ? { scaling: t.scaling } : {}), offset: 0, bytes: 8 * rows * (t.dim / 2) };
    } else {
      placed = { kind: "alibi", heads: t.heads, ...(t.windows ? { windows: t.windows } : {}), offset: 0, bytes: 4 * t.heads };
    }
    placed.offset = take(placed.bytes + 16);
    tables.push(placed);
    tableAddr[t.key] = placed.offset;
  }

  // q8 / q4 prefill: the quantised input rows of a matmul, shared by the threads (emit-quant.ts).
  const actq = lowBit.maxK > 0 ? take(4 * rows * lowBit.maxK + 64) : undefined;

  // Keyed by user-chosen input names: no prototype, so `__proto__` is a key like any other.
  const inputOffsets: Record<string, number> = Object.create(null);
  for (const name of built.intInputs) inputOffsets[name] = take(4 * rows + 16);

  // Encode and decode never run at once, so their arenas overlap.
  const arenaBase = at;
  const encode = allocateArena(built.encode, rows, arenaBase, built.width);
  const decode = allocateArena(built.decode, rows, arenaBase, built.width);
  const arenaBytes = align(Math.max(encode.bytes, decode.bytes) + 64);
  take(arenaBytes);

  const bytesOf = (id: number): number => valueBytes(rows, built.width.get(id)!);
  const logitsAddr = decode.addr.get(built.logits);
  if (logitsAddr === undefined) throw new Error(`wasm backend: graph ${graph.model} computes no logits in the decoder`);
  return {
    model: m.name,
    rows,
    context,
    ...(sourceContext !== undefined ? { sourceContext } : {}),
    layout: { desc, scratch, scratchBytes, ...(actq !== undefined ? { actq } : {}), weights, tables, inputs: inputOffsets, arena: { offset: arenaBase, bytes: arenaBytes }, staticBytes: align(at, WASM_PAGE) },
    slots: built.slots.map((s, i) => ({ ...s, desc: desc + DESC.slots + SLOT_BYTES * i })),
    encode: built.encode,
    decode: built.decode,
    addr: { encode: Object.fromEntries(encode.addr), decode: Object.fromEntries(decode.addr) },
    barriers: { encode: barriersAfter(built.encode, encode.addr, bytesOf), decode: barriersAfter(built.decode, decode.addr, bytesOf) },
    weightAddr,
    packedAddr,
    tableAddr,
    logits: { offset: logitsAddr, vocab: m.head.vocab },
    masks: built.masks,
    maxThreads: MAX_THREADS,
    states: planStates(graph, { context, ...(sourceContext !== undefined ? { sourceContext } : {}) }),
  };
}
