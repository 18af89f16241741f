// The copying tasks of Jelassi et al. 2024 (src/train/copy-task.ts) and their exact-match
// evaluation (src/train/copy-eval.ts): example format and separators, packing and loss
// masking of training windows, determinism in (seed, step), and the metric on hand-made cases
// (including greedy decoding through a stand-in model whose answers are fixed by hand).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "./helpers/cli-in-process.ts";
import { exampleAccuracy, greedyBatch } from "../src/train/copy-eval.ts";
import { BOS, copyBatch, copyExample, copyText, EOS, exactMatch, type CopyTask, SEP } from "../src/train/copy-task.ts";
import { streamRng } from "../src/train/rng.ts";
import type { DecodeState } from "../src/runtime/model-api.ts";

const COPY: CopyTask = { kind: "copy", minLength: 1, maxLength: 6, ngram: 3, answerLength: 3 };
const LOOKUP: CopyTask = { kind: "ngram-lookup", minLength: 7, maxLength: 12, ngram: 3, answerLength: 3 };

describe("examples", () => {
  it("copy: $ x | x . over 26 letters", () => {
    const e = copyExample(COPY, 5, streamRng(1));
    expect(e.prompt[0]).toBe(BOS);
    expect(e.prompt.at(-1)).toBe(SEP);
    expect(e.prompt.slice(1, -1)).toEqual(e.answer);
    expect(e.answer).toHaveLength(5);
    expect(e.answer.every((t) => t >= 0 && t < 26)).toBe(true);
    expect(copyText([...e.prompt, ...e.answer, EOS])).toMatch(/^\$([a-z]{5})\|\1\.$/);
  });

  it("ngram-lookup: $ x | k y . with k occurring once in x and y the letters after it", () => {
    for (let s = 0; s < 20; s++) {
      const e = copyExample(LOOKUP, 10, streamRng(s));
      const sep = e.prompt.indexOf(SEP);
      const x = e.prompt.slice(1, sep);
      const key = e.prompt.slice(sep + 1);
      expect(x).toHaveLength(10);
      expect(key).toHaveLength(3);
      const at = [...Array(x.length - 2).keys()].filter((p) => x.slice(p, p + 3).join() === key.join());
      expect(at).toHaveLength(1);
      expect(e.answer).toEqual(x.slice(at[0] + 3, at[0] + 6));
    }
    expect(() => copyExample(LOOKUP, 6, streamRng(0))).toThrow(/at least 7 letters/);
  });
});

describe("training windows", () => {
  it("pack examples; only answers and EOS of examples inside the window count", () => {
    const { tokens, targets } = copyBatch(COPY, 3, 40, 5, 1);
    for (let b = 0; b < 3; b++) {
      const row = [...tokens.subarray(b * 40, (b + 1) * 40)];
      const tgt = [...targets.subarray(b * 40, (b + 1) * 40)];
      expect(row[0]).toBe(BOS);
      // Walk the examples: after SEP the next |x| targets are x, then EOS; elsewhere -1.
      let p = 0;
      let counted = 0;
      while (p < 40) {
        expect(row[p]).toBe(BOS);
        const sep = row.indexOf(SEP, p);
        if (sep < 0) break;
        const x = row.slice(p + 1, sep);
        const end = sep + x.length + 1; // position of EOS
        const inside = end <= 40; // EOS is a target (of position end - 1) when end <= 40
        for (let q = p; q < Math.min(sep, 40); q++) expect(tgt[q], `prompt target at ${q}`).toBe(-1);
        for (let k = 0; k <= x.length && sep + k < 40; k++) {
          expect(tgt[sep + k], `answer target at ${sep + k}`).toBe(inside ? [...x, EOS][k] : -1);
          if (inside) counted++;
        }
        p = end + 1;
      }
      expect(counted).toBeGreaterThan(0);
    }
  });

  it("is a function of (seed, step) and refuses windows too short for one example", () => {
    expect(copyBatch(COPY, 2, 32, 3, 7)).toEqual(copyBatch(COPY, 2, 32, 3, 7));
    expect(copyBatch(COPY, 2, 32, 3, 7).tokens).not.toEqual(copyBatch(COPY, 2, 32, 3, 8).tokens);
    expect(() => copyBatch(COPY, 1, 10, 0, 1)).toThrow(/cannot hold one copy example/);
  });
});

describe("exact match", () => {
  it("needs the whole answer then EOS", () => {
    expect(exactMatch([1, 2, 3, EOS], [1, 2, 3])).toBe(true);
    expect(exactMatch([1, 2, 3, EOS, 4], [1, 2, 3])).toBe(true);
    expect(exactMatch([1, 2, 4, EOS], [1, 2, 3])).toBe(false);
    expect(exactMatch([1, 2, 3, 3], [1, 2, 3])).toBe(false);
    expect(exactMatch([1, 2, 3], [1, 2, 3])).toBe(false);
    expect(exactMatch([1, 2, EOS], [1, 2, 3])).toBe(false);
  });

  it("scores greedy decoding of a hand-made model: right on one string, wrong on the other", async () => {
    // A stand-in model that "copies" by looking up its own fed tokens, except that it writes
    // the letter z (25) where it should write c (2).
    const vocab = 29;
    const fed: number[][] = [];
    const model = {
      config: { name: "by-hand", vocab, dims: {} },
      begin: async ({ batch }: { batch: number }) => {
        fed.length = 0;
        for (let b = 0; b < batch; b++) fed.push([]);
        return { position: 0, dispose() {} } as unknown as DecodeState;
      },
      step: async (_s: DecodeState, tokens: Int32Array, n: number) => {
        const out = new Float32Array(fed.length * n * vocab);
        fed.forEach((f, b) => {
          for (let i = 0; i < n; i++) {
            f.push(tokens[b * n + i]);
            const sep = f.indexOf(SEP);
            const k = f.length - 1 - sep; // letters written so far
            const x = f.slice(1, sep);
            let next = k < x.length ? x[k] : EOS;
            if (next === 2) next = 25;
            out[(b * n + i) * vocab + next] = 1;
          }
        });
        return out;
      },
    };
    const good = { prompt: [BOS, 0, 1, SEP], answer: [0, 1] };
    const bad = { prompt: [BOS, 0, 2, SEP], answer: [0, 2] };
    expect(await greedyBatch(model, [good.prompt, bad.prompt], 3)).toEqual([[0, 1, EOS], [0, 25, EOS]]);
    expect(await exampleAccuracy(model, [good, bad, good])).toEqual({ correct: 2, total: 3 });
  });
});

describe("specformer train --task", () => {
  const dir = mkdtempSync(join(tmpdir(), "sf-copy-"));
  const spec = (vocab: number) => {
    const f = join(dir, `copy-${vocab}.sf`);
    writeFileSync(f, `model tiny_copy {
  dims { vocab = ${vocab}, d = 16, heads = 4, layers = 1, context = 64 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position hard_alibi(local_heads = 2)
  stack layers × decoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, mask = causal)
    norm layer(eps = 1e-5)
    mlp(hidden = 2 * d, act = gelu)
  }
  norm layer(eps = 1e-5)
  head tied
}`);
    return f;
  };

  it("trains on generated copy windows and logs loss and exact-match accuracy", async () => {
    const out = join(dir, "w.safetensors");
    const r = await cli("train", spec(29), "--task", "copy", "--max-length", "4", "--steps", "2", "--batch", "2", "--seq", "16", "--eval-windows", "3", "--out", out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the copy task, strings of 1–4 letters/);
    expect(r.stderr).toMatch(/exact match at 4 letters [\d.]+%/);
    const log = JSON.parse(readFileSync(join(dir, "w.log.json"), "utf8"));
    expect(log.data.file).toMatch(/^task:/);
    expect(log.evals.every((e: { accuracy?: number }) => typeof e.accuracy === "number")).toBe(true);
    expect(log.final.accuracy.map((a: { length: number; total: number }) => [a.length, a.total])).toEqual([[4, 3], [8, 3], [16, 3]]);
  });

  it.each([
    [["--task", "copy", "--data", "x.txt"], /--data and --task exclude each other/],
    [["--task", "reverse"], /--task must be one of copy, ngram-lookup/],
    [["--task", "ngram-lookup", "--max-length", "5"], /--min-length 7 must be in \[7, --max-length 5\]/],
    [["--task", "copy", "--max-length", "40"], /one example is 83 tokens, past the model's context 64/],
    [["--task", "copy", "--seq", "8"], /--seq 8 cannot hold one copy example/],
  ])("refuses %j in one line", async (args, message) => {
    const r = await cli("train", spec(29), "--steps", "1", "--out", join(dir, "x.safetensors"), ...(args as string[]));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("refuses a vocab without room for the task's tokens", async () => {
    const r = await cli("train", spec(20), "--task", "copy", "--steps", "1", "--out", join(dir, "y.safetensors"));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/uses 29 tokens .* has vocab 20/);
  });
});

describe("scripts/copy-experiment.ts --quick", () => {
  // Node with tsx's loader, not `npx tsx`: one process a run instead of npm's, tsx's and the script's.
  const script = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "scripts/copy-experiment.ts", "--quick", ...args], { encoding: "utf8" });
  const dir = mkdtempSync(join(tmpdir(), "sf-copyx-"));
  const out = join(dir, "q");
  type Run = { train: { steps: number; target: string }; lengths: number[]; models: Array<{ name: string; losses: Array<{ loss: number }>; final: Array<{ length: number }>; tokensPerSecond: number }> };

  it("trains on the wasm kernels and evaluates each model, and writes the table's JSON and both plots", () => {
    const r = script("--target", "wasm", "--models", "nope,hard-alibi", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| Transformer, Hard-ALiBi \| 101,440 \| \d+% \| \d+% \|/);
    expect(r.stderr).toMatch(/steps of 2×32 on wasm kernels/);
    const json = JSON.parse(readFileSync(`${out}.json`, "utf8")) as Run;
    expect(json.train.target).toBe("wasm");
    expect(json.models.map((m) => m.name)).toEqual(["nope", "hard-alibi"]);
    for (const m of json.models) {
      expect(m.losses).toHaveLength(json.train.steps);
      expect(m.final.map((f) => f.length)).toEqual(json.lengths);
      expect(m.tokensPerSecond).toBeGreaterThan(0);
    }
    for (const f of ["length", "steps"]) expect(readFileSync(`${out}-${f}.svg`, "utf8")).toMatch(/^<svg[\s\S]*Hard-ALiBi[\s\S]*<\/svg>\n$/);
  }, 420_000);

  it("trains on the reference kernels too, to the wasm run's losses", () => {
    const r = script("--target", "reference", "--models", "nope", "--out", join(dir, "ref"));
    expect(r.status, r.stderr).toBe(0);
    const ref = JSON.parse(readFileSync(join(dir, "ref.json"), "utf8")) as Run;
    const wasm = JSON.parse(readFileSync(`${out}.json`, "utf8")) as Run;
    expect(ref.train.target).toBe("reference");
    const losses = (run: Run) => run.models[0].losses.map((l) => l.loss);
    for (const [i, loss] of losses(ref).entries()) expect(Math.abs(loss - losses(wasm)[i]), `step ${i + 1}`).toBeLessThan(1e-3);
  }, 420_000);

  it("--resume keeps the finished models, trains none twice, and refuses a run configured differently, in one line", () => {
    const r = script("--target", "wasm", "--models", "hard-alibi", "--out", out, "--resume");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming: nope, hard-alibi already in/);
    expect(r.stderr).not.toMatch(/parameters, \d+ steps/);
    expect((JSON.parse(readFileSync(`${out}.json`, "utf8")) as Run).models.map((m) => m.name)).toEqual(["nope", "hard-alibi"]);
    const bad = script("--target", "wasm", "--steps", "3", "--models", "nope", "--out", out, "--resume");
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^copy-experiment: --resume: .* was written by a run configured differently$/);
    const option = script("--models", "rwkv", "--out", out);
    expect(option.status).toBe(2);
    expect(option.stderr.trim()).toMatch(/^copy-experiment: unknown model `rwkv`; known: rope, nope, hard-alibi, mamba$/);
  }, 420_000);
});
