// Activation arena: every value an entry point computes gets a [rows, width] f32 buffer, reused
// once the value is dead. Elementwise ops (and matmul epilogues that read a same-shaped
// buffer at the element they write) may take over an input's buffer in place when that input
// dies at the op, which keeps the residual stream in one buffer for the whole network.

import { opReads, opWrites, type WOp } from "./ops.ts";

const ALIGN = 64;

/** Inputs whose buffer the op may overwrite element by element. */
function inPlaceCandidates(op: WOp): number[] {
  switch (op.op) {
    case "add":
      return [op.a, op.b];
    case "activation":
    case "softcap":
    case "add_position":
    case "norm":
      return [op.x];
    case "gated":
      return [op.gate, op.up];
    case "linear":
      // Not when the matmul's A operand is the same buffer: other panels still read it.
      return [op.residual, op.gate?.id].filter((id): id is number => id !== undefined && id !== op.x);
    default:
      return [];
  }
}

export interface ArenaPlan {
  /** Value id → absolute address. */
  addr: Map<number, number>;
  /** High-water mark above `base`. */
  bytes: number;
}

/** Bytes of a value's buffer: [rows, width] f32, aligned, with a spare vector's worth past the end. */
export const valueBytes = (rows: number, width: number): number => Math.ceil((rows * width * 4) / ALIGN) * ALIGN + ALIGN;

export function allocateArena(ops: WOp[], rows: number, base: number, width: ReadonlyMap<number, number>): ArenaPlan {
  const size = (id: number): number => valueBytes(rows, width.get(id)!);
  const lastUse = new Map<number, number>();
  ops.forEach((op, i) => {
    for (const id of opReads(op)) lastUse.set(id, i);
  });
  const offset = new Map<number, number>();
  /** Free intervals [start, end) above base, kept sorted and merged. */
  let free: Array<[number, number]> = [];
  let top = 0;
  const alloc = (bytes: number): number => {
    for (let i = 0; i < free.length; i++) {
      const [s, e] = free[i];
      if (e - s >= bytes) {
        if (e - s === bytes) free.splice(i, 1);
        else free[i] = [s + bytes, e];
        return s;
      }
    }
    // Extend the last free interval if it touches the top, else grow.
    const last = free[free.length - 1];
    if (last && last[1] === top) {
      free.pop();
      top = last[0] + bytes;
      return last[0];
    }
    const s = top;
    top += bytes;
    return s;
  };
  const release = (s: number, bytes: number): void => {
    free.push([s, s + bytes]);
    free.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const iv of free) {
      const prev = merged[merged.length - 1];
      if (prev && prev[1] === iv[0]) prev[1] = iv[1];
      else merged.push([iv[0], iv[1]]);
    }
    free = merged;
  };
  /** Buffer owner: several values share one buffer after in-place ops. */
  const owner = new Map<number, number>();
  const ownerSize = new Map<number, number>();

  ops.forEach((op, i) => {
    for (const id of opReads(op)) {
      if (!offset.has(id)) throw new Error(`wasm arena: op ${i} (${op.op}) reads value %${id} that no earlier op of this entry writes`);
    }
    const out = opWrites(op);
    let taken: number | undefined;
    if (out !== undefined && !offset.has(out)) {
      const cand = inPlaceCandidates(op).find((c) => lastUse.get(c) === i && ownerSize.get(owner.get(c)!)! >= size(out));
      if (cand !== undefined) {
        taken = owner.get(cand)!;
        offset.set(out, offset.get(cand)!);
        owner.set(out, taken);
      } else {
        offset.set(out, alloc(size(out)));
        owner.set(out, out);
        ownerSize.set(out, size(out));
      }
    }
    const seen = new Set<number>();
    for (const id of opReads(op)) {
      const o = owner.get(id)!;
      if (lastUse.get(id) !== i || o === taken || seen.has(o)) continue;
      // A buffer is free only when every value living in it is dead.
      const alive = [...owner].some(([v, ow]) => ow === o && v !== id && (lastUse.get(v) ?? Infinity) > i && v !== out);
      if (alive) continue;
      seen.add(o);
      release(offset.get(o)!, ownerSize.get(o)!);
    }
  });
  const addr = new Map<number, number>();
  for (const [id, off] of offset) addr.set(id, base + off);
  return { addr, bytes: top };
}
