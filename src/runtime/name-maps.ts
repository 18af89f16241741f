/**
 * Checkpoints named the PyTorch way → our native weight names (src/model/weights-layout.ts).
 *
 * `applyNameMap(kind, file, m)` returns every tensor of weightLayout(m), in layout order, as a
 * fresh Float32Array in the native [out, in] layout. It is driven by the model, not by the file:
 * each native tensor names the PyTorch tensor it comes from, which must exist with exactly the
 * shape the model implies. Tensors the model does not need (buffers, a tied lm_head, the
 * encoder's positional table) are ignored. A missing tensor, a wrong shape or a model the
 * convention cannot express is a WeightsError naming both the PyTorch and the native tensor.
 *
 * Notation below: `L` is the layer index (stacks of a section counted on from each other),
 * E = heads·headDim, KV = kvHeads·headDim. "rows a..b" slices along the output axis.
 *
 *
 * The per-family tables of which Hugging Face / PyTorch tensor each native tensor reads are in
 * name-map-sources.ts.
 */

import { layerSublayers, type ModelInfo } from "../model/model.ts";
import { numel, sectionPrefix, sublayerNames, weightLayout } from "../model/weights-layout.ts";
import { LABEL, MAP_NAMES, SOURCES, type Alt, type MapName, type Rows, type Slot, type Source } from "./name-map-sources.ts";
import { layerProblem } from "./name-map-layers.ts";
import { WeightsError, formatShape, type SafetensorsFile } from "./safetensors.ts";

export { MAP_NAMES, type MapName } from "./name-map-sources.ts";

/** Every native tensor's slot, keyed by native name (mirrors weightLayout's walk). */
function slots(m: ModelInfo): Map<string, Slot> {
  const out = new Map<string, Slot>();
  for (const sec of m.sections) {
    const p = sectionPrefix(sec);
    const lastStack = sec.steps.map((s) => s.op).lastIndexOf("stack");
    const firstStack = sec.steps.findIndex((s) => s.op === "stack");
    let normIndex = 0;
    let layerBase = 0;
    let embeds = 0;
    sec.steps.forEach((step, i) => {
      switch (step.op) {
        case "embed":
          out.set(`${p}embed.${step.input}.weight`, { kind: "embed", sec, first: embeds === 0, index: embeds });
          embeds++;
          break;
        case "position":
          out.set(`${p}position.weight`, { kind: "position", sec });
          break;
        case "norm": {
          const name = `${p}norm.${normIndex++}`;
          // Only a norm after the last stack is a "final" norm (ln_f, model.norm, encoder.norm).
          const final = lastStack >= 0 && i > lastStack && !sec.steps.slice(lastStack + 1, i).some((s) => s.op === "norm");
          const beforeStacks = firstStack < 0 || i < firstStack;
          for (const param of ["weight", "bias"]) out.set(`${name}.${param}`, { kind: "norm", sec, final, beforeStacks, param });
          break;
        }
        case "dropout":
          break;
        case "stack": {
          const st = step.stack;
          for (let l = 0; l < st.count; l++) {
            const layer = layerBase + l;
            const lp = `${p}${st.name}.${l}.`;
            // Layer l runs its pattern entry's kind (a one-kind stack: every layer the same).
            const sublayers = layerSublayers(st, l);
            const names = sublayerNames({ sublayers });
            sublayers.forEach((sub, j) => {
              const sn = names[j];
              if (sub.kind === "ssm") {
                for (const tensor of ["in_proj.weight", "in_proj.bias", "conv1d.weight", "conv1d.bias", "x_proj.weight", "dt_proj.weight", "dt_proj.bias", "A_log", "D", "out_proj.weight", "out_proj.bias"]) {
                  out.set(`${lp}${sn}.${tensor}`, { kind: "ssm", sec, layer, sub: sn, tensor });
                }
              }
              for (const param of ["weight", "bias"]) {
                out.set(`${lp}${sn}_norm.${param}`, { kind: "sub_norm", sec, layer, sub: sn, stack: st, post: false, param });
                out.set(`${lp}${sn}_post_norm.${param}`, { kind: "sub_norm", sec, layer, sub: sn, stack: st, post: true, param });
                if (sub.kind === "attention") {
                  for (const proj of ["q", "k", "v", "o"] as const) out.set(`${lp}${sn}.${proj}.${param}`, { kind: "attn", sec, layer, sub: sn, a: sub, proj, param });
                  for (const which of ["q", "k"] as const) out.set(`${lp}${sn}.${which}_norm.${param}`, { kind: "qk_norm", sec, layer, sub: sn, which, param });
                } else if (sub.kind === "mlp") {
                  for (const proj of ["gate", "up", "down"] as const) out.set(`${lp}${sn}.${proj}.${param}`, { kind: "mlp", sec, layer, sub: sn, f: sub, proj, param });
                }
              }
            });
          }
          layerBase += st.count;
          break;
        }
      }
    });
  }
  for (const param of ["weight", "bias", "transform.weight", "transform.bias", "transform_norm.weight", "transform_norm.bias"]) {
    out.set(`head.${param}`, { kind: "head", param });
  }
  return out;
}

/** The PyTorch shape an alternative must have for a native tensor of `shape`. */
function pytorchShape(alt: Alt, shape: readonly number[]): number[] {
  const out = [...shape];
  if (alt.slice) out[0] = alt.slice.total;
  if (alt.transpose && out.length === 2) out.reverse();
  return out;
}

/** The row of the PyTorch tensor that native row `o` reads. */
function sourceRow(rows: Rows | undefined, o: number): number {
  if (!rows) return o;
  if (rows.block === undefined || rows.stride === undefined) return rows.start + o;
  return rows.start + Math.floor(o / rows.block) * rows.stride + (o % rows.block);
}

/** The native tensor from the PyTorch one (already shape-checked). */
function extract(src: Float32Array, alt: Alt, shape: readonly number[]): Float32Array {
  const out = shape[0];
  if (shape.length !== 2 || !alt.transpose) {
    const row = shape.length === 2 ? shape[1] : 1;
    if (!alt.slice?.block) {
      const start = (alt.slice?.start ?? 0) * row;
      return src.slice(start, start + numel(shape));
    }
    const dst = new Float32Array(numel(shape));
    for (let o = 0; o < out; o++) dst.set(src.subarray(sourceRow(alt.slice, o) * row, (sourceRow(alt.slice, o) + 1) * row), o * row);
    return dst;
  }
  const inn = shape[1];
  const total = alt.slice?.total ?? out;
  const dst = new Float32Array(out * inn);
  for (let o = 0; o < out; o++) {
    const so = sourceRow(alt.slice, o);
    for (let i = 0; i < inn; i++) dst[o * inn + i] = src[i * total + so];
  }
  return dst;
}

const quote = (s: string) => JSON.stringify(s);

/**
 * The spelling a "missing" error names: one whose prefix the file uses (a checkpoint saved
 * with `transformer.` names lacks the prefixed tensor, not the bare one), else the canonical one.
 */
function spelling(alts: Source, file: Pick<SafetensorsFile, "tensors">): Alt {
  const names = [...file.tensors.keys()];
  const used = (pre: string) => names.some((n) => n.startsWith(pre));
  return alts.find((a) => a.prefix && used(a.prefix)) ?? alts[0];
}

/** One native tensor and the checkpoint tensor it is read from (present, shape-checked). */
export interface NativeSource {
  native: { name: string; shape: number[] };
  alt: Alt;
}

/**
 * Where each native tensor of weightLayout(m) comes from in a checkpoint that uses the `kind`
 * naming convention (see the table at the top of this file), every source checked for presence
 * and shape before any data is read.
 */
export function nameMapPlan(kind: MapName, file: Pick<SafetensorsFile, "tensors">, m: ModelInfo): NativeSource[] {
  const source = SOURCES[kind];
  if (!source) throw new WeightsError(`unknown name map ${quote(String(kind))} (expected one of ${MAP_NAMES.join(", ")})`);
  for (const sec of m.sections) {
    for (const st of sec.steps) {
      if (st.op !== "stack") continue;
      const problem = layerProblem(kind, st.stack);
      if (problem) throw new WeightsError(`model ${m.name} cannot load a ${LABEL[kind]} checkpoint: ${problem}`);
    }
  }
  const bySlot = slots(m);
  // First every tensor's source, so a model the convention cannot express fails as that,
  // before any data is read.
  const plan = weightLayout(m).map((t) => {
    const slot = bySlot.get(t.name);
    if (!slot) throw new Error(`name map: native tensor ${quote(t.name)} has no slot (weights-layout and name-maps disagree)`);
    const alts = source(slot);
    if (!alts) {
      const problem = `the ${kind} map has no ${LABEL[kind]} counterpart for native tensor ${quote(t.name)} ${formatShape(t.shape)}`;
      throw new WeightsError(problem, undefined, `model ${m.name}: ${problem}`);
    }
    return { t, alts };
  });
  return plan.map(({ t, alts }) => {
    const alt = alts.find((a) => file.tensors.has(a.name));
    if (!alt) {
      const named = spelling(alts, file);
      const others = alts.filter((a) => a !== named).map((a) => quote(a.name));
      const tried = others.length ? ` (also tried ${others.join(", ")})` : "";
      throw new WeightsError(
        "missing",
        named.name,
        `missing ${LABEL[kind]} tensor ${quote(named.name)}${tried}, needed for native tensor ${quote(t.name)} ${formatShape(t.shape)}`,
      );
    }
    const info = file.tensors.get(alt.name)!;
    const want = pytorchShape(alt, t.shape);
    if (info.shape.length !== want.length || info.shape.some((d, i) => d !== want[i])) {
      const how = [alt.slice ? "fused" : "", alt.transpose ? "stored [in, out]" : ""].filter(Boolean).join(", ");
      const problem = `expected shape ${formatShape(want)}${how ? ` (${how})` : ""} for native tensor ${quote(t.name)} ${formatShape(t.shape)}, found ${formatShape(info.shape)}`;
      throw new WeightsError(problem, alt.name);
    }
    return { native: { name: t.name, shape: t.shape }, alt };
  });
}

/** A native tensor's values from its source's f32 data (the whole checkpoint tensor). */
export const nativeValues = (src: Float32Array, s: NativeSource): Float32Array => extract(src, s.alt, s.native.shape);

/**
 * Every native tensor of weightLayout(m), read from a checkpoint that uses the `kind` naming
 * convention (see the table at the top of this file).
 */
export function applyNameMap(kind: MapName, file: SafetensorsFile, m: ModelInfo): Map<string, Float32Array> {
  const cache = new Map<string, Float32Array>();
  const out = new Map<string, Float32Array>();
  for (const s of nameMapPlan(kind, file, m)) {
    let data = cache.get(s.alt.name);
    if (!data) {
      data = file.f32(s.alt.name);
      cache.set(s.alt.name, data);
    }
    out.set(s.native.name, nativeValues(data, s));
  }
  return out;
}

/**
 * The convention a checkpoint's names suggest, or undefined (native names, or unknown). A hint
 * for tools; loading still checks every tensor.
 */
export function guessNameMap(file: SafetensorsFile): MapName | undefined {
  const names = [...file.tensors.keys()];
  if (names.some((n) => /(^|\.)h\.\d+\.attn\.c_attn\.weight$/.test(n))) return "gpt2";
  if (names.some((n) => /(^|\.)layers\.\d+\.self_attn\.(q_proj|qkv_proj)\.weight$/.test(n))) return "llama";
  if (names.some((n) => /(^|\.)layers\.\d+\.attention\.query_key_value\.weight$/.test(n))) return "gpt_neox";
  if (names.some((n) => /(^|\.)layers\.\d+\.mixer\.A_log$/.test(n))) return "mamba";
  if (names.some((n) => /(^|\.)layers\.\d+\.self_attn\.(in_proj_weight|q_proj_weight)$/.test(n))) return "torch";
  if (names.some((n) => /(^|\.)encoder\.layer\.\d+\.attention\.self\.query\.weight$/.test(n))) return "bert";
  return undefined;
}
