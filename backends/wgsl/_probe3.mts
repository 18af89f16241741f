import { readFileSync } from 'node:fs';
import { checkSource } from '../../src/check/check.ts';
import { inferenceGraph } from '../../src/ir/lower.ts';
import { randomWeights } from '../../src/runtime/random-weights.ts';
import { createReferenceModel } from '../reference/model.ts';
import { createWebGpuModel } from './model.ts';
import { requestDevice } from './device.ts';
const device = await requestDevice();
for (const f of process.argv.slice(2)) {
  const m = checkSource(readFileSync(f, 'utf8'), f).entry!;
  const g = inferenceGraph(m);
  const w = randomWeights(m, 1);
  const ref = createReferenceModel(m, g, w);
  let t0 = performance.now();
  const gpu = await createWebGpuModel(m, g, w, { device });
  console.log(f, 'load ms', (performance.now() - t0).toFixed(0));
  const batch = 2, seq = 7;
  const toks = Int32Array.from({ length: batch * seq }, (_, i) => (i * 7 + 3) % 50);
  const hasSrc = m.sections.length > 1;
  const opts: any = { batch, seq, ...(hasSrc ? { src: { tokens: Int32Array.from({ length: batch * 5 }, (_, i) => (i * 3 + 1) % 50), seq: 5 } } : {}) };
  const r = await ref.forward(toks, opts);
  t0 = performance.now();
  const o = await gpu.forward(toks, opts);
  let md = 0, mr = 0; for (let i = 0; i < r.length; i++) { md = Math.max(md, Math.abs(r[i] - o[i])); mr = Math.max(mr, Math.abs(r[i])); }
  console.log('  fwd ms', (performance.now() - t0).toFixed(0), 'maxdiff', md, 'maxref', mr);
  gpu.dispose();
}
device.destroy();
