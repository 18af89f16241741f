import type { Graph } from "../ir/ir.ts";
import type { ModelJson } from "../runtime/serialize.ts";

export type { Target } from "../runtime/targets.ts";
import type { Target } from "../runtime/targets.ts";
import type { MapName } from "../runtime/name-maps.ts";

/**
 * Everything a generated module's runtime needs besides its weights and binary artifacts.
 * Embedded in index.js as a JSON literal: data, never code, whatever the spec's names are.
 */
export interface Manifest {
  format: 1;
  target: Target;
  generator: string;
  model: ModelJson;
  graph: Graph;
  /** Backend-specific build output (buffer plan, dispatches, arena offsets...). */
  plan?: unknown;
  /** Artifact files next to index.js, by role, e.g. { wasm: "model.wasm" }. */
  artifacts: Record<string, string>;
  /**
   * Set when built for a Hugging Face checkpoint (`build DIR`, `build SPEC --weights DIR`): the
   * name map its tensors need (load()'s default), and the folder beside index.js holding the
   * tokenizer files copied from it.
   */
  checkpoint?: { map?: MapName; tokenizer?: string };
}
