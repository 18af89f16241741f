/** n uniform values in [-scale, scale) from a seeded LCG: the kernel tests' inputs. */
export function noise(n: number, seed: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    a[i] = (x / 2 ** 32 - 0.5) * 2 * scale;
  }
  return a;
}
