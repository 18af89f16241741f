// Hugging Face checkpoint directories (issue 10's first families; the later ones are in
// test/hf-families.test.ts):
// `specformer import` writes a spec from config.json that checks clean; `forward DIR` matches
// PyTorch's logits on every target; `run DIR --tokens` reproduces PyTorch's greedy continuation;
// published parameter counts of real configs come out exactly; bad directories and configs the
// language cannot express are one line naming the file and the key, exit 1.
//
// Fixtures: scripts/make-hf-fixtures.py (Debian's python3-torch) writes test/fixtures/hf/<family>/
// in the layout save_pretrained does (config.json, model.safetensors or shards + index,
// generation_config.json, gpt2 also a byte-level tokenizer.json) with random tiny weights under
// the real tensor names, and test/fixtures/hf/parity/<family>.safetensors with the inputs,
// PyTorch's logits and greedy continuation.

import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkSource } from "../src/check/check.ts";
import { importCheckpoint } from "../src/import/checkpoint.ts";
import { ImportError, importConfig, parseConfig } from "../src/import/index.ts";
import { paramCount } from "../src/model/weights-layout.ts";
import { parseSafetensors } from "../src/runtime/safetensors.ts";
import { gpuDevice } from "./helpers/gpu.ts";
import { HF, cli, describeParity, parity, relError } from "./helpers/hf.ts";

const FAMILIES = ["llama", "mistral", "qwen2", "gpt2", "bert"] as const;
type Family = (typeof FAMILIES)[number];
const CAUSAL = FAMILIES.filter((f) => f !== "bert");
const tmp = mkdtempSync(join(tmpdir(), "sf-hf-import-"));
process.env.SPECFORMER_CACHE = join(tmp, "cache");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const device = await gpuDevice();
afterAll(() => device?.destroy());


// ---- import → check ----------------------------------------------------------------------------

describe("specformer import", () => {
  it.each(FAMILIES)("%s: the imported spec checks clean (no errors, no warnings)", async (f) => {
    const r = await importCheckpoint(`${HF}/${f}`);
    expect(r.family).toBe(f);
    const c = checkSource(r.text, "imported.sf");
    expect(c.diagnostics).toEqual([]);
    expect(c.entry?.name).toBe(f);
    // Readable: every statement line of the body names where it came from.
    expect(r.text).toMatch(/^# Imported by `specformer import` from /);
  });

  it("writes --out, or the spec to stdout; `check` then passes", async () => {
    const file = join(tmp, "llama.sf");
    const a = await cli("import", `${HF}/llama`, "--out", file);
    expect(a.code).toBe(0);
    expect(a.stderr).toBe(`imported LlamaForCausalLM (model_type llama) as model llama: ${file}\n`);
    const b = await cli("import", `${HF}/llama/config.json`);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(readFileSync(file, "utf8"));
    expect((await cli("check", file)).code).toBe(0);
  });

  it("writes what the config says, commented with its keys", async () => {
    const llama = (await importCheckpoint(`${HF}/llama`)).text;
    expect(llama).toContain("head_dim = 16,  # head_dim (not hidden_size / heads)");
    expect(llama).toContain("position rope(base = 500000)");
    expect(llama).toMatch(/attention self\(heads = heads, kv_heads = kv_heads, head_dim = head_dim, mask = causal, bias = true\)/);
    expect(llama).toContain("mlp(hidden = hidden, act = swiglu, bias = true)");
    expect(llama).toMatch(/head tied +# lm_head shares embed_tokens \(tie_word_embeddings\)/);
    const mistral = (await importCheckpoint(`${HF}/mistral`)).text;
    expect(mistral).toMatch(/window = 5, +# sliding_window/);
    expect(mistral).toContain("mask = causal, window = window)");
    expect(mistral).toContain("head linear");
    const qwen = (await importCheckpoint(`${HF}/qwen2`)).text;
    expect(qwen).toContain("bias = true, out_bias = false)");
    expect(qwen).not.toContain("window");
    expect(qwen).toContain("norm rms(eps = 1e-6)");
    const gpt2 = (await importCheckpoint(`${HF}/gpt2`)).text;
    expect(gpt2).toMatch(/hidden = 128, +# n_inner \(null: 4 · n_embd\)/);
    expect(gpt2).toContain("act = gelu_tanh");
    const bert = (await importCheckpoint(`${HF}/bert`)).text;
    expect(bert).toContain("stack layers × encoder(norm = post)");
    expect(bert).toContain("head tied(bias = true, transform = gelu, eps = 1e-12)");
  });
});

// ---- published parameter counts ----------------------------------------------------------------

// Each config is the model's config.json on the Hugging Face hub (HuggingFaceTB/SmolLM-135M,
// TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T, mistralai/Mistral-7B-v0.1,
// Qwen/Qwen2.5-0.5B, openai-community/gpt2, google-bert/bert-base-uncased), written from memory of
// those files: the architecture values are the published ones (they are what the counts check);
// bookkeeping values (transformers_version, token ids) may differ from the files and do not
// matter. The counts are the published figures: SmolLM-135M's 134,515,008 and Qwen2.5-0.5B's
// 494,032,768 (0.49B on its card, 0.36B without embeddings) as the models report them; the others
// as the shipped specs' headers give them (specs/*.sf). BERT counts BertForMaskedLM (no pooler):
// 109,514,298, as specs/bert-base.sf does.
const PUBLISHED: Array<[string, number, Record<string, unknown>]> = [
  [
    "SmolLM-135M",
    134_515_008,
    {
      architectures: ["LlamaForCausalLM"], attention_bias: false, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 0, hidden_act: "silu",
      hidden_size: 576, initializer_range: 0.02, intermediate_size: 1536, is_llama_config: true, max_position_embeddings: 2048, model_type: "llama",
      num_attention_heads: 9, num_hidden_layers: 30, num_key_value_heads: 3, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_interleaved: false,
      rope_scaling: null, rope_theta: 10000.0, tie_word_embeddings: true, torch_dtype: "bfloat16", transformers_version: "4.40.1", use_cache: true, vocab_size: 49152,
    },
  ],
  [
    "TinyLlama-1.1B",
    1_100_048_384,
    {
      architectures: ["LlamaForCausalLM"], bos_token_id: 1, eos_token_id: 2, hidden_act: "silu", hidden_size: 2048, initializer_range: 0.02,
      intermediate_size: 5632, max_position_embeddings: 2048, model_type: "llama", num_attention_heads: 32, num_hidden_layers: 22, num_key_value_heads: 4,
      pretraining_tp: 1, rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 10000.0, tie_word_embeddings: false, torch_dtype: "float32",
      transformers_version: "4.31.0.dev0", use_cache: true, vocab_size: 32000,
    },
  ],
  [
    "Mistral-7B-v0.1",
    7_241_732_096,
    {
      architectures: ["MistralForCausalLM"], bos_token_id: 1, eos_token_id: 2, hidden_act: "silu", hidden_size: 4096, initializer_range: 0.02,
      intermediate_size: 14336, max_position_embeddings: 32768, model_type: "mistral", num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 8,
      rms_norm_eps: 1e-5, rope_theta: 10000.0, sliding_window: 4096, tie_word_embeddings: false, torch_dtype: "bfloat16", transformers_version: "4.34.0.dev0",
      use_cache: true, vocab_size: 32000,
    },
  ],
  [
    "Qwen2.5-0.5B",
    494_032_768,
    {
      architectures: ["Qwen2ForCausalLM"], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: "silu", hidden_size: 896,
      initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24, model_type: "qwen2", num_attention_heads: 14,
      num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true,
      torch_dtype: "bfloat16", transformers_version: "4.40.1", use_cache: true, use_mrope: false, use_sliding_window: false, vocab_size: 151936,
    },
  ],
  [
    "GPT-2",
    124_439_808,
    {
      activation_function: "gelu_new", architectures: ["GPT2LMHeadModel"], attn_pdrop: 0.1, bos_token_id: 50256, embd_pdrop: 0.1, eos_token_id: 50256,
      initializer_range: 0.02, layer_norm_epsilon: 1e-5, model_type: "gpt2", n_ctx: 1024, n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024,
      resid_pdrop: 0.1, summary_activation: null, summary_first_dropout: 0.1, summary_proj_to_labels: true, summary_type: "cls_index", summary_use_proj: true,
      task_specific_params: { "text-generation": { do_sample: true, max_length: 50 } }, vocab_size: 50257,
    },
  ],
  [
    "bert-base-uncased",
    109_514_298,
    {
      architectures: ["BertForMaskedLM"], attention_probs_dropout_prob: 0.1, gradient_checkpointing: false, hidden_act: "gelu", hidden_dropout_prob: 0.1,
      hidden_size: 768, initializer_range: 0.02, intermediate_size: 3072, layer_norm_eps: 1e-12, max_position_embeddings: 512, model_type: "bert",
      num_attention_heads: 12, num_hidden_layers: 12, pad_token_id: 0, position_embedding_type: "absolute", transformers_version: "4.6.0.dev0",
      type_vocab_size: 2, use_cache: true, vocab_size: 30522,
    },
  ],
];

describe("published parameter counts", () => {
  it.each(PUBLISHED)("%s: %i parameters", (name, count, config) => {
    const r = importConfig(parseConfig(JSON.stringify(config), `${name}/config.json`), { source: `${name}/config.json`, name });
    const c = checkSource(r.text, `${name}.sf`);
    expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(paramCount(c.entry!)).toBe(count);
  });
});

// ---- forward DIR: PyTorch's logits on every target ----------------------------------------------

describeParity("hf-import", FAMILIES, device);

describe("the CLI on directories", () => {
  it.each(FAMILIES)("forward %s: the directory's logits match PyTorch (reference)", async (f) => {
    const src = parseSafetensors(readFileSync(`${HF}/parity/${f}.safetensors`));
    const { writeSafetensors } = await import("../src/runtime/safetensors.ts");
    const inputs = [...src.tensors.values()]
      .filter((t) => t.name.startsWith("input."))
      .map((t) => ({ name: t.name.slice("input.".length), dtype: t.dtype, shape: t.shape, data: src.raw(t.name) }));
    const input = join(tmp, `${f}.in.safetensors`);
    const output = join(tmp, `${f}.out.safetensors`);
    writeFileSync(input, writeSafetensors(inputs));
    const r = await cli("forward", `${HF}/${f}`, "--input", input, "--out", output);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(relError(parseSafetensors(readFileSync(output)).f32("logits"), parity(f).logits)).toBeLessThan(1e-4);
  });

  it.each(CAUSAL)("run %s --tokens: PyTorch's greedy continuation", async (f) => {
    const p = parity(f);
    const r = await cli("run", `${HF}/${f}`, "--tokens", Array.from(p.prompt!).join(","), "--max-tokens", String(p.greedy!.length));
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(Array.from(p.greedy!).join(","));
    expect(r.stderr).toContain(`stopped: --max-tokens ${p.greedy!.length} reached`);
  });

  it("run gpt2 --prompt: the directory's tokenizer encodes the prompt and decodes the continuation", async () => {
    const p = parity("gpt2");
    const { loadTokenizer } = await import("../src/runtime/tokenizers/load.ts");
    const tok = await loadTokenizer(`${HF}/gpt2`);
    expect(Array.from(tok.encodePrompt("the cat"))).toEqual(Array.from(p.prompt!));
    const r = await cli("run", `${HF}/gpt2`, "--prompt", "the cat", "--max-tokens", String(p.greedy!.length));
    expect(r.stderr).toMatch(/^stopped: /);
    expect(r.code).toBe(0);
    // The model's vocabulary (300) is padded past the tokenizer's (265): those ids decode to nothing.
    expect(p.greedy!.some((id) => id >= tok.vocab)).toBe(true);
    expect(r.stdout).toBe(`the cat${tok.decode(Array.from(p.greedy!).filter((id) => id < tok.vocab), { skipSpecial: true })}\n`);
  });

  it("--weights DIR with a spec: the shards under their Hugging Face names", async () => {
    const spec = join(tmp, "mistral.sf");
    writeFileSync(spec, (await importCheckpoint(`${HF}/mistral`)).text);
    const p = parity("mistral");
    const r = await cli("run", spec, "--weights", `${HF}/mistral`, "--tokens", Array.from(p.prompt!).join(","), "--max-tokens", "4");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(Array.from(p.greedy!.slice(0, 4)).join(","));
  });

  it("a spec without --weights is still a usage error (exit 2)", async () => {
    const r = await cli("run", "specs/tiny-llama.sf", "--tokens", "1");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("specformer: required option '--weights <file>' not specified\n");
  });

  it("run on BERT: an encoder-only model cannot generate (exit 1)", async () => {
    const r = await cli("run", `${HF}/bert`, "--tokens", "1,2");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^specformer: model bert cannot generate: its self-attention is bidirectional/);
  });
});

// ---- refusals and bad directories ---------------------------------------------------------------

let copies = 0;
/** A copy of a fixture directory to break. */
function copy(f: Family): string {
  const d = join(tmp, `${f}-${copies++}`);
  cpSync(`${HF}/${f}`, d, { recursive: true });
  return d;
}
function editJson(file: string, edit: (j: Record<string, unknown>) => void): void {
  const j = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  edit(j);
  writeFileSync(file, JSON.stringify(j));
}
const config = (f: Family, edit: (j: Record<string, unknown>) => void) => {
  const d = copy(f);
  editJson(join(d, "config.json"), edit);
  return d;
};

describe("configs the language cannot express: one line naming the model_type or key, exit 1", () => {
  const CASES: Array<[string, () => string, RegExp]> = [
    ["gemma3", () => config("llama", (j) => (j.model_type = "gemma3")), /model_type gemma3 is not supported: Gemma-3 rotates its sliding and global layers at different RoPE bases/],
    ["phi", () => config("llama", (j) => (j.model_type = "phi")), /model_type phi is not supported: Phi-1\/2 run attention and the MLP in parallel off one shared LayerNorm/],
    ["an unknown model_type", () => config("llama", (j) => (j.model_type = "frobnitz")), /model_type "frobnitz" is not one specformer imports \(supported: llama, mistral, qwen2, qwen3, phi3, gemma2, gpt2, gpt_neox, bert, mamba\)/],
    ["yarn rope_scaling", () => config("llama", (j) => (j.rope_scaling = { rope_type: "yarn", factor: 4 })), /config key "rope_scaling" = .*: RoPE scaling of type yarn: YaRN blends interpolated and extrapolated frequencies/],
    ["an unknown key", () => config("mistral", (j) => (j.use_fancy_attention = true)), /config key "use_fancy_attention" = true: not a key specformer knows for model_type mistral; it may change the architecture/],
    ["sliding layer_types without a window", () => config("qwen2", (j) => (j.layer_types = ["sliding_attention", "full_attention"])), /config key "layer_types" = .*: names sliding-attention layers, but the config sets no sliding_window/],
    ["interleaved RoPE", () => config("llama", (j) => (j.rope_interleaved = true)), /config key "rope_interleaved" = true: interleaved \(GPT-J style\) RoPE/],
    ["a relu llama MLP", () => config("llama", (j) => (j.hidden_act = "relu")), /config key "hidden_act" = "relu": the LLaMA MLP is act\(gate\(x\)\) · up\(x\); the language has that gate for silu \(swiglu\), gelu \(geglu\)/],
    ["GPT-2 scaled by layer", () => config("gpt2", (j) => (j.scale_attn_by_inverse_layer_idx = true)), /config key "scale_attn_by_inverse_layer_idx" = true/],
    ["relative BERT positions", () => config("bert", (j) => (j.position_embedding_type = "relative_key")), /config key "position_embedding_type" = "relative_key": relative position embeddings/],
    ["a classification head", () => config("llama", (j) => (j.architectures = ["LlamaForSequenceClassification"])), /config key "architectures" = \["LlamaForSequenceClassification"\]: LlamaForSequenceClassification is not LlamaForCausalLM/],
    ["quantised weights", () => config("llama", (j) => (j.quantization_config = { quant_method: "gptq", bits: 4 })), /config key "quantization_config" = .*: the checkpoint has quantised weights/],
    ["a decoder BERT", () => config("bert", (j) => (j.is_decoder = true)), /config key "is_decoder" = true: the checkpoint has a decoder variant/],
  ];

  it.each(CASES)("%s", async (_, make, message) => {
    const d = make();
    for (const args of [["import", d], ["run", d, "--tokens", "1"], ["forward", d, "--input", "x", "--out", join(tmp, "o")]]) {
      const r = await cli(...args);
      expect(r.stderr).toMatch(/^specformer: [^\n]+\n$/);
      expect(r.stderr).toContain(`${join(d, "config.json")}: `);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(1);
    }
  });

  it("a qwen2 window on every layer (max_window_layers 0) is a window, not a refusal", async () => {
    const d = config("qwen2", (j) => ((j.use_sliding_window = true), (j.max_window_layers = 0), (j.sliding_window = 4)));
    const r = await importCheckpoint(d);
    expect(r.text).toMatch(/window = 4, +# sliding_window \(use_sliding_window, every layer\)/);
    expect(checkSource(r.text, "q.sf").diagnostics).toEqual([]);
  });

  it("ImportError carries the file and the problem", () => {
    const e = (() => {
      try {
        parseConfig("{", "x/config.json");
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ImportError);
    expect((e as ImportError).file).toBe("x/config.json");
  });
});

describe("bad directories: one line naming the file and the problem", () => {
  const shard2 = "model-00002-of-00002.safetensors";
  const CASES: Array<[string, () => string, RegExp, 1 | 2]> = [
    [
      "a missing shard",
      () => {
        const d = copy("llama");
        rmSync(join(d, shard2));
        return d;
      },
      new RegExp(`/${shard2}: missing \\(model\\.safetensors\\.index\\.json lists \\d+ tensors in it, e\\.g\\. "model\\.`),
      1,
    ],
    [
      "a truncated shard",
      () => {
        const d = copy("llama");
        truncateSync(join(d, shard2), 50_000);
        return d;
      },
      new RegExp(`/${shard2}: tensor "[^"]+": data_offsets \\[\\d+, \\d+\\] extend past the end of the \\d+-byte data section; the file may be truncated`),
      1,
    ],
    [
      "a tensor listed in the index but absent from its shard",
      () => {
        const d = copy("llama");
        editJson(join(d, "model.safetensors.index.json"), (j) => ((j.weight_map as Record<string, string>)["model.layers.1.mlp.extra.weight"] = shard2));
        return d;
      },
      new RegExp(`/${shard2}: does not hold tensor "model\\.layers\\.1\\.mlp\\.extra\\.weight", which model\\.safetensors\\.index\\.json places in it`),
      1,
    ],
    [
      "an index whose total_size disagrees with the shards",
      () => {
        const d = copy("llama");
        editJson(join(d, "model.safetensors.index.json"), (j) => ((j.metadata as Record<string, number>).total_size += 4));
        return d;
      },
      /model\.safetensors\.index\.json: metadata\.total_size is \d+ bytes, but the tensors it lists take \d+ bytes in the shards/,
      1,
    ],
    [
      "an index that does not parse",
      () => {
        const d = copy("llama");
        writeFileSync(join(d, "model.safetensors.index.json"), '{"weight_map": ');
        return d;
      },
      /model\.safetensors\.index\.json: does not parse as JSON/,
      1,
    ],
    [
      "an index without a weight_map",
      () => {
        const d = copy("llama");
        writeFileSync(join(d, "model.safetensors.index.json"), '{"metadata": {}}');
        return d;
      },
      /model\.safetensors\.index\.json: has no "weight_map" object/,
      1,
    ],
    [
      "a shard of another model",
      () => {
        const d = copy("llama");
        copyFileSync(`${HF}/mistral/model.safetensors`, join(d, shard2));
        return d;
      },
      new RegExp(`/${shard2}: does not hold tensor`),
      1,
    ],
    [
      "no weights",
      () => {
        const d = join(tmp, `noweights-${copies++}`);
        mkdirSync(d);
        copyFileSync(`${HF}/gpt2/config.json`, join(d, "config.json"));
        return d;
      },
      /: has no weights: no model\.safetensors and no model\.safetensors\.index\.json$/,
      1,
    ],
    [
      "only a pytorch_model.bin",
      () => {
        const d = join(tmp, `pickle-${copies++}`);
        mkdirSync(d);
        copyFileSync(`${HF}/gpt2/config.json`, join(d, "config.json"));
        writeFileSync(join(d, "pytorch_model.bin"), "PK");
        return d;
      },
      /: holds pytorch_model\.bin \(a PyTorch pickle\), which specformer does not read/,
      1,
    ],
    [
      "a model.safetensors that is not safetensors",
      () => {
        const d = copy("gpt2");
        writeFileSync(join(d, "model.safetensors"), "not safetensors at all");
        return d;
      },
      /\/model\.safetensors: header length \d+ is not below 2\^53|\/model\.safetensors: header length/,
      1,
    ],
    [
      "no config.json",
      () => {
        const d = join(tmp, `noconfig-${copies++}`);
        mkdirSync(d);
        return d;
      },
      /: has no config\.json, so it is not a Hugging Face checkpoint directory$/,
      1,
    ],
    [
      "a config.json that does not parse",
      () => {
        const d = copy("gpt2");
        writeFileSync(join(d, "config.json"), "{ not json");
        return d;
      },
      /\/config\.json: does not parse as JSON/,
      1,
    ],
    [
      "a config.json without model_type",
      () => config("gpt2", (j) => delete j.model_type),
      /\/config\.json: has no "model_type" key/,
      1,
    ],
    ["a path that does not exist", () => join(tmp, "no-such-dir"), /cannot read \S+no-such-dir: no such file$/, 2],
  ];

  it.each(CASES)("%s", async (_, make, message, code) => {
    const d = make();
    const r = await cli("run", d, "--tokens", "1,2,3", "--max-tokens", "1");
    expect(r.stderr).toMatch(/^specformer: [^\n]+\n$/);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.code).toBe(code);
  });

  it("a tokenizer.json that does not parse (run --prompt): exit 1 naming it", async () => {
    const d = copy("gpt2");
    writeFileSync(join(d, "tokenizer.json"), "{");
    const r = await cli("run", d, "--prompt", "the");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^specformer: ${d}/tokenizer\\.json: does not parse as JSON`));
  });

  it("a tokenizer with more ids than the model's vocabulary is refused", async () => {
    const d = copy("gpt2");
    editJson(join(d, "config.json"), (j) => (j.vocab_size = 200));
    // The embedding table must match the new vocab for the weights; the tokenizer check comes first.
    const r = await cli("run", d, "--prompt", "the");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^specformer: .*: the tokenizer has 265 ids but model gpt2_\d+ has vocab 200; ids past the vocabulary would index past the embedding table\n$/);
  });

  it("--tokens needs no tokenizer: a directory without one runs", async () => {
    const d = copy("mistral");
    const r = await cli("run", d, "--tokens", "1,2", "--max-tokens", "1");
    expect(r.code).toBe(0);
  });
});
