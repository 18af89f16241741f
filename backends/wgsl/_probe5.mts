import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const mode = process.argv[2] ?? '';
const gpu = create(['backend=opengles']);
const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
const device = await adapter!.requestDevice();
const m = device.createShaderModule({ code: `@group(0) @binding(0) var<storage, read_write> a: array<f32>; @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { a[g.x] = a[g.x] * 2.0 + 1.0; }` });
const p = device.createComputePipeline({ layout: 'auto', compute: { module: m, entryPoint: 'main' } });
const buf = device.createBuffer({ size: 4096, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
const rb = device.createBuffer({ size: 4096, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const bg = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
for (let it = 0; it < 20; it++) {
  if (mode.includes('scope')) device.pushErrorScope('validation');
  device.queue.writeBuffer(buf, 0, new Float32Array(1024).fill(it));
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass(); pass.setPipeline(p); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(16); pass.end();
  enc.copyBufferToBuffer(buf, 0, rb, 0, 4096);
  device.queue.submit([enc.finish()]);
  if (mode.includes('scope')) { const e = await device.popErrorScope(); if (e) console.error(e.message); }
  await rb.mapAsync(GPUMapMode.READ);
  const d = new Float32Array(rb.getMappedRange().slice(0)); rb.unmap();
  if (d[5] !== it * 2 + 1) console.error('bad', d[5]);
}
console.error('ok');
device.destroy();
