/**
 * Golden diagnostics: every `test/golden/in/NAME.sf` is checked with `checkFile` and its
 * rendered text (`renderText`, no colour, paths relative to the repository root such as
 * `test/golden/in/NAME.sf`) must equal `test/golden/out/NAME.txt` byte for byte.
 *
 * To regenerate the expected outputs after an intended change in a message:
 *
 *     UPDATE_GOLDEN=1 npx vitest run test/golden.test.ts
 *
 * then read the diff of test/golden/out/ as a user would before committing it.
 *
 * Only top-level `.sf` files in `in/` are cases; `in/lib/` holds files that cases import.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkFile, readText } from "../src/check/check.ts";
import { CODES } from "../src/diagnostics/codes.ts";
import { renderText } from "../src/diagnostics/render-text.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const IN = "test/golden/in";
const OUT = "test/golden/out";
const UPDATE = process.env.UPDATE_GOLDEN === "1";

const cases = readdirSync(join(ROOT, IN))
  .filter((f) => f.endsWith(".sf") && statSync(join(ROOT, IN, f)).isFile())
  .map((f) => f.slice(0, -".sf".length))
  .sort();

/** Checks a case as the CLI would from the repository root, whatever vitest's cwd is. */
function render(name: string): string {
  const path = `${IN}/${name}.sf`;
  const result = checkFile(path, { read: (p) => readText(join(ROOT, p)) });
  return renderText(result.diagnostics, result.sources, { color: false });
}

describe("golden diagnostics", () => {
  it("has cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  for (const name of cases) {
    it(name, () => {
      const actual = render(name);
      const outPath = join(ROOT, OUT, `${name}.txt`);
      if (UPDATE) {
        mkdirSync(join(ROOT, OUT), { recursive: true });
        writeFileSync(outPath, actual);
        return;
      }
      if (!existsSync(outPath)) {
        throw new Error(`no expected output ${OUT}/${name}.txt for ${IN}/${name}.sf; run with UPDATE_GOLDEN=1 to create it`);
      }
      expect(actual).toBe(readFileSync(outPath, "utf8"));
    });
  }

  it("has no stale outputs", () => {
    if (UPDATE) return;
    const outs = existsSync(join(ROOT, OUT)) ? readdirSync(join(ROOT, OUT)).filter((f) => f.endsWith(".txt")) : [];
    const stale = outs.map((f) => f.slice(0, -".txt".length)).filter((n) => !cases.includes(n));
    expect(stale, "outputs without an input").toEqual([]);
  });

  it("covers every diagnostic code", () => {
    const seen = new Set<string>();
    for (const name of cases) {
      for (const m of render(name).matchAll(/^(?:error|warning|note)\[(SF\d{4})\]/gm)) seen.add(m[1]);
    }
    const missing = Object.keys(CODES).filter((c) => !seen.has(c));
    expect(missing, "codes no golden case produces").toEqual([]);
  });

  it("gives every error case at least one diagnostic", () => {
    const silent = cases.filter((n) => render(n) === "");
    expect(silent).toEqual([]);
  });
});
