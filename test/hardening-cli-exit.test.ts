// Issue 14: every failure a user can cause is exit 1 or 2 with one line on stderr (never 70,
// never a stack trace); a closed pipe on stdout ends the command quietly; Dawn's own warnings
// stay out of the terminal unless --verbose.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DawnWarningFilter } from "../src/cli/io.ts";
import { writeSafetensors } from "../src/runtime/safetensors.ts";

const dir = mkdtempSync(join(tmpdir(), "sf-hexit-"));
const env = { ...process.env, SPECFORMER_CACHE: join(dir, "cache") };
const cli = (...args: string[]) => spawnSync("node", ["bin/specformer.js", ...args], { encoding: "utf8", env });

const D = "specs/demo-fortune.sf";
const W = "models/demo-fortune.safetensors";
const garbage = join(dir, "garbage.safetensors");
writeFileSync(garbage, "not a safetensors file at all");
const folder = join(dir, "folder");
mkdirSync(folder);
const input = join(dir, "in.safetensors");
writeFileSync(input, writeSafetensors([{ name: "tokens", dtype: "I32", shape: [1, 2], data: Int32Array.from([1, 2]) }]));
const badMask = join(dir, "bad-mask.safetensors");
writeFileSync(
  badMask,
  writeSafetensors([
    { name: "tokens", dtype: "I32", shape: [2, 8], data: new Int32Array(16).fill(1) },
    { name: "mask", dtype: "U8", shape: [8, 2], data: new Uint8Array(16).fill(1) },
  ]),
);

// [what, args, exit code]
const CASES: Array<[string, string[], 1 | 2]> = [
  ["unknown command", ["frobnicate"], 2],
  ["missing required option", ["build", D], 2],
  ["bad choice", ["run", D, "--weights", W, "--target", "gpu", "--prompt", "a"], 2],
  // inspect DIR reads a checkpoint directory too: one without config.json is a bad input (1), as for build / run.
  ["inspect a directory", ["inspect", folder], 1],
  ["weights --list of a directory", ["weights", folder, "--list"], 2],
  // build DIR reads a checkpoint directory now: one without config.json is a bad input (1), as for run DIR.
  ["build a directory", ["build", folder, "--out", join(dir, "o")], 1],
  ["inspect an unknown model", ["inspect", D, "--model", "nope"], 2],
  ["weights without an action", ["weights", D], 2],
  ["weights --init into a missing directory", ["weights", D, "--init", "random", "--out", join(dir, "no", "such", "dir", "w.safetensors")], 2],
  ["weights --init unknown", ["weights", D, "--init", "zeros", "--out", join(dir, "w")], 2],
  ["run: missing weights", ["run", D, "--weights", "/nonexistent", "--prompt", "a"], 2],
  ["run: weights a directory", ["run", D, "--weights", folder, "--prompt", "a"], 2],
  ["run: weights not safetensors", ["run", D, "--weights", garbage, "--prompt", "a"], 1],
  ["run: another model's weights", ["run", "specs/tiny-gpt2.sf", "--weights", W, "--tokens", "1"], 1],
  ["run: encoder-only model", ["run", "specs/tiny-torch-encoder.sf", "--weights", W, "--tokens", "1"], 1],
  ["run: prompt and tokens", ["run", D, "--weights", W, "--prompt", "a", "--tokens", "1"], 2],
  ["run: huge token id", ["run", D, "--weights", W, "--tokens", "99999999999999999999"], 2],
  ["run: --max-tokens 0", ["run", D, "--weights", W, "--prompt", "a", "--max-tokens", "0"], 2],
  ["run: --temperature nan", ["run", D, "--weights", W, "--prompt", "a", "--temperature", "nan"], 2],
  ["run: --seed 2^32", ["run", D, "--weights", W, "--prompt", "a", "--seed", "4294967296"], 2],
  ["run: --threads without wasm", ["run", D, "--weights", W, "--prompt", "a", "--threads", "2"], 2],
  ["run: prompt past the context", ["run", D, "--weights", W, "--prompt", "x".repeat(300)], 1],
  ["run: unshipped tokenizer", ["run", "specs/gpt2-small.sf", "--weights", W, "--prompt", "a"], 1],
  ["forward: missing input", ["forward", D, "--weights", W, "--input", "/nonexistent", "--out", join(dir, "o.safetensors")], 2],
  ["forward: out into a missing directory", ["forward", D, "--weights", W, "--input", input, "--out", join(dir, "no", "such", "o.safetensors")], 2],
  ["forward: mask of the wrong shape", ["forward", D, "--weights", W, "--input", badMask, "--out", join(dir, "o.safetensors")], 1],
  ["forward: --target and --backend disagree", ["forward", D, "--weights", W, "--input", input, "--out", join(dir, "o.safetensors"), "--target", "wasm", "--backend", "reference"], 2],
  ["explain an unknown code", ["explain", "SF9999"], 2],
];

describe("user mistakes are exit 1 or 2 with one line", () => {
  it.each(CASES)("%s", (_, args, code) => {
    const r = cli(...args);
    expect(r.stderr).toMatch(/^specformer: [^\n]+\n$/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.status).toBe(code);
  });

  it("a mask of the wrong shape names both shapes", () => {
    const r = cli("forward", D, "--weights", W, "--input", badMask, "--out", join(dir, "o.safetensors"));
    expect(r.stderr).toContain("`mask` must have the shape of `tokens` [2, 8], found [8, 2]");
  });
});

describe("a closed pipe on stdout", () => {
  /** Runs the CLI with its stdout's reading end closed before it writes: `… | head -0`. */
  const closedPipe = (...args: string[]) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const c = spawn("node", ["bin/specformer.js", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
      c.stdout.destroy();
      let stderr = "";
      c.stderr.on("data", (d) => (stderr += d));
      c.on("close", (status) => resolve({ status, stderr }));
    });

  it.each([
    ["explain"],
    ["weights", "specs/gpt2-small.sf", "--list"],
    ["inspect", "specs/gpt2-small.sf"],
    ["run", D, "--weights", W, "--prompt", "The ", "--max-tokens", "20"],
  ])("%s … | head: exits quietly", async (...args) => {
    const r = await closedPipe(...args);
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
    expect(r.status).toBe(0);
  });

  it("explain | head -1 through a shell prints one line and nothing else", () => {
    const r = spawnSync("bash", ["-c", "node bin/specformer.js explain | head -1"], { encoding: "utf8", env });
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toBe("");
  });
});

describe("Dawn's warnings", () => {
  const DAWN =
    "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory\n" +
    "    at operator() (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)\n" +
    "\n" +
    "Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16 to fit dynamic offset allocation limit.\n" +
    "Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 80 to 16 to fit dynamic offset allocation limit.\n";
  const OURS = "\rloading weights [###  ]  50% 1.0 MiB";
  const AFTER = "\r\x1b[2Kstopped: end of text\n3 tokens in 0.10 s: 30.0 tokens/s (first token 5 ms; load 9 ms; webgpu)\n    at the end, indented\n";

  it("are dropped from a stream, at any chunking; everything else passes unchanged", () => {
    const text = OURS + DAWN + AFTER;
    for (let cut = 0; cut <= text.length; cut++) {
      let out = "";
      const f = new DawnWarningFilter((s) => (out += s));
      f.push(text.slice(0, cut));
      f.push(text.slice(cut));
      f.end();
      expect(out).toBe(OURS + AFTER);
      expect(f.dropped).toBe(3);
    }
  });

  it("text that only looks like the start of one is kept", () => {
    let out = "";
    const f = new DawnWarningFilter((s) => (out += s));
    f.push("Warn");
    f.push("ings are ours\nWarning");
    f.end();
    expect(out).toBe("Warnings are ours\nWarning");
  });

  it("a WebGPU run shows none of them, and still reports", () => {
    const r = cli("run", D, "--weights", W, "--target", "webgpu", "--prompt", "The ", "--max-tokens", "3");
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/Warning:|BackendVk|artificially reduced/);
    expect(r.stderr).toMatch(/^stopped: --max-tokens 3 reached\n3 tokens in .*webgpu\)\n$/);
  });
});
