// The decode timing the large-model benches share (tinyllama-q4.ts, gguf-load.ts): an 8-token
// prompt, 3 warm-up steps, then 16 timed one-token steps, each checked finite.
import type { Model } from "../src/runtime/model-api.ts";

/** Milliseconds of each of the 16 timed one-token steps; throws on non-finite logits. */
export async function timeDecodeSteps(model: Model): Promise<number[]> {
  const state = await model.begin({ batch: 1 });
  try {
    await model.step(state, Int32Array.from({ length: 8 }, (_, i) => 1 + i * 97), 8);
    const one = Int32Array.of(42);
    for (let i = 0; i < 3; i++) await model.step(state, one, 1);
    const steps: number[] = [];
    for (let i = 0; i < 16; i++) {
      const t = performance.now();
      const logits = await model.step(state, one, 1);
      steps.push(performance.now() - t);
      if (!logits.every(Number.isFinite)) throw new Error("non-finite logits");
    }
    return steps;
  } finally {
    state.dispose();
  }
}

export const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
