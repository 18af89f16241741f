#!/usr/bin/python3
"""PyTorch's side of bench/train.ts: CPU time per AdamW step of the demo model
(scripts/train-demo.py's DemoLM, written from the spec's description, not from specformer's
code) on one thread, with the demo recipe's optimiser, clipping and batch shape. Prints one
JSON line: {"ms_per_step", "best_ms", "torch", "threads"} (median and fastest of --steps steps
after one warm-up).

    python3 bench/train-torch.py [--batch 8] [--seq 256] [--steps 5]
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("train_demo", os.path.join(here, "..", "scripts", "train-demo.py"))
train_demo = importlib.util.module_from_spec(spec)
argv = sys.argv
sys.argv = [sys.argv[0]]
spec.loader.exec_module(train_demo)
sys.argv = argv

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--seq", type=int, default=256)
ap.add_argument("--steps", type=int, default=5)
a = ap.parse_args()
torch.set_num_threads(1)

cfg = train_demo.MODELS["demo-fortune"]
hp = train_demo.TRAIN
model = train_demo.build(cfg, 1)
decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": hp["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}], lr=hp["lr"], betas=tuple(hp["betas"]), eps=1e-8)
gen = torch.Generator().manual_seed(1)
x = torch.randint(0, train_demo.VOCAB, (a.batch, a.seq), generator=gen)
y = torch.randint(0, train_demo.VOCAB, (a.batch, a.seq), generator=gen)


def step():
    loss = F.cross_entropy(model(x).reshape(-1, train_demo.VOCAB), y.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), hp["clip"])
    opt.step()


step()
times = []
for _ in range(a.steps):
    t = time.process_time()
    step()
    times.append((time.process_time() - t) * 1000)


def blas():
    """The BLAS library this process mapped (libblas.so.3 is an alternatives link on Debian)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(os.path.basename(os.path.dirname(p)) + "/" + os.path.basename(p) for p in libs)) or "?"
    except OSError:
        return "?"


print(json.dumps({"ms_per_step": statistics.median(times), "best_ms": min(times), "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas()}))
