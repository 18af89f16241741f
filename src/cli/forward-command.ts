import { readFileSync, writeFileSync } from "node:fs";
import type { ModelInfo } from "../model/model.ts";
import { encoderSection, outputSection } from "../model/model.ts";
import { bindWeights } from "../runtime/bind-weights.ts";
import { createModel, BACKENDS, type BackendName } from "../runtime/backends.ts";
import type { ForwardOptions } from "../runtime/model-api.ts";
import { applyNameMap, type MapName } from "../runtime/name-maps.ts";
import { parseSafetensors, writeSafetensors, type SafetensorsFile } from "../runtime/safetensors.ts";
import { CliError, EXIT_OK, useColor } from "./io.ts";
import { loadModel } from "./load-model.ts";

export interface ForwardCliOptions {
  weights: string;
  input: string;
  out: string;
  backend: BackendName;
  map?: MapName;
  model?: string;
  color?: string;
}

export function readSafetensorsFile(path: string, what: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CliError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  return parseSafetensors(bytes);
}

/**
 * `specformer forward`: IN holds `tokens` (I32/I64 [batch, seq]), and where the model needs
 * them `mask`, `src_tokens`, `src_mask` or any other input by its spec name; OUT gets `logits`.
 */
export async function runForward(file: string, o: ForwardCliOptions): Promise<number> {
  if (!(BACKENDS as readonly string[]).includes(o.backend)) throw new CliError(`unknown backend ${o.backend}`);
  const m = loadModel(file, { ...(o.model !== undefined ? { model: o.model } : {}), color: useColor(o.color) });
  const wfile = readSafetensorsFile(o.weights, "weights");
  const input = readSafetensorsFile(o.input, "input");
  const weights = bindWeights(m, wfile, o.map ? { map: (f, mi) => applyNameMap(o.map!, f, mi) } : {});
  const { tokens, opts } = gatherInputs(m, input);
  const model = await createModel(o.backend, m, weights);
  try {
    const logits = await model.forward(tokens, opts);
    const bytes = writeSafetensors([{ name: "logits", dtype: "F32", shape: [opts.batch, opts.seq, m.head.vocab], data: logits }], {
      model: m.name,
      backend: o.backend,
    });
    try {
      writeFileSync(o.out, bytes);
    } catch (e) {
      throw new CliError(`cannot write ${o.out}: ${(e as Error).message}`);
    }
  } finally {
    model.dispose();
  }
  return EXIT_OK;
}

function gatherInputs(m: ModelInfo, f: SafetensorsFile): { tokens: Int32Array; opts: ForwardOptions } {
  const out = outputSection(m);
  const enc = encoderSection(m);
  const has = (n: string) => f.tensors.has(n);
  const tokName = has(out.input) ? out.input : "tokens";
  if (!has(tokName)) throw new CliError(`input file has no \`${tokName}\` tensor (the ${out.role === "main" ? "model" : "decoder"}'s token input)`, 1);
  const tinfo = f.tensors.get(tokName)!;
  if (tinfo.shape.length !== 2) throw new CliError(`\`${tokName}\` must be [batch, seq], found [${tinfo.shape.join(", ")}]`, 1);
  const [batch, seq] = tinfo.shape;
  const opts: ForwardOptions = { batch, seq };
  const used = new Set([tokName]);
  const extra: Record<string, Int32Array | Uint8Array> = {};
  for (const inp of m.inputs) {
    if (inp.name === out.input || (enc && inp.name === enc.input)) continue;
    if (!has(inp.name)) continue;
    used.add(inp.name);
    extra[inp.name] = inp.dtype === "bool" ? toMask(f, inp.name) : f.i32(inp.name);
  }
  if (has("mask") && !m.inputs.some((i) => i.name === "mask")) {
    used.add("mask");
    opts.mask = toMask(f, "mask");
  }
  if (Object.keys(extra).length) opts.inputs = extra;
  if (enc) {
    const srcName = has(enc.input) ? enc.input : "src_tokens";
    if (!has(srcName)) throw new CliError(`input file has no \`${srcName}\` tensor (the encoder's token input)`, 1);
    used.add(srcName);
    const s = f.tensors.get(srcName)!;
    opts.src = { tokens: f.i32(srcName), seq: s.shape[1] ?? 0 };
  }
  const unknown = [...f.tensors.keys()].filter((n) => !used.has(n));
  if (unknown.length) throw new CliError(`input file has tensors the model does not take: ${unknown.join(", ")} (inputs: ${m.inputs.map((i) => i.name).join(", ")})`, 1);
  return { tokens: f.i32(tokName), opts };
}

/** Masks may be stored as BOOL, U8 or integers; the runtime wants bytes of 0/1. */
function toMask(f: SafetensorsFile, name: string): Uint8Array {
  const t = f.tensors.get(name)!;
  if (t.dtype === "BOOL") return f.bool(name);
  const v = f.i32(name);
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== 0 && v[i] !== 1) throw new CliError(`\`${name}\` must hold 0 or 1, found ${v[i]} at index ${i}`, 1);
    out[i] = v[i];
  }
  return out;
}
