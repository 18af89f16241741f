import { readFileSync, writeFileSync } from "node:fs";
import type { InputInfo, ModelInfo } from "../model/model.ts";
import { encoderSection, outputSection } from "../model/model.ts";
import { TARGETS, type Target } from "../runtime/targets.ts";
import type { ForwardOptions } from "../runtime/model-api.ts";
import type { MapName } from "../runtime/name-maps.ts";
import { parseSafetensors, writeSafetensors, type SafetensorsFile } from "../runtime/safetensors.ts";
import { openModel } from "./compile-cache.ts";
import { CliError, EXIT_ERRORS, EXIT_OK, ioProblem, useColor } from "./io.ts";
import { loadSpecOrCheckpoint, loadWeights, withCheckpointWeights } from "./load-model.ts";

export interface ForwardCliOptions {
  weights: string;
  input: string;
  out: string;
  /** `--target`; `--backend` is its older name. */
  target?: Target;
  backend?: Target;
  map?: MapName;
  model?: string;
  color?: string;
  allowNonfinite?: boolean;
  verbose?: boolean;
}

export function readSafetensorsFile(path: string, what: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CliError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : ioProblem(e)}`);
  }
  return parseSafetensors(bytes);
}

/** The target of `forward`: --target, or its older name --backend; both must agree. */
export function forwardTarget(o: Pick<ForwardCliOptions, "target" | "backend">): Target {
  if (o.target !== undefined && o.backend !== undefined && o.target !== o.backend) {
    throw new CliError(`--target ${o.target} and --backend ${o.backend} disagree (--backend is another name for --target)`);
  }
  const t = o.target ?? o.backend ?? "reference";
  if (!(TARGETS as readonly string[]).includes(t)) throw new CliError(`unknown target ${t}; use ${TARGETS.join(", ")}`);
  return t;
}

/**
 * `specformer forward`: IN holds `tokens` (I32/I64 [batch, seq]), and where the model needs
 * them `mask`, `src_tokens`, `src_mask` or any other input by its spec name; OUT gets `logits`.
 */
export async function runForward(file: string, o: ForwardCliOptions): Promise<number> {
  const target = forwardTarget(o);
  // FILE may be a Hugging Face checkpoint directory: its config.json imported, its shards the weights.
  const { m, checkpoint } = await loadSpecOrCheckpoint(file, { ...(o.model !== undefined ? { model: o.model } : {}), color: useColor(o.color) });
  o = withCheckpointWeights(o, checkpoint);
  const input = readSafetensorsFile(o.input, "input");
  const { tokens, opts } = gatherInputs(m, input);
  const weights = await loadWeights(m, o.weights, { ...(o.map ? { map: o.map } : {}), ...(o.allowNonfinite ? { allowNonFinite: true } : {}) });
  const { model, compiled } = await openModel(target, m, weights);
  try {
    const logits = await model.forward(tokens, opts);
    const bytes = writeSafetensors([{ name: "logits", dtype: "F32", shape: [opts.batch, opts.seq, m.head.vocab], data: logits }], {
      model: m.name,
      backend: target,
    });
    try {
      writeFileSync(o.out, bytes);
    } catch (e) {
      throw new CliError(`cannot write ${o.out}: ${ioProblem(e)}`);
    }
  } finally {
    model.dispose();
  }
  if (o.verbose) process.stderr.write(`forward ${m.name} on ${target}${compiled ? ` (compiled${compiled === "cached" ? ": cached" : ""})` : ""}: wrote ${o.out}\n`);
  return EXIT_OK;
}

const shapeText = (s: readonly (number | string)[]) => `[${s.join(", ")}]`;

/**
 * Checks tensor shapes against the spec's input declarations: static axes must match, and a
 * run-time dim (batch, seq, src_seq …) must have one size across every input that uses it, so
 * an [8, 2] mask is not taken for [2, 8] tokens because it has 16 elements.
 */
class ShapeBinder {
  private readonly sizes = new Map<string, { size: number; from: string }>();

  bind(name: string, declared: readonly (number | string)[], found: readonly number[]): void {
    if (found.length !== declared.length) {
      throw new CliError(`\`${name}\` must be ${shapeText(declared)}, found ${shapeText(found)}`, EXIT_ERRORS);
    }
    declared.forEach((d, k) => {
      if (typeof d === "number") {
        if (found[k] !== d) throw new CliError(`\`${name}\` must be ${shapeText(declared)}, found ${shapeText(found)} (axis ${k} is ${found[k]}, not ${d})`, EXIT_ERRORS);
        return;
      }
      const seen = this.sizes.get(d);
      if (seen === undefined) this.sizes.set(d, { size: found[k], from: name });
      else if (seen.size !== found[k]) {
        throw new CliError(`\`${name}\` is ${shapeText(found)}: its ${d} (axis ${k}) is ${found[k]}, but \`${seen.from}\` has ${d} = ${seen.size}`, EXIT_ERRORS);
      }
    });
  }
}

function gatherInputs(m: ModelInfo, f: SafetensorsFile): { tokens: Int32Array; opts: ForwardOptions } {
  const out = outputSection(m);
  const enc = encoderSection(m);
  const has = (n: string) => f.tensors.has(n);
  const spec = new Map<string, InputInfo>(m.inputs.map((i) => [i.name, i]));
  const shapes = new ShapeBinder();
  const tokName = has(out.input) ? out.input : "tokens";
  if (!has(tokName)) throw new CliError(`input file has no \`${tokName}\` tensor (the ${out.role === "main" ? "model" : "decoder"}'s token input)`, EXIT_ERRORS);
  const tinfo = f.tensors.get(tokName)!;
  if (tinfo.shape.length !== 2) throw new CliError(`\`${tokName}\` must be [batch, seq], found [${tinfo.shape.join(", ")}]`, EXIT_ERRORS);
  const tokDecl = spec.get(out.input)?.shape ?? ["batch", "seq"];
  shapes.bind(tokName, tokDecl, tinfo.shape);
  const [batch, seq] = tinfo.shape;
  const opts: ForwardOptions = { batch, seq };
  const used = new Set([tokName]);
  let srcName: string | undefined;
  if (enc) {
    srcName = has(enc.input) ? enc.input : "src_tokens";
    if (!has(srcName)) throw new CliError(`input file has no \`${srcName}\` tensor (the encoder's token input)`, EXIT_ERRORS);
    used.add(srcName);
    const s = f.tensors.get(srcName)!;
    shapes.bind(srcName, spec.get(enc.input)?.shape ?? ["batch", "src_seq"], s.shape);
    opts.src = { tokens: f.i32(srcName), seq: s.shape[1] ?? 0 };
  }
  const extra = new Map<string, Int32Array | Uint8Array>();
  for (const inp of m.inputs) {
    if (inp.name === out.input || (enc && inp.name === enc.input)) continue;
    if (!has(inp.name)) continue;
    used.add(inp.name);
    shapes.bind(inp.name, inp.shape, f.tensors.get(inp.name)!.shape);
    extra.set(inp.name, inp.dtype === "bool" ? toMask(f, inp.name) : f.i32(inp.name));
  }
  if (has("mask") && !spec.has("mask")) {
    used.add("mask");
    // The token input's padding mask: exactly the tokens' shape.
    const mk = f.tensors.get("mask")!;
    if (mk.shape.length !== 2 || mk.shape[0] !== batch || mk.shape[1] !== seq) {
      throw new CliError(`\`mask\` must have the shape of \`${tokName}\` ${shapeText(tinfo.shape)}, found ${shapeText(mk.shape)}`, EXIT_ERRORS);
    }
    opts.mask = toMask(f, "mask");
  }
  // A null-prototype record: an input named `__proto__` or `constructor` stays an input.
  if (extra.size) {
    const rec = Object.create(null) as Record<string, Int32Array | Uint8Array>;
    for (const [k, v] of extra) rec[k] = v;
    opts.inputs = rec;
  }
  const unknown = [...f.tensors.keys()].filter((n) => !used.has(n));
  if (unknown.length) throw new CliError(`input file has tensors the model does not take: ${unknown.join(", ")} (inputs: ${m.inputs.map((i) => i.name).join(", ")})`, EXIT_ERRORS);
  return { tokens: f.i32(tokName), opts };
}

/** Masks may be stored as BOOL, U8 or integers; the runtime wants bytes of 0/1. */
function toMask(f: SafetensorsFile, name: string): Uint8Array {
  const t = f.tensors.get(name)!;
  if (t.dtype === "BOOL") return f.bool(name);
  const v = f.i32(name);
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== 0 && v[i] !== 1) throw new CliError(`\`${name}\` must hold 0 or 1, found ${v[i]} at index ${i}`, EXIT_ERRORS);
    out[i] = v[i];
  }
  return out;
}
