// Which ops of an entry point end at a barrier. Every thread runs every op on its share, so
// an op may start while the other threads are still in the previous one unless a barrier
// sits between them. A barrier costs a meeting of the threads (and a wake-up when one went to
// sleep): on a decode step of a 1B-class model that is tens of barriers per token for ops of
// ~50 µs each. Ops that touch disjoint memory need none between them — the Q, K and V
// projections of a layer read the same normed rows and write three buffers — so a barrier
// goes only where the op after it conflicts (read–write, write–read or write–write) with an
// op since the last one. Barriers inside a kernel (the attention's after its K/V append, the
// q8 / q4 prefill's after quantising its input rows) need no care: every thread reaches the
// same barriers in the same program order, so an op's internal barrier only narrows what can
// run at once, and treating whole ops as concurrent stays conservative.
//
// q8 / q4 matmuls touch shared memory only on their prefill path (rows ≥ the register tile:
// the input rows quantised once into a region every thread reads); a decode step quantises into
// each thread's own scratch. So the schedule is planned twice, with and without that region,
// and a barrier where the two differ tests the call's rows.

import { opReads, opWrites, type WOp } from "./ops.ts";

/** What an op touches: byte ranges of arena values, and named state outside the arena. */
interface Access {
  reads: Array<[number, number]>;
  writes: Array<[number, number]>;
  /** Shared state an op writes (a slot's caches, the q8 / q4 activation region): never concurrent. */
  state: string[];
}

/** Shared state (outside the arena) that an op writes or reads while another may write it. */
function stateOf(op: WOp, prefill: boolean): string[] {
  switch (op.op) {
    case "attention":
    case "linear_attention":
    case "ssm_conv":
    case "ssm_scan":
    case "persist":
      return [`slot ${op.slot}`];
    case "linear":
      return prefill && (op.storage === "q8" || op.storage === "q4") ? ["actq"] : [];
    case "embed":
    case "add_position":
    case "add":
    case "norm":
    case "activation":
    case "gated":
    case "softcap":
      return [];
  }
}

const overlaps = (a: Array<[number, number]>, b: Array<[number, number]>): boolean =>
  a.some(([s, e]) => b.some(([s2, e2]) => s < e2 && s2 < e));

function conflicts(a: Access, b: Access): boolean {
  return overlaps(a.writes, b.reads) || overlaps(a.reads, b.writes) || overlaps(a.writes, b.writes) || a.state.some((s) => b.state.includes(s));
}

/**
 * Where a barrier follows op i: "always", "never", or only on calls of at least `tileRows`
 * rows ("prefill") or fewer ("step"). A barrier goes where the next op conflicts with one since
 * the last barrier, and always after the last op (the caller returns when every thread is done).
 * `addr` and `bytes` give each value's arena range.
 */
export type BarrierAt = "always" | "never" | "prefill" | "step";

export function barriersAfter(ops: readonly WOp[], addr: ReadonlyMap<number, number>, bytes: (id: number) => number): BarrierAt[] {
  const range = (id: number): [number, number] => {
    const at = addr.get(id);
    if (at === undefined) throw new Error(`wasm barriers: value %${id} has no arena address`);
    return [at, at + bytes(id)];
  };
  const schedule = (prefill: boolean): boolean[] => {
    const access = (op: WOp): Access => {
      const out = opWrites(op);
      return { reads: opReads(op).map(range), writes: out === undefined ? [] : [range(out)], state: stateOf(op, prefill) };
    };
    const after = ops.map(() => true);
    let since: Access[] = [];
    ops.forEach((op, i) => {
      const a = access(op);
      if (i > 0 && !since.some((s) => conflicts(s, a))) after[i - 1] = false;
      else since = [];
      since.push(a);
    });
    return after;
  };
  const prefill = schedule(true);
  const step = schedule(false);
  return prefill.map((p, i) => (p && step[i] ? "always" : p ? "prefill" : step[i] ? "step" : "never"));
}
