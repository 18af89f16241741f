import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// Runs the built CLI (`npm test` compiles to dist/ first), as users and scripts do.
const run = (...args: string[]) => spawnSync("node", ["bin/specformer.js", ...args], { encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "sf-cli-"));
const bad = join(dir, "bad.sf");
writeFileSync(
  bad,
  `model bad {
  dims { vocab = 100, d = 768, heads = 10, layers = 2, context = 64 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  stack layers × decoder {
    attention self(heads = heads, mask = causal)
    mlp(hidden = 4 * d, act = gelu)
  }
  head tied
}
`,
);

describe("specformer check", () => {
  it("exits 0 on clean specs", () => {
    const r = run("check", "specs/gpt2-small.sf", "specs/llama2-7b.sf");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("ok: checked 2 files");
  });

  it("exits 1 with rendered diagnostics on errors", () => {
    const r = run("check", bad, "--color", "never");
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("error[SF0201]: d (768) is not divisible by heads (10)");
    expect(r.stdout).toContain("^^^^^^^^^^^^^");
  });

  it("prints the JSON contract", () => {
    const r = run("check", bad, "--format", "json");
    expect(r.status).toBe(1);
    const ds = JSON.parse(r.stdout);
    const d = ds.find((x: { code: string }) => x.code === "SF0201");
    expect(d).toMatchObject({ severity: "error", file: bad, line: 6, column: 20, endLine: 6, endColumn: 33 });
    expect(d.message).toBe("d (768) is not divisible by heads (10)");
  });

  it("prints SARIF 2.1.0", () => {
    const r = run("check", bad, "--format", "sarif");
    const log = JSON.parse(r.stdout);
    expect(log.version).toBe("2.1.0");
    expect(log.runs[0].results[0].ruleId).toBe("SF0201");
    expect(log.runs[0].results[0].locations[0].physicalLocation.region).toMatchObject({ startLine: 6, startColumn: 20 });
  });

  it("exits 2 for usage and I/O problems", () => {
    expect(run("check", "no/such/file.sf").status).toBe(2);
    expect(run("check", "--format", "xml", "specs/gpt2-small.sf").status).toBe(2);
    expect(run("check").status).toBe(2);
    expect(run("check", "specs").status).toBe(2);
    expect(run("frobnicate").status).toBe(2);
  });
});

describe("specformer inspect", () => {
  it("reports the total parameter count as an integer in JSON", () => {
    const out = JSON.parse(execFileSync("node", ["bin/specformer.js", "inspect", "specs/gpt2-small.sf", "--seq", "128", "--format", "json"], { encoding: "utf8" }));
    expect(out.params).toBe(124_439_808);
    expect(out.seq).toBe(128);
    expect(Array.isArray(out.layers)).toBe(true);
    expect(out.layers[0]).toHaveProperty("outputShape");
  });

  it("prints a table with totals", () => {
    const r = run("inspect", "specs/mistral-7b.sf", "--seq", "256");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Total params: 7,241,732,096");
  });

  it("rejects a seq past the model's bound, and specs with errors", () => {
    expect(run("inspect", "specs/gpt2-small.sf", "--seq", "4096").status).toBe(2);
    expect(run("inspect", "specs/gpt2-small.sf", "--seq", "ten").status).toBe(2);
    const r = run("inspect", bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("SF0201");
  });

  it("dumps the IR", () => {
    const r = run("inspect", "specs/mistral-7b.sf", "--ir");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("window=4096");
    expect(r.stdout).toContain("kv_heads=8");
  });
});

describe("specformer explain", () => {
  it("explains a code and lists all codes", () => {
    const r = run("explain", "SF0203");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("kv_heads");
    expect(run("explain").stdout).toContain("SF2001");
    expect(run("explain", "SF9999").status).toBe(2);
  });
});
