/**
 * Which layer shapes each name map can read (name-maps.ts refuses a model with the problem
 * layerProblem names): norm placement, the sublayers of each layer kind, gated MLPs, q/k norms.
 */

import type { LayerKind, MlpInfo, StackInfo } from "../model/model.ts";
import { sublayerNames } from "../model/weights-layout.ts";
import { LABEL, type MapName } from "./name-map-sources.ts";

/** What a map cannot read in one layer kind of a stack; undefined when it fits. */
function kindProblem(kind: MapName, st: StackInfo, layer: LayerKind): string | undefined {
  const where = st.kinds.length > 1 ? `layer ${layer.name} of stack "${st.name}"` : `stack "${st.name}"`;
  const names = sublayerNames(layer).join(", ");
  const ok = kind === "torch" ? names === "attn, mlp" || names === "attn, cross_attn, mlp" : kind === "mamba" ? names === "ssm" : names === "attn, mlp";
  if (!ok) {
    const want = kind === "torch" ? "[attn, mlp] or [attn, cross_attn, mlp]" : kind === "mamba" ? "[ssm]" : "[attn, mlp]";
    return `${where} has sublayers [${names}]; the ${kind} map expects ${want}`;
  }
  const f = layer.sublayers.find((s): s is MlpInfo => s.kind === "mlp");
  if (kind !== "llama" && f && f.act !== "relu" && f.act !== "gelu" && f.act !== "gelu_tanh" && f.act !== "silu") {
    return `${where} has a gated (${f.act}) MLP, which ${LABEL[kind]} layers do not have`;
  }
  if (kind !== "llama" && layer.sublayers.some((s) => s.kind === "attention" && s.qkNorm)) {
    return `${where} normalises q and k per head (qk_norm), which ${LABEL[kind]} layers do not have`;
  }
  return undefined;
}

/** The layer shape a map can express; undefined when every layer kind of the stack fits. */
export function layerProblem(kind: MapName, st: StackInfo): string | undefined {
  if (kind === "bert" && st.placement !== "post") {
    return `stack "${st.name}" is ${st.placement}-norm; BERT layers are post-norm`;
  }
  if (kind !== "torch" && kind !== "bert" && st.placement === "post") {
    return `stack "${st.name}" is post-norm; ${LABEL[kind]} layers are pre-norm`;
  }
  if (kind !== "llama" && st.placement === "sandwich") {
    return `stack "${st.name}" has sandwich norms; ${LABEL[kind]} layers have one norm per sublayer`;
  }
  for (const layer of st.kinds) {
    const problem = kindProblem(kind, st, layer);
    if (problem) return problem;
  }
  return undefined;
}
