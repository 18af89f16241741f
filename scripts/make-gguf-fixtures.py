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
  test/fixtures/gguf/llama-k-Q4_K_M.gguf, llama-k-parity.safetensors
                                      K-quants (super-blocks of 256, so a wider model: 1 layer,
                                      d 256, 4 heads of 64, 2 KV heads, MLP 256, vocab 64) as
                                      llama-quantize's Q4_K_M mixes them: Q6_K for attn_v,
                                      ffn_down and output, Q4_K for the other matrices (blocks
                                      made by a plain min / max rule below, not ggml's search:
                                      any valid block serves to check the decoding); the parity
                                      file holds PyTorch's logits with the dequantised weights
                                      and the first rows of two dequantised matrices
  test/fixtures/gguf/{qwen2,qwen3,phi3}-{F32,Q8_0}.gguf
                                      test/fixtures/hf/qwen2 / qwen3 / phi3 as GGUF files (no RoPE
                                      permutation; Qwen3's q / k norms; Phi-3's fused tensors)
  test/fixtures/gguf/gemma2-hf/, gemma2-parity.safetensors, gemma2-F32.gguf
                                      a Gemma-2 checkpoint llama.cpp can represent, its PyTorch
                                      logits, and the converter's file (norms + 1)
  test/fixtures/gguf/llama3-F32.gguf  test/fixtures/hf/llama3 (Llama 3.1's RoPE scaling) with the
                                      scaling as the converter's rope_freqs tensor
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

K-quants (ggml-common.h / ggml-quants.c dequantize_row_q4_K, dequantize_row_q6_K), super-blocks
of 256 along ne0:
  Q4_K: {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}: eight sub-blocks of 32 with 6-bit scale sc
        and min m (sub-block j < 4: sc = scales[j] & 63, m = scales[j + 4] & 63; j >= 4:
        sc = scales[j + 4] & 15 | (scales[j - 4] >> 6) << 4, m = scales[j + 4] >> 4 |
        (scales[j] >> 6) << 4); chunk c of 64 elements: qs[32c + l] & 15 is element 64c + l
        (sub-block 2c), >> 4 is element 64c + 32 + l (sub-block 2c + 1); x = (d·sc)·q − dmin·m.
  Q6_K: {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: per half of 128 (ql += 64, qh += 32,
        scales += 8), l < 32, is = l / 16: q1 = (ql[l] & 15 | (qh[l] & 3) << 4) − 32 at l,
        q2 = (ql[l + 32] & 15 | (qh[l] >> 2 & 3) << 4) − 32 at l + 32, q3 = (ql[l] >> 4 |
        (qh[l] >> 4 & 3) << 4) − 32 at l + 64, q4 = (ql[l + 32] >> 4 | (qh[l] >> 6) << 4) − 32 at
        l + 96, each times (d · scales[is + 0 / 2 / 4 / 6]).
"""
import importlib.util
import json
import math
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


GGUF_INT32, GGUF_ARRAY = 5, 9


def kv(key, value):
    if isinstance(value, list):
        if all(isinstance(x, str) for x in value):
            body = struct.pack("<IQ", GGUF_STRING, len(value)) + b"".join(gguf_str(x) for x in value)
        elif all(isinstance(x, float) for x in value):
            body = struct.pack("<IQ", GGUF_FLOAT32, len(value)) + b"".join(struct.pack("<f", x) for x in value)
        else:
            body = struct.pack("<IQ", GGUF_INT32, len(value)) + b"".join(struct.pack("<i", x) for x in value)
        return gguf_str(key) + struct.pack("<I", GGUF_ARRAY) + body
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


GGML_Q4_K, GGML_Q6_K = 12, 14
f32 = np.float32


def quant_q4_k(x):
    """A valid Q4_K encoding of x [rows, K], K % 256 == 0 -> (bytes, ggml's dequantisation)."""
    rows, K = x.shape
    out, deq = bytearray(), np.zeros((rows, K), dtype=f32)
    for r in range(rows):
        for s in range(K // 256):
            sb = x[r, 256 * s : 256 * (s + 1)].astype(f32).reshape(8, 32)
            lo = np.minimum(sb.min(axis=1), 0).astype(f32)
            scale = ((sb.max(axis=1) - lo) / f32(15)).astype(f32)
            d = np.float16(max(scale.max() / 63, 1e-8))
            dmin = np.float16(max((-lo).max() / 63, 1e-8))
            sc = np.clip(np.rint(scale / f32(d)), 1, 63).astype(np.uint8)
            mn = np.clip(np.rint(-lo / f32(dmin)), 0, 63).astype(np.uint8)
            packed = np.zeros(12, dtype=np.uint8)
            for j in range(8):
                if j < 4:
                    packed[j] |= sc[j]
                    packed[j + 4] |= mn[j]
                else:
                    packed[j + 4] = (sc[j] & 15) | ((mn[j] & 15) << 4)
                    packed[j - 4] |= (sc[j] >> 4) << 6
                    packed[j] |= (mn[j] >> 4) << 6
            qs = np.zeros(128, dtype=np.uint8)
            vals = np.zeros(256, dtype=f32)
            for c in range(4):
                for half in range(2):
                    j = 2 * c + half
                    d1, m1 = f32(f32(d) * f32(sc[j])), f32(f32(dmin) * f32(mn[j]))
                    q = np.clip(np.rint((sb[j] + m1) / d1), 0, 15).astype(np.uint8)
                    qs[32 * c : 32 * c + 32] |= q << (4 * half)
                    vals[64 * c + 32 * half : 64 * c + 32 * half + 32] = (d1 * q.astype(f32) - m1).astype(f32)
            out += np.float16(d).tobytes() + np.float16(dmin).tobytes() + packed.tobytes() + qs.tobytes()
            deq[r, 256 * s : 256 * (s + 1)] = vals
    return bytes(out), deq


def quant_q6_k(x):
    rows, K = x.shape
    out, deq = bytearray(), np.zeros((rows, K), dtype=f32)
    for r in range(rows):
        for s in range(K // 256):
            sb = x[r, 256 * s : 256 * (s + 1)].astype(f32)
            amax = np.abs(sb.reshape(16, 16)).max(axis=1)
            d = np.float16(max(amax.max() / 31 / 127, 1e-8))
            scales = np.clip(np.rint(amax / 31 / f32(d)), 1, 127).astype(np.int8)
            L = np.zeros(256, dtype=np.int32)
            for g in range(16):
                step = f32(f32(d) * f32(scales[g]))
                L[16 * g : 16 * g + 16] = np.clip(np.rint(sb[16 * g : 16 * g + 16] / step), -32, 31) + 32
            ql, qh = np.zeros(128, dtype=np.uint8), np.zeros(64, dtype=np.uint8)
            vals = np.zeros(256, dtype=f32)
            for h in range(2):
                for l in range(32):
                    q = [L[128 * h + l + 32 * t] for t in range(4)]
                    ql[64 * h + l] = (q[0] & 15) | ((q[2] & 15) << 4)
                    ql[64 * h + l + 32] = (q[1] & 15) | ((q[3] & 15) << 4)
                    qh[32 * h + l] = (q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6)
                    for t in range(4):
                        g = 8 * h + l // 16 + 2 * t
                        vals[128 * h + l + 32 * t] = f32(f32(f32(d) * f32(scales[g])) * f32(q[t] - 32))
            out += ql.tobytes() + qh.tobytes() + scales.tobytes() + np.float16(d).tobytes()
            deq[r, 256 * s : 256 * (s + 1)] = vals
    return bytes(out), deq


def q4_k_m(name, w):
    """llama-quantize Q4_K_M's choice, simplified: Q6_K for attn_v, ffn_down and output, else Q4_K."""
    if any(k in name for k in ("v_proj", "down_proj", "lm_head")):
        data, dq = quant_q6_k(w)
        return GGML_Q6_K, data, dq
    data, dq = quant_q4_k(w)
    return GGML_Q4_K, data, dq


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


# A SentencePiece BPE vocabulary as llama.cpp's converter writes one (tokenizer.ggml.*), sized
# to the model's 96 ids: <unk>, <s>, </s>, single characters (score 0), then merged pieces,
# each scored by its merge order (higher merges first), as SentencePiece BPE scores do.
SPM_CHARS = ["▁"] + list("abcdefghijklmnopqrstuvwxyz") + list(".,!?'")
SPM_MERGES = [
    "▁t", "he", "▁the", "▁c", "at", "▁cat", "▁a", "an", "▁an", "in", "er", "on", "re", "is", "▁is",
    "it", "▁s", "st", "ar", "or", "▁o", "of", "▁of", "en", "es", "ed", "ng", "ing", "▁w", "as",
    "▁was", "ou", "▁h", "▁he", "ha", "▁ha", "nd", "▁and", "to", "▁to", "th", "▁m", "▁d", "▁f",
    "▁p", "▁r", "▁l", "▁n", "▁i", "▁in", "le", "ll", "ve", "▁b", "at.", "▁sat", "▁on", "▁mat",
    "ma", "▁ma", "▁st",
]


# TinyLlama-1.1B-Chat's chat template (Zephyr's format), as its tokenizer_config.json publishes it
# and llama.cpp's converter copies it into tokenizer.chat_template.
ZEPHYR_TEMPLATE = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'system' %}\n{{ '<|system|>\\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n"
    "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"
)


def spm_metadata(vocab):
    pieces = ["<unk>", "<s>", "</s>"] + SPM_CHARS + SPM_MERGES
    assert len(pieces) == vocab, (len(pieces), vocab)
    scores = [0.0] * (3 + len(SPM_CHARS)) + [float(-i - 1) for i in range(len(SPM_MERGES))]
    types = [2, 3, 3] + [1] * (len(SPM_CHARS) + len(SPM_MERGES))
    return {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": pieces,
        "tokenizer.ggml.scores": scores,
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.unknown_token_id": 0,
        "tokenizer.chat_template": ZEPHYR_TEMPLATE,
    }


def llama_metadata(cfg, name):
    """The llama.* keys convert_hf_to_gguf.py writes for a LlamaForCausalLM config."""
    return {
        "general.architecture": "llama",
        "general.name": name,
        "general.alignment": ALIGN,
        "llama.context_length": cfg["max_position_embeddings"],
        "llama.embedding_length": cfg["hidden_size"],
        "llama.block_count": cfg["num_hidden_layers"],
        "llama.feed_forward_length": cfg["intermediate_size"],
        "llama.attention.head_count": cfg["num_attention_heads"],
        "llama.attention.head_count_kv": cfg["num_key_value_heads"],
        "llama.attention.key_length": cfg["head_dim"],
        "llama.attention.value_length": cfg["head_dim"],
        "llama.rope.dimension_count": cfg["head_dim"],
        "llama.rope.freq_base": float(cfg["rope_theta"]),
        "llama.attention.layer_norm_rms_epsilon": float(cfg["rms_norm_eps"]),
        "llama.vocab_size": cfg["vocab_size"],
    }


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
    meta = {**llama_metadata(CFG, "specformer gguf fixture"), **spm_metadata(CFG["vocab_size"])}
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
    k_quants()
    qwen("qwen2")
    qwen("qwen3")
    qwen("phi3")
    gemma2()
    llama3()


def read_safetensors(path):
    """name -> float32 array (F32 / BF16), in file order."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        buf = raw[8 + n + a : 8 + n + b]
        if e["dtype"] == "BF16":
            arr = (np.frombuffer(buf, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(buf, dtype=np.float32)
        out[name] = arr.reshape(e["shape"]).copy()
    return out


QWEN_LAYER = dict(
    LAYER_NAMES,
    **{
        "self_attn.q_proj.bias": "attn_q.bias",
        "self_attn.k_proj.bias": "attn_k.bias",
        "self_attn.v_proj.bias": "attn_v.bias",
        "self_attn.q_norm.weight": "attn_q_norm.weight",
        "self_attn.k_norm.weight": "attn_k_norm.weight",
        "self_attn.qkv_proj.weight": "attn_qkv.weight",
        "mlp.gate_up_proj.weight": "ffn_up.weight",
    },
)


def qwen(arch):
    """test/fixtures/hf/<arch> (make-hf-fixtures.py; qwen2, qwen3 or phi3) as llama.cpp's
    converter writes a Qwen2 / Qwen3 / Phi-3 checkpoint: general.architecture <arch>, <arch>.* keys
    (Qwen3's with key_length / value_length, its head_dim; Phi-3's with rope.dimension_count,
    rope.scaling.original_context_length and attention.sliding_window, Phi3MiniModel's
    set_gguf_parameters), no Q / K permutation (ggml runs all three with NeoX RoPE, rotate-half
    like Hugging Face), Qwen3's q_norm / k_norm as attn_q_norm / attn_k_norm, Phi-3's fused
    qkv_proj / gate_up_proj as attn_qkv / ffn_up, a tied head as token_embd alone; F32, and Q8_0
    for every matrix whose rows are whole blocks (Qwen2's ffn_down's 80 are not: F32, as
    llama-quantize falls back). Their expected logits are test/fixtures/hf/parity/<arch>.safetensors."""
    here = os.path.join(HERE, "..", "test", "fixtures", "hf", arch)
    cfg = json.load(open(os.path.join(here, "config.json")))
    state = read_safetensors(os.path.join(here, "model.safetensors"))
    meta = {
        "general.architecture": arch,
        "general.name": f"specformer gguf {arch} fixture",
        "general.alignment": ALIGN,
        f"{arch}.context_length": cfg["max_position_embeddings"],
        f"{arch}.embedding_length": cfg["hidden_size"],
        f"{arch}.block_count": cfg["num_hidden_layers"],
        f"{arch}.feed_forward_length": cfg["intermediate_size"],
        f"{arch}.attention.head_count": cfg["num_attention_heads"],
        f"{arch}.attention.head_count_kv": cfg["num_key_value_heads"],
        f"{arch}.rope.freq_base": float(cfg["rope_theta"]),
        f"{arch}.attention.layer_norm_rms_epsilon": float(cfg["rms_norm_eps"]),
    }
    if arch == "qwen3":
        meta[f"{arch}.attention.key_length"] = cfg["head_dim"]
        meta[f"{arch}.attention.value_length"] = cfg["head_dim"]
    if arch == "phi3":
        head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
        meta["phi3.rope.dimension_count"] = int(head_dim * cfg.get("partial_rotary_factor", 1.0))
        meta["phi3.rope.scaling.original_context_length"] = cfg["original_max_position_embeddings"]
        meta["phi3.attention.sliding_window"] = cfg["sliding_window"] or 0

    def name(hf_name):
        if hf_name in GGUF_NAMES:
            return GGUF_NAMES[hf_name]
        parts = hf_name.split(".")
        return f"blk.{parts[2]}.{QWEN_LAYER['.'.join(parts[3:])]}"

    for kind in ("F32", "Q8_0"):
        tensors = []
        for hf_name, w in state.items():
            ne = list(reversed(w.shape))
            if kind == "Q8_0" and w.ndim == 2 and w.shape[1] % 32 == 0:
                tensors.append((name(hf_name), GGML_Q8_0, ne, quant_q8_0(w)[0]))
            else:
                tensors.append((name(hf_name), GGML_F32, ne, w.astype(np.float32).tobytes()))
        write_gguf(os.path.join(OUT, f"{arch}-{kind}.gguf"), dict(meta, **{"general.file_type": 0 if kind == "F32" else 7}), tensors)
    print(f"wrote {arch}-F32.gguf, {arch}-Q8_0.gguf")


def gemma2():
    """A Gemma-2 checkpoint (make-hf-fixtures.py's GEMMA2 layout: softcaps, windows on the even
    layers, sandwich norms, norm weights as offsets from 1) with query_pre_attn_scalar = head_dim,
    the only value llama.cpp's gemma2 represents below 27B (it scales scores by head_dim^-1/2 then;
    the file has no key for it), written as convert_hf_to_gguf.py's Gemma2Model does: gemma2.* keys
    with key_length, attn_logit_softcapping, final_logit_softcapping and attention.sliding_window;
    every norm weight + 1; no lm_head (tied); no RoPE permutation. Also writes the checkpoint
    directory (gemma2-hf/) and PyTorch's logits (gemma2-parity.safetensors)."""
    cfg = dict(hf.GEMMA2, query_pre_attn_scalar=hf.GEMMA2["head_dim"])
    files, parity, _ = hf.causal_fixture("gguf-gemma2", cfg, 3003, hf.fam.Gemma2ForCausalLM, post_init=hf.gemma_norm_offsets)
    os.makedirs(os.path.join(OUT, "gemma2-hf"), exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        with open(os.path.join(OUT, "gemma2-hf", name), "wb") as f:
            f.write(files[name])
    with open(os.path.join(OUT, "gemma2-parity.safetensors"), "wb") as f:
        f.write(hf.safetensors_bytes(parity[:2]))
    state = read_safetensors(os.path.join(OUT, "gemma2-hf", "model.safetensors"))
    meta = {
        "general.architecture": "gemma2",
        "general.name": "specformer gguf gemma2 fixture",
        "general.alignment": ALIGN,
        "general.file_type": 0,
        "gemma2.context_length": cfg["max_position_embeddings"],
        "gemma2.embedding_length": cfg["hidden_size"],
        "gemma2.block_count": cfg["num_hidden_layers"],
        "gemma2.feed_forward_length": cfg["intermediate_size"],
        "gemma2.attention.head_count": cfg["num_attention_heads"],
        "gemma2.attention.head_count_kv": cfg["num_key_value_heads"],
        "gemma2.attention.layer_norm_rms_epsilon": float(cfg["rms_norm_eps"]),
        "gemma2.attention.key_length": cfg["head_dim"],
        "gemma2.attention.value_length": cfg["head_dim"],
        "gemma2.attn_logit_softcapping": float(cfg["attn_logit_softcapping"]),
        "gemma2.final_logit_softcapping": float(cfg["final_logit_softcapping"]),
        "gemma2.attention.sliding_window": cfg["sliding_window"],
    }
    layer = dict(
        LAYER_NAMES,
        **{
            "post_attention_layernorm.weight": "post_attention_norm.weight",
            "pre_feedforward_layernorm.weight": "ffn_norm.weight",
            "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
        },
    )
    tensors = []
    for name, w in state.items():
        if name == "lm_head.weight":
            continue
        if name.endswith("norm.weight"):
            w = w + 1
        gname = GGUF_NAMES.get(name) or f"blk.{name.split('.')[2]}.{layer['.'.join(name.split('.')[3:])]}"
        tensors.append((gname, GGML_F32, list(reversed(w.shape)), w.astype(np.float32).tobytes()))
    write_gguf(os.path.join(OUT, "gemma2-F32.gguf"), meta, tensors)
    print("wrote gemma2-hf/, gemma2-parity.safetensors, gemma2-F32.gguf")


def llama3_rope_factors(cfg):
    """convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors for rope_type llama3: one
    divisor per rotated channel pair (ggml_rope_ext divides the pair's frequency by it)."""
    sc = cfg["rope_scaling"]
    dim = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    freqs = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor, low, high, old = sc["factor"], sc["low_freq_factor"], sc["high_freq_factor"], sc["original_max_position_embeddings"]
    out = []
    for freq in freqs.tolist():
        wavelen = 2 * math.pi / freq
        if wavelen < old / high:
            out.append(1.0)
        elif wavelen > old / low:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def llama3():
    """test/fixtures/hf/llama3 (Llama 3.1's rope_scaling: llama3, factor 8, original context 64)
    as llama.cpp's converter writes it: llama.* keys, Q / K rows permuted, the tied head as
    token_embd alone, and the scaling as the rope_freqs tensor (the config's numbers are not
    kept). F32. Its expected logits are test/fixtures/hf/parity/llama3.safetensors."""
    here = os.path.join(HERE, "..", "test", "fixtures", "hf", "llama3")
    cfg = json.load(open(os.path.join(here, "config.json")))
    state = read_safetensors(os.path.join(here, "model.safetensors"))
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    meta = {**llama_metadata(cfg, "specformer gguf llama3 fixture"), "general.file_type": 0}
    factors = llama3_rope_factors(cfg)
    tensors = [("rope_freqs.weight", GGML_F32, [len(factors)], factors.tobytes())]
    for name, w in state.items():
        if name.endswith("q_proj.weight"):
            w = permute(w, H)
        elif name.endswith("k_proj.weight"):
            w = permute(w, KV)
        tensors.append((gguf_name(name), GGML_F32, list(reversed(w.shape)), w.astype(np.float32).tobytes()))
    write_gguf(os.path.join(OUT, "llama3-F32.gguf"), meta, tensors)
    print(f"wrote llama3-F32.gguf: rope_freqs {np.round(factors, 4).tolist()}")


CFG_K = dict(CFG, hidden_size=256, intermediate_size=256, num_hidden_layers=1, head_dim=64, vocab_size=64)


def k_quants():
    torch.manual_seed(3002)
    model = hf.HFForCausalLM(CFG_K)
    hf.randomize(model, embeddings=("embed_tokens",))
    H, KV = CFG_K["num_attention_heads"], CFG_K["num_key_value_heads"]
    tensors, rows = [], []
    state = model.state_dict()
    for name, t in state.items():
        w = t.detach().numpy().astype(np.float32)
        if name.endswith("q_proj.weight"):
            w = permute(w, H)
        elif name.endswith("k_proj.weight"):
            w = permute(w, KV)
        ne = list(reversed(w.shape))
        if w.ndim == 1:
            tensors.append((gguf_name(name), GGML_F32, ne, w.tobytes()))
            continue
        typ, data, dq = q4_k_m(name, w)
        tensors.append((gguf_name(name), typ, ne, data))
        if name.endswith("q_proj.weight"):
            dq = unpermute(dq, H)
        elif name.endswith("k_proj.weight"):
            dq = unpermute(dq, KV)
        t.copy_(torch.from_numpy(np.ascontiguousarray(dq)))
        if name.endswith(("layers.0.self_attn.k_proj.weight", "layers.0.mlp.down_proj.weight")):
            rows.append((f"rows.{name}", torch.from_numpy(np.ascontiguousarray(dq[:3]))))
    model.eval()
    toks = torch.randint(0, CFG_K["vocab_size"], (2, 12), dtype=torch.int64)
    with torch.no_grad():
        logits = model(toks)
    meta = {
        "general.architecture": "llama",
        "general.name": "specformer gguf k-quant fixture",
        "general.alignment": ALIGN,
        "general.file_type": 15,
        "llama.context_length": CFG_K["max_position_embeddings"],
        "llama.embedding_length": CFG_K["hidden_size"],
        "llama.block_count": CFG_K["num_hidden_layers"],
        "llama.feed_forward_length": CFG_K["intermediate_size"],
        "llama.attention.head_count": H,
        "llama.attention.head_count_kv": KV,
        "llama.attention.key_length": CFG_K["head_dim"],
        "llama.attention.value_length": CFG_K["head_dim"],
        "llama.rope.freq_base": float(CFG_K["rope_theta"]),
        "llama.attention.layer_norm_rms_epsilon": float(CFG_K["rms_norm_eps"]),
    }
    write_gguf(os.path.join(OUT, "llama-k-Q4_K_M.gguf"), meta, tensors)
    with open(os.path.join(OUT, "llama-k-parity.safetensors"), "wb") as f:
        f.write(hf.safetensors_bytes([("input.tokens", toks), ("expected.logits", logits), *rows]))
    print(f"wrote llama-k-Q4_K_M.gguf: logits max |x| {logits.abs().max().item():.3f}")


if __name__ == "__main__":
    main()
