// Run as a script (node --import tsx test/helpers/worker-death.ts [CASE...]) by
// test/thread-pool-death.test.ts: for each case in turn (all by default), kills a Wasm worker
// thread in the way the case names while this thread calls into it, and prints what the
// calls returned or threw as one JSON line. It is a separate process because the defect it
// guards against blocks the calling thread for good, and a blocked thread runs no test
// timeout: the test's spawnSync timeout ends it instead, and the lines printed so far say
// which case hung. One process for all cases: loading binaryen under tsx takes seconds.
import type { WasmRuntime } from "../../backends/wasm/runtime.ts";
import type { TrainThreadPool } from "../../backends/wasm/train/thread-pool.ts";

/** What a case saw: the marks of the calls before the death, the first error, the next call's error. */
export interface DeathReport {
  case: string;
  before: unknown[];
  first: string;
  later: string;
}
type Seen = Omit<DeathReport, "case">;

/** mark(at): the calling thread (set_thread's tid) stores tid + 1 at at + 4·tid, so each share shows it ran. */
const MARK_WAT = `(module
 (import "env" "memory" (memory 1 65536 shared))
 (global $tid (mut i32) (i32.const 0))
 (func (export "set_thread") (param $t i32) (param $n i32) (global.set $tid (local.get $t)))
 (func (export "mark") (param $at i32)
  (i32.atomic.store (i32.add (local.get $at) (i32.shl (global.get $tid) (i32.const 2))) (i32.add (global.get $tid) (i32.const 1)))))`;

async function markPool(threads: number) {
  const { assemble } = await import("../../backends/wasm/compile.ts");
  const { CONTROL_BYTES } = await import("../../backends/wasm/train/kernel-memory.ts");
  const { TrainThreadPool } = await import("../../backends/wasm/train/thread-pool.ts");
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const module = new WebAssembly.Module(assemble(MARK_WAT, { relaxed: false, threads: true }, 0) as Uint8Array<ArrayBuffer>);
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as { set_thread(t: number, n: number): void; mark(at: number): void };
  const pool = new TrainThreadPool(memory, threads);
  const [id] = pool.load(module, ["mark"]);
  const marks = new Int32Array(memory.buffer, CONTROL_BYTES, threads);
  const call = (): number[] => {
    marks.fill(0);
    const shares = Array.from({ length: threads }, (_, tid) => ({ tid, nth: threads, args: [CONTROL_BYTES] }));
    pool.run(id, shares, (s) => {
      ex.set_thread(s.tid, s.nth);
      ex.mark(s.args[0]);
    });
    return Array.from(marks);
  };
  return { pool, call };
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Calls `f` until it throws (a worker terminated from outside may finish a call or two before
 * it ends), for at most 10 s; then once more. Returns both messages.
 */
async function deathOf(f: () => unknown): Promise<{ first: string; later: string }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await f();
    } catch (e) {
      const first = message(e);
      try {
        await f();
        return { first, later: "(the next call succeeded)" };
      } catch (e2) {
        return { first, later: message(e2) };
      }
    }
    if (Date.now() > deadline) throw new Error("no call failed within 10 s of the worker's death");
  }
}

async function poolCase(how: "throw" | "exit" | "terminate", beforeStart: boolean): Promise<Seen> {
  const { pool, call } = await markPool(3);
  try {
    const before = beforeStart ? [] : [call(), call()];
    pool.dieForTest(2, how);
    return { before, ...(await deathOf(call)) };
  } finally {
    pool.close();
  }
}

async function kernelsCase(): Promise<Seen> {
  const { WasmTrainKernels } = await import("../../backends/wasm/train/kernels.ts");
  const { noise } = await import("./noise.ts");
  const k = new WasmTrainKernels(undefined, undefined, { threads: 2, minSplit: 0 });
  try {
    const [rows, inDim, outDim] = [9, 16, 12];
    const x = noise(rows * inDim, 1);
    const w = Float32Array.from(noise(outDim * inDim, 2, 0.3));
    const forward = () => k.linearForward(x, rows, inDim, w, null, outDim);
    const before = [forward().length, k.splitCalls.matmul];
    // The pool is the kernels' own: reached here only to kill one of its workers.
    (Reflect.get(k, "pool") as TrainThreadPool).dieForTest(1, "throw");
    return { before, ...(await deathOf(forward)) };
  } finally {
    k.close();
  }
}

async function inferenceCase(): Promise<Seen> {
  const { createWasmModel } = await import("../../backends/wasm/backend.ts");
  const { checkFile } = await import("../../src/check/check.ts");
  const { inferenceGraph } = await import("../../src/ir/lower.ts");
  const { randomWeights } = await import("../../src/runtime/random-weights.ts");
  const r = checkFile("specs/tiny-gpt2.sf");
  if (!r.entry) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  const m = r.entry;
  const model = await createWasmModel(m, inferenceGraph(m), randomWeights(m, 3, { std: 0.2 }), { threads: 2, splitEveryCall: true });
  try {
    const tokens = Int32Array.from({ length: 16 }, (_, i) => (i * 7 + 1) % 101);
    const forward = () => model.forward(tokens, { batch: 2, seq: 8 });
    const before = [(await forward()).length];
    // The model's runtime, reached only to kill its worker.
    (Reflect.get(Reflect.get(model, "ex") as object, "rt") as WasmRuntime).terminateWorkerForTest(1);
    return { before, ...(await deathOf(forward)) };
  } finally {
    model.dispose();
  }
}

const CASES: Record<string, () => Promise<Seen>> = {
  throw: () => poolCase("throw", false),
  exit: () => poolCase("exit", false),
  terminate: () => poolCase("terminate", false),
  "terminate-before-start": () => poolCase("terminate", true),
  kernels: kernelsCase,
  inference: inferenceCase,
};

const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(CASES);
for (const name of names) {
  const run = CASES[name];
  if (run === undefined) throw new Error(`worker-death: no case ${name}; cases: ${Object.keys(CASES).join(", ")}`);
  // A pipe's writes are synchronous on Linux: each line is out before the next case can hang.
  process.stdout.write(JSON.stringify({ ...(await run()), case: name }) + "\n");
}
