/**
 * Codegen goldens: every `test/golden/codegen/in/NAME.sf` is compiled, and each target's text
 * must equal its golden file byte for byte:
 *
 *   ir/NAME.txt     printGraph(inferenceGraph(m), { weights: true }): the program every backend runs
 *   wat/NAME.wat    the Wasm build's WAT (compileWasm(m, graph).text: plain SIMD, one thread)
 *   wgsl/NAME.wgsl  compileWgsl(m, graph) at WebGPU's default limits and default kernels: the plan
 *                   (buffers, inputs, dispatches) as a comment, then every shader under a
 *                   `// ---- <kernel>` header, in kernel order (family, then index)
 *
 * so that a codegen change is seen as a diff. After an intended change:
 *
 *     UPDATE_GOLDEN=1 npx vitest run test/codegen-golden.test.ts
 *
 * then read `git diff test/golden/codegen/` before committing it. The outputs depend on nothing
 * but the spec (no timestamps, paths or device): the test renders each one twice and checks that.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileWasm } from "../backends/wasm/compile.ts";
import { emitModuleText } from "../backends/wasm/emit-module.ts";
import { planWasm } from "../backends/wasm/plan.ts";
import { compileWgsl } from "../backends/wgsl/compile.ts";
import type { Extent, Plan } from "../backends/wgsl/plan.ts";
import { checkFile, readText } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { printGraph } from "../src/ir/print.ts";
import type { ModelInfo } from "../src/model/model.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIR = "test/golden/codegen";
const IN = `${DIR}/in`;
const UPDATE = process.env.UPDATE_GOLDEN === "1";
/** A golden WAT past this is too big to read as a diff: pick smaller dims for that spec. */
const MAX_WAT_BYTES = 400_000;

const cases = readdirSync(join(ROOT, IN))
  .filter((f) => f.endsWith(".sf") && statSync(join(ROOT, IN, f)).isFile())
  .map((f) => f.slice(0, -".sf".length))
  .sort();

function load(name: string): ModelInfo {
  const path = `${IN}/${name}.sf`;
  const r = checkFile(path, { read: (p) => readText(join(ROOT, p)) });
  if (!r.entry) throw new Error(`${path} does not check: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return r.entry;
}

// ---------------------------------------------------------------- rendering

const extent = (e: Extent) => (e.per === undefined ? `${e.n}` : `${e.n === 1 ? "" : `${e.n}·`}${e.per}${e.div && e.div !== 1 ? `/${e.div}` : ""}`);

/** kernel names are family_index: order by family, then index as a number. */
function kernelOrder(a: string, b: string): number {
  const [fa, ia] = /^(.*)_(\d+)$/.exec(a)?.slice(1) ?? [a, "0"];
  const [fb, ib] = /^(.*)_(\d+)$/.exec(b)?.slice(1) ?? [b, "0"];
  return fa < fb ? -1 : fa > fb ? 1 : Number(ia) - Number(ib);
}

function planComment(plan: Plan): string[] {
  const out: string[] = [];
  const name = (id: number) => `#${id}`;
  out.push(`// model ${plan.model}; params ${plan.params.join(", ")}; logits ${name(plan.logits)}, vocab ${plan.vocab}`);
  out.push("//");
  out.push("// buffers: id kind dtype elements[×cap] name (weights: the tensors' row ranges) [(pinned, cleared on forward)]");
  for (const b of plan.buffers) {
    const size = `${b.elements}${b.cap ? `×${b.cap}` : ""}`;
    // A weight buffer: the tensors' row ranges it holds, when it is not one whole tensor of its name.
    const ranges = b.parts?.map((p) => `${p.name}[${p.rows[0]}:${p.rows[1]}]`).join(" + ");
    const whole = b.parts === undefined || (b.parts.length === 1 && b.parts[0].name === b.name && b.parts[0].rows[0] === 0);
    const label = whole ? b.name : b.parts!.map((p) => p.name).join(" + ") === b.name ? ranges : `${b.name} = ${ranges}`;
    const flags = [b.input !== undefined && b.input !== b.name ? `input ${b.input}` : "", b.pinned ? "pinned" : "", b.clearOnForward ? "cleared on forward" : ""].filter(Boolean);
    out.push(`//   ${name(b.id).padEnd(4)} ${b.kind.padEnd(10)} ${b.dtype} ${size.padEnd(8)} ${label}${flags.length ? ` (${flags.join(", ")})` : ""}`);
  }
  out.push("//");
  out.push("// inputs:");
  for (const [input, pi] of Object.entries(plan.inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out.push(`//   ${input} → ${name(pi.buffer)} (${pi.kind} over ${pi.sym})`);
  out.push("//");
  out.push("// dispatches: phase kernel [when] grid (x, y, z) bindings 1..n: label");
  for (const d of plan.dispatches) {
    const when = d.when ? ` [${d.when.sym} ${d.when.one ? "= 1" : "> 1"}]` : "";
    const grid = `(${d.grid.map(extent).join(", ")})${d.flat ? " flat" : ""}`;
    out.push(`//   ${d.phase.padEnd(6)} ${d.kernel}${when} ${grid} ${d.bindings.map(name).join(" ")}: ${d.label}`);
  }
  return out;
}

function renderWgsl(m: ModelInfo): string {
  const { shaders, plan } = compileWgsl(m, inferenceGraph(m));
  const lines = [`// specformer codegen golden: WGSL of ${m.name} (compileWgsl at WebGPU's default limits and kernels, as build writes it)`, "//", ...planComment(plan)];
  for (const k of Object.keys(shaders).sort(kernelOrder)) {
    const info = plan.kernels[k];
    const about = info ? ` (bindings ${info.bindings.join(" ")}; workgroup ${info.workgroupSize}; ${info.workgroupBytes} B workgroup memory)` : "";
    lines.push("", `// ---- ${k}${about}`, shaders[k].trimEnd());
  }
  return `${lines.join("\n")}\n`;
}

const renderIr = (m: ModelInfo) => `${printGraph(inferenceGraph(m), { weights: true })}\n`;
/** What the build writes (binaryen parses and validates it; no optimiser, which the text does not need). */
const renderWat = (m: ModelInfo) => withNewline(compileWasm(m, inferenceGraph(m), { optimize: 0 }).text);
const withNewline = (s: string) => (s.endsWith("\n") ? s : `${s}\n`);

interface Target {
  dir: string;
  ext: string;
  render(m: ModelInfo): string;
  /** A second rendering through another path (or the same), to show the text is deterministic. */
  again(m: ModelInfo): string;
}

const TARGETS: Target[] = [
  { dir: "ir", ext: ".txt", render: renderIr, again: renderIr },
  { dir: "wat", ext: ".wat", render: renderWat, again: (m) => withNewline(emitModuleText(planWasm(m, inferenceGraph(m)), { relaxed: false, threads: false })) },
  { dir: "wgsl", ext: ".wgsl", render: renderWgsl, again: renderWgsl },
];

// ---------------------------------------------------------------- comparison

const clip = (s: string | undefined) => (s === undefined ? "(end of file)" : s.length > 160 ? `${s.slice(0, 160)}…` : s);

/** Undefined when equal, else the first differing line of each (1-based) and the line counts. */
function firstDifference(want: string, got: string): string | undefined {
  if (want === got) return undefined;
  const w = want.split("\n");
  const g = got.split("\n");
  let i = 0;
  while (i < w.length && i < g.length && w[i] === g[i]) i++;
  return `first at line ${i + 1}:\n  golden:    ${clip(w[i])}\n  generated: ${clip(g[i])}\n(golden ${w.length} lines, generated ${g.length})`;
}

/** Throws a readable message naming the golden file and the first line that differs. */
function expectGolden(path: string, actual: string): void {
  const abs = join(ROOT, path);
  if (UPDATE) {
    mkdirSync(join(abs, ".."), { recursive: true });
    if (!existsSync(abs) || readFileSync(abs, "utf8") !== actual) writeFileSync(abs, actual);
    return;
  }
  if (!existsSync(abs)) throw new Error(`no golden ${path}; create it with UPDATE_GOLDEN=1 npx vitest run test/codegen-golden.test.ts`);
  const diff = firstDifference(readFileSync(abs, "utf8"), actual);
  if (diff === undefined) return;
  throw new Error(
    `${path} differs from the generated output, ${diff}.\nIf the change is intended, refresh with\n  UPDATE_GOLDEN=1 npx vitest run test/codegen-golden.test.ts\nand read git diff ${DIR}/ before committing.`,
  );
}

// ---------------------------------------------------------------- tests

describe("codegen goldens", () => {
  it("has the corpus: learned positions, GQA + RoPE + SwiGLU, a window, linear attention, an encoder–decoder", () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
    // Read from the checked specs, not the outputs, so that a codegen change cannot shrink it.
    const models = cases.map(load);
    const sections = models.flatMap((m) => m.sections);
    const sublayers = sections.flatMap((s) => s.steps.flatMap((st) => (st.op === "stack" ? st.stack.sublayers : [])));
    const attention = sublayers.filter((l) => l.kind === "attention");
    expect(sections.some((s) => s.position.kind === "learned"), "learned positions").toBe(true);
    expect(attention.some((a) => a.kvHeads < a.heads && a.ropeDim > 0), "GQA with RoPE").toBe(true);
    expect(sublayers.some((l) => l.kind === "mlp" && l.act === "swiglu"), "SwiGLU").toBe(true);
    expect(attention.some((a) => a.window !== undefined), "a sliding window").toBe(true);
    expect(attention.some((a) => a.linear !== undefined), "linear attention").toBe(true);
    expect(attention.some((a) => a.source === "cross") && sections.some((s) => s.role === "encoder"), "an encoder–decoder").toBe(true);
  });

  for (const name of cases) {
    describe(name, () => {
      const m = load(name);
      for (const t of TARGETS) {
        it(`${t.dir}/${name}${t.ext}`, () => {
          const text = t.render(m);
          const again = firstDifference(text, t.again(m));
          if (again !== undefined) throw new Error(`${t.dir}/${name}${t.ext} is not deterministic: a second rendering differs, ${again}`);
          expect(text.includes(ROOT.replace(/\/$/, "")), "the output holds an absolute path").toBe(false);
          if (t.dir === "wat") expect(text.length, `${name}.wat is ${text.length} bytes: choose smaller dims`).toBeLessThanOrEqual(MAX_WAT_BYTES);
          expectGolden(`${DIR}/${t.dir}/${name}${t.ext}`, text);
        });
      }
    });
  }

  it("has no stale outputs", () => {
    const stale: string[] = [];
    for (const t of TARGETS) {
      const dir = join(ROOT, DIR, t.dir);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) if (!f.endsWith(t.ext) || !cases.includes(f.slice(0, -t.ext.length))) stale.push(`${DIR}/${t.dir}/${f}`);
    }
    expect(stale, "golden outputs without an input in test/golden/codegen/in (delete them)").toEqual([]);
  });
});
