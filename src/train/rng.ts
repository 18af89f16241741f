// Counter-based randomness for training: every random number is a pure function of
// (seed, step, stream, index), so a resumed run draws exactly the numbers the uninterrupted run
// would have drawn, with no generator state to checkpoint, and a backward pass could regenerate
// a dropout mask instead of storing it.

/** murmur3's 32-bit finaliser: a good avalanche on integer inputs. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of a few non-negative integers. */
export function hash32(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) h = fmix((h ^ fmix((x >>> 0) + Math.floor(x / 2 ** 32) * 0x27d4eb2f)) + 0x6b43a9b5);
  return h;
}

/** A uniform [0, 1) stream keyed by its counters (mulberry32 seeded by their hash). */
export function streamRng(...key: number[]): () => number {
  let a = hash32(...key);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box–Muller) from a uniform stream. */
export function normals(rng: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}
