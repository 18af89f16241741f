// Embedding gather with everything that lands on the same rows fused in: the scale, another
// embedding already summed (segment + token tables), learned or sinusoidal positions. And
// RoPE, rotating q rows and the KV-cache rows just written, in place.

import { Bindings, FLAT_ARGS, FLAT_ID, f32, f32Table, kernel, seqLen, seqPos, storeRow, u32, type Kernel, type SeqSym } from "../wgsl.ts";
import { ringStoreRow } from "./attention.ts";
import type { RopeScaling } from "../../../src/model/model.ts";
import { ropeInverseFrequencies } from "../../../src/model/rope.ts";
import type { LowBitDType } from "../lowbit.ts";
import { enableF16, lowBitElemFn } from "./lowbit.ts";

export interface EmbedSpec {
  rows: SeqSym;
  D: number;
  /** Gather rows [lo, hi) of the table (a split table runs one dispatch per chunk); absent: add positions to X only. */
  gather?: { scale: number; lo: number; hi: number; storage?: LowBitDType; f16?: boolean };
  /** Adds another [rows, D] tensor (the gather's residual, or the input of a bare position add). */
  residual: boolean;
  position?: "learned" | "sinusoidal";
}

/** Largest table written as WGSL literals; bigger ones compute their frequencies in the shader. */
const TABLE_LIMIT = 1024;

export function embedKernel(s: EmbedSpec): Kernel {
  const b = new Bindings();
  if (s.gather) {
    b.add("Ids", "read", "array<i32>");
    b.add("T", "read", s.gather.storage ? "array<u32>" : "array<f32>");
  }
  if (s.residual) b.add("R", "read", "array<f32>");
  if (s.position === "learned") b.add("PT", "read", "array<f32>");
  b.add("Y", "rw", "array<f32>");
  const g = s.gather;
  const lines: string[] = [];
  if (g) {
    lines.push(
      "  let id = Ids[r];",
      // Ids outside this chunk belong to another dispatch; ids are range-checked on the host.
      `  if (id < ${g.lo} || id >= ${g.hi}) { return; }`,
      `  var v = ${g.storage ? "table_at(u32(id - " + g.lo + "), c)" : `T[u32(id - ${g.lo}) * D + c]`} * ${f32(g.scale)};`,
    );
    if (s.residual) lines.push("  v = v + R[i];");
  } else {
    if (!s.residual) throw new Error("embed kernel: nothing to add positions to");
    lines.push("  var v = R[i];");
  }
  let freq = "";
  if (s.position) lines.push(`  let p = ${seqPos(s.rows)} + r % ${seqLen(s.rows)};`);
  if (s.position === "learned") lines.push("  v = v + PT[p * D + c];");
  if (s.position === "sinusoidal") {
    // PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(same): interleaved, as the reference.
    const half = Math.ceil(s.D / 2);
    const fs = Array.from({ length: half }, (_, i) => 1 / Math.pow(10000, (2 * i) / s.D));
    freq = half <= TABLE_LIMIT ? f32Table("FREQ", fs) : "";
    const f = half <= TABLE_LIMIT ? "FREQ[c / 2u]" : `exp2(-f32(c - c % 2u) / f32(D) * 13.287712379549449)`;
    lines.push(`  let a = f32(p) * ${f};`, "  v = v + select(cos(a), sin(a), c % 2u == 0u);");
  }
  const body = `
const D = ${u32(s.D)};
${freq}${g?.storage ? `\n${lowBitElemFn("table_at", "T", { storage: g.storage, K: s.D, f16: Boolean(g.f16) })}` : ""}
@compute @workgroup_size(64)
fn main(${FLAT_ARGS}, @builtin(local_invocation_index) t: u32) {
  let i = ${FLAT_ID} * 64u + t;
  if (i >= P.batch * ${seqLen(s.rows)} * D) { return; }
  let r = i / D;
  let c = i % D;
${lines.join("\n")}
  Y[i] = v;
}`;
  return enableF16(kernel(b, body, 64, 0), Boolean(g?.storage && g.f16));
}

export interface RopeTarget {
  heads: number;
  /** Row width of the buffer (heads × headDim of a q projection, kvHeads × headDim of a cache). */
  width: number;
  /** A KV store: rows are cache slots (storeRow). */
  store: boolean;
  /** The store is a ring of this many rows (state plan): rows are its slots. */
  ring?: number;
}

export interface RopeSpec {
  rows: SeqSym;
  headDim: number;
  rotary: number;
  base: number;
  scaling?: RopeScaling;
  targets: RopeTarget[];
}

/** Threads per row of a RoPE dispatch (one per rotated channel pair per head). */
export const ropePairsPerRow = (s: RopeSpec): number => (s.rotary / 2) * s.targets.reduce((a, t) => a + t.heads, 0);

/**
 * HF "rotate_half": channel c pairs with c + rotary/2 and turns by p · base^(-2c/rotary), or by
 * p · the scaled frequency (src/model/rope.ts), always from a table: no closed form in the shader.
 */
export function ropeKernel(s: RopeSpec): Kernel {
  if (s.rotary % 2 !== 0 || s.rotary > s.headDim || s.rotary <= 0) throw new Error(`rope: rotary dim ${s.rotary} must be even and in (0, ${s.headDim}]`);
  const half = s.rotary / 2;
  const b = new Bindings();
  s.targets.forEach((_, i) => b.add(`T${i}`, "rw", "array<f32>"));
  const slots = s.targets.reduce((a, t) => a + t.heads, 0);
  let first = 0;
  const branches = s.targets.map((t, i) => {
    const row = t.store ? (t.ring !== undefined ? ringStoreRow("m", t.ring) : storeRow(s.rows, "m")) : "m";
    const code = `if (h < ${u32(first + t.heads)}) {
    let o = ${row} * ${u32(t.width)} + (h - ${u32(first)}) * ${u32(s.headDim)} + c;
    let x1 = T${i}[o];
    let x2 = T${i}[o + HALF];
    T${i}[o] = x1 * cs - x2 * sn;
    T${i}[o + HALF] = x2 * cs + x1 * sn;
  }`;
    first += t.heads;
    return code;
  });
  const freqs = ropeInverseFrequencies(s.rotary, s.base, s.scaling);
  const table = half <= TABLE_LIMIT || s.scaling !== undefined;
  const body = `
const HALF = ${u32(half)};
const SLOTS = ${u32(slots)};
${table ? f32Table("INV_FREQ", freqs) : ""}
@compute @workgroup_size(64)
fn main(${FLAT_ARGS}, @builtin(local_invocation_index) t: u32) {
  let i = ${FLAT_ID} * 64u + t;
  if (i >= P.batch * ${seqLen(s.rows)} * SLOTS * HALF) { return; }
  let c = i % HALF;
  let h = (i / HALF) % SLOTS;
  let m = i / (HALF * SLOTS);
  let th = f32(${seqPos(s.rows)} + m % ${seqLen(s.rows)}) * ${table ? "INV_FREQ[c]" : `pow(${f32(s.base)}, -2.0 * f32(c) / ${f32(s.rotary)})`};
  let cs = cos(th);
  let sn = sin(th);
  ${branches.join(" else ")}
}`;
  return kernel(b, body, 64, 0);
}
