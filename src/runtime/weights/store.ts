// Which tensors may be stored low-bit, and the program that says so. Only two kinds of use
// read a weight through a dequantising kernel: the weight of a `linear` op (every projection,
// the MLP, an untied head) and the table of an `embed` op (which a tied head also reads as its
// linear weight). Everything else — norms, biases, learned position tables — stays f32: they are
// small, and their kernels read f32.
//
// The storage choice is an attribute of the IR's weight node (`storage` in src/ir/ir.ts), set
// here on the inference program before a backend compiles it: the Wasm plan sizes and packs
// each weight by it, the reference backend reads the tensor itself.

import type { Graph, Node } from "../../ir/ir.ts";
import { OPS } from "../../ir/ops.ts";
import { verify } from "../../ir/verify.ts";
import { WeightsError } from "../safetensors.ts";
import { isLowBit, storageOf, type StorageDType, type StoredWeight } from "./format.ts";
import { dequantize, quantize } from "./quantize.ts";

type WeightNode = Extract<Node, { op: "weight" }>;
/** The storage of a weight node: f32 when unset. */
export const nodeStorage = (n: WeightNode): StorageDType => n.storage ?? "f32";

export interface WeightUses {
  /** Names read as a linear op's weight. */
  linear: Set<string>;
  /** Names read as an embed op's table (a tied head's weight is in both sets). */
  embed: Set<string>;
  /** Names some other op reads (norm weights, biases, position tables). */
  other: Set<string>;
}

export function weightUses(graph: Graph): WeightUses {
  const names = new Map<number, string>();
  for (const n of graph.nodes) if (n.op === "weight") names.set(n.out, n.weight);
  const uses: WeightUses = { linear: new Set(), embed: new Set(), other: new Set() };
  const note = (id: number | undefined, kind: keyof WeightUses) => {
    const name = id === undefined ? undefined : names.get(id);
    if (name !== undefined) uses[kind].add(name);
  };
  for (const n of graph.nodes) {
    if (n.op === "weight") continue;
    const rec = n as unknown as Record<string, unknown>;
    for (const field of OPS[n.op].operands as readonly string[]) {
      const v = rec[field];
      if (typeof v !== "number" || !names.has(v)) continue;
      if (n.op === "linear" && field === "weight") note(v, "linear");
      else if (n.op === "embed" && field === "table") note(v, "embed");
      else note(v, "other");
    }
  }
  return uses;
}

/** `*` matches any run of characters; anything else literally. */
function globRe(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

export interface StoragePlanOptions {
  /** Tensor names (or `*` globs) kept in f32. Each must match at least one low-bit candidate. */
  keep?: readonly string[];
}

/**
 * The storage of every weight of `graph` when quantising to `to`: linear weights get `to`;
 * embedding tables (and so a tied head) get `to`, except that q4 tables are q8 (one q4 row
 * of a table is the whole embedding of a token; llama.cpp keeps them at higher precision
 * too); everything else f32. `keep` names tensors that stay f32.
 */
export function planStorage(graph: Graph, to: StorageDType, opts: StoragePlanOptions = {}): Map<string, StorageDType> {
  const uses = weightUses(graph);
  const plan = new Map<string, StorageDType>();
  const keep = (opts.keep ?? []).map((k) => ({ k, re: globRe(k), hit: false }));
  for (const n of graph.nodes) {
    if (n.op !== "weight") continue;
    const name = n.weight;
    let dtype: StorageDType = "f32";
    if (uses.other.has(name)) dtype = "f32";
    else if (uses.embed.has(name)) dtype = to === "q4" ? "q8" : to;
    else if (uses.linear.has(name)) dtype = to;
    for (const k of keep) {
      if (k.re.test(name)) {
        k.hit = true;
        dtype = "f32";
      }
    }
    plan.set(name, dtype);
  }
  const missed = keep.filter((k) => !k.hit);
  if (missed.length > 0) {
    throw new WeightsError(`--keep ${missed.map((k) => JSON.stringify(k.k)).join(", ")} matches no tensor of model ${graph.model} (see \`specformer weights SPEC --list\`)`);
  }
  return plan;
}

/** Why `name` cannot be stored as `dtype` in this program, or undefined when it can. */
export function storageProblem(uses: WeightUses, name: string, dtype: StorageDType): string | undefined {
  if (dtype === "f32") return undefined;
  if (uses.other.has(name)) return `is stored as ${dtype}, but it is not a linear weight or an embedding table (norms, biases and position tables are read as f32); keep it f32`;
  if (dtype === "q4" && uses.embed.has(name)) return "is stored as q4, but embedding tables (and a tied head) are f16 or q8 at most; store it as q8";
  return undefined;
}

/**
 * The program with each weight node's `storage` set from the store (f32 tensors unmarked),
 * verified again. Throws WeightsError for a tensor whose storage its uses cannot read.
 */
export function withStorage(graph: Graph, store: ReadonlyMap<string, StoredWeight>): Graph {
  const uses = weightUses(graph);
  const nodes = graph.nodes.map((n): Node => {
    if (n.op !== "weight") return n;
    const w = store.get(n.weight);
    const dtype = w === undefined ? "f32" : storageOf(w);
    const why = storageProblem(uses, n.weight, dtype);
    if (why) throw new WeightsError(why, n.weight);
    const { storage: _old, ...rest } = n;
    return isLowBit(w) ? { ...rest, storage: w.dtype } : rest;
  });
  const out: Graph = { ...graph, nodes };
  verify(out);
  return out;
}

/**
 * The program with each weight node's `storage` set as planStorage decides for `to` (what
 * `build --dtype` compiles for, before any weights exist), verified again.
 */
export function withPlannedStorage(graph: Graph, to: StorageDType, opts: StoragePlanOptions = {}): Graph {
  if (to === "f32") return graph;
  const plan = planStorage(graph, to, opts);
  const nodes = graph.nodes.map((n): Node => {
    if (n.op !== "weight") return n;
    const { storage: _old, ...rest } = n;
    const dtype = plan.get(n.weight) ?? "f32";
    return dtype === "f32" ? rest : { ...rest, storage: dtype };
  });
  const out: Graph = { ...graph, nodes };
  verify(out);
  return out;
}

/** Storage by weight name, as the program records it. */
export function programStorage(graph: Graph): Map<string, StorageDType> {
  const out = new Map<string, StorageDType>();
  for (const n of graph.nodes) if (n.op === "weight") out.set(n.weight, nodeStorage(n));
  return out;
}

/** Whether any weight of the program is stored in something other than f32. */
export const hasLowBit = (graph: Graph): boolean => graph.nodes.some((n) => n.op === "weight" && n.storage !== undefined && n.storage !== "f32");

/**
 * A store converted to `to` as planStorage decides (f32: everything dequantised), one tensor at
 * a time; tensors already in their target storage are shared, not copied. Converting between
 * two low-bit storages is refused: it would quantise twice.
 */
export function convertStore(graph: Graph, store: ReadonlyMap<string, StoredWeight>, to: StorageDType, opts: StoragePlanOptions = {}): Map<string, StoredWeight> {
  const plan = to === "f32" ? undefined : planStorage(graph, to, opts);
  const shapes = new Map<string, number[]>();
  for (const n of graph.nodes) if (n.op === "weight") shapes.set(n.weight, graph.values[n.out].shape as number[]);
  const out = new Map<string, StoredWeight>();
  for (const [name, w] of store) {
    const have = storageOf(w);
    const want = plan?.get(name) ?? "f32";
    if (have === want) out.set(name, w);
    else if (want === "f32") out.set(name, dequantize(w));
    else if (have === "f32") out.set(name, quantize(w as Float32Array, shapes.get(name) ?? [(w as Float32Array).length], want, name));
    else throw new WeightsError(`is stored as ${have}; converting it to ${want} would quantise twice (start from the f32 / f16 weights)`, name);
  }
  return out;
}
