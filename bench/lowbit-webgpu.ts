// The WebGPU column of bench/lowbit.ts: for each storage (f32, f16, q8, q4), the bytes the weight
// buffers hold on the GPU, decode ms / token at position 128 and a 128-token prefill, through
// the Model API (so a step includes its queue submission and the logits read-back). On Mesa's
// llvmpipe (this machine) it measures the kernels' CPU cost, not a GPU's; the same script runs on
// a real GPU with WEBGPU_BACKEND=vulkan (or in a browser-less Dawn on Metal / D3D12).

import { createWebGpuModel } from "../backends/wgsl/backend.ts";
import { compileWgsl } from "../backends/wgsl/compile.ts";
import { isCpuAdapter, sharedDevice } from "../backends/wgsl/device.ts";
import { limitsOf } from "../backends/wgsl/plan.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { STORAGE_DTYPES, type StoredWeight } from "../src/runtime/weights/format.ts";
import { convertStore, withStorage } from "../src/runtime/weights/store.ts";

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r2 = (x: number) => Math.round(x * 100) / 100;

export async function benchWebGpuLowBit(m: ModelInfo, w: ReadonlyMap<string, StoredWeight>, position: number, rounds: number): Promise<{ adapter: string; rows: Record<string, unknown>[] }> {
  const device = await sharedDevice();
  const info = device.adapterInfo;
  const cpu = isCpuAdapter(info);
  // A CPU adapter is slow: fewer steps, the same table.
  const steps = cpu ? 4 : 16;
  const prefills = cpu ? 1 : 3;
  const graph = inferenceGraph(m);
  const tokens = Int32Array.from({ length: position }, (_, i) => (i * 31 + 7) % m.head.vocab);
  const rows: Record<string, unknown>[] = [];
  let f32: { decode: number; prefill: number } | undefined;
  for (const dtype of STORAGE_DTYPES) {
    const store = convertStore(graph, w, dtype);
    const program = withStorage(graph, store);
    const { plan } = compileWgsl(m, program, limitsOf(device));
    const gpuBytes = plan.buffers.filter((b) => b.kind === "weight").reduce((a, b) => a + b.elements * 4, 0);
    const model = await createWebGpuModel(m, program, store, { device });
    try {
      await model.forward(tokens.subarray(0, 8), { batch: 1, seq: 8 });
      const one = Int32Array.of(3);
      const decode: number[] = [];
      const prefill: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const state = await model.begin({ batch: 1 });
        await model.step(state, tokens, position);
        await model.step(state, one, 1);
        const times: number[] = [];
        for (let i = 0; i < steps; i++) {
          const t = performance.now();
          await model.step(state, one, 1);
          times.push(performance.now() - t);
        }
        state.dispose();
        decode.push(median(times));
        const pre: number[] = [];
        for (let i = 0; i < prefills; i++) {
          const t = performance.now();
          await model.forward(tokens, { batch: 1, seq: position });
          pre.push(performance.now() - t);
        }
        prefill.push(median(pre));
      }
      const d = median(decode);
      const p = median(prefill);
      f32 ??= { decode: d, prefill: p };
      rows.push({
        dtype,
        "GPU weight MB": r2(gpuBytes / 1e6),
        "decode ms": r2(d),
        "tokens/s": r2(1000 / d),
        "× f32 speed": r2(f32.decode / d),
        [`prefill ${position} ms`]: Math.round(p),
        "prefill vs f32": `${p >= f32.prefill ? "+" : ""}${Math.round((p / f32.prefill - 1) * 100)}%`,
      });
    } finally {
      model.dispose();
    }
  }
  const adapter = [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(" ") || "unnamed adapter";
  return { adapter: `${adapter}${cpu ? " (CPU adapter)" : ""}, shader-f16 ${device.features.has("shader-f16") ? "on" : "off"}`, rows };
}
