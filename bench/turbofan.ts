// V8 runs a Wasm function in its baseline compiler (Liftoff) until the function is hot, then
// compiles it with TurboFan in the background and switches over on a later call. On a 2-core
// AMD EPYC that switch came anywhere from 0.1 s to 0.9 s after the first call, and Liftoff runs
// relaxed-SIMD code up to 30x slower, so a fixed warm-up sometimes timed the baseline code: the
// attention bench printed a "peak" of 12.9 or 29 GFLOP/s on a core that does 53. The benches
// measure the steady state, which is TurboFan's code, so they ask V8 to compile with TurboFan
// from the start (a process-wide flag, also seen by worker threads). It must run before the
// first module is compiled.

import v8 from "node:v8";

export function compileWasmWithTurbofan(): void {
  v8.setFlagsFromString("--no-liftoff");
}
