#!/usr/bin/python3
"""Train the two byte-level demo models on Debian's fortune cookies and ship them.

    apt-get install fortunes libopenblas0-openmp     # the corpus; a fast BLAS (see below)
    /usr/bin/python3 scripts/train-demo.py           # both models at once, ~10 minutes on 2 cores
    /usr/bin/python3 scripts/train-demo.py --steps 20 --out /tmp/demo   # a smoke run
    /usr/bin/python3 scripts/train-demo.py --doc-only                   # rewrite the doc only

Writes (relative to the repository root, or to --out):

  models/demo-fortune.safetensors               weights of specs/demo-fortune.sf (F32, native names)
  models/demo-fortune-window.safetensors        weights of specs/demo-fortune-window.sf
  models/demo-fortune.parity.safetensors        a prompt, PyTorch's logits for it, its greedy continuation
  models/demo-fortune-window.parity.safetensors
  models/demo-training.json                     the numbers behind the doc (--doc-only reads it)
  docs/demo-training.md                         corpus, recipe, loss curves, timings, samples

Data. Every plain-text fortune file of the `fortunes` package (/usr/share/games/fortunes/*,
skipping the .dat indexes and the .u8 symlinks), split into fortunes at lines holding a lone
`%`. Backspace overstrikes (`_\\bx`, `x\\bx`: nroff underline / bold in a few old fortunes)
keep only the character struck last, BEL bytes are dropped, trailing whitespace is stripped,
empty fortunes are dropped. 5% of the fortunes (seeded shuffle) are held out for validation.

Tokens. Bytes 0-255 are themselves; 256 is END OF TEXT, written before every fortune (so the
stream is EOT f1 EOT f2 ... EOT): it separates fortunes and doubles as the start token of a
prompt. Hence vocab 257. src/runtime/tokenizer.ts implements the same convention.

Models. A PyTorch model with exactly the reference backend's semantics: make-fixtures.py's
NativeDecoderLM (pre-norm LayerNorm, q/k/v/o projections with biases, exact-GELU MLP with
biases, final LayerNorm, tied head; softmax attention under the causal, optionally windowed
mask: key j visible iff i - window < j <= i) plus a learned position table added to the token
embedding. Its state_dict names are our native names (src/model/weights-layout.ts), so the
files load with no name map. Every number reported after training (final validation loss,
samples, parity logits) is computed with the weights as stored (--dtype f16 rounds them first).

Training. AdamW (betas 0.9/0.95, weight decay 0.1 on matrices and tables), linear warmup then
cosine decay to 10%, gradient clipping at 1.0, batches of random 256-byte windows of the
training stream, no dropout, float32. The two models start from the same initial weights and see
the same batches: only the attention mask differs. They train concurrently, one process and
one thread each (--jobs, --threads). Deterministic: fixed seeds for the split, the batches and
the initial weights, and a fixed thread count; a rerun on the same machine and BLAS writes the
same files bit for bit (the timings differ). Another BLAS or CPU may round differently.

Speed. Debian's python3-torch 1.13 calls whatever libblas.so.3 is installed; with the netlib
reference BLAS (libblas3) training is ~20x slower. Installing libopenblas0-openmp switches the
alternative; the script prints which BLAS it found. On a 2-core machine shared with other jobs,
a second thread per process bought nothing (spinning OpenMP workers stalled each other), hence
one thread per model and both models at once.
"""

import argparse
import hashlib
import importlib.util
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time

# Threads that wait passively: on a shared machine, spinning OpenMP workers stall each other.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# make-fixtures.py's safetensors writer and native-name decoder, imported by path (the file
# name has a dash).
_spec = importlib.util.spec_from_file_location("make_fixtures", os.path.join(ROOT, "scripts", "make-fixtures.py"))
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)
mf._DTYPES.setdefault(torch.float16, ("F16", "<f2"))

CORPUS_DIR = "/usr/share/games/fortunes"
EOT = 256
VOCAB = 257
SEED = 20240601
VAL_FRACTION = 0.05

# Both models: identical but for the attention window. Keep in step with specs/demo-*.sf.
BASE = dict(vocab=VOCAB, d=128, heads=4, layers=4, hidden=4 * 128, context=256, norm="layer", eps=1e-5,
            position="learned", attn_bias=True, mlp_bias=True, act="gelu", head="tied")
MODELS = {
    "demo-fortune": dict(BASE, window=None, spec="specs/demo-fortune.sf"),
    "demo-fortune-window": dict(BASE, window=32, spec="specs/demo-fortune-window.sf"),
}

TRAIN = dict(steps=2000, batch=8, seq=256, lr=3e-3, min_lr_frac=0.1, warmup=100, weight_decay=0.1,
             betas=(0.9, 0.95), clip=1.0, log_every=200, val_windows=32)

PROMPTS = ["The ", "A man"]
# The parity prompt: longer than the window (32), so the fixture exercises the sliding window.
PARITY_TEXT = "The best way to predict the future is to invent it.\n\t\t-- Alan Kay"
GREEDY_TOKENS = 24
SAMPLE_BYTES = 200

DTYPES = {"f32": (torch.float32, "F32"), "f16": (torch.float16, "F16")}


# ---- data -----------------------------------------------------------------------------------


def corpus_files():
    names = []
    for name in sorted(os.listdir(CORPUS_DIR)):
        path = os.path.join(CORPUS_DIR, name)
        if name.endswith(".dat") or os.path.islink(path) or not os.path.isfile(path):
            continue
        names.append(name)
    if not names:
        sys.exit(f"no fortune files in {CORPUS_DIR}: apt-get install fortunes")
    return names


def clean(text: bytes) -> bytes:
    text = re.sub(rb"[^\n]\x08", b"", text)  # overstrike: keep the character struck last
    return text.replace(b"\x07", b"").rstrip()


def load_fortunes():
    fortunes = []
    raw_bytes = 0
    for name in corpus_files():
        with open(os.path.join(CORPUS_DIR, name), "rb") as f:
            data = f.read()
        raw_bytes += len(data)
        for chunk in re.split(rb"(?m)^%\n", data + b"\n"):
            chunk = clean(chunk)
            if chunk:
                fortunes.append(chunk)
    return fortunes, raw_bytes


def stream(fortunes):
    out = []
    for f in fortunes:
        out.append(EOT)
        out.extend(f)
    out.append(EOT)
    return torch.tensor(out, dtype=torch.int64)


def dataset():
    """(train stream, validation stream, corpus info)."""
    fortunes, raw_bytes = load_fortunes()
    order = list(range(len(fortunes)))
    random.Random(SEED).shuffle(order)
    n_val = math.ceil(len(fortunes) * VAL_FRACTION)
    val_f = [fortunes[i] for i in order[:n_val]]
    train_f = [fortunes[i] for i in order[n_val:]]
    train_data, val_data = stream(train_f), stream(val_f)
    counts = torch.bincount(train_data, minlength=VOCAB).double()
    p = counts / counts.sum()
    vc = torch.bincount(val_data, minlength=VOCAB).double()
    unigram = -(vc * torch.log(p.clamp_min(1e-12))).sum().item() / vc.sum().item()
    info = {
        "pkg_version": package_version("fortunes"),
        "files": len(corpus_files()),
        "raw_bytes": raw_bytes,
        "fortunes": len(fortunes),
        "val_fortunes": len(val_f),
        "train_fortunes": len(train_f),
        "val_tokens": len(val_data),
        "train_tokens": len(train_data),
        "sha256": hashlib.sha256(b"".join(f + b"\x00" for f in fortunes)).hexdigest(),
        "unigram": unigram,
    }
    return train_data, val_data, info


def package_version(pkg):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return "unknown"


def blas_in_use():
    """Which libblas.so.3 the dynamic linker resolves (Debian's alternatives)."""
    return os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")


# ---- model ----------------------------------------------------------------------------------


class DemoLM(mf.NativeDecoderLM):
    """NativeDecoderLM with a learned position table (native name `position.weight`)."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.position = nn.Embedding(cfg["context"], cfg["d"])

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.embed["tokens"](tokens) + self.position.weight[:t][None]
        for layer in self.decoder:
            x = layer(x)
        x = self.norm["0"](x)
        return x @ self.embed["tokens"].weight.T


def build(cfg, seed):
    torch.manual_seed(seed)
    model = DemoLM(cfg)
    # GPT-2's initialisation: N(0, 0.02) matrices and tables, residual outputs scaled by
    # 1/sqrt(2·layers), zero biases, unit LayerNorm gains.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                (p.zero_() if name.endswith("bias") else p.fill_(1.0))
            elif name.endswith("attn.o.weight") or name.endswith("mlp.down.weight"):
                p.normal_(0.0, 0.02 / math.sqrt(2 * cfg["layers"]))
            else:
                p.normal_(0.0, 0.02)
    return model


def stored_copy(model, cfg, dtype):
    """The model as its file holds it: weights rounded to the storage dtype."""
    m = DemoLM(cfg)
    m.load_state_dict({k: v.to(dtype).float() for k, v in model.state_dict().items()})
    m.eval()
    return m


def param_count(model):
    return sum(p.numel() for p in model.parameters())


# ---- training -------------------------------------------------------------------------------


def lr_at(step, hp):
    if step < hp["warmup"]:
        return hp["lr"] * (step + 1) / hp["warmup"]
    progress = (step - hp["warmup"]) / max(1, hp["steps"] - hp["warmup"])
    return hp["lr"] * (hp["min_lr_frac"] + (1 - hp["min_lr_frac"]) * 0.5 * (1 + math.cos(math.pi * progress)))


def val_windows(val, seq, limit=None):
    """Non-overlapping windows covering the validation stream (inputs, targets)."""
    n = (len(val) - 1) // seq
    if limit is not None:
        n = min(n, limit)
    return val[: n * seq].view(n, seq), val[1 : n * seq + 1].view(n, seq)


@torch.no_grad()
def evaluate(model, x, y, batch=16, per_position=False):
    """Mean loss over all targets; with per_position, also the mean at each position [seq]."""
    was_training = model.training
    model.eval()
    pos = torch.zeros(x.shape[1], dtype=torch.float64)
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch])
        losses = F.cross_entropy(logits.reshape(-1, VOCAB), y[i : i + batch].reshape(-1), reduction="none")
        pos += losses.view(-1, x.shape[1]).double().sum(0)
    model.train(was_training)
    mean = pos.sum().item() / y.numel()
    return (mean, (pos / len(x)).tolist()) if per_position else mean


def train(name, cfg, train_data, val_data, hp, log):
    model = build(cfg, SEED)  # the same initial weights for both models: only the mask differs
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": hp["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=hp["lr"], betas=tuple(hp["betas"]), eps=1e-8,
    )
    gen = torch.Generator().manual_seed(SEED + 7)  # the same batches for both models
    vx, vy = val_windows(val_data, hp["seq"], hp["val_windows"])
    seq, batch = hp["seq"], hp["batch"]
    curve, recent = [], []
    model.train()
    t0 = time.time()
    eval_time = 0.0
    for step in range(hp["steps"]):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, hp)
        starts = torch.randint(0, len(train_data) - seq - 1, (batch,), generator=gen).tolist()
        x = torch.stack([train_data[s : s + seq] for s in starts])
        y = torch.stack([train_data[s + 1 : s + seq + 1] for s in starts])
        loss = F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), hp["clip"])
        opt.step()
        recent.append(loss.item())
        done = step + 1
        if done % hp["log_every"] == 0 or done == hp["steps"] or step == 0:
            te = time.time()
            v = evaluate(model, vx, vy)
            eval_time += time.time() - te
            tr = sum(recent) / len(recent)
            recent = []
            elapsed = time.time() - t0
            curve.append({"step": done, "train": tr, "val": v, "seconds": elapsed})
            log(f"{name}: step {done:4d}/{hp['steps']}  train {tr:.4f}  val {v:.4f} nats  ({bpb(v):.3f} bits/byte)  lr {lr_at(step, hp):.2e}  {elapsed:6.1f}s")
    return model, curve, time.time() - t0, eval_time


# ---- generation (PyTorch, a full forward per token: the reference semantics, no cache) -------


@torch.no_grad()
def generate(model, prompt_ids, max_new, temperature=0.0, top_k=0, gen=None, context=256, stop_at_eot=True):
    """Returns (new ids, top-1 minus top-2 logit at each greedy step). Stops at EOT unless told not to."""
    model.eval()
    ids = list(prompt_ids)
    out, margins = [], []
    while len(out) < max_new and len(ids) < context:
        logits = model(torch.tensor([ids]))[0, -1]
        if temperature == 0:
            top2 = torch.topk(logits, 2)
            margins.append((top2.values[0] - top2.values[1]).item())
            nxt = int(top2.indices[0])
        else:
            scaled = logits / temperature
            if top_k:
                kth = torch.topk(scaled, top_k).values[-1]
                scaled = scaled.masked_fill(scaled < kth, float("-inf"))
            nxt = int(torch.multinomial(F.softmax(scaled, dim=-1), 1, generator=gen))
        if nxt == EOT and stop_at_eot:
            break
        out.append(nxt)
        ids.append(nxt)
    return out, margins


def text_of(ids):
    """Bytes as text; end of text (256), which a continuation may pass, shown as ⟨EOT⟩."""
    parts, cur = [], []
    for i in ids:
        if i == EOT:
            parts.append(bytes(cur).decode("utf-8", errors="replace"))
            cur = []
        else:
            cur.append(i)
    parts.append(bytes(cur).decode("utf-8", errors="replace"))
    return "⟨EOT⟩".join(parts)


def prompt_ids(text):
    return [EOT] + list(text.encode("utf-8"))


# ---- outputs ---------------------------------------------------------------------------------


def parity_fixture(model, name):
    toks = torch.tensor([prompt_ids(PARITY_TEXT)], dtype=torch.int64)
    with torch.no_grad():
        logits = model(toks)
    f32_vs_f64, max_abs = mf.conditioning(model, lambda m: m(toks))
    # EOT is not a stop here: a model that ends the parity fortune at once (it is a whole one)
    # would otherwise leave nothing to compare.
    greedy, margins = generate(model, toks[0].tolist(), GREEDY_TOKENS, stop_at_eot=False)
    tensors = [
        ("input.tokens", toks),
        ("expected.logits", logits),
        ("expected.greedy", torch.tensor([greedy], dtype=torch.int64)),
    ]
    metadata = {
        "generator": "scripts/train-demo.py",
        "spec": MODELS[name]["spec"],
        "weights": f"models/{name}.safetensors",
        "prompt": PARITY_TEXT,
        "expected.greedy": f"PyTorch's greedy continuation of input.tokens, {GREEDY_TOKENS} tokens (256 = end of text, not a stop)",
    }
    checks = {"f32_vs_f64": f32_vs_f64, "max_abs": max_abs, "min_greedy_margin": min(margins) if margins else float("inf")}
    return mf.safetensors_bytes(tensors, metadata), checks, greedy


def samples_for(model):
    out = []
    for p in PROMPTS + [""]:
        greedy, _ = generate(model, prompt_ids(p), SAMPLE_BYTES)
        sampled = []
        for i in range(2):
            gen = torch.Generator().manual_seed(SEED + 100 + i)
            ids, _ = generate(model, prompt_ids(p), SAMPLE_BYTES, temperature=0.8, top_k=40, gen=gen)
            sampled.append(text_of(ids))
        out.append({"prompt": p, "greedy": text_of(greedy), "sampled": sampled})
    return out


def train_one(name, train_data, val_data, hp, dtype_key, out_dir, log):
    cfg = MODELS[name]
    dtype, dtype_name = DTYPES[dtype_key]
    model, curve, seconds, eval_seconds = train(name, cfg, train_data, val_data, hp, log)
    vx, vy = val_windows(val_data, hp["seq"])
    final_trained = evaluate(model, vx, vy)
    shipped = stored_copy(model, cfg, dtype)
    final, by_position = evaluate(shipped, vx, vy, per_position=True)
    log(f"{name}: trained in {seconds:.0f}s; final val {final:.4f} nats = {bpb(final):.3f} bits/byte ({dtype_name} weights)")

    metadata = {
        "generator": "scripts/train-demo.py",
        "spec": cfg["spec"],
        "torch": torch.__version__.split("+")[0],
        "corpus": f"Debian fortunes ({CORPUS_DIR})",
        "tokenizer": "byte; ids 0-255 are bytes, 256 is end of text (separates fortunes, starts a prompt)",
        "steps": str(hp["steps"]),
        "val_loss_nats": f"{final:.4f}",
    }
    tensors = [(k, v.detach().to(dtype)) for k, v in model.state_dict().items()]
    weights = mf.safetensors_bytes(tensors, metadata)
    with open(os.path.join(out_dir, "models", f"{name}.safetensors"), "wb") as f:
        f.write(weights)
    parity, checks, greedy = parity_fixture(shipped, name)
    with open(os.path.join(out_dir, "models", f"{name}.parity.safetensors"), "wb") as f:
        f.write(parity)
    log(f"{name}: wrote models/{name}.safetensors ({len(weights):,} bytes), models/{name}.parity.safetensors ({len(parity):,} bytes)")
    if len(parity) >= 100_000:
        log(f"warning: models/{name}.parity.safetensors is over 100 KB")
    samples = samples_for(shipped)
    for s in samples:
        log(f"{name}: greedy {s['prompt'] + s['greedy']!r}")
    return {
        "name": name,
        "model_name": name.replace("-", "_"),
        "spec": cfg["spec"],
        "attention": "causal, full" if cfg["window"] is None else f"causal, sliding window {cfg['window']}",
        "params": param_count(model),
        "dtype": dtype_name,
        "file_bytes": len(weights),
        "parity_bytes": len(parity),
        "parity_checks": checks,
        "parity_greedy": greedy,
        "curve": curve,
        "seconds": seconds,
        "eval_seconds": eval_seconds,
        "final_val_trained": final_trained,
        "final_val": final,
        "val_by_position": by_position,
        "samples": samples,
    }


# ---- the doc ---------------------------------------------------------------------------------


def fence(text):
    return "```text\n" + text.replace("```", "`\u200b``") + "\n```"


def bpb(nats):
    return nats / math.log(2)


def write_doc(path, info, results, hp):
    L = []
    w = L.append
    w("# The demo models: byte-level transformers trained on fortune cookies")
    w("")
    by_specformer = any(r.get("trainer") == "specformer" for r in results)
    if by_specformer:
        w("_Written by `scripts/adopt-demo.py` from `specformer train`'s runs, checked in PyTorch (`scripts/train-demo.py --doc-only` rewrites it from `models/demo-training.json`)._")
    else:
        w("_Generated by `scripts/train-demo.py` (`--doc-only` rewrites it from `models/demo-training.json`)._")
    w("")
    if by_specformer:
        trained = ", ".join(f"`{r['model_name']}`" for r in results if r.get("trainer") == "specformer")
        w(f"Trained by specformer from their specs: {trained} (`specformer train … --target wasm`, the")
        w("commands under Reproducing); `scripts/train-demo.py`, which trained the previous ones in PyTorch with")
        w("the same recipe, stays as the cross-check: its model, written from the spec's description, loads")
        w("specformer's weights and measures every number below (validation loss, parity logits, samples).")
        w("")
    w("`models/` holds two small language models trained here, from scratch, so that specformer has")
    w("something real to run on a fresh machine. They are the same network but for one line of the")
    w("spec — the attention mask — which is the point of the language: the attention kind is a")
    w("declaration, and the same weights layout, loader, backend and tokenizer serve both.")
    w("")
    w("| model | spec | attention | parameters | weights | trained in | final val loss | bits/byte |")
    w("|---|---|---|---:|---|---:|---:|---:|")
    for r in results:
        w(f"| `{r['model_name']}` | `{r['spec']}` | {r['attention']} | {r['params']:,} | `models/{r['name']}.safetensors`, {r['file_bytes']:,} bytes {r['dtype']} | {r['seconds']:.0f} s | {r['final_val']:.4f} nats | {bpb(r['final_val']):.3f} |")
    w("")
    w("These are small and briefly trained: each model saw about "
      f"{hp['steps'] * hp['batch'] * hp['seq'] / 1e6:.1f}M bytes, under two passes over the corpus, in a "
      + ("one-hour (specformer, on a loaded machine) or 10-minute (PyTorch)" if by_specformer else "10-minute"))
    w("budget on a 2-core CPU. They have learnt common short words, punctuation, line lengths and the shape")
    w("of a fortune (the indented `-- Author` line); most longer words are invented, and nothing makes")
    w("sense. Greedy decoding falls into loops, as greedy decoding of small models does; sampling")
    w("(temperature 0.8, top-k 40) reads better.")
    w("")
    w("## Data")
    w("")
    w(f"The fortune-cookie databases of Debian's `fortunes` package (version {info['pkg_version']}),")
    w(f"`{CORPUS_DIR}`: the {info['files']} plain-text files (not the `.dat` indexes, not the `.u8` links),")
    w(f"{info['raw_bytes']:,} bytes, split at lines holding a lone `%` into {info['fortunes']:,} fortunes. Cleanup:")
    w("backspace overstrikes (nroff bold/underline in a few old fortunes) keep the character struck last,")
    w("BEL bytes are dropped, trailing whitespace is stripped. A seeded shuffle holds out 5% of the fortunes")
    w(f"({info['val_fortunes']:,} fortunes, {info['val_tokens']:,} tokens) for validation; training sees the other")
    w(f"{info['train_fortunes']:,} ({info['train_tokens']:,} tokens). SHA-256 of the cleaned corpus: `{info['sha256'][:16]}…`.")
    w("")
    w("## Tokens")
    w("")
    w("Byte-level, vocab 257: ids 0–255 are the UTF-8 bytes of the text, and **256 is END OF TEXT**. The")
    w("training stream is `EOT fortune EOT fortune … EOT`, so 256 both ends a fortune and starts one: a prompt")
    w("is `[256, ...bytes]`, and generation stops when the model emits 256. `src/runtime/tokenizer.ts`")
    w("(`tokenizerFor(model)`: `encodePrompt`, `stop`, and a streaming `ByteDecoder` that never splits a")
    w("multi-byte character) implements this. Losses are per token, i.e. per byte with each separator")
    w("counting as one byte; bits/byte = nats / ln 2.")
    w("")
    w("## Recipe")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| architecture | d {BASE['d']}, {BASE['heads']} heads (head dim {BASE['d'] // BASE['heads']}), {BASE['layers']} pre-norm layers, MLP {BASE['hidden']} with exact GELU, biases, learned positions ({BASE['context']}), tied head |")
    w(f"| optimiser | AdamW, lr {hp['lr']:g}, betas {hp['betas'][0]}/{hp['betas'][1]}, weight decay {hp['weight_decay']} (matrices and tables), grad clip {hp['clip']} |")
    w(f"| schedule | {hp['warmup']} warmup steps, then cosine to {hp['min_lr_frac']:g}× over {hp['steps']:,} steps |")
    w(f"| batches | {hp['batch']} random {hp['seq']}-token windows per step ({hp['batch'] * hp['seq']:,} tokens; {hp['steps'] * hp['batch'] * hp['seq']:,} in all, {hp['steps'] * hp['batch'] * hp['seq'] / info['train_tokens']:.2f} epochs); the same batches for both models |")
    w(f"| init | GPT-2's: N(0, 0.02), residual outputs N(0, 0.02/√{2 * BASE['layers']}), zero biases, unit gains; seed {SEED}; the same for both models |")
    w(f"| machine | {info['machine']} |")
    w(f"| storage | {results[0]['dtype'] if results else ''} safetensors under native names; the numbers below use the weights as stored |")
    w("")
    w("Why this size: in 819,200-byte pilot runs (200 steps of 16 × 256; lr 1e-3 to 6e-3, batch 4 to 16),")
    w("a d = 192, 6-head model (1.88M parameters) ended at 2.56–2.60 nats and a d = 128 one (0.86M) at")
    w("2.58–2.59, while a d = 128 step costs about two thirds of a d = 192 step. At this budget both are")
    w("data-starved rather than capacity-starved, so the smaller one gets further in 10 minutes. (Pilots")
    w("were run by hand, not by this script.)")
    w("")
    w(f"The curves' validation loss is on the first {hp['val_windows']} windows of {hp['seq']} tokens of the held-out")
    w("stream (a quick estimate); the final numbers use all of it. Train loss is the mean over the steps")
    w(f"since the previous row. Unigram baseline (byte frequencies of the training set): {info['unigram']:.3f} nats = {bpb(info['unigram']):.3f} bits/byte.")
    for r in results:
        w("")
        w(f"## `{r['spec']}` — {r['attention']}")
        w("")
        if r.get("trainer") == "specformer":
            pt = r["pytorch"]
            w(f"{r['params']:,} parameters. Trained by `specformer train --target {r['target']}` in **{r['seconds']:.0f} s** ({r['seconds'] / 60:.1f} min,")
            w(f"{r['tokens_per_second']:,.0f} tokens/s with validation passes included). Final validation loss over the whole held-out")
            w(f"set, measured by PyTorch on the shipped weights: **{r['final_val']:.4f} nats = {bpb(r['final_val']):.3f} bits/byte** (specformer's own")
            w(f"measure, over its ordering of the same fortunes: {r['final_val_specformer']:.4f}). The same recipe trained in PyTorch")
            w(f"(the previous shipped model, {pt['seconds']:.0f} s): {pt['final_val']:.4f} nats; specformer's run is **{100 * (r['final_val'] / pt['final_val'] - 1):+.2f}%** from it.")
            w("")
            w("The two runs' curve estimates use different 32-window samples of the same held-out fortunes")
            w("(specformer's `--val-data` streams them in its own order); the final row is PyTorch's measure over all")
            w("of them, for both models. Different initial draws and batches too (specformer's seeded RNG), so the")
            w("gap is one run against one run, not a difference of method.")
            w("")
            w("| step | train loss (nats) | val loss (nats) | PyTorch's run, val | train bits/byte | val bits/byte | elapsed |")
            w("|---:|---:|---:|---:|---:|---:|---:|")
            pv = {c["step"]: c["val"] for c in pt["curve"]}
            for c in r["curve"]:
                w(f"| {c['step']} | {c['train']:.4f} | {c['val']:.4f} | {pv[c['step']]:.4f} | {bpb(c['train']):.3f} | {bpb(c['val']):.3f} | {c['seconds']:.0f} s |" if c["step"] in pv else
                  f"| {c['step']} | {c['train']:.4f} | {c['val']:.4f} | | {bpb(c['train']):.3f} | {bpb(c['val']):.3f} | {c['seconds']:.0f} s |")
            w(f"| final (all held-out windows) | | {r['final_val']:.4f} | {pt['final_val']:.4f} | | {bpb(r['final_val']):.3f} | |")
        else:
            w(f"{r['params']:,} parameters. Trained in **{r['seconds']:.0f} s** ({r['seconds'] / 60:.1f} min, {r['eval_seconds']:.0f} s of it in validation")
            w(f"passes). Final validation loss over the whole held-out set: **{r['final_val']:.4f} nats = {bpb(r['final_val']):.3f} bits/byte**.")
            w("")
            w("| step | train loss (nats) | val loss (nats) | train bits/byte | val bits/byte | elapsed |")
            w("|---:|---:|---:|---:|---:|---:|")
            for c in r["curve"]:
                w(f"| {c['step']} | {c['train']:.4f} | {c['val']:.4f} | {bpb(c['train']):.3f} | {bpb(c['val']):.3f} | {c['seconds']:.0f} s |")
            w(f"| final (all held-out windows) | | {r['final_val']:.4f} | | {bpb(r['final_val']):.3f} | |")
        w("")
        ck = r["parity_checks"]
        w(f"Parity fixture `models/{r['name']}.parity.safetensors` ({r['parity_bytes']:,} bytes): the prompt")
        w(f"`EOT` + {json.dumps(PARITY_TEXT)} ({len(PARITY_TEXT.encode()) + 1} tokens), PyTorch's logits for it")
        w(f"(max |logit| {ck['max_abs']:.1f}; float32 vs float64 {ck['f32_vs_f64']:.1e}), and its greedy continuation")
        w(f"{json.dumps(text_of(r['parity_greedy']))} (smallest top-1/top-2 logit gap along the way: {ck['min_greedy_margin']:.3f}).")
        w("")
        w(f"Generations from PyTorch with the shipped weights; each prompt is preceded by EOT; at most {SAMPLE_BYTES} bytes,")
        w("fewer where the model emitted EOT. Greedy is argmax; sampled is temperature 0.8, top-k 40 from torch's")
        w("seeded generator (specformer's own sampler uses another PRNG, mulberry32, so its draws differ).")
        for s in r["samples"]:
            label = f"`{json.dumps(s['prompt'])[1:-1]}`" if s["prompt"] else "no prompt (EOT alone)"
            w("")
            w(f"{label}, greedy:")
            w("")
            w(fence(s["prompt"] + s["greedy"]))
            for i, t in enumerate(s["sampled"]):
                w("")
                w(f"{label}, sampled #{i + 1}:")
                w("")
                w(fence(s["prompt"] + t))
    full = next((r for r in results if not r["name"].endswith("window")), None)
    win = next((r for r in results if r["name"].endswith("window")), None)
    if full and win:
        diff = win["final_val"] - full["final_val"]
        w("")
        w("## Full attention vs a 32-byte window")
        w("")
        w(f"Same data, same batches, same initial weights; only the mask differs. Validation loss {full['final_val']:.4f}")
        w(f"nats (full) vs {win['final_val']:.4f} (window 32): {diff:+.4f} nats/byte ({bpb(diff):+.3f} bits/byte) for the window.")
        w("Mean validation loss (nats) by the target's position in its 256-byte window, over the same held-out")
        w("windows:")
        w("")
        w("| positions | full attention | window 32 | window − full |")
        w("|---|---:|---:|---:|")
        for lo, hi in [(0, 8), (8, 32), (32, 64), (64, 128), (128, 256)]:
            fa = sum(full["val_by_position"][lo:hi]) / (hi - lo)
            wa = sum(win["val_by_position"][lo:hi]) / (hi - lo)
            w(f"| {lo}–{hi - 1} | {fa:.4f} | {wa:.4f} | {wa - fa:+.4f} |")
        w("")
        def first_below(r, level):
            return next((c["step"] for c in r["curve"] if c["val"] < level), None)

        fs, ws = first_below(full, 2.5), first_below(win, 2.5)
        if diff < 0:
            w("The window wins at this budget, and by about the same margin at every position, including 0–31,")
            w("where the two masks are identical. So the gap is not about what each model can see but about how")
            w("far training got: limited to the last 32 bytes, attention found the local patterns sooner. Both")
            w("curves sit near the bigram level at first (an interpolated bigram model of the training set scores")
            w("about 2.6 nats); the windowed model's quick estimate first")
            w(f"dropped below 2.5 nats at step {ws}, the full model's at step {fs}. Full attention can express everything")
            w("the window can, so with a longer run it should close the gap and then pass it; the window's")
            w("lasting advantages are the costs below.")
        else:
            w("Below position 32 the two masks are identical, so a gap there comes from training alone; from")
            w("position 32 on, the windowed model cannot copy from more than 124 bytes back.")
        w("")
        w("What the window buys: from position 32 on, a windowed layer sees only the last 32 bytes (the 4-layer")
        w("stack at most 124), so a decoder keeps at most 32 keys per layer instead of up to 256, and attention")
        w("costs O(seq × 32) rather than O(seq²). (PyTorch computes the window here as a mask over the full")
        w("score matrix, so training saves nothing; the reference backend's kernel does skip the masked keys.)")
    w("")
    w("## Reproducing")
    w("")
    w("```sh")
    if by_specformer:
        w("apt-get install fortunes libopenblas0-pthread  # the corpus; a fast BLAS for python3-torch")
        w("/usr/bin/python3 scripts/demo-split.py /tmp/demo   # train-demo.py's split as two text files")
        w("for m in demo-fortune demo-fortune-window; do")
        w("  node --experimental-wasm-relaxed-simd bin/specformer.js train specs/$m.sf \\")
        w("    --data /tmp/demo/demo-train.txt --val-data /tmp/demo/demo-val.txt --steps 2000 --batch 8 --seq 256 \\")
        w("    --schedule cosine --lr 3e-3 --warmup 100 --min-lr-ratio 0.1 --betas 0.9,0.95 --eps 1e-8 \\")
        w("    --weight-decay 0.1 --clip 1 --seed 20240601 --eval-every 200 --eval-windows 32 \\")
        w("    --target wasm --out /tmp/demo/$m.safetensors")
        w("done")
        w("/usr/bin/python3 scripts/adopt-demo.py /tmp/demo  # PyTorch's check; rewrites models/demo-* and this file")
        w("npx vitest run test/demo-models.test.ts         # the shipped weights vs PyTorch's logits")
        w("/usr/bin/python3 scripts/train-demo.py --out /tmp/pt   # the PyTorch run of the same recipe, for comparison")
    else:
        w("apt-get install fortunes libopenblas0-openmp   # the corpus; a fast BLAS for python3-torch")
        w("/usr/bin/python3 scripts/train-demo.py          # rewrites models/demo-* and this file")
        w("npx vitest run test/demo-models.test.ts         # the shipped weights vs PyTorch's logits")
    w("```")
    w("")
    w("Same machine, BLAS and thread count: the same files, bit for bit (not the same timings). Elsewhere")
    w("floating-point summation order may differ and the weights drift slightly; the parity fixtures are")
    w("written with the weights, so the test holds either way.")
    w("")
    with open(path, "w") as f:
        f.write("\n".join(L))


# ---- main ------------------------------------------------------------------------------------


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=TRAIN["steps"], help="training steps per model")
    ap.add_argument("--only", choices=list(MODELS), action="append", help="train just this model (repeatable)")
    ap.add_argument("--out", default=ROOT, help="write models/ and docs/ under this directory (default: the repository)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per model")
    ap.add_argument("--jobs", type=int, default=2, help="models trained at once, one process each")
    ap.add_argument("--dtype", choices=list(DTYPES), default="f32", help="weights file dtype")
    ap.add_argument("--doc-only", action="store_true", help="rewrite docs/demo-training.md from models/demo-training.json; no training")
    ap.add_argument("--record", help=argparse.SUPPRESS)  # internal: a child writes its result here
    args = ap.parse_args(argv)
    record_path = os.path.join(args.out, "models", "demo-training.json")
    doc_path = os.path.join(args.out, "docs", "demo-training.md")

    if args.doc_only:
        with open(record_path) as f:
            record = json.load(f)
        write_doc(doc_path, record["info"], record["results"], record["hp"])
        print(f"wrote {doc_path}")
        return 0

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    hp = dict(TRAIN, steps=args.steps)
    os.makedirs(os.path.join(args.out, "models"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "docs"), exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    train_data, val_data, info = dataset()
    names = args.only or list(MODELS)

    if args.record:  # a child: train one model, hand back its results
        (name,) = names
        result = train_one(name, train_data, val_data, hp, args.dtype, args.out, log)
        with open(args.record, "w") as f:
            json.dump(result, f)
        return 0

    log(f"corpus: {info['files']} files, {info['raw_bytes']:,} bytes, {info['fortunes']:,} fortunes; train {info['train_tokens']:,} tokens, val {info['val_tokens']:,} tokens")
    blas = blas_in_use()
    log(f"BLAS: {blas}")
    if not any(k in blas for k in ("openblas", "mkl", "blis")):
        log("warning: the reference BLAS is slow; apt-get install libopenblas0-openmp")
    jobs = max(1, min(args.jobs, len(names)))
    info["machine"] = (f"{os.cpu_count()} CPU cores (shared with other jobs, so timings are noisy), torch {torch.__version__.split('+')[0]}, "
                       f"BLAS `{blas}`, {args.threads} thread per model, {jobs} model{'s' if jobs > 1 else ''} at a time")
    t0 = time.time()
    results = []
    if jobs == 1:
        for name in names:
            results.append(train_one(name, train_data, val_data, hp, args.dtype, args.out, log))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            pending = list(names)
            running = []
            while pending or running:
                while pending and len(running) < jobs:
                    name = pending.pop(0)
                    rec = os.path.join(tmp, f"{name}.json")
                    cmd = [sys.executable, os.path.abspath(__file__), "--only", name, "--record", rec, "--out", args.out,
                           "--steps", str(args.steps), "--threads", str(args.threads), "--dtype", args.dtype]
                    running.append((name, rec, subprocess.Popen(cmd)))
                time.sleep(1)
                for item in list(running):
                    name, rec, proc = item
                    if proc.poll() is None:
                        continue
                    running.remove(item)
                    if proc.returncode != 0:
                        for _, _, other in running:
                            other.kill()
                        log(f"{name}: training failed (exit {proc.returncode})")
                        return 1
            for name in names:
                with open(os.path.join(tmp, f"{name}.json")) as f:
                    results.append(json.load(f))
    info["wall_seconds"] = time.time() - t0

    with open(record_path, "w") as f:
        json.dump({"info": info, "hp": hp, "results": results}, f, indent=1)
        f.write("\n")
    write_doc(doc_path, info, results, hp)
    log(f"wrote {os.path.relpath(record_path, args.out)}, {os.path.relpath(doc_path, args.out)} ({info['wall_seconds']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
