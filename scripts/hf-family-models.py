"""PyTorch models of the Hugging Face families added in issue 10's second round, for
scripts/make-hf-fixtures.py (which loads this file by path, as it does make-fixtures.py).

Each class is written from transformers' modeling_*.py for that family (module names and
state_dict names as there, so `state_dict()` is the checkpoint layout save_pretrained writes),
not from specformer's code:

  rope_inv_freq       modeling_rope_utils: _compute_default_rope_parameters, the `linear` rule
                      (inv_freq / factor) and _compute_llama3_parameters (Llama-3.1 / 3.2)
  Qwen3ForCausalLM    modeling_qwen3.py: q_norm / k_norm (RMSNorm over head_dim) on q and k after
                      the projections and before RoPE; head_dim explicit; layer_types windows
  Gemma2ForCausalLM   modeling_gemma2.py: embeddings × √hidden_size, Gemma2RMSNorm (x̂ · (1 + w)),
                      sandwich norms (input / post_attention / pre_feedforward / post_feedforward),
                      scores × query_pre_attn_scalar^-½ then cap · tanh(· / cap), sliding window on
                      even layers, GeGLU with gelu_pytorch_tanh, tied head, final logit soft-cap
  Phi3ForCausalLM     modeling_phi3.py: fused qkv_proj ([q; k; v] rows) and gate_up_proj ([gate; up]
                      rows, chunk(2)), sliding_window, optional partial_rotary_factor
  GPTNeoXForCausalLM  modeling_gpt_neox.py: query_key_value viewed [heads, 3 · head_size] (per-head
                      interleaved q, k, v), rotary on the first rotary_pct of each head, parallel
                      residual (x + attn(ln1(x)) + mlp(ln2(x))), biases, untied embed_out; the
                      attention.bias / masked_bias / rotary_emb.inv_freq buffers older versions save
  MambaForCausalLM    modeling_mamba.py: backbone.embeddings, MambaBlocks x + mixer(MambaRMSNorm(x)),
                      norm_f, lm_head tied unless tie_word_embeddings is false; the mixer is
                      scripts/make-ssm-fixtures.py's MambaMixer (HF's slow_forward), time_step_rank
                      "auto" = ceil(hidden_size / 16) as MambaConfig resolves it

Masks follow transformers: causal, and for a sliding layer key j visible from query i iff
i - window < j <= i; masked scores take finfo(float32).min before a float32 softmax.
"""

import importlib.util
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

_spec = importlib.util.spec_from_file_location("make_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-fixtures.py"))
_mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mf)
# LlamaRMSNorm (x · rsqrt(mean(x²) + eps) · w), rotate_half, repeat_kv and gelu_new (the tanh
# approximation, = PytorchGELUTanh) as scripts/make-fixtures.py writes them.
RMSNorm, rotate_half, repeat_kv, gelu_tanh = _mf.RMSNorm, _mf.rotate_half, _mf.repeat_kv, _mf.gelu_new


ACT = {"silu": F.silu, "gelu": F.gelu, "gelu_pytorch_tanh": gelu_tanh, "gelu_new": gelu_tanh}


def rope_inv_freq(dim, base, scaling=None):
    """inv_freq of modeling_rope_utils for rope_type default, linear and llama3."""
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    kind = (scaling or {}).get("rope_type", (scaling or {}).get("type", "default"))
    if kind == "default":
        return inv_freq
    if kind == "linear":
        return inv_freq / scaling["factor"]
    if kind == "llama3":
        factor = scaling["factor"]
        low_freq_factor = scaling["low_freq_factor"]
        high_freq_factor = scaling["high_freq_factor"]
        old_context_len = scaling["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    raise ValueError(f"rope_type {kind}")


def cos_sin(seq, inv_freq):
    freqs = torch.outer(torch.arange(seq, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def causal_mask(t, window=None):
    i = torch.arange(t)[:, None]
    j = torch.arange(t)[None, :]
    allowed = j <= i
    if window is not None:
        allowed = allowed & (j > i - window)
    return allowed


def attend(q, k, v, scaling, window=None, softcap=None):
    """q [b, h, t, hd], k / v [b, kv, t, hd] → [b, t, h · hd]."""
    b, h, t, _ = q.shape
    n_rep = h // k.shape[1]
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    w = (q @ k.transpose(2, 3)) * scaling
    if softcap is not None:
        w = torch.tanh(w / softcap) * softcap
    w = w.masked_fill(~causal_mask(t, window), torch.finfo(w.dtype).min)
    a = F.softmax(w, dim=-1, dtype=torch.float32) @ v
    return a.transpose(1, 2).reshape(b, t, -1)


def layer_windows(cfg):
    """Per-layer sliding window (None = full attention) from layer_types, as transformers reads it."""
    return [cfg.get("sliding_window") if t == "sliding_attention" else None for t in cfg["layer_types"]]


def qwen_layer_types(n, use_sliding_window, sliding_window, max_window_layers):
    """Qwen2Config / Qwen3Config: sliding on layers i >= max_window_layers when use_sliding_window."""
    sliding = sliding_window if use_sliding_window else None
    return ["sliding_attention" if sliding is not None and i >= max_window_layers else "full_attention" for i in range(n)]


class PreNormLayer(nn.Module):
    """LlamaDecoderLayer's shape (also Qwen3's and Phi-3's): x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, cfg, self_attn, mlp):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg["rms_norm_eps"]
        self.self_attn = self_attn
        self.mlp = mlp
        self.input_layernorm = RMSNorm(d, eps)
        self.post_attention_layernorm = RMSNorm(d, eps)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class DecoderModel(nn.Module):
    """LlamaModel's layout (embed_tokens, layers, norm), as Qwen3Model, Phi3Model and Gemma2Model
    have it; Gemma2Model multiplies the embeddings by `embed_scale` and norms with its own RMSNorm."""

    def __init__(self, cfg, layers, norm=RMSNorm, embed_scale=None):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(layers)
        self.norm = norm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.embed_scale = embed_scale

    def forward(self, tokens):
        x = self.embed_tokens(tokens)
        if self.embed_scale is not None:
            x = x * torch.tensor(self.embed_scale, dtype=torch.float32)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class CausalLM(nn.Module):
    """*ForCausalLM: model.* and lm_head, which a tied checkpoint does not save."""

    def __init__(self, cfg, layers, **model):
        super().__init__()
        self.tied = cfg.get("tie_word_embeddings", False)
        self.model = DecoderModel(cfg, layers, **model)
        if not self.tied:
            self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)

    def forward(self, tokens):
        h = self.model(tokens)
        return h @ self.model.embed_tokens.weight.T if self.tied else self.lm_head(h)


# ---- Qwen3 --------------------------------------------------------------------------------------


class Qwen3Attention(nn.Module):
    def __init__(self, cfg, window):
        super().__init__()
        d, self.h, self.kv, self.hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
        bias = cfg["attention_bias"]
        self.window = window
        self.inv_freq = rope_inv_freq(self.hd, cfg["rope_theta"], cfg.get("rope_scaling"))
        self.q_proj = nn.Linear(d, self.h * self.hd, bias=bias)
        self.k_proj = nn.Linear(d, self.kv * self.hd, bias=bias)
        self.v_proj = nn.Linear(d, self.kv * self.hd, bias=bias)
        self.o_proj = nn.Linear(self.h * self.hd, d, bias=bias)
        self.q_norm = RMSNorm(self.hd, cfg["rms_norm_eps"])
        self.k_norm = RMSNorm(self.hd, cfg["rms_norm_eps"])

    def forward(self, x):
        b, t, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, t, self.h, self.hd)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(b, t, self.kv, self.hd)).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        cos, sin = cos_sin(t, self.inv_freq)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        return self.o_proj(attend(q, k, v, self.hd**-0.5, self.window))


class GatedMLP(nn.Module):
    """LlamaMLP / Qwen3MLP / Gemma2MLP: down_proj(act(gate_proj(x)) · up_proj(x))."""

    def __init__(self, d, hidden, act):
        super().__init__()
        self.gate_proj = nn.Linear(d, hidden, bias=False)
        self.up_proj = nn.Linear(d, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, d, bias=False)
        self.act = ACT[act]

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


def Qwen3ForCausalLM(cfg):
    types = qwen_layer_types(cfg["num_hidden_layers"], cfg["use_sliding_window"], cfg["sliding_window"], cfg["max_window_layers"])
    windows = layer_windows(dict(cfg, layer_types=types))
    d = cfg["hidden_size"]
    return CausalLM(cfg, [PreNormLayer(cfg, Qwen3Attention(cfg, w), GatedMLP(d, cfg["intermediate_size"], cfg["hidden_act"])) for w in windows])


# ---- Gemma-2 ------------------------------------------------------------------------------------


class Gemma2RMSNorm(nn.Module):
    """x · rsqrt(mean(x²) + eps) · (1 + w), the weight stored as the offset from 1 (zeros at init)."""

    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x):
        x = x.float()
        return (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)) * (1.0 + self.weight.float())


class Gemma2Attention(nn.Module):
    def __init__(self, cfg, layer_idx):
        super().__init__()
        d, self.h, self.kv, self.hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
        bias = cfg["attention_bias"]
        self.scaling = cfg["query_pre_attn_scalar"] ** -0.5
        self.softcap = cfg["attn_logit_softcapping"]
        # Gemma2Attention: sliding_window if not bool(layer_idx % 2) — even layers are local.
        self.window = cfg["sliding_window"] if not bool(layer_idx % 2) else None
        self.inv_freq = rope_inv_freq(self.hd, cfg["rope_theta"])
        self.q_proj = nn.Linear(d, self.h * self.hd, bias=bias)
        self.k_proj = nn.Linear(d, self.kv * self.hd, bias=bias)
        self.v_proj = nn.Linear(d, self.kv * self.hd, bias=bias)
        self.o_proj = nn.Linear(self.h * self.hd, d, bias=bias)

    def forward(self, x):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        cos, sin = cos_sin(t, self.inv_freq)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        return self.o_proj(attend(q, k, v, self.scaling, self.window, self.softcap))


class Gemma2DecoderLayer(nn.Module):
    def __init__(self, cfg, layer_idx):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg["rms_norm_eps"]
        self.self_attn = Gemma2Attention(cfg, layer_idx)
        self.mlp = GatedMLP(d, cfg["intermediate_size"], cfg["hidden_activation"])
        self.input_layernorm = Gemma2RMSNorm(d, eps)
        self.post_attention_layernorm = Gemma2RMSNorm(d, eps)
        self.pre_feedforward_layernorm = Gemma2RMSNorm(d, eps)
        self.post_feedforward_layernorm = Gemma2RMSNorm(d, eps)

    def forward(self, x):
        x = x + self.post_attention_layernorm(self.self_attn(self.input_layernorm(x)))
        return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))


class Gemma2ForCausalLM(CausalLM):
    """state_dict: model.*; lm_head tied to embed_tokens (not saved); logits soft-capped."""

    def __init__(self, cfg):
        layers = [Gemma2DecoderLayer(cfg, i) for i in range(cfg["num_hidden_layers"])]
        # Gemma2Model: normalizer = hidden_size ** 0.5.
        super().__init__(dict(cfg, tie_word_embeddings=True), layers, norm=Gemma2RMSNorm, embed_scale=cfg["hidden_size"] ** 0.5)
        self.final_softcap = cfg["final_logit_softcapping"]

    def forward(self, tokens):
        logits = super().forward(tokens)
        if self.final_softcap is not None:
            logits = torch.tanh(logits / self.final_softcap) * self.final_softcap
        return logits


# ---- Phi-3 --------------------------------------------------------------------------------------


class Phi3Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, self.h, self.kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.hd = d // self.h
        self.rot = int(self.hd * cfg.get("partial_rotary_factor", 1.0))
        self.window = cfg["sliding_window"]
        self.inv_freq = rope_inv_freq(self.rot, cfg["rope_theta"], cfg.get("rope_scaling"))
        self.o_proj = nn.Linear(self.h * self.hd, d, bias=False)
        self.qkv_proj = nn.Linear(d, self.h * self.hd + 2 * self.kv * self.hd, bias=False)

    def forward(self, x):
        b, t, _ = x.shape
        qkv = self.qkv_proj(x)
        qp = self.h * self.hd
        kp = self.kv * self.hd
        q = qkv[..., :qp].view(b, t, self.h, self.hd).transpose(1, 2)
        k = qkv[..., qp : qp + kp].view(b, t, self.kv, self.hd).transpose(1, 2)
        v = qkv[..., qp + kp :].view(b, t, self.kv, self.hd).transpose(1, 2)
        cos, sin = cos_sin(t, self.inv_freq)
        q_rot, q_pass = q[..., : self.rot], q[..., self.rot :]
        k_rot, k_pass = k[..., : self.rot], k[..., self.rot :]
        q = torch.cat((q_rot * cos + rotate_half(q_rot) * sin, q_pass), dim=-1)
        k = torch.cat((k_rot * cos + rotate_half(k_rot) * sin, k_pass), dim=-1)
        return self.o_proj(attend(q, k, v, self.hd**-0.5, self.window))


class Phi3MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hidden = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_up_proj = nn.Linear(d, 2 * hidden, bias=False)
        self.down_proj = nn.Linear(hidden, d, bias=False)
        self.act = ACT[cfg["hidden_act"]]

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(up * self.act(gate))


def Phi3ForCausalLM(cfg):
    return CausalLM(cfg, [PreNormLayer(cfg, Phi3Attention(cfg), Phi3MLP(cfg)) for _ in range(cfg["num_hidden_layers"])])


# ---- GPT-NeoX -----------------------------------------------------------------------------------


class GPTNeoXRotaryEmbedding(nn.Module):
    """Older transformers save inv_freq as a persistent buffer: it is in the checkpoint, unread by loaders."""

    def __init__(self, dim, base):
        super().__init__()
        self.register_buffer("inv_freq", rope_inv_freq(dim, base))


class GPTNeoXAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, self.h = cfg["hidden_size"], cfg["num_attention_heads"]
        self.hs = d // self.h
        self.rot = int(self.hs * cfg["rotary_pct"])
        ctx = cfg["max_position_embeddings"]
        bias = cfg.get("attention_bias", True)
        # transformers 4.24 (Pythia's) registers these two as persistent buffers.
        self.register_buffer("bias", torch.tril(torch.ones(ctx, ctx, dtype=torch.bool)).view(1, 1, ctx, ctx))
        self.register_buffer("masked_bias", torch.tensor(-1e9))
        self.rotary_emb = GPTNeoXRotaryEmbedding(self.rot, cfg["rotary_emb_base"])
        self.query_key_value = nn.Linear(d, 3 * d, bias=bias)
        self.dense = nn.Linear(d, d, bias=bias)

    def forward(self, x):
        b, t, _ = x.shape
        qkv = self.query_key_value(x).view(b, t, self.h, 3 * self.hs)
        q = qkv[..., : self.hs].permute(0, 2, 1, 3)
        k = qkv[..., self.hs : 2 * self.hs].permute(0, 2, 1, 3)
        v = qkv[..., 2 * self.hs :].permute(0, 2, 1, 3)
        cos, sin = cos_sin(t, self.rotary_emb.inv_freq)
        q_rot, q_pass = q[..., : self.rot], q[..., self.rot :]
        k_rot, k_pass = k[..., : self.rot], k[..., self.rot :]
        q = torch.cat((q_rot * cos + rotate_half(q_rot) * sin, q_pass), dim=-1)
        k = torch.cat((k_rot * cos + rotate_half(k_rot) * sin, k_pass), dim=-1)
        return self.dense(attend(q, k, v, 1.0 / math.sqrt(self.hs)))


class GPTNeoXMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(cfg["hidden_size"], cfg["intermediate_size"])
        self.dense_4h_to_h = nn.Linear(cfg["intermediate_size"], cfg["hidden_size"])
        self.act = ACT[cfg["hidden_act"]]

    def forward(self, x):
        return self.dense_4h_to_h(self.act(self.dense_h_to_4h(x)))


class GPTNeoXLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.parallel = cfg["use_parallel_residual"]
        self.input_layernorm = nn.LayerNorm(d, eps=eps)
        self.post_attention_layernorm = nn.LayerNorm(d, eps=eps)
        self.attention = GPTNeoXAttention(cfg)
        self.mlp = GPTNeoXMLP(cfg)

    def forward(self, x):
        attn = self.attention(self.input_layernorm(x))
        if self.parallel:
            return self.mlp(self.post_attention_layernorm(x)) + attn + x
        attn = attn + x
        return self.mlp(self.post_attention_layernorm(attn)) + attn


class GPTNeoXModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_in = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([GPTNeoXLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.final_layer_norm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])

    def forward(self, tokens):
        x = self.embed_in(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.final_layer_norm(x)


class GPTNeoXForCausalLM(nn.Module):
    """state_dict: gpt_neox.*, embed_out (untied)."""

    def __init__(self, cfg):
        super().__init__()
        self.gpt_neox = GPTNeoXModel(cfg)
        self.embed_out = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)

    def forward(self, tokens):
        return self.embed_out(self.gpt_neox(tokens))


# ---- Mamba --------------------------------------------------------------------------------------

_ssm_spec = importlib.util.spec_from_file_location("make_ssm_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-ssm-fixtures.py"))
ssm = importlib.util.module_from_spec(_ssm_spec)
_ssm_spec.loader.exec_module(ssm)


class MambaBlock(nn.Module):
    """residual + mixer(norm(x)); residual_in_fp32 changes nothing in float32."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        rank = math.ceil(d / 16) if cfg["time_step_rank"] == "auto" else cfg["time_step_rank"]
        self.norm = RMSNorm(d, cfg["layer_norm_epsilon"])
        self.mixer = ssm.MambaMixer(d, cfg["state_size"], cfg["conv_kernel"], cfg["expand"], rank, cfg["use_bias"], cfg["use_conv_bias"])

    def forward(self, x):
        return x + self.mixer(self.norm(x))


class MambaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([MambaBlock(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm_f = RMSNorm(cfg["hidden_size"], cfg["layer_norm_epsilon"])

    def forward(self, tokens):
        x = self.embeddings(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.norm_f(x)


class MambaForCausalLM(nn.Module):
    """backbone.* and lm_head, which a tied checkpoint does not save."""

    def __init__(self, cfg):
        super().__init__()
        self.tied = cfg.get("tie_word_embeddings", True)
        self.backbone = MambaModel(cfg)
        if not self.tied:
            self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)

    def forward(self, tokens):
        h = self.backbone(tokens)
        return h @ self.backbone.embeddings.weight.T if self.tied else self.lm_head(h)
