// Issue 14: the npm tarball holds what the CLI and generated packages need (no dist/bench,
// no build scripts).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";

describe("npm pack", () => {
  // --ignore-scripts: `prepare` would rebuild dist/ (the test run has built it already).
  const packed = (JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);

  it("ships no benchmarks, scripts or tests", () => {
    expect(packed.filter((p) => /^(dist\/(bench|scripts|test)|bench|scripts|test|specs|models)\//.test(p))).toEqual([]);
  });

  it("ships the CLI, the compiler and the runtimes a generated package copies", () => {
    for (const p of ["bin/specformer.js", "dist/src/cli/main.js", "dist/backends/registry.js", "dist/runtime/wasm.js", "dist/runtime/webgpu.js", "dist/runtime/reference.js", "README.md"]) {
      expect(packed).toContain(p);
    }
  });

  it("every relative import of a shipped module is shipped too", () => {
    const shipped = new Set(packed);
    const missing: string[] = [];
    for (const p of packed.filter((f) => f.endsWith(".js") && existsSync(f))) {
      const text = readFileSync(p, "utf8");
      // Statements at the start of a line, and dynamic imports (not code inside template strings).
      const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?["'](\.{1,2}\/[^"']+)["']/gm), ...text.matchAll(/\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)];
      for (const m of specifiers) {
        const target = normalize(join(dirname(p), m[1]));
        if (!shipped.has(target)) missing.push(`${p} → ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
