import { writeFileSync } from "node:fs";
import { weightLayout, numel } from "../model/weights-layout.ts";
import { randomWeights } from "../runtime/random-weights.ts";
import { writeSafetensors } from "../runtime/safetensors.ts";
import { CliError, EXIT_OK, ioProblem, useColor, write } from "./io.ts";
import { loadModel, parsePositiveInt } from "./load-model.ts";

export interface WeightsOptions {
  list?: boolean;
  init?: string;
  seed?: string;
  out?: string;
  format: "text" | "json";
  model?: string;
  color?: string;
}

/** `specformer weights FILE --list` and `--init random --seed N --out W.safetensors`. */
export function runWeights(file: string, opts: WeightsOptions): number {
  if (!opts.list && !opts.init) throw new CliError("say what to do: --list, or --init random --seed N --out FILE");
  const m = loadModel(file, { ...(opts.model !== undefined ? { model: opts.model } : {}), color: useColor(opts.color) });
  const layout = weightLayout(m);
  if (opts.list) {
    if (opts.format === "json") {
      write(JSON.stringify(layout.map((t) => ({ name: t.name, shape: t.shape, dtype: "F32", params: numel(t.shape) })), null, 2));
    } else {
      const width = Math.max(...layout.map((t) => t.name.length));
      for (const t of layout) write(`${t.name.padEnd(width)}  [${t.shape.join(", ")}]`);
      write(`${layout.length} tensors, ${layout.reduce((s, t) => s + numel(t.shape), 0).toLocaleString("en-US")} parameters`);
    }
  }
  if (opts.init) {
    if (opts.init !== "random") throw new CliError(`--init takes \`random\`, not \`${opts.init}\``);
    if (!opts.out) throw new CliError("--init needs --out FILE.safetensors");
    const seed = parsePositiveInt(opts.seed, "--seed", 0) ?? 0;
    const total = layout.reduce((s, t) => s + numel(t.shape), 0);
    if (total * 4 > 1.5 * 2 ** 30) throw new CliError(`${m.name} has ${total.toLocaleString("en-US")} parameters (${(total * 4 / 2 ** 30).toFixed(1)} GiB in f32): too large to initialise into one file here`);
    const w = randomWeights(m, seed);
    const bytes = writeSafetensors(
      layout.map((t) => ({ name: t.name, dtype: "F32", shape: t.shape, data: w.get(t.name)! })),
      { model: m.name, init: `random seed=${seed}`, generator: "specformer" },
    );
    try {
      writeFileSync(opts.out, bytes);
    } catch (e) {
      throw new CliError(`cannot write ${opts.out}: ${ioProblem(e)}`);
    }
    process.stderr.write(`wrote ${opts.out}: ${layout.length} tensors, ${bytes.length.toLocaleString("en-US")} bytes\n`);
  }
  return EXIT_OK;
}
