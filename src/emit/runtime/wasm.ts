// Runtime of a module built with `--target wasm`: loads the prebuilt module flavour this
// engine supports (relaxed SIMD when it validates, plain SIMD otherwise) next to index.js.
import type { CompiledWasm } from "../../../backends/wasm/compile.ts";
import { createWasmModel, relaxedSimdSupported } from "../../../backends/wasm/backend.ts";
import type { WasmPlan } from "../../../backends/wasm/plan.ts";
import type { Model } from "../../runtime/model-api.ts";
import { readWeights, type WeightsSource } from "../../runtime/weights-source.ts";
import type { Manifest } from "../manifest.ts";
import { prepare, withTokenizer, type LoadOptions, type OwnTokenizer } from "./shared.ts";

export { ModelInputError, WeightsError, CheckpointError, ByteTokenizer, byteTokenizer, openTokenizer } from "./shared.ts";

export async function createModel(manifest: Manifest, base: URL, source: WeightsSource, opts: LoadOptions = {}, own?: OwnTokenizer): Promise<Model> {
  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const relaxed = relaxedSimdSupported();
  const key = `wasm:${relaxed ? "relaxed" : "plain"}:${threads > 1 ? "threads" : "single"}`;
  const file = manifest.artifacts[key];
  if (!file) throw new Error(`this module ships no ${key} build`);
  const [{ model, weights, graph, tokenizer }, binary] = await Promise.all([prepare(manifest, base, source, opts, own), readWeights(new URL(file, base))]);
  const plan = manifest.plan as WasmPlan;
  const compiled: CompiledWasm = { binary, text: "", plan, variants: [{ relaxed, threads: threads > 1, binary, text: "" }] };
  return withTokenizer(await createWasmModel(model, graph, weights, { threads, relaxed, compiled }), tokenizer);
}
