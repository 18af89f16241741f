// Shared by test/generated-train*.test.ts: building a spec into a package and importing it, the
// PyTorch fixtures (scripts/make-train-fixtures.py) fed through its trainer(), and comparisons.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { checkFile } from "../../src/check/check.ts";
import { buildArtifacts } from "../../src/emit/build.ts";
import { writePackage, type CheckpointPart } from "../../src/emit/package.ts";
import type { Target } from "../../src/emit/manifest.ts";
import type { ModelInfo } from "../../src/model/model.ts";
import { weightLayout } from "../../src/model/weights-layout.ts";
import { bindWeights } from "../../src/runtime/bind-weights.ts";
import { applyNameMap, type MapName } from "../../src/runtime/name-maps.ts";
import { parseSafetensors, writeSafetensors, type DType, type SafetensorsFile } from "../../src/runtime/safetensors.ts";

export function spec(name: string): ModelInfo {
  const r = checkFile(`specs/${name}.sf`);
  if (!r.entry) throw new Error(`specs/${name}.sf does not check`);
  return r.entry;
}

/** Builds specs/<name>.sf as a package of `target` in work/dirName and imports it. */
export async function buildModule(work: string, name: string, dirName = name, checkpoint?: CheckpointPart, target: Target = "reference") {
  const m = spec(name);
  const dir = join(work, dirName);
  writePackage(dir, m, target, `specs/${name}.sf`, await buildArtifacts(m, target), "specformer test", checkpoint);
  return { m, dir, mod: await import(pathToFileURL(join(dir, "index.js")).href) };
}

/** A fixture's tensors without its inputs and expected values: the weights, PyTorch-named. */
export function weightsOnly(f: SafetensorsFile): Uint8Array {
  const keep = [...f.tensors.values()].filter((t) => !t.name.startsWith("input.") && !t.name.startsWith("expected."));
  return writeSafetensors(keep.map((t) => ({ name: t.name, dtype: t.dtype as DType, shape: t.shape, data: f.raw(t.name) })));
}

/** The tensors of `file` `keep` renames (dropping the rest), as a file of their own. */
export function subset(file: SafetensorsFile, keep: (name: string) => string | undefined): SafetensorsFile {
  const out = [];
  for (const t of file.tensors.values()) {
    const n = keep(t.name);
    if (n !== undefined) out.push({ name: n, dtype: t.dtype as DType, shape: t.shape, data: file.raw(t.name) });
  }
  return parseSafetensors(writeSafetensors(out));
}

export const native = (m: ModelInfo, f: SafetensorsFile, map: MapName | undefined) => (map ? applyNameMap(map, f, m) : bindWeights(m, f));

export const maxAbs = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]));
  return s;
};

/** The fixtures of test/train-parity.test.ts that trainer() runs, with their name maps. */
export const PARITY_CASES: Array<{ name: string; map?: MapName }> = [{ name: "tiny-gpt2", map: "gpt2" }, { name: "tiny-llama", map: "llama" }, { name: "tiny-torch-transformer", map: "torch" }];

/**
 * PyTorch's run of a fixture (noam warm-up, AdamW, clipping, label smoothing) through a package's
 * trainer(): each step's loss, relative to PyTorch's, and the worst weight after the steps,
 * absolute, leaving out elements whose first gradient is rounding noise (near-zero gradients,
 * which Adam's normalisation turns into full-size steps of either sign).
 */
export async function pytorchRun(mod: any, m: ModelInfo, c: { name: string; map?: MapName }, extra: Record<string, unknown> = {}) {
  const wfile = parseSafetensors(readFileSync(`test/fixtures/${c.name}.safetensors`));
  const tfile = parseSafetensors(readFileSync(`test/fixtures/train-${c.name}.safetensors`));
  const hp = JSON.parse(tfile.metadata.hyperparameters!);
  const t = await mod.trainer(weightsOnly(wfile), {
    ...(c.map ? { map: c.map } : {}),
    schedule: "noam",
    lr: hp.factor,
    warmup: hp.warmup,
    steps: hp.steps,
    betas: hp.betas,
    eps: hp.eps,
    weightDecay: hp.weight_decay,
    clip: hp.clip,
    labelSmoothing: hp.label_smoothing,
    dropout: 0,
    ...extra,
  });
  const tokens = wfile.i32("input.tokens");
  const targets = tfile.i32("input.targets").map((x) => (x < 0 ? -1 : x));
  const batch = wfile.get("input.tokens").shape[0];
  const src = wfile.tensors.has("input.src_tokens")
    ? { src: { tokens: wfile.i32("input.src_tokens"), seq: wfile.get("input.src_tokens").shape[1], mask: wfile.bool("input.src_mask") } }
    : {};
  const wantLosses = new Float64Array(tfile.raw("expected.losses").slice().buffer);
  const lossErrors: number[] = [];
  const steps: number[] = [];
  for (let s = 0; s < hp.steps; s++) {
    const r = await t.trainStep({ tokens, targets, batch, ...src });
    steps.push(r.step);
    lossErrors.push(Math.abs(r.loss - wantLosses[s]) / wantLosses[s]);
  }
  const after = native(m, parseSafetensors(t.weights()), undefined);
  const want = native(m, subset(tfile, (n) => (n.startsWith("after.") ? n.slice(6) : undefined)), c.map);
  const grads = native(m, subset(tfile, (n) => (n.startsWith("grad.") ? n.slice(5) : undefined)), c.map);
  const floor = 1e-6 * Math.max(...[...grads.values()].map(maxAbs));
  let worst = 0;
  let skipped = 0;
  for (const { name } of weightLayout(m)) {
    const g0 = grads.get(name)!;
    const noise = maxAbs(g0) < floor; // the whole first gradient is rounding noise (key biases)
    const got = after.get(name)!;
    const w = want.get(name)!;
    for (let i = 0; i < w.length; i++) {
      if (noise || (g0[i] !== 0 && Math.abs(g0[i]) < floor)) skipped++;
      else worst = Math.max(worst, Math.abs(got[i] - w[i]));
    }
  }
  return { steps, lossErrors, worst, skipped, tensors: after.size };
}
