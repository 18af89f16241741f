import { Command, CommanderError, Option } from "commander";
import { UsageError } from "../check/check.ts";
import { BackendUnavailableError, ModelInputError } from "../runtime/model-api.ts";
import { WeightsError } from "../runtime/safetensors.ts";
import { CliError, EXIT_USAGE } from "./io.ts";
import { VERSION } from "./version.ts";

// Commands load their modules on first use: `check` should not pay for the backends.
function program(setExit: (code: number) => void): Command {
  const p = new Command("specformer")
    .description("compile transformer specs (.sf) into shape-checked WebGPU / WebAssembly models")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ outputError: (s, out) => out(s) })
    .showHelpAfterError("(run with --help for usage)");

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
    .argument("<file>", "spec file")
    .option("--seq <n>", "sequence length to measure at (default: the declared context, else 128)")
    .option("--batch <n>", "batch size", "1")
    .option("--model <name>", "which model of the file (default: the last)")
    .option("--ir", "print the tensor-graph IR instead of the summary")
    .option("--lowered", "with --ir: the graph as lowered, before the inference passes")
    .option("--weights", "with --ir: list the weight nodes too")
    .addOption(format(["text", "json"]))
    .addOption(color)
    .action(async (file: string, o) => setExit((await import("./inspect-command.ts")).runInspect(file, o)));

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

  p.command("forward")
    .description("run one forward pass: logits for the token ids in a safetensors input file")
    .argument("<file>", "spec file")
    .requiredOption("--weights <file>", "weights (.safetensors)")
    .requiredOption("--input <file>", "inputs (.safetensors): tokens [batch, seq], and mask / src_tokens / src_mask where the model needs them")
    .requiredOption("--out <file>", "where to write `logits` (F32 [batch, seq, vocab])")
    .addOption(new Option("--backend <name>", "which backend runs it").choices(["reference", "wasm", "webgpu"]).default("reference"))
    .addOption(new Option("--map <convention>", "load a checkpoint named the PyTorch way").choices(["gpt2", "llama", "torch"]))
    .option("--model <name>", "which model of the file (default: the last)")
    .addOption(color)
    .action(async (file: string, o) => setExit(await (await import("./forward-command.ts")).runForward(file, o)));

  p.command("build")
    .description("compile a spec into a self-contained ES module package (index.js, index.d.ts, artifacts)")
    .argument("<file>", "spec file")
    .addOption(new Option("--target <target>", "what the module runs on").choices(["wasm", "webgpu", "reference"]).default("wasm"))
    .requiredOption("--out <dir>", "output directory")
    .option("--emit-text", "also write the readable text form of the artifacts (WAT for wasm)")
    .option("--model <name>", "which model of the file (default: the last)")
    .addOption(color)
    .action(async (file: string, o) => setExit(await (await import("./build-command.ts")).runBuild(file, o)));

  p.command("run")
    .description("generate with a model: compile, load weights, stream the output, report tokens/s")
    .argument("<file>", "spec file")
    .requiredOption("--weights <file>", "weights (.safetensors)")
    .addOption(new Option("--target <target>", "which backend runs it").choices(["wasm", "webgpu", "reference"]).default("reference"))
    .option("--prompt <text>", "prompt text (needs the model's tokenizer)")
    .option("--tokens <ids>", "prompt as comma-separated token ids")
    .option("--max-tokens <n>", "how many tokens to generate", "64")
    .option("--temperature <t>", "0 (default) is greedy")
    .option("--top-k <k>", "sample among the k most likely tokens")
    .option("--seed <n>", "sampling seed")
    .option("--threads <n>", "wasm: threads splitting every op (default 1)")
    .addOption(new Option("--map <convention>", "load a checkpoint named the PyTorch way").choices(["gpt2", "llama", "torch"]))
    .option("--model <name>", "which model of the file (default: the last)")
    .addOption(color)
    .action(async (file: string, o) => setExit(await (await import("./run-command.ts")).runRun(file, o)));

  return p;
}

/** Entry point: returns nothing, sets process.exitCode; never lets a stack trace reach a user. */
export async function main(argv: string[]): Promise<void> {
  let code = 0;
  const p = program((c) => (code = c));
  try {
    await p.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; real usage errors are exit 2.
      code = err.exitCode === 0 ? 0 : EXIT_USAGE;
    } else if (err instanceof CliError) {
      process.stderr.write(`specformer: ${err.message}\n`);
      code = err.exitCode;
    } else if (err instanceof WeightsError || err instanceof ModelInputError || err instanceof BackendUnavailableError) {
      // Bad weights or inputs are the user's data, not our bug: one clear line, exit 1.
      process.stderr.write(`specformer: ${err.message}\n`);
      code = 1;
    } else if (err instanceof UsageError) {
      process.stderr.write(`specformer: ${err.message}\n`);
      code = EXIT_USAGE;
    } else {
      process.stderr.write(`specformer: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      if (process.env.SPECFORMER_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      code = 70;
    }
  }
  process.exitCode = code;
}
