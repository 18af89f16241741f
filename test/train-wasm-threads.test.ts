// The Wasm training kernels on worker threads (backends/wasm/train/thread-pool.ts, split.ts)
// against the same kernels on one thread. Every output element is computed by the same code
// whatever the split (matmul rows cut at the register tile, dW by bands of its rows, attention
// by (batch, head) / (batch, KV head) units, activations by element ranges), so the results
// must be bit for bit the same: the checks are exact. minSplit 0 splits even these small
// shapes; each case also checks that its calls did run on more than one thread, and the
// trainer runs use the default threshold on the demo model too; and a trainer whose kernels
// keep each step's results (kernel-memory.ts) against one copying every operand in. The
// one-thread kernels themselves are checked against the reference in test/train-wasm-kernels.test.ts.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli/main.ts";
import type { TrainAttentionOptions } from "../backends/reference/backward/index.ts";
import type { AttentionDims } from "../backends/reference/kernels/shape.ts";
import { instantiateTrainModule } from "../backends/wasm/train/prebuilt.ts";
import { compileTrainModules } from "../backends/wasm/train/compile-kernels.ts";
import { WasmTrainKernels, type SplitCounts } from "../backends/wasm/train/kernels.ts";
import { checkFile } from "../src/check/check.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { outputSection } from "../src/model/model.ts";
import { bindBatch, windows } from "../src/train/data.ts";
import { initialWeights } from "../src/train/init.ts";
import { Trainer, type TrainConfig } from "../src/train/trainer.ts";
import { noise } from "./helpers/noise.ts";

/** Indices where a and b differ (NaN never equals: the kernels must not produce one here). */
function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

const one = new WasmTrainKernels(undefined, undefined, { threads: 1 });
const pools = [2, 3].map((threads) => new WasmTrainKernels(undefined, undefined, { threads, minSplit: 0 }));
afterAll(() => pools.forEach((k) => k.close()));

/** Runs `f` on `k` and returns how many of its calls split, by kernel. */
function splitsOf(k: WasmTrainKernels, f: () => void): SplitCounts {
  const before = { ...k.splitCalls };
  f();
  const after = k.splitCalls;
  return { matmul: after.matmul - before.matmul, dw: after.dw - before.dw, attentionForward: after.attentionForward - before.attentionForward, attentionBackward: after.attentionBackward - before.attentionBackward, activation: after.activation - before.activation };
}

describe("wasm training kernels on threads: linear", () => {
  // Rows below 4·MR·threads split W's panels, above split rows; out dims not a multiple of the
  // 8-column panel nor of dW's 4-row band; rows not a multiple of the 4-row tile.
  const shapes: Array<[number, number, number]> = [[37, 20, 13], [5, 16, 27], [131, 64, 50], [7, 24, 6], [64, 128, 24], [2, 8, 9], [45, 33, 130]];
  for (const k of pools) {
    for (const [rows, inDim, outDim] of shapes) {
      it(`${k.threads} threads, rows ${rows}, in ${inDim}, out ${outDim}: forward, dx, dW, db equal one thread's`, () => {
        const x = noise(rows * inDim, rows * 7 + inDim);
        const w = Float32Array.from(noise(outDim * inDim, outDim + 3, 0.3));
        const b = Float32Array.from(noise(outDim, 99));
        const dy = noise(rows * outDim, 5);
        const start = (n: number) => noise(n, 77, 0.1);
        const g1 = [start(rows * inDim), start(outDim * inDim), start(outDim)];
        const gT = g1.map((g) => g.slice());
        const y1 = one.linearForward(x, rows, inDim, w, b, outDim);
        one.linearBackward(dy, x, rows, inDim, w, outDim, g1[0], g1[1], g1[2]);
        let yT: Float32Array | undefined;
        const splits = splitsOf(k, () => {
          yT = k.linearForward(x, rows, inDim, w, b, outDim);
          k.linearBackward(dy, x, rows, inDim, w, outDim, gT[0], gT[1], gT[2]);
        });
        expect(differing(yT!, y1), "forward").toBe(0);
        expect(differing(gT[0], g1[0]), "dx").toBe(0);
        expect(differing(gT[1], g1[1]), "dW").toBe(0);
        expect(differing(gT[2], g1[2]), "db").toBe(0);
        // A matmul splits rows from 4 tiles of MR = 4 rows per thread, else panels where there are two or more.
        const splitsMatmul = (panelsOf: number) => (rows >= 16 * k.threads || Math.ceil(panelsOf / 8) > 1 ? 1 : 0);
        expect(splits.matmul, "matmul calls split").toBe(splitsMatmul(outDim) + splitsMatmul(inDim));
        expect(splits.dw, "dW calls split").toBe(1);
      });
    }
  }

  it("a small call stays on the calling thread at the default threshold", () => {
    const k = new WasmTrainKernels(undefined, undefined, { threads: 2 });
    try {
      const x = noise(5 * 16, 1);
      const w = Float32Array.from(noise(8 * 16, 2));
      const splits = splitsOf(k, () => k.linearForward(x, 5, 16, w, null, 8));
      expect(splits.matmul).toBe(0);
      expect(differing(k.linearForward(x, 5, 16, w, null, 8), one.linearForward(x, 5, 16, w, null, 8))).toBe(0);
    } finally {
      k.close();
    }
  });
});

describe("wasm training kernels on threads: attention", () => {
  const mask = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0 : 1));
  const cases: Array<{ name: string; B: number; S: number; H: number; KVH: number; hd: number; o: TrainAttentionOptions }> = [
    { name: "causal GQA 4/2", B: 2, S: 37, H: 4, KVH: 2, hd: 8, o: { causal: true, alibi: false } },
    { name: "causal window + ALiBi", B: 1, S: 50, H: 4, KVH: 4, hd: 32, o: { causal: true, alibi: true, window: 7 } },
    { name: "two-sided window + soft-cap, MQA", B: 3, S: 21, H: 2, KVH: 1, hd: 4, o: { causal: false, alibi: false, window: 5, softcap: 3 } },
    { name: "GQA 6/2 + key padding", B: 2, S: 19, H: 6, KVH: 2, hd: 16, o: { causal: true, alibi: false, keyMask: mask(38) } },
    { name: "Hard-ALiBi head windows + key padding", B: 2, S: 19, H: 4, KVH: 4, hd: 16, o: { causal: true, alibi: true, headWindows: [0, 3, 0, 6], keyMask: mask(38) } },
    { name: "full (encoder) + key padding, scale", B: 3, S: 9, H: 2, KVH: 2, hd: 64, o: { causal: false, alibi: false, keyMask: mask(27), scale: 0.3 } },
    { name: "one batch row, MQA (the backward has one unit)", B: 1, S: 23, H: 3, KVH: 1, hd: 8, o: { causal: true, alibi: false } },
    { name: "several 32-row blocks, GQA 4/2", B: 2, S: 70, H: 4, KVH: 2, hd: 32, o: { causal: true, alibi: false } },
    { name: "several blocks, window + ALiBi + key padding, GQA 6/3", B: 2, S: 70, H: 6, KVH: 3, hd: 16, o: { causal: true, alibi: true, window: 40, keyMask: mask(140) } },
  ];
  for (const k of pools) {
    for (const c of cases) {
      it(`${k.threads} threads, ${c.name}: out, lse, dq, dk, dv equal one thread's`, () => {
        const d: AttentionDims = { batch: c.B, seqQ: c.S, seqK: c.S, heads: c.H, kvHeads: c.KVH, headDim: c.hd };
        const q = noise(c.B * c.S * c.H * c.hd, 1, 2);
        const kk = noise(c.B * c.S * c.KVH * c.hd, 2, 2);
        const v = noise(c.B * c.S * c.KVH * c.hd, 3);
        const dOut = noise(q.length, 4);
        const r1 = one.attentionForward(q, kk, v, d, c.o);
        const g1 = [noise(q.length, 5, 0.1), noise(kk.length, 6, 0.1), noise(v.length, 7, 0.1)];
        const gT = g1.map((g) => g.slice());
        one.attentionBackward(q, kk, v, r1.out, r1.lse, dOut, d, c.o, g1[0], g1[1], g1[2]);
        let rT: ReturnType<WasmTrainKernels["attentionForward"]> | undefined;
        const splits = splitsOf(k, () => {
          rT = k.attentionForward(q, kk, v, d, c.o);
          k.attentionBackward(q, kk, v, rT.out, rT.lse, dOut, d, c.o, gT[0], gT[1], gT[2]);
        });
        expect(differing(rT!.out, r1.out), "out").toBe(0);
        expect(differing(rT!.lse, r1.lse), "lse").toBe(0);
        expect(differing(gT[0], g1[0]), "dq").toBe(0);
        expect(differing(gT[1], g1[1]), "dk").toBe(0);
        expect(differing(gT[2], g1[2]), "dv").toBe(0);
        expect(splits.attentionForward).toBe(1);
        expect(splits.attentionBackward).toBe(c.B * c.KVH > 1 ? 1 : 0);
      });
    }
  }
});

describe("wasm training kernels on threads: activations", () => {
  for (const k of pools) {
    for (const act of ["relu", "gelu", "gelu_tanh", "silu"] as const) {
      it(`${k.threads} threads, ${act}: forward and derivative over 1,001 elements equal one thread's`, () => {
        const x = noise(1001, 11, 4);
        const dy = noise(1001, 12);
        let y: Float32Array | undefined;
        let g: Float32Array | undefined;
        const splits = splitsOf(k, () => {
          y = k.activationForward(x, act);
          g = k.activationGrad(dy, x, act);
        });
        expect(differing(y!, one.activationForward(x, act))).toBe(0);
        expect(differing(g!, one.activationGrad(dy, x, act))).toBe(0);
        expect(splits.activation).toBe(2);
      });
    }
  }
});

describe("wasm training kernels on threads: options", () => {
  it("threads must be an integer from 1 to 16; a prebuilt module trains on 1 thread", async () => {
    for (const t of [0, 1.5, 17, NaN]) expect(() => new WasmTrainKernels(undefined, undefined, { threads: t })).toThrow(/^wasm training: threads must be an integer from 1 to 16, got /);
    const prebuilt = await instantiateTrainModule(compileTrainModules([{ kind: "activation", act: "relu" }]).plain);
    expect(() => new WasmTrainKernels(prebuilt, false, { threads: 2 })).toThrow(/^wasm training: a prebuilt kernel module is a single-threaded build/);
  });

  it("closed kernels refuse further split calls in one line", () => {
    const k = new WasmTrainKernels(undefined, undefined, { threads: 2, minSplit: 0 });
    const x = noise(64, 1);
    expect(differing(k.activationForward(x, "relu"), one.activationForward(x, "relu"))).toBe(0);
    k.close();
    expect(() => k.activationForward(x, "relu")).toThrow(/^wasm training: the kernels were closed$/);
  });
});

function loadSpec(path: string): ModelInfo {
  const r = checkFile(path);
  if (!r.entry) throw new Error(`${path} does not check`);
  return r.entry;
}

/** Losses and final parameters of `steps` AdamW updates on fixed pseudo-random batches. */
async function train(m: ModelInfo, kernels: WasmTrainKernels, batch: number, seq: number, steps: number): Promise<{ losses: number[]; params: Map<string, Float32Array> }> {
  const config: TrainConfig = {
    steps, batch, seq, schedule: "cosine", lr: 3e-3, warmup: 2, minLrRatio: 0.1, optimizer: "adamw",
    betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1, labelSmoothing: 0.1, dropout: 0.1, seed: 3,
  };
  const trainer = new Trainer(m, config, initialWeights(m, 1), undefined, kernels);
  const input = outputSection(m).input;
  const losses: number[] = [];
  let x = 7;
  for (let s = 0; s < steps; s++) {
    const tokens = Int32Array.from({ length: batch * (seq + 1) }, () => (x = (x * 48271) % 2147483647) % m.head.vocab);
    const { tokens: ids, targets } = windows(tokens, Array.from({ length: batch }, (_, b) => b * (seq + 1)), seq);
    losses.push((await trainer.update(bindBatch(m, new Map([[input, { data: ids, shape: [batch, seq] }]]), targets))).loss);
  }
  return { losses, params: trainer.params };
}

describe("a Trainer on 2 threads against 1", () => {
  const runs: Array<{ spec: string; batch: number; seq: number; minSplit?: number; split: Array<keyof SplitCounts> }> = [
    // Window, RoPE, GQA 4/2, SwiGLU (its gate runs on the reference kernels), dropout: tiny, so every call is split (minSplit 0).
    { spec: "specs/tiny-window.sf", batch: 3, seq: 24, minSplit: 0, split: ["matmul", "dw", "attentionForward", "attentionBackward"] },
    // The demo model at the default threshold: its matmuls, attention and GELUs split.
    { spec: "specs/demo-fortune.sf", batch: 2, seq: 64, split: ["matmul", "dw", "attentionForward", "attentionBackward", "activation"] },
  ];
  for (const r of runs) {
    it(`${r.spec}, 8 steps of ${r.batch} × ${r.seq}: the same losses and weights`, async () => {
      const m = loadSpec(r.spec);
      const k1 = new WasmTrainKernels(undefined, undefined, { threads: 1 });
      const k2 = new WasmTrainKernels(undefined, undefined, { threads: 2, ...(r.minSplit !== undefined ? { minSplit: r.minSplit } : {}) });
      try {
        const [a, b] = [await train(m, k1, r.batch, r.seq, 8), await train(m, k2, r.batch, r.seq, 8)];
        expect(b.losses).toEqual(a.losses);
        let diff = 0;
        for (const [name, w] of a.params) diff += differing(b.params.get(name)!, w);
        expect(diff).toBe(0);
        const s = k2.splitCalls;
        for (const what of r.split) expect(s[what], `${what} calls split`).toBeGreaterThan(0);
        console.log(`${r.spec} on 2 threads: 8 losses and every weight bit for bit as on 1 thread (last loss ${a.losses[7].toFixed(4)}); calls split: ${JSON.stringify(s)}`);
      } finally {
        k2.close();
      }
    }, 120_000);
  }
});

describe("a Trainer keeping each step's results in the kernel memory (kernel-memory.ts) against copying every operand in", () => {
  // The kept results are the kernels' own copies of arrays JS also holds: a stale one would
  // change a loss or a weight, so the check is exact; and a good share of the operands must have
  // been passed by address, or nothing was kept.
  // The share passed by address is a count, not a timing: demo-fortune 70%; tiny-window 36% (its
  // RoPE-rotated queries and keys, and the SwiGLU gate's reference kernel, make fresh arrays).
  for (const [spec, threads, share] of [["specs/demo-fortune.sf", 1, 0.6], ["specs/tiny-window.sf", 2, 0.3]] as const) {
    it(`${spec}, ${threads} thread${threads > 1 ? "s" : ""}, 4 steps: the same losses and weights, at least ${100 * share}% of the operands passed by address`, async () => {
      const m = loadSpec(spec);
      const kept = new WasmTrainKernels(undefined, undefined, { threads, minSplit: 0 });
      const copied = new WasmTrainKernels(undefined, undefined, { threads: 1, keepResults: false });
      try {
        const [a, b] = [await train(m, copied, 2, 32, 4), await train(m, kept, 2, 32, 4)];
        expect(b.losses).toEqual(a.losses);
        let diff = 0;
        for (const [name, w] of a.params) diff += differing(b.params.get(name)!, w);
        expect(diff).toBe(0);
        expect(copied.copies.reused).toBe(0);
        const { copied: c, reused: r } = kept.copies;
        console.log(`${spec}: kept results passed ${r} floats by address, ${c} copied in (without keeping: ${copied.copies.copied})`);
        expect(r / (r + c)).toBeGreaterThan(share);
        expect(r + c).toBe(copied.copies.copied);
      } finally {
        kept.close();
      }
    }, 120_000);
  }
});

describe("specformer train --target wasm --threads", () => {
  const dir = mkdtempSync(join(tmpdir(), "sf-train-threads-"));
  // d = 64 and an MLP of 256 at 4 × 32 tokens: the MLP's matmuls pass the default split threshold.
  const spec = join(dir, "byte.sf");
  writeFileSync(
    spec,
    `model byte_mlp {
  dims { vocab = 257, d = 64, heads = 2, layers = 1, context = 32 }
  input tokens: int[batch, seq] where seq <= context
  tokenizer byte
  embed tokens(vocab, d)
  position learned(context)
  stack layers × decoder {
    norm layer(eps = 1e-5)
    attention self(heads = heads, mask = causal, bias = true)
    norm layer(eps = 1e-5)
    mlp(hidden = 4 * d, act = gelu)
  }
  norm layer(eps = 1e-5)
  head tied
}
`,
  );
  const data = join(dir, "data.txt");
  writeFileSync(data, Array.from({ length: 60 }, (_, i) => `fortune number ${i} says ${"abcdefgh".slice(i % 5)} and more.`).join("\n%\n") + "\n%\n");

  // main() adds its closed-pipe listeners on every call.
  process.stdout.setMaxListeners(100);
  process.stderr.setMaxListeners(100);
  async function sf(...args: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = "";
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((t: string | Uint8Array) => {
      stderr += String(t);
      return true;
    });
    try {
      await main(["node", "specformer", ...args]);
    } finally {
      spy.mockRestore();
    }
    const code = Number(process.exitCode ?? 0);
    process.exitCode = 0;
    return { code, stderr };
  }
  const run = (out: string, ...extra: string[]) => sf("train", spec, "--data", data, "--steps", "8", "--batch", "4", "--seq", "32", "--eval-every", "4", "--eval-windows", "4", "--out", join(dir, out), ...extra);

  it("8 steps on 2 threads: the log's losses and the weights equal 1 thread's", async () => {
    const one = await run("one.safetensors", "--target", "wasm");
    const two = await run("two.safetensors", "--target", "wasm", "--threads", "2");
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr).toMatch(/wasm \(2 threads\) kernels/);
    const log = (f: string) => JSON.parse(readFileSync(join(dir, f), "utf8")) as { steps: Array<{ loss: number }>; evals: Array<{ valLoss: number }> };
    const [a, b] = [log("one.log.json"), log("two.log.json")];
    expect(a.steps).toHaveLength(8);
    expect(b.steps.map((x) => x.loss)).toEqual(a.steps.map((x) => x.loss));
    expect(b.evals.map((x) => x.valLoss)).toEqual(a.evals.map((x) => x.valLoss));
    expect(Buffer.compare(readFileSync(join(dir, "two.safetensors")), readFileSync(join(dir, "one.safetensors")))).toBe(0);
  }, 120_000);

  it("a bad --threads, or --threads without --target wasm, is one usage line", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--target", "wasm", "--threads", "0"], /^specformer: --threads must be an integer >= 1, got `0`$/m],
      [["--target", "wasm", "--threads", "two"], /^specformer: --threads must be an integer >= 1, got `two`$/m],
      [["--target", "wasm", "--threads", "17"], /^specformer: --threads is at most 16, got 17$/m],
      [["--threads", "2"], /^specformer: --threads is for --target wasm \(got --target reference\)$/m],
      [["--target", "reference", "--threads", "1"], /^specformer: --threads is for --target wasm \(got --target reference\)$/m],
    ];
    for (const [extra, msg] of cases) {
      const r = await run("bad.safetensors", ...extra);
      expect(r.code, extra.join(" ")).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split("\n").filter((l) => l.startsWith("specformer:"))).toHaveLength(1);
    }
  });
});
