// Typed arrays reused from one training step to the next. Every step allocates the same arrays
// (the tape, the intermediate gradients, the kernels' results: ~170 MB of fresh ArrayBuffers a
// step on the demo model, whose first touch and collection cost ~10% of the step). Inside a
// scope (open … close) the pool lends the arrays of the same length that the last scope lent,
// and at the close takes back everything it lent; outside one it lends nothing (null), and the
// caller allocates as before. So only arrays that die with the scope may come from it: the
// engine's lossAndGrads opens one, and its tape and intermediate gradients die with it.

type Lent = Float32Array | Float64Array;

export class BufferPool {
  private depth = 0;
  private free32 = new Map<number, Float32Array[]>();
  private free64 = new Map<number, Float64Array[]>();
  private lent: Lent[] = [];

  /** Whether a scope is open (arrays lent now are taken back at its close). */
  get active(): boolean {
    return this.depth > 0;
  }

  open(): void {
    this.depth++;
  }

  /** Ends a scope; the outermost takes back every array lent inside it. */
  close(): void {
    if (this.depth === 0) throw new Error("BufferPool: close without open");
    if (--this.depth > 0) return;
    // Only this scope's arrays stay: what the last one left unused (lengths this step did not
    // ask for) goes to the collector, so the pool holds one step's working set, not a history.
    this.free32 = new Map();
    this.free64 = new Map();
    for (const a of this.lent) {
      const free: Map<number, Lent[]> = a instanceof Float32Array ? this.free32 : this.free64;
      const list = free.get(a.length);
      if (list) list.push(a);
      else free.set(a.length, [a]);
    }
    this.lent = [];
  }

  /** A float32 array of `len` whose contents are stale (overwrite it all); null outside a scope. */
  lend32(len: number): Float32Array | null {
    if (this.depth === 0) return null;
    const a = this.free32.get(len)?.pop() ?? new Float32Array(len);
    this.lent.push(a);
    return a;
  }

  /** A float64 array of `len` whose contents are stale (overwrite it all); null outside a scope. */
  lend64(len: number): Float64Array | null {
    if (this.depth === 0) return null;
    const a = this.free64.get(len)?.pop() ?? new Float64Array(len);
    this.lent.push(a);
    return a;
  }

  /** A float64 array of `len` to overwrite whole: lent where a scope is open, else fresh. */
  any64(len: number): Float64Array {
    return this.lend64(len) ?? new Float64Array(len);
  }

  /** Zeros, lent where a scope is open, else fresh. */
  zeros32(len: number): Float32Array {
    const a = this.lend32(len);
    return a === null ? new Float32Array(len) : a.fill(0);
  }

  zeros64(len: number): Float64Array {
    const a = this.lend64(len);
    return a === null ? new Float64Array(len) : a.fill(0);
  }
}
