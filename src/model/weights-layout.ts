/**
 * The one source of truth for which weight tensors a checked model has, under our native
 * names. Loaders, writers, inspect and the parameter count all derive from this list, so a
 * tensor added here shows up everywhere at once (and a tensor missing here is missing
 * everywhere, which tests catch through the published parameter counts).
 *
 * Shapes follow PyTorch's nn.Linear layout, [out, in], so checkpoints map without transposes.
 */
import {
  layerSublayers,
  outputSection,
  type AttentionInfo,
  type MlpInfo,
  type ModelInfo,
  type NormInfo,
  type SectionInfo,
  type SsmInfo,
  type StackInfo,
  type Sublayer,
  type Step,
} from "./model.ts";

export interface TensorSpec {
  name: string;
  shape: number[];
  /** The inspect row the tensor is counted under, e.g. "decoder.3", "embed.tokens", "head". */
  group: string;
}

/** Name prefix of a section's tensors; the main section has none so decoder-only names stay short. */
export function sectionPrefix(s: SectionInfo): string {
  return s.role === "main" ? "" : `${s.role}.`;
}

function baseSublayerName(sub: Sublayer): string {
  if (sub.kind === "mlp") return "mlp";
  if (sub.kind === "ssm") return "ssm";
  return sub.source === "cross" ? "cross_attn" : "attn";
}

/**
 * Names of one layer's sublayers, in order (a layer kind's, or a one-kind stack's). Repeats get
 * a numeric suffix from the second occurrence on (attn, attn1, attn2) so names stay stable when
 * a spec appends a sublayer.
 */
export function sublayerNames(layer: { readonly sublayers: readonly Sublayer[] }): string[] {
  const seen = new Map<string, number>();
  return layer.sublayers.map((sub) => {
    const base = baseSublayerName(sub);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}${n}`;
  });
}

/** Row name of layer i of a stack: what TensorSpec.group holds for its tensors. */
export function layerGroup(s: SectionInfo, stack: StackInfo, i: number): string {
  return `${sectionPrefix(s)}${stack.name}.${i}`;
}

/**
 * The embedding table a tied head reads: the output section's first embed step. Undefined
 * when the head is untied or (for a malformed model) there is no table to tie to.
 */
export function tiedEmbeddingName(m: ModelInfo): string | undefined {
  if (m.head.kind !== "tied") return undefined;
  const s = outputSection(m);
  const e = s.steps.find((st) => st.op === "embed");
  return e && e.op === "embed" ? embedTableName(m, s, e) : undefined;
}

/** The tensor an embed step reads: its own table, or the shared one it is tied to. */
export function embedTableName(m: ModelInfo, s: SectionInfo, e: Extract<Step, { op: "embed" }>): string {
  if (e.tie) {
    const owner = m.sections.find((x) => x.role === e.tie!.role)!;
    return `${sectionPrefix(owner)}embed.${e.tie.input}.weight`;
  }
  return `${sectionPrefix(s)}embed.${e.input}.weight`;
}

type Emit = (name: string, shape: number[]) => void;

function normTensors(emit: Emit, name: string, norm: NormInfo, width: number): void {
  emit(`${name}.weight`, [width]);
  if (norm.bias) emit(`${name}.bias`, [width]);
}

function attentionTensors(emit: Emit, p: string, a: AttentionInfo, width: number): void {
  // Qwen3's order: the four projections, then q_norm and k_norm.
  const qkNorm = () => {
    if (!a.qkNorm) return;
    emit(`${p}q_norm.weight`, [a.headDim]);
    emit(`${p}k_norm.weight`, [a.headDim]);
  };
  const qDim = a.heads * a.headDim;
  const kvDim = a.kvHeads * a.headDim;
  // Interleave weight and bias per projection, as PyTorch's state_dict orders them.
  emit(`${p}q.weight`, [qDim, width]);
  if (a.qkvBias) emit(`${p}q.bias`, [qDim]);
  emit(`${p}k.weight`, [kvDim, a.sourceDim]);
  if (a.qkvBias) emit(`${p}k.bias`, [kvDim]);
  emit(`${p}v.weight`, [kvDim, a.sourceDim]);
  if (a.qkvBias) emit(`${p}v.bias`, [kvDim]);
  emit(`${p}o.weight`, [width, qDim]);
  if (a.outBias) emit(`${p}o.bias`, [width]);
  qkNorm();
}

export function isGated(mlp: MlpInfo): boolean {
  return mlp.act === "swiglu" || mlp.act === "geglu" || mlp.act === "geglu_tanh";
}

function mlpTensors(emit: Emit, p: string, mlp: MlpInfo, width: number): void {
  const h = mlp.hidden;
  if (isGated(mlp)) {
    emit(`${p}gate.weight`, [h, width]);
    if (mlp.bias) emit(`${p}gate.bias`, [h]);
  }
  emit(`${p}up.weight`, [h, width]);
  if (mlp.bias) emit(`${p}up.bias`, [h]);
  emit(`${p}down.weight`, [width, h]);
  if (mlp.bias) emit(`${p}down.bias`, [width]);
}

/** Mamba-1's mixer under Hugging Face MambaMixer's names (conv1d keeps nn.Conv1d's [channels, 1, width]). */
function ssmTensors(emit: Emit, p: string, s: SsmInfo, width: number): void {
  const e = s.inner;
  emit(`${p}in_proj.weight`, [2 * e, width]);
  if (s.bias) emit(`${p}in_proj.bias`, [2 * e]);
  emit(`${p}conv1d.weight`, [e, 1, s.convWidth]);
  if (s.convBias) emit(`${p}conv1d.bias`, [e]);
  emit(`${p}x_proj.weight`, [s.dtRank + 2 * s.stateSize, e]);
  emit(`${p}dt_proj.weight`, [e, s.dtRank]);
  emit(`${p}dt_proj.bias`, [e]);
  emit(`${p}A_log`, [e, s.stateSize]);
  emit(`${p}D`, [e]);
  emit(`${p}out_proj.weight`, [width, e]);
  if (s.bias) emit(`${p}out_proj.bias`, [width]);
}

function layerTensors(emit: Emit, prefix: string, stack: StackInfo, layer: number, width: number): void {
  const sublayers = layerSublayers(stack, layer);
  const names = sublayerNames({ sublayers });
  sublayers.forEach((sub, j) => {
    const name = names[j];
    // List each norm where the data meets it: before the sublayer (pre, sandwich) or after (post, sandwich).
    const norm = () => sub.norm && normTensors(emit, `${prefix}${name}_norm`, sub.norm, width);
    if (stack.placement !== "post") norm();
    if (sub.kind === "attention") attentionTensors(emit, `${prefix}${name}.`, sub, width);
    else if (sub.kind === "ssm") ssmTensors(emit, `${prefix}${name}.`, sub, width);
    else mlpTensors(emit, `${prefix}${name}.`, sub, width);
    if (stack.placement === "post") norm();
    if (sub.postNorm) normTensors(emit, `${prefix}${name}_post_norm`, sub.postNorm, width);
  });
}

function sectionTensors(out: TensorSpec[], s: SectionInfo): void {
  const p = sectionPrefix(s);
  let normIndex = 0;
  for (const step of s.steps) {
    switch (step.op) {
      case "embed": {
        const group = `${p}embed.${step.input}`;
        // A tied embedding reads another section's table and owns no tensor.
        if (!step.tie) out.push({ name: `${group}.weight`, shape: [step.vocab, step.dim], group });
        break;
      }
      case "position":
        if (step.position.kind === "learned") {
          out.push({ name: `${p}position.weight`, shape: [step.position.length, s.width], group: `${p}position` });
        }
        break;
      case "norm": {
        const group = `${p}norm.${normIndex++}`;
        normTensors((name, shape) => out.push({ name, shape, group }), group, step.norm, s.width);
        break;
      }
      case "dropout":
        break;
      case "stack":
        for (let i = 0; i < step.stack.count; i++) {
          const group = layerGroup(s, step.stack, i);
          layerTensors((name, shape) => out.push({ name, shape, group }), `${group}.`, step.stack, i, s.width);
        }
        break;
    }
  }
}

/** Every weight tensor of the model, in a deterministic order: sections in order, then the head. */
export function weightLayout(m: ModelInfo): TensorSpec[] {
  const out: TensorSpec[] = [];
  for (const s of m.sections) sectionTensors(out, s);
  const w = outputSection(m).width;
  const head = m.head;
  const emit: Emit = (name, shape) => out.push({ name, shape, group: "head" });
  if (head.transform) {
    emit("head.transform.weight", [w, w]);
    emit("head.transform.bias", [w]);
    // The BERT transform's norm is always a LayerNorm with bias.
    emit("head.transform_norm.weight", [w]);
    emit("head.transform_norm.bias", [w]);
  }
  if (head.kind === "linear") emit("head.weight", [head.vocab, w]);
  if (head.bias) emit("head.bias", [head.vocab]);
  return out;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Total parameters; tied tables count once, as the published figures do. */
export function paramCount(m: ModelInfo): number {
  return weightLayout(m).reduce((sum, t) => sum + numel(t.shape), 0);
}
