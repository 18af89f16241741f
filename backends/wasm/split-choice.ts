// Whether a small call (a decode step: few rows, little weight per op) runs on every thread or
// on the calling one alone is measured, not fixed. Every op ends at a barrier, so the split
// costs a wake-up plus one meeting per op; what that costs against the work saved depends on the
// machine and its load. bench-peers' decode step at position 128, two threads against one:
// 3x slower split on the loaded Intel machine of the earlier rounds (1.8 against 0.60 ms), 1.4x
// faster split on a quiet AMD EPYC (0.30 against 0.43 ms). So each kind of call keeps a running
// mean of its wall time in both modes, takes the faster one, and runs a short burst of the other
// once per EXPLORE calls to follow changes in load: BURST calls in EXPLORE run the slower mode.
// Both modes compute the same numbers (every output element is one thread's work either way).

/** Calls per window: each window starts with a burst in the mode that currently measures slower. */
export const EXPLORE = 128;
/**
 * Calls in a burst of one mode. A split call right after calls that ran alone pays for waking
 * the sleeping workers, which the next split calls do not: a burst's first call is not counted.
 */
export const BURST = 4;
/** The first calls of a kind alternate the modes in bursts, so that both are measured and the workers' code tiers up. */
export const WARM_CALLS = 8 * BURST;
/** Weight of the newest counted call in a running mean. */
const ALPHA = 0.25;

interface Means {
  split: number;
  alone: number;
  calls: number;
}

export class SplitChoice {
  private readonly byKind = new Map<string, Means>();

  /** Whether the next call of this kind (an entry point and its row count) should split. */
  choose(kind: string): boolean {
    const m = this.byKind.get(kind);
    return m === undefined ? false : this.mode(m, m.calls);
  }

  /** The mode of call number `c`: bursts of each in turn while warming, then the faster one but for a burst per window. */
  private mode(m: Means, c: number): boolean {
    if (c < WARM_CALLS) return Math.floor(c / BURST) % 2 === 1;
    const faster = m.split < m.alone;
    return c % EXPLORE < BURST ? !faster : faster;
  }

  /**
   * Records how long a call of this kind took (ms) in the mode it ran. Each mode keeps a running
   * mean of its counted calls; an exploring burst replaces the other mode's mean outright, so a
   * change in load shows at the next exploration.
   */
  record(kind: string, split: boolean, ms: number): void {
    let m = this.byKind.get(kind);
    if (m === undefined) this.byKind.set(kind, (m = { split: NaN, alone: NaN, calls: 0 }));
    const c = m.calls++;
    // The first call after a change of mode pays the change (waking or idling the workers).
    if (c === 0 || this.mode(m, c - 1) !== split) return;
    const burst = c >= WARM_CALLS && c % EXPLORE < BURST;
    const prev = split ? m.split : m.alone;
    // An exploring burst's mean is its fastest counted call (workers just woken can stay slow for
    // a call or two); elsewhere one slow call (a GC, a descheduled thread) moves the mean by at most ALPHA.
    const next = Number.isNaN(prev) ? ms : burst ? (c % EXPLORE === 1 ? ms : Math.min(prev, ms)) : prev + ALPHA * (Math.min(ms, 2 * prev) - prev);
    if (split) m.split = next;
    else m.alone = next;
  }
}
