/**
 * Per-layer attention kinds → the spec's stack: one kind when every layer attends alike, else a
 * layer pattern of `full` and `sliding` kinds (the names of Hugging Face's layer_types), cycled
 * by layer index as transformers does: layer i is the pattern's entry i mod its length.
 *
 *   [sliding, full, sliding, full, …]    → stack layers × (sliding, full)            (Gemma-2)
 *   [full × 21, sliding × 7]             → stack layers × (full × 21, sliding × 7)  (Qwen2)
 */
import type { Config } from "./config.ts";
import type { SpecWriter } from "./spec-text.ts";

export type LayerType = "full" | "sliding";

/** The shortest prefix whose repetition gives `types` (it need not divide their number). */
function period(types: readonly LayerType[]): LayerType[] {
  for (let p = 1; p < types.length; p++) {
    if (types.every((t, i) => t === types[i % p])) return types.slice(0, p);
  }
  return [...types];
}

/** `(sliding, full)`, `(full × 21, sliding × 7)`. */
function patternText(cycle: readonly LayerType[]): string {
  const runs: { kind: LayerType; count: number }[] = [];
  for (const t of cycle) {
    const last = runs[runs.length - 1];
    if (last && last.kind === t) last.count++;
    else runs.push({ kind: t, count: 1 });
  }
  return `(${runs.map((r) => (r.count > 1 ? `${r.kind} × ${r.count}` : r.kind)).join(", ")})`;
}

export interface StackText {
  /** Every layer's attention kind, by layer index. */
  types: readonly LayerType[];
  /** `(norm = sandwich)` and the like, or "". */
  args: string;
  /** Where the layers come from (model.layers.N). */
  comment: string;
  /** Writes one kind of layer's statements. */
  layer: (w: SpecWriter, type: LayerType) => void;
}

/** Writes the stack of a decoder whose layers may differ in their attention. */
export function writeStack(w: SpecWriter, s: StackText): void {
  const kinds = [...new Set(s.types)];
  if (kinds.length <= 1) {
    w.open(`stack layers × decoder${s.args}`, s.comment);
    s.layer(w, kinds[0] ?? "full");
    w.close();
    return;
  }
  const cycle = period(s.types);
  w.open(`stack layers × ${patternText(cycle)}${s.args}`, `${s.comment}; layer i is the pattern's entry i mod ${cycle.length} (layer_types)`);
  for (const kind of kinds) {
    w.open(`layer ${kind}`, kind === "sliding" ? "sliding_attention layers" : "full_attention layers");
    s.layer(w, kind);
    w.close();
  }
  w.close();
}

/**
 * `layer_types` where the config has it: one "full_attention" / "sliding_attention" per layer,
 * overriding the family's own rule; undefined where absent.
 */
export function configLayerTypes(c: Config, layers: number): LayerType[] | undefined {
  const v = c.value("layer_types");
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length !== layers || !v.every((t) => t === "full_attention" || t === "sliding_attention")) {
    c.refuse("layer_types", `expected ${layers} entries (num_hidden_layers), each "full_attention" or "sliding_attention"`);
  }
  return v.map((t) => (t === "sliding_attention" ? "sliding" : "full"));
}
