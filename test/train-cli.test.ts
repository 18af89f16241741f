// `specformer train`: the files it writes, exact --resume after an interruption, and one-line
// failures with the documented exit codes. Runs the command in process (src/cli/main.ts) on a
// tiny byte-level spec and a generated text, so it needs no build.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli/main.ts";
import { checkSource } from "../src/check/check.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { splitDocuments } from "../src/train/data.ts";
import { gpuDevice } from "./helpers/gpu.ts";

const dir = mkdtempSync(join(tmpdir(), "sf-train-"));
const SPEC = `model tiny_byte {
  dims { vocab = 257, d = 16, heads = 2, layers = 1, context = 32 }
  input tokens: int[batch, seq] where seq <= context
  tokenizer byte
  train(dropout = 0.1, label_smoothing = 0.1)
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
`;
const spec = join(dir, "tiny-byte.sf");
writeFileSync(spec, SPEC);
const words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away", "home"];
let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const fortunes = Array.from({ length: 120 }, () => Array.from({ length: 4 + Math.floor(rnd() * 8) }, () => words[Math.floor(rnd() * words.length)]).join(" ") + ".");
const data = join(dir, "data.txt");
writeFileSync(data, fortunes.join("\n%\n") + "\n%\n");
const short = join(dir, "short.txt");
writeFileSync(short, "ten bytes.");
// main() adds its closed-pipe listeners on every call; these tests call it many times.
process.stdout.setMaxListeners(100);
process.stderr.setMaxListeners(100);

/** Runs `specformer ...` in process; returns the exit code and what went to stderr. */
async function sf(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
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

const base = ["train", spec, "--data", data, "--batch", "2", "--seq", "16", "--eval-windows", "4"];

afterEach(() => {
  process.exitCode = 0;
});

describe("specformer train", () => {
  it("splits fortune files at lone % lines and other text at blank lines", () => {
    const dec = (t: string) => splitDocuments(new TextEncoder().encode(t)).map((d) => new TextDecoder().decode(d));
    expect(dec("a\n%\nb b\nc\n%\n")).toEqual(["a", "b b\nc"]);
    expect(dec("one\n\n\ntwo\nlines\n\nthree")).toEqual(["one", "two\nlines", "three"]);
  });

  it("--target wasm trains the same run as the reference kernels (float32 matmuls and attention), --val-data holds out a file", async () => {
    const runs = new Map<string, { log: { target: string; steps: Array<{ loss: number }> }; w: Map<string, Float32Array> }>();
    for (const target of ["reference", "wasm"]) {
      const out = join(dir, `t-${target}.safetensors`);
      const r = await sf(...base, "--steps", "8", "--eval-every", "4", "--lr", "1e-2", "--dropout", "0", "--val-data", data, "--target", target, "--out", out);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`${target} kernels`);
      const m = checkSource(SPEC, spec).entry!;
      runs.set(target, { log: JSON.parse(readFileSync(out.replace(/\.safetensors$/, ".log.json"), "utf8")), w: bindWeights(m, parseSafetensors(readFileSync(out))) });
    }
    const [ref, wasm] = [runs.get("reference")!, runs.get("wasm")!];
    expect(wasm.log.target).toBe("wasm");
    ref.log.steps.forEach((s, i) => expect(Math.abs(wasm.log.steps[i].loss - s.loss) / s.loss, `loss at step ${i + 1}`).toBeLessThan(1e-4));
    for (const [name, a] of ref.w) {
      const b = wasm.w.get(name)!;
      let e = 0;
      for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
      expect(e, name).toBeLessThan(1e-4);
    }
  });

  it("--target webgpu trains the same run as the reference kernels (float32 WGSL matmuls, attention and activations)", async (ctx) => {
    const device = await gpuDevice(); // with CI set, no adapter fails here instead of skipping
    if (!device) return ctx.skip();
    device.destroy(); // the command opens its own
    const runs = new Map<string, { log: { target: string; steps: Array<{ loss: number }> }; w: Map<string, Float32Array> }>();
    for (const target of ["reference", "webgpu"]) {
      const out = join(dir, `g-${target}.safetensors`);
      const r = await sf(...base, "--steps", "8", "--eval-every", "4", "--lr", "1e-2", "--dropout", "0", "--target", target, "--out", out);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(target === "webgpu" ? /, webgpu \(.+\) kernels/ : /, reference kernels/);
      const m = checkSource(SPEC, spec).entry!;
      runs.set(target, { log: JSON.parse(readFileSync(out.replace(/\.safetensors$/, ".log.json"), "utf8")), w: bindWeights(m, parseSafetensors(readFileSync(out))) });
    }
    const [ref, gpu] = [runs.get("reference")!, runs.get("webgpu")!];
    expect(gpu.log.target).toBe("webgpu");
    let lossErr = 0;
    ref.log.steps.forEach((s, i) => {
      lossErr = Math.max(lossErr, Math.abs(gpu.log.steps[i].loss - s.loss) / s.loss);
      expect(Math.abs(gpu.log.steps[i].loss - s.loss) / s.loss, `loss at step ${i + 1}`).toBeLessThan(1e-4);
    });
    let weightErr = 0;
    for (const [name, a] of ref.w) {
      const b = gpu.w.get(name)!;
      let e = 0;
      for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
      weightErr = Math.max(weightErr, e);
      expect(e, name).toBeLessThan(1e-4);
    }
    console.log(`train --target webgpu vs reference, 8 steps: losses within ${lossErr.toExponential(1)} (relative), weights within ${weightErr.toExponential(1)}`);
  });

  it.skipIf(process.platform === "darwin")("--target webgpu without an adapter: one line naming what to install, exit 1", async () => {
    // Dawn's Metal backend has no adapter off macOS: a machine with no usable adapter, on demand.
    const saved = process.env.WEBGPU_BACKEND;
    process.env.WEBGPU_BACKEND = "metal";
    try {
      const r = await sf(...base, "--steps", "2", "--target", "webgpu", "--out", join(dir, "no-gpu.safetensors"));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^specformer: webgpu: no WebGPU adapter found\. .*libegl1/m);
      expect(r.stderr.split("\n").filter((l) => l.startsWith("specformer:"))).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.WEBGPU_BACKEND;
      else process.env.WEBGPU_BACKEND = saved;
    }
  });

  it("writes weights, a JSON log, an SVG curve and a checkpoint, and the loss goes down", async () => {
    const out = join(dir, "a.safetensors");
    const r = await sf(...base, "--steps", "30", "--eval-every", "10", "--lr", "1e-2", "--out", out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/step 10\/30: train [\d.]+ .* val [\d.]+ nats, lr .* tokens\/s/);
    expect(r.stderr).toMatch(/^done: 30 steps/m);
    const log = JSON.parse(readFileSync(join(dir, "a.log.json"), "utf8"));
    expect(log.format).toBe("specformer-train-log/1");
    expect(log.steps).toHaveLength(30);
    expect(log.evals.map((e: { step: number }) => e.step)).toEqual([0, 10, 20, 30]);
    expect(log.config).toMatchObject({ labelSmoothing: 0.1, dropout: 0.1, schedule: "cosine", optimizer: "adamw" });
    expect(log.evals.at(-1).valLoss).toBeLessThan(log.evals[0].valLoss - 0.5);
    expect(readFileSync(join(dir, "a.loss.svg"), "utf8")).toMatch(/^<svg [^>]*>[\s\S]*<polyline[\s\S]*<\/svg>\n$/);
    const m = checkSource(SPEC, spec).entry!;
    const w = bindWeights(m, parseSafetensors(readFileSync(out)));
    expect(w.size).toBeGreaterThan(5);
    const ck = parseSafetensors(readFileSync(join(dir, "a.ckpt.safetensors")));
    expect(ck.metadata.step).toBe("30");
    expect([...ck.tensors.keys()].some((k) => k.startsWith("adam.v."))).toBe(true);
  });

  it("--resume after an interruption continues exactly: the same weights, bit for bit", async () => {
    const common = [...base, "--steps", "20", "--eval-every", "5", "--schedule", "noam", "--lr", "2", "--warmup", "4", "--weight-decay", "0.01"];
    const whole = join(dir, "whole.safetensors");
    expect((await sf(...common, "--out", whole)).code).toBe(0);
    // Interrupt after the evaluation at step 10, as Ctrl-C would.
    const part = join(dir, "part.safetensors");
    let stderr = "";
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      stderr += String(s);
      if (String(s).includes("step 10/20:")) process.emit("SIGINT", "SIGINT");
      return true;
    });
    try {
      await main(["node", "specformer", ...common, "--out", part]);
    } finally {
      spy.mockRestore();
    }
    expect(process.exitCode).toBe(130);
    process.exitCode = 0;
    expect(stderr).toMatch(/interrupted at step 10\/20: wrote .*part\.ckpt\.safetensors/);
    const r = await sf(...base, "--steps", "20", "--eval-every", "5", "--resume", join(dir, "part.ckpt.safetensors"), "--out", part);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resumed at step 10/);
    expect(Buffer.compare(readFileSync(part), readFileSync(whole))).toBe(0);
    const a = JSON.parse(readFileSync(join(dir, "whole.log.json"), "utf8"));
    const b = JSON.parse(readFileSync(join(dir, "part.log.json"), "utf8"));
    expect(b.steps.map((s: { loss: number }) => s.loss)).toEqual(a.steps.map((s: { loss: number }) => s.loss));
    expect(b.resumedAt).toEqual([10]);
    // An option that would change the run is refused.
    const bad = await sf(...base, "--steps", "30", "--lr", "3", "--resume", join(dir, "part.ckpt.safetensors"), "--out", join(dir, "x.safetensors"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^specformer: --lr 3 differs from the checkpoint's 2/m);
  });

  it("fails with one line and the documented exit codes", async () => {
    const out = ["--out", join(dir, "f.safetensors")];
    const oneLine = (r: { stderr: string }) => r.stderr.trim().split("\n").filter((l) => l.startsWith("specformer:")).length;
    const cases: Array<[string[], number, RegExp]> = [
      [[...base, "--steps", "2", "--schedule", "linear", ...out], 2, /--schedule must be one of noam, cosine, constant/],
      [[...base, "--steps", "0", ...out], 2, /--steps must be an integer >= 1/],
      [["train", spec, "--data", join(dir, "missing.txt"), "--steps", "2", ...out], 2, /cannot read data .*missing\.txt: no such file/],
      [[...base, "--steps", "2", "--seq", "64", ...out], 2, /--seq 64 exceeds the model's context 32/],
      [[...base, "--steps", "2", "--val-data", short, ...out], 1, /gives \d+ tokens, fewer than --seq \+ 1/],
      [[...base, "--steps", "2", "--val-data", data, "--val-fraction", "0.1", ...out], 2, /--val-data and --val-fraction exclude each other/],
      [["train", "specs/tiny-gpt2.sf", "--data", data, "--steps", "2", ...out], 1, /declares no tokenizer/],
      [["train", "specs/tiny-torch-transformer.sf", "--data", data, "--steps", "2", ...out], 1, /encoder–decoder/],
      [["train", spec, "--data", short, "--steps", "2", "--seq", "32", ...out], 1, /gives 12 training tokens, fewer than --seq \+ 1 = 33/],
      [[...base, "--steps", "2", "--resume", data, ...out], 1, /not a specformer training checkpoint|checkpoint/],
    ];
    for (const [args, code, msg] of cases) {
      const r = await sf(...args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(code);
      expect(r.stderr, args.join(" ")).toMatch(msg);
      expect(oneLine(r), r.stderr).toBe(1);
    }
    const bi = join(dir, "bi.sf");
    writeFileSync(bi, SPEC.replace("mask = causal", "mask = none"));
    const r = await sf("train", bi, "--data", data, "--steps", "2", "--batch", "2", "--seq", "16", ...out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bidirectional attention/);
  });
});
