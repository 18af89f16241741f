// Which Wasm ops end at a thread barrier (backends/wasm/barriers.ts): independent ops share
// one, a dependency, an overlapping buffer or shared state forces one, and q8 / q4 matmuls keep
// theirs only on the prefill path. That the schedule is safe end to end is the conformance
// suites' job (two-thread logits against the reference in wasm-backend and lowbit-backends).

import { describe, expect, it } from "vitest";
import { type BarrierAt, barriersAfter } from "../backends/wasm/barriers.ts";
import type { WOp } from "../backends/wasm/ops.ts";
import { opReads, opWrites } from "../backends/wasm/ops.ts";
import { planWasm } from "../backends/wasm/plan.ts";
import { checkFile } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { randomWeights } from "../src/runtime/random-weights.ts";
import { convertStore, withStorage } from "../src/runtime/weights/store.ts";

const linear = (x: number, out: number, storage?: "q4"): WOp => ({ op: "linear", x, out, weight: "w", K: 8, N: 8, name: "l", ...(storage ? { storage } : {}) });
const attention = (slot: number, q: number, out: number): WOp => ({
  op: "attention", slot, out, q, k: q, v: q, heads: 1, kvHeads: 1, headDim: 8, causal: true, source: "self", ropeDim: 0, padding: false, name: "a", scale: 1,
});
/** Values 100 bytes apart, 100 bytes each, unless `at` places one elsewhere. */
const schedule = (ops: WOp[], at: Record<number, number> = {}): BarrierAt[] => {
  const ids = new Set(ops.flatMap((o) => [...opReads(o), opWrites(o) ?? -1]).filter((i) => i >= 0));
  return barriersAfter(ops, new Map([...ids].map((i) => [i, at[i] ?? 100 * i])), () => 100);
};

describe("barriers between Wasm ops", () => {
  it("lets ops with disjoint inputs and outputs run at once, and ends with a barrier", () => {
    expect(schedule([linear(1, 2), linear(1, 3), linear(1, 4)])).toEqual(["never", "never", "always"]);
  });

  it("keeps a barrier before an op that reads the previous op's output", () => {
    expect(schedule([linear(1, 2), linear(2, 3)])).toEqual(["always", "always"]);
  });

  it("keeps a barrier where a later op of the group conflicts with an earlier one, not only the last", () => {
    // 2 and 3 are independent; 4 reads 2, written two ops back.
    expect(schedule([linear(1, 2), linear(1, 3), linear(2, 4)])).toEqual(["never", "always", "always"]);
  });

  it("sees buffers that share memory: an op overwriting what an earlier one still reads", () => {
    // Value 3's buffer starts inside value 1's: writing 3 races with the first op reading 1.
    expect(schedule([linear(1, 2), linear(5, 3)], { 3: 150 })).toEqual(["always", "always"]);
    expect(schedule([linear(1, 2), linear(5, 3)])).toEqual(["never", "always"]);
  });

  it("never runs two ops on one state slot at once", () => {
    expect(schedule([attention(0, 1, 2), attention(0, 3, 4)])).toEqual(["always", "always"]);
    expect(schedule([attention(0, 1, 2), attention(1, 3, 4)])).toEqual(["never", "always"]);
  });

  it("keeps q4 matmuls apart on the prefill path only (their shared quantised rows)", () => {
    expect(schedule([linear(1, 2, "q4"), linear(1, 3, "q4"), linear(1, 4)])).toEqual(["prefill", "never", "always"]);
  });

  it("groups a real model's Q, K and V projections and nothing that depends on them", () => {
    const m = checkFile("specs/bench-peers.sf").entry!;
    const graph = inferenceGraph(m);
    for (const [program, between] of [[graph, "never"], [withStorage(graph, convertStore(graph, randomWeights(m, 1), "q4")), "prefill"]] as const) {
      const plan = planWasm(m, program);
      const ops = plan.decode;
      const at = plan.barriers.decode;
      const qkv = ops.findIndex((o, i) => o.op === "linear" && ops[i + 1]?.op === "linear" && ops[i + 2]?.op === "linear" && ops[i + 3]?.op === "attention");
      expect(at.slice(qkv, qkv + 3)).toEqual([between, between, "always"]);
      // Independently of the address analysis, on both paths: an op never shares a
      // barrier-free stretch with the op that writes one of its inputs.
      for (const path of ["prefill", "step"] as const) {
        let writtenSince = new Set<number>();
        ops.forEach((op, i) => {
          for (const id of opReads(op)) expect(writtenSince.has(id), `${path}: op ${i} (${op.op}) reads %${id} written since the last barrier`).toBe(false);
          const out = opWrites(op);
          if (out !== undefined) writtenSince.add(out);
          if (at[i] === "always" || at[i] === path) writtenSince = new Set();
        });
      }
      expect(at[at.length - 1]).toBe("always");
      expect(at.filter((b) => b === "always").length).toBeLessThan(ops.length);
    }
  });
});
