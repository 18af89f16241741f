import { performance } from "node:perf_hooks";
import type { Target as BackendName } from "../../backends/registry.ts";
import { encoderSection, outputSection, type ModelInfo } from "../model/model.ts";
import { isGgufPath } from "../runtime/gguf/magic.ts";
import type { GenerateOptions } from "../runtime/model-api.ts";
import { type MapName } from "../runtime/name-maps.ts";
import { tokenizerFor } from "../runtime/tokenizer.ts";
import { CliError, EXIT_ERRORS, EXIT_OK, stderrIsTTY, useColor } from "./io.ts";
import { checkpointTokenizer, loadSpecOrCheckpoint, parsePositiveInt, parseTokenIds, tokenizerDir, withCheckpointWeights } from "./load-model.ts";
import { isLowBitPath, loadWeights, loadWeightStore } from "./load-weights.ts";
import { chatPromptIds } from "./chat-prompt.ts";
import type { TextTokenizer } from "../runtime/tokenizers/types.ts";
import { progressBar } from "./progress.ts";
import { openModel } from "./compile-cache.ts";
import type { StorageDType } from "../runtime/weights/format.ts";

export interface RunOptions {
  weights: string;
  target: BackendName;
  prompt?: string;
  tokens?: string;
  /** A user message, rendered through the checkpoint's chat template. */
  chat?: string;
  /** With --chat: a system message before it. */
  system?: string;
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
  /** Weight storage at load: f16 / q8 / q4 quantise, f32 dequantises; default as the file stores them. */
  dtype?: StorageDType;
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
  if ([o.prompt, o.tokens, o.chat].filter((x) => x !== undefined).length !== 1) throw new CliError("give exactly one of --prompt TEXT, --chat TEXT or --tokens 1,2,3");
  if (o.system !== undefined && o.chat === undefined) throw new CliError("--system goes with --chat (a system message before the user's)");
  if (o.srcPrompt !== undefined && o.srcTokens !== undefined) throw new CliError("give at most one of --src-prompt TEXT or --src-tokens 1,2,3");
  // FILE may be a Hugging Face checkpoint directory: its config.json imported, its shards the weights.
  const { m, checkpoint } = await loadSpecOrCheckpoint(file, { ...(o.model !== undefined ? { model: o.model } : {}), color: useColor(o.color) });
  o = withCheckpointWeights(o, checkpoint);
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

  // Token ids need no tokenizer; text does, and a model may name one we do not ship. A checkpoint
  // directory (FILE, or --weights DIR beside a spec that declares no byte tokenizer) brings its
  // own (tokenizer.json), read only when there is text.
  let tok: TextTokenizer | undefined;
  const text = o.prompt !== undefined || o.srcPrompt !== undefined || o.chat !== undefined;
  // A GGUF file carries its tokenizer in its metadata (checkpointTokenizer reads it there).
  const tokDir = text && m.tokenizer?.kind !== "byte" ? (checkpoint?.dir ?? (await tokenizerDir(o.weights)) ?? (isGgufPath(o.weights) ? o.weights : undefined)) : undefined;
  if (tokDir !== undefined) tok = await checkpointTokenizer(tokDir, m);
  if (o.chat !== undefined && tokDir === undefined) {
    throw new CliError("--chat needs a Hugging Face checkpoint directory (as FILE or --weights DIR) whose tokenizer_config.json has a chat_template, or a GGUF file with a tokenizer.chat_template; use --prompt");
  }
  const tokenizer = () => {
    try {
      return (tok ??= tokenizerFor(m));
    } catch (e) {
      throw new CliError((e as Error).message, EXIT_ERRORS);
    }
  };
  const prompt =
    o.tokens !== undefined
      ? parseTokenIds(o.tokens, "--tokens", sectionVocab(m, "output"))
      : o.chat !== undefined
        ? await chatPromptIds(tokDir!, tok!, o.chat, o.system)
        : tokenizer().encodePrompt(o.prompt!);
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
  // Low-bit weights (asked for, or stored so in the file) load in their storage; the Wasm build
  // is then specialised to it (the compile cache keys each build by its weights' storage).
  const lowBit = (o.dtype !== undefined && o.dtype !== "f32") || (await isLowBitPath(o.weights));
  const loadOpts = { ...(o.map ? { map: o.map } : {}), ...(o.allowNonfinite ? { allowNonFinite: true } : {}), onProgress: (done: number, total: number) => bar?.update(done, total) };
  let opened: { model: Awaited<ReturnType<typeof openModel>>["model"]; compiled?: "cached" | "compiled" };
  try {
    if (lowBit) {
      const store = await loadWeightStore(m, o.weights, { ...loadOpts, ...(o.dtype ? { dtype: o.dtype } : {}) });
      opened = await openModel(o.target, m, store, threads !== undefined ? { threads } : {});
    } else {
      const weights = await loadWeights(m, o.weights, loadOpts);
      opened = await openModel(o.target, m, weights, threads !== undefined ? { threads } : {});
    }
  } finally {
    bar?.done();
  }
  const { model, compiled } = opened;
  const loadMs = performance.now() - t0;

  // Stop tokens are handled here, not by generate(), so that the reason can be told apart from
  // the context's end.
  const stop = new Set(tok && o.tokens === undefined ? tok.stop : []);
  const decoder = o.tokens === undefined ? tok?.decoder() : undefined;
  // A chat prints the reply alone; a prompt is echoed before its continuation.
  let last = "";
  const out = (s: string) => {
    if (s === "") return;
    process.stdout.write(s);
    last = s;
  };
  if (decoder && o.prompt !== undefined) out(o.prompt);
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
      `${plural(n, "token")} in ${secs.toFixed(2)} s: ${(n / Math.max(secs, 1e-9)).toFixed(1)} tokens/s (first token ${first.toFixed(0)} ms; load ${loadMs.toFixed(0)} ms${compiled ? `, compiled${compiled === "cached" ? ": cached" : ""}` : ""}; ${o.target}${lowBit ? `, ${o.dtype ?? "low-bit"} weights` : ""})\n`,
  );
  return EXIT_OK;
}
