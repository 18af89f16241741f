#!/usr/bin/env python3
"""Export specs/bench-peers.sf weights to ONNX, for running onnxruntime-web on the same model.

    python3 scripts/export-onnx.py --weights W.safetensors --out-dir DIR [--q4 Q.safetensors]
        [--context 2048] [--heads 8] [--eps 1e-5] [--accuracy-level N]

W is a specformer f32 checkpoint of specs/bench-peers.sf (native names: embed.tokens.weight,
position.weight, decoder.N.{attn_norm, attn.{q,k,v,o}, mlp_norm, mlp.{up,down}}, norm.0; tied
head), Q the same weights after `specformer quantize W --spec specs/bench-peers.sf --to q4`.
Writes, each with a dynamic batch and seq (opset 14):

  DIR/f32.onnx     tokens int64 [batch, seq] -> logits f32 [batch, seq, vocab]
  DIR/f32-kv.onnx  tokens, past_{k,v}_L [batch, heads, past, hd] -> logits, present_{k,v}_L
  DIR/q4.onnx, DIR/q4-kv.onnx  (with --q4) the same graphs, every linear of the decoder blocks a
                   com.microsoft MatMulNBits (bits 4, block 32, default zero point 8) whose B is
                   the q4 file's bytes as they are and whose scales are its f16 scales widened to
                   f32; the tied head a MatMulNBits with bits 8 (zero point 128) over the file's
                   q8 table (codes + 128), and the embedding gathers the q8 table dequantised.

The network is written here independently of specformer (GPT-2 style pre-norm decoder, exact
GELU as the spec's `act = gelu`, causal softmax attention with bias), in PyTorch, and exported
by torch.onnx.export; specformer's reference backend is the oracle it is checked against
(bench/peers-ort.ts). Prints one JSON line naming the files written. Exit 3: numpy or torch missing.
"""

import argparse
import json
import math
import os
import struct
import sys
import warnings

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # bench/peers-ort.ts skips on exit status 3
    print(f"export-onnx: {e}", file=sys.stderr)
    sys.exit(3)

BLOCK = 32
_NP = {"F32": np.float32, "F16": np.float16, "I8": np.int8, "U8": np.uint8}


def read_safetensors(path):
    """{name: np.ndarray}; only the dtypes a specformer (low-bit) checkpoint holds."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        (n,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8 : 8 + n])
    except (OSError, struct.error, ValueError) as e:
        raise SystemExit(f"export-onnx: cannot read {path} as safetensors: {e}")
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _NP:
            raise SystemExit(f"export-onnx: {path}: tensor {name} has dtype {info['dtype']}; expected F32, F16, I8 or U8")
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + a : base + b], dtype=_NP[info["dtype"]]).reshape(info["shape"])
    return out, header.get("__metadata__", {})


# ---- linears: f32 and MatMulNBits ------------------------------------------------------------


class MatMulNBitsFn(torch.autograd.Function):
    """y = x @ dequant(B)^T; exported as com.microsoft::MatMulNBits. The PyTorch forward (used
    while tracing) dequantises as the contrib op's spec says: w = scale * (code - 2^(bits-1))."""

    @staticmethod
    def forward(ctx, x, B, scales, K, N, bits):
        if bits == 4:
            codes = torch.stack((B & 15, B >> 4), dim=-1).reshape(N, -1).to(torch.float32) - 8.0
        else:
            codes = B.reshape(N, -1).to(torch.float32) - 128.0
        w = (codes.reshape(N, -1, BLOCK) * scales.reshape(N, -1, 1)).reshape(N, -1)[:, :K]
        return x @ w.T

    @staticmethod
    def symbolic(g, x, B, scales, K, N, bits):
        # ORT infers the output shape itself; torch warns that it cannot (the op is not in its registry).
        return g.op("com.microsoft::MatMulNBits", x, B, scales, K_i=K, N_i=N, bits_i=bits, block_size_i=BLOCK, accuracy_level_i=ACCURACY_LEVEL)


ACCURACY_LEVEL = 0  # --accuracy-level; 0 = unset (ORT's default, f32 activations)


class Linear(nn.Module):
    def __init__(self, w, b):
        super().__init__()
        self.weight = nn.Parameter(torch.from_numpy(np.array(w, dtype=np.float32)))
        self.bias = nn.Parameter(torch.from_numpy(np.array(b, dtype=np.float32))) if b is not None else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class NBitsLinear(nn.Module):
    """A q4 (or q8) specformer weight as MatMulNBits' inputs: B uint8 [N, nb, 16 | 32], scales f32 [N * nb]."""

    def __init__(self, codes, scales, K, bits, b=None):
        super().__init__()
        N, nb = scales.shape
        if bits == 4:
            B = np.array(codes, dtype=np.uint8).reshape(N, nb, BLOCK // 2)  # specformer's q4 bytes, as they are
        else:
            B = (np.array(codes, dtype=np.int16) + 128).astype(np.uint8).reshape(N, nb, BLOCK)  # q8 code + zero point 128
        self.K, self.N, self.bits = K, N, bits
        self.register_buffer("B", torch.from_numpy(B))
        self.register_buffer("scales", torch.from_numpy(np.array(scales, dtype=np.float16).astype(np.float32).reshape(-1)))
        self.bias = nn.Parameter(torch.from_numpy(np.array(b, dtype=np.float32))) if b is not None else None

    def forward(self, x):
        y = MatMulNBitsFn.apply(x, self.B, self.scales, self.K, self.N, self.bits)
        return y + self.bias if self.bias is not None else y


def dequant_q8(codes, scales):
    N, nb = scales.shape
    w = codes.astype(np.float32).reshape(N, nb, BLOCK) * scales.astype(np.float32).reshape(N, nb, 1)
    return w.reshape(N, nb * BLOCK)


# ---- the network ------------------------------------------------------------------------------


class Block(nn.Module):
    def __init__(self, t, i, linear, heads, eps):
        super().__init__()
        p = f"decoder.{i}."
        self.heads, self.hd = heads, t[p + "attn_norm.weight"].shape[0] // heads  # python ints: constants in the graph
        self.ln1 = nn.LayerNorm(t[p + "attn_norm.weight"].shape[0], eps=eps)
        self.ln2 = nn.LayerNorm(t[p + "mlp_norm.weight"].shape[0], eps=eps)
        with torch.no_grad():
            for ln, name in ((self.ln1, "attn_norm"), (self.ln2, "mlp_norm")):
                ln.weight.copy_(torch.from_numpy(np.array(t[p + name + ".weight"])))
                ln.bias.copy_(torch.from_numpy(np.array(t[p + name + ".bias"])))
        self.q, self.k, self.v, self.o = (linear(p + "attn." + n) for n in "qkvo")
        self.up, self.down = linear(p + "mlp.up"), linear(p + "mlp.down")

    def forward(self, x, past_k=None, past_v=None):
        b, s, d = x.shape[0], x.shape[1], self.hd * self.heads
        h, hd = self.heads, self.hd
        split = lambda z: z.reshape(b, s, h, hd).transpose(1, 2)
        n1 = self.ln1(x)
        q, k, v = split(self.q(n1)), split(self.k(n1)), split(self.v(n1))
        if past_k is not None:
            k, v = torch.cat((past_k, k), dim=2), torch.cat((past_v, v), dim=2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        # Query i (at absolute position past + i) sees keys j <= past + i.
        past = k.shape[2] - s
        qi = torch.arange(s).reshape(s, 1) + past
        kj = torch.arange(k.shape[2]).reshape(1, -1)
        scores = scores.masked_fill(kj > qi, float("-inf"))
        a = (F.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, s, d)
        x = x + self.o(a)
        x = x + self.down(F.gelu(self.up(self.ln2(x))))
        return x, k, v


class GPT(nn.Module):
    def __init__(self, t, embed, head, linear, layers, heads, eps):
        super().__init__()
        self.register_buffer("wte", torch.from_numpy(np.array(embed, dtype=np.float32)))
        self.register_buffer("wpe", torch.from_numpy(np.array(t["position.weight"], dtype=np.float32)))
        self.blocks = nn.ModuleList([Block(t, i, linear, heads, eps) for i in range(layers)])
        self.ln_f = nn.LayerNorm(self.wte.shape[1], eps=eps)
        with torch.no_grad():
            self.ln_f.weight.copy_(torch.from_numpy(np.array(t["norm.0.weight"])))
            self.ln_f.bias.copy_(torch.from_numpy(np.array(t["norm.0.bias"])))
        self.head = head  # None: x @ wte^T (tied, f32)

    def forward(self, tokens, *past):
        s = tokens.shape[1]
        start = past[0].shape[2] if past else 0
        x = F.embedding(tokens, self.wte) + self.wpe[start : start + s].unsqueeze(0)
        present = []
        for i, blk in enumerate(self.blocks):
            x, k, v = blk(x, *(past[2 * i : 2 * i + 2] if past else ()))
            present += [k, v]
        x = self.ln_f(x)
        logits = self.head(x) if self.head is not None else x @ self.wte.T
        return (logits, *present) if past else logits


def build(t, q4, layers, heads, eps):
    if q4 is None:
        linear = lambda p: Linear(t[p + ".weight"], t[p + ".bias"])
        return GPT(t, t["embed.tokens.weight"], None, linear, layers, heads, eps)

    def linear(p):
        if q4[p + ".weight"].dtype != np.uint8:
            raise SystemExit(f"export-onnx: {p}.weight in the q4 file is {q4[p + '.weight'].dtype}, expected q4 (U8)")
        return NBitsLinear(q4[p + ".weight"], q4[p + ".weight.scales"], t[p + ".weight"].shape[1], 4, q4[p + ".bias"])

    table, scales = q4["embed.tokens.weight"], q4["embed.tokens.weight.scales"]
    if table.dtype != np.int8:
        raise SystemExit(f"export-onnx: embed.tokens.weight in the q4 file is {table.dtype}, expected q8 (I8)")
    d = t["embed.tokens.weight"].shape[1]
    head = NBitsLinear(table, scales, d, 8)
    return GPT(q4, dequant_q8(table, scales)[:, :d], head, linear, layers, heads, eps)


def export(model, path, layers, heads, d, kv, nbits):
    tokens = torch.tensor([[1, 5, 9, 3, 7]], dtype=torch.int64)
    names_past = [f"past_{kv_}_{i}" for i in range(layers) for kv_ in "kv"]
    names_present = [f"present_{kv_}_{i}" for i in range(layers) for kv_ in "kv"]
    if kv:
        # A non-empty past while tracing, so the exporter cannot fold its length to a constant.
        past = tuple(torch.randn(1, heads, 3, d // heads) for _ in range(2 * layers))
        args, inputs, outputs = (tokens, *past), ["tokens", *names_past], ["logits", *names_present]
        axes = {"tokens": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
        axes.update({n: {0: "batch", 2: "past"} for n in names_past})
        axes.update({n: {0: "batch", 2: "total"} for n in names_present})
    else:
        args, inputs, outputs = (tokens,), ["tokens"], ["logits"]
        axes = {"tokens": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    torch.onnx.export(
        model, args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes, opset_version=14,
        custom_opsets={"com.microsoft": 1} if nbits else None, do_constant_folding=True,
    )


def main():
    global ACCURACY_LEVEL
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--q4")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--eps", type=float, default=1e-5)
    ap.add_argument("--accuracy-level", type=int, default=0)
    a = ap.parse_args()
    ACCURACY_LEVEL = a.accuracy_level
    warnings.filterwarnings("ignore")  # the tracer's and exporter's notes on the custom op; errors still raise
    torch.set_num_threads(1)
    t, meta = read_safetensors(a.weights)
    if "specformer.quant" in meta:
        raise SystemExit(f"export-onnx: {a.weights} is a low-bit file; --weights takes the f32 checkpoint, --q4 its `specformer quantize --to q4` file")
    missing = [n for n in ("embed.tokens.weight", "position.weight", "norm.0.weight", "decoder.0.attn.q.weight") if n not in t]
    if missing:
        raise SystemExit(f"export-onnx: {a.weights} is not a specformer bench-peers checkpoint (missing {', '.join(missing)})")
    layers = 1 + max(int(n.split(".")[1]) for n in t if n.startswith("decoder."))
    d = t["embed.tokens.weight"].shape[1]
    q4 = None
    if a.q4:
        q4, qmeta = read_safetensors(a.q4)
        if qmeta.get("specformer.block_size") != str(BLOCK):
            raise SystemExit(f"export-onnx: {a.q4} is not a specformer low-bit file with blocks of {BLOCK} (its __metadata__ has no specformer.block_size = {BLOCK})")
    os.makedirs(a.out_dir, exist_ok=True)
    written = []
    for label, src in (("f32", None), ("q4", q4)) if q4 is not None else (("f32", None),):
        model = build(t, src, layers, a.heads, a.eps).eval()
        with torch.no_grad():
            for kv in (False, True):
                path = os.path.join(a.out_dir, f"{label}{'-kv' if kv else ''}.onnx")
                export(model, path, layers, a.heads, d, kv, src is not None)
                written.append(os.path.basename(path))
    print(json.dumps({"out_dir": a.out_dir, "written": written, "torch": torch.__version__, "opset": 14}))


if __name__ == "__main__":
    main()
