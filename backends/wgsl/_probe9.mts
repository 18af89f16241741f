const mode = process.argv[2] ?? '';
let create: any, globals: any;
if (mode.includes('dyn')) ({ create, globals } = await import('webgpu'));
else ({ create, globals } = await import('webgpu'));
Object.assign(globalThis, globals);
const gpu = create(['backend=opengles']);
const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
const requiredLimits: Record<string, number> = {};
if (mode.includes('lim')) for (const k of ["maxStorageBufferBindingSize","maxBufferSize","maxStorageBuffersPerShaderStage","maxComputeWorkgroupStorageSize","maxComputeInvocationsPerWorkgroup","maxComputeWorkgroupSizeX"]) requiredLimits[k] = adapter.limits[k];
const device = await adapter!.requestDevice(mode.includes('label') ? { requiredLimits, label: 'x' } : { requiredLimits });
for (let i = 0; i < 10; i++) {
  const m = device.createShaderModule({ code: `@group(0) @binding(0) var<storage, read_write> a: array<f32>; @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { a[g.x] = a[g.x] * ${i}.0 + 1.0; }` });
  await m.getCompilationInfo();
}
device.destroy();
console.error('destroyed');
