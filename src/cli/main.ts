import { Command, CommanderError, Option } from "commander";
import { MAP_NAMES } from "../runtime/name-maps.ts";
import { UsageError } from "../check/check.ts";
import { BackendUnavailableError, ModelInputError } from "../runtime/model-api.ts";
import { WeightsError } from "../runtime/safetensors.ts";
import { TARGETS } from "../runtime/targets.ts";
import { CliError, DawnWarningFilter, EXIT_USAGE, exitQuietlyOnClosedPipes } from "./io.ts";
import { VERSION } from "./version.ts";

const TARGET_CHOICES = [...TARGETS];

/**
 * Dawn (the WebGPU binding) prints its own warnings from native code straight to file
 * descriptor 2 — a missing Vulkan loader with a path from Dawn's build machine, limits it
 * lowered — on every WebGPU command. JavaScript cannot intercept a native write, so without
 * --verbose a WebGPU command runs in a child process whose stderr passes through a filter that
 * drops Dawn's warning blocks and keeps everything else (progress bar, errors, statistics).
 */
function webgpuNeedsFilter(target: string | undefined, verbose: boolean | undefined): boolean {
  return target === "webgpu" && !verbose && process.env.SPECFORMER_DAWN_CHILD === undefined;
}

/** The child's exit code; undefined where there is no script to re-run (then run in process). */
async function runWithFilteredStderr(argv: string[]): Promise<number | undefined> {
  const [{ spawn }, { existsSync }] = await Promise.all([import("node:child_process"), import("node:fs")]);
  const script = argv[1];
  if (script === undefined || !existsSync(script)) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, script, ...argv.slice(2)], {
    stdio: ["inherit", "inherit", "pipe"],
    env: { ...process.env, SPECFORMER_DAWN_CHILD: "1", SPECFORMER_STDERR_TTY: process.stderr.isTTY ? "1" : "0" },
  });
  const filter = new DawnWarningFilter((s) => process.stderr.write(s));
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => filter.push(s));
  // Ctrl-C reaches the child too (same process group): outlive it, so that what it writes on its
  // way out still passes the filter, then exit with its status.
  const ignore = () => {};
  process.on("SIGINT", ignore);
  const forward = () => child.kill("SIGTERM");
  process.on("SIGTERM", forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) => {
        filter.end();
        resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 70));
      });
    });
  } finally {
    process.off("SIGINT", ignore);
    process.off("SIGTERM", forward);
  }
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 } as Record<string, number>)[signal];
}

// Commands load their modules on first use: `check` should not pay for the backends.
function program(setExit: (code: number) => void, argv: string[]): Command {
  const p = new Command("specformer")
    .description("compile transformer specs (.sf) into shape-checked WebGPU / WebAssembly models")
    .version(VERSION)
    .exitOverride()
    // Commander's usage errors as one line, like every other failure.
    .configureOutput({ outputError: (s, out) => out(`specformer: ${s.replace(/^error: /, "").trim().replace(/\s*\n\s*/g, " ")} (see --help)\n`) });

  const format = (choices: string[]) => new Option("--format <format>", "output format").choices(choices).default(choices[0]);
  const color = new Option("--color <when>", "colour the text output").choices(["auto", "always", "never"]).default("auto");

  p.command("check")
    .alias("lint")
    .description("type-check specs and print diagnostics; exit 0 clean, 1 errors, 2 usage/I-O")
    .argument("<files...>", "spec files")
    .addOption(format(["text", "json", "sarif"]))
    .addOption(color)
    .option("--model <name>", "the model to treat as the entry (default: the last in each file)")
    .action(async (files: string[], o) => setExit((await import("./check-command.ts")).runCheck(files, o)));

  p.command("explain")
    .description("explain a diagnostic code, e.g. `specformer explain SF0201`")
    .argument("[code]", "a code such as SF0201; omit to list every code")
    .action(async (code: string | undefined) => setExit((await import("./explain-command.ts")).runExplain(code)));

  p.command("inspect")
    .description("print a layer-by-layer summary: output shapes, parameters, FLOPs, activation memory")
    .argument("<file>", "spec file, Hugging Face checkpoint directory or GGUF file")
    .option("--seq <n>", "sequence length to measure at (default: the declared context, else 128)")
    .option("--batch <n>", "batch size", "1")
    .option("--model <name>", "which model of the file (default: the last)")
    .option("--ir", "print the tensor-graph IR instead of the summary")
    .option("--lowered", "with --ir: the graph as lowered, before the inference passes")
    .option("--weights", "with --ir: list the weight nodes too")
    .addOption(new Option("--dtype <dtype>", "also print weight bytes by storage dtype when quantised to this (embedding tables q8 for q4)").choices(["f32", "f16", "q8", "q4"]))
    .option("--weights-file <file>", "also print weight bytes by storage dtype of this safetensors file as it loads (with --dtype: converted)")
    .addOption(format(["text", "json"]))
    .addOption(color)
    .action(async (file: string, o) => setExit(await (await import("./inspect-command.ts")).runInspectCommand(file, o)));

  p.command("weights")
    .description("list the weight tensors a spec expects, or write seeded random weights")
    .argument("<file>", "spec file")
    .option("--list", "print every expected tensor with its shape")
    .option("--init <kind>", "initialise weights: `random`")
    .option("--seed <n>", "random seed (a non-negative integer)", "0")
    .option("--out <file>", "where --init writes the safetensors file")
    .option("--model <name>", "which model of the file (default: the last)")
    .addOption(format(["text", "json"]))
    .addOption(color)
    .action(async (file: string, o) => setExit((await import("./weights-command.ts")).runWeights(file, o)));

  p.command("quantize")
    .description("store a checkpoint's linear weights and embedding tables as f16, q8 or q4 (blocks of 32 along K, f16 scales) in a safetensors file")
    .argument("<weights>", "the checkpoint (.safetensors, F32 / F16 / BF16)")
    .requiredOption("--spec <file>", "the spec the checkpoint belongs to")
    .addOption(new Option("--to <dtype>", "storage of the linear weights (embedding tables: q8 for q4)").choices(["q4", "q8", "f16"]).makeOptionMandatory())
    .requiredOption("--out <file>", "where to write the low-bit safetensors file")
    .option("--keep <names>", "comma-separated tensor names (or `*` globs) kept in f32")
    .addOption(new Option("--map <convention>", "read a checkpoint named the PyTorch way").choices([...MAP_NAMES]))
    .option("--model <name>", "which model of the spec (default: the last)")
    .addOption(color)
    .action(async (weights: string, o) => setExit(await (await import("./quantize-command.ts")).runQuantize(weights, o)));

  p.command("forward")
    .description("run one forward pass: logits for the token ids in a safetensors input file")
    .argument("<file>", "spec file")
    .requiredOption("--weights <file>", "weights (.safetensors)")
    .requiredOption("--input <file>", "inputs (.safetensors): tokens [batch, seq], and mask / src_tokens / src_mask where the model needs them")
    .requiredOption("--out <file>", "where to write `logits` (F32 [batch, seq, vocab])")
    .addOption(new Option("--target <target>", "which backend runs it (default: reference)").choices(TARGET_CHOICES))
    .addOption(new Option("--backend <target>", "another name for --target").choices(TARGET_CHOICES))
    .addOption(new Option("--map <convention>", "load a checkpoint named the PyTorch way").choices([...MAP_NAMES]))
    .option("--model <name>", "which model of the file (default: the last)")
    .option("--allow-nonfinite", "load weights holding NaN or ±Inf instead of refusing them")
    .option("--verbose", "say where the build came from; show the WebGPU driver's own warnings")
    .addOption(color)
    .action(async (file: string, o) => {
      const filtered = webgpuNeedsFilter(o.target ?? o.backend, o.verbose) ? await runWithFilteredStderr(argv) : undefined;
      if (filtered !== undefined) return setExit(filtered);
      setExit(await (await import("./forward-command.ts")).runForward(file, o));
    });

  p.command("build")
    .description("compile a spec (or a Hugging Face checkpoint directory's config.json) into a self-contained ES module package (index.js, index.d.ts, artifacts)")
    .argument("<file>", "spec file, or checkpoint directory")
    .addOption(new Option("--target <target>", "what the module runs on").choices(TARGET_CHOICES).default("wasm"))
    .requiredOption("--out <dir>", "output directory")
    .option("--weights <dir>", "a checkpoint directory the package is for: its tokenizer is copied in, its name map becomes load()'s default")
    .option("--emit-text", "also write the readable text form of the artifacts (WAT for wasm)")
    .addOption(new Option("--dtype <dtype>", "weight storage of the package: f16 / q8 / q4 (linear weights; embedding tables q8 for q4); load() converts any checkpoint to it").choices(["f32", "f16", "q8", "q4"]))
    .option("--model <name>", "which model of the file (default: the last)")
    .addOption(color)
    .action(async (file: string, o) => setExit(await (await import("./build-command.ts")).runBuild(file, o)));

  p.command("run")
    .description("generate with a model: compile, load weights, stream the output, report tokens/s")
    .argument("<file>", "spec file")
    .requiredOption("--weights <file>", "weights (.safetensors, a checkpoint directory, or a llama / qwen2 .gguf)")
    .addOption(new Option("--target <target>", "which backend runs it").choices(TARGET_CHOICES).default("reference"))
    .option("--prompt <text>", "prompt text (needs the model's tokenizer)")
    .option("--tokens <ids>", "prompt as comma-separated token ids")
    .option("--chat <text>", "a user message, through the checkpoint's chat template (tokenizer_config.json); prints the reply")
    .option("--system <text>", "with --chat: a system message before it")
    .option("--src-prompt <text>", "encoder–decoder models: the encoder's input as text")
    .option("--src-tokens <ids>", "encoder–decoder models: the encoder's input as comma-separated token ids")
    .option("--max-tokens <n>", "how many tokens to generate", "64")
    .option("--temperature <t>", "0 (default) is greedy")
    .option("--top-k <k>", "sample among the k most likely tokens")
    .option("--seed <n>", "sampling seed")
    .option("--threads <n>", "wasm: threads splitting every op (default 1)")
    .addOption(new Option("--dtype <dtype>", "weight storage: f16 / q8 / q4 quantise linear weights and embeddings at load, f32 dequantises (default: as the file stores them)").choices(["f32", "f16", "q8", "q4"]))
    .addOption(new Option("--map <convention>", "load a checkpoint named the PyTorch way").choices([...MAP_NAMES]))
    .option("--model <name>", "which model of the file (default: the last)")
    .option("--allow-nonfinite", "load weights holding NaN or ±Inf instead of refusing them")
    .option("--verbose", "show the WebGPU driver's own warnings")
    .addOption(color)
    .action(async (file: string, o) => {
      const filtered = webgpuNeedsFilter(o.target, o.verbose) ? await runWithFilteredStderr(argv) : undefined;
      if (filtered !== undefined) return setExit(filtered);
      setExit(await (await import("./run-command.ts")).runRun(file, o));
    });

  p.command("tokenize")
    .description("print the token ids of TEXT under a Hugging Face tokenizer (a checkpoint directory, tokenizer.json or vocab.json) or a GGUF file's")
    .argument("<path>", "checkpoint directory, tokenizer.json, vocab.json (with merges.txt beside it), or GGUF file")
    .argument("<text>", "the text (with --decode: comma-separated token ids)")
    .option("--no-special", "leave out the sequence tokens the tokenizer adds (BOS, [CLS] … [SEP]); with --decode, drop special tokens")
    .option("--decode", "read TEXT as token ids and print their text")
    .action(async (path: string, text: string, o) => setExit(await (await import("./tokenize-command.ts")).runTokenize(path, text, o)));

  p.command("train")
    .description("train a model from its spec (reference, wasm or webgpu kernels): weights, JSON log, SVG loss curve, checkpoints")
    .argument("<file>", "spec file")
    .option("--data <file>", "training text (read as bytes through the spec's `tokenizer byte`); for an encoder–decoder, one source<TAB>target pair per line")
    .option("--task <task>", "instead of --data: copy | ngram-lookup (Jelassi et al. 2024), strings over 26 letters, loss on the answer only; on an encoder–decoder: copy | reverse (the Annotated Transformer's task)")
    .option("--separator <sep>", "encoder–decoder --data: what parts source from target on each line (default TAB)")
    .option("--max-length <n>", "--task: longest training string (default 20; encoder–decoder 10)")
    .option("--min-length <n>", "--task: shortest training string (default 1; lookup: ngram + answer + 1)")
    .option("--ngram <n>", "--task ngram-lookup: the key's length (default 3)")
    .option("--answer-length <n>", "--task ngram-lookup: letters to retrieve after the key (default 3)")
    .requiredOption("--steps <n>", "optimiser updates in all (with --resume: the new total)")
    .requiredOption("--out <file>", "final weights (.safetensors); the log, curve and checkpoint go next to it")
    .option("--batch <n>", "sequences per step (default 8)")
    .option("--seq <n>", "tokens per sequence (default: the context, at most 256)")
    .option("--lr <x>", "peak learning rate; noam: the factor (defaults: cosine 3e-3, constant 1e-3, noam 1)")
    .option("--schedule <kind>", "noam | cosine | constant (default cosine)")
    .option("--warmup <n>", "warm-up steps (default 5% of --steps)")
    .option("--min-lr-ratio <x>", "cosine: final rate as a fraction of --lr (default 0.1)")
    .option("--optimizer <kind>", "adam | adamw (default adamw: decoupled decay, none on norms and biases)")
    .option("--betas <b1,b2>", "Adam's betas (default 0.9,0.95; noam 0.9,0.98)")
    .option("--eps <x>", "Adam's epsilon (default 1e-8; noam 1e-9)")
    .option("--weight-decay <x>", "decay of matrices and tables (default 0.1; noam 0)")
    .option("--clip <x>", "clip the global gradient norm at x; 0 = off (default 1)")
    .option("--label-smoothing <x>", "default: the spec's train(label_smoothing), else 0")
    .option("--dropout <p>", "model-wide dropout rate; default: the spec's train(dropout), else 0")
    .option("--seed <n>", "seed of the initial weights, the batches and dropout (default 0)")
    .option("--eval-every <k>", "evaluate and checkpoint every k steps (default steps / 10)")
    .option("--eval-windows <n>", "held-out windows per evaluation (default 32)")
    .option("--val-fraction <x>", "share of the documents held out (default 0.05)")
    .option("--val-data <file>", "held-out text of its own: --data is then all training, --val-fraction unused")
    .option("--resume <ckpt>", "continue from a checkpoint written by an earlier run")
    .option("--weights <file>", "start from these weights instead of GPT-2's initialisation")
    .addOption(new Option("--map <convention>", "with --weights: a checkpoint named the PyTorch way").choices([...MAP_NAMES]))
    .option("--target <target>", "reference | wasm | webgpu (default reference)")
    .option("--threads <n>", "--target wasm: threads splitting each kernel call (default 1; results are the same bit for bit)")
    .option("--model <name>", "which model of the file (default: the last)")
    .addOption(color)
    .option("--verbose", "show the WebGPU driver's own warnings")
    .action(async (file: string, o) => {
      const filtered = webgpuNeedsFilter(o.target, o.verbose) ? await runWithFilteredStderr(argv) : undefined;
      if (filtered !== undefined) return setExit(filtered);
      setExit(await (await import("./train-command.ts")).runTrain(file, o));
    });

  p.command("import")
    .description("write a readable spec (.sf) from a Hugging Face checkpoint's config.json, or a llama / qwen2 GGUF file's metadata")
    .argument("<path>", "checkpoint directory, its config.json, or a .gguf file")
    .option("--out <file>", "where to write the spec (default: stdout)")
    .action(async (path: string, o) => setExit(await (await import("./import-command.ts")).runImport(path, o)));
  // A checkpoint directory carries its own weights: `run DIR` and `forward DIR` need no
  // --weights (the commands still require it for a .sf file, with commander's wording).
  for (const c of p.commands) if (c.name() === "run" || c.name() === "forward") c.options.find((x) => x.long === "--weights")?.makeOptionMandatory(false);

  return p;
}

/** A failure as the one line the exit-code contract promises. */
function say(message: string): void {
  process.stderr.write(`specformer: ${message.trim().replace(/\s*\n\s*/g, " ")}\n`);
}

/** Entry point: returns nothing, sets process.exitCode; never lets a stack trace reach a user. */
export async function main(argv: string[]): Promise<void> {
  let code = 0;
  exitQuietlyOnClosedPipes();
  const p = program((c) => (code = c), argv);
  try {
    await p.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; real usage errors are exit 2.
      code = err.exitCode === 0 ? 0 : EXIT_USAGE;
    } else if (err instanceof CliError) {
      say(err.message);
      code = err.exitCode;
    } else if (err instanceof WeightsError || err instanceof ModelInputError || err instanceof BackendUnavailableError) {
      // Bad weights or inputs are the user's data, not our bug: one clear line, exit 1.
      say(err.message);
      code = 1;
    } else if (err instanceof UsageError) {
      say(err.message);
      code = EXIT_USAGE;
    } else {
      say(`internal error: ${err instanceof Error ? err.message : String(err)}`);
      if (process.env.SPECFORMER_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      code = 70;
    }
  }
  process.exitCode = code;
}
