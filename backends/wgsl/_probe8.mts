import { requestDevice } from './device.ts';
const mode = process.argv[2] ?? '';
const device = await requestDevice();
const n = Number(process.argv[3] ?? 10);
for (let i = 0; i < n; i++) {
  const m = device.createShaderModule({ code: `@group(0) @binding(0) var<storage, read_write> a: array<f32>; @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { a[g.x] = a[g.x] * ${i}.0 + 1.0; }` });
  if (mode.includes('info')) await m.getCompilationInfo();
}
console.error('created');
device.destroy();
console.error('destroyed');
