#!/usr/bin/env python3
"""GGUF fixtures for test/gguf.test.ts, written from the GGUF and ggml specifications, not
from specformer's code:

  test/fixtures/gguf/llama-hf/        a tiny LlamaForCausalLM checkpoint (config.json,
                                      model.safetensors): 2 layers, d 64, 4 heads, 2 KV heads,
                                      head_dim 16, MLP 128, vocab 96, untied lm_head, rope 1e4
  test/fixtures/gguf/llama-parity.safetensors
                                      input tokens and the PyTorch model's logits
                                      (make-hf-fixtures.py's HFForCausalLM, written from
                                      transformers' modeling_llama.py)
  test/fixtures/gguf/llama-{F32,F16,Q8_0,Q4_0}.gguf
                                      the same weights as llama.cpp's convert_hf_to_gguf.py lays
                                      them out: GGUF v3, llama.* metadata keys, tensor names
                                      token_embd / blk.N.attn_q ... / output_norm / output, dims
                                      listed fastest first (ne0 = in_features), the Q and K rows
                                      permuted for ggml's interleaved RoPE, norms F32, the 2-D
                                      weights F32 / F16 / Q8_0 / Q4_0 (every 2-D tensor, as
                                      llama-quantize --pure), data aligned to 32 bytes
  test/fixtures/gguf/llama-{Q8_0,Q4_0}-dequant.safetensors
                                      the quantised 2-D weights as ggml's dequantize_row_* gives
                                      them (d · q, d the block's f16 scale), in Hugging Face names
                                      and row order (the RoPE permutation undone)

ggml's reference quantisers (ggml-quants.c, quantize_row_q8_0_ref / quantize_row_q4_0_ref):
  Q8_0: a block of 32 along ne0 is {f16 d; int8 qs[32]}, d = amax / 127, qs = round(x / d)
        (round half away from zero, as roundf).
  Q4_0: a block is {f16 d; uint8 qs[16]}, with `max` the element of largest magnitude (signed),
        d = max / -8, q = min(15, trunc(x / d + 8.5)), qs[j] = q[j] | q[j + 16] << 4.
Both divide by the f32 d before it is rounded to f16.
"""
import importlib.util
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "gguf")

spec = importlib.util.spec_from_file_location("hf_fixtures", os.path.join(HERE, "make-hf-fixtures.py"))
hf = importlib.util.module_from_spec(spec)
sys.argv = [sys.argv[0]]
spec.loader.exec_module(hf)

CFG = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "head_dim": 16,
    "hidden_act": "silu",
    "hidden_size": 64,
    "intermediate_size": 128,
    "max_position_embeddings": 64,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-5,
    "rope_scaling": None,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "transformers_version": "4.45.0",
    "vocab_size": 96,
}

# ---- GGUF writing (GGUF v3, little-endian) --------------------------------------------------

GGUF_UINT32, GGUF_FLOAT32, GGUF_STRING = 4, 6, 8
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8
ALIGN = 32


def gguf_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key, value):
    if isinstance(value, str):
        return gguf_str(key) + struct.pack("<I", GGUF_STRING) + gguf_str(value)
    if isinstance(value, float):
        return gguf_str(key) + struct.pack("<If", GGUF_FLOAT32, value)
    return gguf_str(key) + struct.pack("<II", GGUF_UINT32, value)


def write_gguf(path, metadata, tensors):
    """tensors: (name, ggml type, ne (fastest first), raw bytes)."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    head += b"".join(kv(k, v) for k, v in metadata.items())
    offset = 0
    infos, datas = b"", []
    for name, typ, ne, raw in tensors:
        infos += gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne) + struct.pack("<IQ", typ, offset)
        pad = (-len(raw)) % ALIGN
        datas.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    out = head + infos
    out += b"\0" * ((-len(out)) % ALIGN)
    with open(path, "wb") as f:
        f.write(out + b"".join(datas))


def quant_q8_0(x):
    """x: float32 [rows, K], K % 32 == 0 -> (bytes, dequantised)."""
    rows, K = x.shape
    b = x.reshape(rows, K // 32, 32).astype(np.float32)
    amax = np.abs(b).max(axis=2)
    d = (amax / np.float32(127)).astype(np.float32)
    inv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, 1), 0).astype(np.float32)
    v = (b * inv[:, :, None]).astype(np.float32)
    q = (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.int8)  # roundf
    dh = d.astype(np.float16)
    raw = b"".join(dh[r, i].tobytes() + q[r, i].tobytes() for r in range(rows) for i in range(K // 32))
    return raw, (dh.astype(np.float32)[:, :, None] * q.astype(np.float32)).reshape(rows, K)


def quant_q4_0(x):
    rows, K = x.shape
    b = x.reshape(rows, K // 32, 32).astype(np.float32)
    idx = np.abs(b).argmax(axis=2)  # the first element of largest magnitude, as the C loop's `<`
    mx = np.take_along_axis(b, idx[:, :, None], axis=2)[:, :, 0]
    d = (mx / np.float32(-8)).astype(np.float32)
    inv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, 1), 0).astype(np.float32)
    v = (b * inv[:, :, None] + np.float32(8.5)).astype(np.float32)
    q = np.minimum(15, np.trunc(v).astype(np.int8)).astype(np.uint8)  # (int8_t) truncates
    dh = d.astype(np.float16)
    packed = (q[:, :, :16] | (q[:, :, 16:] << 4)).astype(np.uint8)
    raw = b"".join(dh[r, i].tobytes() + packed[r, i].tobytes() for r in range(rows) for i in range(K // 32))
    deq = dh.astype(np.float32)[:, :, None] * (q.astype(np.float32) - 8)
    return raw, deq.reshape(rows, K)


def permute(w, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute: rotate-half pairs to ggml's interleaved pairs."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


GGUF_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def gguf_name(hf_name):
    if hf_name in GGUF_NAMES:
        return GGUF_NAMES[hf_name]
    parts = hf_name.split(".")  # model.layers.N.rest
    return f"blk.{parts[2]}.{LAYER_NAMES['.'.join(parts[3:])]}"


def main():
    os.makedirs(os.path.join(OUT, "llama-hf"), exist_ok=True)
    files, parity, checks = hf.causal_fixture("gguf-llama", CFG, 3001, lambda c: hf.HFForCausalLM(c))
    for name in ("config.json", "model.safetensors"):
        with open(os.path.join(OUT, "llama-hf", name), "wb") as f:
            f.write(files[name])
    with open(os.path.join(OUT, "llama-parity.safetensors"), "wb") as f:
        f.write(hf.safetensors_bytes(parity[:2]))
    torch.manual_seed(0)
    state = {}
    # Read the weights back from the checkpoint just written (what a converter would read).
    raw = files["model.safetensors"]
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        state[name] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype=np.float32).reshape(e["shape"]).copy()
    H, KV = CFG["num_attention_heads"], CFG["num_key_value_heads"]
    meta = {
        "general.architecture": "llama",
        "general.name": "specformer gguf fixture",
        "general.alignment": ALIGN,
        "llama.context_length": CFG["max_position_embeddings"],
        "llama.embedding_length": CFG["hidden_size"],
        "llama.block_count": CFG["num_hidden_layers"],
        "llama.feed_forward_length": CFG["intermediate_size"],
        "llama.attention.head_count": H,
        "llama.attention.head_count_kv": KV,
        "llama.attention.key_length": CFG["head_dim"],
        "llama.attention.value_length": CFG["head_dim"],
        "llama.rope.dimension_count": CFG["head_dim"],
        "llama.rope.freq_base": float(CFG["rope_theta"]),
        "llama.attention.layer_norm_rms_epsilon": float(CFG["rms_norm_eps"]),
        "llama.vocab_size": CFG["vocab_size"],
    }
    for kind in ("F32", "F16", "Q8_0", "Q4_0"):
        tensors, dequant = [], []
        meta["general.file_type"] = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 7}[kind]
        for name, w in state.items():
            if name.endswith("q_proj.weight"):
                w = permute(w, H)
            elif name.endswith("k_proj.weight"):
                w = permute(w, KV)
            ne = list(reversed(w.shape))
            if w.ndim == 1 or kind == "F32":
                tensors.append((gguf_name(name), GGML_F32, ne, w.astype(np.float32).tobytes()))
            elif kind == "F16":
                tensors.append((gguf_name(name), GGML_F16, ne, w.astype(np.float16).tobytes()))
            else:
                data, dq = (quant_q8_0 if kind == "Q8_0" else quant_q4_0)(w)
                tensors.append((gguf_name(name), GGML_Q8_0 if kind == "Q8_0" else GGML_Q4_0, ne, data))
                if name.endswith("q_proj.weight"):
                    dq = unpermute(dq, H)
                elif name.endswith("k_proj.weight"):
                    dq = unpermute(dq, KV)
                dequant.append((name, torch.from_numpy(np.ascontiguousarray(dq))))
        write_gguf(os.path.join(OUT, f"llama-{kind}.gguf"), meta, tensors)
        if dequant:
            with open(os.path.join(OUT, f"llama-{kind}-dequant.safetensors"), "wb") as f:
                f.write(hf.safetensors_bytes(dequant))
    print(f"wrote {OUT}: logits max |x| {checks['max_abs']:.3f}, greedy margin {checks['margin']:.3g}")


if __name__ == "__main__":
    main()
