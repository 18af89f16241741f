// A worker thread that dies while the calling thread is blocked on it (backends/wasm/worker-watch.ts)
// must reach the caller as one clear error, at that call and every later one, never a hang:
// the training thread pool (backends/wasm/train/thread-pool.ts) with each way a worker can
// die — throwing outside its call's catch, process.exit, terminated from outside as an
// out-of-memory kill ends it — the training kernels above it, and the inference runtime's
// workers (backends/wasm/runtime.ts) terminated mid-use. The cases run in a process of their
// own (test/helpers/worker-death.ts): a hang blocks the calling thread, where no test timeout
// can fire, so the spawn's timeout is what turns a regression into a failure.
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import type { DeathReport } from "./helpers/worker-death.ts";

/** Far above the half minute all cases take on a loaded machine (most of it loading binaryen); not a speed check. */
const RUN_TIMEOUT_MS = 150_000;

const reports = new Map<string, DeathReport>();
let failure = "";

beforeAll(() => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "test/helpers/worker-death.ts"], { encoding: "utf8", timeout: RUN_TIMEOUT_MS });
  for (const line of r.stdout.split("\n")) if (line.startsWith("{")) reports.set((JSON.parse(line) as DeathReport).case, JSON.parse(line) as DeathReport);
  if (r.status !== 0) failure = r.signal !== null ? `killed (${r.signal}) after ${RUN_TIMEOUT_MS / 1000} s: a call hung` : `exited with ${r.status}: ${r.stderr}`;
}, RUN_TIMEOUT_MS + 10_000);

/** The case's report; a case that never reported hung (or the run failed before it). */
function report(name: string): DeathReport {
  const rep = reports.get(name);
  if (rep === undefined) throw new Error(`worker-death case ${name} did not finish; the run ${failure || "printed no line for it"}`);
  return rep;
}

/** The case's first failed call says `line` in one line, and the next call says the same. */
function expectClear(rep: DeathReport, line: RegExp): void {
  expect(rep.first).toMatch(line);
  expect(rep.first).not.toContain("\n");
  expect(rep.later).toBe(rep.first);
}

describe("training thread pool: a dead worker", () => {
  it("throwing outside its call's catch fails the call it blocks, and every later one", () => {
    const rep = report("throw");
    expect(rep.before).toEqual([[1, 2, 3], [1, 2, 3]]);
    expectClear(rep, /^wasm training: worker thread 2 died: test: worker 2 threw outside its call handler; create the kernels again$/);
  });

  it("calling process.exit", () => {
    expectClear(report("exit"), /^wasm training: worker thread 2 died: it exited \(exit code 3\); create the kernels again$/);
  });

  it("terminated from outside (as an out-of-memory kill ends it)", () => {
    expectClear(report("terminate"), /^wasm training: worker thread 2 died: it exited \(exit code 1\); create the kernels again$/);
  });

  it("dead before the first call: the call that waits for the workers to start fails", () => {
    const rep = report("terminate-before-start");
    expect(rep.before).toEqual([]);
    // Node reports exit code 0 for a worker terminated before its thread got going.
    expectClear(rep, /^wasm training: worker thread 2 died: it exited \(exit code \d+\); create the kernels again$/);
  });

  it("reaches the training kernels' caller (WasmTrainKernels.linearForward) the same way", () => {
    const rep = report("kernels");
    // 9 rows × 12 outputs, on a call that did split.
    expect(rep.before).toEqual([108, 1]);
    expectClear(rep, /^wasm training: worker thread 1 died: test: worker 1 threw outside its call handler; create the kernels again$/);
  });
});

describe("wasm inference runtime: a dead worker", () => {
  it("terminated from outside: forward fails with one clear line, and so does every later call", () => {
    const rep = report("inference");
    expect(rep.before).toEqual([2 * 8 * 101]);
    expectClear(rep, /^wasm backend: worker thread 1 died: it exited \(exit code 1\)$/);
  });
});
