// The measured choice between splitting a small call across the threads and running it on the
// calling thread alone (backends/wasm/split-choice.ts), driven by made-up call times.

import { describe, expect, it } from "vitest";
import { BURST, EXPLORE, SplitChoice, WARM_CALLS } from "../backends/wasm/split-choice.ts";

/** Runs `calls` calls of one kind on a machine whose call takes cost(split, call) ms; returns the modes chosen. */
function drive(choice: SplitChoice, calls: number, cost: (split: boolean, call: number) => number, kind = "decode 1", from = 0): boolean[] {
  const modes: boolean[] = [];
  for (let c = from; c < from + calls; c++) {
    const split = choice.choose(kind);
    modes.push(split);
    choice.record(kind, split, cost(split, c));
  }
  return modes;
}

describe("wasm runtime: split or alone, as measured", () => {
  it("alternates bursts while warming up, then keeps to the faster mode but for a burst per window", () => {
    const choice = new SplitChoice();
    const modes = drive(choice, WARM_CALLS + 10 * EXPLORE, (split) => (split ? 0.3 : 0.43));
    expect(modes.slice(0, WARM_CALLS)).toEqual(Array.from({ length: WARM_CALLS }, (_, i) => Math.floor(i / BURST) % 2 === 1));
    const after = modes.slice(WARM_CALLS);
    expect(after.filter((s) => !s).length).toBe(10 * BURST);
    // And the other way round on a machine where the split is the slow one.
    const loaded = drive(new SplitChoice(), WARM_CALLS + 10 * EXPLORE, (split) => (split ? 1.8 : 0.6)).slice(WARM_CALLS);
    expect(loaded.filter((s) => s).length).toBe(10 * BURST);
  });

  it("does not count the first call after a change of mode (waking the workers)", () => {
    // Split calls cost 2 ms right after alone calls and 0.3 ms after split ones; alone costs 0.43.
    const choice = new SplitChoice();
    let last = false;
    const modes = drive(choice, WARM_CALLS + 4 * EXPLORE, (split) => {
      const ms = split ? (last ? 0.3 : 2) : 0.43;
      last = split;
      return ms;
    });
    expect(modes.slice(WARM_CALLS).filter((s) => !s).length).toBe(4 * BURST);
  });

  it("follows a change in load", () => {
    const choice = new SplitChoice();
    const quiet = (split: boolean) => (split ? 0.3 : 0.43);
    const loaded = (split: boolean) => (split ? 1.8 : 0.6);
    drive(choice, WARM_CALLS + 3 * EXPLORE, quiet);
    const modes = drive(choice, 3 * EXPLORE, loaded, "decode 1", WARM_CALLS + 3 * EXPLORE);
    // Split until the running mean of the split calls passes the last alone call (0.43): a few
    // calls; from then on alone but for the exploring bursts.
    const firstAlone = modes.indexOf(false);
    expect(firstAlone).toBeGreaterThanOrEqual(0);
    expect(firstAlone).toBeLessThan(8);
    // (A slow call moves a mean by a bounded step, so the means may cross once more on the way.)
    expect(modes.slice(firstAlone + 1).filter((s) => s).length).toBeLessThanOrEqual(4 * BURST);
  });

  it("measures each kind of call apart", () => {
    const choice = new SplitChoice();
    drive(choice, WARM_CALLS + 2, (split) => (split ? 0.3 : 0.43), "decode 1");
    drive(choice, WARM_CALLS + 2, (split) => (split ? 0.9 : 0.5), "decode 4");
    expect(choice.choose("decode 1")).toBe(true);
    expect(choice.choose("decode 4")).toBe(false);
    expect(choice.choose("encode 2")).toBe(false);
  });
});
