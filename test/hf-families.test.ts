// Hugging Face checkpoints of the families issue 10's language growth made expressible: qwen3
// (q/k norm), gemma2 (layer pattern, sandwich (1 + w) norms, soft-caps, GeGLU-tanh, √d
// embeddings), phi3 (fused qkv_proj / gate_up_proj), gpt_neox (parallel residual, partial
// rotary, per-head fused QKV), Llama-3.x rope_scaling llama3 / linear, qwen2's mixed
// windows, and mamba (MambaForCausalLM: the `ssm` sublayer under HF's names). For each: `import` → check clean → `forward DIR` matches PyTorch within 1e-4 on
// every target → `run DIR --tokens` reproduces PyTorch's greedy continuation; the published
// parameter counts of real configs and the shipped specs come out exactly; configs outside what
// is imported are refused by key.
//
// Fixtures: scripts/make-hf-fixtures.py with the models of scripts/hf-family-models.py (PyTorch,
// written from transformers' modeling_*.py). Real configs: test/fixtures/hf-configs/*.json.

import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createModel } from "../backends/registry.ts";
import { checkFile, checkSource } from "../src/check/check.ts";
import { importCheckpoint } from "../src/import/checkpoint.ts";
import { importConfig, parseConfig } from "../src/import/index.ts";
import { paramCount, weightLayout } from "../src/model/weights-layout.ts";
import { applyNameMap, guessNameMap } from "../src/runtime/name-maps.ts";
import { parseSafetensors, writeSafetensors } from "../src/runtime/safetensors.ts";
import { readCheckpointWeights } from "../src/runtime/checkpoint-dir.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { HF, cli, describeParity, loadDir, parity, relError } from "./helpers/hf.ts";

const tmp = mkdtempSync(join(tmpdir(), "sf-hf-families-"));
process.env.SPECFORMER_CACHE = join(tmp, "cache");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const device = await gpuDevice();
afterAll(() => device?.destroy());

/** Each fixture directory, its model_type, and what its imported spec must say. */
const FIXTURES: Array<[dir: string, family: string, says: RegExp[]]> = [
  ["llama3", "llama", [/position rope\(base = 500000, scaling = llama3\(factor = 8, low_freq_factor = 1, high_freq_factor = 4, original_context = 64\)\)/, /head tied/]],
  ["qwen2-window", "qwen2", [/stack layers × \(full, sliding × 2\) \{/, /layer full \{/, /layer sliding \{/, /window = 5, +# sliding_window \(use_sliding_window; layers 1\.\. by max_window_layers\)/]],
  ["qwen3", "qwen3", [/head_dim = 16, +# head_dim \(not hidden_size \/ heads\)/, /mask = causal, qk_norm = rms\(eps = 1e-6\)\)/, /position rope\(base = 1000000\)/]],
  [
    "gemma2",
    "gemma2",
    [
      /embed tokens\(vocab, d, scale = sqrt\(d\)\)/,
      /stack layers × \(sliding, full\)\(norm = sandwich\) \{/,
      /norm rms\(eps = 1e-6, offset = 1\) +# pre_feedforward_layernorm/,
      /window = window, scale = 0\.2041241452319315, softcap = 4\)/,
      /act = geglu_tanh, bias = false\)/,
      /head tied\(softcap = 20\)/,
    ],
  ],
  ["phi3", "phi3", [/window = 6, +# sliding_window/, /attention self\(heads = heads, kv_heads = kv_heads, mask = causal, window = window\)/, /head linear/]],
  ["gpt_neox", "gpt_neox", [/stack layers × decoder\(residual = parallel\) \{/, /position rope\(base = 10000, fraction = 0\.25\)/, /norm layer\(eps = 1e-5\)/, /bias = true\)/, /head linear +# embed_out/]],
  [
    "mamba",
    "mamba",
    [
      /vocab = 96, +# vocab_size/,
      /input tokens: int\[batch, seq\] +#/,
      /norm rms\(eps = 1e-5\) +# norm \(MambaRMSNorm/,
      /ssm mamba\(state = 8, conv = 4, expand = 2, dt_rank = 2, bias = false, conv_bias = true\)/,
      /time_step_rank "auto" = ceil\(32 \/ 16\)/,
      /head tied +# lm_head shares backbone\.embeddings/,
    ],
  ],
];
const DIRS = FIXTURES.map(([dir]) => dir);

describe("import → check", () => {
  it.each(FIXTURES)("%s (%s): the imported spec checks clean and says what the config does", async (dir, family, says) => {
    const r = await importCheckpoint(`${HF}/${dir}`);
    expect(r.family).toBe(family);
    const c = checkSource(r.text, `${dir}.sf`);
    expect(c.diagnostics).toEqual([]);
    for (const re of says) expect(r.text).toMatch(re);
  });
});

// ---- forward DIR and generation: PyTorch's logits and greedy continuation on every target -------

describeParity("hf-families", DIRS, device);

// The parity checks above can fail: the same weights under a spec missing one of the family's
// features are far outside the tolerance.
describe("each feature matters to the fixture that tests it", () => {
  const drop = (from: RegExp | string, to = "") => (t: string) => t.replace(from, to);
  const ABLATIONS: Array<[dir: string, feature: string, edit: (text: string) => string]> = [
    ["llama3", "rope_scaling llama3", drop(/, scaling = llama3\([^)]*\)/)],
    ["qwen2-window", "the windows of layers 1..", drop(/, window = window/g)],
    ["qwen3", "q/k norm", drop(/, qk_norm = rms\(eps = 1e-6\)/)],
    ["gemma2", "the (1 + w) offset", drop(/, offset = 1/g)],
    ["gemma2", "attention soft-capping", drop(/, softcap = 4/g)],
    ["gemma2", "the layer pattern (a window on every layer)", (t) => t.replace("(sliding, full)", "(sliding)").replace(/\n {4}layer full \{[\s\S]*?\n {4}\}/, "")],
    ["gemma2", "the √d embedding scale", drop(", scale = sqrt(d)")],
    ["phi3", "the sliding window", drop(", window = window")],
    ["gpt_neox", "the parallel residual", drop("(residual = parallel)")],
    ["gpt_neox", "partial rotary", drop(", fraction = 0.25")],
    ["mamba", "the conv bias", drop("conv_bias = true", "conv_bias = false")],
  ];
  it.each(ABLATIONS)("%s without %s: logits off by > 1e-3", async (dir, _, edit) => {
    const { text: full, map } = await importCheckpoint(`${HF}/${dir}`);
    const text = edit(full);
    expect(text).not.toBe(full);
    const m = checkSource(text, `${dir}-ablated.sf`).entry!;
    expect(m).toBeDefined();
    const w = applyNameMap(map, await readCheckpointWeights(`${HF}/${dir}`), m);
    const model = await createModel("reference", m, w, {});
    const p = parity(dir);
    expect(relError(await model.forward(p.tokens, p.opts), p.logits)).toBeGreaterThan(1e-3);
    model.dispose();
  });
});

describe("the CLI on the directories", () => {
  it.each(DIRS)("run %s --tokens: PyTorch's greedy continuation", async (dir) => {
    const p = parity(dir);
    const r = await cli("run", `${HF}/${dir}`, "--tokens", Array.from(p.prompt!).join(","), "--max-tokens", String(p.greedy!.length));
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(Array.from(p.greedy!).join(","));
  });

  it.each(DIRS)("forward %s: the directory's logits match PyTorch", async (dir) => {
    const input = join(tmp, `${dir}.in.safetensors`);
    const output = join(tmp, `${dir}.out.safetensors`);
    const p = parity(dir);
    writeFileSync(input, writeSafetensors([{ name: "tokens", dtype: "I64", shape: [p.batch, p.seq], data: parseSafetensors(readFileSync(`${HF}/parity/${dir}.safetensors`)).raw("input.tokens") }]));
    const r = await cli("forward", `${HF}/${dir}`, "--input", input, "--out", output);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(relError(parseSafetensors(readFileSync(output)).f32("logits"), p.logits)).toBeLessThan(1e-4);
  });
});

// ---- published parameter counts and the shipped specs -------------------------------------------

// test/fixtures/hf-configs/: each model's config.json on the Hugging Face hub, written from
// memory of those files (the architecture values are the published ones; bookkeeping values
// such as transformers_version may differ and do not matter). The counts are the models' own:
// Llama-3.2-1B 1.24B, Gemma-2-2B 2.61B, Phi-3-mini 3.82B, Pythia-160M 162.3M as their cards /
// safetensors metadata give them; Qwen3-0.6B's card says 0.6B (0.44B without embeddings), and
// its config's arithmetic gives 596,049,920 (440,467,456 without the tied table).
const PUBLISHED: Array<[config: string, spec: string, name: string, count: number]> = [
  ["Llama-3.2-1B", "llama3.2-1b.sf", "llama3_2_1b", 1_235_814_400],
  ["Qwen3-0.6B", "qwen3-0.6b.sf", "qwen3_0_6b", 596_049_920],
  ["gemma-2-2b", "gemma2-2b.sf", "gemma2_2b", 2_614_341_888],
  ["Phi-3-mini-4k-instruct", "phi3-mini-4k.sf", "phi3_mini_4k", 3_821_079_552],
  ["pythia-160m", "pythia-160m.sf", "pythia_160m", 162_322_944],
];
const realConfig = (name: string) => readFileSync(`test/fixtures/hf-configs/${name}.json`, "utf8");

// specs/mamba-130m.sf was written by hand with the ssm sublayer, before the importer: the import
// of state-spaces/mamba-130m-hf's config must come to the same model, tensor for tensor.
describe("mamba-130m-hf", () => {
  it("imports to specs/mamba-130m.sf's weight layout and its 129,135,360 parameters", () => {
    const r = importConfig(parseConfig(realConfig("mamba-130m-hf"), "mamba-130m-hf/config.json"), { source: "mamba-130m-hf/config.json", name: "mamba_130m" });
    expect(r.map).toBe("mamba");
    const c = checkSource(r.text, "mamba_130m.sf");
    expect(c.diagnostics).toEqual([]);
    const shipped = checkFile("specs/mamba-130m.sf");
    expect(shipped.diagnostics).toEqual([]);
    expect(paramCount(c.entry!)).toBe(129_135_360);
    expect(weightLayout(c.entry!).map((t) => [t.name, t.shape])).toEqual(weightLayout(shipped.entry!).map((t) => [t.name, t.shape]));
  });
});

describe("published parameter counts", () => {
  it.each(PUBLISHED)("%s: import gives %s with the published count", (config, spec, name, count) => {
    const r = importConfig(parseConfig(realConfig(config), `${config}/config.json`), { source: `${config}/config.json`, name });
    const c = checkSource(r.text, `${name}.sf`);
    expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(paramCount(c.entry!)).toBe(count);
  });

  it.each(PUBLISHED)("%s: specs/%s is that import under its header, checks clean, with the same count", (config, spec, name, count) => {
    const shipped = readFileSync(`specs/${spec}`, "utf8");
    const body = shipped.slice(shipped.indexOf("# Imported by"));
    const hub = /Hugging Face `([^`]+)`/.exec(shipped)![1];
    expect(body).toBe(importConfig(parseConfig(realConfig(config), "config.json"), { source: `${hub} config.json`, name }).text);
    expect(shipped).toContain(`# Parameters: ${count.toLocaleString("en-US")} — `);
    const r = checkFile(`specs/${spec}`);
    expect(r.diagnostics).toEqual([]);
    expect(paramCount(r.entry!)).toBe(count);
  });
});

// ---- config variants: honoured, or refused by key -----------------------------------------------

const fixtureConfig = (dir: string) => JSON.parse(readFileSync(`${HF}/${dir}/config.json`, "utf8")) as Record<string, unknown>;
const imported = (dir: string, edit: (j: Record<string, unknown>) => void): string => {
  const j = fixtureConfig(dir);
  edit(j);
  return importConfig(parseConfig(JSON.stringify(j), `${dir}/config.json`), { source: `${dir}/config.json` }).text;
};
const refusal = (dir: string, edit: (j: Record<string, unknown>) => void): string => {
  try {
    imported(dir, edit);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("imported, not refused");
};

describe("config variants the importers honour", () => {
  const CASES: Array<[string, string, (j: Record<string, unknown>) => void, RegExp]> = [
    ["rope_scaling linear", "llama3", (j) => (j.rope_scaling = { type: "linear", factor: 4 }), /position rope\(base = 500000, scaling = linear\(factor = 4\)\)/],
    ["rope_scaling default", "llama3", (j) => (j.rope_scaling = { rope_type: "default" }), /position rope\(base = 500000\) /],
    ["rope_parameters (newer transformers)", "qwen3", (j) => (delete j.rope_theta, (j.rope_parameters = { rope_type: "linear", factor: 2, rope_theta: 5e5 })), /position rope\(base = 500000, scaling = linear\(factor = 2\)\)/],
    ["qwen2 layer_types alternating", "qwen2-window", (j) => (j.layer_types = ["sliding_attention", "full_attention", "sliding_attention"]), /stack layers × \(sliding, full\) \{/],
    ["qwen2 window on every layer", "qwen2-window", (j) => (j.max_window_layers = 0), /stack layers × decoder \{ +# model\.layers\.N\n[^\n]*\n[^\n]*\n[^\n]*window = window, bias = true/],
    ["qwen3 attention_bias", "qwen3", (j) => (j.attention_bias = true), /mask = causal, bias = true, qk_norm = rms/],
    ["qwen3 without head_dim: Qwen3Config's 128", "qwen3", (j) => delete j.head_dim, /head_dim = 128, +# head_dim \(absent: Qwen3Config's 128\)/],
    ["gemma2 window past the context", "gemma2", (j) => (j.sliding_window = 64), /stack layers × decoder\(norm = sandwich\) \{/],
    ["gemma2 without soft-caps", "gemma2", (j) => ((j.attn_logit_softcapping = null), (j.final_logit_softcapping = null)), /scale = 0\.2041241452319315\)[^\n]*\n(?:.*\n)*  head tied +#/],
    ["gemma2 layer_types", "gemma2", (j) => (j.layer_types = ["full_attention", "sliding_attention", "sliding_attention"]), /stack layers × \(full, sliding × 2\)\(norm = sandwich\)/],
    ["phi3 partial_rotary_factor", "phi3", (j) => (j.partial_rotary_factor = 0.5), /position rope\(base = 10000, fraction = 0\.5\)/],
    ["phi3 without a window", "phi3", (j) => (j.sliding_window = null), /attention self\(heads = heads, kv_heads = kv_heads, mask = causal\)/],
    ["gpt_neox sequential", "gpt_neox", (j) => (j.use_parallel_residual = false), /stack layers × decoder \{/],
    ["gpt_neox rotary_pct rounding down as int(head_size · pct)", "gpt_neox", (j) => (j.rotary_pct = 0.3), /fraction = 0\.25\)/],
    ["gpt_neox rope_theta spelling", "gpt_neox", (j) => (delete j.rotary_emb_base, (j.rope_theta = 20000)), /position rope\(base = 20000, fraction = 0\.25\)/],
    ["gpt_neox tied", "gpt_neox", (j) => (j.tie_word_embeddings = true), /head tied +# embed_out shares embed_in/],
    ["gpt_neox attention_bias false", "gpt_neox", (j) => (j.attention_bias = false), /mask = causal, bias = false\)/],
    ["mamba time_step_rank as an integer", "mamba", (j) => (j.time_step_rank = 5), /# mixer\.\*: [^\n]*d_inner 64\), time_step_rank, use_bias[^\n]*\n +ssm mamba\(state = 8, conv = 4, expand = 2, dt_rank = 5, bias = false, conv_bias = true\)/],
    ["mamba without time_step_rank: \"auto\"", "mamba", (j) => delete j.time_step_rank, /time_step_rank \(absent: "auto"\) = ceil\(32 \/ 16\)[^\n]*\n +ssm mamba\([^\n]*dt_rank = 2, /],
    ["mamba biased projections, no conv bias", "mamba", (j) => ((j.use_bias = true), (j.use_conv_bias = false)), /bias = true, conv_bias = false\)/],
    ["mamba untied", "mamba", (j) => (j.tie_word_embeddings = false), /head linear +# lm_head \(tie_word_embeddings false\)/],
    ["mamba expand 3 without the mamba_ssm keys", "mamba", (j) => (["d_inner", "intermediate_size", "d_model", "n_layer", "rms_norm", "ssm_cfg", "fused_add_norm"].forEach((k) => delete j[k]), (j.expand = 3)), /expand \(d_inner 96\)[^\n]*\n +ssm mamba\(state = 8, conv = 4, expand = 3, dt_rank = 2, /],
    ["mamba use_mambapy and hidden_act swish", "mamba", (j) => ((j.use_mambapy = true), (j.hidden_act = "swish")), /ssm mamba\(state = 8/],
  ];
  it.each(CASES)("%s", (_, dir, edit, re) => {
    const text = imported(dir, edit);
    expect(text).toMatch(re);
    expect(checkSource(text, "variant.sf").diagnostics).toEqual([]);
  });
});

describe("config values outside what is imported: refused naming the key", () => {
  const CASES: Array<[string, string, (j: Record<string, unknown>) => void, RegExp]> = [
    ["rope_scaling yarn", "llama3", (j) => (j.rope_scaling = { rope_type: "yarn", factor: 4, original_max_position_embeddings: 64 }), /config key "rope_scaling" = .*: RoPE scaling of type yarn: YaRN blends/],
    ["rope_scaling dynamic", "qwen3", (j) => (j.rope_scaling = { type: "dynamic", factor: 2 }), /config key "rope_scaling" = .*: RoPE scaling of type dynamic: dynamic NTK/],
    ["phi3 longrope", "phi3", (j) => (j.rope_scaling = { type: "longrope", short_factor: [1], long_factor: [2] }), /config key "rope_scaling" = .*: RoPE scaling of type longrope: longrope \(Phi-3's su scaling\)/],
    ["phi3 su", "phi3", (j) => (j.rope_scaling = { type: "su", short_factor: [1], long_factor: [2] }), /RoPE scaling of type su: su scaling/],
    ["llama3 without its original context", "llama3", (j) => delete (j.rope_scaling as Record<string, unknown>).original_max_position_embeddings, /config key "rope_scaling" = .*: original_max_position_embeddings must be a positive integer/],
    ["a key llama3 scaling does not have", "llama3", (j) => ((j.rope_scaling as Record<string, unknown>).attention_factor = 2), /config key "rope_scaling" = .*: its key "attention_factor" is not one specformer imports for rope_type llama3/],
    ["phi3 remote code of its own", "phi3", (j) => (j.auto_map = { AutoModelForCausalLM: "modeling_custom.MyPhi" }), /config key "auto_map" = .*: names modeling code other than the modeling_phi3\.Phi3ForCausalLM/],
    ["phi3 attention_bias", "phi3", (j) => (j.attention_bias = true), /config key "attention_bias" = true: Phi3Attention's qkv_proj and o_proj have no bias/],
    ["gpt_neox odd rotary channels", "gpt_neox", (j) => (j.rotary_pct = 0.2), /config key "rotary_pct" = 0\.2: must rotate an even number of the 16 channels of a head \(int\(head_size · 0\.2\) = 3\)/],
    ["gpt_neox bases that disagree", "gpt_neox", (j) => (j.rope_theta = 20000), /config key "rope_theta" = 20000: disagrees with rotary_emb_base = 10000/],
    ["gemma2 an activation without a gate", "gemma2", (j) => (j.hidden_activation = "relu"), /config key "hidden_activation" = "relu": Gemma2MLP is act\(gate\(x\)\) · up\(x\)/],
    ["gemma2 layer_types of the wrong length", "gemma2", (j) => (j.layer_types = ["full_attention"]), /config key "layer_types" = .*: expected 3 entries/],
    ["a qwen3 key nobody knows", "qwen3", (j) => (j.use_qk_norm = false), /config key "use_qk_norm" = false: not a key specformer knows for model_type qwen3/],
    ["a relu llama MLP", "llama3", (j) => (j.hidden_act = "relu"), /config key "hidden_act" = "relu": the LLaMA MLP is act\(gate\(x\)\) · up\(x\)/],
    ["a gelu Mamba", "mamba", (j) => (j.hidden_act = "gelu"), /config key "hidden_act" = "gelu": MambaMixer's conv and gate activation; the language's `ssm mamba` uses silu/],
    ["a LayerNorm Mamba", "mamba", (j) => (j.rms_norm = false), /config key "rms_norm" = false: a LayerNorm Mamba/],
    ["mamba_ssm layer options", "mamba", (j) => (j.ssm_cfg = { layer: "Mamba2" }), /config key "ssm_cfg" = \{"layer":"Mamba2"\}: mamba_ssm's per-layer mixer options/],
    ["mamba d_model unlike hidden_size", "mamba", (j) => (j.d_model = 48), /config key "d_model" = 48: mamba_ssm's name for hidden_size, which is 32/],
    ["mamba intermediate_size unlike expand", "mamba", (j) => ((j.intermediate_size = 80), delete j.d_inner), /config key "intermediate_size" = 80: disagrees with expand · hidden_size = 64/],
    ["mamba expand without whole channels", "mamba", (j) => (j.expand = 1.01), /config key "expand" = 1\.01: expand · hidden_size = 32\.32 is not a whole number of channels/],
    ["mamba time_step_rank past d_inner", "mamba", (j) => (j.time_step_rank = 65), /config key "time_step_rank" = 65: larger than d_inner \(64\)/],
    ["mamba without use_bias", "mamba", (j) => delete j.use_bias, /config key "use_bias" is missing \(MambaConfig's default differs between transformers versions/],
    ["a Mamba head other than the LM", "mamba", (j) => (j.architectures = ["MambaModel"]), /config key "architectures" = \["MambaModel"\]: MambaModel is not MambaForCausalLM/],
    ["a mamba key nobody knows", "mamba", (j) => (j.mixer_rms_eps = 1e-6), /config key "mixer_rms_eps" = 0\.000001: not a key specformer knows for model_type mamba/],
    ["Mamba-2", "mamba", (j) => (j.model_type = "mamba2"), /model_type mamba2 is not supported: Mamba-2's SSD mixer/],
  ];
  it.each(CASES)("%s", (_, dir, edit, re) => {
    const message = refusal(dir, edit);
    expect(message).toMatch(new RegExp(`^${dir}/config\\.json: `));
    expect(message).toMatch(re);
  });

  it("through the CLI: one line naming config.json and the key, exit 1", async () => {
    const d = join(tmp, "phi3-longrope");
    cpSync(`${HF}/phi3`, d, { recursive: true });
    const j = fixtureConfig("phi3");
    j.rope_scaling = { type: "longrope", short_factor: [1], long_factor: [2] };
    writeFileSync(join(d, "config.json"), JSON.stringify(j));
    for (const args of [["import", d], ["run", d, "--tokens", "1"]]) {
      const r = await cli(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^specformer: ${d}/config\\.json: config key "rope_scaling" = [^\\n]+: RoPE scaling of type longrope[^\\n]*\\n$`));
    }
  });
});

describe("the name maps on the new layouts", () => {
  it("phi3: a checkpoint without qkv_proj names the tensor it looked for and the fused one", async () => {
    const d = join(tmp, "phi3-renamed");
    cpSync(`${HF}/phi3`, d, { recursive: true });
    const file = join(d, "model.safetensors");
    const src = parseSafetensors(readFileSync(file));
    const renamed = [...src.tensors.values()].map((t) => ({ name: t.name.replace("layers.1.self_attn.qkv_proj", "layers.1.self_attn.qkv"), dtype: t.dtype, shape: t.shape, data: src.raw(t.name) }));
    writeFileSync(join(d, "renamed.safetensors"), writeSafetensors(renamed));
    renameSync(join(d, "renamed.safetensors"), file);
    const r = await cli("run", d, "--tokens", "1", "--max-tokens", "1");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing LLaMA tensor "model\.layers\.1\.self_attn\.q_proj\.weight" \(also tried "layers\.1\.self_attn\.q_proj\.weight", "model\.layers\.1\.self_attn\.qkv_proj\.weight", "layers\.1\.self_attn\.qkv_proj\.weight"\), needed for native tensor "decoder\.1\.attn\.q\.weight"/);
  });

  it("guessNameMap: Phi-3's fused names read as llama, GPT-NeoX's as gpt_neox, Mamba's as mamba", async () => {
    expect(guessNameMap(await readCheckpointWeights(`${HF}/phi3`))).toBe("llama");
    expect(guessNameMap(await readCheckpointWeights(`${HF}/gpt_neox`))).toBe("gpt_neox");
    expect(guessNameMap(await readCheckpointWeights(`${HF}/mamba`))).toBe("mamba");
    expect(guessNameMap(await readCheckpointWeights(`${HF}/gemma2`))).toBe("llama");
  });

  it("a GPT-NeoX checkpoint under the llama map names what it lacks", async () => {
    const { m } = await loadDir(`${HF}/gpt_neox`);
    expect(() => applyNameMap("llama", parseSafetensors(readFileSync(`${HF}/gpt_neox/model.safetensors`)), m)).toThrow(/missing LLaMA tensor "model\.embed_tokens\.weight"/);
  });

  it("gpt_neox: q, k and v come from each head's third of query_key_value", async () => {
    const { m, w } = await loadDir(`${HF}/gpt_neox`);
    const file = await readCheckpointWeights(`${HF}/gpt_neox`);
    const fused = file.f32("gpt_neox.layers.0.attention.query_key_value.weight");
    const d = 64;
    const hd = 16;
    const stack = m.sections[0].steps.find((s) => s.op === "stack")!;
    const name = stack.op === "stack" ? stack.stack.name : "";
    // Head 2's k is rows 2·48 + 16 .. 2·48 + 32 of the fused tensor.
    const k = w.get(`${name}.0.attn.k.weight`)!;
    expect(Array.from(k.subarray(2 * hd * d, 3 * hd * d))).toEqual(Array.from(fused.subarray((2 * 3 * hd + hd) * d, (2 * 3 * hd + 2 * hd) * d)));
  });
});
