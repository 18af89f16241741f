// Training data: batches from tensors (bindBatch), and byte-level language-model data from a
// text file (for `tokenizer byte` specs): the stream `EOT doc EOT doc … EOT` of
// src/runtime/tokenizer.ts, split into a training and a held-out part, sampled as random
// windows with counter-based randomness (rng.ts) so that batch t is a function of (seed, t).

import type { ModelInfo } from "../model/model.ts";
import { outputSection } from "../model/model.ts";
import { BYTE_TOKENS, END_OF_TEXT } from "../runtime/tokenizer.ts";
import type { Batch } from "./engine.ts";
import { streamRng } from "./rng.ts";

/**
 * A Batch from input tensors by spec name and [batch, seq] targets. Run-time dims are bound
 * from the inputs' declared shapes (the first tensor to use a dim fixes it; the rest must
 * agree); every declared input must be present.
 */
export function bindBatch(m: ModelInfo, inputs: ReadonlyMap<string, { data: Int32Array | Uint8Array; shape: number[] }>, targets: Int32Array): Batch {
  const dims: Record<string, number> = {};
  const data = new Map<string, Int32Array | Uint8Array>();
  for (const inp of m.inputs) {
    const t = inputs.get(inp.name);
    if (t === undefined) throw new Error(`input "${inp.name}" is missing`);
    if (t.shape.length !== inp.shape.length) throw new Error(`input "${inp.name}" must have ${inp.shape.length} axes, has ${t.shape.length}`);
    inp.shape.forEach((d, k) => {
      if (typeof d === "number") {
        if (t.shape[k] !== d) throw new Error(`input "${inp.name}" axis ${k} must be ${d}, is ${t.shape[k]}`);
      } else if (dims[d] === undefined) dims[d] = t.shape[k];
      else if (dims[d] !== t.shape[k]) throw new Error(`input "${inp.name}" has ${d} = ${t.shape[k]}, another input has ${dims[d]}`);
    });
    data.set(inp.name, t.data);
  }
  const out = outputSection(m);
  const rows = (dims.batch ?? 1) * (dims[out.seqDim] ?? 0);
  if (targets.length !== rows) throw new Error(`${targets.length} targets for ${rows} logits rows`);
  return { inputs: data, dims, targets };
}

export interface ByteCorpus {
  train: Int32Array;
  val: Int32Array;
  /** Documents in each part (separated by END_OF_TEXT when the vocab has it). */
  documents: { train: number; val: number };
  bytes: number;
}

/** Documents of a text: split at lines holding a lone `%` (the fortune-file format) when it has any, else at blank lines. */
export function splitDocuments(bytes: Uint8Array): Uint8Array[] {
  const text = new TextDecoder("latin1").decode(bytes); // one char per byte: offsets stay byte offsets
  const fortune = /(?:^|\n)%\r?\n/.test(text) || /\n%\r?\n?$/.test(text);
  const sep = fortune ? /(?:^|\n)%[ \t]*\r?(?=\n|$)\n?/g : /\r?\n(?:[ \t]*\r?\n)+/g;
  const docs: Uint8Array[] = [];
  let start = 0;
  const push = (end: number) => {
    // Trailing whitespace of a document and leading blank lines go.
    let e = end;
    while (e > start && (bytes[e - 1] === 0x0a || bytes[e - 1] === 0x0d || bytes[e - 1] === 0x20 || bytes[e - 1] === 0x09)) e--;
    let b = start;
    while (b < e && (bytes[b] === 0x0a || bytes[b] === 0x0d)) b++;
    if (e > b) docs.push(bytes.subarray(b, e));
  };
  for (const m of text.matchAll(sep)) {
    push(m.index!);
    start = m.index! + m[0].length;
  }
  push(bytes.length);
  return docs;
}

/**
 * The bytes of a text file as token ids. With vocab 257 the text is split into documents
 * (splitDocuments), and the stream is EOT doc EOT doc … EOT; a fixed shuffle of the documents
 * (independent of --seed) holds out `valFraction` of them, at least one when there are two or
 * more. With vocab 256 there are no separators and the last `valFraction` of the bytes is held out.
 */
export function byteCorpus(bytes: Uint8Array, vocab: number, valFraction: number): ByteCorpus {
  if (vocab !== BYTE_TOKENS && vocab !== BYTE_TOKENS + 1) throw new Error(`byte data needs vocab 256 or 257, not ${vocab}`);
  if (vocab === BYTE_TOKENS) {
    const cut = Math.floor(bytes.length * (1 - valFraction));
    return { train: Int32Array.from(bytes.subarray(0, cut)), val: Int32Array.from(bytes.subarray(cut)), documents: { train: 1, val: cut < bytes.length ? 1 : 0 }, bytes: bytes.length };
  }
  const docs = splitDocuments(bytes);
  const rng = streamRng(0x5b117);
  for (let i = docs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [docs[i], docs[j]] = [docs[j], docs[i]];
  }
  const nVal = docs.length >= 2 && valFraction > 0 ? Math.max(1, Math.round(docs.length * valFraction)) : 0;
  const stream = (ds: Uint8Array[]) => {
    const out = new Int32Array(ds.reduce((n, d) => n + d.length + 1, 1));
    let k = 0;
    out[k++] = END_OF_TEXT;
    for (const d of ds) {
      out.set(d, k);
      k += d.length;
      out[k++] = END_OF_TEXT;
    }
    return out;
  };
  const valDocs = docs.slice(0, nVal);
  const trainDocs = docs.slice(nVal);
  return { train: stream(trainDocs), val: nVal ? stream(valDocs) : new Int32Array(0), documents: { train: trainDocs.length, val: valDocs.length }, bytes: bytes.length };
}

/** Input tokens and next-token targets of windows starting at `starts`, [batch, seq] each. */
export function windows(stream: Int32Array, starts: readonly number[], seq: number): { tokens: Int32Array; targets: Int32Array } {
  const tokens = new Int32Array(starts.length * seq);
  const targets = new Int32Array(starts.length * seq);
  starts.forEach((s, b) => {
    tokens.set(stream.subarray(s, s + seq), b * seq);
    targets.set(stream.subarray(s + 1, s + seq + 1), b * seq);
  });
  return { tokens, targets };
}

/** The training windows of update t (1-based): `batch` uniform random starts, a function of (seed, t). */
export function trainStarts(streamLength: number, batch: number, seq: number, seed: number, t: number): number[] {
  const span = streamLength - seq - 1;
  if (span < 0) throw new Error(`the training data has ${streamLength} tokens, fewer than seq + 1 = ${seq + 1}`);
  const rng = streamRng(seed, t, 0xba7c4);
  return Array.from({ length: batch }, () => Math.floor(rng() * (span + 1)));
}

/** Non-overlapping windows from the start of the held-out stream, at most `limit`. */
export function evalStarts(streamLength: number, seq: number, limit: number): number[] {
  const n = Math.min(limit, Math.floor((streamLength - 1) / seq));
  return Array.from({ length: Math.max(0, n) }, (_, i) => i * seq);
}
