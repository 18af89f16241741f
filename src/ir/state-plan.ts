// State planning, once for every backend: what a decode state holds for each attention cache
// of the program, and how many rows each one needs. Backends size their caches, mask
// histories and step chunks from this plan and never decide a size themselves.
//
// The policy:
//   - A causal sliding-window self-attention of window W (query i sees keys i - W < j <= i)
//     is a ring buffer. Between steps it must keep the W - 1 newest rows (`history`), the
//     only ones a later query can see. A step appends its new rows before any query of it
//     runs, so during a step of n rows the ring holds W - 1 + n live rows. Every executor
//     therefore splits a longer step into chunks of at most `chunk` rows, chunk = the
//     smallest window of the program, and each ring holds `rows` = W - 1 + chunk rows
//     (2W - 1 for a program with one window). Position p lives in slot p mod rows. The
//     keys one query sees span at most W <= rows consecutive positions, so they wrap at
//     most once: two contiguous runs of slots, [lo mod rows, rows) and [0, …).
//     Where the ring would not be smaller than the context (W - 1 + chunk >= context) the
//     cache is planned as a full one: positions then never wrap, and no chunking is needed.
//   - Any other self-attention cache of the decoder is "full": up to the context, `rows`
//     (absent when the context is unbounded; a backend then grows it on demand or caps it).
//   - Linear-attention states (S, z) are fixed-size: `floats` per sequence; so are a
//     state-space layer's conv window ((width − 1) × channels) and scan state (E × N).
//   - Cross-attention K/V ("cross") and encoder self-attention ("encoder") are sized by the
//     source length of the state (its sourceContext at most).
//   - A padding mask fed on every step keeps a history of the key positions its readers may
//     still see: a ring of the same `rows` when every step reader of it is a ring of those
//     rows, else a full history (up to the context).
// A forward never uses the plan: it runs the whole sequence at once on fresh, full-size state.
//
// The plan is plain data (records, no Maps) so backends can ship it inside their artifacts.

import type { Graph, Node } from "./ir.ts";
import type { SparsePattern } from "../model/model.ts";

export type CachePlan =
  | {
      kind: "ring";
      cache: string;
      window: number;
      /** Rows that must survive between steps: window - 1. */
      history: number;
      /** Rows per sequence: history + chunk. */
      rows: number;
      /** Floats per row (kvHeads × headDim), for K and for V. */
      width: number;
    }
  | { kind: "full"; cache: string; rows?: number; width: number }
  | { kind: "linear"; cache: string; floats: number }
  /** A state-space layer's fixed-size state per sequence: the conv window or the scan's h. */
  | { kind: "recurrent"; cache: string; floats: number }
  | { kind: "cross" | "encoder"; cache: string; rows?: number; width: number };

export type MaskPlan = { input: string; kind: "ring"; rows: number } | { input: string; kind: "full"; rows?: number };

export interface StatePlan {
  /** By attention node `cache` name. */
  caches: Record<string, CachePlan>;
  /** By padding-mask input name: the step-fed masks self-attention reads in the decoder. */
  masks: Record<string, MaskPlan>;
  /** Most new rows one step call may append: executors split longer steps. Absent: no limit. */
  chunk?: number;
}

export interface StateLimits {
  /** Decoder positions cap (the spec's bound, or a backend's lower cap); absent: unbounded. */
  context?: number;
  sourceContext?: number;
}

/** The attributes of an attention op (IR node or a backend's lowered op) the policy reads. */
export interface AttentionAttrs {
  op: string;
  source: "self" | "memory";
  causal: boolean;
  window?: number;
  sparse?: SparsePattern;
}

/**
 * The window W of an attention whose cache may be a ring (causal, self, a window, no sparse
 * pattern), else undefined. Kernels that may read a ring emit ring addressing exactly for these;
 * whether a given state's cache is a ring (and of how many rows) is the plan's `caches` entry.
 */
export function slidingWindow(n: AttentionAttrs): number | undefined {
  if (n.op !== "attention" || n.source !== "self" || !n.causal || n.window === undefined || n.sparse !== undefined) return undefined;
  return n.window;
}

/** Rows a sliding-window cache of window `w` keeps between steps: what the next query can see. */
export const windowHistory = (w: number): number => Math.max(0, w - 1);

/** The ring slot of absolute position `pos` in a ring of `rows` rows. */
export const ringSlot = (pos: number, rows: number): number => pos % rows;

/** [from, rows] pieces of a step of `n` rows, each at most `chunk` rows (one piece without a chunk). */
export function stepChunks(n: number, chunk: number | undefined): Array<[number, number]> {
  if (chunk === undefined || n <= chunk) return [[0, n]];
  const out: Array<[number, number]> = [];
  for (let from = 0; from < n; from += chunk) out.push([from, Math.min(chunk, n - from)]);
  return out;
}

type AttnNode = Extract<Node, { op: "attention" | "linear_attention" }>;

export function planStates(g: Graph, limits: StateLimits = {}): StatePlan {
  const attn = g.nodes.filter((n): n is AttnNode => n.op === "attention" || n.op === "linear_attention");
  const decoderSelf = (n: AttnNode) => n.source === "self" && n.phase === "decoder";
  // The chunk is the smallest window among the candidate rings.
  const windows = attn.filter(decoderSelf).map(slidingWindow).filter((w): w is number => w !== undefined);
  const candidate = windows.length > 0 ? Math.min(...windows) : undefined;
  const caches: Record<string, CachePlan> = {};
  const opt = (rows: number | undefined) => (rows !== undefined ? { rows } : {});
  for (const n of attn) {
    const width = n.kvHeads * n.headDim;
    if (n.source === "memory") {
      caches[n.cache] = { kind: "cross", cache: n.cache, width, ...opt(limits.sourceContext) };
    } else if (n.phase === "encoder") {
      caches[n.cache] = { kind: "encoder", cache: n.cache, width, ...opt(limits.sourceContext) };
    } else if (n.op === "linear_attention") {
      caches[n.cache] = { kind: "linear", cache: n.cache, floats: n.kvHeads * n.headDim * (n.headDim + 1) };
    } else {
      const w = slidingWindow(n);
      const history = w === undefined ? 0 : windowHistory(w);
      const rows = history + (candidate ?? 0);
      if (w !== undefined && (limits.context === undefined || rows < limits.context)) {
        caches[n.cache] = { kind: "ring", cache: n.cache, window: w, history, rows, width };
      } else {
        caches[n.cache] = { kind: "full", cache: n.cache, width, ...opt(limits.context) };
      }
    }
  }
  for (const n of g.nodes) {
    if (n.op === "ssm_conv") caches[n.cache] = { kind: "recurrent", cache: n.cache, floats: (n.width - 1) * n.channels };
    else if (n.op === "ssm_scan") caches[n.cache] = { kind: "recurrent", cache: n.cache, floats: (g.values[n.d].shape[0] as number) * n.stateSize };
  }
  const rings = Object.values(caches).filter((c) => c.kind === "ring");
  const chunk = rings.length > 0 ? candidate : undefined;

  // Mask histories: by the step readers of each padding input.
  const inputOf = new Map<number, string>();
  for (const n of g.nodes) if (n.op === "input") inputOf.set(n.out, n.input);
  const readers = new Map<string, CachePlan[]>();
  for (const n of attn) {
    if (!decoderSelf(n) || n.padding === undefined) continue;
    const name = inputOf.get(n.padding);
    if (name === undefined) continue;
    readers.set(name, [...(readers.get(name) ?? []), caches[n.cache]]);
  }
  const masks: Record<string, MaskPlan> = {};
  for (const [input, rs] of readers) {
    const first = rs[0];
    const ring = first.kind === "ring" && rs.every((r) => r.kind === "ring" && r.rows === first.rows);
    masks[input] = ring ? { input, kind: "ring", rows: (first as { rows: number }).rows } : { input, kind: "full", ...opt(limits.context) };
  }
  return { caches, masks, ...(chunk !== undefined ? { chunk } : {}) };
}

/** Rows per sequence of a decoder cache or mask history in a decode state (`context` where the plan leaves it open). */
export function planRows(p: { kind: string; rows?: number } | undefined, context: number): number {
  return p?.kind === "ring" ? p.rows! : context;
}
