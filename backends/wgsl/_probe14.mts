import { create, globals } from 'webgpu';
import { KernelHarness } from './harness.ts';
import { matmulKernel } from './kernels/matmul.ts';
import { openDevice } from './device.ts';
Object.assign(globalThis, globals);
const flags = process.argv.slice(2);
const gpu = create(['backend=opengles', ...flags]);
const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
const device = await openDevice(adapter!);
const h = new KernelHarness(device);
const [M, K, N] = [256, 256, 512];
const x = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i));
const w = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i));
for (const variant of ['naive', 'blocked'] as const) {
  const k = matmulKernel({ variant, rows: 'seq', K, N, nOff: 0, bias: false, outs: [{ c0: 0, c1: N, stride: N, store: false }] });
  const grid: [number, number, number] = [Math.ceil(N / k.tileN), Math.ceil(M / k.tileM), 1];
  await h.run(k, { params: { batch: 1, seq: M }, buffers: [x, w, new Float32Array(M * N)], grid, repeat: 1 });
  const r = await h.run(k, { params: { batch: 1, seq: M }, buffers: [x, w, new Float32Array(M * N)], grid, repeat: 5 });
  console.log(variant, (2 * M * K * N / (r.ms / 5 * 1e6)).toFixed(2), 'GFLOP/s');
}
device.destroy();
