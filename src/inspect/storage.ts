// Weight bytes by storage dtype: what `inspect --dtype` / `inspect --weights-file` and
// `quantize` print. From a plan alone (planStorage over the spec's layout: no weights needed)
// or from a bound store (bytesByDtype: the tensors as they are held).

import { inferenceGraph } from "../ir/lower.ts";
import type { ModelInfo } from "../model/model.ts";
import { weightLayout } from "../model/weights-layout.ts";
import { STORAGE_DTYPES, bytesFor, type DTypeTotals, type StorageDType } from "../runtime/weights/format.ts";
import { planStorage } from "../runtime/weights/store.ts";

export type StorageTotals = Record<StorageDType, DTypeTotals>;

const emptyTotals = (): StorageTotals => Object.fromEntries(STORAGE_DTYPES.map((d) => [d, { tensors: 0, params: 0, bytes: 0 }])) as StorageTotals;

/** The totals of tensors of these shapes held in these storages. */
export function totalsOf(tensors: Iterable<{ storage: StorageDType; shape: readonly number[] }>): StorageTotals {
  const out = emptyTotals();
  for (const { storage, shape } of tensors) {
    const row = out[storage];
    row.tensors++;
    row.params += shape.reduce((a, b) => a * b, 1);
    row.bytes += bytesFor(storage, shape);
  }
  return out;
}

/** The totals of the model's weights stored as planStorage decides for `to` (f32: all f32). */
export function plannedTotals(m: ModelInfo, to: StorageDType): StorageTotals {
  const plan = to === "f32" ? undefined : planStorage(inferenceGraph(m), to);
  return totalsOf(weightLayout(m).map((t) => ({ storage: plan?.get(t.name) ?? "f32", shape: t.shape })));
}

const n = (x: number) => x.toLocaleString("en-US");

/** Tensors, parameters and bytes per storage dtype, the total, and the ratio to f32. */
export function renderStorageTable(totals: StorageTotals): string {
  const rows = STORAGE_DTYPES.filter((d) => totals[d].tensors > 0).map((d) => [d, n(totals[d].tensors), n(totals[d].params), n(totals[d].bytes)]);
  const all = STORAGE_DTYPES.reduce((a, d) => ({ tensors: a.tensors + totals[d].tensors, params: a.params + totals[d].params, bytes: a.bytes + totals[d].bytes }), { tensors: 0, params: 0, bytes: 0 });
  rows.push(["total", n(all.tensors), n(all.params), n(all.bytes)]);
  const head = ["dtype", "tensors", "params", "bytes"];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join("  ");
  const f32 = 4 * all.params;
  return [line(head), ...rows.map(line), `(${n(f32)} bytes in f32: ${(f32 / Math.max(1, all.bytes)).toFixed(2)}× smaller)`].join("\n");
}
