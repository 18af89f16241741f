import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { checkFile, checkSource } from "../src/check/check.ts";
import { buildArtifacts } from "../src/emit/build.ts";
import type { Target } from "../src/emit/manifest.ts";
import { writePackage } from "../src/emit/package.ts";
import { installPeers } from "./helpers/packages.ts";
import { parseSafetensors, writeSafetensors, type DType } from "../src/runtime/safetensors.ts";
import { maxRelError } from "./helpers/rel-error.ts";

// Set UPDATE_GOLDEN=1 to rewrite test/golden/emit/ after an intended change to the emitter.
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const root = mkdtempSync(join(tmpdir(), "sf-emit-"));

async function build(spec: string, target: Target, dir = join(root, `${spec.replace(/\W/g, "_")}-${target}`)) {
  const m = checkFile(spec).entry!;
  writePackage(dir, m, target, spec, await buildArtifacts(m, target), "specformer test");
  installPeers(dir);
  return dir;
}

/** The fixture's weights alone, as a user would have them. */
function fixtureWeights(name: string): { bytes: Uint8Array; tokens: Int32Array; shape: number[]; expected: Float32Array; src?: Int32Array; srcShape?: number[]; srcMask?: Uint8Array } {
  const f = parseSafetensors(readFileSync(`test/fixtures/${name}.safetensors`));
  const bytes = writeSafetensors(
    [...f.tensors.values()].filter((t) => !t.name.startsWith("input.") && !t.name.startsWith("expected.")).map((t) => ({ name: t.name, dtype: t.dtype as DType, shape: t.shape, data: f.raw(t.name) })),
  );
  return {
    bytes,
    tokens: f.i32("input.tokens"),
    shape: f.get("input.tokens")!.shape,
    expected: f.f32("expected.logits"),
    ...(f.tensors.has("input.src_tokens") ? { src: f.i32("input.src_tokens"), srcShape: f.get("input.src_tokens")!.shape } : {}),
    ...(f.tensors.has("input.src_mask") ? { srcMask: f.bool("input.src_mask") } : {}),
  };
}

describe.each(["reference", "wasm", "webgpu"] as const)("generated module (%s target)", (target) => {
  it("imports and runs in Node: tiny-gpt2 matches PyTorch, weights given as bytes", async () => {
    const dir = await build("specs/tiny-gpt2.sf", target);
    const mod = await import(pathToFileURL(join(dir, "index.js")).href);
    expect(mod.config.name).toBe("tiny_gpt2");
    const fx = fixtureWeights("tiny-gpt2");
    const model = await mod.load(fx.bytes, { map: "gpt2" });
    const logits = await model.forward(fx.tokens, { batch: fx.shape[0], seq: fx.shape[1] });
    expect(maxRelError(logits, fx.expected)).toBeLessThan(1e-4);
    const ids: number[] = [];
    for await (const id of model.generate(Int32Array.from([1, 2, 3]), { maxTokens: 5 })) ids.push(id);
    expect(ids).toHaveLength(5);
    model.dispose();
  });

  it("loads weights from a path and from a file: URL, reporting progress", async () => {
    const dir = await build("specs/tiny-torch-transformer.sf", target);
    const mod = await import(pathToFileURL(join(dir, "index.js")).href);
    const fx = fixtureWeights("tiny-torch-transformer");
    const path = join(root, "tt.safetensors");
    writeFileSync(path, fx.bytes);
    const phases = new Set<string>();
    for (const src of [path, pathToFileURL(path)]) {
      const model = await mod.load(src, { map: "torch", onProgress: (p: { phase: string }) => phases.add(p.phase) });
      const logits = await model.forward(fx.tokens, { batch: fx.shape[0], seq: fx.shape[1], src: { tokens: fx.src!, seq: fx.srcShape![1], mask: fx.srcMask } });
      expect(maxRelError(logits, fx.expected)).toBeLessThan(1e-4);
      model.dispose();
    }
    expect([...phases].sort()).toEqual(["bind", "download"]);
  });
});

describe("generated declarations", () => {
  it.each(["tiny-gpt2", "tiny-torch-transformer"])("%s: index.d.ts and index.js match the golden files", async (name) => {
    const dir = await build(`specs/${name}.sf`, "reference");
    for (const f of ["index.d.ts", "index.js"]) {
      const got = readFileSync(join(dir, f), "utf8");
      const golden = `test/golden/emit/${name}.${f}`;
      if (UPDATE) writeFileSync(golden, got);
      expect(got).toBe(readFileSync(golden, "utf8"));
    }
  });

  it("type-check a consumer: correct use compiles, misuse is caught (@ts-expect-error)", async () => {
    const dir = join(root, "consumer");
    mkdirSync(dir, { recursive: true });
    await build("specs/tiny-gpt2.sf", "reference", join(dir, "gpt"));
    await build("specs/tiny-torch-transformer.sf", "reference", join(dir, "tt"));
    writeFileSync(join(dir, "consumer.ts"), readFileSync("test/consumer/consumer.ts", "utf8"));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2022", "DOM"], skipLibCheck: false, types: [] }, files: ["consumer.ts"] }),
    );
    const r = spawnSync(process.execPath, [join(process.cwd(), "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    // And the checker really checks: dropping one @ts-expect-error makes it fail.
    const broken = readFileSync("test/consumer/consumer.ts", "utf8").replace("// @ts-expect-error seq is required", "");
    writeFileSync(join(dir, "consumer.ts"), broken);
    const r2 = spawnSync(process.execPath, [join(process.cwd(), "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8" });
    expect(r2.status).not.toBe(0);
  });
});

describe("hostile names", () => {
  it("names and paths from a spec never become code in index.js or index.d.ts", async () => {
    const evil = join(root, "evil */ globalThis.pwned = 1; /*\nx.sf");
    const text = `model constructor {
  dims { __proto__ = 7, toString = 2, vocab = 11, d = 8, heads = 2, layers = 1 }
  input tokens: int[batch, seq] where seq <= __proto__
  input valueOf: int[batch, seq]
  embed tokens(vocab, d)
  embed valueOf(toString, d)
  stack layers × evil_layer { attention self(heads = heads, mask = causal)
    mlp(hidden = d, act = relu) }
  head tied
}`;
    // The path is only a label here (it names no real file): it reaches comments in the output.
    const m = checkSource(text, evil).entry!;
    expect(m).toBeDefined();
    const dir = join(root, "evil-pkg");
    writePackage(dir, m, "reference", evil, await buildArtifacts(m, "reference"), "specformer test");
    const js = readFileSync(join(dir, "index.js"), "utf8");
    // Outside the JSON literals (where the path is an escaped string) it appears only defused.
    const code = js.split("\n").filter((l) => !l.startsWith("const manifest = ") && !l.startsWith("export const config = "));
    expect(js).toContain("const manifest = JSON.parse(");
    expect(code.join("\n")).not.toContain("*/ globalThis");
    expect(code.join("\n")).toContain("*\\/ globalThis");
    // Importing runs nothing the spec wrote.
    const mod = await import(pathToFileURL(join(dir, "index.js")).href);
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
    expect(mod.config.dims.__proto__).toBe(7);
    expect(Object.getPrototypeOf(mod.config.dims)).toBe(Object.prototype);
    // The declarations still parse and type-check.
    writeFileSync(join(dir, "use.ts"), 'import { config } from "./index.js";\nconst p: 7 = config.dims.__proto__;\nexport { p };\n');
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2022", "DOM"], types: [] }, files: ["use.ts"] }));
    const r = spawnSync(process.execPath, [join(process.cwd(), "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
  });
});

describe("specformer build", () => {
  it("writes the package from the CLI", () => {
    const out = join(root, "cli-build");
    const msg = execFileSync("node", ["bin/specformer.js", "build", "specs/tiny-llama.sf", "--target", "reference", "--out", out], { encoding: "utf8" });
    expect(msg).toContain("index.d.ts");
    expect(JSON.parse(readFileSync(join(out, "package.json"), "utf8")).types).toBe("index.d.ts");
  });
});
