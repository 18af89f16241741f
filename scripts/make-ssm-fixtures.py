#!/usr/bin/python3
"""Build the state-space parity fixtures test/fixtures/ssm-*.safetensors.

    /usr/bin/python3 scripts/make-ssm-fixtures.py          # writes the files
    /usr/bin/python3 scripts/make-ssm-fixtures.py --check  # rebuilds in memory, compares

Mamba-1 written from the paper (Gu & Dao 2023, Algorithm 2) and Hugging Face's
MambaMixer.slow_forward (modeling_mamba.py), not from specformer's code: a plain loop over time.

  in_proj → (x, z) halves; x ← silu(conv1d(x)[..., :L]) (depthwise, padding d_conv − 1);
  (dt, B, C) = split(x_proj(x), [dt_rank, N, N]); dt = softplus(dt_proj(dt));
  A = −exp(A_log); for t: h ← exp(dt_t · A) · h + dt_t · B_t · x_t; y_t = h · C_t;
  y ← (y + D · x) · silu(z); out_proj(y).
  MambaBlock: x + mixer(RMSNorm(x)); MambaModel: embeddings, blocks, norm_f; tied lm_head.

  * ssm-mamba: a pure Mamba LM, 2 layers, d 32, d_state 8, d_conv 4, expand 2, dt_rank 4,
    use_bias False, use_conv_bias True (specformer's `ssm mamba(state = 8, conv = 4, expand = 2,
    dt_rank = 4)`).
  * ssm-hybrid: 3 layers of the pattern (ssm × 2, attn): two Mamba blocks (d_state 4, d_conv 3,
    expand 2, dt_rank ceil(32 / 16) = 2, use_bias True, use_conv_bias False), then a LLaMA layer
    (RMSNorm, RoPE, GQA 4/2, SwiGLU); tied head.

Weights: matrices N(0, 1/fan_in), the conv's taps N(0, 1/d_conv), biases N(0, 0.1²), norm gains
U(0.5, 1.5), D U(0.5, 1.5); A_log = log(1..N) + U(−0.3, 0.3) (Mamba's S4D-real init, jittered);
dt_proj.bias = softplus⁻¹(U(0.05, 0.5)) so the steps decay the state at a visible rate.
Names are specformer's native ones (src/model/weights-layout.ts): embed.tokens.weight,
decoder.N.ssm_norm.weight, decoder.N.ssm.{in_proj, conv1d, x_proj, dt_proj, out_proj, A_log, D},
decoder.N.{attn_norm, attn.{q,k,v,o}, mlp_norm, mlp.{gate,up,down}}, norm.0.weight. Each file
holds the weights, input.tokens (I64 [2, 24]) and expected.logits (F32 [2, 24, 101]), float32,
one thread, fixed seeds: deterministic.
"""

import math
import os
import sys
from importlib import import_module

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
fx = import_module("make-fixtures")  # safetensors writer, randomize, RMSNorm, tokens, conditioning
st = import_module("make-structure-fixtures")  # LLaMA-style Attention and MLP (native names)

MAX_BYTES = 300_000


class MambaMixer(nn.Module):
    """HF MambaMixer, slow path only."""

    def __init__(self, d, d_state, d_conv, expand, dt_rank, bias, conv_bias):
        super().__init__()
        e = expand * d
        self.e, self.n, self.r, self.k = e, d_state, dt_rank, d_conv
        self.in_proj = nn.Linear(d, 2 * e, bias=bias)
        self.conv1d = nn.Conv1d(e, e, kernel_size=d_conv, groups=e, padding=d_conv - 1, bias=conv_bias)
        self.x_proj = nn.Linear(e, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, e, bias=True)
        self.A_log = nn.Parameter(torch.zeros(e, d_state))
        self.D = nn.Parameter(torch.ones(e))
        self.out_proj = nn.Linear(e, d, bias=bias)

    def forward(self, hidden_states):
        batch, seq_len, _ = hidden_states.shape
        projected = self.in_proj(hidden_states).transpose(1, 2)  # [b, 2E, L]
        x, gate = projected.chunk(2, dim=1)
        x = F.silu(self.conv1d(x)[..., :seq_len])  # [b, E, L]
        params = self.x_proj(x.transpose(1, 2))
        time_step, B, C = torch.split(params, [self.r, self.n, self.n], dim=-1)
        dt = F.softplus(self.dt_proj(time_step)).transpose(1, 2)  # [b, E, L]
        A = -torch.exp(self.A_log)
        dA = torch.exp(A[None, :, None, :] * dt[:, :, :, None])  # [b, E, L, N]
        dBu = dt[:, :, :, None] * B[:, None, :, :] * x[:, :, :, None]
        h = torch.zeros(batch, self.e, self.n, dtype=x.dtype)
        ys = []
        for i in range(seq_len):
            h = dA[:, :, i, :] * h + dBu[:, :, i, :]
            ys.append(torch.matmul(h, C[:, i, :].unsqueeze(-1))[:, :, 0])
        y = torch.stack(ys, dim=-1)  # [b, E, L]
        y = y + x * self.D[None, :, None]
        y = y * F.silu(gate)
        return self.out_proj(y.transpose(1, 2))


class SsmLayer(nn.Module):
    """MambaBlock: residual + mixer(RMSNorm(x)); weights ssm_norm and ssm."""

    def __init__(self, cfg):
        super().__init__()
        self.ssm_norm = fx.RMSNorm(cfg["d"], cfg["eps"])
        self.ssm = MambaMixer(cfg["d"], cfg["state"], cfg["conv"], cfg["expand"], cfg["dt_rank"], cfg["bias"], cfg["conv_bias"])

    def forward(self, x):
        return x + self.ssm(self.ssm_norm(x))


class AttnLayer(nn.Module):
    """A LLaMA decoder layer (pre-norm attention, then SwiGLU)."""

    def __init__(self, cfg):
        super().__init__()
        self.attn_norm = fx.RMSNorm(cfg["d"], cfg["eps"])
        self.attn = st.Attention(cfg, None)
        self.mlp_norm = fx.RMSNorm(cfg["d"], cfg["eps"])
        self.mlp = st.MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.attn_norm(x))
        return x + self.mlp(self.mlp_norm(x))


class HybridLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed = nn.ModuleDict({"tokens": nn.Embedding(cfg["vocab"], cfg["d"])})
        self.decoder = nn.ModuleList([SsmLayer(cfg) if kind == "ssm" else AttnLayer(cfg) for kind in cfg["layers"]])
        self.norm = nn.ModuleDict({"0": fx.RMSNorm(cfg["d"], cfg["eps"])})

    def forward(self, tokens):
        x = self.embed["tokens"](tokens)
        for layer in self.decoder:
            x = layer(x)
        return F.linear(self.norm["0"](x), self.embed["tokens"].weight)


def init_ssm(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, MambaMixer):
                m.conv1d.weight.normal_(0.0, 1.0 / math.sqrt(m.k))
                n = torch.arange(1, m.n + 1, dtype=torch.float32).repeat(m.e, 1)
                m.A_log.copy_(torch.log(n) + torch.empty_like(n).uniform_(-0.3, 0.3))
                dt = torch.empty(m.e).uniform_(0.05, 0.5)
                m.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus⁻¹(dt)


def build(seed, cfg, batch=2, seq=24):
    torch.manual_seed(seed)
    model = HybridLM(cfg)
    fx.randomize(model, embeddings=("embed.",))
    init_ssm(model)
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


def fixture_mamba():
    cfg = dict(vocab=101, d=32, eps=1e-5, state=8, conv=4, expand=2, dt_rank=4, bias=False, conv_bias=True, layers=["ssm", "ssm"])
    return build(4001, cfg)


def fixture_hybrid():
    cfg = dict(vocab=101, d=32, eps=1e-5, state=4, conv=3, expand=2, dt_rank=math.ceil(32 / 16), bias=True, conv_bias=False,
               heads=4, kv_heads=2, hidden=64, act="swiglu", rope_theta=10000.0, layers=["ssm", "ssm", "attn"])
    return build(4002, cfg)


FIXTURES = {"ssm-mamba": fixture_mamba, "ssm-hybrid": fixture_hybrid}


def main(argv):
    torch_version = torch.__version__.split("+")[0]
    return fx.write_fixtures(FIXTURES, lambda name: {"generator": "scripts/make-ssm-fixtures.py", "torch": torch_version}, argv, max_bytes=MAX_BYTES)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
