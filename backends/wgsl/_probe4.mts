import { readFileSync } from 'node:fs';
import { checkSource } from '../../src/check/check.ts';
import { inferenceGraph } from '../../src/ir/lower.ts';
import { randomWeights } from '../../src/runtime/random-weights.ts';
import { GraphExecutor } from '../reference/executor.ts';
import { planInputs, bindInputs } from '../reference/inputs.ts';
import { createWebGpuModel } from './model.ts';
import { requestDevice } from './device.ts';
const device = await requestDevice();
const f = process.argv[2];
const m = checkSource(readFileSync(f, 'utf8'), f).entry!;
const g = inferenceGraph(m);
const w = randomWeights(m, 1);
const gpu: any = await createWebGpuModel(m, g, w, { device });
const batch = 2, seq = 7;
const toks = Int32Array.from({ length: batch * seq }, (_, i) => (i * 7 + 3) % 50);
const hasSrc = m.sections.length > 1;
const opts: any = { batch, seq, ...(hasSrc ? { src: { tokens: Int32Array.from({ length: batch * 5 }, (_, i) => (i * 3 + 1) % 50), seq: 5 } } : {}) };
const plan = planInputs(m);
const ex = new GraphExecutor(g, w, plan.stepInputs);
const env = ex.weightsEnv();
const inputs = bindInputs(m, plan, { batch, tokens: toks, seq, ...(opts.src ? { src: opts.src } : {}) }, m.inputs.map(i => i.name));
ex.run(g.nodes.filter(n => n.op !== 'weight'), env, { offset: 0, inputs });
await gpu.forward(toks, opts);
const ctx = gpu.forwardCtx;
const P = gpu.compiled.plan;
for (const b of P.buffers) {
  if (b.kind !== 'activation' && b.kind !== 'logits' && b.kind !== 'kv') continue;
  const v = g.values.find((x: any) => x.name === b.name);
  const ref = v && env.get(v.id);
  const buf = ctx.buffers[b.id]; console.error('reading', b.name, buf?.size);
  const rb = device.createBuffer({ size: buf.size, usage: 1 | 8 });
  const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(buf, 0, rb, 0, buf.size); device.queue.submit([enc.finish()]);
  await rb.mapAsync(1); const data = new Float32Array(rb.getMappedRange().slice(0)); rb.unmap();
  if (!ref) { console.error(b.name, b.kind, 'no ref', data.slice(0, 4)); continue; }
  let md = 0; for (let i = 0; i < ref.data.length; i++) md = Math.max(md, Math.abs(ref.data[i] - data[i]));
  console.error(b.name.padEnd(40), md.toExponential(2));
}
gpu.dispose(); device.destroy();
