import { requestDevice } from './device.ts';
import { KernelHarness } from './harness.ts';
const device = await requestDevice();
const h = new KernelHarness(device);
const fn = (arr: string, name: string) => `fn ${name}(v: f32, t: u32) -> f32 {
  ${arr}[t] = v;
  workgroupBarrier();
  for (var s = 16u; s > 0u; s = s / 2u) {
    if (t < s) { ${arr}[t] = ${arr}[t] + ${arr}[t + s]; }
    workgroupBarrier();
  }
  let r = ${arr}[0];
  workgroupBarrier();
  return r;
}`;
const main = (pre: string, loop: boolean) => `${fn('red', 'total')}
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${pre}
  ${loop ? 'var s = 0.0; for (var i = t; i < 32u; i += 32u) { s += X[i]; } let a = total(s, t);' : 'let a = total(X[t], t);'}
  let b = total(X[t] - a, t);
  Y[t] = a; Y[t + 32u] = b;
}`;
const variants: Record<string, string> = {
  base: main('', false),
  ret_uniform: main('if (P.batch > 5u) { return; }', false),
  ret_nwg: main('let row = wg.x + wg.y * nwg.x; if (row >= P.batch) { return; }', false),
  loop: main('', true),
  loop_ret: main('let row = wg.x + wg.y * nwg.x; if (row >= P.batch) { return; }', true),
};
const x = Float32Array.from({ length: 32 }, (_, i) => i + 1);
for (const [k, body] of Object.entries(variants)) {
  const wgsl = `struct Params { batch: u32, seq: u32, src: u32, pos: u32, cap: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
var<workgroup> red: array<f32, 32>;
var<workgroup> red2: array<f32, 32>;
${body}`;
  const { outputs } = await h.run({ wgsl, bindings: ['read', 'rw'], workgroupSize: 32, workgroupBytes: 128 }, { params: { batch: 1, seq: 1 }, buffers: [x, new Float32Array(64)], grid: [1, 1, 1] });
  console.log(k, Array.from(outputs[0]).join(' '));
}
device.destroy();
