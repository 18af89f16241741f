/**
 * Execution fuzzing, seeded: a spec the checker accepts must build and run. The first MODELS
 * small mutants of bench/fuzz-exec.ts's semantic mutator (shrunk shipped specs with argument
 * values swapped for other legal ones) that check clean are built on the reference and Wasm
 * backends with seeded random weights and run forward and incrementally in uneven chunks; any
 * finding fails: an internal error, non-finite logits, Wasm off the reference or incremental
 * decoding off forward by more than 1e-4 of max |reference logit|.
 *
 * Everything is seeded (the mutant stream, each mutant's weights and request), so the same tree
 * runs the same models and a failure reproduces with `npx tsx bench/fuzz-exec.ts --seed SEED
 * --runs I+1 --only I`. No assertion is about time; the bench runs more mutants and prints
 * how far the backends are from each other, which says how much margin the tolerance leaves.
 */
import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { prng } from "../bench/fuzz-specs.ts";
import { runMutant, runRng, semMutant } from "../bench/fuzz-exec.ts";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

const SEED = 20240611;
/** Models built and run: each costs 0.3-0.7 s on a 2-core machine, after a first one of seconds. */
const MODELS = 30;
/** Mutants drawn at most; about half check clean, so this is never the limit unless the checker changes. */
const TRIES = 200;
/** Small models only: the shrunk seeds are 20-70k weights; a mutant that grows them waits for the bench. */
const MAX_PARAMS = 100_000;

describe("execution fuzz", () => {
  it(`runs ${MODELS} accepted mutants on reference and wasm without a finding (seed ${SEED})`, async () => {
    const rnd = prng(SEED);
    const found: string[] = [];
    let ran = 0;
    for (let i = 0; i < TRIES && ran < MODELS; i++) {
      const mut = semMutant(rnd);
      const o = await runMutant(mut, runRng(SEED, i), MAX_PARAMS);
      if (o.status === "ran") ran++;
      for (const f of o.findings) found.push(`mutant ${i} (seed ${SEED}, from ${mut.from}), ${f.target}: ${f.kind}: ${f.message}\n${mut.text}`);
    }
    expect(found).toEqual([]);
    expect(ran, `accepted small mutants in ${TRIES}`).toBe(MODELS);
  }, 300_000);
});
