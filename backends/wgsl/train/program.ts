// What every training kernel shares: its uniform (the sizes that vary per call — rows, sequence
// lengths, slices — while the model's dims are baked into the source), its storage bindings
// and the generated source with the facts the runner needs to check and dispatch it.
//
// The inference kernels' Params (../wgsl.ts) describe decoding state (positions, cache
// capacity); training calls need other run-time sizes, hence a uniform of their own.

/** Storage access of one binding. */
export type TrainAccess = "read" | "rw";

/** A generated training kernel. */
export interface TrainKernel {
  wgsl: string;
  bindings: TrainAccess[];
  /** Invocations per workgroup (checked against the device's limits). */
  invocations: number;
  /** Workgroup memory it declares, in bytes. */
  workgroupBytes: number;
}

/** The run-time sizes of one dispatch; a kernel reads the fields it needs, the rest are 0. */
export interface TrainParams {
  rows?: number;
  seqQ?: number;
  seqK?: number;
  /** Rows (or elements) per slice of a split reduction. */
  slice?: number;
  len?: number;
  slices?: number;
}

export const TRAIN_PARAMS = `struct Params { rows: u32, seqQ: u32, seqK: u32, slice: u32, len: u32, slices: u32, zero: u32, pad: u32 }
@group(0) @binding(0) var<uniform> P: Params;`;

/** The uniform's 8 words for `p` (zero is always 0: a loop bound the compiler cannot see through). */
export function paramWords(p: TrainParams): Uint32Array<ArrayBuffer> {
  return new Uint32Array([p.rows ?? 0, p.seqQ ?? 0, p.seqK ?? 0, p.slice ?? 0, p.len ?? 0, p.slices ?? 0, 0, 0]);
}

/**
 * A loop bound llvmpipe cannot unroll (P.zero is 0): loops with light bodies gain nothing from
 * unrolling and an unrolled epilogue multiplies shader compile time (see ../wgsl.ts opaque).
 */
export const opaqueBound = (bound: string): string => `(${bound} + P.zero)`;

/** Storage bindings 1..n in order; binding 0 is the Params uniform. */
export class TrainBindings {
  readonly access: TrainAccess[] = [];
  private readonly decls: string[] = [];

  add(name: string, access: TrainAccess, type: string): string {
    const slot = this.access.length + 1;
    this.access.push(access);
    this.decls.push(`@group(0) @binding(${slot}) var<storage, ${access === "read" ? "read" : "read_write"}> ${name}: ${type};`);
    return name;
  }

  kernel(body: string, invocations: number, workgroupBytes: number): TrainKernel {
    return { wgsl: `${TRAIN_PARAMS}\n${this.decls.join("\n")}\n${body.trim()}\n`, bindings: [...this.access], invocations, workgroupBytes };
  }
}

/**
 * Flat workgroup index of a 1-D grid the runner may fold into two dimensions (more than
 * maxComputeWorkgroupsPerDimension workgroups).
 */
export const FLAT_WG = "(wg.x + wg.y * nwg.x)";
export const FLAT_WG_ARGS = "@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32";
