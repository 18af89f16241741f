// One WebGPU device per test file (creating adapters is slow, especially on llvmpipe). With CI
// set, no adapter is a failure: a broken driver install must never pass as "skipped".

import { openDevice, requestAdapter } from "../../backends/wgsl/device.ts";

let pending: Promise<GPUDevice | undefined> | undefined;

async function open(): Promise<GPUDevice | undefined> {
  let adapter: GPUAdapter | undefined;
  let why = "requestAdapter() returned null";
  try {
    adapter = await requestAdapter();
  } catch (e) {
    why = e instanceof Error ? e.message : String(e);
  }
  if (!adapter) {
    const msg = `no WebGPU adapter (${why}); install .ci/apt-packages and set EGL_PLATFORM=surfaceless`;
    if (process.env.CI) throw new Error(`CI: ${msg}`);
    console.warn(`\n${"!".repeat(78)}\n!! WebGPU tests SKIPPED: ${msg}\n${"!".repeat(78)}\n`);
    return undefined;
  }
  const device = await openDevice(adapter);
  device.addEventListener("uncapturederror", (e) => console.error(`webgpu uncaptured error: ${(e as GPUUncapturedErrorEvent).error.message}`));
  return device;
}

/** The file's device, or undefined (skip) when there is no adapter outside CI. */
export function gpuDevice(): Promise<GPUDevice | undefined> {
  pending ??= open();
  return pending;
}
