import type { ModelInfo } from "../model/model.ts";
import { inferenceGraph } from "../ir/lower.ts";
import type { BuiltArtifacts } from "./package.ts";
import type { Target } from "./manifest.ts";

/** The one backend interface at build time: checked model → graph, plan and artifact files. */
export async function buildArtifacts(m: ModelInfo, target: Target, opts: { emitText?: boolean } = {}): Promise<BuiltArtifacts> {
  const graph = inferenceGraph(m);
  switch (target) {
    case "reference":
      return { graph, files: {}, artifacts: {} };
    case "wasm": {
      // Every flavour the loader may pick (plain / relaxed SIMD, one thread / shared memory),
      // so the module never needs the compiler at run time.
      const { compileWasm } = await import("../../backends/wasm/compile.ts");
      const c = compileWasm(m, graph, { threads: true });
      const files: Record<string, Uint8Array | string> = {};
      const artifacts: Record<string, string> = {};
      for (const v of c.variants) {
        const name = `model${v.relaxed ? ".relaxed" : ""}${v.threads ? ".threads" : ""}.wasm`;
        files[name] = v.binary;
        artifacts[`wasm:${v.relaxed ? "relaxed" : "plain"}:${v.threads ? "threads" : "single"}`] = name;
      }
      if (opts.emitText) {
        files["model.wat"] = c.text;
        artifacts["wat"] = "model.wat";
      }
      return { graph, plan: c.plan, files, artifacts };
    }
    case "webgpu": {
      // The runtime recompiles against the device it gets (its limits decide splits and
      // kernel variants); these are the shaders for WebGPU's default limits, to read and diff.
      const { compileWgsl } = await import("../../backends/wgsl/compile.ts");
      const { shaders, plan } = compileWgsl(m, graph);
      const files: Record<string, string> = {};
      for (const [name, code] of Object.entries(shaders)) files[`${name}.wgsl`] = code;
      return { graph, plan, files, artifacts: Object.fromEntries(Object.keys(shaders).map((n) => [`wgsl:${n}`, `${n}.wgsl`])) };
    }
  }
}
