#!/usr/bin/env python3
"""The ggml block types specformer decodes without a storage of its own, against llama.cpp's own
Python package (gguf-py, `pip install gguf==0.19.0`: its numpy dequantisers, written from
ggml-quants.c, and its GGUFWriter), not against specformer's code:

  test/fixtures/gguf/quant-types.gguf             one [2, 512] tensor per type, random blocks
                                                   (finite f16 scales), written by GGUFWriter
  test/fixtures/gguf/quant-types-expected.safetensors
                                                   each tensor as gguf.quants.dequantize gives it (F32)

Types: Q4_1, Q5_0, Q5_1, IQ4_NL (blocks of 32); Q2_K, Q3_K, Q5_K, IQ4_XS (super-blocks of 256);
Q4_K and Q6_K again, beside make-gguf-fixtures.py's own decoder.
"""
import json
import os
import struct
import sys

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as T
    from gguf.quants import dequantize
except ImportError:
    sys.exit("needs llama.cpp's gguf package: pip install gguf==0.19.0")

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "gguf")
SHAPE = (2, 512)
TYPES = ["Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"]
# Byte offsets of each block's f16 scales (d, dmin / m), which random bytes must not make NaN / Inf.
F16_AT = {"Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "IQ4_NL": [0], "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208], "IQ4_XS": [0]}


def random_blocks(rng, qtype, rows):
    block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    n = rows * SHAPE[1] // block_elems
    data = rng.integers(0, 256, size=(n, block_bytes), dtype=np.uint8)
    for at in F16_AT[qtype.name]:
        scale = rng.uniform(-0.05, 0.05, size=n).astype(np.float16)
        data[:, at : at + 2] = scale.view(np.uint8).reshape(n, 2)
    return data.reshape(rows, -1)


def safetensors_bytes(tensors):
    header, blobs, at = {}, [], 0
    for name, a in tensors:
        b = np.ascontiguousarray(a, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def main():
    rng = np.random.default_rng(4001)
    path = os.path.join(OUT, "quant-types.gguf")
    writer = gguf.GGUFWriter(path, "llama")
    expected = []
    for name in TYPES:
        qtype = T[name]
        raw = random_blocks(rng, qtype, SHAPE[0])
        values = dequantize(raw, qtype)
        assert values.shape == SHAPE and np.isfinite(values).all(), name
        writer.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=qtype)
        expected.append((name, values))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with open(os.path.join(OUT, "quant-types-expected.safetensors"), "wb") as f:
        f.write(safetensors_bytes(expected))
    print(f"wrote {path}: {', '.join(TYPES)}")


if __name__ == "__main__":
    main()
