// Buffer bookkeeping of the compiler: weights (concatenated for fused projections, split by
// rows when one would exceed a binding), and activation slots shared by values whose
// lifetimes do not overlap, so a deep model needs a handful of activation buffers, not one per
// value.

import type { StorageDType } from "../../src/runtime/weights/format.ts";
import { rowWords } from "./lowbit.ts";
import type { CapSym, PlanBuffer, WeightPart, WgslLimits } from "./plan.ts";

export interface WeightChunk {
  buffer: number;
  /** Row range of the (concatenated) matrix this chunk holds. */
  rows: [number, number];
}

export class BufferTable {
  readonly buffers: PlanBuffer[] = [];
  private readonly weightKeys = new Map<string, WeightChunk[]>();
  private readonly free = new Map<CapSym, number[]>();

  constructor(
    private readonly limits: WgslLimits,
    private readonly shapeOf: (weight: string) => number[],
    /** A weight's storage (low-bit ones are row records of u32 words, lowbit.ts). */
    private readonly storageOf: (weight: string) => StorageDType = () => "f32",
  ) {}

  add(b: Omit<PlanBuffer, "id">): number {
    const id = this.buffers.length;
    this.buffers.push({ id, ...b });
    return id;
  }

  /** Largest buffer a binding may cover. */
  get maxBytes(): number {
    return Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
  }

  /** Words of one row of a weight in its storage. */
  private rowWordsOf(name: string): number {
    const s = this.shapeOf(name);
    return rowWords(this.storageOf(name), s.length === 1 ? 1 : s.slice(1).reduce((a, b) => a * b, 1));
  }

  /** Bytes of the named weights concatenated row-wise, in their storage. */
  bytesOf(names: string[]): number {
    return names.reduce((a, n) => a + this.shapeOf(n)[0] * this.rowWordsOf(n) * 4, 0);
  }

  /** Whether the named weights share one storage (only then can they share a buffer). */
  sameStorage(names: string[]): boolean {
    return names.every((n) => this.storageOf(n) === this.storageOf(names[0]));
  }

  /**
   * The named weights as [rows, cols] matrices stacked by rows (one buffer), or — a single
   * weight too big for one binding — as row chunks, each its own buffer. `splittable` is false
   * for tensors a kernel must see whole (norm gains, position tables, biases).
   */
  weight(names: string[], splittable: boolean): WeightChunk[] {
    const key = names.join("|");
    const known = this.weightKeys.get(key);
    if (known) return known;
    const shapes = names.map((n) => this.shapeOf(n));
    const cols = shapes[0].length === 1 ? 1 : shapes[0].slice(1).reduce((a, b) => a * b, 1);
    const rowsOf = (s: number[]) => s[0];
    const total = shapes.reduce((a, s) => a + rowsOf(s), 0);
    const bytes = this.bytesOf(names);
    if (!this.sameStorage(names)) throw new Error(`webgpu: weights ${names.join(" + ")} are stored in different dtypes and cannot share a buffer`);
    const storage = this.storageOf(names[0]);
    const rowW = this.rowWordsOf(names[0]);
    let chunkRows = total;
    if (bytes > this.maxBytes) {
      const what = `weight ${names.join(" + ")} (${formatBytes(bytes)})`;
      const limit = `maxStorageBufferBindingSize ${formatBytes(this.limits.maxStorageBufferBindingSize)}, maxBufferSize ${formatBytes(this.limits.maxBufferSize)}`;
      if (!splittable || names.length > 1) throw new Error(`webgpu: ${what} exceeds the device's binding limit (${limit}) and cannot be split`);
      chunkRows = Math.floor(this.maxBytes / (rowW * 4));
      if (chunkRows >= 64) chunkRows -= chunkRows % 64;
      if (chunkRows < 1) throw new Error(`webgpu: one row of ${what} exceeds the device's binding limit (${limit})`);
    }
    const chunks: WeightChunk[] = [];
    for (let r0 = 0; r0 < total; r0 += chunkRows) {
      const r1 = Math.min(total, r0 + chunkRows);
      const parts: WeightPart[] = [];
      let base = 0;
      names.forEach((name, i) => {
        const rows = rowsOf(shapes[i]);
        const lo = Math.max(r0, base);
        const hi = Math.min(r1, base + rows);
        if (lo < hi) parts.push({ name, rows: [lo - base, hi - base], cols });
        base += rows;
      });
      const label = chunkRows === total ? names.join(" + ") : `${names[0]}[${r0}:${r1}]`;
      const stored = storage === "f32" ? { dtype: "f32" as const } : { dtype: "u32" as const, storage };
      chunks.push({ buffer: this.add({ name: label, kind: "weight", ...stored, elements: (r1 - r0) * rowW, parts }), rows: [r0, r1] });
    }
    this.weightKeys.set(key, chunks);
    return chunks;
  }

  /** One weight buffer, whole. */
  whole(names: string[]): number {
    return this.weight(names, false)[0].buffer;
  }

  /** An activation slot of `width` elements per row of `cap`, reusing a freed one if any. */
  acquire(name: string, cap: CapSym, width: number): number {
    const pool = this.free.get(cap) ?? [];
    // Best fit: the smallest free slot that is wide enough, else the widest (grown to fit).
    let pick = -1;
    for (let i = 0; i < pool.length; i++) {
      const w = this.buffers[pool[i]].elements;
      const best = pick < 0 ? undefined : this.buffers[pool[pick]].elements;
      if (best === undefined || (w >= width && (best < width || w < best)) || (best < width && w > best)) pick = i;
    }
    if (pick < 0) return this.add({ name, kind: "activation", dtype: "f32", elements: width, cap });
    const id = pool.splice(pick, 1)[0];
    const b = this.buffers[id];
    // Named after its widest value: the one a size error should mention.
    if (width > b.elements) b.name = name;
    b.elements = Math.max(b.elements, width);
    return id;
  }

  release(id: number): void {
    const b = this.buffers[id];
    if (b.kind !== "activation" || b.pinned || b.cap === undefined) return;
    const pool = this.free.get(b.cap) ?? [];
    pool.push(id);
    this.free.set(b.cap, pool);
  }
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
