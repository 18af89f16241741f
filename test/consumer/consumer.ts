// Type-checked against generated modules by test/emit.test.ts: correct use must compile, and
// every @ts-expect-error line must really be an error (tsc fails on an unused one).
import { config, load } from "./gpt/index.js";
import * as tt from "./tt/index.js";

const vocab: 101 = config.vocab;
const d: 32 = config.dims.d;
// @ts-expect-error the literal type is 32, not 64
const wrongD: 64 = config.dims.d;
// @ts-expect-error no such dim
config.dims.hidden;

export async function use(bytes: Uint8Array): Promise<number> {
  const model = await load(bytes, { map: "gpt2", onProgress: (p) => p.loaded / p.total });
  const logits: Float32Array = await model.forward(new Int32Array(4), { batch: 1, seq: 4 });
  // @ts-expect-error seq is required
  await model.forward(new Int32Array(4), { batch: 1 });
  // @ts-expect-error tokens are an Int32Array, not numbers
  await model.forward([1, 2, 3], { batch: 1, seq: 3 });
  // @ts-expect-error no such name map
  await load(bytes, { map: "roberta" });
  // @ts-expect-error tiny-gpt2 has no padding input, so no mask
  await model.forward(new Int32Array(4), { batch: 1, seq: 4, mask: new Uint8Array(4) });
  await model.forward(new Int32Array(4));
  for await (const id of model.generate(new Int32Array([1]), { maxTokens: 3, temperature: 0.8, topK: 5, seed: 1 })) {
    const n: number = id;
    void n;
  }
  const s = await tt.load(bytes);
  // @ts-expect-error an encoder–decoder needs its source
  await s.forward(new Int32Array(2), { batch: 1, seq: 2 });
  await s.forward(new Int32Array(2), { batch: 1, seq: 2, src: { tokens: new Int32Array(3), seq: 3 } });
  model.dispose();
  return logits.length + vocab + d + wrongD;
}
