// GPU buffers kept for reuse, keyed by (usage, size): a training step asks for the same few
// dozen sizes every step, and creating and destroying each buffer per call is what this saves.
// Measured on llvmpipe (bench/train-webgpu.ts --batch 2 --seq 64, alternating runs, load ~6 on
// 2 cores): 2,335 and 2,634 ms per step pooled against 2,964 and 2,832 without (4,466 buffers
// created per 5 steps instead of 34); in a step of 8 × 256 the kernels' arithmetic dwarfs it.
// A buffer goes back to the pool only once the call that used it has read its results back,
// so no two calls share one.

/** Buffer sizes are multiples of 16 bytes (storage bindings want 4, uniforms 16; one rule for all). */
export const roundBytes = (bytes: number): number => Math.max(16, Math.ceil(bytes / 16) * 16);

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private pooledBytes = 0;
  created = 0;
  reused = 0;

  /**
   * `enabled` false: every buffer is created on request and destroyed on release. `maxBytes`:
   * past this many idle bytes a released buffer is destroyed rather than kept.
   */
  constructor(
    private readonly device: GPUDevice,
    readonly enabled = true,
    private readonly maxBytes = 1 << 30,
  ) {}

  acquire(bytes: number, usage: number): GPUBuffer {
    const size = roundBytes(bytes);
    if (this.enabled) {
      const b = this.free.get(`${usage}:${size}`)?.pop();
      if (b !== undefined) {
        this.pooledBytes -= size;
        this.reused++;
        return b;
      }
    }
    this.created++;
    return this.device.createBuffer({ size, usage });
  }

  release(b: GPUBuffer): void {
    if (!this.enabled || this.pooledBytes + b.size > this.maxBytes) {
      b.destroy();
      return;
    }
    const key = `${b.usage}:${b.size}`;
    let list = this.free.get(key);
    if (list === undefined) this.free.set(key, (list = []));
    list.push(b);
    this.pooledBytes += b.size;
  }

  clear(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
