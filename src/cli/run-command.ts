import { performance } from "node:perf_hooks";
import { createModel, type BackendName } from "../runtime/backends.ts";
import { bindWeights } from "../runtime/bind-weights.ts";
import { applyNameMap, type MapName } from "../runtime/name-maps.ts";
import { parseSafetensors } from "../runtime/safetensors.ts";
import { tokenizerFor } from "../runtime/tokenizer.ts";
import { readWeights } from "../runtime/weights-source.ts";
import { CliError, EXIT_OK, useColor } from "./io.ts";
import { loadModel, parsePositiveInt } from "./load-model.ts";
import { progressBar } from "./progress.ts";
import { cachedWasm } from "./compile-cache.ts";

export interface RunOptions {
  weights: string;
  target: BackendName;
  prompt?: string;
  tokens?: string;
  maxTokens: string;
  temperature?: string;
  topK?: string;
  seed?: string;
  map?: MapName;
  threads?: string;
  model?: string;
  color?: string;
}

/** `specformer run`: check, load (with a progress bar on a TTY), generate, stream, report tokens/s. */
export async function runRun(file: string, o: RunOptions): Promise<number> {
  if ((o.prompt === undefined) === (o.tokens === undefined)) throw new CliError("give exactly one of --prompt TEXT or --tokens 1,2,3");
  const m = loadModel(file, { ...(o.model !== undefined ? { model: o.model } : {}), color: useColor(o.color) });
  const maxTokens = parsePositiveInt(o.maxTokens, "--max-tokens")!;
  const temperature = o.temperature === undefined ? 0 : Number(o.temperature);
  if (!Number.isFinite(temperature) || temperature < 0) throw new CliError(`--temperature must be a number ≥ 0, got \`${o.temperature}\``);
  const topK = parsePositiveInt(o.topK, "--top-k");
  const seed = parsePositiveInt(o.seed, "--seed", 0);

  // Token ids need no tokenizer; text does, and a model may name one we do not ship.
  let prompt: Int32Array;
  let tok: ReturnType<typeof tokenizerFor> | undefined;
  if (o.tokens !== undefined) {
    const parts = o.tokens.split(",").map((s) => s.trim());
    if (parts.some((p) => !/^\d+$/.test(p))) throw new CliError(`--tokens takes comma-separated token ids, got \`${o.tokens}\``);
    prompt = Int32Array.from(parts.map(Number));
  } else {
    try {
      tok = tokenizerFor(m);
    } catch (e) {
      throw new CliError((e as Error).message, 1);
    }
    prompt = tok.encodePrompt(o.prompt!);
  }

  let compiledNote = "";
  const bar = process.stderr.isTTY ? progressBar("loading weights") : undefined;
  const t0 = performance.now();
  const bytes = await readWeights(o.weights, (p) => bar?.update(p.loaded, p.total));
  const weights = bindWeights(m, parseSafetensors(bytes), o.map ? { map: (f, mi) => applyNameMap(o.map!, f, mi) } : {});
  let model;
  if (o.target === "wasm") {
    const { inferenceGraph } = await import("../ir/lower.ts");
    const { createWasmModel } = await import("../../backends/wasm/model.ts");
    const graph = inferenceGraph(m);
    const threads = parsePositiveInt(o.threads, "--threads") ?? 1;
    const { compiled, hit } = await cachedWasm(m, async () => (await import("../../backends/wasm/compile.ts")).compileWasm(m, graph, { threads: threads > 1 }), threads > 1);
    compiledNote = hit ? "compiled: cached" : "compiled";
    model = await createWasmModel(m, graph, weights, { compiled, threads });
  } else model = await createModel(o.target, m, weights);
  bar?.done();
  const loadMs = performance.now() - t0;

  const decoder = tok?.decoder();
  if (decoder) process.stdout.write(o.prompt!);
  let n = 0;
  let first = 0;
  const start = performance.now();
  try {
    for await (const id of model.generate(prompt, { maxTokens, temperature, ...(topK ? { topK } : {}), ...(seed !== undefined ? { seed } : {}), ...(tok ? { stop: [...tok.stop] } : {}) })) {
      if (n === 0) first = performance.now() - start;
      n++;
      process.stdout.write(decoder ? decoder.push(id) : `${n > 1 ? "," : ""}${id}`);
    }
    if (decoder) process.stdout.write(decoder.flush());
  } finally {
    model.dispose();
  }
  const secs = (performance.now() - start) / 1000;
  process.stdout.write("\n");
  process.stderr.write(
    `${n} tokens in ${secs.toFixed(2)} s: ${(n / Math.max(secs, 1e-9)).toFixed(1)} tokens/s (first token ${first.toFixed(0)} ms; load ${loadMs.toFixed(0)} ms${compiledNote ? `, ${compiledNote}` : ""}; ${o.target})\n`,
  );
  return EXIT_OK;
}
