// Caller input → validated tensors, by spec input name, checked once in the Model (model.ts)
// before any backend sees them, so every backend rejects the same inputs with the same messages.

import { encoderSection, outputSection, type InputInfo, type ModelInfo, type SectionInfo } from "../model/model.ts";
import { ModelInputError, type ForwardOptions } from "./model-api.ts";
import type { Tensor } from "./tensor.ts";

export interface InputPlan {
  /** The token input of the section feeding the head. */
  tokens: InputInfo;
  /** Its bool padding input, which ForwardOptions.mask and step's mask feed. */
  mask?: InputInfo;
  /** The encoder's token input and its padding input. */
  source?: InputInfo;
  sourceMask?: InputInfo;
  /** Positions the decoder (or only) section can take: the declared bound, or the learned table. */
  context?: number;
  sourceContext?: number;
  batchMax?: number;
  /** Vocabulary of each embedded int input, for range checks. */
  vocab: Map<string, number>;
  /** Inputs that grow with the decoder's sequence: fed again on every decode step. */
  stepInputs: Set<string>;
}

function sectionContext(m: ModelInfo, s: SectionInfo): number | undefined {
  const bounds: number[] = [];
  if (s.maxSeq !== undefined) bounds.push(s.maxSeq);
  const declared = m.runtime.get(s.seqDim)?.max;
  if (declared !== undefined) bounds.push(declared);
  if (s.position.kind === "learned") bounds.push(s.position.length);
  return bounds.length === 0 ? undefined : Math.min(...bounds);
}

export function planInputs(m: ModelInfo): InputPlan {
  const byName = new Map(m.inputs.map((i) => [i.name, i]));
  const need = (name: string): InputInfo => {
    const info = byName.get(name);
    if (!info) throw new Error(`model ${m.name}: section input "${name}" is not declared`);
    return info;
  };
  const out = outputSection(m);
  const enc = encoderSection(m);
  const tokens = need(out.input);
  const source = enc ? need(enc.input) : undefined;
  // A padding input is the bool input laid over the same sequence dim as the tokens.
  const maskOver = (t: InputInfo): InputInfo | undefined =>
    m.inputs.find((i) => i.dtype === "bool" && i.shape.length === 2 && i.shape[1] === t.shape[1]);
  const vocab = new Map<string, number>();
  for (const s of m.sections) for (const st of s.steps) if (st.op === "embed") vocab.set(st.input, st.vocab);
  const seqDim = tokens.shape[1];
  const stepInputs = new Set(
    m.inputs.filter((i) => i.name === tokens.name || (typeof seqDim === "string" && i.shape.includes(seqDim))).map((i) => i.name),
  );
  const ctx = sectionContext(m, out);
  const srcCtx = enc ? sectionContext(m, enc) : undefined;
  const batchMax = typeof tokens.shape[0] === "string" ? m.runtime.get(tokens.shape[0])?.max : tokens.shape[0];
  return {
    tokens,
    ...optional("mask", maskOver(tokens)),
    ...optional("source", source),
    ...optional("sourceMask", source && maskOver(source)),
    ...optional("context", ctx),
    ...optional("sourceContext", srcCtx),
    ...optional("batchMax", batchMax),
    vocab,
    stepInputs,
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export interface InputRequest {
  batch: number;
  /** Decoder tokens and their length, when the request feeds the decoder. */
  tokens?: Int32Array;
  seq?: number;
  /** Tokens already decoded: the context check covers position + seq. */
  position?: number;
  mask?: Uint8Array;
  inputs?: ForwardOptions["inputs"];
  src?: ForwardOptions["src"];
}

function checkCount(what: string, v: number, min: number, max?: number): void {
  if (!Number.isInteger(v) || v < min) throw new ModelInputError(`${what} must be an integer >= ${min}, got ${v}`);
  if (max !== undefined && v > max) throw new ModelInputError(`${what} is ${v}, beyond its bound of ${max}`);
}

/**
 * Validates and binds the named inputs (`which`) of a request. Bool (padding) inputs default to
 * all real; other int inputs are required.
 */
export function bindInputs(m: ModelInfo, plan: InputPlan, req: InputRequest, which: Iterable<string>): Map<string, Tensor> {
  const names = new Set(which);
  checkCount("batch", req.batch, 1, plan.batchMax);
  const dims = new Map<string | number, number>();
  const bindDims = (info: InputInfo, values: number[], labels: string[]): void => {
    info.shape.forEach((d, i) => {
      if (typeof d === "number" && d !== values[i]) {
        throw new ModelInputError(`input "${info.name}": ${labels[i]} is ${values[i]}, but the spec fixes it at ${d}`);
      }
      dims.set(d, values[i]);
    });
  };

  if (names.has(plan.tokens.name)) {
    if (req.tokens === undefined || req.seq === undefined) throw new ModelInputError(`input "${plan.tokens.name}" is missing`);
    const position = req.position ?? 0;
    checkCount(`input "${plan.tokens.name}": seq`, req.seq, 1);
    if (plan.context !== undefined && position + req.seq > plan.context) {
      throw new ModelInputError(
        position === 0
          ? `input "${plan.tokens.name}": seq ${req.seq} exceeds the context bound of ${plan.context}`
          : `input "${plan.tokens.name}": ${req.seq} more token(s) at position ${position} would exceed the context bound of ${plan.context}`,
      );
    }
    bindDims(plan.tokens, [req.batch, req.seq], ["batch", "seq"]);
  } else if (typeof plan.tokens.shape[0] === "string") {
    dims.set(plan.tokens.shape[0], req.batch);
  }

  const source = plan.source;
  if (source && names.has(source.name)) {
    if (req.src === undefined) {
      throw new ModelInputError(`model ${m.name} has an encoder: pass src with the source tokens (input "${source.name}")`);
    }
    checkCount(`input "${source.name}": src.seq`, req.src.seq, 1, plan.sourceContext);
    bindDims(source, [req.batch, req.src.seq], ["batch", "src.seq"]);
  } else if (!source && req.src !== undefined) {
    throw new ModelInputError(`model ${m.name} has no encoder, but src was given`);
  }

  // A mask the graph cannot apply must not be dropped silently: the logits would ignore it.
  if (req.mask !== undefined && plan.mask === undefined) {
    throw new ModelInputError(`mask was given, but model ${m.name} declares no bool padding input over "${plan.tokens.name}"`);
  }
  if (req.src?.mask !== undefined && plan.sourceMask === undefined) {
    throw new ModelInputError(`src.mask was given, but model ${m.name} declares no bool padding input over "${source?.name}"`);
  }

  const known = new Set(m.inputs.map((i) => i.name));
  for (const name of Object.keys(req.inputs ?? {})) {
    if (!known.has(name)) {
      throw new ModelInputError(`unknown input "${name}"; model ${m.name} has inputs ${[...known].map((n) => `"${n}"`).join(", ")}`);
    }
  }

  const out = new Map<string, Tensor>();
  for (const info of m.inputs) {
    if (!names.has(info.name)) continue;
    const given = supplied(plan, req, info.name);
    const shape = info.shape.map((d) => {
      const n = typeof d === "number" ? d : dims.get(d);
      if (n === undefined) throw new ModelInputError(`input "${info.name}": cannot tell the size of its dim "${d}"`);
      return n;
    });
    out.set(info.name, checkInput(info, given, shape, plan.vocab.get(info.name)));
  }
  return out;
}

function supplied(plan: InputPlan, req: InputRequest, name: string): Int32Array | Uint8Array | undefined {
  // Own keys only: an input named `constructor` or `__proto__` must not find Object.prototype's.
  const byName = req.inputs !== undefined && Object.hasOwn(req.inputs, name) ? req.inputs[name] : undefined;
  const pick = (direct: Int32Array | Uint8Array | undefined, label: string) => {
    if (direct !== undefined && byName !== undefined) {
      throw new ModelInputError(`input "${name}" is given twice, as ${label} and as inputs.${name}`);
    }
    return direct ?? byName;
  };
  if (name === plan.tokens.name) return pick(req.tokens, "the tokens argument");
  if (name === plan.source?.name) return pick(req.src?.tokens, "src.tokens");
  if (name === plan.mask?.name) return pick(req.mask, "mask");
  if (name === plan.sourceMask?.name) return pick(req.src?.mask, "src.mask");
  return byName;
}

function checkInput(info: InputInfo, data: Int32Array | Uint8Array | undefined, shape: number[], vocab: number | undefined): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const where = `input "${info.name}"`;
  if (info.dtype === "f32") throw new ModelInputError(`${where}: f32 inputs are not supported`);
  if (data === undefined) {
    // An absent padding mask means every token is real.
    if (info.dtype === "bool") return { data: new Uint8Array(n).fill(1), shape };
    throw new ModelInputError(`${where} is required (int[${info.shape.join(", ")}]) but was not given`);
  }
  if (data.length !== n) {
    throw new ModelInputError(`${where} has length ${data.length}, expected ${n} for shape [${shape.join(", ")}]`);
  }
  if (info.dtype === "bool") {
    if (!(data instanceof Uint8Array)) throw new ModelInputError(`${where} must be a Uint8Array of 0/1`);
    const bad = data.findIndex((x) => x > 1);
    if (bad >= 0) throw new ModelInputError(`${where}[${bad}] is ${data[bad]}; a mask holds 0 (padding) or 1 (real)`);
    return { data, shape };
  }
  if (!(data instanceof Int32Array) && !(data instanceof Uint8Array)) {
    throw new ModelInputError(`${where} must be an Int32Array`);
  }
  const ids = data instanceof Int32Array ? data : Int32Array.from(data);
  if (vocab !== undefined) {
    const bad = ids.findIndex((x) => x < 0 || x >= vocab);
    if (bad >= 0) throw new ModelInputError(`${where}[${bad}] is ${ids[bad]}, outside the vocabulary [0, ${vocab})`);
  }
  return { data: ids, shape };
}
