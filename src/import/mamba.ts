/**
 * `mamba`: transformers' modeling_mamba.py (MambaForCausalLM, the `state-spaces/mamba-*-hf`
 * checkpoints). A stack of MambaBlocks, x + mixer(RMSNorm(x)), each mixer Mamba-1's selective
 * scan as MambaMixer parameterises it (in_proj, causal depthwise conv1d, x_proj to (dt, B, C),
 * dt_proj, A_log, D, out_proj) — the language's `ssm mamba(…)`; then norm_f and the head, tied
 * to the embeddings unless the config says otherwise. No positions: the recurrence orders tokens.
 *
 * The -hf configs carry keys of mamba_ssm's own config (d_model, n_layer, d_inner, rms_norm,
 * fused_add_norm, ssm_cfg, pad_vocab_size_multiple) that transformers keeps as attributes but
 * never reads; they are accepted where they agree with what it does read.
 */
import type { Config } from "./config.ts";
import { ImportError, isObject } from "./config.ts";
import { dims, type FamilyImport } from "./family.ts";
import { num, type SpecWriter } from "./spec-text.ts";

/** A mamba_ssm alias of a transformers key: absent, or equal to it. */
function sameAs(c: Config, alias: string, key: string, value: number): void {
  c.only(alias, (v) => v === value, `mamba_ssm's name for ${key}, which is ${value}; transformers reads ${key}`);
}

/** d_inner: MambaMixer reads config.intermediate_size, which MambaConfig sets to int(expand · hidden_size). */
function innerWidth(c: Config, d: number): { expand: number; inner: number } {
  const expand = c.positive("expand", 2);
  const fromExpand = Math.trunc(expand * d);
  if (fromExpand !== expand * d) c.refuse("expand", `expand · hidden_size = ${expand * d} is not a whole number of channels`);
  // A config.json intermediate_size overrides MambaConfig's (PretrainedConfig sets the extra
  // keys after __init__), and it is what the mixer's shapes come from: it must agree with expand.
  const inner = c.int("intermediate_size", fromExpand);
  if (inner !== fromExpand) c.refuse("intermediate_size", `disagrees with expand · hidden_size = ${fromExpand} (the spec's ssm width is expand · d)`);
  sameAs(c, "d_inner", "intermediate_size", inner);
  return { expand, inner };
}

/** time_step_rank: an integer, or "auto" = ceil(hidden_size / 16) as MambaConfig resolves it. */
function dtRank(c: Config, d: number, inner: number): { rank: number; comment: string } {
  const v = c.value("time_step_rank");
  if (v === undefined || v === null || v === "auto") {
    const rank = Math.ceil(d / 16);
    return { rank, comment: `time_step_rank ${v === "auto" ? '"auto"' : "(absent: \"auto\")"} = ceil(${d} / 16)` };
  }
  const rank = c.int("time_step_rank");
  if (rank > inner) c.refuse("time_step_rank", `larger than d_inner (${inner})`);
  return { rank, comment: "time_step_rank" };
}

export function importMamba(c: Config): FamilyImport {
  const architecture = c.architecture(["MambaForCausalLM"], (x) => `${x} is not MambaForCausalLM; specformer imports the causal language model (with lm_head), not other heads`);
  // The -hf checkpoints store the padded table: transformers' converter rounds mamba_ssm's
  // vocab_size (50277) up to pad_vocab_size_multiple (8) and writes 50280 as vocab_size, and
  // MambaModel builds nn.Embedding(vocab_size). The multiple itself is never read again.
  const vocab = c.int("vocab_size", 50280);
  c.ignore("pad_vocab_size_multiple");
  const d = c.int("hidden_size", 768);
  sameAs(c, "d_model", "hidden_size", d);
  const layers = c.int("num_hidden_layers", 32);
  sameAs(c, "n_layer", "num_hidden_layers", layers);
  const state = c.int("state_size", 16);
  const conv = c.int("conv_kernel", 4);
  const { expand, inner } = innerWidth(c, d);
  const dt = dtRank(c, d, inner);
  // MambaConfig's default for use_bias is not the same in every transformers version, and the
  // projections' shapes depend on it: the config must say.
  if (!c.has("use_bias") || c.raw.use_bias === null) throw new ImportError(c.file, `config key "use_bias" is missing (MambaConfig's default differs between transformers versions, so the config must say whether in_proj / out_proj have biases)`);
  const bias = c.bool("use_bias", false);
  const convBias = c.bool("use_conv_bias", true);
  const eps = c.positive("layer_norm_epsilon", 1e-5);
  // MambaMixer applies ACT2FN[hidden_act] after the conv and to the gate; `ssm mamba` is silu.
  c.only("hidden_act", (v) => v === "silu" || v === "swish", "MambaMixer's conv and gate activation; the language's `ssm mamba` uses silu (the value of every Mamba checkpoint)");
  const tied = c.bool("tie_word_embeddings", true);
  // mamba_ssm's norm choice: transformers builds MambaRMSNorm whatever it says, so a LayerNorm
  // checkpoint would load into the wrong norm.
  c.only("rms_norm", (v) => v === true, "a LayerNorm Mamba (mamba_ssm rms_norm false); MambaForCausalLM builds RMSNorm, and so does the import");
  // mamba_ssm's per-layer options (e.g. {"layer": "Mamba2"}): transformers does not read them,
  // so a checkpoint trained with any would not be the model MambaForCausalLM builds.
  c.only("ssm_cfg", (v) => isObject(v) && Object.keys(v).length === 0, "mamba_ssm's per-layer mixer options, which MambaForCausalLM does not read; only {} is the model it builds");
  c.ignore(
    // Inference runs in float32 throughout, so keeping the residual in float32 changes nothing.
    "residual_in_fp32",
    // mamba_ssm's fused add + norm kernel: the same function.
    "fused_add_norm",
    // Initialisation only (dt_proj's bias and weight, out_proj's rescaling).
    "rescale_prenorm_residual", "time_step_scale", "time_step_min", "time_step_max", "time_step_init_scheme", "time_step_floor",
    // Which slow path training falls back to without the CUDA kernels; the same function.
    "use_mambapy",
  );
  c.finish();

  const about = [
    `Hugging Face ${architecture} (model_type mamba): ${layers} Mamba-1 blocks, x + mixer(RMSNorm(x)), each a selective scan over a ${inner}-channel inner width (state ${state}, conv ${conv}, dt_rank ${dt.rank}), ${tied ? "the head tied to the embeddings" : "an untied lm_head"}. No positions: the recurrence orders the tokens.`,
  ];
  const body = (w: SpecWriter) => {
    dims(w, [
      ["vocab", vocab, "vocab_size (the table as stored: padded to pad_vocab_size_multiple by the conversion)"],
      ["d", d, "hidden_size"],
      ["layers", layers, "num_hidden_layers"],
    ]);
    w.line("input tokens: int[batch, seq]", "input_ids; no positions: the recurrence orders the tokens");
    w.blank();
    w.line("embed tokens(vocab, d)", "backbone.embeddings");
    w.blank();
    w.open("stack layers × decoder", "backbone.layers.N: x + mixer(norm(x))");
    w.line(`norm rms(eps = ${num(eps)})`, "norm (MambaRMSNorm, layer_norm_epsilon)");
    w.line(`ssm mamba(state = ${state}, conv = ${conv}, expand = ${num(expand)}, dt_rank = ${dt.rank}, bias = ${bias}, conv_bias = ${convBias})`, `mixer.*: state_size, conv_kernel, expand (d_inner ${inner}), ${dt.comment}, use_bias, use_conv_bias`);
    w.close();
    w.line(`norm rms(eps = ${num(eps)})`, "backbone.norm_f");
    w.line(tied ? "head tied" : "head linear", tied ? "lm_head shares backbone.embeddings (tie_word_embeddings)" : "lm_head (tie_word_embeddings false)");
  };
  return { architecture, map: "mamba", body, about };
}
