// The WGSL backend's public surface: build-time compilation (no device needed) and the
// runtime Model. See compile.ts for what a plan holds and runtime.ts for how it is replayed.

export { compileWgsl, type CompiledWgsl, type CompileOptions } from "./compile.ts";
export { createWebGpuModel, webgpuBackend, type WebGpuModelOptions } from "./backend.ts";
export { isCpuAdapter, openDevice, requestAdapter, requestDevice, type DeviceOptions } from "./device.ts";
export { DEFAULT_LIMITS, limitsOf, type Plan, type PlanBuffer, type PlanDispatch, type WgslLimits } from "./plan.ts";
export type { AttentionMode } from "./kernels/attention.ts";
export type { MatmulVariant } from "./kernels/matmul.ts";
