import { readdirSync } from "node:fs";
import { checkFile } from "../../src/check/check.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import { encoderSection, outputSection } from "../../src/model/model.ts";
import type { ForwardOptions } from "../../src/runtime/model-api.ts";
import { mulberry32 } from "../../src/runtime/sample.ts";

/** Every tiny spec shipped in specs/: the cross-backend test matrix. */
export const TINY_SPECS = readdirSync("specs")
  .filter((f) => f.startsWith("tiny-") && f.endsWith(".sf"))
  .sort();

export function loadTiny(file: string): ModelInfo {
  const r = checkFile(`specs/${file}`);
  if (!r.entry) throw new Error(`${file} does not check: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return r.entry;
}

/**
 * Batch-2 inputs for a model: random tokens, a padded second row where the model takes a
 * padding mask, random values for other int inputs (segment types), and a source sequence
 * for encoder–decoders.
 */
export function tinyInputs(m: ModelInfo, seed = 1): { tokens: Int32Array; opts: ForwardOptions; causal: boolean; stepMask?: string } {
  const rng = mulberry32(seed);
  const out = outputSection(m);
  const enc = encoderSection(m);
  const seq = Math.min(out.maxSeq ?? 16, 16);
  const batch = 2;
  const vocabOf = (input: string) => {
    for (const s of m.sections) for (const st of s.steps) if (st.op === "embed" && st.input === input) return st.vocab;
    return m.head.vocab;
  };
  const ids = (n: number, vocab: number) => Int32Array.from({ length: n }, () => Math.floor(rng() * vocab));
  const tokens = ids(batch * seq, vocabOf(out.input));
  const opts: ForwardOptions = { batch, seq };
  const inputs: Record<string, Int32Array | Uint8Array> = {};
  const srcSeq = Math.min(enc?.maxSeq ?? 12, 12);
  if (enc) opts.src = { tokens: ids(batch * srcSeq, vocabOf(enc.input)), seq: srcSeq };
  for (const inp of m.inputs) {
    if (inp.name === out.input || inp.name === enc?.input) continue;
    const overSource = enc !== undefined && inp.shape[1] === enc.seqDim;
    const len = overSource ? srcSeq : seq;
    if (inp.dtype === "bool") {
      const mask = new Uint8Array(batch * len).fill(1);
      for (let j = len - 3; j < len; j++) mask[len + j] = 0;
      // The source's mask travels with the source, so begin() sees it as forward() does.
      if (overSource) opts.src!.mask = mask;
      else inputs[inp.name] = mask;
    } else inputs[inp.name] = ids(batch * len, vocabOf(inp.name));
  }
  if (Object.keys(inputs).length) opts.inputs = inputs;
  const stepMask = m.inputs.find((i) => i.dtype === "bool" && i.shape[1] === out.seqDim)?.name;
  const causal = out.steps.some((s) => s.op === "stack" && s.stack.sublayers.some((l) => l.kind === "attention" && l.source === "self" && l.causal));
  return { tokens, opts, causal, ...(stepMask ? { stepMask } : {}) };
}
