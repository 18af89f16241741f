// The reference backend: the graph interpreter (executor.ts) behind the one backend
// interface. Its decode state holds KV caches, linear-attention states and every static
// value (the encoder's output, cross-attention K/V).

import type { Graph } from "../../src/ir/ir.ts";
import type { Backend, Call, Executor, Inputs } from "../../src/runtime/executor.ts";
import { GraphExecutor } from "./executor.ts";
import { linearAttentionState } from "./kernels/index.ts";
import { recurrentStates } from "./ssm-op.ts";
import { f32, type DecodeCaches, type Env } from "./values.ts";
import { planInputs } from "../../src/runtime/inputs.ts";
import { CompiledModel } from "../../src/runtime/model.ts";
import type { Model } from "../../src/runtime/model-api.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import type { StoredWeight } from "../../src/runtime/weights/format.ts";

interface ReferenceState {
  /** Weights plus every static value. */
  env: Env;
  caches: DecodeCaches;
}

class ReferenceExecutor implements Executor<ReferenceState> {
  readonly caps = {};
  private readonly ex: GraphExecutor;

  constructor(graph: Graph, weights: ReadonlyMap<string, StoredWeight>, stepInputs: ReadonlySet<string>) {
    this.ex = new GraphExecutor(graph, weights, stepInputs);
  }

  async forward(inputs: Inputs, _call: Call): Promise<Float32Array> {
    const env = this.ex.weightsEnv();
    this.ex.run([...this.ex.staticNodes, ...this.ex.stepNodes], env, { offset: 0, inputs });
    return f32(env, this.ex.logits).data;
  }

  async begin(inputs: Inputs, call: Call): Promise<ReferenceState> {
    const env = this.ex.weightsEnv();
    this.ex.run(this.ex.staticNodes, env, { offset: 0, inputs });
    const caches: DecodeCaches = { batch: call.batch, kv: new Map(), linear: new Map(), recurrent: recurrentStates(this.ex.stepNodes, env, call.batch), masks: new Map() };
    for (const n of this.ex.stepNodes) {
      if (n.op === "attention" && n.source === "self") {
        caches.kv.set(n.cache, { k: new Float32Array(0), v: new Float32Array(0), start: 0, length: 0 });
      } else if (n.op === "linear_attention" && n.source === "self") {
        caches.linear.set(n.cache, linearAttentionState(call.batch, n.kvHeads, n.headDim));
      }
    }
    return { env, caches };
  }

  async step(state: ReferenceState, inputs: Inputs, masks: ReadonlyMap<string, Uint8Array>, call: Call): Promise<Float32Array> {
    state.caches.masks = masks;
    const env = new Map(state.env);
    this.ex.run(this.ex.stepNodes, env, { offset: call.position, inputs, decode: state.caches });
    return f32(env, this.ex.logits).data;
  }

  release(state: ReferenceState): void {
    state.env.clear();
    state.caches.kv.clear();
    state.caches.linear.clear();
    state.caches.recurrent.clear();
  }

  dispose(): void {}
}

/** Nothing to compile: the interpreter walks the program itself. */
export const referenceBackend: Backend<undefined> = {
  target: "reference",
  compile: async () => undefined,
  files: () => ({ files: {}, artifacts: {} }),
  instantiate: async (m, program, _artifact, weights) => new ReferenceExecutor(program, weights, planInputs(m).stepInputs),
};

/**
 * A Model that interprets `graph` (lowered from `m`, dropout removed) with the reference
 * kernels. Synchronous: the oracle of the tests needs no compile step. Weights may be low-bit
 * (src/runtime/weights/): linear and embed dequantise them row by row on read.
 */
export function createReferenceModel(m: ModelInfo, graph: Graph, weights: ReadonlyMap<string, StoredWeight>): Model {
  return new CompiledModel(m, graph, new ReferenceExecutor(graph, weights, planInputs(m).stepInputs), "reference");
}
