import { layersPerKind, type ModelInfo, type SectionInfo, type StackInfo } from "../model/model.ts";
import { layerGroup, numel, weightLayout } from "../model/weights-layout.ts";
import type { Span } from "../syntax/source.ts";
import type { Sink } from "./sink.ts";
import { formatBytes } from "./lint.ts";

/**
 * The most f32 weight bytes a model may have: 2^44 (16 TiB). Every backend holds weights as
 * f32 in one machine's memory (Wasm stops at 4 GiB, a GPU at its memory), and 16 TiB is past
 * the largest such machine; a model beyond it is a typo that would otherwise fail (or
 * exhaust memory) in a later stage. Each backend keeps its own, smaller limit.
 */
export const MAX_WEIGHT_BYTES = 2 ** 44;

/**
 * The most layers a model may have, over all its stacks: 4096 (the deepest published models
 * have about 100, DeepNet 2000). Each layer is its own weights and nodes in the IR and the
 * generated code, so `layers = 1e8` of a tiny width, small in bytes, could never be built.
 */
export const MAX_LAYERS = 4096;

/**
 * The model with one layer of each kind in each stack: layer j of a stack is then its kind j.
 * Every layer of a kind has the same tensors, so the weight layout of this model, with layer j
 * counted as many times as the stack has layers of kind j, gives the parameters of the whole
 * model in O(distinct layers), not O(layers): `layers = 1e8` must not list 10^9 tensors to count them.
 */
export function oneLayerPerStack(m: ModelInfo): ModelInfo {
  const one = (st: StackInfo): StackInfo => ({ ...st, count: st.kinds.length, pattern: st.kinds.map((_, kind) => ({ kind, count: 1 })) });
  return { ...m, sections: m.sections.map((s) => ({ ...s, steps: s.steps.map((st) => (st.op === "stack" ? { ...st, stack: one(st.stack) } : st)) })) };
}

/** How many times each weight group of oneLayerPerStack(m) stands for a group of m (layers of that kind). */
export function groupRepeats(m: ModelInfo): Map<string, { count: number; stack: StackInfo; section: SectionInfo }> {
  const out = new Map<string, { count: number; stack: StackInfo; section: SectionInfo }>();
  for (const s of m.sections) {
    for (const st of s.steps) {
      if (st.op !== "stack") continue;
      layersPerKind(st.stack).forEach((count, kind) => out.set(layerGroup(s, st.stack, kind), { count, stack: st.stack, section: s }));
    }
  }
  return out;
}

/** Parameters per weight group of the model, stacks multiplied out; tied tables count once. */
export function parametersByGroup(m: ModelInfo): Map<string, number> {
  const repeats = groupRepeats(m);
  const out = new Map<string, number>();
  for (const t of weightLayout(oneLayerPerStack(m))) out.set(t.group, (out.get(t.group) ?? 0) + numel(t.shape) * (repeats.get(t.group)?.count ?? 1));
  return out;
}

export function parameterCount(m: ModelInfo): number {
  let n = 0;
  for (const v of parametersByGroup(m).values()) n += v;
  return n;
}

/** Reports SF0218 and returns false when the model passes MAX_LAYERS or MAX_WEIGHT_BYTES. */
export function checkModelSize(m: ModelInfo, sink: Sink, at: Span): boolean {
  const stacks = m.sections.flatMap((s) => s.steps.flatMap((st) => (st.op === "stack" ? [st.stack] : [])));
  const layers = stacks.reduce((a, st) => a + st.count, 0);
  if (layers > MAX_LAYERS) {
    const deepest = stacks.reduce((a, b) => (b.count > a.count ? b : a));
    sink.report("SF0218", at, `model \`${m.name}\` has ${layers.toLocaleString("en-US")} layers, more than the ${MAX_LAYERS.toLocaleString("en-US")} a model may have`, {
      label: "too deep to build",
      notes: [`stack \`${deepest.name}\` has ${deepest.count.toLocaleString("en-US")}`],
      hint: "check the layer count for a typo",
    });
    return false;
  }
  const groups = parametersByGroup(m);
  let params = 0;
  let largest: [string, number] = ["", 0];
  for (const [g, n] of groups) {
    params += n;
    if (n > largest[1]) largest = [g, n];
  }
  const bytes = params * 4;
  if (bytes <= MAX_WEIGHT_BYTES) return true;
  const count = (n: number) => (n < 1e15 ? Math.round(n).toLocaleString("en-US") : n.toExponential(3));
  const stack = groupRepeats(m).get(largest[0]);
  const where = stack ? `stack \`${stack.stack.name}\`: ${count(stack.count)} layers × ${count(largest[1] / stack.count)} parameters` : `\`${largest[0]}\`: ${count(largest[1])} parameters`;
  sink.report("SF0218", at, `model \`${m.name}\` has ${count(params)} parameters: ${count(bytes)} bytes (${formatBytes(bytes)}) of f32 weights, more than the 16 TiB a model may have`, {
    label: "too large for any target",
    notes: [`the largest part is ${where}`],
    hint: "check the dims for a typo",
  });
  return false;
}
