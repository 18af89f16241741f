// Load-time filling of the static part of memory: weights (matmul operands packed into
// NR-wide panels, the layout the microkernel streams) and the tables the plan asks for.
// Tables use the reference kernels' own formulas so positions match it bit for bit before
// the f32 rounding.

import { WeightsError, formatShape } from "../../src/runtime/safetensors.ts";
import { isLowBit, storageOf, storedElements, type StoredWeight } from "../../src/runtime/weights/format.ts";
import { headSlopes, sinusoidalTable } from "../reference/kernels/index.ts";
import { ropeInverseFrequencies } from "../../src/model/rope.ts";
import { fillRawLowBit, packLowBit } from "./lowbit.ts";
import { NR, type WasmPlan } from "./plan.ts";

/** Panels [ceil(N/NR)][K][NR] of W [N, K], zero-padded past N. */
export function packPanels(w: Float32Array, N: number, K: number, out: Float32Array): void {
  const panels = Math.ceil(N / NR);
  out.fill(0, 0, panels * K * NR);
  for (let p = 0; p < panels; p++) {
    const base = p * K * NR;
    for (let c = 0; c < NR; c++) {
      const n = p * NR + c;
      if (n >= N) break;
      const row = n * K;
      for (let k = 0; k < K; k++) out[base + k * NR + c] = w[row + k];
    }
  }
}

/**
 * Checks every tensor the plan places against `weights` (same errors as the reference backend),
 * and that each is stored as the build expects: a module built for q4 weights reads q4 panels.
 */
export function checkWeights(shapes: Map<string, number[]>, weights: ReadonlyMap<string, StoredWeight>, plan?: WasmPlan): void {
  const built = new Map<string, string>();
  for (const w of plan?.layout.weights ?? []) built.set(w.name, w.storage ?? "f32");
  for (const [name, shape] of shapes) {
    const data = weights.get(name);
    if (data === undefined) throw new WeightsError("missing from the weight map", name);
    const n = shape.reduce((a, b) => a * b, 1);
    if (storedElements(data) !== n || (isLowBit(data) && formatShape(data.shape) !== formatShape(shape))) {
      const found = isLowBit(data) ? `${data.dtype} shape ${formatShape(data.shape)}` : `${storedElements(data)} elements`;
      throw new WeightsError(`has ${found}, expected shape ${formatShape(shape)} = ${n}`, name);
    }
    const want = built.get(name);
    if (want !== undefined && want !== storageOf(data)) {
      throw new WeightsError(`is stored as ${storageOf(data)}, but this Wasm build expects ${want} (compile the program with the weights' storage: src/runtime/weights/store.ts withStorage)`, name);
    }
  }
}

export function fillStatic(plan: WasmPlan, buffer: ArrayBufferLike, weights: ReadonlyMap<string, StoredWeight>): void {
  const mem = new Float32Array(buffer);
  const bytes = new Uint8Array(buffer);
  for (const w of plan.layout.weights) {
    const data = weights.get(w.name)!;
    if (isLowBit(data)) {
      const view = bytes.subarray(w.offset, w.offset + w.bytes);
      if (w.packed) packLowBit(data, view);
      else fillRawLowBit(data, view);
      continue;
    }
    const at = w.offset / 4;
    if (w.packed) packPanels(data, w.packed.N, w.packed.K, mem.subarray(at, at + w.bytes / 4));
    else mem.set(data, at);
  }
  for (const t of plan.layout.tables) {
    const at = t.offset / 4;
    if (t.kind === "sinusoidal") {
      mem.set(sinusoidalTable(t.positions, t.dim), at);
    } else if (t.kind === "alibi") {
      mem.set(headSlopes(t.heads, true, t.windows)!, at);
    } else {
      // Same angles as the reference applyRope: positions · its inverse frequencies, in f64.
      const half = t.rotaryDim / 2;
      const sinAt = at + t.positions * half;
      const invFreq = ropeInverseFrequencies(t.rotaryDim, t.base, t.scaling);
      for (let p = 0; p < t.positions; p++) {
        for (let c = 0; c < half; c++) {
          const theta = p * invFreq[c];
          mem[at + p * half + c] = Math.cos(theta);
          mem[sinAt + p * half + c] = Math.sin(theta);
        }
      }
    }
  }
}
