#!/usr/bin/python3
"""Write the demo models' held-out validation stream (docs/demo-training.md: 761 fortunes,
128,736 byte tokens, EOT = 256) to test/fixtures/demo-val-stream.u16 as little-endian uint16,
taken from scripts/train-demo.py's own dataset() so the split is exactly the one the models
never trained on. bench/lowbit-accuracy.ts reads it (validation loss at f32 / f16 / q8 / q4).

    python3 scripts/make-demo-val-stream.py
"""
import importlib.util
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("train_demo", os.path.join(here, "train-demo.py"))
train_demo = importlib.util.module_from_spec(spec)
sys.argv = [sys.argv[0]]
spec.loader.exec_module(train_demo)
_, val, info = train_demo.dataset()
out = os.path.join(here, "..", "test", "fixtures", "demo-val-stream.u16")
with open(out, "wb") as f:
    f.write(val.to("cpu").numpy().astype("<u2").tobytes())
print(f"{out}: {len(val)} tokens (expected {info['val_tokens']}), corpus sha256 {info['sha256'][:16]}")
