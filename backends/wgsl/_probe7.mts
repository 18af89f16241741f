import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const mode = process.argv[2] ?? '';
const gpu = create(['backend=opengles']);
const adapter = mode.includes('double') ? ((await gpu.requestAdapter()) ?? await gpu.requestAdapter({ featureLevel: 'compatibility' })) : await gpu.requestAdapter({ featureLevel: 'compatibility' });
const device = await adapter!.requestDevice();
const n = Number(process.argv[3] ?? 10);
for (let i = 0; i < n; i++) {
  const m = device.createShaderModule({ code: `@group(0) @binding(0) var<storage, read_write> a: array<f32>; @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { a[g.x] = a[g.x] * ${i}.0 + 1.0; }` });
  if (mode.includes('info')) await m.getCompilationInfo();
  if (mode.includes('pipe')) device.createComputePipeline({ layout: 'auto', compute: { module: m, entryPoint: 'main' } });
}
console.error('created');
if (!mode.includes('nodestroy')) device.destroy();
console.error('destroyed');
if (mode.includes('exit')) process.exit(0);
