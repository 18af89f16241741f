import type { ModelInfo, SectionInfo, StackInfo } from "../model/model.ts";
import { layerGroup, numel, weightLayout } from "../model/weights-layout.ts";
import type { Span } from "../syntax/source.ts";
import type { Sink } from "./sink.ts";
import { formatBytes } from "./lint.ts";

/**
 * The most f32 weight bytes a model may have: 2^53 (8 PiB), where byte counts stop being
 * exact integers. No target comes near it (Wasm stops at 4 GiB); past it every count the
 * later stages make is wrong, so it is the checker's limit and each backend keeps its own.
 */
export const MAX_WEIGHT_BYTES = 2 ** 53;

/**
 * The model with one layer in each stack. Every layer of a stack has the same tensors, so
 * the weight layout of this model, with each stack's layer 0 counted `count` times, gives
 * the parameters of the whole model in O(distinct layers), not O(layers): `layers = 1e8`
 * must not list 10^9 tensors to count them.
 */
export function oneLayerPerStack(m: ModelInfo): ModelInfo {
  return { ...m, sections: m.sections.map((s) => ({ ...s, steps: s.steps.map((st) => (st.op === "stack" ? { ...st, stack: { ...st.stack, count: 1 } } : st)) })) };
}

/** How many times each weight group of oneLayerPerStack(m) stands for a group of m. */
export function groupRepeats(m: ModelInfo): Map<string, { count: number; stack: StackInfo; section: SectionInfo }> {
  const out = new Map<string, { count: number; stack: StackInfo; section: SectionInfo }>();
  for (const s of m.sections) {
    for (const st of s.steps) if (st.op === "stack") out.set(layerGroup(s, st.stack, 0), { count: st.stack.count, stack: st.stack, section: s });
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

/** Reports SF0218 and returns false when the model's f32 weights pass MAX_WEIGHT_BYTES. */
export function checkModelSize(m: ModelInfo, sink: Sink, at: Span): boolean {
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
  sink.report("SF0218", at, `model \`${m.name}\` has ${count(params)} parameters: ${count(bytes)} bytes (${formatBytes(bytes)}) of f32 weights, past the 2^53-byte limit`, {
    label: "too large for any target",
    notes: [`the largest part is ${where}`],
    hint: "check the dims for a typo",
  });
  return false;
}
