import { readFileSync } from 'node:fs';
import { checkSource } from '../../src/check/check.ts';
import { inferenceGraph } from '../../src/ir/lower.ts';
import { randomWeights } from '../../src/runtime/random-weights.ts';
import { compileWgsl } from './compile.ts';
import { WgslProgram } from './runtime.ts';
import { requestDevice } from './device.ts';
import { limitsOf } from './plan.ts';
const stage = process.argv[2];
const device = await requestDevice();
console.error('device');
const f = 'specs/tiny-gpt2.sf';
const m = checkSource(readFileSync(f, 'utf8'), f).entry!;
const g = inferenceGraph(m);
const w = randomWeights(m, 1);
const c = compileWgsl(m, g, limitsOf(device));
console.error('compiled', Object.keys(c.shaders).length);
if (stage === 'modules') {
  for (const [name, code] of Object.entries(c.shaders)) { const mod = device.createShaderModule({ code }); if (process.argv[3]) await mod.getCompilationInfo(); }
} else {
  const p = await WgslProgram.create(device, c, w);
}
console.error('created');
device.destroy();
console.error('destroyed');
