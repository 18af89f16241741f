// The build-time artefact of the WGSL backend: a JSON-serialisable description of every buffer
// and dispatch, which the runtime (runtime.ts) replays with a real device and which
// `build --target webgpu` writes to disk next to the shaders. Sizes that depend on run-time
// dims (batch, seq, src_seq, cache length) are symbolic, so one plan serves every call.

/** Device limits the compiler must respect; a subset of GPUSupportedLimits plus f16 support. */
export interface WgslLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupsPerDimension: number;
  /**
   * The device has `shader-f16`: low-bit weight readers then use f16 types (`enable f16;`);
   * without it they unpack f16 with unpack2x16float. Arithmetic is f32 either way.
   */
  shaderF16: boolean;
}

/** WebGPU's guaranteed minimums: a plan built against these runs on any conforming device. */
export const DEFAULT_LIMITS: WgslLimits = {
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  shaderF16: false,
};

/** Reads the limits a plan needs from a device or adapter (both expose `limits`/`features`). */
export function limitsOf(d: { limits: GPUSupportedLimits; features: ReadonlySet<string> }): WgslLimits {
  const l = d.limits;
  return {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    shaderF16: d.features.has("shader-f16"),
  };
}

/**
 * Capacity classes of context buffers, in rows: B = batch, R = batch × new tokens,
 * S = batch × source tokens, K = batch × KV-cache capacity.
 */
export type CapSym = "B" | "R" | "S" | "K";

/** Run-time quantities a dispatch size can scale with. */
export type RunSym = "batch" | "seq" | "src" | "rows" | "srcRows";

/** ceil(n × value(per) / div), or n when `per` is absent. */
export interface Extent {
  n: number;
  per?: RunSym;
  div?: number;
}

export interface WeightPart {
  /** Native weight name (src/model/weights-layout.ts). */
  name: string;
  /** Row range [start, end) of the tensor viewed as [rows, cols]. */
  rows: [number, number];
  cols: number;
}

export interface PlanBuffer {
  id: number;
  /** Readable: a value name, a weight name, "kv.<cache>.k", ...; never part of any WGSL. */
  name: string;
  kind: "weight" | "input" | "activation" | "kv" | "state" | "scratch" | "logits";
  dtype: "f32" | "i32" | "u32";
  /** Elements per capacity row (per buffer when `cap` is absent); u32 words of a low-bit weight. */
  elements: number;
  /** A low-bit weight's storage: `parts` are row records (lowbit.ts) in `elements` u32 words. */
  storage?: "f16" | "q8" | "q4";
  cap?: CapSym;
  /** Weights: the tensors concatenated (row-wise) into this buffer. */
  parts?: WeightPart[];
  /** Inputs: the spec input fed here; masks are stored as u32 over the KV/source capacity. */
  input?: string;
  /** Static-phase values read by step dispatches: a decode state keeps them alive. */
  pinned?: boolean;
  /** Linear-attention states: zeroed before every forward. */
  clearOnForward?: boolean;
}

export type Access = "read" | "rw";

export interface PlanKernel {
  /** Storage bindings 1..n (binding 0 is always the uniform Params). */
  bindings: Access[];
  workgroupSize: number;
  workgroupBytes: number;
}

export interface PlanDispatch {
  /** The IR value (or fused group) this dispatch computes, for errors and profiles. */
  label: string;
  kernel: string;
  phase: "static" | "step";
  /** Buffer ids for storage bindings 1..n. */
  bindings: number[];
  grid: [Extent, Extent, Extent];
  /** Flat 1-D grid: the runtime folds x beyond the per-dimension limit into y. */
  flat?: boolean;
  /** Only when the query length (of `sym`) is 1 (`one`) or more than 1. */
  when?: { sym: "seq" | "src"; one: boolean };
}

export interface PlanInput {
  buffer: number;
  kind: "ids" | "mask";
  sym: "seq" | "src";
}

export interface Plan {
  format: "specformer-webgpu-plan";
  version: 1;
  model: string;
  /** Field order of the uniform Params struct every shader declares at binding 0. */
  params: string[];
  limits: WgslLimits;
  kernels: Record<string, PlanKernel>;
  buffers: PlanBuffer[];
  dispatches: PlanDispatch[];
  inputs: Record<string, PlanInput>;
  logits: number;
  vocab: number;
}

export const PARAM_FIELDS = ["batch", "seq", "src", "pos", "cap", "zero", "p1", "p2"] as const;

export interface RunDims {
  batch: number;
  seq: number;
  src: number;
}

export function runValue(sym: RunSym, d: RunDims): number {
  switch (sym) {
    case "batch":
      return d.batch;
    case "seq":
      return d.seq;
    case "src":
      return d.src;
    case "rows":
      return d.batch * d.seq;
    case "srcRows":
      return d.batch * d.src;
  }
}

export function extent(e: Extent, d: RunDims): number {
  const v = e.per === undefined ? 1 : runValue(e.per, d);
  return Math.ceil((e.n * v) / (e.div ?? 1));
}
