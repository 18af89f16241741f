// `inspect --dtype` / `inspect --weights-file`: weight bytes by storage dtype. The expected
// table is worked out here from the format's definition (q8: 32 codes + one f16 scale = 34 bytes
// per block of 32 along K; q4: 16 + 2 = 18; f16: 2 bytes an element; a q4 model's embedding
// tables q8; norms, biases, position tables f32), not from the code that prints it.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "./helpers/cli-in-process.ts";
import { checkFile } from "../src/check/check.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { weightLayout } from "../src/model/weights-layout.ts";
import { bindWeightStore } from "../src/runtime/bind-weights.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { encodeStore } from "../src/runtime/weights/file.ts";
import { convertStore } from "../src/runtime/weights/store.ts";

// A dummy first argument: `node -e … -- inspect` would start Node's own debugger.
const ENTRY = `import("./src/cli/main.ts").then((m) => m.main(["node", "specformer", ...process.argv.slice(2)]))`;
/** One real process (exit status and streams as a shell sees them); the other cases run main() in process. */
const spawned = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", ENTRY, "--", "x", ...args], { encoding: "utf8" });
const sf = async (...args: string[]) => {
  const r = await cli(...args);
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
};
const SPEC = "specs/demo-fortune.sf";
const m = checkFile(SPEC).entry!;
const n = (x: number) => x.toLocaleString("en-US");

/** The table rows by hand: [dtype, tensors, params, bytes]. */
function expected(to: "f16" | "q8" | "q4"): Array<[string, number, number, number]> {
  const graph = inferenceGraph(m);
  const linear = new Set<string>();
  const tables = new Set<string>();
  const ids = new Map<number, string>();
  for (const x of graph.nodes) if (x.op === "weight") ids.set(x.out, x.weight);
  for (const x of graph.nodes) {
    if (x.op === "linear") linear.add(ids.get(x.weight)!);
    if (x.op === "embed") tables.add(ids.get(x.table)!);
  }
  const rows = new Map<string, [number, number, number]>();
  for (const t of weightLayout(m)) {
    const dtype = tables.has(t.name) ? (to === "q4" ? "q8" : to) : linear.has(t.name) ? to : "f32";
    const params = t.shape.reduce((a, b) => a * b, 1);
    const blocks = t.shape.length === 2 ? t.shape[0] * Math.ceil(t.shape[1] / 32) : 0;
    const bytes = { f32: 4 * params, f16: 2 * params, q8: 34 * blocks, q4: 18 * blocks }[dtype];
    const r = rows.get(dtype) ?? [0, 0, 0];
    rows.set(dtype, [r[0] + 1, r[1] + params, r[2] + bytes]);
  }
  return ["f32", "f16", "q8", "q4"].filter((d) => rows.has(d)).map((d) => [d, ...rows.get(d)!]);
}

function expectTable(stdout: string, rows: Array<[string, number, number, number]>): void {
  for (const [d, t, p, b] of rows) expect(stdout).toMatch(new RegExp(`\\n${d} +${n(t)} +${n(p)} +${n(b)}\\n`));
  const total = rows.reduce((a, r) => [a[0] + r[1], a[1] + r[2], a[2] + r[3]], [0, 0, 0]);
  expect(stdout).toMatch(new RegExp(`\\ntotal +${n(total[0])} +${n(total[1])} +${n(total[2])}\\n\\(${n(4 * total[1])} bytes in f32: `));
}

describe("inspect: weight bytes by storage dtype", () => {
  it.each(["f16", "q8", "q4"] as const)("--dtype %s prints the table the format defines", async (to) => {
    const r = to === "q4" ? spawned("inspect", SPEC, "--dtype", to) : await sf("inspect", SPEC, "--dtype", to);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Weights by storage dtype (quantised to ${to}):`);
    expectTable(r.stdout, expected(to));
  });

  it("--weights-file: a q8 file's tensors as they load, and the same in JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sf-inspect-"));
    const graph = inferenceGraph(m);
    const f32 = bindWeightStore(m, parseSafetensors(readFileSync("models/demo-fortune.safetensors")), graph);
    const file = join(dir, "q8.safetensors");
    writeFileSync(file, encodeStore(weightLayout(m), convertStore(graph, f32, "q8")));
    const r = await sf("inspect", SPEC, "--weights-file", file);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Weights by storage dtype (${file}, as stored):`);
    expectTable(r.stdout, expected("q8"));
    const j = await sf("inspect", SPEC, "--weights-file", file, "--format", "json");
    const storage = JSON.parse(j.stdout).storage;
    for (const [d, tensors, params, bytes] of expected("q8")) expect(storage[d]).toEqual({ tensors, params, bytes });
  });

  it("errors are one line: an unreadable file (2), a file of another model (1), a bad --dtype (2)", async () => {
    const gone = await sf("inspect", SPEC, "--weights-file", "/nonexistent/w.safetensors");
    expect(gone.status).toBe(2);
    expect(gone.stderr).toMatch(/^specformer: cannot read weights \/nonexistent\/w\.safetensors: [^\n]+\n$/);
    const other = await sf("inspect", "specs/tiny-llama.sf", "--weights-file", "models/demo-fortune.safetensors");
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/^specformer: [^\n]+\n$/);
    const bad = await sf("inspect", SPEC, "--dtype", "q3");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/q3/);
  });
});
