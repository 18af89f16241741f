// Load/dispose cycles per target, the resident memory after each block of cycles: a leak
// shows as RSS that keeps climbing. `node --expose-gc --import tsx bench/lifecycle.ts [cycles] [targets…]` prints a table.
import { createModel } from "../backends/registry.ts";
import { checkFile } from "../src/check/check.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { TARGETS } from "../src/runtime/targets.ts";

const cycles = Number(process.argv[2] ?? 300);
const m = checkFile("specs/tiny-gpt2.sf").entry!;
const w = randomWeights(m, 1);
const tokens = Int32Array.from({ length: 16 }, (_, i) => i);
const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const rows: Array<Record<string, number | string>> = [];
const only = process.argv.slice(3);
for (const target of TARGETS.filter((t) => only.length === 0 || only.includes(t))) {
  const row: Record<string, number | string> = { target, "RSS start (MB)": mb() };
  for (let i = 1; i <= cycles; i++) {
    const model = await createModel(target, m, w);
    await model.forward(tokens);
    model.dispose();
    if (i === Math.floor(cycles / 3) || i === cycles) {
      (globalThis as { gc?: () => void }).gc?.();
      row[`RSS after ${i} (MB)`] = mb();
    }
  }
  rows.push(row);
}
console.table(rows);
process.exit(0);
