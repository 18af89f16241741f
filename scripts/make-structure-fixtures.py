#!/usr/bin/python3
"""Build the layer-structure parity fixtures test/fixtures/structure-*.safetensors.

    /usr/bin/python3 scripts/make-structure-fixtures.py          # writes the files
    /usr/bin/python3 scripts/make-structure-fixtures.py --check  # rebuilds in memory, compares

Each fixture is a small causal decoder written from the Hugging Face model it stands for (not
from specformer's code), exercising one layer structure of test/layer-structure.test.ts:

  * structure-pattern: a two-kind layer pattern (HF `layer_types`, layer i of kind i mod 2):
    "local" layers with a sliding window of 4 (key j visible iff i - 4 < j <= i), "global"
    layers with plain causal attention, 3 layers (local, global, local); LLaMA layers
    otherwise (RMSNorm, RoPE, GQA 4/2, SwiGLU).
  * structure-runs: a pattern of runs, (wide × 2, narrow): windows 8, 8, 3, 8, 8 over 5
    layers, so incremental decoding keeps two ring sizes at once.
  * structure-neox: GPTNeoXLayer with use_parallel_residual: x ← x + attn(ln1(x)) + mlp(ln2(x)),
    LayerNorms with bias, biased projections, exact GELU MLP.
  * structure-gemma: Gemma2DecoderLayer: sandwich norms (input_layernorm, post_attention_layernorm,
    pre_feedforward_layernorm, post_feedforward_layernorm), Gemma2RMSNorm's x̂ · (1 + w) in float32,
    GeGLU with gelu_pytorch_tanh, embeddings × √hidden (as a float32 tensor), alternating sliding
    (even layers, window 4) and global layers, tied head.
  * structure-qwen3: Qwen3Attention: q_norm / k_norm (RMSNorm over head_dim) on the head view of
    the projections, before RoPE; head_dim 16 with 4 query and 2 key/value heads (q is 64 wide on
    a 32-wide stream), SwiGLU, untied head; layer 1 with a sliding window of 6 (so the normed keys
    go to a ring cache as well as to a full one).

Norm gains are U(0.5, 1.5) (fixtures.randomize), except Gemma's, which are stored as w with 1 + w
applied: U(-0.5, 0.5). The weights use specformer's native names (src/model/weights-layout.ts):
embed.tokens.weight, decoder.N.{attn_norm, attn.{q,k,v,o,q_norm,k_norm}, attn_post_norm, mlp_norm,
mlp.{gate,up,down}, mlp_post_norm}, norm.0, head.weight. Each file holds the weights, input.tokens
(I64 [2, 16]) and expected.logits (F32 [2, 16, 101]), in float32, one thread, fixed seeds:
deterministic.
"""

import math
import os
import sys
from importlib import import_module

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
fx = import_module("make-fixtures")  # safetensors writer, randomize, RMSNorm, RoPE helpers, repeat_kv

ROOT = fx.ROOT
OUT_DIR = fx.OUT_DIR
MAX_BYTES = 300_000


class Gemma2RMSNorm(nn.Module):
    """Gemma2RMSNorm: x̂ = x · rsqrt(mean(x²) + eps) in float32, times (1 + weight)."""

    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        xf = x.float()
        out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (out * (1.0 + self.weight.float())).type_as(x)


def make_norm(cfg, d=None):
    d = d or cfg["d"]
    if cfg["norm"] == "layer":
        return nn.LayerNorm(d, eps=cfg["eps"])
    if cfg["norm"] == "gemma":
        return Gemma2RMSNorm(d, cfg["eps"])
    return fx.RMSNorm(d, cfg["eps"])


class Attention(nn.Module):
    """LlamaAttention / Qwen3Attention / GPTNeoXAttention (separate q/k/v), eager: RoPE with
    rotate_half over the whole head, scores / √head_dim, causal (+ sliding window) mask."""

    def __init__(self, cfg, window):
        super().__init__()
        d, h, kv = cfg["d"], cfg["heads"], cfg["kv_heads"]
        hd = cfg.get("head_dim", d // h)
        self.cfg, self.heads, self.kv_heads, self.hd, self.window = cfg, h, kv, hd, window
        bias = cfg.get("attn_bias", False)
        self.q = nn.Linear(d, h * hd, bias=bias)
        self.k = nn.Linear(d, kv * hd, bias=bias)
        self.v = nn.Linear(d, kv * hd, bias=bias)
        self.o = nn.Linear(h * hd, d, bias=bias)
        if cfg.get("qk_norm"):
            # Qwen3RMSNorm(head_dim): the same weight for every head.
            self.q_norm = fx.RMSNorm(hd, cfg["eps"])
            self.k_norm = fx.RMSNorm(hd, cfg["eps"])

    def forward(self, x):
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.heads, self.hd)
        k = self.k(x).view(b, t, self.kv_heads, self.hd)
        if self.cfg.get("qk_norm"):
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = self.v(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        cos, sin = fx.rope_cos_sin(t, self.hd, self.cfg["rope_theta"], x.dtype)
        q, k = fx.apply_rope(q, cos, sin), fx.apply_rope(k, cos, sin)
        k = fx.repeat_kv(k, self.heads // self.kv_heads)
        v = fx.repeat_kv(v, self.heads // self.kv_heads)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)
        i = torch.arange(t)[:, None]
        j = torch.arange(t)[None, :]
        allowed = j <= i
        if self.window is not None:
            allowed = allowed & (i - j < self.window)
        w = w.masked_fill(~allowed, float("-inf"))
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        a = torch.matmul(w, v)
        return self.o(a.transpose(1, 2).reshape(b, t, -1))


class MLP(nn.Module):
    """LlamaMLP (silu), GemmaMLP (gelu_pytorch_tanh): down(act(gate(x)) · up(x)); GPTNeoXMLP: down(gelu(up(x)))."""

    def __init__(self, cfg):
        super().__init__()
        d, hidden, bias = cfg["d"], cfg["hidden"], cfg.get("mlp_bias", False)
        self.act = cfg["act"]
        if self.act != "gelu":
            self.gate = nn.Linear(d, hidden, bias=bias)
        self.up = nn.Linear(d, hidden, bias=bias)
        self.down = nn.Linear(hidden, d, bias=bias)

    def forward(self, x):
        if self.act == "swiglu":
            return self.down(F.silu(self.gate(x)) * self.up(x))
        if self.act == "geglu_tanh":
            return self.down(F.gelu(self.gate(x), approximate="tanh") * self.up(x))
        return self.down(F.gelu(self.up(x)))


class Layer(nn.Module):
    """One decoder layer: LLaMA's sequential pre-norm, GPT-NeoX's parallel residual or Gemma-2's sandwich."""

    def __init__(self, cfg, window):
        super().__init__()
        self.structure = cfg["structure"]
        self.attn_norm = make_norm(cfg)
        self.attn = Attention(cfg, window)
        if self.structure == "sandwich":
            self.attn_post_norm = make_norm(cfg)
        self.mlp_norm = make_norm(cfg)
        self.mlp = MLP(cfg)
        if self.structure == "sandwich":
            self.mlp_post_norm = make_norm(cfg)

    def forward(self, x):
        if self.structure == "parallel":
            # GPTNeoXLayer, use_parallel_residual = True.
            attn_output = self.attn(self.attn_norm(x))
            mlp_output = self.mlp(self.mlp_norm(x))
            return mlp_output + attn_output + x
        if self.structure == "sandwich":
            # Gemma2DecoderLayer.
            residual = x
            h = self.attn_post_norm(self.attn(self.attn_norm(x)))
            x = residual + h
            residual = x
            h = self.mlp_post_norm(self.mlp(self.mlp_norm(x)))
            return residual + h
        x = x + self.attn(self.attn_norm(x))
        return x + self.mlp(self.mlp_norm(x))


class DecoderLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.ModuleDict({"tokens": nn.Embedding(cfg["vocab"], cfg["d"])})
        self.decoder = nn.ModuleList([Layer(cfg, w) for w in cfg["windows"]])
        self.norm = nn.ModuleDict({"0": make_norm(cfg)})
        if not cfg.get("tied"):
            self.head = nn.Linear(cfg["d"], cfg["vocab"], bias=False)

    def forward(self, tokens):
        x = self.embed["tokens"](tokens)
        if self.cfg.get("embed_scale"):
            # Gemma2Model: the normalizer is a tensor of the hidden states' dtype.
            x = x * torch.tensor(self.cfg["d"] ** 0.5, dtype=x.dtype)
        for layer in self.decoder:
            x = layer(x)
        x = self.norm["0"](x)
        return F.linear(x, self.embed["tokens"].weight) if self.cfg.get("tied") else self.head(x)


def build(seed, cfg, batch=2, seq=16):
    torch.manual_seed(seed)
    model = DecoderLM(cfg)
    fx.randomize(model, embeddings=("embed.",))
    if cfg["norm"] == "gemma":
        # Gemma stores its RMSNorm gains as w with 1 + w applied: centre them on 0.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, Gemma2RMSNorm):
                    m.weight.sub_(1.0)
    model.eval()
    toks = fx.tokens(cfg["vocab"], batch, seq)
    with torch.no_grad():
        logits = model(toks)
    checks = {}
    checks["f32_vs_f64"], checks["max_abs"] = fx.conditioning(model, lambda m: m(toks))
    tensors = list(model.state_dict().items())
    tensors.append(("input.tokens", toks))
    tensors.append(("expected.logits", logits))
    return tensors, checks


LLAMA = dict(vocab=101, d=32, heads=4, kv_heads=2, hidden=64, norm="rms", eps=1e-6, act="swiglu", rope_theta=10000.0, structure="pre")


def fixture_pattern():
    return build(3001, dict(LLAMA, windows=[4, None, 4]))


def fixture_runs():
    return build(3002, dict(LLAMA, windows=[8, 8, 3, 8, 8]))


def fixture_neox():
    cfg = dict(vocab=101, d=32, heads=4, kv_heads=4, hidden=64, norm="layer", eps=1e-5, act="gelu", attn_bias=True, mlp_bias=True,
               rope_theta=10000.0, structure="parallel", windows=[None, None])
    return build(3003, cfg)


def fixture_gemma():
    cfg = dict(vocab=101, d=32, heads=4, kv_heads=2, hidden=64, norm="gemma", eps=1e-6, act="geglu_tanh", rope_theta=10000.0,
               structure="sandwich", embed_scale=True, tied=True, windows=[4, None, 4, None])
    return build(3004, cfg)


def fixture_qwen3():
    cfg = dict(LLAMA, head_dim=16, qk_norm=True, windows=[None, 6])
    return build(3005, cfg)


FIXTURES = {
    "structure-pattern": fixture_pattern,
    "structure-runs": fixture_runs,
    "structure-neox": fixture_neox,
    "structure-gemma": fixture_gemma,
    "structure-qwen3": fixture_qwen3,
}


def main(argv):
    torch_version = torch.__version__.split("+")[0]
    return fx.write_fixtures(FIXTURES, lambda name: {"generator": "scripts/make-structure-fixtures.py", "torch": torch_version}, argv, max_bytes=MAX_BYTES)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
