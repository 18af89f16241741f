import { backendFor } from "../../backends/registry.ts";
import type { ModelInfo } from "../model/model.ts";
import { inferenceGraph } from "../ir/lower.ts";
import type { Target } from "../runtime/targets.ts";
import type { BuiltArtifacts } from "./package.ts";

/** Build time, through the one backend interface: checked model → program → artifact → package files. */
export async function buildArtifacts(m: ModelInfo, target: Target, opts: { emitText?: boolean } = {}): Promise<BuiltArtifacts> {
  const graph = inferenceGraph(m);
  const backend = await backendFor(target);
  const artifact = await backend.compile(m, graph, { threads: true });
  return { graph, ...backend.files(artifact, opts) };
}
