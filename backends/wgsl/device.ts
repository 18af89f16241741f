// Getting a GPUDevice: the browser's navigator.gpu when there is one, else Dawn's Node binding
// (npm `webgpu`), imported lazily so a browser bundle never pulls it in. Without a GPU, Dawn
// runs on Mesa's llvmpipe through OpenGL ES, which needs EGL's surfaceless platform and the
// compatibility feature level (see the project notes on WebGPU on CPU).

import { BackendUnavailableError } from "../../src/runtime/model-api.ts";

export interface DeviceOptions {
  /** Dawn backend (`vulkan`, `opengles`, `metal`, `d3d12`); default: env WEBGPU_BACKEND, else Dawn's choice, then opengles. */
  backend?: string;
}

/** The adapter limits a model wants raised above WebGPU's defaults, when the adapter allows. */
const WANTED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
] as const;

/**
 * One GPU instance per set of Dawn flags, created once and kept reachable for the life of the
 * process: Dawn's binding crashes (at random, on exit or mid-run) when an instance is
 * garbage-collected while one of its adapters or devices is still in use, and a fresh instance
 * per model would grow the process by megabytes each load.
 */
const instances = new Map<string, GPU>();

export async function requestAdapter(opts: DeviceOptions = {}): Promise<GPUAdapter | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu && opts.backend === undefined) return (await nav.gpu.requestAdapter()) ?? undefined;
  const proc = (globalThis as { process?: { versions?: { node?: string }; env: Record<string, string | undefined> } }).process;
  if (!proc?.versions?.node) {
    throw new BackendUnavailableError(
      "webgpu: this browser has no WebGPU (navigator.gpu is missing); use a browser with WebGPU enabled, or the wasm build of the model",
    );
  }
  proc.env.EGL_PLATFORM ??= "surfaceless";
  let dawn: typeof import("webgpu");
  try {
    dawn = await import("webgpu");
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new BackendUnavailableError(`webgpu: in Node this needs Dawn's binding, the npm package \`webgpu\` (npm install webgpu): ${why}`);
  }
  const { create, globals } = dawn;
  if ((globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage === undefined) Object.assign(globalThis, globals);
  const backend = opts.backend ?? proc.env.WEBGPU_BACKEND;
  const attempts = backend ? [[`backend=${backend}`]] : [[], ["backend=opengles"]];
  for (const flags of attempts) {
    const key = flags.join(" ");
    const gpu = instances.get(key) ?? create(flags);
    instances.set(key, gpu);
    const adapter = (await gpu.requestAdapter()) ?? (await gpu.requestAdapter({ featureLevel: "compatibility" }));
    if (adapter) return adapter;
  }
  return undefined;
}

export async function requestDevice(opts: DeviceOptions = {}): Promise<GPUDevice> {
  const adapter = await requestAdapter(opts);
  if (!adapter) {
    throw new BackendUnavailableError(
      "webgpu: no WebGPU adapter found. Without a GPU, Dawn runs on the CPU through Mesa: install Mesa's EGL and GLES drivers (Debian: libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri) and set EGL_PLATFORM=surfaceless",
    );
  }
  return openDevice(adapter);
}

let shared: Promise<GPUDevice> | undefined;

/**
 * The process's default device, opened once: models loaded without a device of their own
 * share it, so load/dispose cycles do not each open (and leak part of) a Dawn device. A lost
 * device is replaced on the next request.
 */
export function sharedDevice(): Promise<GPUDevice> {
  shared ??= requestDevice().then(
    (d) => {
      void d.lost.then(() => (shared = undefined));
      return d;
    },
    (e: unknown) => {
      shared = undefined;
      throw e;
    },
  );
  return shared;
}

/**
 * A device with the adapter's best values for the limits models care about, and `shader-f16`
 * when the adapter has it (low-bit weight readers then use f16 types).
 */
export function openDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k];
  const requiredFeatures: GPUFeatureName[] = adapter.features.has("shader-f16") ? ["shader-f16"] : [];
  return adapter.requestDevice({ requiredLimits, requiredFeatures, label: "specformer" });
}

/**
 * A software rasteriser posing as a GPU (Mesa llvmpipe/lavapipe, SwiftShader, WARP): kernels
 * that lean on workgroup memory and barriers run slower there than plain register blocking.
 */
export function isCpuAdapter(info: GPUAdapterInfo | undefined): boolean {
  if (!info) return false;
  return /llvmpipe|lavapipe|softpipe|swiftshader|warp|basic render/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}
