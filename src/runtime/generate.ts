/**
 * Autoregressive generation on top of begin/step, shared by every backend so that sampling,
 * stopping and seeding behave identically whichever backend computes the logits.
 */
import { mulberry32, sample } from "./sample.ts";
import { ModelInputError, type GenerateOptions, type Model } from "./model-api.ts";

function checkOptions(prompt: Int32Array, opts: GenerateOptions): void {
  if (!(prompt instanceof Int32Array)) throw new ModelInputError("generate: prompt must be an Int32Array");
  if (prompt.length === 0) throw new ModelInputError("generate: prompt is empty; pass at least one token (e.g. a BOS token)");
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 0) {
    throw new ModelInputError(`generate: maxTokens must be an integer >= 0, got ${opts.maxTokens}`);
  }
  const t = opts.temperature ?? 0;
  if (!Number.isFinite(t) || t < 0) throw new ModelInputError(`generate: temperature must be a finite number >= 0, got ${t}`);
  const k = opts.topK ?? 0;
  if (!Number.isInteger(k) || k < 0) throw new ModelInputError(`generate: topK must be an integer >= 0, got ${k}`);
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) {
    throw new ModelInputError(`generate: seed must be an integer, got ${opts.seed}`);
  }
}

/**
 * NaN logits (every backend propagates a NaN from the weights or inputs the same way, IEEE's
 * rule) leave no token to pick: one input error naming the position, not a sampler's throw.
 */
function checkFinite(logits: Float32Array, position: number): void {
  const at = logits.findIndex(Number.isNaN);
  if (at >= 0) {
    throw new ModelInputError(`generate: the logits after ${position} token(s) are NaN (first at vocabulary index ${at}); the weights or inputs hold NaN or ±Inf`);
  }
}

/**
 * Feeds the prompt in one step, then one token at a time. Ends after maxTokens tokens, at a
 * stop token (not yielded), or when the next token would not fit in the context.
 */
export async function* generate(
  model: Pick<Model, "config" | "begin" | "step">,
  prompt: Int32Array,
  opts: GenerateOptions,
): AsyncGenerator<number, void, undefined> {
  checkOptions(prompt, opts);
  if (opts.maxTokens === 0) return;
  const vocab = model.config.vocab;
  const context = model.config.context;
  const temperature = opts.temperature ?? 0;
  const stop = new Set(opts.stop ?? []);
  // Unseeded sampling should differ between calls; seeded sampling must not.
  const rng = mulberry32(opts.seed ?? Math.floor(Math.random() * 2 ** 32));

  const state = await model.begin({ batch: 1, ...(opts.src ? { src: opts.src } : {}) });
  try {
    let logits = await model.step(state, prompt, prompt.length);
    let last = logits.subarray((prompt.length - 1) * vocab, prompt.length * vocab);
    for (let produced = 0; ; ) {
      checkFinite(last, state.position);
      const token = sample(last, { temperature, topK: opts.topK ?? 0, rng });
      if (stop.has(token)) return;
      yield token;
      produced++;
      if (produced >= opts.maxTokens) return;
      if (context !== undefined && state.position >= context) return;
      logits = await model.step(state, Int32Array.of(token), 1);
      last = logits;
    }
  } finally {
    state.dispose();
  }
}
