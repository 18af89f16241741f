/**
 * What a page hands trainStep() / evaluate() → a training Batch (src/train/engine.ts), checked
 * with the same rules and messages as forward() (src/runtime/inputs.ts: token ids in the
 * vocabulary, the context bound, mask and src shapes, extra inputs by name), plus the targets'.
 *
 * Two forms:
 *   - next-token windows: `tokens` [batch, seq + 1] (or a bare Int32Array, one window); the model
 *     reads tokens[:, :-1] and predicts tokens[:, 1:], and a `mask` [batch, seq + 1] marks
 *     padding, which is neither read as real nor predicted;
 *   - explicit targets: `tokens` and `targets` [batch, seq], a negative target ignored (e.g. a
 *     prompt's positions in instruction tuning, or padding), `mask` [batch, seq].
 */
import { encoderSection, type ModelInfo } from "../../model/model.ts";
import { bindInputs, type InputPlan } from "../../runtime/inputs.ts";
import { ModelInputError, type ForwardOptions } from "../../runtime/model-api.ts";
import { UNBOUNDED_CONTEXT } from "../../runtime/model.ts";
import type { Graph } from "../../ir/ir.ts";
import type { BackwardProgram } from "../../train/autodiff.ts";
import { bindBatch } from "../../train/data.ts";
import type { Batch } from "../../train/engine.ts";

export interface TrainBatchObject {
  tokens: Int32Array;
  /** [batch, seq], same layout as tokens; negative = ignored. Absent: next-token windows. */
  targets?: Int32Array;
  /** Sequences in `tokens` (default 1). */
  batch?: number;
  mask?: Uint8Array;
  inputs?: ForwardOptions["inputs"];
  src?: ForwardOptions["src"];
}
export type TrainBatch = Int32Array | TrainBatchObject;

const BATCH_KEYS = new Set(["tokens", "targets", "batch", "mask", "inputs", "src"]);

/** [batch, n] → its first `n - 1` columns, and its last `n - 1`. */
function shift<T extends Int32Array | Uint8Array>(a: T, batch: number, n: number): [T, T] {
  const make = () => new (a.constructor as new (len: number) => T)(batch * (n - 1));
  const head = make();
  const tail = make();
  for (let b = 0; b < batch; b++) {
    head.set(a.subarray(b * n, b * n + n - 1), b * (n - 1));
    tail.set(a.subarray(b * n + 1, (b + 1) * n), b * (n - 1));
  }
  return [head, tail];
}

/**
 * Why next-token windows would let the model see the answers, or undefined when they do not: a
 * bidirectional self-attention in the section feeding the head. `program`: the training or the
 * inference program (the same attention nodes), so index.d.ts can say it too.
 */
export function windowProblem(m: ModelInfo, program: Graph): string | undefined {
  const phase = encoderSection(m) ? "decoder" : undefined;
  const n = program.nodes.find((x) => (x.op === "attention" || x.op === "linear_attention") && x.source === "self" && !x.causal && (phase === undefined || x.phase === phase));
  if (n === undefined || (n.op !== "attention" && n.op !== "linear_attention")) return undefined;
  return `model ${m.name} has bidirectional attention ("${n.cache}"), so next-token windows would show it the answers; pass explicit targets`;
}

export function trainBatch(m: ModelInfo, plan: InputPlan, program: BackwardProgram, given: TrainBatch, what: string): Batch {
  if (Array.isArray(given) || (ArrayBuffer.isView(given) && !(given instanceof Int32Array))) {
    throw new ModelInputError(`${what}: tokens must be an Int32Array, got ${Array.isArray(given) ? "an Array" : `a ${(given as ArrayBufferView).constructor.name}`}`);
  }
  const o: TrainBatchObject = given instanceof Int32Array ? { tokens: given } : given;
  if (o === null || typeof o !== "object") throw new ModelInputError(`${what}: pass an Int32Array of tokens or { tokens, targets?, batch?, mask?, inputs?, src? }`);
  for (const k of Object.keys(o)) if (!BATCH_KEYS.has(k)) throw new ModelInputError(`${what}: unknown field "${k}"; a batch has tokens, targets, batch, mask, inputs, src`);
  if (!(o.tokens instanceof Int32Array)) throw new ModelInputError(`${what}: tokens must be an Int32Array`);
  const batch = o.batch ?? 1;
  if (!Number.isSafeInteger(batch) || batch < 1) throw new ModelInputError(`${what}: batch must be an integer >= 1, got ${String(batch)}`);
  if (o.tokens.length % batch !== 0) throw new ModelInputError(`${what}: tokens has length ${o.tokens.length}, not a multiple of batch ${batch}`);
  if (o.mask !== undefined && plan.mask === undefined) throw new ModelInputError(`${what}: mask was given, but model ${m.name} declares no bool padding input over "${plan.tokens.name}"`);
  const width = o.tokens.length / batch;
  let tokens = o.tokens;
  let mask = o.mask;
  let targets: Int32Array;
  if (o.targets === undefined) {
    const problem = windowProblem(m, program.forward);
    if (problem) throw new ModelInputError(`${what}: ${problem}`);
    if (width < 2) throw new ModelInputError(`${what}: next-token windows need at least 2 tokens per sequence (seq + 1), got ${width}`);
    // Checked before the shift, so that a message's index is one into the caller's array.
    const vocab = plan.vocab.get(plan.tokens.name) ?? m.head.vocab;
    const bad = o.tokens.findIndex((x) => x < 0 || x >= vocab);
    if (bad >= 0) throw new ModelInputError(`${what}: input "${plan.tokens.name}"[${bad}] is ${o.tokens[bad]}, outside the vocabulary [0, ${vocab})`);
    if (mask !== undefined && mask.length !== o.tokens.length) throw new ModelInputError(`${what}: mask has length ${mask.length}, expected ${o.tokens.length} (the windows' [batch, seq + 1])`);
    [tokens, targets] = shift(o.tokens, batch, width);
    if (mask !== undefined) {
      const [head, tail] = shift(mask, batch, width);
      mask = head;
      targets = targets.map((t, i) => (tail[i] === 1 ? t : -1));
    }
  } else {
    if (!(o.targets instanceof Int32Array)) throw new ModelInputError(`${what}: targets must be an Int32Array`);
    if (o.targets.length !== o.tokens.length) throw new ModelInputError(`${what}: targets has length ${o.targets.length}, tokens ${o.tokens.length}; they are both [batch, seq]`);
    targets = o.targets;
  }
  const seq = tokens.length / batch;
  if (plan.context === undefined && seq > UNBOUNDED_CONTEXT) throw new ModelInputError(`${what}: seq ${seq} exceeds the context of ${UNBOUNDED_CONTEXT} that a spec without a bound gets`);
  const vocab = m.head.vocab;
  const bad = targets.findIndex((t) => t >= vocab);
  if (bad >= 0) throw new ModelInputError(`${what}: targets[${bad}] is ${targets[bad]}, outside the vocabulary [0, ${vocab}) (a negative target is ignored)`);
  if (!targets.some((t) => t >= 0)) throw new ModelInputError(`${what}: every target is ignored (negative or padding): there is nothing to learn from`);
  const inputs = bindInputs(m, plan, { batch, tokens, seq, ...(mask !== undefined ? { mask } : {}), ...(o.inputs !== undefined ? { inputs: o.inputs } : {}), ...(o.src !== undefined ? { src: o.src } : {}) }, m.inputs.map((i) => i.name));
  return bindBatch(m, inputs as Map<string, { data: Int32Array | Uint8Array; shape: number[] }>, targets);
}
