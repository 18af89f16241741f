// Tiny helpers for writing WebAssembly text (folded S-expressions). The backend emits WAT
// rather than building binaryen IR node by node so that the module stays readable: a
// generated kernel can be diffed, grepped for its baked-in constants, and pasted into
// wat2wasm when something goes wrong.

/** An f32 constant whose text parses back to exactly the same f32 (9 significant digits). */
export function f32(v: number): string {
  const x = Math.fround(v);
  if (Number.isNaN(x)) return "(f32.const nan)";
  if (x === Infinity) return "(f32.const inf)";
  if (x === -Infinity) return "(f32.const -inf)";
  return `(f32.const ${Object.is(x, -0) ? "-0" : x.toPrecision(9)})`;
}

export const i32 = (v: number): string => `(i32.const ${v | 0})`;
export const get = (name: string): string => `(local.get $${name})`;
export const set = (name: string, e: string): string => `(local.set $${name} ${e})`;
export const splat = (v: number): string => `(f32x4.splat ${f32(v)})`;

/** Load/store helpers: memory offsets must be non-negative integers below 2^32. */
function off(o: number): string {
  if (!Number.isInteger(o) || o < 0 || o > 0xffffffff) throw new Error(`wasm emit: bad memory offset ${o}`);
  return o === 0 ? "" : ` offset=${o}`;
}
export const loadV = (addr: string, o = 0): string => `(v128.load${off(o)} ${addr})`;
export const storeV = (addr: string, v: string, o = 0): string => `(v128.store${off(o)} ${addr} ${v})`;
export const splatLoad = (addr: string, o = 0): string => `(v128.load32_splat${off(o)} ${addr})`;

/** A function definition; locals are collected as the body is written. */
export class Func {
  private readonly locals = new Map<string, string>();
  private readonly params: Array<[string, string]>;
  constructor(
    readonly name: string,
    params: Array<[string, string]> | string[],
    readonly result?: string,
    readonly comment?: string,
  ) {
    this.params = params.map((p) => (typeof p === "string" ? ([p, "i32"] as [string, string]) : p));
  }
  /** Declares locals (idempotent); returns the first name for convenience. */
  local(type: string, ...names: string[]): string {
    for (const n of names) {
      const prev = this.locals.get(n);
      if (prev !== undefined && prev !== type) throw new Error(`wasm emit: local $${n} declared as ${prev} and ${type}`);
      if (!this.params.some(([p]) => p === n)) this.locals.set(n, type);
    }
    return names[0];
  }
  text(body: string): string {
    const ps = this.params.map(([n, t]) => `(param $${n} ${t})`).join(" ");
    const res = this.result ? ` (result ${this.result})` : "";
    const ls = [...this.locals].map(([n, t]) => `(local $${n} ${t})`).join(" ");
    const c = this.comment ? `  ;; ${this.comment.replace(/\n/g, "\n  ;; ")}\n` : "";
    return `(func $${this.name} ${ps}${res}\n${c}  ${ls}\n  ${body})`;
  }
}

/** Options every emitter receives: whether fused multiply-add (relaxed SIMD) may be used. */
export interface EmitFlags {
  relaxed: boolean;
  /** Shared memory and atomics: barriers between ops, work split by thread id. */
  threads: boolean;
}

/** a * b + c; fused (one rounding) with relaxed SIMD, else a mul then an add. */
export function madd(flags: EmitFlags, a: string, b: string, c: string): string {
  return flags.relaxed ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;
}
