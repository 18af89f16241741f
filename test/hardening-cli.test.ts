/**
 * Issue 14, the CLI front end in process: bounded reads (a spec over 1 MiB, `/dev/zero`),
 * `check` going on past a file it cannot read, `inspect` of a healthy model next to a broken
 * one, and `inspect` of a stack of 10^8 layers. Commands run in process, output captured.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkFile, MAX_SPEC_BYTES, readSpec } from "../src/check/check.ts";
import { runCheck } from "../src/cli/check-command.ts";
import { runInspect } from "../src/cli/inspect-command.ts";
import { CliError } from "../src/cli/io.ts";

const dir = mkdtempSync(join(tmpdir(), "sf-hardening-"));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const spec = (name: string, dims = "vocab = 257, d = 32, heads = 4, layers = 2, context = 64") => `model ${name} {
  dims { ${dims} }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position learned(context)
  stack layers × block {
    norm layer
    attention self(heads = heads, mask = causal)
    norm layer
    mlp(hidden = 4 * d, act = gelu)
  }
  norm layer
  head tied
}
`;
const good = file("good.sf", spec("good"));
const bad = file("bad.sf", spec("bad", "vocab = 257, d = 30, heads = 4, layers = 2, context = 64"));
const mixed = file("mixed.sf", spec("healthy") + spec("broken", "vocab = 257, d = 30, heads = 4, layers = 2, context = 64"));
const missing = join(dir, "missing.sf");
const subdir = join(dir, "specs");
mkdirSync(subdir);

/** Runs a command in process; returns its exit code (or the CliError's) and what it wrote. */
function capture(f: () => number): { code: number; stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  try {
    let code: number;
    try {
      code = f();
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      stderr += `specformer: ${e.message}\n`;
      code = e.exitCode;
    }
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
afterEach(() => vi.restoreAllMocks());

describe("bounded reads", () => {
  it("refuses a spec over 1 MiB, naming the file and its size", () => {
    const big = file("big.sf", "# " + "x".repeat(MAX_SPEC_BYTES));
    const r = readSpec(big);
    expect(r).toEqual({ error: `it is ${(MAX_SPEC_BYTES + 2).toLocaleString("en-US")} bytes, larger than the 1 MiB (1,048,576 bytes) a spec file may be` });
    const c = checkFile(big);
    expect(c.unreadable).toBe(true);
    expect(c.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([`SF0009 cannot read \`${big}\`: it is 1,048,578 bytes, larger than the 1 MiB (1,048,576 bytes) a spec file may be`]);
  });

  it("reads exactly 1 MiB", () => {
    const edge = file("edge.sf", "#" + "x".repeat(MAX_SPEC_BYTES - 1));
    expect(typeof readSpec(edge)).toBe("string");
  });

  it.skipIf(!existsSync("/dev/zero"))("stops reading /dev/zero at the cap", () => {
    // readFileSync("/dev/zero") never returns; the bounded read stops at 1 MiB + 1 byte.
    expect(readSpec("/dev/zero")).toEqual({ error: "it is larger than the 1 MiB (1,048,576 bytes) a spec file may be" });
    const r = capture(() => runCheck(["/dev/zero"], { format: "text", color: "never" }));
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("error[SF0009]: cannot read `/dev/zero`: it is larger than the 1 MiB");
  });

  it("says why a file cannot be read", () => {
    expect(readSpec(missing)).toEqual({ error: "no such file" });
    expect(readSpec(subdir)).toEqual({ error: `it is a directory (try ${subdir}/*.sf)` });
  });
});

describe("check FILE...", () => {
  it("reports a missing file among the others and still checks them (text)", () => {
    const r = capture(() => runCheck([good, missing, bad], { format: "text", color: "never" }));
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`error[SF0009]: cannot read \`${missing}\`: no such file\n  --> ${missing}\n`);
    expect(r.stdout).toContain("error[SF0201]: d (30) is not divisible by heads (4)");
    expect(r.stdout).toContain("error: checked 3 files (1 could not be read): 2 errors");
  });

  it("keeps JSON one array, with the missing file in it", () => {
    const r = capture(() => runCheck([good, missing, bad], { format: "json" }));
    expect(r.code).toBe(2);
    const ds = JSON.parse(r.stdout) as Array<{ code: string; file: string; line: number }>;
    expect(ds.map((d) => [d.code, d.file])).toEqual([
      ["SF0009", missing],
      ["SF0201", bad],
    ]);
    expect(ds[0].line).toBe(1);
  });

  it("lists a directory and a missing file in SARIF too", () => {
    const r = capture(() => runCheck([subdir, missing], { format: "sarif" }));
    expect(r.code).toBe(2);
    const log = JSON.parse(r.stdout) as { runs: Array<{ results: Array<{ ruleId: string; message: { text: string } }> }> };
    expect(log.runs[0].results.map((x) => x.message.text)).toEqual([`cannot read \`${subdir}\`: it is a directory (try ${subdir}/*.sf)`, `cannot read \`${missing}\`: no such file`]);
  });

  it("exits 1 for spec errors alone and 0 for clean files", () => {
    expect(capture(() => runCheck([good, bad], { format: "json" })).code).toBe(1);
    expect(capture(() => runCheck([good], { format: "text", color: "never" })).code).toBe(0);
  });

  it("bounds its output for a 60 KB one-line spec with thousands of errors", () => {
    const noisy = file("noisy.sf", "model m { stack 2 x b { attention self(" + "zz = 1, ".repeat(7500) + "heads = 2) } }");
    const r = capture(() => runCheck([noisy], { format: "text", color: "never" }));
    expect(r.code).toBe(1);
    expect(r.stdout.length).toBeLessThan(100_000);
    expect(r.stdout).toMatch(/error: checked 1 file: 50 errors, and \d+ more not shown\n$/);
  });
});

describe("inspect", () => {
  it("inspects a healthy model next to a broken one, with a note", () => {
    const r = capture(() => runInspect(mixed, { model: "healthy", format: "json" }));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).model).toBe("healthy");
    expect(r.stderr).toBe(`specformer: note: ${mixed} has an error outside model \`healthy\` (\`specformer check ${mixed}\` lists them)\n`);
  });

  it("refuses the broken one, printing its errors", () => {
    const r = capture(() => runInspect(mixed, { model: "broken", format: "text", color: "never" }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[SF0201]");
    expect(r.stderr).toContain(`${mixed} has errors; fix them first`);
  });

  it("gives one line and exit 2 for a file it cannot read", () => {
    const r = capture(() => runInspect(missing, { format: "text" }));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`specformer: cannot read ${missing}: no such file\n`);
  });

  it("refuses 10^8 layers with a diagnostic, not V8's out-of-memory", () => {
    const r = capture(() => runInspect(file("huge.sf", spec("huge", "vocab = 257, d = 768, heads = 12, layers = 100000000, context = 64")), { format: "text", color: "never" }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[SF0218]: model `huge` has 100,000,000 layers, more than the 4,096 a model may have");
  });

  it("summarises a deep stack as one row per distinct layer", () => {
    const deep = file("deep.sf", spec("deep", "vocab = 257, d = 8, heads = 2, layers = 4096, context = 64"));
    const r = capture(() => runInspect(deep, { format: "json" }));
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { params: number; layers: Array<{ name: string; kind: string; params: number; repeat?: number; depth: number }> };
    expect(s.layers.length).toBeLessThan(10);
    const layer = s.layers.find((l) => l.name === "block.0-4095")!;
    expect(layer).toMatchObject({ kind: "decoder layer × 4,096", repeat: 4096, depth: 1 });
    expect(s.params).toBe(s.layers.filter((l) => l.depth === 1).reduce((a, l) => a + l.params, 0));
    expect(Number.isSafeInteger(s.params)).toBe(true);
    const text = capture(() => runInspect(deep, { format: "text" }));
    expect(text.stdout).toContain("block.0-4095 (decoder layer × 4,096)");
    expect(text.stdout.split("\n").length).toBeLessThan(30);
  });
});
