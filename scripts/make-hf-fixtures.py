#!/usr/bin/python3
"""Build the Hugging Face checkpoint-directory fixtures in test/fixtures/hf/.

Run with the interpreter that has torch (Debian's python3-torch):

    /usr/bin/python3 scripts/make-hf-fixtures.py            # writes test/fixtures/hf/
    /usr/bin/python3 scripts/make-hf-fixtures.py --check    # rebuilds in memory, compares with the files

Each fixture is a directory laid out as `save_pretrained` writes one: a `config.json` with the
family's real keys, the weights under the family's real tensor names (random, tiny, seeded), and
for some a `generation_config.json` and a `tokenizer.json`:

  llama/    LlamaForCausalLM as in Llama-3.2: tied embeddings (no lm_head.weight in the files), an
            explicit head_dim (16, not hidden_size / heads = 12), GQA 4/2, rope_theta 500000, and
            attention_bias / mlp_bias on. SHARDED: model-0000{1,2}-of-00002.safetensors with
            model.safetensors.index.json (weight_map sorted by name, metadata.total_size in bytes).
  mistral/  MistralForCausalLM: sliding_window 5 (the prompt is longer), multi-query attention
            (1 key/value head), untied lm_head.
  qwen2/    Qwen2ForCausalLM as in Qwen2.5-0.5B: q/k/v biases, no o_proj bias, tied embeddings,
            rope_theta 1e6, rms_norm_eps 1e-6, use_sliding_window false (sliding_window and
            max_window_layers present and ignored, as transformers does); weights in BF16
            (torch_dtype bfloat16), the expected logits computed in float32 from those values.
  gpt2/     GPT2LMHeadModel: `transformer.`-prefixed names, Conv1D [in, out] weights, fused c_attn,
            n_inner null (4 · n_embd), gelu_new, tied head; a tiny byte-level BPE tokenizer.json
            (GPT-2's 256 byte characters, <|endoftext|> = 256, 8 merges) and generation_config.json.
  bert/     BertForMaskedLM: bert.embeddings (word, position, token type, LayerNorm), post-norm
            encoder layers, cls.predictions (transform dense + LayerNorm, bias; decoder tied to
            the word embeddings, so not in the file), a padding mask and two segments.
  llama3/   LlamaForCausalLM as in Llama-3.2-1B: rope_scaling type llama3 (factor 8, low/high
            frequency factors 1 / 4, original_max_position_embeddings 64, so that at head_dim 16
            one frequency is kept, one interpolated, six divided), MQA, tied. The script checks
            that dropping the scaling moves the logits by > 1e-2 relative.
  qwen2-window/  Qwen2ForCausalLM with use_sliding_window true, max_window_layers 1, 3 layers:
            layer 0 full attention, layers 1 and 2 a window of 5 (transformers' layer_types rule,
            sliding on layers i >= max_window_layers).
  qwen3/    Qwen3ForCausalLM as in Qwen3-0.6B: q_norm / k_norm (RMSNorm over head_dim, before
            RoPE), explicit head_dim 16 ≠ 32 / 4, GQA 4/2, tied, rope_theta 1e6.
  gemma2/   Gemma2ForCausalLM as in Gemma-2-2B: 3 layers (sliding, global, sliding; window 5),
            embeddings × √32, (1 + w) RMSNorm with weights centred on 0, sandwich norms,
            query_pre_attn_scalar 24 ≠ head_dim 16, attention soft-cap 4, final soft-cap 20,
            GeGLU-tanh, head_dim 16, GQA 4/2, tied.
  phi3/     Phi3ForCausalLM as in Phi-3-mini-4k: fused qkv_proj (GQA 4/2) and gate_up_proj,
            sliding_window 6, untied lm_head, the auto_map the real config carries.
  gpt_neox/ GPTNeoXForCausalLM as in Pythia: per-head interleaved query_key_value, rotary_pct
            0.25 (4 of 16 channels), parallel residual, biases everywhere, LayerNorm, untied
            embed_out, F16 weights (torch_dtype float16), and the buffers transformers 4.24
            saves (attention.bias BOOL, attention.masked_bias, attention.rotary_emb.inv_freq).
  mamba/    MambaForCausalLM as in state-spaces/mamba-130m-hf (the converted config's key set,
            mamba_ssm's d_model / n_layer / d_inner / rms_norm / ssm_cfg included): 2 blocks,
            d 32, state_size 8, conv_kernel 4, expand 2, time_step_rank "auto" (= 2), use_bias
            false, use_conv_bias true, tied; A_log, dt_proj.bias and the conv taps as
            make-ssm-fixtures.py's init_ssm sets them (a state that decays at a visible rate).

The PyTorch models below are written from the reference semantics (the papers and transformers'
modeling_*.py: LlamaRMSNorm, rotate_half RoPE, repeat_kv, the sliding-window rule "key j visible
from query i iff i - window < j <= i", GPT-2's Conv1D and gelu_new, BERT's post-norm layers and
extended attention mask), not from specformer's code; the shared pieces come from
scripts/make-fixtures.py and (for llama3 onwards) scripts/hf-family-models.py. Expected outputs go to test/fixtures/hf/parity/<family>.safetensors
(outside the checkpoint directories, which hold only what a real one does):

  input.tokens (I64 [2, seq]); for bert also input.types (I64) and input.mask (BOOL, 1 = real)
  expected.logits (F32 [2, seq, vocab]), model.eval(), float32
  greedy.prompt (I64 [p]), greedy.tokens (I64 [n]): for causal models, n greedy tokens after the
  prompt by repeated full forward passes (argmax; every step's top-2 margin is checked ≥ 1e-3 so
  that an implementation within 1e-5 cannot pick differently)

Output is deterministic (fixed seeds, one thread, no timestamps); every file stays < 300 KB.
"""

import importlib.util
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "test", "fixtures", "hf")
MAX_FILE_BYTES = 300_000
MIN_MARGIN = 1e-3



def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mf = _load("make_fixtures", "make-fixtures.py")
fam = _load("hf_family_models", "hf-family-models.py")
RMSNorm, rotate_half, repeat_kv, gelu_new, Conv1D, randomize = mf.RMSNorm, mf.rotate_half, mf.repeat_kv, mf.gelu_new, mf.Conv1D, mf.randomize

# ---- safetensors (as the safetensors package writes it: {"__metadata__": {"format": "pt"}}) ----

_DT = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64", torch.bool: "BOOL"}


def _raw(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    if t.dtype == torch.bool:
        return t.to(torch.uint8).numpy().tobytes()
    return t.numpy().tobytes()


def safetensors_bytes(tensors, metadata=None):
    header = {"__metadata__": metadata or {"format": "pt"}}
    blobs, offset = [], 0
    for name, t in tensors:
        data = _raw(t)
        header[name] = {"dtype": _DT[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    return struct.pack("<Q", len(js)) + js + b"".join(blobs)


def json_bytes(obj):
    return (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode()


# ---- the LLaMA layout (llama, mistral, qwen2) -------------------------------------------------


def rope_cos_sin(seq, dim, base):
    """LlamaRotaryEmbedding (rope_type default): inv_freq = base^(-2i/dim), emb = cat(freqs, freqs)."""
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    t = torch.arange(seq, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class HFAttention(nn.Module):
    def __init__(self, cfg, qkv_bias, o_bias):
        super().__init__()
        d, h, kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.h, self.kv = h, kv
        self.hd = cfg.get("head_dim") or d // h
        self.base = cfg["rope_theta"]
        self.scaling = cfg.get("rope_scaling")
        self.window = cfg.get("_window")
        self.q_proj = nn.Linear(d, h * self.hd, bias=qkv_bias)
        self.k_proj = nn.Linear(d, kv * self.hd, bias=qkv_bias)
        self.v_proj = nn.Linear(d, kv * self.hd, bias=qkv_bias)
        self.o_proj = nn.Linear(h * self.hd, d, bias=o_bias)

    def forward(self, x):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        cos, sin = fam.cos_sin(t, fam.rope_inv_freq(self.hd, self.base, self.scaling)) if self.scaling else rope_cos_sin(t, self.hd, self.base)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, self.h // self.kv), repeat_kv(v, self.h // self.kv)
        w = q @ k.transpose(2, 3) / math.sqrt(self.hd)
        i = torch.arange(t)[:, None]
        j = torch.arange(t)[None, :]
        allowed = j <= i
        if self.window is not None:
            allowed = allowed & (j > i - self.window)  # transformers' sliding_window rule
        w = w.masked_fill(~allowed, torch.finfo(w.dtype).min)
        a = F.softmax(w, dim=-1, dtype=torch.float32) @ v
        return self.o_proj(a.transpose(1, 2).reshape(b, t, -1))


class HFMLP(nn.Module):
    def __init__(self, cfg, bias):
        super().__init__()
        d, hidden = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(d, hidden, bias=bias)
        self.up_proj = nn.Linear(d, hidden, bias=bias)
        self.down_proj = nn.Linear(hidden, d, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def HFForCausalLM(cfg, qkv_bias=False, o_bias=False, mlp_bias=False):
    """LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM: model.* + lm_head (tied or not)."""
    # "_windows": one window (or None) per layer, for the qwen2 layers max_window_layers.. on.
    windows = cfg.get("_windows") or [cfg.get("_window")] * cfg["num_hidden_layers"]
    layers = [fam.PreNormLayer(cfg, HFAttention(dict(cfg, _window=w), qkv_bias, o_bias), HFMLP(cfg, mlp_bias)) for w in windows]
    return fam.CausalLM(cfg, layers)


# ---- GPT-2 (GPT2LMHeadModel) -------------------------------------------------------------------


class GPT2Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = Conv1D(3 * d, d)
        self.c_proj = Conv1D(d, d)

    def forward(self, x):
        b, t, c = x.shape
        hd = c // self.heads
        q, k, v = (z.view(b, t, self.heads, hd).transpose(1, 2) for z in self.c_attn(x).split(c, dim=2))
        w = q @ k.transpose(-1, -2) / math.sqrt(hd)
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min))
        return self.c_proj((F.softmax(w, dim=-1) @ v).transpose(1, 2).reshape(b, t, c))


class GPT2MLP(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.c_fc = Conv1D(inner, d)
        self.c_proj = Conv1D(d, inner)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, d, heads, inner, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = GPT2Attention(d, heads)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = GPT2MLP(d, inner)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["n_embd"]
        inner = cfg["n_inner"] or 4 * d
        self.wte = nn.Embedding(cfg["vocab_size"], d)
        self.wpe = nn.Embedding(cfg["n_positions"], d)
        self.h = nn.ModuleList([GPT2Block(d, cfg["n_head"], inner, cfg["layer_norm_epsilon"]) for _ in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(d, eps=cfg["layer_norm_epsilon"])

    def forward(self, tokens):
        x = self.wte(tokens) + self.wpe(torch.arange(tokens.shape[1]))[None]
        for block in self.h:
            x = block(x)
        return self.ln_f(x)


class GPT2LMHeadModel(nn.Module):
    """state_dict: transformer.{wte, wpe, h.N.*, ln_f}; lm_head tied to wte (not saved)."""

    def __init__(self, cfg):
        super().__init__()
        self.transformer = GPT2Model(cfg)

    def forward(self, tokens):
        return self.transformer(tokens) @ self.transformer.wte.weight.T


# ---- BERT (BertForMaskedLM) --------------------------------------------------------------------


class BertSelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x, ext_mask):
        b, t, c = x.shape
        hd = c // self.heads
        q, k, v = (f(x).view(b, t, self.heads, hd).transpose(1, 2) for f in (self.query, self.key, self.value))
        w = q @ k.transpose(-1, -2) / math.sqrt(hd) + ext_mask
        return (F.softmax(w, dim=-1) @ v).transpose(1, 2).reshape(b, t, c)


class BertSelfOutput(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.dense = nn.Linear(d, d)
        self.LayerNorm = nn.LayerNorm(d, eps=eps)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertAttention(nn.Module):
    def __init__(self, d, heads, eps):
        super().__init__()
        self.self = BertSelfAttention(d, heads)
        self.output = BertSelfOutput(d, eps)

    def forward(self, x, ext_mask):
        return self.output(self.self(x, ext_mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.dense = nn.Linear(d, ff)

    def forward(self, x):
        return F.gelu(self.dense(x))  # hidden_act "gelu": the exact, erf-based GELU


class BertOutput(nn.Module):
    def __init__(self, d, ff, eps):
        super().__init__()
        self.dense = nn.Linear(ff, d)
        self.LayerNorm = nn.LayerNorm(d, eps=eps)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertLayer(nn.Module):
    def __init__(self, d, heads, ff, eps):
        super().__init__()
        self.attention = BertAttention(d, heads, eps)
        self.intermediate = BertIntermediate(d, ff)
        self.output = BertOutput(d, ff, eps)

    def forward(self, x, ext_mask):
        a = self.attention(x, ext_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg["layer_norm_eps"]
        self.layer = nn.ModuleList([BertLayer(cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], eps) for _ in range(cfg["num_hidden_layers"])])

    def forward(self, x, ext_mask):
        for layer in self.layer:
            x = layer(x, ext_mask)
        return x


class BertEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], d)
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], d)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], d)
        self.LayerNorm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])

    def forward(self, tokens, types):
        pos = torch.arange(tokens.shape[1])
        return self.LayerNorm(self.word_embeddings(tokens) + self.token_type_embeddings(types) + self.position_embeddings(pos)[None])


class BertModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = BertEncoder(cfg)

    def forward(self, tokens, types, mask):
        # get_extended_attention_mask: (1 - mask) · finfo.min on the keys, every query row.
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        return self.encoder(self.embeddings(tokens, types), ext)


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.dense = nn.Linear(d, d)
        self.LayerNorm = nn.LayerNorm(d, eps=eps)

    def forward(self, x):
        return self.LayerNorm(F.gelu(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.transform = BertPredictionHeadTransform(cfg["hidden_size"], cfg["layer_norm_eps"])
        self.bias = nn.Parameter(torch.zeros(cfg["vocab_size"]))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.predictions = BertLMPredictionHead(cfg)


class BertForMaskedLM(nn.Module):
    """state_dict: bert.embeddings.*, bert.encoder.layer.N.*, cls.predictions.{transform.*, bias};
    cls.predictions.decoder is tied to the word embeddings (not saved)."""

    def __init__(self, cfg):
        super().__init__()
        self.bert = BertModel(cfg)
        self.cls = BertOnlyMLMHead(cfg)

    def forward(self, tokens, types, mask):
        h = self.cls.predictions.transform(self.bert(tokens, types, mask))
        return h @ self.bert.embeddings.word_embeddings.weight.T + self.cls.predictions.bias


# ---- configs (the keys save_pretrained writes for each family) ----------------------------------

LLAMA = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": True,
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "head_dim": 16,
    "hidden_act": "silu",
    "hidden_size": 48,
    "initializer_range": 0.02,
    "intermediate_size": 96,
    "max_position_embeddings": 64,
    "mlp_bias": True,
    "model_type": "llama",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 500000.0,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
    "transformers_version": "4.45.0",
    "use_cache": True,
    "vocab_size": 128,
}

MISTRAL = {
    "architectures": ["MistralForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "head_dim": None,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "model_type": "mistral",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 1,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "sliding_window": 5,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "transformers_version": "4.45.0",
    "use_cache": True,
    "vocab_size": 112,
}

QWEN2 = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 100,
    "eos_token_id": 101,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 80,
    "max_position_embeddings": 64,
    "max_window_layers": 1,
    "model_type": "qwen2",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000.0,
    "sliding_window": 32,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.45.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 120,
}

GPT2 = {
    "activation_function": "gelu_new",
    "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.1,
    "bos_token_id": 256,
    "embd_pdrop": 0.1,
    "eos_token_id": 256,
    "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05,
    "model_type": "gpt2",
    "n_ctx": 64,
    "n_embd": 32,
    "n_head": 4,
    "n_inner": None,
    "n_layer": 2,
    "n_positions": 64,
    "resid_pdrop": 0.1,
    "summary_activation": None,
    "summary_first_dropout": 0.1,
    "summary_proj_to_labels": True,
    "summary_type": "cls_index",
    "summary_use_proj": True,
    "torch_dtype": "float32",
    "transformers_version": "4.45.0",
    "use_cache": True,
    "vocab_size": 300,
}

BERT = {
    "architectures": ["BertForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "classifier_dropout": None,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 32,
    "model_type": "bert",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "torch_dtype": "float32",
    "transformers_version": "4.45.0",
    "type_vocab_size": 2,
    "use_cache": True,
    "vocab_size": 100,
}


# The second round's families (models in scripts/hf-family-models.py). Keys as each family's
# save_pretrained writes them (the real checkpoints' config.json files, shrunk).

LLAMA3 = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "head_dim": 16,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "max_position_embeddings": 512,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "num_key_value_heads": 1,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    # Llama-3.2's rule shrunk to the fixture: with head_dim 16 and base 5e5 the wavelengths are
    # 6.3, 32, 167, … so one frequency is kept, one interpolated and six divided by the factor.
    "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 64, "rope_type": "llama3"},
    "rope_theta": 500000.0,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
    "transformers_version": "4.45.0",
    "use_cache": True,
    "vocab_size": 96,
}

QWEN2_WINDOW = dict(QWEN2, hidden_size=32, intermediate_size=64, max_window_layers=1, num_hidden_layers=3, sliding_window=5, torch_dtype="float32", use_sliding_window=True, vocab_size=96)

QWEN3 = {
    "architectures": ["Qwen3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 94,
    "eos_token_id": 95,
    "head_dim": 16,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "max_position_embeddings": 128,
    "max_window_layers": 2,
    "model_type": "qwen3",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000,
    "sliding_window": None,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
    "transformers_version": "4.51.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 96,
}

GEMMA2 = {
    "architectures": ["Gemma2ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "attn_logit_softcapping": 4.0,
    "bos_token_id": 2,
    "cache_implementation": "hybrid",
    "eos_token_id": 1,
    "final_logit_softcapping": 20.0,
    "head_dim": 16,
    "hidden_act": "gelu_pytorch_tanh",
    "hidden_activation": "gelu_pytorch_tanh",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "model_type": "gemma2",
    "num_attention_heads": 4,
    "num_hidden_layers": 3,
    "num_key_value_heads": 2,
    "pad_token_id": 0,
    "query_pre_attn_scalar": 24,
    "rms_norm_eps": 1e-06,
    "rope_theta": 10000.0,
    "sliding_window": 5,
    "torch_dtype": "float32",
    "transformers_version": "4.42.4",
    "use_cache": True,
    "vocab_size": 96,
}

PHI3 = {
    "_name_or_path": "Phi-3-mini-4k-instruct",
    "architectures": ["Phi3ForCausalLM"],
    "attention_dropout": 0.0,
    "auto_map": {"AutoConfig": "configuration_phi3.Phi3Config", "AutoModelForCausalLM": "modeling_phi3.Phi3ForCausalLM"},
    "bos_token_id": 1,
    "embd_pdrop": 0.0,
    "eos_token_id": 95,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "model_type": "phi3",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "original_max_position_embeddings": 64,
    "pad_token_id": 95,
    "resid_pdrop": 0.0,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 10000.0,
    "sliding_window": 6,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "transformers_version": "4.40.2",
    "use_cache": True,
    "vocab_size": 96,
}

GPT_NEOX = {
    "architectures": ["GPTNeoXForCausalLM"],
    "bos_token_id": 0,
    "eos_token_id": 0,
    "hidden_act": "gelu",
    "hidden_size": 64,
    "initializer_range": 0.02,
    "intermediate_size": 128,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 64,
    "model_type": "gpt_neox",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "rotary_emb_base": 10000,
    "rotary_pct": 0.25,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "transformers_version": "4.24.0",
    "use_cache": True,
    "use_parallel_residual": True,
    "vocab_size": 96,
}

MAMBA = {
    "architectures": ["MambaForCausalLM"],
    "bos_token_id": 0,
    "conv_kernel": 4,
    "d_inner": 64,
    "d_model": 32,
    "eos_token_id": 0,
    "expand": 2,
    "fused_add_norm": True,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.1,
    "intermediate_size": 64,
    "layer_norm_epsilon": 1e-05,
    "model_type": "mamba",
    "n_layer": 2,
    "num_hidden_layers": 2,
    "pad_token_id": 0,
    "pad_vocab_size_multiple": 8,
    "rescale_prenorm_residual": False,
    "residual_in_fp32": True,
    "rms_norm": True,
    "ssm_cfg": {},
    "state_size": 8,
    "time_step_floor": 0.0001,
    "time_step_init_scheme": "random",
    "time_step_max": 0.1,
    "time_step_min": 0.001,
    "time_step_rank": "auto",
    "time_step_scale": 1.0,
    "torch_dtype": "float32",
    "transformers_version": "4.39.0.dev0",
    "use_bias": False,
    "use_cache": True,
    "use_conv_bias": True,
    "vocab_size": 96,
}


# ---- a tiny byte-level BPE (GPT-2's byte characters) -----------------------------------------


def bytes_to_unicode():
    """GPT-2's encoder.py: printable bytes stand for themselves, the rest map to 256 + n."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def gpt2_tokenizer():
    byte_char = bytes_to_unicode()
    vocab = {byte_char[b]: b for b in range(256)}
    vocab["<|endoftext|>"] = 256
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"), ("Ġ", "s")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": 256, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": byte_level,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


# ---- building ----------------------------------------------------------------------------------


def greedy(model, prompt, n):
    """n greedy tokens after prompt (full forward each step); the smallest top-2 margin seen."""
    ids = prompt.clone()
    out, margin = [], float("inf")
    with torch.no_grad():
        for _ in range(n):
            logits = model(ids[None])[0, -1]
            top = torch.topk(logits, 2).values
            margin = min(margin, (top[0] - top[1]).item())
            nxt = int(torch.argmax(logits))
            out.append(nxt)
            ids = torch.cat([ids, torch.tensor([nxt])])
    return torch.tensor(out, dtype=torch.int64), margin


def to_bf16_values(model, dtype=torch.bfloat16):
    """Round every parameter to `dtype` (the values a BF16 / F16 checkpoint holds), kept in float32."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))


def boost_branches(model, suffixes, factor=4.0):
    """Scale the residual branches' output projections: with a tied head and N(0, 1) embeddings the
    residual stream is otherwise dominated by the token's own embedding, and greedy decoding just
    echoes the last token (a continuation that would not tell a right model from a wrong one)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if any(name.endswith(s) for s in suffixes):
                p.mul_(factor)


def causal_fixture(name, cfg, seed, build, seq=16, prompt_len=6, steps=10, dtype=torch.float32, shards=1, embeddings=("embed_tokens",), boost=("o_proj.weight", "down_proj.weight"), post_init=None):
    """`post_init(model)` adjusts the random weights before rounding (e.g. Gemma's norm offsets)."""
    torch.manual_seed(seed)
    model = build(cfg)
    randomize(model, embeddings=embeddings)
    if cfg.get("tie_word_embeddings", True):
        boost_branches(model, boost)
    if post_init:
        post_init(model)
    if dtype != torch.float32:
        to_bf16_values(model, dtype)
    model.eval()
    toks = torch.randint(0, cfg["vocab_size"], (2, seq), dtype=torch.int64)
    with torch.no_grad():
        logits = model(toks)
    prompt = torch.randint(0, cfg["vocab_size"], (prompt_len,), dtype=torch.int64)
    cont, margin = greedy(model, prompt, steps)
    state = [(k, v.to(dtype) if v.is_floating_point() else v) for k, v in model.state_dict().items()]
    files = {"config.json": json_bytes(cfg)}
    files.update(weight_files(state, shards))
    files["generation_config.json"] = json_bytes({"bos_token_id": cfg.get("bos_token_id"), "eos_token_id": cfg.get("eos_token_id"), "transformers_version": cfg["transformers_version"]})
    parity = [("input.tokens", toks), ("expected.logits", logits), ("greedy.prompt", prompt), ("greedy.tokens", cont)]
    return files, parity, {"margin": margin, "max_abs": logits.abs().max().item()}


def weight_files(state, shards):
    if shards == 1:
        return {"model.safetensors": safetensors_bytes(state)}
    # save_pretrained's sharding: tensors in state_dict order, cut into `shards` parts by size.
    total = sum(len(_raw(t)) for _, t in state)
    parts, cur, size = [[]], 0, 0
    for name, t in state:
        if size >= total / shards * len(parts) and len(parts) < shards:
            parts.append([])
        parts[-1].append((name, t))
        size += len(_raw(t))
    files, weight_map = {}, {}
    for i, part in enumerate(parts):
        fname = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        files[fname] = safetensors_bytes(part)
        for name, _ in part:
            weight_map[name] = fname
    files["model.safetensors.index.json"] = json_bytes({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    return files


def fixture_llama():
    return causal_fixture("llama", LLAMA, 2001, lambda c: HFForCausalLM(c, qkv_bias=True, o_bias=True, mlp_bias=True), shards=2)


def fixture_mistral():
    cfg = dict(MISTRAL, _window=MISTRAL["sliding_window"])
    files, parity, checks = causal_fixture("mistral", cfg, 2002, lambda c: HFForCausalLM(c), prompt_len=8)
    files["config.json"] = json_bytes(MISTRAL)
    return files, parity, checks


def fixture_qwen2():
    return causal_fixture("qwen2", QWEN2, 2003, lambda c: HFForCausalLM(c, qkv_bias=True, o_bias=False), dtype=torch.bfloat16)


def fixture_gpt2():
    torch.manual_seed(2004)
    model = GPT2LMHeadModel(GPT2)
    randomize(model, conv1d=("c_attn", "c_proj", "c_fc"), embeddings=("wte", "wpe"))
    boost_branches(model, ("c_proj.weight",))
    model.eval()
    toks = torch.randint(0, GPT2["vocab_size"], (2, 16), dtype=torch.int64)
    with torch.no_grad():
        logits = model(toks)
    # The prompt is the tokenizer's ids of "the cat" so the CLI can be driven by text too:
    # "the" → t, he (no "Ġ" before the first word), " cat" → Ġ, c, a, t.
    tok = gpt2_tokenizer()
    v = tok["model"]["vocab"]
    prompt = torch.tensor([v["t"], v["he"], v["Ġ"], v["c"], v["a"], v["t"]], dtype=torch.int64)
    cont, margin = greedy(model, prompt, 10)
    files = {
        "config.json": json_bytes(GPT2),
        "model.safetensors": safetensors_bytes(list(model.state_dict().items())),
        "generation_config.json": json_bytes({"bos_token_id": 256, "eos_token_id": 256, "transformers_version": "4.45.0"}),
        "tokenizer.json": json_bytes(tok),
        "tokenizer_config.json": json_bytes({"add_prefix_space": False, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "model_max_length": 64, "tokenizer_class": "GPT2Tokenizer", "unk_token": "<|endoftext|>"}),
    }
    parity = [("input.tokens", toks), ("expected.logits", logits), ("greedy.prompt", prompt), ("greedy.tokens", cont)]
    return files, parity, {"margin": margin, "max_abs": logits.abs().max().item()}


def fixture_bert():
    torch.manual_seed(2005)
    model = BertForMaskedLM(BERT)
    randomize(model, embeddings=("embeddings.",))
    model.eval()
    batch, seq = 2, 12
    toks = torch.randint(1, BERT["vocab_size"], (batch, seq), dtype=torch.int64)
    types = torch.zeros(batch, seq, dtype=torch.int64)
    types[:, 7:] = 1
    mask = torch.ones(batch, seq, dtype=torch.bool)
    mask[1, 9:] = False
    toks[~mask] = 0  # pad_token_id
    with torch.no_grad():
        logits = model(toks, types, mask)
    files = {"config.json": json_bytes(BERT), "model.safetensors": safetensors_bytes(list(model.state_dict().items()))}
    parity = [("input.tokens", toks), ("input.types", types), ("input.mask", mask), ("expected.logits", logits)]
    return files, parity, {"max_abs": logits.abs().max().item()}


def rope_scaling_effect(build, cfg, seed, toks):
    """max |Δ logits| / max |logit| between the model and the same weights without rope_scaling:
    the fixture must tell a scaled RoPE from an unscaled one far beyond the 1e-4 tolerance."""
    torch.manual_seed(seed)
    a = build(cfg)
    b = build(dict(cfg, rope_scaling=None))
    b.load_state_dict(a.state_dict())
    randomize(a, embeddings=("embed_tokens",))
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        la, lb = a(toks), b(toks)
    return ((la - lb).abs().max() / la.abs().max()).item()


def fixture_llama3():
    files, parity, checks = causal_fixture("llama3", LLAMA3, 2006, lambda c: HFForCausalLM(c))
    checks["scaling_effect"] = rope_scaling_effect(lambda c: HFForCausalLM(c), LLAMA3, 2006, parity[0][1])
    return files, parity, checks


def fixture_qwen2_window():
    types = fam.qwen_layer_types(QWEN2_WINDOW["num_hidden_layers"], True, QWEN2_WINDOW["sliding_window"], QWEN2_WINDOW["max_window_layers"])
    cfg = dict(QWEN2_WINDOW, _windows=fam.layer_windows(dict(QWEN2_WINDOW, layer_types=types)))
    files, parity, checks = causal_fixture("qwen2-window", cfg, 2007, lambda c: HFForCausalLM(c, qkv_bias=True, o_bias=False))
    files["config.json"] = json_bytes(QWEN2_WINDOW)
    return files, parity, checks


def fixture_qwen3():
    return causal_fixture("qwen3", QWEN3, 2008, fam.Qwen3ForCausalLM)


def gemma_norm_offsets(model):
    """Gemma's norm weights are offsets from 1 (zeros at init): centre them on 0, so that a (1 + w)
    read as w would flip signs and shrink gains, far outside any tolerance."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                p.uniform_(-0.5, 0.5)


def fixture_gemma2():
    return causal_fixture("gemma2", GEMMA2, 2009, fam.Gemma2ForCausalLM, post_init=gemma_norm_offsets)


def fixture_phi3():
    return causal_fixture("phi3", PHI3, 2017, fam.Phi3ForCausalLM)


def fixture_gpt_neox():
    return causal_fixture("gpt_neox", GPT_NEOX, 2011, fam.GPTNeoXForCausalLM, embeddings=("embed_in",), dtype=torch.float16)


def fixture_mamba():
    return causal_fixture("mamba", MAMBA, 2018, fam.MambaForCausalLM, embeddings=("embeddings",), boost=("out_proj.weight",), post_init=fam.ssm.init_ssm)


FIXTURES = {
    "llama": fixture_llama,
    "mistral": fixture_mistral,
    "qwen2": fixture_qwen2,
    "gpt2": fixture_gpt2,
    "bert": fixture_bert,
    "llama3": fixture_llama3,
    "qwen2-window": fixture_qwen2_window,
    "qwen3": fixture_qwen3,
    "gemma2": fixture_gemma2,
    "phi3": fixture_phi3,
    "gpt_neox": fixture_gpt_neox,
    "mamba": fixture_mamba,
}


def main(argv):
    check_only = "--check" in argv
    torch.set_num_threads(1)
    failed = False
    for name, build in FIXTURES.items():
        files, parity, checks = build()
        files = {os.path.join(name, f): data for f, data in files.items()}
        files[os.path.join("parity", f"{name}.safetensors")] = safetensors_bytes(parity, {"generator": "scripts/make-hf-fixtures.py", "checkpoint": f"test/fixtures/hf/{name}"})
        if checks.get("margin", 1) < MIN_MARGIN:
            print(f"{name}: greedy top-2 margin {checks['margin']:.2e} < {MIN_MARGIN}; pick another seed", file=sys.stderr)
            failed = True
        for rel, data in files.items():
            path = os.path.join(OUT, rel)
            if len(data) >= MAX_FILE_BYTES:
                print(f"{rel}: {len(data)} bytes, over the {MAX_FILE_BYTES}-byte budget", file=sys.stderr)
                failed = True
            if check_only:
                try:
                    with open(path, "rb") as f:
                        same = f.read() == data
                except FileNotFoundError:
                    same = False
                if not same:
                    print(f"{rel}: DIFFERS", file=sys.stderr)
                    failed = True
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(data)
        total = sum(len(d) for rel, d in files.items() if not rel.startswith("parity"))
        summary = ", ".join(f"{k} {v:.3g}" for k, v in checks.items())
        print(f"{name}: {'checked' if check_only else 'wrote'} {len(files)} files ({total} bytes of checkpoint; {summary})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
