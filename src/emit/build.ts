import { backendFor } from "../../backends/registry.ts";
import type { ModelInfo } from "../model/model.ts";
import { inferenceGraph } from "../ir/lower.ts";
import type { Target } from "../runtime/targets.ts";
import type { BuiltArtifacts } from "./package.ts";
import type { StorageDType } from "../runtime/weights/format.ts";
import { withPlannedStorage } from "../runtime/weights/store.ts";

/** Build time, through the one backend interface: checked model → program → artifact → package files. */
/** `dtype`: the program's weights are stored so (planStorage), and load() converts any checkpoint to it. */
export async function buildArtifacts(m: ModelInfo, target: Target, opts: { emitText?: boolean; dtype?: StorageDType } = {}): Promise<BuiltArtifacts> {
  const graph = opts.dtype ? withPlannedStorage(inferenceGraph(m), opts.dtype) : inferenceGraph(m);
  const backend = await backendFor(target);
  const artifact = await backend.compile(m, graph, { threads: true });
  return { graph, ...backend.files(artifact, opts) };
}
