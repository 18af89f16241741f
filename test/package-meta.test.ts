// A generated WebGPU package declares Dawn's binding as an optional peer: Node users get
// `npm install webgpu` advice from npm itself, browsers need nothing.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildArtifacts } from "../src/emit/build.ts";
import { writePackage } from "../src/emit/package.ts";
import { loadTiny } from "./helpers/tiny-specs.ts";

describe("generated package.json", () => {
  const m = loadTiny("tiny-gpt2.sf");
  it.each(["webgpu", "reference"] as const)("%s: webgpu is an optional peer exactly for the webgpu target", async (target) => {
    const dir = mkdtempSync(join(tmpdir(), "sf-pkg-"));
    writePackage(dir, m, target, "specs/tiny-gpt2.sf", await buildArtifacts(m, target), "specformer test");
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    if (target === "webgpu") {
      expect(pkg.peerDependencies).toEqual({ webgpu: expect.stringMatching(/^\^\d/) });
      expect(pkg.peerDependenciesMeta).toEqual({ webgpu: { optional: true } });
    } else {
      expect(pkg.peerDependencies).toBeUndefined();
    }
  });
});
