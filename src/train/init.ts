// Initial weights for training from scratch: GPT-2's initialisation (Radford et al. 2019, as
// scripts/train-demo.py uses it): matrices and tables N(0, 0.02), the projections that write
// into the residual stream (attn.o, cross_attn.o, mlp.down) N(0, 0.02 / √(2·layers)), biases 0,
// norm gains 1. Seeded per tensor (rng.ts), so the draw of one tensor does not depend on the others.

import type { ModelInfo } from "../model/model.ts";
import { numel, weightLayout } from "../model/weights-layout.ts";
import { normals, streamRng } from "./rng.ts";

export function initialWeights(m: ModelInfo, seed: number): Map<string, Float32Array> {
  let layers = 0;
  for (const s of m.sections) for (const st of s.steps) if (st.op === "stack") layers += st.stack.count;
  const residualStd = 0.02 / Math.sqrt(2 * Math.max(1, layers));
  const out = new Map<string, Float32Array>();
  weightLayout(m).forEach((t, k) => {
    const a = new Float32Array(numel(t.shape));
    if (t.shape.length === 1) {
      if (!t.name.endsWith(".bias")) a.fill(1);
    } else {
      const std = /\.(o|down)\.weight$/.test(t.name) ? residualStd : 0.02;
      const n = normals(streamRng(seed, 0x1a17, k));
      for (let i = 0; i < a.length; i++) a[i] = std * n();
    }
    out.set(t.name, a);
  });
  return out;
}
