/**
 * A torchinfo / Keras model.summary() style breakdown of a checked model at a concrete batch
 * and sequence length: per-row parameters, forward FLOPs and f32 activation memory.
 *
 * Parameters come from weightLayout, so the totals equal paramCount exactly. FLOPs and
 * activations are estimates meant for comparing specs, not for predicting wall time:
 *   - a matmul [m, k] × [k, n] counts 2·m·k·n; bias adds and residual adds are 1 per element;
 *   - norms count 5 flops per element (mean, variance, normalise, scale, shift), activations
 *     per element: relu 1, silu 5, gelu / gelu_tanh 8, gated variants 1 more for the product;
 *   - embedding lookups are gathers and count 0; dropout is the identity at inference.
 * Activation bytes are the f32 size of each row's output tensor; softmax attention without a
 * window, sparsity or linearisation also counts the batch×heads×seq×keys score matrix a naive
 * kernel materialises (flagged in the row's note), since that is what dominates memory at
 * long context. Fused kernels (flash attention, our reference kernel) never hold it.
 */
import { encoderSection, layerKindOf, layersPerKind, outputSection, type AttentionInfo, type MlpActivation, type MlpInfo, type ModelInfo, type SectionInfo, type Sublayer } from "../model/model.ts";
import { isGated, layerGroup, numel, sectionPrefix, sublayerNames, weightLayout, type TensorSpec } from "../model/weights-layout.ts";
import { oneLayerPerStack } from "../check/model-size.ts";
import { describeRopeScaling } from "../model/rope.ts";
import { scoredPairs } from "./attention-pairs.ts";
import { ssmCost } from "./ssm-cost.ts";

export interface SummaryRow {
  name: string;
  kind: string;
  outputShape: Array<number | string>;
  params: number;
  flops: number;
  activationBytes: number;
  /** 1 for steps, layers and the head; 2 for a layer's sublayers. */
  depth: number;
  /** Caveat on the row's figures, e.g. that a naive score matrix is counted. */
  note?: string;
  /**
   * How many identical layers the row stands for, when a stack is too deep to list layer by
   * layer (more than EXPAND_LAYERS); its figures are then the total over all of them.
   */
  repeat?: number;
}

/**
 * Stacks up to this deep get a row per layer, as torchinfo prints them; a deeper one is one
 * row for all its (identical) layers, so `layers = 1e8` costs a row, not 10^8 of them.
 */
export const EXPAND_LAYERS = 64;

export interface Summary {
  model: string;
  batch: number;
  seq: number;
  /** Source (encoder) sequence length; present only for encoder-decoder models. */
  srcSeq?: number;
  rows: SummaryRow[];
  params: number;
  flops: number;
  activationBytes: number;
  weightBytes: number;
}

const F32 = 4;
const NORM_FLOPS = 5;
const SOFTMAX_FLOPS = 5; // max, subtract, exp, sum, divide
const ACT_FLOPS: Record<MlpActivation, number> = { relu: 1, silu: 5, gelu: 8, gelu_tanh: 8, swiglu: 6, geglu: 9, geglu_tanh: 9 };

function attentionKind(a: AttentionInfo): string {
  const quals = [a.causal ? "causal" : "", a.window !== undefined ? `window ${a.window}` : ""];
  if (a.sparse) quals.push(a.sparse.kind === "block" ? "block-sparse" : "strided");
  if (a.linear) quals.push(`linear (${a.linear.featureMap})`);
  const kind = [...quals.filter((q) => q), a.source === "cross" ? "cross-attention" : "self-attention"].join(" ");
  const extras = [a.scale !== undefined ? `scale ${a.scale}` : "", a.softcap !== undefined ? `softcap ${a.softcap}` : ""].filter((q) => q);
  return extras.length ? `${kind}, ${extras.join(", ")}` : kind;
}

type Cost = { flops: number; activationBytes: number; note?: string };

/** One attention sublayer over batch×seq queries and batch×keys keys (keys = seq for self). */
function attentionCost(a: AttentionInfo, width: number, batch: number, seq: number, keys: number): Cost {
  const T = batch * seq;
  const Tk = batch * keys;
  const qDim = a.heads * a.headDim;
  const kvDim = a.kvHeads * a.headDim;
  const hd = a.headDim;
  let flops = 2 * T * width * qDim + 2 * 2 * Tk * a.sourceDim * kvDim + 2 * T * qDim * width;
  flops += (a.qkvBias ? T * qDim + 2 * Tk * kvDim : 0) + (a.outBias ? T * width : 0);
  flops += 3 * (T * a.heads + Tk * a.kvHeads) * a.ropeDim; // RoPE: two mults and an add per channel
  let activationBytes = T * width * F32;
  let note: string | undefined;
  if (a.linear) {
    // Kernelised, per head: building the kᵀv state (2·keys·hd²) and the queries' readout
    // (2·seq·hd²), i.e. 4·seq·hd² for self-attention; the O(seq·hd) feature maps and
    // normaliser are noise next to that. No score matrix ever exists.
    flops += batch * a.heads * 2 * (seq + keys) * hd * hd;
  } else {
    const pairs = scoredPairs(a, seq, keys);
    // QKᵀ and the weighted sum of V are 2·hd flops per pair each, plus softmax and ALiBi's add.
    // Soft-capping costs a divide, a tanh and a multiply per score (counted as 3, like the head's).
    flops += batch * a.heads * pairs * (4 * hd + SOFTMAX_FLOPS + (a.alibi ? 1 : 0) + (a.softcap !== undefined ? 3 : 0));
    if (a.window === undefined && !a.sparse) {
      activationBytes += batch * a.heads * seq * keys * F32;
      note = `includes naive ${a.heads}×${seq}×${keys} score matrix`;
    }
  }
  if (a.norm) flops += NORM_FLOPS * T * width;
  flops += T * width; // residual add
  return { flops, activationBytes, note };
}

function mlpFlops(mlp: MlpInfo, width: number, T: number): number {
  const up = isGated(mlp) ? 2 : 1; // gate and up both project to hidden
  let flops = (up + 1) * 2 * T * width * mlp.hidden + ACT_FLOPS[mlp.act] * T * mlp.hidden;
  if (mlp.bias) flops += up * T * mlp.hidden + T * width;
  return flops + (mlp.norm ? NORM_FLOPS * T * width : 0) + T * width; // norm, residual add
}

type ParamsOf = (group: string, prefix?: string) => number;

function sectionRows(
  s: SectionInfo,
  paramsOf: ParamsOf,
  batch: number,
  seq: number,
  srcSeq: number,
): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const p = sectionPrefix(s);
  const T = batch * seq;
  const w = s.width;
  const stream = (): Array<number | string> => [batch, seq, w];
  const streamBytes = T * w * F32;
  let embeds = 0;
  let norms = 0;
  let dropouts = 0;
  for (const step of s.steps) {
    const base = { depth: 1, activationBytes: streamBytes, outputShape: stream() };
    switch (step.op) {
      case "embed": {
        const name = `${p}embed.${step.input}`;
        // Gathers are free; scaling and summing a second table into the stream are not.
        const flops = (step.scale !== 1 ? T * step.dim : 0) + (embeds++ > 0 ? T * step.dim : 0);
        rows.push({ ...base, name, kind: "embedding", params: paramsOf(name), flops, outputShape: [batch, seq, step.dim], activationBytes: T * step.dim * F32 });
        break;
      }
      case "position": {
        const pos = step.position;
        const added = pos.kind === "learned" || pos.kind === "sinusoidal"; // RoPE/ALiBi act in attention
        const scaled = pos.kind === "rope" && pos.scaling ? `, ${describeRopeScaling(pos.scaling)} scaling` : "";
        const partial = pos.kind === "rope" && pos.fraction < 1 ? `, ${pos.fraction} of each head` : "";
        rows.push({ ...base, name: `${p}position`, kind: `${pos.kind} positions${partial}${scaled}`, params: paramsOf(`${p}position`), flops: added ? T * w : 0 });
        break;
      }
      case "norm": {
        const name = `${p}norm.${norms++}`;
        const kind = step.norm.kind === "rms" ? "RMSNorm" : "LayerNorm";
        rows.push({ ...base, name, kind, params: paramsOf(name), flops: NORM_FLOPS * T * w });
        break;
      }
      case "dropout":
        rows.push({ ...base, name: `${p}dropout.${dropouts++}`, kind: `dropout ${step.p}`, params: 0, flops: 0 });
        break;
      case "stack": {
        const stack = step.stack;
        const decoderLike = s.role === "decoder" || (s.role === "main" && stack.sublayers.some((x) => x.kind === "ssm" || (x.kind === "attention" && x.causal)));
        const kindRows = stack.kinds.map((_, k) => layerKindRows(s, stack, k, paramsOf, batch, seq, srcSeq));
        const several = stack.kinds.length > 1;
        const kindText = (k: number) => `${decoderLike ? "decoder" : "encoder"} layer${several ? ` (${stack.kinds[k].name})` : ""}`;
        // The layers of a kind are identical: cost one, then list it per layer or once for all.
        const emit = (group: string, times: number, k: number) => {
          const children: SummaryRow[] = kindRows[k].rows.map((c) => ({ ...c, name: `${group}.${c.name}`, depth: 2, outputShape: stream(), params: c.params * times, flops: c.flops * times, activationBytes: c.activationBytes * times, ...(times > 1 ? { repeat: times } : {}) }));
          const sum = (f: (r: SummaryRow) => number) => children.reduce((a, r) => a + f(r), 0);
          rows.push({ ...base, name: group, kind: times > 1 ? `${kindText(k)} × ${formatCount(times)}` : kindText(k), params: kindRows[k].params * times, flops: sum((r) => r.flops), activationBytes: sum((r) => r.activationBytes), ...(times > 1 ? { repeat: times } : {}) });
          rows.push(...children);
        };
        if (stack.count <= EXPAND_LAYERS) for (let i = 0; i < stack.count; i++) emit(layerGroup(s, stack, i), 1, layerKindOf(stack, i));
        else if (!several) emit(`${layerGroup(s, stack, 0)}-${stack.count - 1}`, stack.count, 0);
        // A deep stack of several kinds: one row per kind, for all its layers.
        else layersPerKind(stack).forEach((times, k) => emit(`${sectionPrefix(s)}${stack.name}[${stack.kinds[k].name}]`, times, k));
        break;
      }
    }
  }
  return rows;
}

/**
 * The sublayer rows of one layer of kind k and the layer's parameters. Layer k of
 * oneLayerPerStack(m) is of kind k, so its group holds that kind's tensors.
 */
function layerKindRows(s: SectionInfo, stack: Extract<SectionInfo["steps"][number], { op: "stack" }>["stack"], k: number, paramsOf: ParamsOf, batch: number, seq: number, srcSeq: number): { rows: Array<Omit<SummaryRow, "depth" | "outputShape">>; params: number } {
  const group = layerGroup(s, stack, k);
  const T = batch * seq;
  const w = s.width;
  const streamBytes = T * w * F32;
  const kind = stack.kinds[k];
  const names = sublayerNames(kind);
  const rows = kind.sublayers.map((sub, j) => {
    const name = names[j];
    const params = paramsOf(group, `${group}.${name}.`) + paramsOf(group, `${group}.${name}_norm.`) + paramsOf(group, `${group}.${name}_post_norm.`);
    const extra = extraNormFlops(sub, T, w);
    if (sub.kind === "mlp") return { name, params, kind: `${sub.act} mlp`, flops: mlpFlops(sub, w, T) + extra, activationBytes: streamBytes };
    if (sub.kind === "ssm") {
      const c = ssmCost(sub, w, T);
      return { name, params, kind: c.kind, flops: c.flops + extra, activationBytes: c.activationBytes };
    }
    const keys = sub.source === "cross" ? srcSeq : seq;
    const { flops, activationBytes, note } = attentionCost(sub, w, batch, seq, keys);
    return { name, params, kind: `${attentionKind(sub)}${sub.qkNorm ? ", q/k norm" : ""}`, flops: flops + extra, activationBytes, ...(note ? { note } : {}) };
  });
  return { rows, params: paramsOf(group) };
}

/** A sandwich's post-norm of the output and the per-head q/k norms. */
function extraNormFlops(sub: Sublayer, T: number, width: number): number {
  let flops = sub.postNorm ? NORM_FLOPS * T * width : 0;
  if (sub.kind === "attention" && sub.qkNorm) flops += NORM_FLOPS * T * (sub.heads + sub.kvHeads) * sub.headDim;
  return flops;
}

function headRow(m: ModelInfo, s: SectionInfo, paramsOf: ParamsOf, batch: number, seq: number): SummaryRow {
  const T = batch * seq;
  const w = s.width;
  const h = m.head;
  let flops = 2 * T * w * h.vocab + (h.bias ? T * h.vocab : 0);
  if (h.transform) flops += 2 * T * w * w + T * w + ACT_FLOPS[h.transform.act] * T * w + NORM_FLOPS * T * w;
  // Soft-capping: a divide, a tanh and a multiply per logit.
  if (h.softcap !== undefined) flops += 3 * T * h.vocab;
  const kind = `${h.kind === "tied" ? "tied " : ""}LM head${h.transform ? " + transform" : ""}${h.softcap !== undefined ? ` + softcap ${h.softcap}` : ""}`;
  return { name: "head", kind, outputShape: [batch, seq, h.vocab], params: paramsOf("head"), flops, activationBytes: T * h.vocab * F32, depth: 1 };
}

function positiveInt(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`summarize: ${what} must be a positive integer, got ${n}`);
  return n;
}

export function summarize(m: ModelInfo, opts: { seq: number; batch?: number; srcSeq?: number }): Summary {
  const batch = positiveInt("batch", opts.batch ?? 1);
  const seq = positiveInt("seq", opts.seq);
  const hasEncoder = encoderSection(m) !== undefined;
  const srcSeq = positiveInt("srcSeq", opts.srcSeq ?? seq);
  // One layer per stack: a stack's layers have the same tensors (see sectionRows).
  const groups = new Map<string, TensorSpec[]>();
  for (const t of weightLayout(oneLayerPerStack(m))) {
    const list = groups.get(t.group);
    if (list) list.push(t);
    else groups.set(t.group, [t]);
  }
  // Every top-level row is named after its group, so totals equal paramCount; a sublayer
  // row takes the tensors of its layer's group under its own name prefix.
  const paramsOf: ParamsOf = (group, prefix = `${group}.`) =>
    (groups.get(group) ?? []).reduce((a, t) => (t.name.startsWith(prefix) ? a + numel(t.shape) : a), 0);
  const rows: SummaryRow[] = [];
  for (const s of m.sections) {
    rows.push(...sectionRows(s, paramsOf, batch, s.role === "encoder" ? srcSeq : seq, srcSeq));
  }
  rows.push(headRow(m, outputSection(m), paramsOf, batch, seq));
  const top = rows.filter((r) => r.depth === 1);
  const total = (f: (r: SummaryRow) => number) => top.reduce((a, r) => a + f(r), 0);
  const params = total((r) => r.params);
  const [flops, activationBytes] = [total((r) => r.flops), total((r) => r.activationBytes)];
  return { model: m.name, batch, seq, ...(hasEncoder ? { srcSeq } : {}), rows, params, flops, activationBytes, weightBytes: params * F32 };
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function scaled(n: number, base: number, units: string[]): string {
  let i = 0;
  while (n >= base && i < units.length - 1) (n /= base), i++;
  return i === 0 ? `${Math.round(n)} ${units[0]}` : `${n.toFixed(1)} ${units[i]}`;
}

/** SI units: FLOP counts are conventionally decimal (GFLOP = 1e9). */
export const formatFlops = (n: number): string => scaled(n, 1000, ["FLOP", "KFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP"]);
/** Binary units, as memory is allocated. */
export const formatBytes = (n: number): string => scaled(n, 1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]);

export function renderSummaryText(s: Summary): string {
  const header = ["Layer (type)", "Output Shape", "Param #", "FLOPs", "Activations"];
  const cells = s.rows.map((r) => [
    `${"  ".repeat(r.depth - 1)}${r.name} (${r.kind})${r.note ? " *" : ""}`,
    `[${r.outputShape.join(", ")}]`,
    formatCount(r.params),
    formatFlops(r.flops),
    formatBytes(r.activationBytes),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const gap = "   ";
  // Names and shapes read left to right; numbers line up on their last digit.
  const line = (row: string[]) =>
    row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(gap).trimEnd();
  const ruleWidth = widths.reduce((a, b) => a + b, 0) + gap.length * (widths.length - 1);
  const thick = "=".repeat(ruleWidth);
  const dims = `batch ${s.batch}, seq ${s.seq}${s.srcSeq !== undefined ? `, src seq ${s.srcSeq}` : ""}`;
  const out = [`Model: ${s.model} (${dims})`, thick, line(header), thick, ...cells.map(line), thick];
  out.push(
    `Total params: ${formatCount(s.params)}`,
    `Weights: ${formatBytes(s.weightBytes)} (f32)`,
    `FLOPs (forward): ${formatFlops(s.flops)}`,
    `Activations: ${formatBytes(s.activationBytes)} (f32)`,
  );
  if (s.rows.some((r) => r.note)) out.push("* counts the heads×seq×keys score matrix a naive kernel materialises");
  out.push(thick);
  return out.join("\n") + "\n";
}

export function summaryJson(s: Summary): object {
  return {
    model: s.model,
    batch: s.batch,
    seq: s.seq,
    ...(s.srcSeq !== undefined ? { srcSeq: s.srcSeq } : {}),
    params: s.params,
    flops: s.flops,
    activationBytes: s.activationBytes,
    weightBytes: s.weightBytes,
    // Fixed key order, so the JSON diffs cleanly between runs and versions.
    layers: s.rows.map(({ name, kind, outputShape, params, flops, activationBytes, depth, note, repeat }) => ({
      ...{ name, kind, outputShape: [...outputShape], params, flops, activationBytes, depth },
      ...(repeat !== undefined ? { repeat } : {}),
      ...(note !== undefined ? { note } : {}),
    })),
  };
}
