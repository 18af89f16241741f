import { outputSection, encoderSection } from "../model/model.ts";
import { renderSummaryText, summarize, summaryJson } from "../inspect/summary.ts";
import { inferenceGraph, lowerModel } from "../ir/lower.ts";
import { printGraph } from "../ir/print.ts";
import { verify } from "../ir/verify.ts";
import { CliError, EXIT_OK, useColor, write } from "./io.ts";
import { loadModel, parsePositiveInt } from "./load-model.ts";

export interface InspectOptions {
  seq?: string;
  batch?: string;
  model?: string;
  format: "text" | "json";
  color?: string;
  ir?: boolean;
  lowered?: boolean;
  weights?: boolean;
}

export function runInspect(file: string, opts: InspectOptions): number {
  const m = loadModel(file, { ...(opts.model !== undefined ? { model: opts.model } : {}), color: useColor(opts.color) });
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
  write(opts.format === "json" ? JSON.stringify(summaryJson(s), null, 2) : renderSummaryText(s));
  return EXIT_OK;
}
