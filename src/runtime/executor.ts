// The one backend interface. A backend compiles a verified program into an artifact (build
// time, no device), lists the artifact's files for packages, and instantiates it with weights
// into an Executor. The executor only runs entries; every policy a user can observe (input
// validation, state lifecycle, mask history, the incremental-decoding rule, the context rule,
// sampling) lives once, in model.ts.

import type { Graph } from "../ir/ir.ts";
import type { ModelInfo } from "../model/model.ts";
import type { Target } from "./targets.ts";
import type { Tensor } from "./tensor.ts";

/** Sizes of one call of an entry. */
export interface Call {
  batch: number;
  /** New decoder rows per sequence; in a forward, the whole sequence. */
  seq: number;
  /** Absolute position of the first new row: 0 in a forward, tokens already decoded in a step. */
  position: number;
  /** Source length of an encoder–decoder model; 0 without an encoder. */
  src: number;
}

/** Validated inputs by spec input name (inputs.ts). */
export type Inputs = ReadonlyMap<string, Tensor>;

/** Entries of a compiled program, from the shared phase split (src/ir/phases.ts). */
export interface Executor<State = unknown> {
  /** Position caps of this build below the spec's bounds (the Wasm arena's rows). */
  readonly caps: { context?: number; sourceContext?: number };
  /** Logits [batch, seq, vocab] of whole sequences: the static part, then the step part, on fresh state. */
  forward(inputs: Inputs, call: Call): Promise<Float32Array>;
  /** Allocates a decode state (caches sized by the plan) and runs the static part once. */
  begin(inputs: Inputs, call: Call): Promise<State>;
  /**
   * Runs the step part on `call.seq` new rows. `masks` holds, per step-fed padding input, the
   * history of every position so far including these rows: [batch, position + seq].
   */
  step(state: State, inputs: Inputs, masks: ReadonlyMap<string, Uint8Array>, call: Call): Promise<Float32Array>;
  release(state: State): void;
  /**
   * Bytes of memory a decode state holds (its caches, states and histories, as the shared
   * state plan sizes them; on WebGPU every buffer of its context): for tests and tools.
   */
  stateBytes?(state: State): number;
  dispose(): void;
}

/** Files of a package: name → contents, and their roles in the manifest. */
export interface PackageFiles {
  plan?: unknown;
  files: Record<string, Uint8Array | string>;
  artifacts: Record<string, string>;
}

export interface InstantiateOptions {
  /** Wasm: threads splitting the work (the calling one included). */
  threads?: number;
  /** Wasm: split even the calls too small for it to pay (tests of the threaded kernels). */
  splitEveryCall?: boolean;
  /** WebGPU: the device to run on; without one the executor opens (and later destroys) its own. */
  device?: GPUDevice;
}

export interface Backend<Artifact = unknown> {
  readonly target: Target;
  /** Build time: the program → this backend's artifact. Needs no device. */
  compile(m: ModelInfo, program: Graph, opts?: { threads?: boolean }): Promise<Artifact>;
  /** The artifact's files, for `build`. */
  files(artifact: Artifact, opts?: { emitText?: boolean }): PackageFiles;
  /** Weights bound, kernels ready. `artifact` may come from a package or a cache. */
  instantiate(m: ModelInfo, program: Graph, artifact: Artifact | undefined, weights: Map<string, Float32Array>, opts?: InstantiateOptions): Promise<Executor>;
}
