#!/usr/bin/python3
"""Build the PyTorch training fixtures test/fixtures/train-*.safetensors.

Run with the interpreter that has torch (Debian's python3-torch):

    /usr/bin/python3 scripts/make-train-fixtures.py            # writes test/fixtures/train-*.safetensors
    /usr/bin/python3 scripts/make-train-fixtures.py --check    # rebuilds in memory, compares with the files

The models are scripts/make-fixtures.py's PyTorch models (Hugging Face GPT-2 and LLaMA written
out, the Mistral-style sliding-window decoder, the PyTorch tutorial's nn.Transformer
Seq2SeqTransformer): written from the papers and from those libraries, independently of
specformer's TypeScript. Each loads the weights of its parity fixture
(test/fixtures/<name>.safetensors, which this script only reads), so the training fixture holds
no weights of its own. PyTorch autograd is the independent answer; the file holds:

  * input.targets   I64 [batch, seq]: next-token targets of input.tokens (the parity fixture's),
                    -100 (ignored) at the last position of every row and at a few padded-looking
                    positions of the second row; random targets for the encoder-decoder.
  * expected.loss   F64 [1]: F.cross_entropy(logits, targets, ignore_index=-100,
                    label_smoothing=0.1), mean over the counted targets, float32 model.
  * grad.<name>     F32: d loss / d parameter, for every parameter, under the PyTorch name
                    (tied tables once; the TypeScript test maps them with the weights' name map).
  * after.<name>    F32: the parameter after 3 optimiser steps on the same batch:
                    torch.optim.AdamW(betas=(0.9, 0.98), eps=1e-9), weight decay 0.01 on
                    parameters of 2+ dims only (no decay on norms and biases), the learning
                    rate set before each step to Vaswani et al.'s
                    factor · d^-0.5 · min(t^-0.5, t · warmup^-1.5) with factor 2, warmup 50
                    (t = 1, 2, 3: 1.0e-3, 2.0e-3, 3.0e-3 at d = 32 — realistic rates, still
                    in the warm-up; a toy warm-up of 4 steps gives rates near 0.09, where
                    three steps of a random model amplify float32 noise into the result),
                    torch.nn.utils.clip_grad_norm_(max_norm=1.0) before each step.
  * expected.losses F64 [3]: the loss before each of the 3 steps.

Dropout is 0 (the models have none). The hyper-parameters are also in the metadata (JSON).
Deterministic: one thread, no randomness beyond fixed seeds.
"""

import importlib.util
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "test", "fixtures")
_spec = importlib.util.spec_from_file_location("make_fixtures", os.path.join(ROOT, "scripts", "make-fixtures.py"))
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)

HP = dict(label_smoothing=0.1, steps=3, betas=[0.9, 0.98], eps=1e-9, weight_decay=0.01, warmup=50, factor=2.0, clip=1.0)
IGNORE = -100
MAX_BYTES = 400_000

_NP = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "BOOL": np.bool_, "U8": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a : base + b], dtype=_NP[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def noam(t, d):
    return HP["factor"] * d**-0.5 * min(t**-0.5, t * HP["warmup"] ** -1.5)


def load(model, name):
    saved = read_safetensors(os.path.join(FIXTURES, f"{name}.safetensors"))
    state = {k: v for k, v in saved.items() if not k.startswith("input.") and not k.startswith("expected.")}
    model.load_state_dict(state, strict=True)
    return saved


def lm_targets(tokens):
    """Next-token targets; the last position of each row and 3 positions of row 2 are ignored."""
    t = torch.full_like(tokens, IGNORE)
    t[:, :-1] = tokens[:, 1:]
    t[1, -4:] = IGNORE
    return t


def train_fixture(model, run, targets, d, vocab):
    """(loss, grads, params after 3 steps, losses) for `run(model) -> logits`."""
    model.train()
    names = [n for n, _ in model.named_parameters()]

    def loss_of():
        logits = run(model)
        return F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index=IGNORE, label_smoothing=HP["label_smoothing"])

    model.zero_grad(set_to_none=True)
    loss = loss_of()
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    decay = [p for _, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for _, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": HP["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=0.0, betas=tuple(HP["betas"]), eps=HP["eps"],
    )
    losses = []
    for t in range(1, HP["steps"] + 1):
        for g in opt.param_groups:
            g["lr"] = noam(t, d)
        opt.zero_grad(set_to_none=True)
        l = loss_of()
        l.backward()
        losses.append(l.item())
        torch.nn.utils.clip_grad_norm_(model.parameters(), HP["clip"])
        opt.step()
    after = {n: p.detach().clone() for n, p in model.named_parameters()}
    # How close to zero the smallest gradients are: Adam's first step is ±lr wherever |g| >> eps,
    # so a gradient within float32 noise of zero would make the fixture fragile.
    flat = torch.cat([g.abs().flatten() for g in grads.values()])
    nz = flat[flat > 0]
    checks = {"max_grad": flat.max().item(), "min_nonzero_grad": nz.min().item(), "tiny_grads": int((nz < 1e-6 * flat.max()).sum())}
    return loss.item(), grads, after, losses, names, checks


def fixture_gpt2():
    name = "tiny-gpt2"
    model = mf.GPT2Model(101, 32, 4, 2, 32)
    saved = load(model, name)
    toks = saved["input.tokens"]
    targets = lm_targets(toks)
    return name, targets, train_fixture(model, lambda m: m(toks), targets, 32, 101)


def fixture_llama():
    name = "tiny-llama"
    model = mf.LlamaForCausalLM(101, 32, 4, 2, 88, 2)
    saved = load(model, name)
    toks = saved["input.tokens"]
    targets = lm_targets(toks)
    return name, targets, train_fixture(model, lambda m: m(toks), targets, 32, 101)


def fixture_window():
    name = "tiny-window"
    cfg = dict(vocab=101, d=32, heads=4, kv_heads=2, layers=2, hidden=64, norm="rms", eps=1e-5,
               position="rope", rope_base=10000.0, window=8, act="swiglu", head="linear")
    model = mf.NativeDecoderLM(cfg)
    saved = load(model, name)
    toks = saved["input.tokens"]
    targets = lm_targets(toks)
    return name, targets, train_fixture(model, lambda m: m(toks), targets, 32, 101)


def fixture_torch_transformer():
    name = "tiny-torch-transformer"
    model = mf.Seq2SeqTransformer(61, 71, 32, 4, 48, 2, 32)
    saved = load(model, name)
    src, src_mask, tgt = saved["input.src_tokens"], saved["input.src_mask"], saved["input.tokens"]
    g = torch.Generator().manual_seed(2002)
    targets = torch.randint(0, 71, tgt.shape, generator=g, dtype=torch.int64)
    targets[1, -2:] = IGNORE
    return name, targets, train_fixture(model, lambda m: m(src, src_mask, tgt), targets, 32, 71)


BUILDERS = [fixture_gpt2, fixture_llama, fixture_window, fixture_torch_transformer]


def main(argv):
    check_only = "--check" in argv
    torch.set_num_threads(1)
    failed = False
    for build in BUILDERS:
        name, targets, (loss, grads, after, losses, names, checks) = build()
        tensors = [("input.targets", targets), ("expected.loss", torch.tensor([loss], dtype=torch.float64)),
                   ("expected.losses", torch.tensor(losses, dtype=torch.float64))]
        tensors += [(f"grad.{n}", grads[n]) for n in names]
        tensors += [(f"after.{n}", after[n]) for n in names]
        metadata = {"generator": "scripts/make-train-fixtures.py", "spec": f"specs/{name}.sf", "weights": f"test/fixtures/{name}.safetensors",
                    "torch": torch.__version__.split("+")[0], "hyperparameters": json.dumps(HP, sort_keys=True)}
        data = mf.safetensors_bytes(tensors, metadata)
        path = os.path.join(FIXTURES, f"train-{name}.safetensors")
        if len(data) >= MAX_BYTES:
            print(f"{name}: {len(data)} bytes, over the {MAX_BYTES}-byte budget", file=sys.stderr)
            failed = True
        summary = f"loss {loss:.6f}, losses {', '.join(f'{l:.6f}' for l in losses)}; " + ", ".join(f"{k} {v:.3g}" for k, v in checks.items())
        if check_only:
            with open(path, "rb") as f:
                same = f.read() == data
            print(f"{name}: {'identical' if same else 'DIFFERS'} ({len(data)} bytes; {summary})")
            failed |= not same
        else:
            with open(path, "wb") as f:
                f.write(data)
            print(f"train-{name}: wrote {os.path.relpath(path, ROOT)} ({len(data)} bytes; {summary})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
