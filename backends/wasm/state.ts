// Run-time state regions: per-sequence KV caches, linear-attention (S, z) states, memory
// K/V of cross-attention and key-mask histories, laid out for a batch and its position caps,
// and the slot records that point the kernels at one chunk of sequences within them.
// A decode state follows the shared state plan (src/ir/state-plan.ts): a sliding-window slot
// is a ring of the plan's rows (position p in row p mod rows; the kernels wrap), and so is a
// mask history whose every reader is such a ring. A forward's region is full-size (rows = seq).

import type { Region, WasmRuntime } from "./runtime.ts";
import { align, type WasmPlan } from "./plan.ts";

export interface StateLayout {
  batch: number;
  /** Positions per sequence: decoder slots/masks, encoder (and cross) slots/masks. */
  decCap: number;
  encCap: number;
  bytes: number;
  slots: Array<{ k: number; v: number; kPerSeq: number; vPerSeq: number; stride: number }>;
  masks: Map<string, { offset: number; stride: number }>;
  /** Linear-attention states to zero when a sequence starts. */
  zero: Array<{ offset: number; bytes: number }>;
}

/** `decode`: lay out a decode state by the plan's rings; otherwise every slot holds decCap / encCap rows. */
export function stateLayout(plan: WasmPlan, batch: number, decCap: number, encCap: number, decode = false): StateLayout {
  const states = decode ? plan.states : undefined;
  const ringRows = (p: { kind: string; rows?: number } | undefined): number | undefined => (p?.kind === "ring" ? p.rows : undefined);
  let at = 0;
  const take = (bytes: number) => {
    const o = at;
    at = align(at + bytes);
    return o;
  };
  const zero: StateLayout["zero"] = [];
  const slots = plan.slots.map((s) => {
    const kvDim = s.kvHeads * s.headDim;
    if (s.kind === "recurrent") {
      const kPerSeq = 4 * s.floats!;
      const k = take(batch * kPerSeq);
      zero.push({ offset: k, bytes: batch * kPerSeq });
      return { k, v: k, kPerSeq, vPerSeq: 0, stride: 0 };
    }
    if (s.kind === "linear") {
      const kPerSeq = 4 * s.kvHeads * s.headDim * s.headDim;
      const vPerSeq = 4 * kvDim;
      const k = take(batch * kPerSeq);
      const v = take(batch * vPerSeq);
      zero.push({ offset: k, bytes: batch * kPerSeq }, { offset: v, bytes: batch * vPerSeq });
      return { k, v, kPerSeq, vPerSeq, stride: 0 };
    }
    const cap = s.keys === "encoder" ? encCap : (s.kind === "kv" ? ringRows(states?.caches[s.cache]) : undefined) ?? decCap;
    const perSeq = 4 * cap * kvDim;
    // 16 spare bytes: a v128 load of the last row's last vector stays inside.
    return { k: take(batch * perSeq + 16), v: take(batch * perSeq + 16), kPerSeq: perSeq, vPerSeq: perSeq, stride: cap };
  });
  const masks = new Map<string, { offset: number; stride: number }>();
  for (const m of plan.masks) {
    const stride = m.section === "encoder" ? encCap : ringRows(states?.masks[m.name]) ?? decCap;
    masks.set(m.name, { offset: take(4 * batch * stride + 16), stride });
  }
  return { batch, decCap, encCap, bytes: Math.max(at, 64), slots, masks, zero };
}

/** A state region: its layout placed in memory. */
export class StateRegion {
  constructor(
    readonly rt: WasmRuntime,
    readonly layout: StateLayout,
    readonly region: Region,
  ) {}

  static allocate(rt: WasmRuntime, layout: StateLayout, what: string): StateRegion {
    return new StateRegion(rt, layout, rt.alloc(layout.bytes, what));
  }

  get base(): number {
    return this.region.offset;
  }

  /** Zeroes the linear-attention states (a fresh sequence has S = 0, z = 0). */
  resetLinear(): void {
    const f = this.rt.f32();
    for (const z of this.layout.zero) f.fill(0, (this.base + z.offset) / 4, (this.base + z.offset + z.bytes) / 4);
  }

  /** Points every slot record at sequences [b0, …) of this state. */
  bind(b0: number): void {
    const plan = this.rt.plan;
    plan.slots.forEach((s, i) => {
      const l = this.layout.slots[i];
      const mask = s.mask === undefined ? undefined : this.layout.masks.get(s.mask);
      this.rt.setSlot(i, {
        k: this.base + l.k + b0 * l.kPerSeq,
        v: this.base + l.v + b0 * l.vPerSeq,
        stride: l.stride,
        mask: mask === undefined ? 0 : this.base + mask.offset + 4 * b0 * mask.stride,
        maskStride: mask?.stride ?? 0,
      });
    });
  }

  /**
   * Writes mask columns [from, from + cols) of sequences [b0, b0 + count) from a [count, cols]
   * 0/1 array, as the i32 0 / -1 the kernels combine with lane masks. Column p goes to entry
   * p mod stride: a ring history wraps, a full one (stride past every position) does not.
   */
  writeMask(name: string, data: Uint8Array, b0: number, count: number, from: number, cols: number): void {
    const m = this.layout.masks.get(name);
    if (!m) return;
    const i32 = this.rt.i32();
    for (let b = 0; b < count; b++) {
      const row = (this.base + m.offset) / 4 + (b0 + b) * m.stride;
      for (let c = 0; c < cols; c++) i32[row + ((from + c) % m.stride)] = data[b * cols + c] ? -1 : 0;
    }
  }

  release(): void {
    this.rt.release(this.region);
  }
}
