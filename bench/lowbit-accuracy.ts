// Accuracy of the low-bit storages on the trained demo models (docs/demo-training.md): mean
// validation loss (nats / token) on their held-out split (test/fixtures/demo-val-stream.u16,
// written by scripts/make-demo-val-stream.py from the trainer's own split), on Wasm, at f32,
// f16, q8 and q4 (q8 / q4 in the int8-activation arithmetic of src/runtime/weights/activations.ts).
// Issue 11's targets: q8 within +0.5% of f32, q4 within +5%.
//   npx tsx bench/lowbit-accuracy.ts [--windows N]   (default 128 windows of 256 tokens)

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createModel } from "../backends/registry.ts";
import { checkFile } from "../src/check/check.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { STORAGE_DTYPES } from "../src/runtime/weights/format.ts";

const SEQ = 256;

async function main(args: string[]): Promise<void> {
  const wi = args.indexOf("--windows");
  const limit = wi >= 0 ? Number(args[wi + 1]) : 128;
  const raw = readFileSync("test/fixtures/demo-val-stream.u16");
  const stream = Int32Array.from(new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
  const n = Math.min(limit, Math.floor((stream.length - 1) / SEQ));
  const rows: Record<string, unknown>[] = [];
  for (const name of ["demo-fortune", "demo-fortune-window"]) {
    const m = checkFile(`specs/${name}.sf`).entry!;
    const w = bindWeights(m, parseSafetensors(readFileSync(`models/${name}.safetensors`)));
    const vocab = m.head.vocab;
    let f32Loss = 0;
    for (const dtype of STORAGE_DTYPES) {
      const model = await createModel("wasm", m, w, dtype === "f32" ? {} : { dtype });
      let sum = 0;
      for (let b = 0; b < n; b++) {
        const tokens = stream.subarray(b * SEQ, b * SEQ + SEQ);
        const logits = await model.forward(tokens, { batch: 1, seq: SEQ });
        for (let t = 0; t < SEQ; t++) {
          const row = logits.subarray(t * vocab, (t + 1) * vocab);
          let mx = -Infinity;
          for (const v of row) mx = Math.max(mx, v);
          let z = 0;
          for (const v of row) z += Math.exp(v - mx);
          sum += Math.log(z) + mx - row[stream[b * SEQ + t + 1]];
        }
      }
      model.dispose();
      const loss = sum / (n * SEQ);
      if (dtype === "f32") f32Loss = loss;
      rows.push({ model: name, dtype, "val loss (nats)": Math.round(loss * 1e4) / 1e4, "vs f32": `${loss >= f32Loss ? "+" : ""}${((loss / f32Loss - 1) * 100).toFixed(2)}%` });
    }
  }
  console.log(`\n## Validation loss on the demo models' held-out split (${n} windows of ${SEQ} tokens, Wasm)\n`);
  console.table(rows);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main(process.argv.slice(2));
