#!/usr/bin/python3
"""Write scripts/train-demo.py's own train / validation split of the fortune corpus
(docs/demo-training.md) as two fortune-format text files (documents separated by lone `%`
lines), so `specformer train --data TRAIN --val-data VAL` trains and validates on exactly the
documents the PyTorch run did.

    python3 scripts/demo-split.py OUT_DIR      # writes OUT_DIR/demo-train.txt, OUT_DIR/demo-val.txt
"""
import importlib.util
import math
import os
import random
import sys

if len(sys.argv) != 2:
    sys.exit(__doc__)
out_dir = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("train_demo", os.path.join(here, "train-demo.py"))
train_demo = importlib.util.module_from_spec(spec)
sys.argv = [sys.argv[0]]
spec.loader.exec_module(train_demo)

# The same split as train_demo.dataset(), kept as documents rather than token streams.
fortunes, _ = train_demo.load_fortunes()
order = list(range(len(fortunes)))
random.Random(train_demo.SEED).shuffle(order)
n_val = math.ceil(len(fortunes) * train_demo.VAL_FRACTION)
parts = {"demo-val.txt": [fortunes[i] for i in order[:n_val]], "demo-train.txt": [fortunes[i] for i in order[n_val:]]}
os.makedirs(out_dir, exist_ok=True)
for name, docs in parts.items():
    if any(d.strip() == b"%" or b"\n%\n" in b"\n" + d + b"\n" for d in docs):
        sys.exit(f"a fortune contains a lone % line; it cannot be written as a fortune file")
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(b"\n%\n".join(docs) + b"\n")
    print(f"{os.path.join(out_dir, name)}: {len(docs)} fortunes, {sum(len(d) for d in docs) + len(docs) + 1} tokens with separators")
