// Sequence-to-sequence training data for encoder–decoder specs: (source, target) pairs as
// padded batches with teacher forcing, and parallel text read as one pair per line.
//   encoder input  x1 … xn  pad …        its padding mask 1 … 1 0 …
//   decoder input  S y1 … ym pad …       (S: the start symbol)
//   targets        y1 … ym E  -1 …       (E: the end symbol; -1: ignored by the loss)
// Each batch is padded to its own longest source and target, on the right: the encoder and the
// cross-attention skip padded keys through the mask, and the causal decoder never lets a padded
// position reach a real one.

import type { ModelInfo } from "../model/model.ts";
import { planInputs } from "../runtime/inputs.ts";
import { bindBatch } from "./data.ts";
import type { Batch } from "./engine.ts";
import { streamRng } from "./rng.ts";

export interface Seq2seqPair {
  source: readonly number[];
  target: readonly number[];
}

/** The spec's input names for each part of a batch, and the decoder's start and end symbols. */
export interface Seq2seqLayout {
  source: string;
  sourceMask?: string;
  tokens: string;
  /** A padding mask over the decoder's tokens, when the spec declares one. */
  mask?: string;
  start: number;
  end: number;
}

/** The layout of an encoder–decoder spec's inputs; throws naming an input it cannot feed. */
export function seq2seqLayout(m: ModelInfo, start: number, end: number): Seq2seqLayout {
  const plan = planInputs(m);
  if (!plan.source) throw new Error(`model ${m.name} has no encoder`);
  const fed = [plan.source.name, plan.sourceMask?.name, plan.tokens.name, plan.mask?.name];
  const other = m.inputs.find((i) => !fed.includes(i.name));
  if (other) throw new Error(`model ${m.name} takes input "${other.name}" besides its source and target tokens and their padding masks`);
  return {
    source: plan.source.name,
    ...(plan.sourceMask ? { sourceMask: plan.sourceMask.name } : {}),
    tokens: plan.tokens.name,
    ...(plan.mask ? { mask: plan.mask.name } : {}),
    start,
    end,
  };
}

/** Sources right-padded to their longest with id 0, and the mask of real positions. */
export function padSources(sources: readonly (readonly number[])[]): { tokens: Int32Array; mask: Uint8Array; seq: number } {
  const seq = Math.max(...sources.map((s) => s.length));
  const tokens = new Int32Array(sources.length * seq);
  const mask = new Uint8Array(sources.length * seq);
  sources.forEach((s, b) => {
    tokens.set(s, b * seq);
    mask.fill(1, b * seq, b * seq + s.length);
  });
  return { tokens, mask, seq };
}

/** A teacher-forced training batch of pairs (see the top of the file). */
export function pairBatch(m: ModelInfo, layout: Seq2seqLayout, pairs: readonly Seq2seqPair[]): Batch {
  const rows = pairs.length;
  const src = padSources(pairs.map((p) => p.source));
  if (layout.sourceMask === undefined && src.mask.includes(0)) throw new Error(`model ${m.name} has no source padding mask, so one batch cannot hold sources of different lengths`);
  const seq = Math.max(...pairs.map((p) => p.target.length)) + 1;
  const tokens = new Int32Array(rows * seq);
  const targets = new Int32Array(rows * seq).fill(-1);
  const mask = new Uint8Array(rows * seq);
  pairs.forEach((p, b) => {
    const o = b * seq;
    tokens[o] = layout.start;
    tokens.set(p.target, o + 1);
    targets.set(p.target, o);
    targets[o + p.target.length] = layout.end;
    mask.fill(1, o, o + p.target.length + 1);
  });
  const inputs = new Map<string, { data: Int32Array | Uint8Array; shape: number[] }>([
    [layout.source, { data: src.tokens, shape: [rows, src.seq] }],
    [layout.tokens, { data: tokens, shape: [rows, seq] }],
  ]);
  if (layout.sourceMask !== undefined) inputs.set(layout.sourceMask, { data: src.mask, shape: [rows, src.seq] });
  if (layout.mask !== undefined) inputs.set(layout.mask, { data: mask, shape: [rows, seq] });
  return bindBatch(m, inputs, targets);
}

/** A line of parallel text that is not a pair; `line` is 1-based. */
export class PairLineError extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = "PairLineError";
  }
}

const describeSeparator = (sep: string): string => (sep === "\t" ? "tab" : JSON.stringify(sep));

/**
 * Pairs of a parallel text: one `source SEPARATOR target` per line (LF or CRLF), each side
 * tokenised by `encode`, blank lines skipped. A line without exactly one separator, with an
 * empty side, or that is not UTF-8 throws a PairLineError.
 */
export function readPairs(bytes: Uint8Array, separator: string, encode: (text: string) => Int32Array): Array<Seq2seqPair & { line: number }> {
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const out: Array<Seq2seqPair & { line: number }> = [];
  let start = 0;
  for (let line = 1; start < bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(start, end));
    } catch {
      throw new PairLineError(line, "not UTF-8 text");
    }
    start = end + 1;
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (text.trim() === "") continue;
    const parts = text.split(separator);
    if (parts.length !== 2) {
      throw new PairLineError(line, parts.length === 1 ? `no ${describeSeparator(separator)} separator; each line is source${separator === "\t" ? "<TAB>" : separator}target` : `${parts.length - 1} ${describeSeparator(separator)} separators, not one`);
    }
    if (parts[0] === "") throw new PairLineError(line, "empty source");
    if (parts[1] === "") throw new PairLineError(line, "empty target");
    out.push({ source: Array.from(encode(parts[0])), target: Array.from(encode(parts[1])), line });
  }
  return out;
}

/**
 * The held-out share of the pairs: a fixed shuffle (independent of --seed) holds out
 * round(n × fraction) of them, at least one when there are two or more, as byteCorpus does.
 */
export function splitPairs<P>(pairs: readonly P[], fraction: number): { train: P[]; val: P[] } {
  const shuffled = pairs.slice();
  const rng = streamRng(0x5b117);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const nVal = shuffled.length >= 2 && fraction > 0 ? Math.max(1, Math.round(shuffled.length * fraction)) : 0;
  return { val: shuffled.slice(0, nVal), train: shuffled.slice(nVal) };
}

/** Update t's pairs (1-based): `batch` uniform draws from the training pairs, a function of (seed, t). */
export function samplePairs<P>(pairs: readonly P[], batch: number, seed: number, t: number): P[] {
  const rng = streamRng(seed, t, 0x9a1f);
  return Array.from({ length: batch }, () => pairs[Math.floor(rng() * pairs.length)]);
}
