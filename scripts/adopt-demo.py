#!/usr/bin/python3
"""Ship demo models trained by `specformer train`, checked in PyTorch.

The demo models (docs/demo-training.md) are trained by specformer from their specs:

    /usr/bin/python3 scripts/demo-split.py /tmp/demo       # train-demo.py's split, as two text files
    specformer train specs/demo-fortune.sf --data /tmp/demo/demo-train.txt --val-data /tmp/demo/demo-val.txt \\
      --steps 2000 --batch 8 --seq 256 --schedule cosine --lr 3e-3 --warmup 100 --min-lr-ratio 0.1 \\
      --betas 0.9,0.95 --eps 1e-8 --weight-decay 0.1 --clip 1 --seed 20240601 --eval-every 200 \\
      --eval-windows 32 --target wasm --out /tmp/demo/demo-fortune.safetensors
    (the same for specs/demo-fortune-window.sf)
    /usr/bin/python3 scripts/adopt-demo.py /tmp/demo [--only demo-fortune]   # this script

This script is the cross-check, written on PyTorch alone: it loads each trained file into
scripts/train-demo.py's DemoLM (the model written from the spec's description, not from
specformer's code), measures the validation loss over train-demo.py's whole held-out split
with PyTorch, writes the parity fixture (PyTorch's logits and greedy continuation for the
weights) and the samples, and records the run next to the PyTorch run of the same recipe that
trained the previous demo models (kept in models/demo-training.json as `pytorch`), then
rewrites docs/demo-training.md. The tensors are specformer's, bit for bit; the file's metadata
gains the spec's path, the target and PyTorch's measure of the held-out loss.
"""
import importlib.util
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("train_demo", os.path.join(here, "train-demo.py"))
td = importlib.util.module_from_spec(spec)
argv, sys.argv = sys.argv, [sys.argv[0]]
spec.loader.exec_module(td)
sys.argv = argv

import torch  # noqa: E402

# Where models/ and docs/ are rewritten (the repository; another folder for a dry run).
ROOT = os.environ.get("ADOPT_ROOT", td.ROOT)


def load_native(path):
    """A safetensors file of F32 tensors → {name: tensor} (specformer writes native names)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {t['dtype']}, expected F32")
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(raw[8 + n + a : 8 + n + b]), dtype=torch.float32).reshape(t["shape"])
    return out


def curve_of(log):
    """The specformer log's evaluations as train-demo.py's curve rows (train = mean since the last row)."""
    rows, last = [], 0
    steps = log["steps"]
    for e in log["evals"]:
        if e["step"] == 0:
            continue
        window = [s["loss"] for s in steps if last < s["step"] <= e["step"]]
        rows.append({"step": e["step"], "train": sum(window) / len(window), "val": e["valLoss"], "seconds": e["seconds"]})
        last = e["step"]
    return rows


def adopt(name, src_dir, old, val_data, hp):
    cfg = td.MODELS[name]
    weights_path = os.path.join(src_dir, f"{name}.safetensors")
    with open(os.path.join(src_dir, f"{name}.log.json")) as f:
        log = json.load(f)
    c = log["config"]
    want = {"steps": hp["steps"], "batch": hp["batch"], "seq": hp["seq"], "lr": hp["lr"], "warmup": hp["warmup"], "minLrRatio": hp["min_lr_frac"], "weightDecay": hp["weight_decay"], "clip": hp["clip"], "betas": list(hp["betas"])}
    for k, v in want.items():
        if c[k] != v:
            sys.exit(f"{name}: the specformer run used {k} = {c[k]}, the recipe says {v}")
    model = td.DemoLM(cfg)
    model.load_state_dict(load_native(weights_path))
    model.eval()
    vx, vy = td.val_windows(val_data, hp["seq"])
    final, by_position = td.evaluate(model, vx, vy, per_position=True)
    dest = os.path.join(ROOT, "models", f"{name}.safetensors")
    # specformer's tensors as they are; the metadata gains the spec's path in the repository.
    with open(weights_path, "rb") as f:
        raw = f.read()
    meta = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")]).get("__metadata__", {})
    tensors = [(k, v) for k, v in load_native(weights_path).items()]
    with open(dest, "wb") as f:
        f.write(td.mf.safetensors_bytes(tensors, {**meta, "spec": cfg["spec"], "target": log["target"], "val_loss_nats": f"{final:.4f}"}))
    parity, checks, greedy = td.parity_fixture(model, name)
    with open(os.path.join(ROOT, "models", f"{name}.parity.safetensors"), "wb") as f:
        f.write(parity)
    pytorch = old.get("pytorch") or {k: old[k] for k in ("curve", "seconds", "eval_seconds", "final_val")}
    print(f"{name}: PyTorch's val loss of specformer's weights {final:.4f} nats (the PyTorch-trained model: {pytorch['final_val']:.4f}, {100 * (final / pytorch['final_val'] - 1):+.2f}%)")
    return {
        **{k: old[k] for k in ("name", "model_name", "spec", "attention", "params")},
        "trainer": "specformer",
        "target": log["target"],
        "dtype": "F32",
        "file_bytes": os.path.getsize(dest),
        "parity_bytes": len(parity),
        "parity_checks": checks,
        "parity_greedy": greedy,
        "curve": curve_of(log),
        "seconds": log["final"]["seconds"],
        "eval_seconds": None,
        "tokens_per_second": log["final"]["tokensPerSecond"],
        "final_val_specformer": log["final"]["valLoss"],
        "final_val": final,
        "val_by_position": by_position,
        "samples": td.samples_for(model),
        "pytorch": pytorch,
    }


def main():
    args = sys.argv[1:]
    only = None
    if len(args) == 3 and args[1] == "--only" and args[2] in td.MODELS:
        only = args[2]
    elif len(args) != 1:
        sys.exit(__doc__)
    src_dir = args[0]
    record_path = os.path.join(ROOT, "models", "demo-training.json")
    with open(record_path) as f:
        record = json.load(f)
    torch.set_num_threads(1)
    _, val_data, split = td.dataset()
    info = {**record["info"], **split}  # the record's machine line, the split's counts
    hp = record["hp"]
    old = {r["name"]: r for r in record["results"]}
    results = [adopt(name, src_dir, old[name], val_data, hp) if only in (None, name) else old[name] for name in td.MODELS]
    if "specformer train" not in info["machine"]:
        info["machine"] = ("specformer train --target wasm (relaxed SIMD, 1 thread) on a 2-core CPU shared with other jobs (timings are noisy); "
                           "the PyTorch cross-check: " + info["machine"])
    record = {"info": info, "hp": hp, "results": results}
    with open(record_path, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    td.write_doc(os.path.join(ROOT, "docs", "demo-training.md"), info, results, hp)
    print("wrote models/demo-*.safetensors, models/demo-*.parity.safetensors, models/demo-training.json, docs/demo-training.md")


if __name__ == "__main__":
    main()
