import { readdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { checkFile } from "../src/check/check.ts";

/** Time to check every shipped spec, in-process after Node has started (and warm). */
export function benchCheck(): Array<Record<string, string | number>> {
  const files = readdirSync("specs").filter((f) => f.endsWith(".sf")).map((f) => `specs/${f}`);
  const once = () => {
    const t0 = performance.now();
    for (const f of files) checkFile(f);
    return performance.now() - t0;
  };
  const cold = once();
  const runs = Array.from({ length: 20 }, once).sort((a, b) => a - b);
  return [
    { case: `check all ${files.length} specs (first run, cold JIT)`, ms: Number(cold.toFixed(1)) },
    { case: `check all ${files.length} specs (median of 20, warm)`, ms: Number(runs[10].toFixed(1)) },
    { case: "per spec (warm median)", ms: Number((runs[10] / files.length).toFixed(2)) },
  ];
}
