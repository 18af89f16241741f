// Encoder–decoder training (`specformer train SEQ2SEQ_SPEC --task copy|reverse | --data PAIRS`):
// the batches (start symbol, teacher forcing, padding, masks) against layouts written out by
// hand, the pair reader, the held-out split, a short end-to-end run whose exact-match accuracy
// is recomputed from the saved weights by a greedy decode of its own (whole-sequence forwards,
// not the incremental path the CLI uses), and the one-line errors.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkFile, checkSource } from "../src/check/check.ts";
import { HELD_OUT } from "../src/cli/train-task.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { initialWeights } from "../src/train/init.ts";
import { pairBatch, PairLineError, readPairs, seq2seqLayout, splitPairs, type Seq2seqPair } from "../src/train/seq2seq-data.ts";
import { greedySeq2seq, seq2seqExactMatch } from "../src/train/seq2seq-eval.ts";
import { seq2seqTaskHeldOut, seq2seqTaskPairs, type Seq2seqTask } from "../src/train/seq2seq-task.ts";
import { Trainer, type TrainConfig } from "../src/train/trainer.ts";
import { cli } from "./helpers/cli-in-process.ts";

const dir = mkdtempSync(join(tmpdir(), "sf-train-s2s-"));
const COPY_SPEC = "specs/copy-seq2seq.sf";
const copyModel = (): ModelInfo => checkFile(COPY_SPEC).entry!;
// Start and end symbols of copy-seq2seq's task: vocab 12 = 10 symbols, then start 10, end 11.
const S = 10;
const E = 11;

/** A byte-level encoder–decoder for parallel text; `extra` goes into its decoder. */
const byteSpec = (vocab = 257, context = 24) => `model byte_seq2seq {
  dims { vocab = ${vocab}, d = 16, heads = 2, ff = 32, layers = 1, context = ${context} }
  input src_tokens: int[batch, src_seq] where src_seq <= context
  input src_mask: bool[batch, src_seq]
  input tokens: int[batch, seq] where seq <= context
  tokenizer byte
  encoder {
    embed src_tokens(vocab, d)
    position sinusoidal
    stack layers × enc(norm = pre) {
      attention self(heads = heads, padding = src_mask)
      mlp(hidden = ff, act = relu)
    }
    norm layer(eps = 1e-5)
  }
  decoder {
    embed tokens(vocab, d)
    position sinusoidal
    stack layers × dec(norm = pre) {
      attention self(heads = heads, mask = causal)
      attention cross(heads = heads, padding = src_mask)
      mlp(hidden = ff, act = relu)
    }
    norm layer(eps = 1e-5)
  }
  head linear
}
`;
const write = (name: string, text: string | Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const byteSpecFile = write("byte-seq2seq.sf", byteSpec());

const sf = cli;

const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  steps: 10, batch: 2, seq: 11, schedule: "constant", lr: 1e-3, warmup: 1, minLrRatio: 0.1, optimizer: "adamw",
  betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0, clip: 1, labelSmoothing: 0, dropout: 0, seed: 0, ...over,
});

describe("encoder–decoder batches", () => {
  it("pads sources with a mask and feeds the decoder the start symbol and the target, shifted", () => {
    const m = copyModel();
    const b = pairBatch(m, seq2seqLayout(m, S, E), [
      { source: [3, 1, 4], target: [1, 5, 9] },
      { source: [2], target: [6, 5] },
    ]);
    expect(b.dims).toEqual({ batch: 2, src_seq: 3, seq: 4 });
    expect([...(b.inputs.get("src_tokens") as Int32Array)]).toEqual([3, 1, 4, 2, 0, 0]);
    expect([...(b.inputs.get("src_mask") as Uint8Array)]).toEqual([1, 1, 1, 1, 0, 0]);
    expect([...(b.inputs.get("tokens") as Int32Array)]).toEqual([S, 1, 5, 9, S, 6, 5, 0]);
    expect([...b.targets]).toEqual([1, 5, 9, E, 6, 5, E, -1]);
  });

  it.each([
    ["copy", (s: readonly number[]) => [...s]],
    ["reverse", (s: readonly number[]) => [...s].reverse()],
  ] as const)("--task %s: strings in range, targets the source %s, a function of (seed, t)", (kind, expected) => {
    const task: Seq2seqTask = { kind, minLength: 2, maxLength: 7, symbols: 10 };
    const pairs = seq2seqTaskPairs(task, 64, 3, 5);
    for (const p of pairs) {
      expect(p.source.length).toBeGreaterThanOrEqual(2);
      expect(p.source.length).toBeLessThanOrEqual(7);
      expect(p.source.every((x) => Number.isInteger(x) && x >= 0 && x < 10)).toBe(true);
      expect(p.target).toEqual(expected(p.source));
    }
    expect(new Set(pairs.map((p) => p.source.length)).size).toBeGreaterThan(3);
    expect(seq2seqTaskPairs(task, 64, 3, 5)).toEqual(pairs);
    expect(seq2seqTaskPairs(task, 64, 3, 6)).not.toEqual(pairs);
    expect(seq2seqTaskHeldOut(task, 8, 3 + HELD_OUT)).not.toEqual(pairs.slice(0, 8));
    // The batch, row by row, from the pairs.
    const m = copyModel();
    const b = pairBatch(m, seq2seqLayout(m, S, E), pairs);
    const seq = b.dims.seq;
    const srcSeq = b.dims.src_seq;
    expect(seq).toBe(Math.max(...pairs.map((p) => p.target.length)) + 1);
    pairs.forEach((p, r) => {
      const L = p.target.length;
      const row = (a: ArrayLike<number>, w: number) => Array.from(a).slice(r * w, (r + 1) * w);
      expect(row(b.inputs.get("tokens")!, seq)).toEqual([S, ...p.target, ...Array(seq - L - 1).fill(0)]);
      expect(row(b.targets, seq)).toEqual([...p.target, E, ...Array(seq - L - 1).fill(-1)]);
      expect(row(b.inputs.get("src_mask")!, srcSeq)).toEqual([...Array(p.source.length).fill(1), ...Array(srcSeq - p.source.length).fill(0)]);
    });
  });

  it("padding reaches no real position: padded source tokens and padded decoder tokens leave the logits that count unchanged", async () => {
    const m = copyModel();
    const trainer = new Trainer(m, config(), initialWeights(m, 7));
    const layout = seq2seqLayout(m, S, E);
    const pairs: Seq2seqPair[] = [
      { source: [1, 2, 3, 4, 5], target: [1, 2, 3, 4, 5] },
      { source: [7, 8], target: [7, 8] },
    ];
    const logits = async (b: ReturnType<typeof pairBatch>) => (await trainer.engine.forward(trainer.params, b, { train: false })).logits;
    const b = pairBatch(m, layout, pairs);
    const base = await logits(b);
    const counted = (x: ArrayLike<number>) => Array.from(x).filter((_, i) => b.targets[Math.floor(i / 12)] >= 0);
    const edit = async (name: string, at: number, v: number) => {
      const inputs = new Map(b.inputs);
      const t = (inputs.get(name) as Int32Array).slice();
      t[at] = v;
      inputs.set(name, t);
      return logits({ ...b, inputs });
    };
    // Row 1's source is padded at positions 2–4 (flat 7–9); its decoder input at 3–5 (flat 9–11).
    expect(counted(await edit("src_tokens", 8, 9))).toEqual(counted(base));
    expect(counted(await edit("tokens", 10, 9))).toEqual(counted(base));
    const real = counted(await edit("src_tokens", 6, 9)); // row 1's second real source symbol
    expect(Math.max(...real.map((x, i) => Math.abs(x - counted(base)[i])))).toBeGreaterThan(1e-6);
    // Teacher forcing: the loss counts each target symbol and the end symbol, nothing else.
    expect(trainer.engine.loss(await trainer.engine.forward(trainer.params, b, { train: false }), b, 0, false).count).toBe(5 + 1 + 2 + 1);
  });
});

describe("parallel text", () => {
  const enc = (s: string) => Int32Array.from(new TextEncoder().encode(s));
  const read = (text: string | Uint8Array, sep = "\t") => readPairs(typeof text === "string" ? new TextEncoder().encode(text) : text, sep, enc);

  it("reads one pair per line, LF or CRLF, blank lines skipped, each side as the tokenizer's ids", () => {
    const pairs = read("ab\tc\r\n\nné\tx y\n  \n");
    expect(pairs).toEqual([
      { source: [97, 98], target: [99], line: 1 },
      { source: [110, 0xc3, 0xa9], target: [120, 32, 121], line: 3 },
    ]);
    expect(read("a ||| b\nc ||| d", " ||| ").map((p) => [p.source, p.target])).toEqual([
      [[97], [98]],
      [[99], [100]],
    ]);
  });

  it.each([
    ["a\tb\nno separator\n", 2, /line 2: no tab separator; each line is source<TAB>target/],
    ["a\tb\tc\n", 1, /line 1: 2 tab separators, not one/],
    ["a\tb\n\n\tb\n", 3, /line 3: empty source/],
    ["a\t\n", 1, /line 1: empty target/],
    [Uint8Array.from([0x61, 0x09, 0x62, 0x0a, 0x61, 0x09, 0xff, 0x0a]), 2, /line 2: not UTF-8 text/],
  ] as Array<[string | Uint8Array, number, RegExp]>)("refuses a malformed line, naming it (%#)", (text, line, msg) => {
    let err: unknown;
    try {
      read(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PairLineError);
    expect((err as PairLineError).line).toBe(line);
    expect((err as Error).message).toMatch(msg);
  });

  it("holds out 5% of the pairs (at least one of two or more), disjoint from training, independent of the seed", () => {
    const ids = Array.from({ length: 100 }, (_, i) => i);
    const { train, val } = splitPairs(ids, 0.05);
    expect(val).toHaveLength(5);
    expect(train).toHaveLength(95);
    expect([...train, ...val].sort((a, b) => a - b)).toEqual(ids);
    expect(splitPairs(ids, 0.05)).toEqual({ train, val });
    expect(splitPairs([1, 2], 0.05).val).toHaveLength(1);
    expect(splitPairs([1], 0.05).val).toHaveLength(0);
    expect(splitPairs(ids, 0).val).toHaveLength(0);
  });
});

describe("exact match of greedy decoding", () => {
  it("is the target followed by the end symbol; what follows is ignored", () => {
    expect(seq2seqExactMatch([1, 2, E], [1, 2], E)).toBe(true);
    expect(seq2seqExactMatch([1, 2, E, 3], [1, 2], E)).toBe(true);
    expect(seq2seqExactMatch([1, 2], [1, 2], E)).toBe(false);
    expect(seq2seqExactMatch([1, 2, 3], [1, 2], E)).toBe(false);
    expect(seq2seqExactMatch([1, E, E], [1, 2], E)).toBe(false);
    expect(seq2seqExactMatch([E], [], E)).toBe(true);
  });
});

/** Greedy decoding by whole-sequence forwards, one source at a time: no cache, no padding. */
async function independentGreedy(m: ModelInfo, weights: Map<string, Float32Array>, pairs: readonly Seq2seqPair[], start: number, end: number): Promise<number[][]> {
  const model = await createModel("reference", m, weights);
  const vocab = m.head.vocab;
  const out: number[][] = [];
  try {
    for (const p of pairs) {
      const src = { tokens: Int32Array.from(p.source), seq: p.source.length };
      const seq = [start];
      const gen: number[] = [];
      while (gen.length < p.target.length + 1) {
        const logits = await model.forward(Int32Array.from(seq), { batch: 1, seq: seq.length, src });
        const row = Array.from(logits.subarray((seq.length - 1) * vocab, seq.length * vocab));
        const best = row.indexOf(Math.max(...row));
        gen.push(best);
        if (best === end) break;
        seq.push(best);
      }
      out.push(gen);
    }
  } finally {
    model.dispose();
  }
  return out;
}

describe("specformer train on an encoder–decoder", () => {
  it("greedy decoding of padded batches agrees with whole-sequence decoding one source at a time", async () => {
    const m = copyModel();
    const w = initialWeights(m, 11);
    const pairs = seq2seqTaskHeldOut({ kind: "copy", minLength: 1, maxLength: 8, symbols: 10 }, 12, 5);
    const model = await createModel("reference", m, w);
    let batched;
    try {
      batched = await greedySeq2seq(model, pairs.map((p) => p.source), { start: S, end: E, sourceMask: true }, 9);
    } finally {
      model.dispose();
    }
    const single = await independentGreedy(m, w, pairs, S, E);
    // Rows stop at the end symbol in the independent decode; the batch runs on for the longest.
    batched.forEach((g, i) => expect(g.slice(0, single[i].length)).toEqual(single[i]));
  });

  it("--task copy: the loss falls, and the logged exact match is the one the saved weights give", async () => {
    const out = join(dir, "copy.safetensors");
    const args = ["train", COPY_SPEC, "--task", "copy", "--min-length", "1", "--max-length", "3", "--steps", "60", "--batch", "16", "--eval-every", "30", "--eval-windows", "40", "--lr", "1e-2", "--out", out];
    const r = await sf(...args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/on the copy task \(encoder–decoder\), strings of 1–3 over 10 symbols; 60 steps of 16×4/);
    expect(r.stderr).toMatch(/step 30\/60: train [\d.]+ .*val [\d.]+ nats, exact match \d+\/40 \([\d.]+%\)/);
    const log = JSON.parse(readFileSync(join(dir, "copy.log.json"), "utf8"));
    expect(log.evals.map((e: { step: number }) => e.step)).toEqual([0, 30, 60]);
    const losses: number[] = log.steps.map((s: { loss: number }) => s.loss);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)) - 0.3);
    expect(log.evals.at(-1).valLoss).toBeLessThan(log.evals[0].valLoss);

    // The held-out strings, decoded again from the final weights.
    const m = copyModel();
    const w = bindWeights(m, parseSafetensors(readFileSync(out)));
    const task: Seq2seqTask = { kind: "copy", minLength: 1, maxLength: 3, symbols: 10 };
    const heldOut = seq2seqTaskHeldOut(task, 40, 0 + HELD_OUT);
    const gen = await independentGreedy(m, w, heldOut, S, E);
    const hits = heldOut.map((p, i) => gen[i].length === p.source.length + 1 && gen[i].every((t, k) => t === (k < p.source.length ? p.source[k] : E)));
    const correct = hits.filter(Boolean).length;
    // Part-way through learning (15 of 40 at this seed): a miscounted hit or miss would show.
    expect(correct).toBeGreaterThan(0);
    expect(correct).toBeLessThan(40);
    expect(log.evals.at(-1).accuracy).toBe(correct / 40);
    for (const L of [1, 2, 3]) {
      const at = heldOut.map((p, i) => [p, hits[i]] as const).filter(([p]) => p.source.length === L);
      expect(log.final.accuracy.find((a: { length: number }) => a.length === L)).toEqual({ length: L, correct: at.filter(([, h]) => h).length, total: at.length, accuracy: at.filter(([, h]) => h).length / at.length });
    }
    expect(r.stderr).toContain(`exact match ${correct}/40`);
  });

  it("--data pairs: trains on the training pairs and evaluates the held-out ones", async () => {
    const words = ["cat", "dog", "sun", "map", "red", "owl"];
    const lines = Array.from({ length: 40 }, (_, i) => `${words[i % 6]} ${words[(i * 7) % 6]}\t${words[(i * 7) % 6]} ${words[i % 6]}`);
    const pairs = write("pairs.txt", lines.join("\n") + "\n");
    const out = join(dir, "pairs.safetensors");
    const r = await sf("train", byteSpecFile, "--data", pairs, "--steps", "4", "--batch", "4", "--eval-every", "2", "--out", out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/pairs\.txt: 40 pairs; 4 steps of 4×8/);
    const log = JSON.parse(readFileSync(join(dir, "pairs.log.json"), "utf8"));
    expect(log.data.documents).toEqual({ train: 38, val: 2 });
    expect(log.data.valTokens).toBe(2 * 8); // 7 bytes and the end symbol
    expect(log.evals).toHaveLength(3);
    for (const e of log.evals) expect(e.accuracy).toBeGreaterThanOrEqual(0);
    expect(log.final.accuracy.reduce((n: number, a: { total: number }) => n + a.total, 0)).toBe(2);
    // --separator TAB is the default separator: the same data, so --resume takes it.
    const again = await sf("train", byteSpecFile, "--data", pairs, "--separator", "TAB", "--steps", "6", "--resume", join(dir, "pairs.ckpt.safetensors"), "--out", out);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "pairs.log.json"), "utf8")).resumedAt).toEqual([4]);
    // Other pairs are other data.
    const other = write("other.txt", lines.slice(1).join("\n") + "\n");
    const refused = await sf("train", byteSpecFile, "--data", other, "--steps", "8", "--resume", join(dir, "pairs.ckpt.safetensors"), "--out", out);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/is not the data the checkpoint was trained on/);
  });

  it("fails with one line and the documented exit codes", async () => {
    const out = ["--out", join(dir, "f.safetensors")];
    const noSep = write("nosep.txt", "ab\tba\ncd dc\n");
    const long = write("long.txt", "ab\tba\nabc\t" + "x".repeat(30) + "\n");
    const small = write("small.sf", readFileSync(COPY_SPEC, "utf8").replace("vocab = 12", "vocab = 3"));
    const decOnly = write("dec.sf", `model dec {
  dims { vocab = 32, d = 8, heads = 1, layers = 1, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position learned(context)
  stack layers × block {
    attention self(heads = heads, mask = causal)
    mlp(hidden = 16, act = relu)
  }
  head tied
}
`);
    const unmasked = write("unmasked.sf", readFileSync(COPY_SPEC, "utf8").replace(/, padding = src_mask/g, ""));
    const cases: Array<[string[], number, RegExp]> = [
      [["train", COPY_SPEC, "--task", "ngram-lookup", "--steps", "2", ...out], 2, /--task must be copy or reverse for an encoder–decoder spec/],
      [["train", COPY_SPEC, "--task", "copy", "--max-length", "16", "--steps", "2", ...out], 1, /--max-length 16: the decoder reads the start symbol and 16 symbols, past its context 16/],
      [["train", COPY_SPEC, "--task", "copy", "--max-length", "17", "--steps", "2", ...out], 1, /--max-length 17 is past the encoder's context 16/],
      [["train", COPY_SPEC, "--task", "copy", "--min-length", "5", "--max-length", "4", "--steps", "2", ...out], 2, /--min-length 5 must be at most --max-length 4/],
      [["train", COPY_SPEC, "--task", "copy", "--seq", "8", "--steps", "2", ...out], 2, /--seq does not apply to an encoder–decoder/],
      [["train", COPY_SPEC, "--task", "copy", "--ngram", "2", "--steps", "2", ...out], 2, /--ngram belongs to the decoder-only --task ngram-lookup/],
      [["train", small, "--task", "copy", "--steps", "2", ...out], 1, /--task copy needs vocab >= 4 .* has 3 and 3/],
      [["train", unmasked, "--task", "copy", "--min-length", "1", "--steps", "2", ...out], 1, /has no padding mask, so one batch cannot hold strings of 1–10 symbols; give --min-length = --max-length/],
      [["train", decOnly, "--task", "reverse", "--steps", "2", ...out], 2, /reverse is for encoder–decoder specs; dec is decoder-only/],
      [["train", decOnly, "--task", "copy", "--separator", ",", "--steps", "2", ...out], 2, /--separator applies to an encoder–decoder's parallel text/],
      [["train", COPY_SPEC, "--data", noSep, "--steps", "2", ...out], 1, /declares no tokenizer/],
      [["train", byteSpecFile, "--data", noSep, "--steps", "2", ...out], 1, /nosep\.txt line 2: no tab separator/],
      [["train", byteSpecFile, "--data", long, "--steps", "2", ...out], 1, /long\.txt line 2: the target is 30 tokens and the start symbol, past the decoder's context 24/],
      [["train", byteSpecFile, "--data", noSep, "--separator", "", "--steps", "2", ...out], 2, /--separator must be a non-empty string/],
      [["train", byteSpecFile, "--data", noSep, "--max-length", "3", "--steps", "2", ...out], 2, /--max-length applies to --task, not --data/],
      [["train", write("b256.sf", byteSpec(256)), "--data", noSep, "--steps", "2", ...out], 1, /needs vocab 257, whose end-of-text id is the decoder's start and end symbol/],
      [["train", byteSpecFile, "--data", write("blank.txt", "\n\n"), "--steps", "2", ...out], 1, /blank\.txt holds no pairs/],
    ];
    for (const [args, code, msg] of cases) {
      const r = await sf(...args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(code);
      expect(r.stderr, args.join(" ")).toMatch(msg);
      expect(r.stderr.trim().split("\n").filter((l) => l.startsWith("specformer:")), r.stderr).toHaveLength(1);
    }
  });
});

// checkSource is the in-memory twin of checkFile; the inline byte spec must check cleanly too.
it("the inline byte-level encoder–decoder checks with no diagnostics", () => {
  expect(checkSource(byteSpec(), "byte.sf").diagnostics).toEqual([]);
});
