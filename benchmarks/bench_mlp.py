"""Speed benchmark: one epoch of a 784-256-10 MLP, from scratch against ``torch.nn`` (issue 11).

Run by ``make bench`` (``python benchmarks/bench_mlp.py``); results are recorded in
``benchmarks/RESULTS.md``. On the 60,000 training images of ``lk.load_fashion_mnist()`` (the
real set when present, else labkit's offline stand-in), batch size 256, lr 0.1, it times

- (s) labkit's from-scratch MLP, the way lab 2's notebook 06 trains it: ``lk.MLPScratch``
  (raw ``W``, ``b`` tensors, ``lk.relu``), ``lk.cross_entropy`` summed by the loop, ``lk.sgd``,
  run by ``lk.train_epoch``;
- (n) its ``torch.nn`` twin, the way notebook 07 trains it: ``lk.MLP`` (``nn.Sequential`` of
  ``nn.Linear``/``nn.ReLU``), ``nn.CrossEntropyLoss``, ``torch.optim.SGD``, the same loop;

on the same batches (two ``InMemoryLoader``s with one seed yield identical batch sequences)
from the same initial weights (both models drawn from one generator seed). Target: the
scratch epoch takes at most 1.2 times the ``torch.nn`` epoch.

Timing on a shared machine is noisy, so the ratio is measured side by side: each round
times one (s) epoch and one (n) epoch back to back (alternating which goes first), the
round's ratio is s / n, and the figure is the median ratio over the rounds, printed with
every round's ratio and their spread. Both models keep training across rounds; their final
training losses are printed too: equal up to rounding, they show both did the same work.

Usage::

    python benchmarks/bench_mlp.py [--repeats 9] [--json build/bench_mlp.json] [--tiny]
                                   [--strict] [--device cpu|cuda]

``--tiny`` runs two rounds on 2,048 generated images (a smoke test for
``tests/test_bench_mlp.py``; its times mean nothing).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

import labkit as lk

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, also when loaded by path
from _common import cpu_model, finish, load_average, timed  # noqa: E402

BATCH_SIZE = 256
LR = 0.1
HIDDEN = 256
TARGET = ("ratio", "scratch / nn epoch time", "<=", 1.2)
TINY_TRAIN = 2048


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9,
                        help="timed rounds, each one epoch of each model (default 9)")
    parser.add_argument("--json", type=Path, default=Path("build/bench_mlp.json"),
                        help="where to write the figures (default build/bench_mlp.json)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    parser.add_argument("--tiny", action="store_true",
                        help="two rounds on 2048 generated images (for the unit test)")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when the target fails")
    args = parser.parse_args(argv)
    if args.repeats < 2:
        parser.error(f"--repeats must be >= 2 (a spread needs two rounds), got {args.repeats}")
    try:
        device = torch.device(args.device)
    except RuntimeError:
        parser.error(f"--device must be cpu or cuda[:N], got {args.device!r}")
    if device.type not in ("cpu", "cuda"):
        parser.error(f"--device must be cpu or cuda[:N], got {args.device!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine")
    args.device = device
    return args


def load_data(tiny: bool, tmp: str):
    """``(X uint8 (N, 28, 28), y (N,), source, note)``: the training split."""
    root, source = None, "auto"
    if tiny:
        from labkit.data.standin import write_standin

        root, source = tmp, "synthetic"
        write_standin(root, num_train=TINY_TRAIN, num_test=256, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", lk.StandInWarning)
        data = lk.load_fashion_mnist(root, source=source)
    note = next((str(w.message) for w in caught if w.category is lk.StandInWarning), None)
    return data.train_images, data.train_labels, data.source, note


def setups(X, y, device: torch.device, seed: int = 0) -> dict:
    """The two models, their losses, updaters and identical batch streams."""
    scratch = lk.MLPScratch(784, (HIDDEN,), 10, "relu",
                            generator=torch.Generator().manual_seed(seed)).to(device)
    twin = lk.MLP(784, (HIDDEN,), 10, "relu",
                  generator=torch.Generator().manual_seed(seed)).to(device)

    def scratch_loss(y_hat, y):
        return lk.cross_entropy(y_hat, y, reduction="none")  # (B,): the loop sums it

    def scratch_updater(batch_size):
        lk.sgd(scratch.parameters(), LR, batch_size)

    return {
        "scratch": (scratch, scratch_loss, scratch_updater,
                    lk.InMemoryLoader(X, y, BATCH_SIZE, seed=seed, device=device)),
        "nn": (twin, nn.CrossEntropyLoss(), torch.optim.SGD(twin.parameters(), lr=LR),
               lk.InMemoryLoader(X, y, BATCH_SIZE, seed=seed, device=device)),
    }


def run(args: argparse.Namespace, tmp: str) -> dict:
    device = args.device
    rounds = 2 if args.tiny else args.repeats
    started = datetime.now(timezone.utc)
    load_start = load_average()
    X, y, source, note = load_data(args.tiny, tmp)
    models = setups(X, y, device)
    last_loss = {}

    def epoch(name):
        net, loss, updater, batches = models[name]
        last_loss[name] = lk.train_epoch(net, batches, loss, updater, device=device)[0]

    for name in models:  # warm-up: first calls, allocator, the torch.optim import
        epoch(name)
    samples = {"scratch": [], "nn": []}
    ratios = []
    for r in range(rounds):
        order = ("scratch", "nn") if r % 2 == 0 else ("nn", "scratch")
        times = {name: timed(lambda name=name: epoch(name), device) for name in order}
        for name, t in times.items():
            samples[name].append(t)
        ratios.append(times["scratch"] / times["nn"])

    ratio = statistics.median(ratios)
    q = statistics.quantiles(ratios, n=4, method="inclusive")
    key, label, op, limit = TARGET
    result = {
        "started": started.isoformat(timespec="seconds"),
        "tiny": args.tiny,
        "machine": {"cpu": cpu_model(),
                    "cores": os.cpu_count(), "torch": torch.__version__,
                    "threads": torch.get_num_threads(), "python": platform.python_version(),
                    "device": str(device)},
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "data": {"source": source, "num_train": len(X), "note": note},
        "config": {"layers": [784, HIDDEN, 10], "activation": "relu",
                   "batch_size": BATCH_SIZE, "lr": LR, "rounds": rounds,
                   "loop_threads": 1},
        "samples": {**samples, "ratio": ratios},
        "figures": {"scratch_epoch_s": statistics.median(samples["scratch"]),
                    "nn_epoch_s": statistics.median(samples["nn"]),
                    "ratio": ratio, "ratio_min": min(ratios), "ratio_max": max(ratios),
                    "ratio_q1": q[0], "ratio_q3": q[2]},
        "final_train_loss": dict(last_loss),
    }
    result["targets"] = [{"key": key, "label": label, "op": op, "limit": limit,
                          "value": ratio, "pass": ratio <= limit}]
    return result


def report(r: dict) -> str:
    f, m, d, c, s = r["figures"], r["machine"], r["data"], r["config"], r["samples"]
    what = ("labkit's offline stand-in (NOT Fashion-MNIST's accuracies; the same shapes, so "
            "the same times)" if d["source"] == "synthetic" else "Fashion-MNIST")
    runs = ", ".join(f"{v:.3f}" for v in s["ratio"])
    lines = [
        f"labkit MLP benchmark, {r['started']}",
        f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} (threads: "
        f"{m['threads']}; in labkit's loops: {c['loop_threads']}), device {m['device']}, "
        f"Python {m['python']}",
        f"load average at start {r['load_average_start']}, at end {r['load_average_end']}",
        f"data: {what}, {d['num_train']} training images",
        f"one epoch of a {'-'.join(map(str, c['layers']))} MLP ({c['activation']}), "
        f"batch_size={c['batch_size']}, lr={c['lr']}, the same batches and initial weights; "
        f"{c['rounds']} rounds, each timing both side by side:",
        f"  (s) scratch: lk.MLPScratch + lk.cross_entropy + lk.sgd   "
        f"{f['scratch_epoch_s']:7.3f} s   runs: "
        + ", ".join(f"{v:.3f}" for v in s["scratch"]),
        f"  (n) torch.nn: lk.MLP + nn.CrossEntropyLoss + optim.SGD  "
        f"{f['nn_epoch_s']:7.3f} s   runs: " + ", ".join(f"{v:.3f}" for v in s["nn"]),
        f"  ratio (s)/(n) per round: {runs}",
        f"  median {f['ratio']:.3f}, quartiles {f['ratio_q1']:.3f} - {f['ratio_q3']:.3f}, "
        f"range {f['ratio_min']:.3f} - {f['ratio_max']:.3f}",
        f"final training loss of the last epoch: scratch "
        f"{r['final_train_loss']['scratch']:.6f}, nn {r['final_train_loss']['nn']:.6f}",
        "",
        "target (issue 11):",
    ]
    for t in r["targets"]:
        lines.append(f"  {t['label']:<26} {t['value']:7.3f}   target {t['op']} {t['limit']:g}"
                     f"   {'PASS' if t['pass'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="labkit-bench-mlp-") as tmp:
        result = run(args, tmp)
    result["report"] = report(result)
    return finish(args, result)


if __name__ == "__main__":
    sys.exit(main())
