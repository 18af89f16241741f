// Name maps on the PyTorch fixtures (test/fixtures, made by scripts/make-fixtures.py): every
// native tensor comes out with its shape and the right values, prefix variants load the same,
// and a missing or mis-shaped tensor is a WeightsError naming the PyTorch and the native tensor.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkFile } from "../src/check/check.ts";
import type { ModelInfo } from "../src/model/model.ts";
import { numel, weightLayout } from "../src/model/weights-layout.ts";
import { bindWeights } from "../src/runtime/bind-weights.ts";
import { applyNameMap, guessNameMap, type MapName } from "../src/runtime/name-maps.ts";
import { WeightsError, parseSafetensors, writeSafetensors, type SafetensorsFile, type TensorToWrite } from "../src/runtime/safetensors.ts";

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

function spec(name: string): ModelInfo {
  const r = checkFile(root(`specs/${name}.sf`));
  if (!r.entry) throw new Error(`specs/${name}.sf does not check`);
  return r.entry;
}

function fixture(name: string): SafetensorsFile {
  return parseSafetensors(readFileSync(root(`test/fixtures/${name}.safetensors`)));
}

const isData = (n: string) => n.startsWith("input.") || n.startsWith("expected.");

/** The fixture's weight tensors, edited, as a new file (raw bytes, so dtypes are kept). */
function rebuild(file: SafetensorsFile, edit: (ts: TensorToWrite[]) => TensorToWrite[] = (ts) => ts): SafetensorsFile {
  const ts = [...file.tensors.values()]
    .filter((t) => !isData(t.name))
    .map((t): TensorToWrite => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: file.raw(t.name) }));
  return parseSafetensors(writeSafetensors(edit(ts)));
}

const without = (name: string) => (ts: TensorToWrite[]) => {
  expect(ts.some((t) => t.name === name), `fixture has ${name}`).toBe(true);
  return ts.filter((t) => t.name !== name);
};

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

/** Row-major 2-D view helpers. */
const at2 = (a: Float32Array, cols: number, r: number, c: number) => a[r * cols + c];

const MAPPED: Array<[string, MapName]> = [
  ["tiny-torch-encoder", "torch"],
  ["tiny-torch-transformer", "torch"],
  ["tiny-gpt2", "gpt2"],
  ["tiny-llama", "llama"],
];

describe("applyNameMap on the PyTorch-named fixtures", () => {
  it.each(MAPPED)("%s (%s map): every native tensor, in layout order, with its shape", (name, map) => {
    const m = spec(name);
    const w = applyNameMap(map, fixture(name), m);
    const layout = weightLayout(m);
    expect([...w.keys()]).toEqual(layout.map((t) => t.name));
    for (const t of layout) {
      const data = w.get(t.name)!;
      expect(data, t.name).toBeInstanceOf(Float32Array);
      expect(data.length, `${t.name} ${JSON.stringify(t.shape)}`).toBe(numel(t.shape));
      expect(data.every(Number.isFinite), t.name).toBe(true);
    }
    // bindWeights accepts the map's output as is.
    expect([...bindWeights(m, fixture(name), { map: (f, mi) => applyNameMap(map, f, mi) }).keys()]).toEqual(layout.map((t) => t.name));
  });

  it("gpt2: splits c_attn into q/k/v and transposes every Conv1D weight", () => {
    const m = spec("tiny-gpt2");
    const f = fixture("tiny-gpt2");
    const w = applyNameMap("gpt2", f, m);
    const d = 32;
    const cAttn = f.f32("h.1.attn.c_attn.weight"); // [d, 3d], Conv1D [in, out]
    const cAttnB = f.f32("h.1.attn.c_attn.bias");
    for (const [proj, off] of [["q", 0], ["k", d], ["v", 2 * d]] as const) {
      const nat = w.get(`decoder.1.attn.${proj}.weight`)!; // [d, d], [out, in]
      for (const [o, i] of [[0, 0], [3, 17], [d - 1, 5], [12, d - 1]]) {
        expect(at2(nat, d, o, i), `${proj}[${o}, ${i}]`).toBe(at2(cAttn, 3 * d, i, off + o));
      }
      expect(w.get(`decoder.1.attn.${proj}.bias`)).toEqual(cAttnB.slice(off, off + d));
    }
    const cFc = f.f32("h.0.mlp.c_fc.weight"); // [d, 4d]
    const up = w.get("decoder.0.mlp.up.weight")!; // [4d, d]
    expect(at2(up, d, 100, 7)).toBe(at2(cFc, 4 * d, 7, 100));
    const cProj = f.f32("h.0.mlp.c_proj.weight"); // [4d, d]
    const down = w.get("decoder.0.mlp.down.weight")!; // [d, 4d]
    expect(at2(down, 4 * d, 7, 100)).toBe(at2(cProj, d, 100, 7));
    expect(w.get("embed.tokens.weight")).toEqual(f.f32("wte.weight"));
    expect(w.get("position.weight")).toEqual(f.f32("wpe.weight"));
    expect(w.get("decoder.0.attn_norm.bias")).toEqual(f.f32("h.0.ln_1.bias"));
    expect(w.get("decoder.1.mlp_norm.weight")).toEqual(f.f32("h.1.ln_2.weight"));
    expect(w.get("norm.0.weight")).toEqual(f.f32("ln_f.weight"));
    expect(w.has("head.weight")).toBe(false); // tied to wte
  });

  it("llama: copies q/k/v/o, gate/up/down and the norms; GQA k/v keep their kv width", () => {
    const m = spec("tiny-llama");
    const f = fixture("tiny-llama");
    const w = applyNameMap("llama", f, m);
    expect(w.get("decoder.1.attn.q.weight")).toEqual(f.f32("model.layers.1.self_attn.q_proj.weight"));
    expect(w.get("decoder.1.attn.k.weight")).toEqual(f.f32("model.layers.1.self_attn.k_proj.weight"));
    expect(w.get("decoder.1.attn.k.weight")!.length).toBe(16 * 32); // 2 kv heads × 8
    expect(w.get("decoder.0.mlp.gate.weight")).toEqual(f.f32("model.layers.0.mlp.gate_proj.weight"));
    expect(w.get("decoder.0.attn_norm.weight")).toEqual(f.f32("model.layers.0.input_layernorm.weight"));
    expect(w.get("decoder.0.mlp_norm.weight")).toEqual(f.f32("model.layers.0.post_attention_layernorm.weight"));
    expect(w.get("norm.0.weight")).toEqual(f.f32("model.norm.weight"));
    expect(w.get("head.weight")).toEqual(f.f32("lm_head.weight"));
  });

  it("torch: splits in_proj into q/k/v rows; norm1/2/3, linear1/2, final norms, embeddings, generator", () => {
    const m = spec("tiny-torch-transformer");
    const f = fixture("tiny-torch-transformer");
    const w = applyNameMap("torch", f, m);
    const d = 32;
    const p = "transformer.decoder.layers.1.";
    const inProj = f.f32(`${p}multihead_attn.in_proj_weight`); // [3d, d]
    const inBias = f.f32(`${p}multihead_attn.in_proj_bias`);
    for (const [proj, off] of [["q", 0], ["k", d], ["v", 2 * d]] as const) {
      expect(w.get(`decoder.decoder_layer.1.cross_attn.${proj}.weight`)).toEqual(inProj.slice(off * d, (off + d) * d));
      expect(w.get(`decoder.decoder_layer.1.cross_attn.${proj}.bias`)).toEqual(inBias.slice(off, off + d));
    }
    expect(w.get("decoder.decoder_layer.1.attn.o.weight")).toEqual(f.f32(`${p}self_attn.out_proj.weight`));
    expect(w.get("decoder.decoder_layer.1.attn_norm.weight")).toEqual(f.f32(`${p}norm1.weight`));
    expect(w.get("decoder.decoder_layer.1.cross_attn_norm.weight")).toEqual(f.f32(`${p}norm2.weight`));
    expect(w.get("decoder.decoder_layer.1.mlp_norm.bias")).toEqual(f.f32(`${p}norm3.bias`));
    expect(w.get("decoder.decoder_layer.1.mlp.up.weight")).toEqual(f.f32(`${p}linear1.weight`));
    expect(w.get("decoder.decoder_layer.1.mlp.down.bias")).toEqual(f.f32(`${p}linear2.bias`));
    expect(w.get("encoder.encoder_layer.0.mlp_norm.weight")).toEqual(f.f32("transformer.encoder.layers.0.norm2.weight"));
    expect(w.get("encoder.norm.0.weight")).toEqual(f.f32("transformer.encoder.norm.weight"));
    expect(w.get("decoder.norm.0.bias")).toEqual(f.f32("transformer.decoder.norm.bias"));
    expect(w.get("encoder.embed.src_tokens.weight")).toEqual(f.f32("src_tok_emb.embedding.weight"));
    expect(w.get("decoder.embed.tokens.weight")).toEqual(f.f32("tgt_tok_emb.embedding.weight"));
    expect(w.get("head.weight")).toEqual(f.f32("generator.weight"));
    expect(w.get("head.bias")).toEqual(f.f32("generator.bias"));

    const e = applyNameMap("torch", fixture("tiny-torch-encoder"), spec("tiny-torch-encoder"));
    const fe = fixture("tiny-torch-encoder");
    expect(e.get("embed.tokens.weight")).toEqual(fe.f32("embedding.weight"));
    expect(e.get("position.weight")).toEqual(fe.f32("pos_embedding.weight"));
    expect(e.get("encoder.1.attn.k.weight")).toEqual(fe.f32("encoder.layers.1.self_attn.in_proj_weight").slice(d * d, 2 * d * d));
  });

  it("torch: reads q/k/v_proj_weight when nn.MultiheadAttention keeps separate projections", () => {
    const m = spec("tiny-torch-encoder");
    const f = fixture("tiny-torch-encoder");
    const d = 32;
    const split = rebuild(f, (ts) =>
      ts.flatMap((t) => {
        if (!t.name.endsWith("self_attn.in_proj_weight")) return [t];
        const all = f.f32(t.name);
        const base = t.name.replace("in_proj_weight", "");
        return ["q", "k", "v"].map((p, i) => ({ name: `${base}${p}_proj_weight`, dtype: "F32" as const, shape: [d, d], data: all.slice(i * d * d, (i + 1) * d * d) }));
      }),
    );
    expect(applyNameMap("torch", split, m)).toEqual(applyNameMap("torch", f, m));
  });
});

describe("optional prefixes load the same weights", () => {
  it("gpt2: GPT2LMHeadModel names (`transformer.` prefix, a tied lm_head.weight present)", () => {
    const m = spec("tiny-gpt2");
    const f = fixture("tiny-gpt2");
    const prefixed = rebuild(f, (ts) => [
      ...ts.map((t) => ({ ...t, name: `transformer.${t.name}` })),
      { name: "lm_head.weight", dtype: "F32" as const, shape: [101, 32], data: f.f32("wte.weight") },
    ]);
    expect(applyNameMap("gpt2", prefixed, m)).toEqual(applyNameMap("gpt2", f, m));
  });

  it("llama: LlamaModel names (no `model.` prefix)", () => {
    const m = spec("tiny-llama");
    const f = fixture("tiny-llama");
    const bare = rebuild(f, (ts) => ts.map((t) => ({ ...t, name: t.name.replace(/^model\./, "") })));
    expect(bare.tensors.has("layers.0.self_attn.q_proj.weight")).toBe(true);
    expect(applyNameMap("llama", bare, m)).toEqual(applyNameMap("llama", f, m));
  });

  it("torch: nn.Transformer state_dict names without the tutorial's `transformer.` prefix, and the encoder with one", () => {
    const m = spec("tiny-torch-transformer");
    const f = fixture("tiny-torch-transformer");
    const bare = rebuild(f, (ts) => ts.map((t) => ({ ...t, name: t.name.replace(/^transformer\./, "") })));
    expect(bare.tensors.has("encoder.layers.0.self_attn.in_proj_weight")).toBe(true);
    expect(applyNameMap("torch", bare, m)).toEqual(applyNameMap("torch", f, m));

    const me = spec("tiny-torch-encoder");
    const fe = fixture("tiny-torch-encoder");
    const prefixed = rebuild(fe, (ts) => ts.map((t) => ({ ...t, name: t.name.startsWith("encoder.") ? `transformer.${t.name}` : t.name })));
    expect(applyNameMap("torch", prefixed, me)).toEqual(applyNameMap("torch", fe, me));
  });
});

describe("errors name the PyTorch tensor and the native one", () => {
  it.each([
    ["tiny-gpt2", "gpt2", "h.1.ln_2.bias", "decoder.1.mlp_norm.bias"],
    ["tiny-gpt2", "gpt2", "h.0.attn.c_attn.weight", "decoder.0.attn.q.weight"],
    ["tiny-gpt2", "gpt2", "wpe.weight", "position.weight"],
    ["tiny-llama", "llama", "model.layers.0.self_attn.k_proj.weight", "decoder.0.attn.k.weight"],
    ["tiny-llama", "llama", "lm_head.weight", "head.weight"],
    ["tiny-llama", "llama", "model.norm.weight", "norm.0.weight"],
    ["tiny-torch-transformer", "torch", "transformer.decoder.layers.1.norm3.weight", "decoder.decoder_layer.1.mlp_norm.weight"],
    ["tiny-torch-transformer", "torch", "transformer.encoder.norm.bias", "encoder.norm.0.bias"],
    ["tiny-torch-transformer", "torch", "tgt_tok_emb.embedding.weight", "decoder.embed.tokens.weight"],
    ["tiny-torch-encoder", "torch", "generator.bias", "head.bias"],
  ] as const)("%s without %s", (name, map, missing, native) => {
    const e = thrown(() => applyNameMap(map, rebuild(fixture(name), without(missing)), spec(name)));
    expect(e).toBeInstanceOf(WeightsError);
    expect((e as WeightsError).tensor).toBe(missing);
    expect(e.message).toContain(`"${missing}"`);
    expect(e.message).toContain(`"${native}"`);
  });

  it("a missing prefixed-or-not tensor lists both spellings", () => {
    const e = thrown(() => applyNameMap("gpt2", rebuild(fixture("tiny-gpt2"), without("h.1.ln_2.bias")), spec("tiny-gpt2")));
    expect(e.message).toBe(
      'missing GPT-2 tensor "h.1.ln_2.bias" (also tried "transformer.h.1.ln_2.bias"), needed for native tensor "decoder.1.mlp_norm.bias" [32]',
    );
  });

  it("a Conv1D weight stored [out, in] instead of [in, out]", () => {
    const f = rebuild(fixture("tiny-gpt2"), (ts) => ts.map((t) => (t.name === "h.0.attn.c_attn.weight" ? { ...t, shape: [96, 32] } : t)));
    const e = thrown(() => applyNameMap("gpt2", f, spec("tiny-gpt2")));
    expect(e).toBeInstanceOf(WeightsError);
    expect(e.message).toBe(
      'tensor "h.0.attn.c_attn.weight": expected shape [32, 96] (fused, stored [in, out]) for native tensor "decoder.0.attn.q.weight" [32, 32], found [96, 32]',
    );
  });

  it("a k_proj without grouped-query heads for a GQA spec", () => {
    const f0 = fixture("tiny-llama");
    const f = rebuild(f0, (ts) =>
      ts.map((t) => (t.name === "model.layers.1.self_attn.k_proj.weight" ? { ...t, shape: [32, 32], data: new Float32Array(32 * 32) } : t)),
    );
    const e = thrown(() => applyNameMap("llama", f, spec("tiny-llama")));
    expect(e).toBeInstanceOf(WeightsError);
    expect((e as WeightsError).tensor).toBe("model.layers.1.self_attn.k_proj.weight");
    expect(e.message).toContain('native tensor "decoder.1.attn.k.weight" [16, 32], found [32, 32]');
  });

  it("an architecture the convention cannot express", () => {
    // SwiGLU under GPT-2 names; post-norm under LLaMA names; an embedding LayerNorm has no ln_* of its own.
    expect(() => applyNameMap("gpt2", fixture("tiny-llama"), spec("tiny-llama"))).toThrow(/gated \(swiglu\) MLP/);
    expect(() => applyNameMap("llama", fixture("tiny-torch-encoder"), spec("tiny-torch-encoder"))).toThrow(/post-norm/);
    const e = thrown(() => applyNameMap("gpt2", fixture("tiny-gpt2"), spec("tiny-alibi")));
    expect(e).toBeInstanceOf(WeightsError);
    expect(e.message).toContain('no GPT-2 counterpart for native tensor "norm.0.weight" [40]');
    // LLaMA has no learned positions.
    expect(() => applyNameMap("llama", fixture("tiny-gpt2"), spec("tiny-gpt2"))).toThrow(/no LLaMA counterpart for native tensor "position\.weight"/);
    // Wrong convention for the file: the first tensor the model needs is reported missing.
    expect(() => applyNameMap("torch", fixture("tiny-gpt2"), spec("tiny-gpt2"))).toThrow(/^missing torch\.nn tensor "embedding\.weight", needed for native tensor "embed\.tokens\.weight"/);
  });
});

describe("natively named fixtures", () => {
  it.each(["tiny-window", "tiny-linear", "tiny-alibi"])("%s holds exactly weightLayout's tensors", (name) => {
    const m = spec(name);
    const f = fixture(name);
    const layout = weightLayout(m);
    const weights = [...f.tensors.values()].filter((t) => !isData(t.name));
    expect(weights.map((t) => t.name).sort()).toEqual(layout.map((t) => t.name).sort());
    for (const t of layout) expect(f.get(t.name).shape, t.name).toEqual(t.shape);
    expect(guessNameMap(f)).toBeUndefined();
    expect(bindWeights(m, rebuild(f)).size).toBe(layout.length);
  });
});

describe("guessNameMap", () => {
  it.each(MAPPED)("%s looks like %s", (name, map) => {
    expect(guessNameMap(fixture(name))).toBe(map);
  });
});
