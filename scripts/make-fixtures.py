#!/usr/bin/python3
"""Build the PyTorch parity fixtures in test/fixtures/.

Run with the interpreter that has torch (Debian's python3-torch):

    /usr/bin/python3 scripts/make-fixtures.py            # writes test/fixtures/*.safetensors
    /usr/bin/python3 scripts/make-fixtures.py --check    # rebuilds in memory, compares with the files

Each fixture is a small PyTorch model mirroring one of specs/tiny-*.sf, built with a fixed
seed, given random non-trivial weights (LayerNorm/RMSNorm gains and biases included, so a slip
in norm handling shows), run in eval mode in float32 on a batch of 2 random token rows. The
file holds:

  * the weights, under the names a PyTorch checkpoint of that architecture uses — this is what
    exercises src/runtime/name-maps.ts:
      - tiny-torch-encoder:     nn.TransformerEncoder state_dict names  (map "torch")
      - tiny-torch-transformer: the PyTorch tutorial's Seq2SeqTransformer (nn.Transformer under
                                `transformer.`)                           (map "torch")
      - tiny-gpt2:              Hugging Face GPT2Model names, Conv1D [in, out] layout, fused
                                c_attn, plus the attn.bias / attn.masked_bias buffers (map "gpt2")
      - tiny-llama:             Hugging Face LlamaForCausalLM names       (map "llama")
      - tiny-window, tiny-linear, tiny-alibi: our native names (src/model/weights-layout.ts)
  * the inputs: `input.tokens` (I64 [batch, seq]); `input.mask` (BOOL [batch, seq], 1 = real
    token) for the padded encoder; `input.src_tokens` (I64) and `input.src_mask` (BOOL) for the
    encoder-decoder. Padding is at the end of the second row. (PyTorch's key_padding_mask is the
    opposite convention, True = padding; the script negates it.)
  * `expected.logits` (F32 [batch, seq, vocab]).

The safetensors format is written by hand (no safetensors package): 8-byte little-endian
header length, a JSON header (space-padded to a multiple of 8), then the raw little-endian
tensor bytes, packed contiguously in header order. Output is deterministic: same seeds, same
insertion order, no timestamps.

Besides writing, the script checks each model against a float64 copy of itself (how well
conditioned the fixture is) and, for the torch.nn models, that PyTorch's fused inference fast
path agrees with the plain path used for the expected logits.
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")
MAX_BYTES = 200_000

# ---- safetensors writer ---------------------------------------------------------------------

_DTYPES = {
    torch.float32: ("F32", "<f4"),
    torch.float64: ("F64", "<f8"),
    torch.int64: ("I64", "<i8"),
    torch.int32: ("I32", "<i4"),
    torch.uint8: ("U8", "u1"),
    torch.bool: ("BOOL", "u1"),
}


def safetensors_bytes(tensors, metadata):
    """tensors: list of (name, torch.Tensor) in file order."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in tensors:
        if name in header:
            raise ValueError(f"duplicate tensor name {name}")
        t = t.detach().cpu().contiguous()
        dtype, np_dtype = _DTYPES[t.dtype]
        data = t.numpy().astype(np_dtype, copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    js = json.dumps(header, separators=(",", ":")).encode("utf-8")
    js += b" " * ((8 - len(js) % 8) % 8)
    return struct.pack("<Q", len(js)) + js + b"".join(blobs)


# ---- random weights -------------------------------------------------------------------------


def randomize(model, conv1d=(), embeddings=()):
    """Non-trivial weights in a fixed order (named_parameters order), from the global RNG.

    Matrices: N(0, 1/fan_in) (fan_in is dim 1 for nn.Linear-style [out, in], dim 0 for the
    Conv1D-style [in, out] parameters named in `conv1d`); embedding tables (names containing an
    entry of `embeddings`): N(0, 1); 1-D biases: N(0, 0.1²); 1-D norm gains: U(0.5, 1.5).
    """
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                if name.endswith("bias"):
                    p.normal_(0.0, 0.1)
                else:
                    p.uniform_(0.5, 1.5)
            elif any(e in name for e in embeddings):
                p.normal_(0.0, 1.0)
            else:
                fan_in = p.shape[0] if any(name.startswith(c) or ("." + c) in name for c in conv1d) else p.shape[1]
                p.normal_(0.0, 1.0 / math.sqrt(fan_in))


# ---- shared pieces --------------------------------------------------------------------------


class RMSNorm(nn.Module):
    """LlamaRMSNorm: x * rsqrt(mean(x²) + eps) * weight, in float32."""

    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(seq, dim, base, dtype):
    """HF LlamaRotaryEmbedding: inv_freq = 1 / base^(2i/dim), emb = cat(freqs, freqs)."""
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    t = torch.arange(seq, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def apply_rope(x, cos, sin):
    """x [B, H, T, hd]."""
    return x * cos + rotate_half(x) * sin


def repeat_kv(x, n_rep):
    """HF repeat_kv: [B, KV, T, hd] -> [B, KV * n_rep, T, hd]; query head h reads kv head h // n_rep."""
    if n_rep == 1:
        return x
    b, kv, t, hd = x.shape
    return x[:, :, None, :, :].expand(b, kv, n_rep, t, hd).reshape(b, kv * n_rep, t, hd)


def sinusoidal_table(n, d, dtype):
    """The PyTorch tutorial's PositionalEncoding: PE[p, 2i] = sin(p·w_i), PE[p, 2i+1] = cos(p·w_i)."""
    position = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.to(dtype)


def alibi_slopes(n):
    """BLOOM / the ALiBi paper's get_slopes, including the non-power-of-two rule."""

    def pow2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(n).is_integer():
        return pow2(n)
    closest = 2 ** math.floor(math.log2(n))
    return pow2(closest) + pow2(2 * closest)[0::2][: n - closest]


def gelu_new(x):
    """Hugging Face GPT-2's gelu_new (tanh approximation)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


# ---- PyTorch nn.TransformerEncoder language model (tiny-torch-encoder) -----------------------


class TorchEncoderLM(nn.Module):
    """nn.Embedding + learned positions + nn.TransformerEncoder (post-norm) + nn.Linear head.

    state_dict names (the `torch` map's encoder-only convention): embedding.weight,
    pos_embedding.weight, encoder.layers.N.{self_attn.in_proj_weight, ...}, generator.{weight,bias}.
    """

    def __init__(self, vocab, d, heads, ff, layers, context):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d)
        self.pos_embedding = nn.Embedding(context, d)
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation="relu", batch_first=True, norm_first=False)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=None, enable_nested_tensor=False)
        self.generator = nn.Linear(d, vocab)

    def forward(self, tokens, mask):
        """mask: bool [B, T], True = real token."""
        pos = torch.arange(tokens.shape[1])
        x = self.embedding(tokens) + self.pos_embedding(pos)[None]
        h = self.encoder(x, src_key_padding_mask=~mask)
        return self.generator(h)


# ---- the PyTorch tutorial's Seq2SeqTransformer (tiny-torch-transformer) ----------------------


class TokenEmbedding(nn.Module):
    def __init__(self, vocab, d):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d)
        self.d = d

    def forward(self, tokens):
        return self.embedding(tokens) * math.sqrt(self.d)


class PositionalEncoding(nn.Module):
    def __init__(self, d, maxlen):
        super().__init__()
        # Not persistent: the table is a function of (maxlen, d), not a weight.
        self.register_buffer("pos_embedding", sinusoidal_table(maxlen, d, torch.float32), persistent=False)

    def forward(self, x):
        return x + self.pos_embedding[: x.shape[1]].to(x.dtype)[None]


class Seq2SeqTransformer(nn.Module):
    """As in "Language Translation with nn.Transformer and torchtext" (batch_first, dropout 0)."""

    def __init__(self, src_vocab, tgt_vocab, d, heads, ff, layers, context):
        super().__init__()
        self.transformer = nn.Transformer(
            d_model=d,
            nhead=heads,
            num_encoder_layers=layers,
            num_decoder_layers=layers,
            dim_feedforward=ff,
            dropout=0.0,
            activation="relu",
            batch_first=True,
            norm_first=False,
        )
        self.generator = nn.Linear(d, tgt_vocab)
        self.src_tok_emb = TokenEmbedding(src_vocab, d)
        self.tgt_tok_emb = TokenEmbedding(tgt_vocab, d)
        self.positional_encoding = PositionalEncoding(d, context)

    def forward(self, src, src_mask, tgt):
        """src_mask: bool [B, S], True = real token."""
        t = tgt.shape[1]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)  # True = not allowed
        src_emb = self.positional_encoding(self.src_tok_emb(src))
        tgt_emb = self.positional_encoding(self.tgt_tok_emb(tgt))
        out = self.transformer(
            src_emb,
            tgt_emb,
            tgt_mask=causal,
            src_key_padding_mask=~src_mask,
            memory_key_padding_mask=~src_mask,
        )
        return self.generator(out)


# ---- Hugging Face GPT-2, written out (tiny-gpt2) ---------------------------------------------


class Conv1D(nn.Module):
    """transformers.pytorch_utils.Conv1D: weight [in, out], y = x @ W + b."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        size_out = x.shape[:-1] + (self.nf,)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(size_out)


class GPT2Attention(nn.Module):
    def __init__(self, d, heads, context):
        super().__init__()
        # The buffers old transformers versions save in every checkpoint; the gpt2 map ignores them.
        self.register_buffer("bias", torch.tril(torch.ones(context, context, dtype=torch.bool)).view(1, 1, context, context))
        self.register_buffer("masked_bias", torch.tensor(-1e4))
        self.heads = heads
        self.c_attn = Conv1D(3 * d, d)
        self.c_proj = Conv1D(d, d)

    def forward(self, x):
        b, t, c = x.shape
        hd = c // self.heads
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, hd).transpose(1, 2) for z in (q, k, v))
        w = q @ k.transpose(-1, -2) / math.sqrt(hd)
        causal = self.bias[:, :, :t, :t]
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        w = F.softmax(w, dim=-1)
        a = (w @ v).transpose(1, 2).reshape(b, t, c)
        return self.c_proj(a)


class GPT2MLP(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.c_fc = Conv1D(hidden, d)
        self.c_proj = Conv1D(d, hidden)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, d, heads, context, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = GPT2Attention(d, heads, context)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = GPT2MLP(d, 4 * d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    """state_dict: wte.weight, wpe.weight, h.N.{ln_1, attn.{bias, masked_bias, c_attn, c_proj},
    ln_2, mlp.{c_fc, c_proj}}, ln_f — as Hugging Face's `gpt2` checkpoint stores them."""

    def __init__(self, vocab, d, heads, layers, context, eps=1e-5):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(context, d)
        self.h = nn.ModuleList([GPT2Block(d, heads, context, eps) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d, eps=eps)

    def forward(self, tokens):
        pos = torch.arange(tokens.shape[1])
        x = self.wte(tokens) + self.wpe(pos)[None]
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        return x @ self.wte.weight.T  # GPT2LMHeadModel's lm_head, tied to wte


# ---- Hugging Face LLaMA, written out (tiny-llama) --------------------------------------------


class LlamaAttention(nn.Module):
    def __init__(self, d, heads, kv_heads, base):
        super().__init__()
        self.heads, self.kv_heads, self.hd, self.base = heads, kv_heads, d // heads, base
        self.q_proj = nn.Linear(d, heads * self.hd, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(heads * self.hd, d, bias=False)

    def forward(self, x):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        cos, sin = rope_cos_sin(t, self.hd, self.base, x.dtype)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        k = repeat_kv(k, self.heads // self.kv_heads)
        v = repeat_kv(v, self.heads // self.kv_heads)
        w = q @ k.transpose(2, 3) / math.sqrt(self.hd)
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        w = w.masked_fill(causal, torch.finfo(w.dtype).min)
        w = F.softmax(w, dim=-1)
        a = (w @ v).transpose(1, 2).reshape(b, t, -1)
        return self.o_proj(a)


class LlamaMLP(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.gate_proj = nn.Linear(d, hidden, bias=False)
        self.up_proj = nn.Linear(d, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, d, heads, kv_heads, hidden, eps, base):
        super().__init__()
        self.self_attn = LlamaAttention(d, heads, kv_heads, base)
        self.mlp = LlamaMLP(d, hidden)
        self.input_layernorm = RMSNorm(d, eps)
        self.post_attention_layernorm = RMSNorm(d, eps)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, vocab, d, heads, kv_heads, hidden, layers, eps, base):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList([LlamaDecoderLayer(d, heads, kv_heads, hidden, eps, base) for _ in range(layers)])
        self.norm = RMSNorm(d, eps)

    def forward(self, tokens):
        x = self.embed_tokens(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    """state_dict: model.embed_tokens.weight, model.layers.N.{self_attn.{q,k,v,o}_proj,
    mlp.{gate,up,down}_proj, input_layernorm, post_attention_layernorm}.weight, model.norm.weight,
    lm_head.weight."""

    def __init__(self, vocab, d, heads, kv_heads, hidden, layers, eps=1e-5, base=10000.0):
        super().__init__()
        self.model = LlamaModel(vocab, d, heads, kv_heads, hidden, layers, eps, base)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, tokens):
        return self.lm_head(self.model(tokens))


# ---- decoders under our native names (tiny-window, tiny-linear, tiny-alibi) ------------------


def make_norm(kind, d, eps):
    return nn.LayerNorm(d, eps=eps) if kind == "layer" else RMSNorm(d, eps)


class NativeAttention(nn.Module):
    """Causal self-attention with q/k/v/o projections (native `attn.{q,k,v,o}`).

    softmax: scores q·k/√hd, optional RoPE (rotate_half), ALiBi bias -slope_h·(i - j), sliding
    window (key j visible iff i - window < j <= i); linear: causal elu(x)+1 attention computed
    as fast_transformers' CausalLinearAttention does (prefix sums, eps = 1e-6 added to the
    denominator, no 1/√hd scale).
    """

    def __init__(self, cfg):
        super().__init__()
        d, h, kv = cfg["d"], cfg["heads"], cfg.get("kv_heads", cfg["heads"])
        self.cfg, self.heads, self.kv_heads, self.hd = cfg, h, kv, d // h
        bias = cfg.get("attn_bias", False)
        self.q = nn.Linear(d, h * self.hd, bias=bias)
        self.k = nn.Linear(d, kv * self.hd, bias=bias)
        self.v = nn.Linear(d, kv * self.hd, bias=bias)
        self.o = nn.Linear(h * self.hd, d, bias=bias)

    def forward(self, x):
        cfg = self.cfg
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        if cfg["position"] == "rope":
            cos, sin = rope_cos_sin(t, self.hd, cfg.get("rope_base", 10000.0), x.dtype)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        k = repeat_kv(k, self.heads // self.kv_heads)
        v = repeat_kv(v, self.heads // self.kv_heads)
        if cfg.get("attention") == "linear":
            fq, fk = F.elu(q) + 1, F.elu(k) + 1
            kv_state = torch.einsum("bhjd,bhje->bhjde", fk, v).cumsum(dim=2)  # Σ_{j<=i} φ(k_j) v_jᵀ
            z = fk.cumsum(dim=2)  # Σ_{j<=i} φ(k_j)
            num = torch.einsum("bhid,bhide->bhie", fq, kv_state)
            den = torch.einsum("bhid,bhid->bhi", fq, z) + 1e-6
            a = num / den[..., None]
        else:
            w = q @ k.transpose(2, 3) / math.sqrt(self.hd)
            i = torch.arange(t)[:, None]
            j = torch.arange(t)[None, :]
            allowed = j <= i
            if cfg.get("window") is not None:
                allowed = allowed & (i - j < cfg["window"])
            if cfg["position"] == "alibi":
                slopes = torch.tensor(alibi_slopes(self.heads), dtype=x.dtype)
                w = w - slopes[:, None, None] * (i - j).to(x.dtype)[None]
            w = w.masked_fill(~allowed, float("-inf"))
            w = F.softmax(w, dim=-1)
            a = w @ v
        return self.o(a.transpose(1, 2).reshape(b, t, -1))


class NativeMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hidden, bias = cfg["d"], cfg["hidden"], cfg.get("mlp_bias", False)
        self.act = cfg["act"]
        if self.act == "swiglu":
            self.gate = nn.Linear(d, hidden, bias=bias)
        self.up = nn.Linear(d, hidden, bias=bias)
        self.down = nn.Linear(hidden, d, bias=bias)

    def forward(self, x):
        if self.act == "swiglu":
            return self.down(F.silu(self.gate(x)) * self.up(x))
        u = self.up(x)
        if self.act == "gelu":
            u = F.gelu(u)
        elif self.act == "gelu_tanh":
            u = F.gelu(u, approximate="tanh")
        else:
            raise ValueError(self.act)
        return self.down(u)


class NativeLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attn_norm = make_norm(cfg["norm"], cfg["d"], cfg["eps"])
        self.attn = NativeAttention(cfg)
        self.mlp_norm = make_norm(cfg["norm"], cfg["d"], cfg["eps"])
        self.mlp = NativeMLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.attn_norm(x))
        return x + self.mlp(self.mlp_norm(x))


class NativeDecoderLM(nn.Module):
    """A pre-norm causal decoder whose state_dict names are our native names: embed.tokens.weight,
    norm.K.*, decoder.N.{attn_norm, attn.{q,k,v,o}, mlp_norm, mlp.{gate,up,down}}, head.weight."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.ModuleDict({"tokens": nn.Embedding(cfg["vocab"], cfg["d"])})
        n_norms = 1 + (1 if cfg.get("embed_norm") else 0)
        self.norm = nn.ModuleDict({str(i): make_norm(cfg["norm"], cfg["d"], cfg["eps"]) for i in range(n_norms)})
        self.decoder = nn.ModuleList([NativeLayer(cfg) for _ in range(cfg["layers"])])
        if cfg["head"] == "linear":
            self.head = nn.Linear(cfg["d"], cfg["vocab"], bias=False)

    def forward(self, tokens):
        cfg = self.cfg
        x = self.embed["tokens"](tokens)
        if cfg["position"] == "sinusoidal":
            x = x + sinusoidal_table(tokens.shape[1], cfg["d"], torch.float32).to(x.dtype)[None]
        k = 0
        if cfg.get("embed_norm"):
            x = self.norm[str(k)](x)
            k += 1
        for layer in self.decoder:
            x = layer(x)
        x = self.norm[str(k)](x)
        if cfg["head"] == "linear":
            return self.head(x)
        return x @ self.embed["tokens"].weight.T


# ---- fixtures -------------------------------------------------------------------------------


def tokens(vocab, batch, seq):
    return torch.randint(0, vocab, (batch, seq), dtype=torch.int64)


def pad_mask(batch, seq, pad):
    """True = real token; the last `pad` positions of the second row are padding."""
    m = torch.ones(batch, seq, dtype=torch.bool)
    m[1, seq - pad :] = False
    return m


def conditioning(model, run):
    """max |f32 - f64| of the logits, and max |f64 logits|."""
    m64 = _clone_f64(model)
    with torch.no_grad():
        a = run(model).double()
        b = run(m64)
    return (a - b).abs().max().item(), b.abs().max().item()


def _clone_f64(model):
    import copy

    m = copy.deepcopy(model).double()
    return m


def fixture_torch_encoder():
    torch.manual_seed(1001)
    vocab, d, heads, ff, layers, context = 101, 32, 4, 64, 2, 32
    model = TorchEncoderLM(vocab, d, heads, ff, layers, context)
    randomize(model, embeddings=("embedding",))
    model.eval()
    batch, seq = 2, 12
    toks = tokens(vocab, batch, seq)
    mask = pad_mask(batch, seq, 4)
    toks[~mask] = 0  # pad id
    # Grad enabled, so PyTorch takes the plain (non-fused) path: every query row, padded ones
    # included, gets a well-defined output (a padded query still attends to the real keys).
    logits = model(toks, mask).detach()
    with torch.no_grad():  # fused fast path: must agree on the real positions
        fast = model(toks, mask)
    checks = {"fast_path_vs_plain_real_rows": (fast - logits)[mask].abs().max().item()}
    checks["f32_vs_f64"], checks["max_abs"] = conditioning(model, lambda m: m(toks, mask))
    tensors = list(model.state_dict().items())
    tensors += [("input.tokens", toks), ("input.mask", mask), ("expected.logits", logits)]
    return tensors, checks


def fixture_torch_transformer():
    torch.manual_seed(1002)
    src_vocab, vocab, d, heads, ff, layers, context = 61, 71, 32, 4, 48, 2, 32
    model = Seq2SeqTransformer(src_vocab, vocab, d, heads, ff, layers, context)
    randomize(model, embeddings=("tok_emb",))
    model.eval()
    batch, src_seq, seq = 2, 11, 9
    src = tokens(src_vocab, batch, src_seq)
    src_mask = pad_mask(batch, src_seq, 3)
    src[~src_mask] = 0
    tgt = tokens(vocab, batch, seq)
    logits = model(src, src_mask, tgt).detach()
    with torch.no_grad():
        fast = model(src, src_mask, tgt)
    checks = {"fast_path_vs_plain": (fast - logits).abs().max().item()}
    checks["f32_vs_f64"], checks["max_abs"] = conditioning(model, lambda m: m(src, src_mask, tgt))
    tensors = list(model.state_dict().items())
    tensors += [
        ("input.src_tokens", src),
        ("input.src_mask", src_mask),
        ("input.tokens", tgt),
        ("expected.logits", logits),
    ]
    return tensors, checks


def fixture_gpt2():
    torch.manual_seed(1003)
    vocab, d, heads, layers, context = 101, 32, 4, 2, 32
    model = GPT2Model(vocab, d, heads, layers, context)
    randomize(model, conv1d=("c_attn", "c_proj", "c_fc"), embeddings=("wte", "wpe"))
    model.eval()
    toks = tokens(vocab, 2, 16)
    with torch.no_grad():
        logits = model(toks)
    checks = {}
    checks["f32_vs_f64"], checks["max_abs"] = conditioning(model, lambda m: m(toks))
    tensors = list(model.state_dict().items())
    tensors += [("input.tokens", toks), ("expected.logits", logits)]
    return tensors, checks


def fixture_llama():
    torch.manual_seed(1004)
    vocab, d, heads, kv_heads, hidden, layers = 101, 32, 4, 2, 88, 2
    model = LlamaForCausalLM(vocab, d, heads, kv_heads, hidden, layers)
    randomize(model, embeddings=("embed_tokens",))
    model.eval()
    toks = tokens(vocab, 2, 16)
    with torch.no_grad():
        logits = model(toks)
    checks = {}
    checks["f32_vs_f64"], checks["max_abs"] = conditioning(model, lambda m: m(toks))
    tensors = list(model.state_dict().items())
    tensors += [("input.tokens", toks), ("expected.logits", logits)]
    return tensors, checks


def native_fixture(seed, cfg, seq=16):
    torch.manual_seed(seed)
    model = NativeDecoderLM(cfg)
    randomize(model, embeddings=("embed.",))
    model.eval()
    toks = tokens(cfg["vocab"], 2, seq)
    with torch.no_grad():
        logits = model(toks)
    checks = {}
    checks["f32_vs_f64"], checks["max_abs"] = conditioning(model, lambda m: m(toks))
    tensors = list(model.state_dict().items())
    tensors += [("input.tokens", toks), ("expected.logits", logits)]
    return tensors, checks


def fixture_window():
    cfg = dict(vocab=101, d=32, heads=4, kv_heads=2, layers=2, hidden=64, norm="rms", eps=1e-5,
               position="rope", rope_base=10000.0, window=8, act="swiglu", head="linear")
    return native_fixture(1005, cfg)


def fixture_linear():
    cfg = dict(vocab=101, d=32, heads=4, layers=2, hidden=128, norm="layer", eps=1e-5,
               position="sinusoidal", attention="linear", attn_bias=True, mlp_bias=True, act="gelu", head="tied")
    return native_fixture(1006, cfg)


def fixture_alibi():
    cfg = dict(vocab=97, d=40, heads=5, layers=2, hidden=160, norm="layer", eps=1e-5, embed_norm=True,
               position="alibi", attn_bias=True, mlp_bias=True, act="gelu_tanh", head="tied")
    return native_fixture(1007, cfg)


FIXTURES = {
    "tiny-torch-encoder": fixture_torch_encoder,
    "tiny-torch-transformer": fixture_torch_transformer,
    "tiny-gpt2": fixture_gpt2,
    "tiny-llama": fixture_llama,
    "tiny-window": fixture_window,
    "tiny-linear": fixture_linear,
    "tiny-alibi": fixture_alibi,
}


def write_fixtures(fixtures, metadata, argv, max_bytes=MAX_BYTES):
    """Builds each fixture (name -> () -> (tensors, checks)) and writes test/fixtures/NAME.safetensors,
    or with --check in argv compares with the file. Fails (returns 1) on a file over max_bytes,
    logits more than 1e-5 (relative) from float64, or a `fast_path*` check over 1e-4.
    `metadata(name)` is the header's __metadata__."""
    check_only = "--check" in argv
    torch.set_num_threads(1)  # one thread: reductions in a fixed order, so reruns are bit-identical
    os.makedirs(OUT_DIR, exist_ok=True)
    failed = False
    for name, build in fixtures.items():
        tensors, checks = build()
        data = safetensors_bytes(tensors, metadata(name))
        path = os.path.join(OUT_DIR, f"{name}.safetensors")
        if len(data) >= max_bytes:
            print(f"{name}: {len(data)} bytes, over the {max_bytes}-byte budget", file=sys.stderr)
            failed = True
        ratio = checks["f32_vs_f64"] / max(1.0, checks["max_abs"])
        if ratio > 1e-5:
            print(f"{name}: float32 logits are {ratio:.1e} (relative) from float64; too ill-conditioned", file=sys.stderr)
            failed = True
        for k, v in checks.items():
            if k.startswith("fast_path") and v > 1e-4:
                print(f"{name}: {k} = {v:.2e}", file=sys.stderr)
                failed = True
        summary = ", ".join(f"{k} {v:.2e}" for k, v in checks.items())
        if check_only:
            with open(path, "rb") as f:
                same = f.read() == data
            print(f"{name}: {'identical' if same else 'DIFFERS'} ({len(data)} bytes; {summary})")
            failed |= not same
        else:
            with open(path, "wb") as f:
                f.write(data)
            print(f"{name}: wrote {os.path.relpath(path, ROOT)} ({len(data)} bytes; {summary})")
    return 1 if failed else 0


def main(argv):
    torch_version = torch.__version__.split("+")[0]
    return write_fixtures(FIXTURES, lambda name: {"generator": "scripts/make-fixtures.py", "spec": f"specs/{name}.sf", "torch": torch_version}, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
