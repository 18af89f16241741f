#!/usr/bin/python3
"""Build test/fixtures/train-attn-dropout.safetensors: PyTorch's loss and gradients of a decoder
whose attention weights, sublayer outputs and embedding sum are dropped.

    /usr/bin/python3 scripts/make-attn-dropout-fixtures.py           # writes the fixture
    /usr/bin/python3 scripts/make-attn-dropout-fixtures.py --check   # rebuilds in memory, compares

The model is test/fixtures/train-attn-dropout.sf written out in PyTorch from the GPT-2 /
torch.nn.MultiheadAttention semantics (pre-norm LayerNorm, learned positions, causal GQA
attention with q/k/v/o biases, exact GELU, final norm, head tied to the token table), float64.
Dropout is inverted dropout, as torch.nn.Dropout: a kept element is scaled by 1 / (1 - p):
  * attention weights (torch.nn.MultiheadAttention's `dropout`, the Annotated Transformer's
    `dropout(p_attn)`): after the softmax, before the weights multiply v, at 0.2;
  * the attention sublayer's output before the residual add, at 0.2 (attention(dropout = 0.2));
  * the MLP's output before the residual add, and the sum of the embeddings, at 0.1
    (train(dropout = 0.1), Vaswani et al. section 5.4).
PyTorch's own RNG cannot be shared with specformer, so the keep-masks are the one shared piece:
keep iff hash32(seed, step, node, index) / 2^32 >= p, with hash32 ported below from
src/train/rng.ts's definition, `node` the id of the dropout's node in specformer's training
graph (NODES; the test checks the ids against the graph) and `index` the row-major element
index: of [batch, seq, d] for the elementwise dropouts, ((b * heads + h) * seq_q + i) * seq_k + j
for the weight of query i on key j in query head h. Softmax, attention, the masks' use,
the loss (F.cross_entropy, label_smoothing = 0.1) and autograd are PyTorch's.

The file holds (F64): every weight under specformer's native name (weight.<name>), input.tokens
(I64), input.targets (I64, -100 = ignored), expected.loss (training forward at SEED, STEP),
expected.loss_next (the same at STEP + 1: other masks), expected.eval_loss (model.eval(): no
dropout), grad.<name> (d expected.loss / d weight), check.hash32 (hash32 of a few tuples, for a
diagnosis of the port). Deterministic: fixed seeds, one thread.
"""

import importlib.util
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = os.path.join(ROOT, "test", "fixtures", "train-attn-dropout.safetensors")
_spec = importlib.util.spec_from_file_location("make_fixtures", os.path.join(ROOT, "scripts", "make-fixtures.py"))
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)

VOCAB, D, HEADS, KV_HEADS, LAYERS, CONTEXT, HIDDEN = 23, 16, 4, 2, 2, 16, 32
ATTN_P, MODEL_P, SMOOTHING, EPS = 0.2, 0.1, 0.1, 1e-5
SEED, STEP = 5, 3
IGNORE = -100
# Node ids of specformer's training graph for the spec (the test compares them with the graph).
NODES = {
    "embed.dropout": 70,
    "decoder.0.attn.scores": 17,
    "decoder.0.attn.dropout": 21,
    "decoder.0.mlp.dropout": 68,
    "decoder.1.attn.scores": 46,
    "decoder.1.attn.dropout": 50,
    "decoder.1.mlp.dropout": 69,
}

M32 = 0xFFFFFFFF


def fmix(h):
    """murmur3's 32-bit finaliser (rng.ts fmix)."""
    h &= M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    h ^= h >> 16
    return h


def hash32(*xs):
    """rng.ts hash32: every JS operation there is taken modulo 2^32."""
    h = 0x9E3779B9
    for x in xs:
        h = fmix((h ^ fmix((x & M32) + (x >> 32) * 0x27D4EB2F)) + 0x6B43A9B5)
    return h


def keep_mask(p, node, step, shape):
    """1 / (1 - p) where kept, 0 where dropped, over a row-major index of `shape`."""
    n = math.prod(shape)
    keep = [1.0 / (1.0 - p) if hash32(SEED, step, node, i) / 4294967296 >= p else 0.0 for i in range(n)]
    return torch.tensor(keep, dtype=torch.float64).reshape(shape)


class Dropout(nn.Module):
    """Inverted dropout with a given keep-mask source; the identity in eval mode."""

    def __init__(self, p, node):
        super().__init__()
        self.p, self.node, self.step = p, node, STEP

    def forward(self, x):
        if not self.training:
            return x
        return x * keep_mask(self.p, self.node, self.step, tuple(x.shape))


class Attention(nn.Module):
    """Causal multi-head attention with grouped k/v heads; weights dropped after the softmax."""

    def __init__(self, node):
        super().__init__()
        self.hd = D // HEADS
        self.q = nn.Linear(D, HEADS * self.hd)
        self.k = nn.Linear(D, KV_HEADS * self.hd)
        self.v = nn.Linear(D, KV_HEADS * self.hd)
        self.o = nn.Linear(HEADS * self.hd, D)
        # A [batch, heads, seq_q, seq_k] mask's row-major index is exactly the spec's
        # ((b * heads + h) * seq_q + i) * seq_k + j.
        self.weight_dropout = Dropout(ATTN_P, node)

    def forward(self, x):
        B, T, _ = x.shape
        q = self.q(x).view(B, T, HEADS, self.hd).transpose(1, 2)
        k = self.k(x).view(B, T, KV_HEADS, self.hd).transpose(1, 2).repeat_interleave(HEADS // KV_HEADS, dim=1)
        v = self.v(x).view(B, T, KV_HEADS, self.hd).transpose(1, 2).repeat_interleave(HEADS // KV_HEADS, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.hd)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        weights = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
        out = self.weight_dropout(weights) @ v
        return self.o(out.transpose(1, 2).reshape(B, T, HEADS * self.hd))


class Block(nn.Module):
    def __init__(self, i):
        super().__init__()
        self.attn_norm = nn.LayerNorm(D, eps=EPS)
        self.attn = Attention(NODES[f"decoder.{i}.attn.scores"])
        self.attn_drop = Dropout(ATTN_P, NODES[f"decoder.{i}.attn.dropout"])
        self.mlp_norm = nn.LayerNorm(D, eps=EPS)
        self.up = nn.Linear(D, HIDDEN)
        self.down = nn.Linear(HIDDEN, D)
        self.mlp_drop = Dropout(MODEL_P, NODES[f"decoder.{i}.mlp.dropout"])

    def forward(self, x):
        x = x + self.attn_drop(self.attn(self.attn_norm(x)))
        return x + self.mlp_drop(self.down(F.gelu(self.up(self.mlp_norm(x)))))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, D)
        self.pos = nn.Embedding(CONTEXT, D)
        self.embed_drop = Dropout(MODEL_P, NODES["embed.dropout"])
        self.blocks = nn.ModuleList([Block(i) for i in range(LAYERS)])
        self.norm = nn.LayerNorm(D, eps=EPS)

    def forward(self, tokens):
        x = self.embed_drop(self.tok(tokens) + self.pos(torch.arange(tokens.shape[1])))
        for b in self.blocks:
            x = b(x)
        return self.norm(x) @ self.tok.weight.T

    def set_step(self, step):
        for m in self.modules():
            if isinstance(m, Dropout):
                m.step = step


def native_names(model):
    """PyTorch parameter name → specformer's native weight name (weights-layout.ts)."""
    out = {"tok.weight": "embed.tokens.weight", "pos.weight": "position.weight", "norm.weight": "norm.0.weight", "norm.bias": "norm.0.bias"}
    for i in range(LAYERS):
        for pt, sf in [("attn_norm", "attn_norm"), ("mlp_norm", "mlp_norm"), ("attn.q", "attn.q"), ("attn.k", "attn.k"), ("attn.v", "attn.v"),
                       ("attn.o", "attn.o"), ("up", "mlp.up"), ("down", "mlp.down")]:
            for w in ("weight", "bias"):
                out[f"blocks.{i}.{pt}.{w}"] = f"decoder.{i}.{sf}.{w}"
    assert set(out) == {n for n, _ in model.named_parameters()}, "name map out of date"
    return out


def build():
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(1234)
    model = Decoder()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)
            elif "norm" in name:
                p.uniform_(0.5, 1.5)
            elif name in ("tok.weight", "pos.weight"):
                p.normal_(0, 0.5)
            else:
                p.normal_(0, 1 / math.sqrt(p.shape[1]))
    g = torch.Generator().manual_seed(77)
    tokens = torch.randint(0, VOCAB, (2, 9), generator=g)
    targets = torch.full_like(tokens, IGNORE)
    targets[:, :-1] = tokens[:, 1:]
    targets[1, -3:] = IGNORE

    def loss_of():
        logits = model(tokens)
        return F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), ignore_index=IGNORE, label_smoothing=SMOOTHING)

    model.train()
    loss = loss_of()
    loss.backward()
    names = native_names(model)
    grads = {names[n]: p.grad.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        model.set_step(STEP + 1)
        loss_next = loss_of()
        model.set_step(STEP)
        model.eval()
        eval_loss = loss_of()
    samples = [(0,), (1, 2, 3, 4), (SEED, STEP, 17, 5), (2**32 + 7,), (M32, 0, 2**40 + 3)]
    tensors = [(f"weight.{names[n]}", p.detach()) for n, p in model.named_parameters()]
    tensors += [("input.tokens", tokens), ("input.targets", targets),
                ("expected.loss", torch.tensor([loss.item()])), ("expected.loss_next", torch.tensor([loss_next.item()])),
                ("expected.eval_loss", torch.tensor([eval_loss.item()]))]
    tensors += [(f"grad.{n}", g) for n, g in grads.items()]
    tensors += [("check.hash32", torch.tensor([hash32(*s) for s in samples], dtype=torch.int64))]
    metadata = {"generator": "scripts/make-attn-dropout-fixtures.py", "spec": "test/fixtures/train-attn-dropout.sf", "torch": torch.__version__.split("+")[0],
                "seed": str(SEED), "step": str(STEP), "nodes": json.dumps(NODES, sort_keys=True), "hash32_samples": json.dumps(samples)}
    summary = f"loss {loss.item():.9f}, at step {STEP + 1} {loss_next.item():.9f}, eval {eval_loss.item():.9f}"
    return mf.safetensors_bytes(tensors, metadata), summary


def main(argv):
    torch.set_num_threads(1)
    data, summary = build()
    if "--check" in argv:
        with open(PATH, "rb") as f:
            same = f.read() == data
        print(f"train-attn-dropout: {'identical' if same else 'DIFFERS'} ({len(data)} bytes; {summary})")
        return 0 if same else 1
    with open(PATH, "wb") as f:
        f.write(data)
    print(f"wrote {os.path.relpath(PATH, ROOT)} ({len(data)} bytes; {summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
