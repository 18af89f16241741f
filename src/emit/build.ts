import type { ModelInfo } from "../model/model.ts";
import { inferenceGraph } from "../ir/lower.ts";
import type { BuiltArtifacts } from "./package.ts";
import type { Target } from "./manifest.ts";

/** The one backend interface at build time: checked model → graph, plan and artifact files. */
export async function buildArtifacts(m: ModelInfo, target: Target, _opts: { emitText?: boolean } = {}): Promise<BuiltArtifacts> {
  const graph = inferenceGraph(m);
  switch (target) {
    case "reference":
      return { graph, files: {}, artifacts: {} };
    default:
      throw new Error(`the ${target} target is not available in this build yet`);
  }
}
