// `specformer quantize W --spec S --to q4|q8|f16 [--keep NAMES] --out Q.safetensors`: a
// checkpoint's linear weights and embedding tables in a low-bit storage, written as a
// safetensors file whose __metadata__ records the format (src/runtime/weights/file.ts). The
// checkpoint is bound to the spec first (names, shapes, finiteness) and converted tensor by
// tensor; then the bytes by storage dtype are printed.

import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import { inferenceGraph } from "../ir/lower.ts";
import { weightLayout } from "../model/weights-layout.ts";
import type { MapName } from "../runtime/name-maps.ts";
import { renderStorageTable } from "../inspect/storage.ts";
import { bytesByDtype, type StorageDType, type WeightStore } from "../runtime/weights/format.ts";
import { CliError, EXIT_OK, ioProblem, useColor, write } from "./io.ts";
import { loadModel } from "./load-model.ts";
import { openGgufWeights } from "./load-weights.ts";

export interface QuantizeOptions {
  spec: string;
  to: StorageDType;
  out: string;
  keep?: string;
  map?: MapName;
  model?: string;
  color?: string;
}

const n = (x: number) => x.toLocaleString("en-US");

/** The table `quantize` prints: tensors, parameters and bytes per storage dtype, and the total. */
export const bytesTable = (store: WeightStore): string => renderStorageTable(bytesByDtype(store));

export async function runQuantize(weights: string, o: QuantizeOptions): Promise<number> {
  const m = loadModel(o.spec, { ...(o.model !== undefined ? { model: o.model } : {}), color: useColor(o.color) });
  const keep = o.keep === undefined ? undefined : o.keep.split(",").map((s) => s.trim()).filter(Boolean);
  if (keep !== undefined && keep.length === 0) throw new CliError("--keep takes comma-separated tensor names (or `*` globs)");
  const [{ readWeights }, { parseSafetensors }, { bindWeightStore }, { applyNameMap }, { encodeStore }] = await Promise.all([
    import("../runtime/weights-source.ts"),
    import("../runtime/safetensors.ts"),
    import("../runtime/bind-weights.ts"),
    import("../runtime/name-maps.ts"),
    import("../runtime/weights/file.ts"),
  ]);
  const gguf = await openGgufWeights(m, weights, { ...(o.map ? { map: o.map } : {}), dtype: o.to });
  let file = gguf?.file;
  if (file === undefined) {
    let bytes: Uint8Array;
    try {
      bytes = await readWeights(weights);
    } catch (e) {
      const msg = (e as Error).message;
      throw new CliError(msg.startsWith("cannot read") ? msg : `cannot read weights ${weights}: ${msg}`);
    }
    file = parseSafetensors(bytes);
  }
  let store: WeightStore;
  try {
    store = bindWeightStore(m, file, inferenceGraph(m), {
      dtype: o.to,
      ...(keep ? { keep } : {}),
      ...(o.map ? { map: (f, mi) => applyNameMap(o.map!, f, mi) } : {}),
    });
  } finally {
    gguf?.close();
  }
  const out = encodeStore(weightLayout(m), store, { "specformer.model": m.name, "specformer.source": basename(weights), generator: "specformer quantize" });
  try {
    writeFileSync(o.out, out);
  } catch (e) {
    throw new CliError(`cannot write ${o.out}: ${ioProblem(e)}`);
  }
  const tables = o.to === "q4" ? "q8" : o.to;
  write(`${m.name}: ${weights} → ${o.out}, ${n(out.length)} bytes (linear weights ${o.to}, embedding tables ${tables}; norms, biases, position tables f32${keep ? `; kept f32: ${keep.join(", ")}` : ""})`);
  write(bytesTable(store));
  return EXIT_OK;
}
