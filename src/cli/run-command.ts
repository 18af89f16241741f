import { performance } from "node:perf_hooks";
import type { Target as BackendName } from "../../backends/registry.ts";
import { encoderSection, outputSection, type ModelInfo } from "../model/model.ts";
import type { GenerateOptions } from "../runtime/model-api.ts";
import { type MapName } from "../runtime/name-maps.ts";
import { tokenizerFor } from "../runtime/tokenizer.ts";
import { CliError, EXIT_ERRORS, EXIT_OK, stderrIsTTY, useColor } from "./io.ts";
import { loadModel, loadWeights, parsePositiveInt, parseTokenIds } from "./load-model.ts";
import { progressBar } from "./progress.ts";
import { openModel } from "./compile-cache.ts";

export interface RunOptions {
  weights: string;
  target: BackendName;
  prompt?: string;
  tokens?: string;
  srcPrompt?: string;
  srcTokens?: string;
  maxTokens: string;
  temperature?: string;
  topK?: string;
  seed?: string;
  map?: MapName;
  threads?: string;
  model?: string;
  color?: string;
  allowNonfinite?: boolean;
  verbose?: boolean;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Why `run` cannot drive this model token by token, or undefined when it can. */
function cannotGenerate(m: ModelInfo): string | undefined {
  for (const step of outputSection(m).steps) {
    if (step.op !== "stack") continue;
    for (const s of step.stack.sublayers) {
      if (s.kind === "attention" && s.source === "self" && !s.causal) {
        const what = m.sections.length === 1 ? "an encoder-only model" : "its decoder";
        return `model ${m.name} cannot generate: its self-attention is bidirectional (${what}; add \`mask = causal\` to generate), so \`run\` has no next token to predict; use \`specformer forward\` for its logits`;
      }
    }
  }
  return undefined;
}

/** The embedding vocabulary of a section's token input. */
function sectionVocab(m: ModelInfo, role: "encoder" | "output"): number | undefined {
  const s = role === "encoder" ? encoderSection(m) : outputSection(m);
  for (const step of s?.steps ?? []) if (step.op === "embed" && step.input === s!.input) return step.vocab;
  return role === "output" ? m.head.vocab : undefined;
}

/** `specformer run`: check, load (with a progress bar on a TTY), generate, stream, report tokens/s. */
export async function runRun(file: string, o: RunOptions): Promise<number> {
  if ((o.prompt === undefined) === (o.tokens === undefined)) throw new CliError("give exactly one of --prompt TEXT or --tokens 1,2,3");
  if (o.srcPrompt !== undefined && o.srcTokens !== undefined) throw new CliError("give at most one of --src-prompt TEXT or --src-tokens 1,2,3");
  const m = loadModel(file, { ...(o.model !== undefined ? { model: o.model } : {}), color: useColor(o.color) });
  const maxTokens = parsePositiveInt(o.maxTokens, "--max-tokens")!;
  const temperature = o.temperature === undefined ? 0 : Number(o.temperature);
  if (o.temperature?.trim() === "" || !Number.isFinite(temperature) || temperature < 0) throw new CliError(`--temperature must be a number ≥ 0, got \`${o.temperature}\``);
  const topK = parsePositiveInt(o.topK, "--top-k");
  const seed = parsePositiveInt(o.seed, "--seed", 0);
  if (seed !== undefined && seed >= 2 ** 32) throw new CliError(`--seed must be below 2^32, got \`${o.seed}\``);
  const threads = parsePositiveInt(o.threads, "--threads");
  if (threads !== undefined && o.target !== "wasm") throw new CliError(`--threads is for --target wasm (got --target ${o.target})`);
  // The Wasm runtime splits work over at most 16 threads (backends/wasm/plan.ts MAX_THREADS).
  if (threads !== undefined && threads > 16) throw new CliError(`--threads is at most 16, got ${threads}`);

  const why = cannotGenerate(m);
  if (why) throw new CliError(why, EXIT_ERRORS);
  const enc = encoderSection(m);
  const srcGiven = o.srcPrompt !== undefined || o.srcTokens !== undefined;
  if (enc && !srcGiven) {
    throw new CliError(`model ${m.name} is an encoder–decoder: give the encoder's input with --src-tokens 1,2,3 or --src-prompt TEXT`);
  }
  if (!enc && srcGiven) throw new CliError(`model ${m.name} has no encoder: --src-tokens / --src-prompt are for encoder–decoder models`);

  // Token ids need no tokenizer; text does, and a model may name one we do not ship.
  let tok: ReturnType<typeof tokenizerFor> | undefined;
  const tokenizer = () => {
    try {
      return (tok ??= tokenizerFor(m));
    } catch (e) {
      throw new CliError((e as Error).message, EXIT_ERRORS);
    }
  };
  const prompt = o.tokens !== undefined ? parseTokenIds(o.tokens, "--tokens", sectionVocab(m, "output")) : tokenizer().encodePrompt(o.prompt!);
  let src: GenerateOptions["src"];
  if (o.srcTokens !== undefined) {
    const ids = parseTokenIds(o.srcTokens, "--src-tokens", sectionVocab(m, "encoder"));
    src = { tokens: ids, seq: ids.length };
  } else if (o.srcPrompt !== undefined) {
    const ids = tokenizer().encodePrompt(o.srcPrompt);
    src = { tokens: ids, seq: ids.length };
  }

  const bar = stderrIsTTY() ? progressBar("loading weights") : undefined;
  const t0 = performance.now();
  const weights = await loadWeights(m, o.weights, { ...(o.map ? { map: o.map } : {}), ...(o.allowNonfinite ? { allowNonFinite: true } : {}), onProgress: (done, total) => bar?.update(done, total) });
  let opened;
  try {
    opened = await openModel(o.target, m, weights, threads !== undefined ? { threads } : {});
  } finally {
    bar?.done();
  }
  const { model, compiled } = opened;
  const loadMs = performance.now() - t0;

  // Stop tokens are handled here, not by generate(), so that the reason can be told apart from
  // the context's end.
  const stop = new Set(tok && o.tokens === undefined ? tok.stop : []);
  const decoder = o.tokens === undefined ? tok?.decoder() : undefined;
  let last = "";
  const out = (s: string) => {
    if (s === "") return;
    process.stdout.write(s);
    last = s;
  };
  if (decoder) out(o.prompt!);
  let n = 0;
  let first = 0;
  let reason: string | undefined;
  const start = performance.now();
  try {
    const opts: GenerateOptions = { maxTokens, temperature, ...(topK ? { topK } : {}), ...(seed !== undefined ? { seed } : {}), ...(src ? { src } : {}) };
    for await (const id of model.generate(prompt, opts)) {
      if (stop.has(id)) {
        reason = "end of text";
        break;
      }
      if (n === 0) first = performance.now() - start;
      n++;
      out(decoder ? decoder.push(id) : `${n > 1 ? "," : ""}${id}`);
    }
    if (decoder) out(decoder.flush());
  } finally {
    model.dispose();
  }
  const secs = (performance.now() - start) / 1000;
  if (reason === undefined) {
    const context = model.config.context;
    if (n >= maxTokens) reason = `--max-tokens ${maxTokens} reached`;
    else if (context !== undefined) reason = `context ${context} reached`;
    else reason = "the model ended generation";
  }
  // The statistics go to stderr on a line of their own, after the text's last line.
  if (!last.endsWith("\n")) process.stdout.write("\n");
  process.stderr.write(
    `stopped: ${reason}\n` +
      `${plural(n, "token")} in ${secs.toFixed(2)} s: ${(n / Math.max(secs, 1e-9)).toFixed(1)} tokens/s (first token ${first.toFixed(0)} ms; load ${loadMs.toFixed(0)} ms${compiled ? `, compiled${compiled === "cached" ? ": cached" : ""}` : ""}; ${o.target})\n`,
  );
  return EXIT_OK;
}
