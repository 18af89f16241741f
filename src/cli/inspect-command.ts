import { outputSection, encoderSection } from "../model/model.ts";
import { renderSummaryText, summarize, summaryJson } from "../inspect/summary.ts";
import { inferenceGraph, lowerModel } from "../ir/lower.ts";
import { printGraph } from "../ir/print.ts";
import { verify } from "../ir/verify.ts";
import { checkFile } from "../check/check.ts";
import { hasErrors } from "../diagnostics/diagnostic.ts";
import { renderText } from "../diagnostics/render-text.ts";
import type { ModelInfo } from "../model/model.ts";
import { CliError, EXIT_ERRORS, EXIT_OK, EXIT_USAGE, ioProblem, useColor, write } from "./io.ts";
import { parsePositiveInt } from "./load-model.ts";
import { readFileSync } from "node:fs";
import { plannedTotals, renderStorageTable, totalsOf, type StorageTotals } from "../inspect/storage.ts";
import { bindWeightStore } from "../runtime/bind-weights.ts";
import { parseSafetensors } from "../runtime/safetensors.ts";
import { isGgufPath } from "../runtime/gguf/magic.ts";
import { bytesByDtype, type StorageDType } from "../runtime/weights/format.ts";

export interface InspectOptions {
  seq?: string;
  batch?: string;
  model?: string;
  format: "text" | "json";
  color?: string;
  ir?: boolean;
  lowered?: boolean;
  weights?: boolean;
  /** Weight bytes by storage dtype as quantising to this would store them. */
  dtype?: StorageDType;
  /** Weight bytes by storage dtype as this file holds them (with dtype: converted to it). */
  weightsFile?: string;
}

/**
 * `specformer inspect FILE`: FILE is a spec, or a checkpoint — a Hugging Face directory or a GGUF
 * file — whose imported spec is inspected (a GGUF file's weight bytes by dtype as it loads,
 * printed unasked). A GGUF --weights-file is read for its tensors' storage alone.
 */
export async function runInspectCommand(file: string, opts: InspectOptions): Promise<number> {
  const { isCheckpointPath } = await import("../runtime/checkpoint-dir.ts");
  const gguf = isGgufPath(file);
  if (!gguf && !(await isCheckpointPath(file).catch(() => false)) && !(opts.weightsFile !== undefined && isGgufPath(opts.weightsFile))) return runInspect(file, opts);
  const { loadSpecOrCheckpoint } = await import("./load-model.ts");
  const m = (await loadSpecOrCheckpoint(file, { ...(opts.model !== undefined ? { model: opts.model } : {}), color: useColor(opts.color) })).m;
  const weightsFile = opts.weightsFile ?? (gguf ? file : undefined);
  const storage = weightsFile !== undefined && isGgufPath(weightsFile) ? { what: `${weightsFile}${opts.dtype ? ` converted to ${opts.dtype}` : ", as stored"}`, totals: await ggufTotals(m, weightsFile, opts.dtype) } : storageTotals(m, opts);
  return report(m, opts, storage);
}

/** `inspect` of a spec file. */
export function runInspect(file: string, opts: InspectOptions): number {
  const m = healthyModel(file, opts.model, useColor(opts.color));
  return report(m, opts, opts.ir ? undefined : storageTotals(m, opts));
}

function report(m: ModelInfo, opts: InspectOptions, storage: { what: string; totals: StorageTotals } | undefined): number {
  if (opts.ir) {
    // --lowered shows the graph before the inference passes (dropout still in it).
    const g = opts.lowered ? lowerModel(m) : inferenceGraph(m);
    if (opts.lowered) verify(g);
    write(opts.format === "json" ? JSON.stringify(g, null, 2) : printGraph(g, { weights: Boolean(opts.weights) }));
    return EXIT_OK;
  }
  const out = outputSection(m);
  const seq = parsePositiveInt(opts.seq, "--seq") ?? Math.min(out.maxSeq ?? 128, 1 << 20);
  const batch = parsePositiveInt(opts.batch, "--batch") ?? 1;
  if (out.maxSeq !== undefined && seq > out.maxSeq) {
    throw new CliError(`--seq ${seq} exceeds the model's bound: ${out.seqDim} <= ${out.maxSeq}`);
  }
  const enc = encoderSection(m);
  const s = summarize(m, { seq, batch, ...(enc ? { srcSeq: Math.min(seq, enc.maxSeq ?? seq) } : {}) });
  if (opts.format === "json") write(JSON.stringify({ ...summaryJson(s), ...(storage ? { storage: storage.totals } : {}) }, null, 2));
  else write(renderSummaryText(s) + (storage ? `\n\nWeights by storage dtype (${storage.what}):\n${renderStorageTable(storage.totals)}` : ""));
  return EXIT_OK;
}

/** Bytes by dtype for --dtype (planned from the spec) or --weights-file (the tensors as loaded), if asked for. */
function storageTotals(m: ModelInfo, opts: InspectOptions): { what: string; totals: StorageTotals } | undefined {
  if (opts.weightsFile === undefined) return opts.dtype === undefined ? undefined : { what: `quantised to ${opts.dtype}`, totals: plannedTotals(m, opts.dtype) };
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(opts.weightsFile);
  } catch (e) {
    throw new CliError(`cannot read weights ${opts.weightsFile}: ${ioProblem(e)}`);
  }
  const store = bindWeightStore(m, parseSafetensors(bytes), inferenceGraph(m), opts.dtype ? { dtype: opts.dtype } : {});
  return { what: `${opts.weightsFile}${opts.dtype ? ` converted to ${opts.dtype}` : ", as stored"}`, totals: bytesByDtype(store) };
}

/** The storage of each tensor of a GGUF file as it would load (nothing converted), totalled. */
async function ggufTotals(m: ModelInfo, path: string, dtype: StorageDType | undefined): Promise<StorageTotals> {
  const [{ openGguf }, { ggufNatives }] = await Promise.all([import("../runtime/gguf/read-gguf.ts"), import("../runtime/gguf/llama-gguf.ts")]);
  const f = await openGguf(path);
  try {
    return totalsOf(ggufNatives(f, m, inferenceGraph(m), dtype ? { dtype } : {}));
  } finally {
    f.close();
  }
}

/**
 * The model to inspect, when it checks without errors of its own: a broken model elsewhere in
 * the file (or an import it does not need) is noted, not fatal. Otherwise the errors are
 * printed and the exit code is 1; an unreadable file is one line and exit 2.
 */
function healthyModel(file: string, model: string | undefined, color: boolean): ModelInfo {
  const r = checkFile(file, model !== undefined ? { model } : {});
  if (r.unreadable) throw new CliError(r.diagnostics[0].message.replace(/`([^`]*)`/, "$1"), EXIT_USAGE);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.entry) {
    process.stderr.write(renderText(errors, r.sources, { color }));
    throw new CliError(errors.length ? `${file} has errors; fix them first (\`specformer check ${file}\`)` : `${file} declares no complete model`, EXIT_ERRORS);
  }
  if (hasErrors(r.diagnostics)) {
    process.stderr.write(`specformer: note: ${file} has ${errors.length === 1 ? "an error" : `${errors.length} errors`} outside model \`${r.entry.name}\` (\`specformer check ${file}\` lists them)\n`);
  }
  return r.entry;
}
