// A model past wasm32's 4 GiB is refused at compile time with the byte count, before any
// code is generated (it used to reach binaryen and fail as "module does not validate").
import { describe, expect, it } from "vitest";
import { compileWasm } from "../backends/wasm/compile.ts";
import { checkFile } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { BackendUnavailableError } from "../src/runtime/model-api.ts";

describe("wasm memory limit", () => {
  it("refuses LLaMA-2 7B (f32) with the bytes it needs", () => {
    const r = checkFile("specs/llama2-7b.sf");
    const m = r.entry!;
    let err: unknown;
    try {
      compileWasm(m, inferenceGraph(m));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/needs \d+ bytes \([\d.]+ GiB\) .* beyond the 4 GiB .* wasm32 limit; use --target webgpu, or store the weights in fewer bytes \(--dtype q4\)/);
  });
});
