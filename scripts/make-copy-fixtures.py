#!/usr/bin/python3
"""Build the Hard-ALiBi parity fixtures test/fixtures/hardalibi-*.safetensors.

    /usr/bin/python3 scripts/make-copy-fixtures.py            # writes the files
    /usr/bin/python3 scripts/make-copy-fixtures.py --check    # rebuilds in memory, compares

Hard-ALiBi as Jelassi, Brandfonbrener, Kakade & Malach 2024 ("Repeat After Me", section 4.1)
define it: of the H heads of a causal self-attention, head h < k (k = the masked heads) sees
only the keys at distances 0..h from its query — the last h + 1 tokens — with no other bias;
the remaining H - k heads see every earlier token, either with nothing (NoPE, the paper's
choice) or with ALiBi slopes (Press et al. 2022) computed for those H - k heads. Written here
from that definition as an explicit [H, T, T] additive mask, independently of specformer's
kernels (which walk visible keys and never form the mask).

Each fixture is a pre-norm decoder under specformer's native names (scripts/make-fixtures.py's
NativeMLP, make_norm, randomize and writer are reused; the attention is this file's own) with
random non-trivial weights. The file holds the weights, input.tokens (I64 [2, T]),
expected.logits (F32 [2, T, V]), input.targets (I64, next tokens, the last of each row -100)
and grad.<name> (F32): PyTorch autograd of the mean cross-entropy over the counted targets.

  hardalibi-nope:   4 heads, 2 masked, the rest NoPE      (position hard_alibi(local_heads = 2, rest = none))
  hardalibi-alibi:  6 heads, 3 masked, the rest ALiBi     (position hard_alibi(local_heads = 3))
"""

import importlib.util
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("make_fixtures", os.path.join(ROOT, "scripts", "make-fixtures.py"))
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)

IGNORE = -100


def hard_alibi_bias(heads, masked, rest, t, dtype):
    """[heads, t, t] additive bias: 0 where visible (plus ALiBi on the unmasked heads), -inf elsewhere."""
    i = torch.arange(t)[:, None]
    j = torch.arange(t)[None, :]
    dist = (i - j).to(dtype)
    bias = torch.zeros(heads, t, t, dtype=dtype)
    for h in range(heads):
        if h < masked:
            visible = (j <= i) & (i - j <= h)  # the last h + 1 tokens, the query's own included
        else:
            visible = j <= i
            if rest == "alibi":
                bias[h] = -mf.alibi_slopes(heads - masked)[h - masked] * dist
        bias[h] = bias[h].masked_fill(~visible, float("-inf"))
    return bias


class HardAlibiAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, h = cfg["d"], cfg["heads"]
        self.cfg, self.heads, self.hd = cfg, h, d // h
        self.q = nn.Linear(d, d, bias=True)
        self.k = nn.Linear(d, d, bias=True)
        self.v = nn.Linear(d, d, bias=True)
        self.o = nn.Linear(d, d, bias=True)

    def forward(self, x):
        b, t, _ = x.shape
        split = lambda y: y.view(b, t, self.heads, self.hd).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        w = q @ k.transpose(2, 3) / math.sqrt(self.hd)
        w = w + hard_alibi_bias(self.heads, self.cfg["masked"], self.cfg["rest"], t, x.dtype)[None]
        a = F.softmax(w, dim=-1) @ v
        return self.o(a.transpose(1, 2).reshape(b, t, -1))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attn_norm = mf.make_norm("layer", cfg["d"], 1e-5)
        self.attn = HardAlibiAttention(cfg)
        self.mlp_norm = mf.make_norm("layer", cfg["d"], 1e-5)
        self.mlp = mf.NativeMLP(dict(d=cfg["d"], hidden=2 * cfg["d"], act="gelu", mlp_bias=True))

    def forward(self, x):
        x = x + self.attn(self.attn_norm(x))
        return x + self.mlp(self.mlp_norm(x))


class HardAlibiLM(nn.Module):
    """embed.tokens, decoder.N.{attn_norm, attn.{q,k,v,o}, mlp_norm, mlp.{up,down}}, norm.0; tied head."""

    def __init__(self, cfg):
        super().__init__()
        self.embed = nn.ModuleDict({"tokens": nn.Embedding(cfg["vocab"], cfg["d"])})
        self.decoder = nn.ModuleList([Layer(cfg) for _ in range(cfg["layers"])])
        self.norm = nn.ModuleDict({"0": mf.make_norm("layer", cfg["d"], 1e-5)})

    def forward(self, tokens):
        x = self.embed["tokens"](tokens)
        for layer in self.decoder:
            x = layer(x)
        return self.norm["0"](x) @ self.embed["tokens"].weight.T


def fixture(seed, cfg, seq=14):
    def build():
        torch.manual_seed(seed)
        model = HardAlibiLM(cfg)
        mf.randomize(model, embeddings=("embed.",))
        toks = mf.tokens(cfg["vocab"], 2, seq)
        targets = torch.cat([toks[:, 1:], torch.full((2, 1), IGNORE)], dim=1)
        logits = model(toks)
        loss = F.cross_entropy(logits.reshape(-1, cfg["vocab"]), targets.reshape(-1), ignore_index=IGNORE)
        loss.backward()
        checks = {}
        checks["f32_vs_f64"], checks["max_abs"] = mf.conditioning(model, lambda m: m(toks))
        tensors = [(n, p.detach()) for n, p in model.state_dict().items()]
        tensors += [("input.tokens", toks), ("expected.logits", logits.detach()), ("input.targets", targets)]
        tensors += [("expected.loss", loss.detach().double().reshape(1))]
        tensors += [(f"grad.{n}", p.grad.detach()) for n, p in model.named_parameters()]
        return tensors, checks

    return build


FIXTURES = {
    "hardalibi-nope": fixture(1301, dict(vocab=29, d=32, heads=4, layers=2, masked=2, rest="none")),
    "hardalibi-alibi": fixture(1302, dict(vocab=29, d=24, heads=6, layers=2, masked=3, rest="alibi")),
}


def main(argv):
    version = torch.__version__.split("+")[0]
    meta = lambda name: {"generator": "scripts/make-copy-fixtures.py", "torch": version}
    return mf.write_fixtures(FIXTURES, meta, argv, max_bytes=300_000)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
