// The build step: model + graph → plan → WAT → binaryen (validate, optimise) → binary. Kept
// apart from loading so a CLI can write the binary and the text to disk (`build --target
// wasm --emit-text`). Both SIMD flavours are built: plain SIMD128 runs everywhere, relaxed
// SIMD (f32x4.relaxed_madd) wherever the engine accepts it; the loader picks one.

import binaryen from "binaryen";
import type { Graph } from "../../src/ir/ir.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import { emitModuleText } from "./emit-module.ts";
import { BackendUnavailableError } from "../../src/runtime/model-api.ts";
import { MAX_BYTES, planWasm, type WasmPlan, type WasmPlanOptions } from "./plan.ts";
import { formatBytes } from "./runtime.ts";
import type { EmitFlags } from "./wat.ts";

export interface WasmVariant {
  relaxed: boolean;
  threads: boolean;
  /** Validated and optimised module. */
  binary: Uint8Array;
  /** The WAT it was built from, with kernel names and comments (before optimisation). */
  text: string;
}

export interface CompiledWasm {
  /** Plain SIMD128, single memory: the portable build. */
  binary: Uint8Array;
  text: string;
  plan: WasmPlan;
  variants: WasmVariant[];
}

export interface CompileOptions extends WasmPlanOptions {
  /** Also build shared-memory variants for worker threads. */
  threads?: boolean;
  /** binaryen optimisation level (default 3; 0 skips the optimiser). */
  optimize?: number;
}

export function featuresFor(fl: EmitFlags): number {
  const F = binaryen.Features;
  let features = F.MVP | F.SIMD128 | F.MutableGlobals | F.SignExt | F.NontrappingFPToInt | F.BulkMemory;
  if (fl.relaxed) features |= F.RelaxedSIMD;
  if (fl.threads) features |= F.Atomics;
  return features;
}

/** WAT → validated, optimised binary. Throws with binaryen's message when the text is invalid. */
export function assemble(text: string, fl: EmitFlags, optimize = 3): Uint8Array {
  let mod: binaryen.Module;
  try {
    mod = binaryen.parseText(text);
  } catch (e) {
    throw new Error(`wasm backend: generated WAT does not parse: ${e instanceof Error ? e.message : JSON.stringify(e)}`);
  }
  try {
    mod.setFeatures(featuresFor(fl));
    if (!mod.validate()) throw new Error("wasm backend: generated module does not validate (binaryen printed the reason above)");
    if (optimize > 0) {
      const level = binaryen.getOptimizeLevel();
      const shrink = binaryen.getShrinkLevel();
      binaryen.setOptimizeLevel(optimize);
      binaryen.setShrinkLevel(0);
      try {
        mod.optimize();
      } finally {
        binaryen.setOptimizeLevel(level);
        binaryen.setShrinkLevel(shrink);
      }
      if (!mod.validate()) throw new Error("wasm backend: module does not validate after optimisation");
    }
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

export function compileVariant(plan: WasmPlan, fl: EmitFlags, optimize = 3): WasmVariant {
  const text = emitModuleText(plan, fl);
  return { ...fl, binary: assemble(text, fl, optimize), text };
}

/** Plans and builds the model's module in every flavour the loader may pick. */
export function compileWasm(m: ModelInfo, graph: Graph, opts: CompileOptions = {}): CompiledWasm {
  const plan = planWasm(m, graph, opts);
  // Checked before any code is generated: past wasm32's 4 GiB the module could never load.
  if (plan.layout.staticBytes > MAX_BYTES) {
    // Weights wider than 4 bits a parameter could fit where these do not: say so.
    const wide = plan.layout.weights.some((w) => w.storage !== "q4" && w.bytes >= 1 << 20);
    throw new BackendUnavailableError(
      `wasm backend: model ${m.name} needs ${plan.layout.staticBytes} bytes (${formatBytes(plan.layout.staticBytes)}) of Wasm memory ` +
        `for weights, tables and activations, beyond the 4 GiB (${MAX_BYTES} bytes) wasm32 limit; use --target webgpu${wide ? ", or store the weights in fewer bytes (--dtype q4)" : ""}`,
    );
  }
  const variants: WasmVariant[] = [];
  for (const threads of opts.threads ? [false, true] : [false]) {
    for (const relaxed of [false, true]) variants.push(compileVariant(plan, { relaxed, threads }, opts.optimize ?? 3));
  }
  const base = variants[0];
  return { binary: base.binary, text: base.text, plan, variants };
}
