"""Data benchmark: the verified tensor cache of both IDX sets, the two offline stand-ins, and
how the MNIST stand-in behaves (issues 9 and 10).

Run by ``make bench`` (after ``bench_epoch.py``); results are recorded in
``benchmarks/RESULTS.md``. It measures, printing each figure beside its target:

- the generation time of each stand-in at full size (60,000 + 10,000 images);
- the cached load time of each set at 70,000 images (``lk.load_fashion_mnist`` /
  ``lk.load_mnist``, every check included: the cache's SHA-256 over all its bytes, the
  content fingerprint of the four raw files, the label and pixel checks), target < 0.5 s,
  with the first load (raw files read and checked, cache written) beside it;
- on the full MNIST stand-in, the lab's recipe (10 epochs, lr 0.1, batch 256): softmax
  regression from scratch (target: test accuracy in [0.85, 0.95]), a one-hidden-layer MLP
  with 256 ReLU units, from scratch (weights ~ N(0, 0.01)) and with ``torch.nn`` (its
  default initialisation) (target: at least 2 points above softmax regression), and the
  pairs of digits softmax regression confuses most (target: the top three are pairs that
  look alike: 4/9, 3/5, 3/8, 5/8, 1/7, 2/7).

The stand-ins are written into a temporary folder (``--root`` to use another: a real set
found there is measured instead of the stand-in, and the accuracy figures then are the real
set's). Every figure is a median of ``--repeats`` runs in this process. The JSON goes to
``build/bench_data.json``.

Usage::

    python benchmarks/bench_data.py [--root DIR] [--repeats 5] [--json build/bench_data.json]
                                    [--no-accuracy] [--tiny] [--strict]

``--tiny`` runs every step on 2,000 + 500 images, once (a smoke test for
``tests/test_bench_data.py``; the figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import torch

import labkit as lk
from labkit.data import idx_datasets
from labkit.data.fashion_mnist import FASHION_MNIST
from labkit.data.mnist import MNIST
from labkit.data.mnist_standin import generate_mnist_standin, write_mnist_standin
from labkit.data.standin import generate_standin, write_standin

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, also when loaded by path
from _common import finish, load_average  # noqa: E402

LOOK_ALIKE = {frozenset(p) for p in [(4, 9), (3, 5), (3, 8), (5, 8), (1, 7), (2, 7)]}
SETS = {"fashion-mnist": (FASHION_MNIST, generate_standin, write_standin),
        "mnist": (MNIST, generate_mnist_standin, write_mnist_standin)}
FULL = (60000, 10000)
TINY = (2000, 500)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=None,
                        help="data root to measure (default: a temporary folder with freshly "
                             "written stand-ins)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--json", type=Path, default=Path("build/bench_data.json"))
    parser.add_argument("--no-accuracy", action="store_true",
                        help="skip the MNIST stand-in's training figures (about a minute)")
    parser.add_argument("--tiny", action="store_true",
                        help="2,000 + 500 images, one run each (for the unit test)")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when a target fails")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.tiny:
        args.repeats = 1
    return args


def median_time(fn, repeats: int) -> tuple[float, list[float], object]:
    """Median seconds of ``repeats`` calls of ``fn()``, the samples, and the last result."""
    samples, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), samples, result


# ------------------------------------------------------------------------ the figures
def measure_generation(sizes, repeats) -> dict:
    out = {}
    for key, (_, generate, _) in SETS.items():
        seconds, samples, _ = median_time(lambda g=generate: g(*sizes, seed=0), repeats)
        out[key] = {"seconds": seconds, "samples": samples}
    return out


def measure_loads(root: Path, sizes, repeats, write: bool) -> dict:
    """First load (cache built) and verified cached loads of each set under ``root``."""
    out = {}
    for key, (spec, _, write_standin_fn) in SETS.items():
        real = not idx_datasets._find_files(spec, idx_datasets.real_raw_folder(spec, root))[1]
        source = "real" if real else "synthetic"
        if not real and write:
            write_standin_fn(root, num_train=sizes[0], num_test=sizes[1], seed=0)
        cache = (idx_datasets.real_raw_folder(spec, root) if real
                 else idx_datasets.standin_raw_folder(spec, root)).parent / "processed"
        (cache / idx_datasets.CACHE_NAME).unlink(missing_ok=True)
        start = time.perf_counter()
        first = idx_datasets.load(spec, root, source, download=False)
        first_s = time.perf_counter() - start
        seconds, samples, data = median_time(
            lambda s=spec, src=source: idx_datasets.load(s, root, src, download=False),
            repeats)
        assert data.from_cache and data.cache_status == "verified", data.cache_status
        out[key] = {"source": source, "images": len(data.train_images) + len(data.test_images),
                    "first_load_s": first_s, "first_status": first.cache_status,
                    "cached_load_s": seconds, "samples": samples,
                    "raw_folder": str(data.raw_folder)}
    return out


def _sgd_train(params, forward, X, y, *, epochs, lr, batch_size, seed=0):
    """Minibatch SGD on the summed cross-entropy / batch size (the notebooks' recipe)."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=g)
        for start in range(0, len(X), batch_size):
            index = order[start:start + batch_size]
            lk.cross_entropy(forward(X[index]), y[index], reduction="sum").backward()
            lk.sgd(params, lr, len(index))


def measure_accuracy(root: Path, epochs=10, lr=0.1, batch_size=256) -> dict:
    """The lab's recipe on the MNIST data under ``root`` (the stand-in unless a real set)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lk.StandInWarning)
        data = lk.load_mnist(root, download=False)
    X = data.train_images.reshape(len(data.train_images), -1).float() / 255  # (N, 784)
    X_test = data.test_images.reshape(len(data.test_images), -1).float() / 255
    y, y_test = data.train_labels, data.test_labels
    g = torch.Generator().manual_seed(0)
    results = {"source": data.source, "epochs": epochs, "lr": lr, "batch_size": batch_size}

    W = (torch.randn(784, 10, generator=g) * 0.01).requires_grad_()
    b = torch.zeros(10, requires_grad=True)
    start = time.perf_counter()
    _sgd_train([W, b], lambda X: X @ W + b, X, y, epochs=epochs, lr=lr,
               batch_size=batch_size)
    with torch.no_grad():
        y_hat = (X_test @ W + b).argmax(dim=1)
    results["softmax_acc"] = float((y_hat == y_test).float().mean())
    results["softmax_s"] = time.perf_counter() - start

    W1 = (torch.randn(784, 256, generator=g) * 0.01).requires_grad_()
    b1 = torch.zeros(256, requires_grad=True)
    W2 = (torch.randn(256, 10, generator=g) * 0.01).requires_grad_()
    b2 = torch.zeros(10, requires_grad=True)

    def mlp(X):
        return torch.relu(X @ W1 + b1) @ W2 + b2  # (B, 256) -> (B, 10)

    _sgd_train([W1, b1, W2, b2], mlp, X, y, epochs=epochs, lr=lr, batch_size=batch_size)
    with torch.no_grad():
        results["mlp_scratch_acc"] = float((mlp(X_test).argmax(dim=1) == y_test).float().mean())

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 10))
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    order_g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for index in torch.randperm(len(X), generator=order_g).split(batch_size):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(X[index]), y[index]).backward()
            optimizer.step()
    with torch.no_grad():
        results["mlp_nn_acc"] = float((net(X_test).argmax(dim=1) == y_test).float().mean())

    cm = lk.confusion_matrix(y_hat, y_test, 10)
    errors = cm.clone().fill_diagonal_(0)
    both = errors + errors.T
    ranked = sorted(((int(both[i, j]), i, j) for i in range(10) for j in range(i + 1, 10)),
                    reverse=True)
    results["confused_pairs"] = [[i, j, c] for c, i, j in ranked[:6]]
    results["top3_look_alike"] = all(frozenset((i, j)) in LOOK_ALIKE
                                     for _, i, j in ranked[:3])
    results["look_alike_share"] = sum(c for c, i, j in ranked
                                      if frozenset((i, j)) in LOOK_ALIKE) / int(errors.sum())
    return results


# ------------------------------------------------------------------------------- report
def targets(result: dict) -> list[dict]:
    out = []

    def add(key, label, value, op, limit):
        checks = {"<": lambda: value < limit, ">=": lambda: value >= limit,
                  "<=": lambda: value <= limit, "in": lambda: limit[0] <= value <= limit[1],
                  "is": lambda: value is limit}
        ok = checks[op]()
        out.append({"key": key, "label": label, "value": value, "op": op, "limit": limit,
                    "pass": bool(ok)})

    for key, load in result["loads"].items():
        add(f"{key}_cached_load_s", f"{key} cached load, {load['images']} images (s)",
            load["cached_load_s"], "<", 0.5)
    acc = result.get("accuracy")
    if acc and acc["source"] == "synthetic":
        add("softmax_acc", "MNIST stand-in: softmax test accuracy", acc["softmax_acc"], "in",
            (0.85, 0.95))
        for which in ("scratch", "nn"):
            add(f"mlp_{which}_margin", f"MLP ({which}) minus softmax (points)",
                100 * (acc[f"mlp_{which}_acc"] - acc["softmax_acc"]), ">=", 2.0)
        add("top3_look_alike", "top 3 confused pairs look alike", acc["top3_look_alike"],
            "is", True)
    return out


def report(result: dict) -> str:
    lines = [f"labkit data benchmark, {result['date']}"
             + ("  [--tiny: the figures mean nothing]" if result["tiny"] else ""),
             f"machine: {result['machine']['cpu']}, {result['machine']['cores']} cores, "
             f"torch {result['machine']['torch']}, Python {result['machine']['python']}",
             f"load average at start {result['machine']['load_start']}, at end "
             f"{result['machine']['load_end']}",
             f"data root: {result['root']}", "",
             f"stand-in generation, {result['sizes'][0]} + {result['sizes'][1]} images "
             f"(median of {result['repeats']}):"]
    for key, gen in result["generation"].items():
        lines.append(f"  {key:<14} {gen['seconds']:7.3f} s   runs: "
                     + ", ".join(f"{s:.3f}" for s in gen["samples"]))
    lines += ["", "load (every check included; median of the cached loads):"]
    for key, load in result["loads"].items():
        lines.append(f"  {key:<14} {load['source']:<9} {load['images']} images: cached "
                     f"{load['cached_load_s']:.3f} s (runs: "
                     + ", ".join(f"{s:.3f}" for s in load["samples"])
                     + f"); first load {load['first_load_s']:.3f} s (cache {load['first_status']})")
    acc = result.get("accuracy")
    if acc:
        what = "stand-in" if acc["source"] == "synthetic" else "REAL set"
        lines += ["", f"MNIST {what}, {acc['epochs']} epochs, lr {acc['lr']}, batch "
                  f"{acc['batch_size']} (test accuracy):",
                  f"  softmax regression from scratch   {acc['softmax_acc']:.4f}",
                  f"  MLP 784-256-10 ReLU, from scratch {acc['mlp_scratch_acc']:.4f}  "
                  f"(weights ~ N(0, 0.01), lk.sgd)",
                  f"  MLP 784-256-10 ReLU, torch.nn     {acc['mlp_nn_acc']:.4f}  "
                  f"(default init, torch.optim.SGD)",
                  "  softmax's most confused pairs (either way): "
                  + ", ".join(f"{i}/{j}: {c}" for i, j, c in acc["confused_pairs"]),
                  f"  share of softmax's errors on look-alike pairs: "
                  f"{acc['look_alike_share']:.2f}"]
    lines += ["", "targets:"]
    for t in result["targets"]:
        limit = (f"in [{t['limit'][0]}, {t['limit'][1]}]" if t["op"] == "in"
                 else f"{t['op']} {t['limit']}")
        value = str(t["value"]) if isinstance(t["value"], bool) else f"{t['value']:.3f}"
        lines.append(f"  {t['label']:<46} {value:>7}   target {limit:<14} "
                     f"{'PASS' if t['pass'] else 'FAIL'}")
    lines.append("all targets PASS" if all(t["pass"] for t in result["targets"])
                 else "SOME TARGETS FAIL")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict:
    sizes = TINY if args.tiny else FULL
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "tiny": args.tiny, "sizes": list(sizes), "repeats": args.repeats,
              "machine": {"cpu": platform.processor() or platform.machine(),
                          "cores": os.cpu_count(), "torch": torch.__version__,
                          "python": platform.python_version(), "threads":
                          torch.get_num_threads(), "load_start": load_average()}}
    with tempfile.TemporaryDirectory(prefix="labkit-bench-data-") as tmp:
        root = args.root if args.root is not None else Path(tmp)
        result["root"] = str(root)
        result["generation"] = measure_generation(sizes, args.repeats)
        result["loads"] = measure_loads(root, sizes, args.repeats, write=True)
        if not args.no_accuracy:
            result["accuracy"] = measure_accuracy(root, epochs=1 if args.tiny else 10)
    result["machine"]["load_end"] = load_average()
    result["targets"] = targets(result)
    result["report"] = report(result)
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    return finish(args, result)


if __name__ == "__main__":
    sys.exit(main())
