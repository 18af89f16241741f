// The encode / step split, computed once for every backend. A decode state runs the static
// part (the encoder, cross-attention K/V: nothing that depends on the decoder's per-step
// inputs) once in begin(), and the step part for every batch of new tokens; a forward runs
// both, static first. Weights belong to neither: backends bind them at instantiation.

import type { Graph, Node } from "./ir.ts";
import { operands } from "./ir.ts";

export interface PhaseSplit {
  /** Nodes independent of the step inputs, in graph order. */
  static: Node[];
  /** Nodes reachable from a step input, in graph order. */
  step: Node[];
  /** Value ids the step part produces. */
  dynamic: ReadonlySet<number>;
}

/** `stepInputs`: the inputs fed on every decode step (the decoder's tokens, masks over its sequence). */
export function splitPhases(g: Graph, stepInputs: ReadonlySet<string>): PhaseSplit {
  const dynamic = new Set<number>();
  const out = { static: [] as Node[], step: [] as Node[], dynamic };
  for (const n of g.nodes) {
    if (n.op === "weight") continue;
    const isDynamic = n.op === "input" ? stepInputs.has(n.input) : operands(n).some((id) => dynamic.has(id));
    if (isDynamic) dynamic.add(n.out);
    (isDynamic ? out.step : out.static).push(n);
  }
  return out;
}

/**
 * Why a graph cannot be decoded one step at a time, or undefined when it can: a bidirectional
 * self-attention in the step part reads positions that later tokens would change, or an input
 * that step() (`fed`) or begin() (`fedOnce`) has no way to take.
 */
export function stepProblem(split: PhaseSplit, fed: ReadonlySet<string>, fedOnce: ReadonlySet<string> = new Set()): string | undefined {
  for (const n of split.step) {
    if ((n.op === "attention" || n.op === "linear_attention") && n.source === "self" && !n.causal) {
      return `attention "${n.cache}" is bidirectional, so earlier positions depend on later tokens; use forward()`;
    }
  }
  for (const n of split.step) {
    if (n.op === "input" && !fed.has(n.input)) return `step() cannot supply input "${n.input}"; use forward()`;
  }
  // begin() takes the source tokens and their mask, nothing else: another source input
  // (e.g. the encoder's token types) has no way in.
  for (const n of split.static) {
    if (n.op === "input" && !fedOnce.has(n.input)) return `begin() cannot supply input "${n.input}"; use forward()`;
  }
  return undefined;
}
