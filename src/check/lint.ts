import type { AttentionInfo, ModelInfo, SectionInfo } from "../model/model.ts";
import type { Sink } from "./sink.ts";

/** Score memory above this (one layer, batch 1, f32) is worth a warning. */
export const QUADRATIC_WARN_BYTES = 64 * 2 ** 20;

export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${Number(v.toFixed(1))} ${units[i]}`;
}

/** Warnings about a model that checks: things that are legal but probably not meant. */
export function lintModel(m: ModelInfo, sink: Sink, allowed: ReadonlySet<string> = new Set()): void {
  const warn: Sink["warn"] = (code, ...rest) => {
    if (!allowed.has(code)) sink.warn(code, ...rest);
  };
  const encoder = m.sections.find((s) => s.role === "encoder");
  for (const sec of m.sections) {
    const steps = sec.steps;
    steps.forEach((step, i) => {
      if (step.op !== "stack") return;
      const st = step.stack;
      const atts = st.sublayers.filter((s): s is AttentionInfo => s.kind === "attention");
      const quad = atts.find((a) => isQuadratic(a));
      if (quad) {
        const sq = sec.maxSeq;
        const sk = quad.source === "cross" ? encoder?.maxSeq : sec.maxSeq;
        if (sq !== undefined && sk !== undefined) {
          const bytes = quad.heads * sq * sk * 4;
          if (bytes > QUADRATIC_WARN_BYTES) {
            warn("SF2001", quad.span, `full attention at context ${sq} needs ${formatBytes(bytes)} of scores per layer`, {
              label: `${quad.heads} heads × ${sq} × ${sk} scores`,
              notes: [`${quad.heads} × ${sq} × ${sk} × 4 bytes (f32, batch 1) = ${bytes} bytes, if materialised; fused kernels stream it but still do O(n²) work`],
              hint: "a sliding window (`window = ...`), `sparse = block(...)` or `kind = linear` keeps memory linear in the context",
            });
          }
        }
      }
      const odd = atts.find((a) => a.headDim % 4 !== 0);
      if (odd) {
        warn("SF2002", odd.span, `head dim ${odd.headDim} is not a multiple of 4`, {
          label: `head_dim = ${odd.headDim}`,
          notes: ["the Wasm (SIMD128) and WGSL (vec4) kernels fall back to scalar code for attention"],
        });
      }
      const hasNorms = st.sublayers.some((s) => s.norm);
      const laterNorm = steps.slice(i + 1).some((s) => s.op === "norm");
      const laterStack = steps.slice(i + 1).some((s) => s.op === "stack");
      if (st.placement !== "post" && hasNorms && !laterNorm && !laterStack) {
        warn("SF2005", st.span, `pre-norm stack \`${st.name}\` is not followed by a final norm`, {
          label: "the residual stream leaves this stack un-normalised",
          hint: "add e.g. `norm layer(eps = 1e-5)` after the stack",
        });
      }
    });
  }
  if (encoder && !usesCross(m.sections)) {
    // At the decoder's layers, where the fix goes: they are in the body's file (`sink`),
    // which for a model inheriting its body is not the file of `m.span`.
    const decoderStack = m.sections.find((s) => s.role === "decoder")?.steps.find((s) => s.op === "stack");
    warn("SF2004", decoderStack?.span ?? m.span, "the encoder's output is never attended to", {
      label: "no `attention cross` in these layers",
      hint: "add `attention cross(heads = ...)` to the decoder's layers",
    });
  }
}

function isQuadratic(a: AttentionInfo): boolean {
  return !a.linear && a.window === undefined && a.sparse === undefined;
}

function usesCross(sections: SectionInfo[]): boolean {
  return sections.some((s) => s.steps.some((st) => st.op === "stack" && st.stack.sublayers.some((l) => l.kind === "attention" && l.source === "cross")));
}
