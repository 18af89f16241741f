/**
 * A llama-architecture GGUF file as specformer's weights: llama.cpp's tensor names
 * (convert_hf_to_gguf.py's TensorNameMap for LLAMA) turned back into Hugging Face's, the Q and
 * K rows put back in Hugging Face's order, then the `llama` name map's plan
 * (name-maps.ts) says which file tensor each native tensor reads. Q4_0 / Q8_0 / F16 matrices
 * keep their storage — the blocks are repacked, never dequantised — where the native tensor can
 * be stored so (store.ts: linear weights; q8 / f16 embedding tables); anything else is read as
 * f32, exactly (a Q4_0 embedding table dequantises to d · q in f32). Q4_K / Q6_K are decoded
 * exactly (k-quants.ts) and stored as `dtype` plans, q8 by default.
 *
 * The permutation: llama.cpp's converter reorders each head's rows of attn_q / attn_k so that
 * ggml's RoPE, which rotates adjacent pairs (2i, 2i + 1), matches Hugging Face's rotate_half,
 * which pairs i with i + head_dim / 2: GGUF row h · hd + 2i + s holds Hugging Face row
 * h · hd + s · hd / 2 + i. Rows move whole, so quantised blocks (along a row) move intact.
 */
import type { Graph } from "../../ir/ir.ts";
import { describeRopeScaling } from "../../model/rope.ts";
import type { ModelInfo } from "../../model/model.ts";
import { bf16ToF32, f16ToF32, WeightsError } from "../dtype.ts";
import { nameMapPlan, nativeValues } from "../name-maps.ts";
import type { TensorInfo } from "../safetensors.ts";
import { BLOCK, type StorageDType, type StoredWeight, type WeightStore } from "../weights/format.ts";
import { quantize } from "../weights/quantize.ts";
import { planStorage, weightUses } from "../weights/store.ts";
import { dequantIQ4_NL, dequantQ4_1, dequantQ5_0, dequantQ5_1 } from "./block-quants.ts";
import { dequantIQ4XS, dequantQ2K, dequantQ3K, dequantQ4K, dequantQ5K, dequantQ6K } from "./k-quants.ts";
import { metaNumber } from "./magic.ts";
import type { GgmlType, GgufFile, GgufTensor } from "./read-gguf.ts";
import { ropeFactorsMismatch } from "./rope-freqs.ts";

/** Llama 3's RoPE scaling as per-pair frequency divisors (rope-freqs.ts), not a weight. */
export const ROPE_FREQS = "rope_freqs.weight";

const TOP: Record<string, string> = {
  "token_embd.weight": "model.embed_tokens.weight",
  "output_norm.weight": "model.norm.weight",
  "output.weight": "lm_head.weight",
};
const LAYER: Record<string, string> = {
  attn_norm: "input_layernorm",
  attn_q: "self_attn.q_proj",
  attn_k: "self_attn.k_proj",
  attn_v: "self_attn.v_proj",
  attn_output: "self_attn.o_proj",
  ffn_norm: "post_attention_layernorm",
  ffn_gate: "mlp.gate_proj",
  ffn_up: "mlp.up_proj",
  ffn_down: "mlp.down_proj",
  // Qwen3's per-head RMSNorm of q and k.
  attn_q_norm: "self_attn.q_norm",
  attn_k_norm: "self_attn.k_norm",
};

/** Where an architecture's layer tensors differ: Phi-3 fuses q / k / v and gate / up, as its Hugging Face checkpoint does. */
const ARCH_LAYER: Record<string, Record<string, string>> = {
  phi3: { attn_qkv: "self_attn.qkv_proj", ffn_up: "mlp.gate_up_proj" },
  // Gemma 2's sandwich norms: ffn_norm is the norm before the MLP, not after attention.
  gemma2: { post_attention_norm: "post_attention_layernorm", ffn_norm: "pre_feedforward_layernorm", post_ffw_norm: "post_feedforward_layernorm" },
};

/** The Hugging Face name of a GGUF tensor of architecture `arch`, or undefined when it has none. */
export function hfName(gguf: string, arch = "llama"): string | undefined {
  if (TOP[gguf]) return TOP[gguf];
  const m = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(gguf);
  const part = m ? (ARCH_LAYER[arch]?.[m[2]] ?? LAYER[m[2]]) : undefined;
  return m && part ? `model.layers.${m[1]}.${part}.${m[3]}` : undefined;
}

/** The tensor with its rows in Hugging Face's order (attn_q / attn_k of `heads` heads). */
function unpermute(t: GgufTensor, heads: number): GgufTensor {
  const rows = t.shape[0];
  if (rows % heads !== 0 || (rows / heads) % 2 !== 0) throw new WeightsError(`has ${rows} rows, which ${heads} heads of an even head dim cannot split`, t.name);
  return { ...t, read: () => unpermuteRows(t.read(), rows, rows / heads) };
}

/** A norm weight stored as 1 + w, read back as w in f32 (exact where 1 + w ≥ 0.5; within an ulp of 1 below). */
function minusOne(t: GgufTensor): GgufTensor {
  return { ...t, type: "F32", read: () => new Uint8Array(ggufF32(t).map((x) => x - 1).buffer) };
}

function unpermuteRows(data: Uint8Array, rows: number, hd: number): Uint8Array {
  const heads = rows / hd;
  const rowBytes = data.length / rows;
  const out = new Uint8Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < hd / 2; i++) {
      for (let s = 0; s < 2; s++) {
        const from = (h * hd + 2 * i + s) * rowBytes;
        out.set(data.subarray(from, from + rowBytes), (h * hd + s * (hd / 2) + i) * rowBytes);
      }
    }
  }
  return out;
}

const u16 = (d: Uint8Array, at: number): number => d[at] | (d[at + 1] << 8);

/** The decoders of the types specformer has no storage for (decoded, then stored as planned). */
const DECODE: Record<Exclude<GgmlType, "F32" | "F16" | "BF16" | "Q8_0" | "Q4_0">, (d: Uint8Array, out: Float32Array) => void> = {
  Q4_1: dequantQ4_1,
  Q5_0: dequantQ5_0,
  Q5_1: dequantQ5_1,
  IQ4_NL: dequantIQ4_NL,
  Q2_K: dequantQ2K,
  Q3_K: dequantQ3K,
  Q4_K: dequantQ4K,
  Q5_K: dequantQ5K,
  Q6_K: dequantQ6K,
  IQ4_XS: dequantIQ4XS,
};

/** Every element as f32 (dequantised exactly: d · q, d the block's f16 scale). */
export function ggufF32(t: GgufTensor): Float32Array {
  const d = t.read();
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  switch (t.type) {
    case "F32":
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    case "F16":
      for (let i = 0; i < n; i++) out[i] = f16ToF32(u16(d, 2 * i));
      return out;
    case "BF16":
      for (let i = 0; i < n; i++) out[i] = bf16ToF32(u16(d, 2 * i));
      return out;
    case "Q8_0":
      for (let b = 0; b < n / BLOCK; b++) {
        const scale = f16ToF32(u16(d, 34 * b));
        for (let j = 0; j < BLOCK; j++) out[b * BLOCK + j] = scale * view.getInt8(34 * b + 2 + j);
      }
      return out;
    case "Q4_1":
    case "Q5_0":
    case "Q5_1":
    case "IQ4_NL":
    case "Q2_K":
    case "Q3_K":
    case "Q4_K":
    case "Q5_K":
    case "Q6_K":
    case "IQ4_XS":
      DECODE[t.type](d, out);
      return out;
    case "Q4_0":
      for (let b = 0; b < n / BLOCK; b++) {
        const scale = f16ToF32(u16(d, 18 * b));
        for (let j = 0; j < 16; j++) {
          const q = d[18 * b + 2 + j];
          out[b * BLOCK + j] = scale * ((q & 15) - 8);
          out[b * BLOCK + j + 16] = scale * ((q >>> 4) - 8);
        }
      }
      return out;
  }
}

/** Rows start..start + count of an F16 / Q8_0 / Q4_0 matrix (whole blocks: a row is whole blocks). */
function rowRange(t: GgufTensor, start: number, count: number): GgufTensor {
  const K = t.shape[1];
  const rowBytes = t.type === "F16" ? 2 * K : (K / BLOCK) * (t.type === "Q8_0" ? 34 : 18);
  return { ...t, shape: [count, K], read: () => t.read().subarray(start * rowBytes, (start + count) * rowBytes) };
}

/** A Q8_0 / Q4_0 / F16 matrix in specformer's storage of the same kind (format.ts), no values changed. */
function stored(t: GgufTensor): StoredWeight {
  const [N, K] = t.shape as [number, number];
  const nb = K / BLOCK;
  const d = t.read();
  if (t.type === "F16") {
    const bits = new Uint16Array(N * K);
    for (let i = 0; i < bits.length; i++) bits[i] = u16(d, 2 * i);
    return { dtype: "f16", shape: [N, K], bits };
  }
  const scales = new Uint16Array(N * nb);
  if (t.type === "Q8_0") {
    const q = new Int8Array(N * nb * BLOCK);
    for (let b = 0; b < N * nb; b++) {
      scales[b] = u16(d, 34 * b);
      q.set(new Int8Array(d.buffer, d.byteOffset + 34 * b + 2, BLOCK), b * BLOCK);
    }
    return { dtype: "q8", shape: [N, K], blocks: nb, q, scales };
  }
  // block_q4_0's qs[j] holds elements j (low nibble) and j + 16 (high); our word w holds
  // elements 8w..8w + 7, lowest nibble first (fromGgmlQ4_0, without a block's allocations).
  const words = new Uint32Array(N * nb * 4);
  for (let b = 0; b < N * nb; b++) {
    const at = 18 * b + 2;
    scales[b] = u16(d, 18 * b);
    for (let w = 0; w < 2; w++) {
      let lo = 0;
      let hi = 0;
      for (let k = 7; k >= 0; k--) {
        const byte = d[at + 8 * w + k];
        lo = (lo << 4) | (byte & 15);
        hi = (hi << 4) | (byte >>> 4);
      }
      words[4 * b + w] = lo >>> 0;
      words[4 * b + 2 + w] = hi >>> 0;
    }
  }
  return { dtype: "q4", shape: [N, K], blocks: nb, words, scales };
}

/** The file's tensors under Hugging Face names, Q / K rows in Hugging Face's order. */
/**
 * The GGUF architectures read here, by general.architecture: both keep Hugging Face's LLaMA
 * tensor layout (the `llama` name map); llama.cpp's converter permutes Q / K rows for `llama`
 * only (Qwen2 runs ggml's NeoX RoPE, which rotates halves as Hugging Face does).
 */
/**
 * The architectures read, as llama.cpp's converter writes them: `permute`: attn_q / attn_k rows
 * reordered for ggml's interleaved RoPE (the others run NeoX RoPE, rotate-half as Hugging Face);
 * `normPlusOne`: every norm weight stored as 1 + w (Gemma's offsets), so w is read back.
 */
export const GGUF_ARCHS: Record<string, { permute: boolean; families: string; normPlusOne?: boolean }> = {
  llama: { permute: true, families: "Llama, Mistral, TinyLlama" },
  qwen2: { permute: false, families: "Qwen2, Qwen2.5" },
  qwen3: { permute: false, families: "Qwen3" },
  phi3: { permute: false, families: "Phi-3, Phi-3.5" },
  gemma2: { permute: false, families: "Gemma 2", normPlusOne: true },
};

export const ggufArchProblem = (arch: unknown): string | undefined =>
  typeof arch === "string" && arch in GGUF_ARCHS
    ? undefined
    : `GGUF general.architecture is ${JSON.stringify(arch)}; specformer maps ${Object.entries(GGUF_ARCHS)
        .map(([a, v]) => `${a} (${v.families})`)
        .join(", ")} GGUF files`;

function hfTensors(file: GgufFile): Map<string, GgufTensor> {
  const arch = file.metadata["general.architecture"];
  const problem = ggufArchProblem(arch);
  if (problem) throw new WeightsError(problem);
  const { permute, normPlusOne } = GGUF_ARCHS[arch as string];
  const heads = metaNumber(file.metadata, `${arch}.attention.head_count`);
  if (heads === undefined) throw new WeightsError(`GGUF metadata has no ${arch}.attention.head_count`);
  const kvHeads = metaNumber(file.metadata, `${arch}.attention.head_count_kv`) ?? heads;
  const out = new Map<string, GgufTensor>();
  const unknown: string[] = [];
  for (const t of file.tensors.values()) {
    if (t.name === ROPE_FREQS) continue;
    const name = hfName(t.name, arch as string);
    if (name === undefined) {
      unknown.push(t.name);
      continue;
    }
    const permuted = permute ? /\.attn_(q|k)\./.exec(t.name) : null;
    out.set(name, permuted ? unpermute(t, permuted[1] === "q" ? heads : kvHeads) : normPlusOne && /norm\.weight$/.test(t.name) ? minusOne(t) : t);
  }
  if (unknown.length > 0) {
    throw new WeightsError(`GGUF tensor${unknown.length === 1 ? "" : "s"} ${unknown.slice(0, 4).map((n) => JSON.stringify(n)).join(", ")} ${unknown.length === 1 ? "has" : "have"} no ${arch} counterpart`);
  }
  return out;
}

/**
 * rope_freqs is no weight but the file's RoPE scaling (rope-freqs.ts): every RoPE the model
 * applies must give the frequencies it stands for, and a model with RoPE scaling needs it.
 */
function checkRopeFreqs(file: GgufFile, graph: Graph, m: ModelInfo): void {
  const t = file.tensors.get(ROPE_FREQS);
  const ropes = graph.nodes.flatMap((n) => ((n.op === "attention" || n.op === "linear_attention") && n.rope ? [n.rope] : []));
  if (t === undefined) {
    if (ropes.some((r) => r.scaling?.kind === "llama3")) throw new WeightsError(`model ${m.name} has llama3 RoPE scaling but the GGUF file has no rope_freqs tensor; the file may belong to another model`);
    return;
  }
  const factors = ggufF32(t);
  if (ropes.length === 0) throw new WeightsError(`the GGUF file has a rope_freqs tensor (RoPE scaling) but model ${m.name} applies no RoPE; the file may belong to another model`);
  for (const r of ropes) {
    const why = ropeFactorsMismatch(factors, r.dim, r.base, r.scaling);
    if (why !== undefined) throw new WeightsError(`does not match model ${m.name}'s RoPE (base ${r.base}, scaling ${r.scaling ? describeRopeScaling(r.scaling) : "none"}): ${why}`, ROPE_FREQS);
  }
}

/** One native tensor of a GGUF load: its storage, known before its data is made. */
export interface GgufNative {
  name: string;
  shape: number[];
  storage: StorageDType;
  make: () => StoredWeight;
}

/**
 * How each native tensor of model `m` (`graph`: its inference graph, which says how each weight is
 * used) comes from a GGUF file, in layout order; a tensor
 * the model lacks, or one it needs that the file lacks or shapes differently, is a WeightsError
 * naming it. No tensor's data is converted until its `make` runs.
 */
export function ggufNatives(file: GgufFile, m: ModelInfo, graph: Graph, opts: { dtype?: StorageDType } = {}): GgufNative[] {
  const tensors = hfTensors(file);
  const infos = new Map<string, TensorInfo>([...tensors].map(([name, t]) => [name, { name, dtype: "F32", shape: t.shape, begin: 0, end: 0 }]));
  const plan = nameMapPlan("llama", { tensors: infos }, m);
  checkRopeFreqs(file, graph, m);
  const uses = weightUses(graph);
  const planned = opts.dtype === undefined ? undefined : planStorage(graph, opts.dtype);
  const used = new Set(plan.map((s) => s.alt.name));
  const extra = [...tensors.keys()].filter((n) => !used.has(n));
  if (extra.length > 0) throw new WeightsError(`the GGUF file has ${extra.map((n) => JSON.stringify(tensors.get(n)!.name)).join(", ")}, which model ${m.name} does not read (an untied output head for a tied spec?); the file may belong to another model`);
  return plan.map((s) => {
    const t = tensors.get(s.alt.name)!;
    const name = s.native.name;
    const shape = s.native.shape;
    // A contiguous run of rows (a fused tensor's part: Phi-3's q of qkv) keeps the file's blocks too.
    const rows = s.alt.slice === undefined ? undefined : s.alt.slice.block === undefined ? s.alt.slice.start : -1;
    const whole = rows !== -1 && !s.alt.transpose && shape.length === 2 && !uses.other.has(name);
    const keep = whole && ((t.type === "Q4_0" && !uses.embed.has(name)) || t.type === "Q8_0" || t.type === "F16");
    if (keep) return { name, shape, storage: t.type === "Q4_0" ? "q4" : t.type === "Q8_0" ? "q8" : "f16", make: () => stored(rows === undefined ? t : rowRange(t, rows, shape[0])) };
    // A K-quant (or Q4_1 / Q5_x / IQ4) has no storage of its own here: decoded exactly, then
    // stored as `dtype` plans, or q8 (at least as fine as the file's 2–6 bits) when none is asked for.
    const to: StorageDType = t.type in DECODE ? (planned?.get(name) ?? (uses.other.has(name) ? "f32" : "q8")) : "f32";
    return {
      name,
      shape,
      storage: to,
      make: () => {
        const values = nativeValues(ggufF32(t), s);
        return to === "f32" ? values : quantize(values, shape, to, name);
      },
    };
  });
}

/** The whole native weight store of model `m` (its inference graph `graph`) from a GGUF file (ggufNatives, all made). */
export const ggufWeightStore = (file: GgufFile, m: ModelInfo, graph: Graph, opts: { dtype?: StorageDType } = {}): WeightStore =>
  new Map(ggufNatives(file, m, graph, opts).map((n) => [n.name, n.make()]));
