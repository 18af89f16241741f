// `specformer quantize` and `run --dtype`, through the CLI (run from the TypeScript sources, so
// the test needs no build): the file it writes, the table of bytes by dtype, running the
// quantised file on wasm against the reference, and one-line errors with the contract's codes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "./helpers/cli-in-process.ts";
import { parseSafetensors, writeSafetensors } from "../src/runtime/safetensors.ts";

const dir = mkdtempSync(join(tmpdir(), "sf-lowbit-"));
const ENTRY = `import("./src/cli/main.ts").then((m) => m.main(["node", "specformer", ...process.argv.slice(1)]))`;
/** A real process, once per command (exit status and streams as a shell sees them). */
const spawned = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", ENTRY, "--", ...args], {
    encoding: "utf8",
    env: { ...process.env, SPECFORMER_CACHE: join(dir, "cache") },
  });
/** The same command through main() in this process: no Node and tsx start-up per case. */
async function sf(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const saved = process.env.SPECFORMER_CACHE;
  process.env.SPECFORMER_CACHE = join(dir, "cache");
  try {
    const r = await cli(...args);
    return { status: r.code, stdout: r.stdout, stderr: r.stderr };
  } finally {
    if (saved === undefined) delete process.env.SPECFORMER_CACHE;
    else process.env.SPECFORMER_CACHE = saved;
  }
}
const SPEC = "specs/demo-fortune.sf";
const Q4 = join(dir, "demo-q4.safetensors");
const oneLine = (stderr: string, re: RegExp) => {
  expect(stderr).toMatch(/^specformer: [^\n]+\n$/);
  expect(stderr).not.toMatch(/internal error/);
  expect(stderr).toMatch(re);
};

describe("specformer quantize", () => {
  it("writes the low-bit file and prints bytes by dtype", async () => {
    const r = spawned("quantize", "models/demo-fortune.safetensors", "--spec", SPEC, "--to", "q4", "--out", Q4);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^demo_fortune: models\/demo-fortune\.safetensors → .*demo-q4\.safetensors, [\d,]+ bytes \(linear weights q4, embedding tables q8/);
    expect(r.stdout).toMatch(/\nq4 +24 +786,432 +442,368\n/);
    expect(r.stdout).toMatch(/\ntotal +68 +859,008 /);
    const f = parseSafetensors(readFileSync(Q4));
    expect(f.metadata["specformer.quant"]).toBe("1");
    expect(f.metadata["specformer.dtype.decoder.0.mlp.up.weight"]).toBe("q4");
    expect(f.metadata["specformer.dtype.embed.tokens.weight"]).toBe("q8");
  });

  it("runs the q4 file on wasm and webgpu with the tokens the reference backend picks from the same file", async () => {
    const args = ["run", SPEC, "--weights", Q4, "--tokens", "84,104,101,32", "--max-tokens", "12"];
    const ref = spawned(...args, "--target", "reference");
    expect(ref.status, ref.stderr).toBe(0);
    for (const target of ["wasm", "webgpu"]) {
      const r = await sf(...args, "--target", target);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(ref.stdout);
      expect(r.stderr).toMatch(new RegExp(`; ${target}, low-bit weights\\)\n$`));
    }
  }, 240_000);

  it("run --dtype q8 quantises an f32 checkpoint at load (reference here; wasm runs the q4 file above)", async () => {
    const r = await sf("run", SPEC, "--weights", "models/demo-fortune.safetensors", "--target", "reference", "--dtype", "q8", "--tokens", "84,104", "--max-tokens", "4");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+(,\d+){3}\n$/);
    expect(r.stderr).toMatch(/; reference, q8 weights\)\n$/);
  });

  it("errors are one line: a bad --to (2), a --keep that matches nothing (1), a truncated file (1), a missing scale tensor on webgpu (1)", async () => {
    const bad = await sf("quantize", "models/demo-fortune.safetensors", "--spec", SPEC, "--to", "q3", "--out", join(dir, "x.safetensors"));
    expect(bad.status).toBe(2);
    oneLine(bad.stderr, /--to.*q3/);
    const keep = await sf("quantize", "models/demo-fortune.safetensors", "--spec", SPEC, "--to", "q8", "--keep", "decoder.99.*", "--out", join(dir, "x.safetensors"));
    expect(keep.status).toBe(1);
    oneLine(keep.stderr, /--keep "decoder\.99\.\*" matches no tensor of model demo_fortune/);
    const cut = join(dir, "cut.safetensors");
    const whole = readFileSync(Q4);
    writeFileSync(cut, whole.subarray(0, whole.length - 1000));
    const trunc = await sf("run", SPEC, "--weights", cut, "--target", "wasm", "--tokens", "1", "--max-tokens", "1");
    expect(trunc.status).toBe(1);
    oneLine(trunc.stderr, /truncated/);
    const f = parseSafetensors(whole);
    const tensors = [...f.tensors.values()].filter((t) => t.name !== "decoder.0.mlp.up.weight.scales").map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], data: f.raw(t.name) }));
    const noScales = join(dir, "no-scales.safetensors");
    writeFileSync(noScales, writeSafetensors(tensors, f.metadata));
    const gpu = await sf("run", SPEC, "--weights", noScales, "--target", "webgpu", "--tokens", "1", "--max-tokens", "1");
    expect(gpu.status).toBe(1);
    oneLine(gpu.stderr, /decoder\.0\.mlp\.up\.weight\.scales.*missing|missing.*decoder\.0\.mlp\.up\.weight\.scales/);
  }, 120_000);
});
