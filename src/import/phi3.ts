/**
 * `phi3`: transformers' modeling_phi3.py (Phi-3-mini / medium, Phi-3.5-mini, Phi-4-mini). The
 * LLaMA layout with q, k and v fused in `self_attn.qkv_proj` ([q; k; v] rows) and gate and up
 * in `mlp.gate_up_proj` ([gate; up] rows, chunk(2)); the `llama` name map splits both on load.
 * head_dim = hidden_size / heads; `sliding_window` on every layer; `partial_rotary_factor`
 * rotates the first fraction of each head. longrope (su) scaling is refused by name.
 */
import type { Config } from "./config.ts";
import { isObject } from "./config.ts";
import { decoderPreamble, gatedActivation, type FamilyImport } from "./family.ts";
import { writeStack } from "./layer-pattern.ts";
import { ropeText } from "./rope.ts";
import { num, type SpecWriter } from "./spec-text.ts";

/** The auto_map Phi-3 repositories carry: their modeling_phi3.py, which transformers upstreamed as its own Phi3. */
const UPSTREAMED: Record<string, string> = { AutoConfig: "configuration_phi3.Phi3Config", AutoModelForCausalLM: "modeling_phi3.Phi3ForCausalLM", AutoTokenizer: "" };

export function importPhi3(c: Config): FamilyImport {
  const architecture = c.architecture(["Phi3ForCausalLM"], (x) => `${x} is not Phi3ForCausalLM; specformer imports the causal language model, not other heads`);
  const vocab = c.int("vocab_size", 32064);
  const d = c.int("hidden_size", 3072);
  const layers = c.int("num_hidden_layers", 32);
  const heads = c.int("num_attention_heads", 32);
  const kvHeads = c.int("num_key_value_heads", heads);
  if (heads % kvHeads !== 0) c.refuse("num_key_value_heads", `must divide num_attention_heads (${heads})`);
  if (d % heads !== 0) c.refuse("num_attention_heads", `does not divide hidden_size (${d}); Phi3Attention's head_dim is hidden_size / heads`);
  const headDim = d / heads;
  c.only("head_dim", (v) => v === headDim, `Phi3Attention uses hidden_size / num_attention_heads = ${headDim} per head`);
  const hidden = c.int("intermediate_size", 8192);
  const context = c.int("max_position_embeddings", 4096);
  const actName = c.str("hidden_act", "silu");
  const act = gatedActivation(actName);
  if (!act) c.refuse("hidden_act", "Phi3MLP is up · act(gate) from gate_up_proj; the language has that gate for silu, gelu and gelu_pytorch_tanh / gelu_new");
  const eps = c.positive("rms_norm_eps", 1e-5);
  const prf = c.num("partial_rotary_factor", 1);
  const rotated = Math.floor(headDim * prf);
  if (!(prf > 0 && prf <= 1) || rotated < 2 || rotated % 2 !== 0) c.refuse("partial_rotary_factor", `must rotate an even number of the ${headDim} channels of a head (int(head_dim · factor) = ${rotated})`);
  const rope = ropeText(c, prf === 1 ? {} : { fraction: { value: rotated / headDim, comment: `partial_rotary_factor: the first ${rotated} of ${headDim} channels` } });
  // original_max_position_embeddings is read only by the longrope / su scaling, refused above.
  c.ignore("original_max_position_embeddings");
  c.only("attention_bias", (v) => v === false, "Phi3Attention's qkv_proj and o_proj have no bias");
  const windowRaw = c.value("sliding_window");
  const window = windowRaw === undefined || windowRaw === null ? undefined : c.int("sliding_window");
  const tied = c.bool("tie_word_embeddings", false);
  const autoMap = c.value("auto_map");
  if (autoMap !== undefined && (!isObject(autoMap) || !Object.entries(autoMap).every(([k, v]) => k in UPSTREAMED && (UPSTREAMED[k] === "" || v === UPSTREAMED[k])))) {
    c.refuse("auto_map", "names modeling code other than the modeling_phi3.Phi3ForCausalLM transformers ships as its own Phi3 (trust_remote_code), which may differ");
  }
  c.finish();

  const useWindow = window !== undefined && window < context;
  const about = [
    `Hugging Face ${architecture} (model_type phi3): a pre-norm decoder with RMSNorm, rotate-half RoPE, ${kvHeads === heads ? "multi-head" : "grouped-query"} attention${useWindow ? ` over a sliding window of ${window} tokens` : ""} from the fused qkv_proj, and a gated MLP from the fused gate_up_proj (both split on load).`,
  ];
  if (autoMap !== undefined) about.push("auto_map names the repository's modeling_phi3.py, the code transformers ships as its own Phi3; the spec follows transformers' Phi3.");
  const body = (w: SpecWriter) => {
    decoderPreamble(w, {
      dims: [
        ["vocab", vocab, "vocab_size"],
        ["d", d, "hidden_size"],
        ["heads", heads, "num_attention_heads"],
        ["kv_heads", kvHeads, c.has("num_key_value_heads") ? "num_key_value_heads" : "num_key_value_heads (absent: = heads)"],
        ["layers", layers, "num_hidden_layers"],
        ["hidden", hidden, "intermediate_size"],
      ],
      ...(useWindow ? { window: [window!, "sliding_window"] } : {}),
      context,
      embed: ["embed tokens(vocab, d)", "model.embed_tokens"],
      rope,
    });
    writeStack(w, {
      types: new Array(layers).fill(useWindow ? "sliding" : "full"),
      args: "",
      comment: "model.layers.N",
      layer: (w) => {
        w.line(`norm rms(eps = ${num(eps)})`, "input_layernorm (rms_norm_eps)");
        w.line(`attention self(heads = heads, kv_heads = kv_heads, mask = causal${useWindow ? ", window = window" : ""})`, "self_attn.qkv_proj (fused [q; k; v], split on load), self_attn.o_proj");
        w.line(`norm rms(eps = ${num(eps)})`, "post_attention_layernorm");
        w.line(`mlp(hidden = hidden, act = ${act}, bias = false)`, `mlp.gate_up_proj (fused [gate; up], split on load), mlp.down_proj; ${actName}`);
      },
    });
    w.line(`norm rms(eps = ${num(eps)})`, "model.norm");
    w.line(tied ? "head tied" : "head linear", tied ? "lm_head shares embed_tokens (tie_word_embeddings)" : "lm_head (tie_word_embeddings false)");
  };
  return { architecture, map: "llama", body, about };
}
