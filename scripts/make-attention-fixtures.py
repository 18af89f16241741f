#!/usr/bin/python3
"""Build the attention-variant parity fixtures test/fixtures/attn-*.safetensors.

    /usr/bin/python3 scripts/make-attention-fixtures.py          # writes the files
    /usr/bin/python3 scripts/make-attention-fixtures.py --check  # rebuilds in memory, compares

Each fixture is a small pre-norm causal decoder whose attention is written from the Hugging Face
implementation it stands for (not from specformer's code):

  * attn-softcap: Gemma2Attention: scores · query_pre_attn_scalar^-0.5 (16^-0.5 with head_dim
    8, so not the default), attn_logit_softcapping (scores ← cap · tanh(scores / cap), before the
    mask), sliding window (key j visible iff i - window < j <= i), GQA 4/2, full RoPE, and a
    key padding mask (the second row's last 3 tokens are padding).
  * attn-llama3: LlamaRotaryEmbedding with rope_type "llama3" (_compute_llama3_parameters:
    factor 8, low_freq_factor 1, high_freq_factor 4, original_max_position_embeddings 64, so at
    head_dim 16 one frequency is kept, two are blended and five divided), MQA (1 KV head).
  * attn-neox: GPTNeoXAttention's partial rotary: rotary_pct 0.25 of head_dim 16 (4 channels),
    rotate_half inside them and the other 12 passed through, with "linear" rope scaling
    (factor 4: positions / 4); LayerNorm, q/k/v/o biases.

The weights use specformer's native names (src/model/weights-layout.ts): embed.tokens.weight,
decoder.N.{attn_norm, attn.{q,k,v,o}, mlp_norm, mlp.{gate,up,down}}, norm.0, head.weight. The
file holds the weights, input.tokens (I64 [2, 16]), input.mask (BOOL, attn-softcap only) and
expected.logits (F32 [2, 16, vocab]), in float32, one thread, fixed seeds: deterministic.
"""

import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module

fx = import_module("make-fixtures")  # randomize, norms, rotate_half, repeat_kv, NativeMLP, write_fixtures

MAX_BYTES = 300_000


# ---- RoPE frequencies, as transformers.modeling_rope_utils --------------------------------------


def default_inv_freq(base, dim):
    """_compute_default_rope_parameters: 1 / base^(arange(0, dim, 2) / dim), float32."""
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def llama3_inv_freq(base, dim, factor, low_freq_factor, high_freq_factor, old_context_len):
    """_compute_llama3_parameters, line for line."""
    inv_freq = default_inv_freq(base, dim)
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def rotary_cos_sin(inv_freq, seq, dtype):
    """LlamaRotaryEmbedding.forward (attention_scaling 1): emb = cat(freqs, freqs)."""
    t = torch.arange(seq, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq.float())
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def apply_rotary(x, cos, sin):
    return x * cos + fx.rotate_half(x) * sin


# ---- attention modules ------------------------------------------------------------------------


class RotaryAttention(nn.Module):
    """What LlamaAttention and Gemma2Attention share: q/k/v/o projections (no biases), full
    rotate_half RoPE at `inv_freq`, repeat_kv for GQA, eager softmax in float32 over the scores
    `score(q, k)` outside `allowed` [b|1, 1, t, t] set to -inf."""

    def __init__(self, cfg, head_dim, inv_freq):
        super().__init__()
        d, h, kv = cfg["d"], cfg["heads"], cfg["kv_heads"]
        self.cfg, self.heads, self.kv_heads, self.hd = cfg, h, kv, head_dim
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.q = nn.Linear(d, h * head_dim, bias=False)
        self.k = nn.Linear(d, kv * head_dim, bias=False)
        self.v = nn.Linear(d, kv * head_dim, bias=False)
        self.o = nn.Linear(h * head_dim, d, bias=False)

    def forward(self, x, key_mask):
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        cos, sin = rotary_cos_sin(self.inv_freq, t, x.dtype)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        k = fx.repeat_kv(k, self.heads // self.kv_heads)
        v = fx.repeat_kv(v, self.heads // self.kv_heads)
        w = self.score(q, k)
        i = torch.arange(t)[:, None]
        j = torch.arange(t)[None, :]
        w = w.masked_fill(~self.allowed(i, j, key_mask), float("-inf"))
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        return self.o(torch.matmul(w, v).transpose(1, 2).reshape(b, t, -1))


class Gemma2StyleAttention(RotaryAttention):
    """Gemma2Attention.forward with eager attention: scaling = query_pre_attn_scalar ** -0.5,
    soft-capping before the (causal + sliding + padding) mask."""

    def __init__(self, cfg):
        super().__init__(cfg, cfg["head_dim"], default_inv_freq(cfg["rope_theta"], cfg["head_dim"]))
        self.scaling = cfg["query_pre_attn_scalar"] ** -0.5

    def score(self, q, k):
        w = torch.matmul(q, k.transpose(2, 3)) * self.scaling
        cap = self.cfg["attn_logit_softcapping"]
        w = w / cap
        w = torch.tanh(w)
        return w * cap

    def allowed(self, i, j, key_mask):
        window = (j <= i) & (i - j < self.cfg["sliding_window"])
        return window[None, None] & key_mask[:, None, None, :]


class Llama3Attention(RotaryAttention):
    """LlamaAttention (scores / √head_dim, causal) with the llama3 rotary embedding."""

    def __init__(self, cfg):
        hd = cfg["d"] // cfg["heads"]
        s = cfg["rope_scaling"]
        inv_freq = llama3_inv_freq(cfg["rope_theta"], hd, s["factor"], s["low_freq_factor"], s["high_freq_factor"], s["original_max_position_embeddings"])
        super().__init__(cfg, hd, inv_freq)

    def score(self, q, k):
        return torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)

    def allowed(self, i, j, key_mask):
        return (j <= i)[None, None]


class NeoXPartialRotaryAttention(nn.Module):
    """GPTNeoXAttention's rotary: rotary_ndims = int(head_size * rotary_pct); the first
    rotary_ndims channels of each head get rotate_half RoPE (inv_freq over rotary_ndims), the rest
    pass through. Linear rope scaling divides the positions by factor. Separate q/k/v (the fused
    query_key_value layout is an importer's business, not attention's)."""

    def __init__(self, cfg):
        super().__init__()
        d, h = cfg["d"], cfg["heads"]
        hd = d // h
        self.cfg, self.heads, self.hd = cfg, h, hd
        self.rotary_ndims = int(hd * cfg["rotary_pct"])
        self.q = nn.Linear(d, d, bias=True)
        self.k = nn.Linear(d, d, bias=True)
        self.v = nn.Linear(d, d, bias=True)
        self.o = nn.Linear(d, d, bias=True)

    def forward(self, x, key_mask=None):
        cfg = self.cfg
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        v = self.v(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        r = self.rotary_ndims
        q_rot, q_pass = q[..., :r], q[..., r:]
        k_rot, k_pass = k[..., :r], k[..., r:]
        # _compute_linear_scaling_rope_parameters: inv_freq / factor (position_ids / factor).
        inv_freq = default_inv_freq(cfg["rotary_emb_base"], r) / cfg["rope_scaling"]["factor"]
        cos, sin = rotary_cos_sin(inv_freq, t, x.dtype)
        q = torch.cat((apply_rotary(q_rot, cos, sin), q_pass), dim=-1)
        k = torch.cat((apply_rotary(k_rot, cos, sin), k_pass), dim=-1)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        w = w.masked_fill(causal, float("-inf"))
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        a = torch.matmul(w, v)
        return self.o(a.transpose(1, 2).reshape(b, t, -1))


# ---- the decoder around them (native names) ---------------------------------------------------


def make_norm(cfg):
    return fx.make_norm(cfg["norm"], cfg["d"], cfg["eps"])


class Layer(nn.Module):
    def __init__(self, cfg, attention):
        super().__init__()
        self.attn_norm = make_norm(cfg)
        self.attn = attention(cfg)
        self.mlp_norm = make_norm(cfg)
        self.mlp = fx.NativeMLP(cfg)

    def forward(self, x, key_mask):
        x = x + self.attn(self.attn_norm(x), key_mask)
        return x + self.mlp(self.mlp_norm(x))


class DecoderLM(nn.Module):
    def __init__(self, cfg, attention):
        super().__init__()
        self.embed = nn.ModuleDict({"tokens": nn.Embedding(cfg["vocab"], cfg["d"])})
        self.decoder = nn.ModuleList([Layer(cfg, attention) for _ in range(cfg["layers"])])
        self.norm = nn.ModuleDict({"0": make_norm(cfg)})
        self.head = nn.Linear(cfg["d"], cfg["vocab"], bias=False)

    def forward(self, tokens, key_mask):
        x = self.embed["tokens"](tokens)
        for layer in self.decoder:
            x = layer(x, key_mask)
        return self.head(self.norm["0"](x))


# ---- fixtures -----------------------------------------------------------------------------------


def build(seed, cfg, attention, padded=False, batch=2, seq=16, weight_gain=1.0):
    torch.manual_seed(seed)
    model = DecoderLM(cfg, attention)
    fx.randomize(model, embeddings=("embed.",))
    if weight_gain != 1.0:
        # Larger q/k projections: scores well past the soft-cap, so its tanh really bends them.
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("attn.q.weight") or name.endswith("attn.k.weight"):
                    p.mul_(weight_gain)
    model.eval()
    toks = fx.tokens(cfg["vocab"], batch, seq)
    mask = fx.pad_mask(batch, seq, 3) if padded else torch.ones(batch, seq, dtype=torch.bool)
    with torch.no_grad():
        logits = model(toks, mask)
    checks = {}
    checks["f32_vs_f64"], checks["max_abs"] = fx.conditioning(model, lambda m: m(toks, mask))
    tensors = list(model.state_dict().items())
    tensors.append(("input.tokens", toks))
    if padded:
        tensors.append(("input.mask", mask))
    tensors.append(("expected.logits", logits))
    return tensors, checks


def fixture_softcap():
    cfg = dict(vocab=101, d=32, heads=4, kv_heads=2, head_dim=8, layers=2, hidden=64, norm="rms", eps=1e-6, act="swiglu",
               rope_theta=10000.0, query_pre_attn_scalar=16, attn_logit_softcapping=2.0, sliding_window=6)
    return build(2001, cfg, Gemma2StyleAttention, padded=True, weight_gain=2.0)


def fixture_llama3():
    cfg = dict(vocab=101, d=32, heads=2, kv_heads=1, layers=2, hidden=64, norm="rms", eps=1e-5, act="swiglu", rope_theta=10000.0,
               rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=64))
    return build(2002, cfg, Llama3Attention)


def fixture_neox():
    cfg = dict(vocab=101, d=32, heads=2, layers=2, hidden=64, norm="layer", eps=1e-5, act="gelu", mlp_bias=True,
               rotary_pct=0.25, rotary_emb_base=10000.0, rope_scaling=dict(type="linear", factor=4.0))
    return build(2003, cfg, NeoXPartialRotaryAttention)


FIXTURES = {"attn-softcap": fixture_softcap, "attn-llama3": fixture_llama3, "attn-neox": fixture_neox}


def main(argv):
    torch_version = torch.__version__.split("+")[0]
    return fx.write_fixtures(FIXTURES, lambda name: {"generator": "scripts/make-attention-fixtures.py", "torch": torch_version}, argv, MAX_BYTES)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
