/**
 * The model API that generated ES modules expose, implemented once over every backend's
 * executor (model.ts). Dependency-free on purpose: a generated module carries this file as is.
 *
 * Layouts are row-major: tokens [batch, seq], masks [batch, seq] with 1 = real token,
 * logits [batch, seq, vocab].
 */

export interface ForwardOptions {
  batch: number;
  seq: number;
  /** Padding mask of the token input, [batch, seq], 1 = real token. Defaults to all real. */
  mask?: Uint8Array;
  /** Other spec inputs by name, e.g. `types` (int) or a bool mask the spec names. */
  inputs?: Record<string, Int32Array | Uint8Array>;
  /** Encoder input of an encoder–decoder model: tokens [batch, seq], optional mask [batch, seq]. */
  src?: { tokens: Int32Array; seq: number; mask?: Uint8Array };
}

/** Per-sequence decoding state: KV caches, linear-attention states, the encoder's output. */
export interface DecodeState {
  readonly batch: number;
  /** Tokens decoded so far: the position of the next token. */
  readonly position: number;
  dispose(): void;
}

export interface GenerateOptions {
  maxTokens: number;
  /** 0 or undefined: greedy (argmax). */
  temperature?: number;
  /** Keep the k most likely tokens when sampling; 0 or undefined keeps all. */
  topK?: number;
  /** Seed of the sampling PRNG (mulberry32); without one, each call draws a fresh seed. */
  seed?: number;
  src?: ForwardOptions["src"];
  /** Generation ends at the first of these tokens, which is not yielded. */
  stop?: number[];
}

export interface Model {
  readonly config: { name: string; vocab: number; context?: number; dims: Record<string, number> };
  /** Logits [batch, seq, vocab] of a whole sequence; without options, one sequence of tokens.length. */
  forward(tokens: Int32Array, opts?: ForwardOptions): Promise<Float32Array>;
  /** Starts incremental decoding; runs the encoder once if the model has one. */
  begin(opts: { batch: number; src?: ForwardOptions["src"] }): Promise<DecodeState>;
  /** Feeds n new tokens per sequence ([batch, n]); returns their logits [batch, n, vocab]. */
  step(state: DecodeState, tokens: Int32Array, n: number, opts?: { mask?: Uint8Array }): Promise<Float32Array>;
  /** Batch 1; yields generated tokens (not the prompt). */
  generate(prompt: Int32Array, opts: GenerateOptions): AsyncIterable<number>;
  dispose(): void;
}

/**
 * Bad caller input: a token outside [0, vocab), a sequence past the context bound, a buffer of
 * the wrong length, a missing input. The message names the input and the problem.
 */
export class ModelInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelInputError";
  }
}

/** A backend named in the CLI contract that this build or this machine cannot provide. */
export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendUnavailableError";
  }
}
