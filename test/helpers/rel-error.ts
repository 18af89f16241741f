// The relative error every parity test bounds (by 1e-4 unless it says otherwise), written once.

import { expect } from "vitest";

/**
 * max |got − want| / max(max |want|, floor). The floor keeps near-zero references from
 * turning rounding into a large ratio; 1 (the default) makes tiny logits an absolute error,
 * a tiny floor keeps the ratio purely relative. A NaN difference counts as Infinity, so NaN
 * output fails every bound instead of comparing false and passing.
 */
export function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>, floor = 1): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = floor;
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    err = Number.isNaN(diff) ? Infinity : Math.max(err, diff);
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / scale;
}
