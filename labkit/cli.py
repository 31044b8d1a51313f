"""Command line: train the lab's models headless, and manage the data sets.

    labkit train logistic --impl scratch|nn [--epochs --lr --batch-size --seed --device --out]
                          [--dataset logistic|clusters]
    labkit train softmax  --impl scratch|nn [... --dataset fashion-mnist|mnist
                          --source auto|real|synthetic --root DIR]
    labkit data [info|prepare|check] [--dataset fashion-mnist|mnist] [--source ...] [--root DIR]

``python -m labkit`` is the same program. Each training run prints a progress bar and a
per-epoch table, and writes ``history.json`` and ``curves.png`` (plus a decision-boundary or
confusion-matrix figure) into ``--out``.

Errors: argparse refuses what it can (exit status 2, with the usage line); ``--out`` and
``--root`` are checked before any work; labkit's own errors (missing or damaged data, a
diverging run, a folder that is a file) print one message without a traceback and exit with
status 1 (``LABKIT_DEBUG=1`` shows the traceback). Ctrl-C during training saves
``history.json`` and ``curves.png`` for the finished epochs and exits with status 130.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

import labkit as lk
from labkit._checks import check_device, quote
from labkit.data import idx_datasets
from labkit.data.loader import DATASETS
from labkit.train import json_safe

__all__ = ["main", "build_parser"]

DEFAULTS = {
    # the seeds' settings: batch 64 on the synthetic set, batch 256 and lr 0.1 on Fashion-MNIST
    "logistic": {"epochs": 30, "lr": 1.0, "batch_size": 64, "out": "build/logistic"},
    "softmax": {"epochs": 10, "lr": 0.1, "batch_size": 256, "out": "build/softmax"},
}
# --dataset of each model; the first is the default
MODEL_DATASETS = {"logistic": ("logistic", "clusters"), "softmax": ("fashion-mnist", "mnist")}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {quote(text)}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {quote(text)}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


SEED_LIMIT = 2**32 - 1


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= SEED_LIMIT:
        shown = quote(text) if value is None else value
        raise argparse.ArgumentTypeError(
            f"expected an integer from 0 to 2**32 - 1, got {shown}")
    return value


def _device(text: str) -> torch.device:
    """``--device`` checked by labkit's one device check, as an argparse error."""
    try:
        return check_device(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labkit", description="labkit: logistic and softmax regression, from scratch "
        "and with torch.nn")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and write its history and plots")
    train.add_argument("model", choices=["logistic", "softmax"],
                       help="logistic: a synthetic 2-d set; softmax: Fashion-MNIST or MNIST")
    train.add_argument("--impl", choices=["scratch", "nn"], default="scratch",
                       help="from-scratch tensors or torch.nn (default: scratch)")
    train.add_argument("--epochs", type=_positive_int, help="number of epochs")
    train.add_argument("--lr", type=_positive_float, help="learning rate")
    train.add_argument("--batch-size", type=_positive_int, help="minibatch size")
    train.add_argument("--seed", type=_seed, default=0,
                       help="random seed, 0 to 2**32 - 1 (default 0)")
    train.add_argument("--device", type=_device, default="cpu",
                       help="cpu, cuda, cuda:N or mps (default cpu)")
    train.add_argument("--out", type=Path, help="output folder")
    train.add_argument("--dataset", choices=[d for ds in MODEL_DATASETS.values() for d in ds],
                       help="logistic: seed 000's uniform set (logistic, the default) or the "
                       "Gaussian clusters; softmax: fashion-mnist (the default) or mnist")
    train.add_argument("--source", choices=["auto", "real", "synthetic"], default="auto",
                       help="softmax only: the real set or labkit's offline stand-in "
                       "(default auto)")
    train.add_argument("--root", type=Path, help="data folder (default: $LABKIT_DATA or data/)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    data = commands.add_parser("data", help="where the Fashion-MNIST or MNIST data is; "
                               "prepare or check it")
    data.add_argument("action", nargs="?", choices=["info", "prepare", "check"], default="info",
                      help="info (default): where the data is and which source would load; "
                      "prepare: load it once (download or generate) and build the cache; "
                      "check: re-read the raw files, verify them and the cache")
    data.add_argument("--dataset", choices=list(DATASETS), default="fashion-mnist",
                      help="which data set (default fashion-mnist)")
    data.add_argument("--source", choices=["auto", "real", "synthetic"], default="auto")
    data.add_argument("--root", type=Path, help="data folder (default: $LABKIT_DATA or data/)")
    data.add_argument("--no-download", action="store_true", help="never try the network")
    return parser


def _setup(scratch, args, scratch_loss, nn_loss):
    """``(net, loss, updater)``: the scratch model with per-example losses and the seeds'
    ``sgd`` (summed loss / batch size), or its ``torch.nn`` twin (same initial weights)
    with a mean loss and ``torch.optim.SGD``: the same updates either way."""
    if args.impl == "nn":
        net = scratch.to_nn()
        return net, nn_loss, torch.optim.SGD(net.parameters(), lr=args.lr)
    lr = args.lr

    def loss(y_hat, y):
        return scratch_loss(y_hat, y, reduction="none")

    def updater(batch_size):
        lk.sgd(scratch.parameters(), lr, batch_size)

    return scratch, loss, updater


def _train_logistic(args, device):
    if args.dataset == "logistic":
        true_w, true_b = (1.9, -3.1), -0.6
        X_train, y_train = lk.make_logistic_data(2000, true_w, true_b, seed=args.seed)
        X_test, y_test = lk.make_logistic_data(1000, true_w, true_b, seed=args.seed + 1)
    else:
        true_w = true_b = None
        X_train, y_train = lk.make_gaussian_clusters(1000, seed=args.seed)
        X_test, y_test = lk.make_gaussian_clusters(500, seed=args.seed + 1)
    g = torch.Generator().manual_seed(args.seed)
    train_iter = lk.InMemoryLoader(X_train, y_train, args.batch_size, seed=args.seed,
                                   device=device)
    test_iter = lk.InMemoryLoader(X_test, y_test, 1000, shuffle=False, device=device)
    scratch = lk.LogisticRegressionScratch(X_train.shape[1], generator=g)
    net, loss, updater = _setup(scratch, args, lk.binary_cross_entropy_with_logits,
                                torch.nn.BCEWithLogitsLoss())
    history = lk.train(net, train_iter, test_iter, loss, args.epochs, updater, device=device,
                       progress=not args.no_progress, verbose=True)
    if args.impl == "scratch":
        w, b = net.w.detach().cpu(), net.b.detach().cpu()
    else:
        w, b = net.linear.weight.detach().cpu()[0], net.linear.bias.detach().cpu()[0]
    extra = {"w": w.tolist(), "b": float(b)}
    print(f"learned w = {[round(v, 4) for v in w.tolist()]}, b = {float(b):.4f}")
    if true_w is not None:
        extra.update(true_w=list(true_w), true_b=true_b)
        scale = (torch.tensor(true_w).norm() / w.norm()).item()
        print(f"true    w = {list(true_w)}, b = {true_b}  (learned, rescaled to the true "
              f"norm: w = {[round(v * scale, 3) for v in w.tolist()]}, b = {float(b) * scale:.3f})")
    fig = lk.plot_decision_boundary(X_test, y_test, w, b, true_w=true_w, true_b=true_b,
                                    title=f"logistic regression ({args.impl}), test set")
    return history, {"decision_boundary.png": fig}, extra


def _train_softmax(args, device):
    spec = DATASETS[args.dataset]
    data = idx_datasets.load(spec, args.root, args.source)
    print(f"{spec.name} source: {data.source} ({data.raw_folder})")
    train_iter = lk.InMemoryLoader(data.train_images, data.train_labels, args.batch_size,
                                   seed=args.seed, device=device)
    test_iter = lk.InMemoryLoader(data.test_images, data.test_labels, 1024, shuffle=False,
                                  device=device)
    g = torch.Generator().manual_seed(args.seed)
    scratch = lk.SoftmaxRegressionScratch(generator=g)
    net, loss, updater = _setup(scratch, args, lk.cross_entropy, torch.nn.CrossEntropyLoss())
    history = lk.train(net, train_iter, test_iter, loss, args.epochs, updater, device=device,
                       progress=not args.no_progress, verbose=True)
    preds, targets = [], []
    with torch.no_grad():
        for X, y in test_iter:
            preds.append(net(X.to(device)).argmax(dim=1).cpu())
            targets.append(y.cpu())
    cm = lk.confusion_matrix(torch.cat(preds), torch.cat(targets), len(data.classes))
    pairs = lk.most_confused(cm, k=3, class_names=data.classes)
    print("most confused (true -> predicted: count): " +
          "; ".join(f"{t} -> {p}: {c}" for t, p, c in pairs))
    fig = lk.plot_confusion_matrix(cm, data.classes)
    extra = {"dataset": args.dataset, "source": data.source, "confusion_matrix": cm.tolist()}
    return history, {"confusion_matrix.png": fig}, extra


def _check_folder(path: Path | None, option: str, *, writable: bool) -> None:
    """Refuse a folder argument that is a file or lies below one (or, with ``writable``,
    that cannot be created), before any work is done."""
    if path is None:
        return
    for existing in [path, *path.parents]:
        if existing.exists():
            if not existing.is_dir():
                below = "" if existing == path else " (the folder would be inside it)"
                raise ValueError(f"{option} {path}: {existing} is a file, not a "
                                 f"folder{below}; choose another {option}")
            if writable and not os.access(existing, os.W_OK | os.X_OK):
                raise ValueError(f"{option} {path}: {existing} is not writable; choose "
                                 f"another {option}")
            return


def _write_outputs(out: Path, record: dict, figures: dict) -> list[Path]:
    """``history.json`` and the figures into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "history.json"]
    paths[0].write_text(json.dumps(json_safe(record), indent=2, allow_nan=False) + "\n",
                        encoding="utf-8")
    for name, fig in figures.items():
        fig.savefig(out / name, dpi=100, bbox_inches="tight")
        paths.append(out / name)
    return paths


def _cmd_train(args) -> int:
    defaults = DEFAULTS[args.model]
    for key in ("epochs", "lr", "batch_size"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    dataset = "-mnist" if args.dataset == "mnist" else ""
    out = args.out if args.out is not None else Path(
        f"{defaults['out']}{dataset}-{args.impl}")
    _check_folder(out, "--out", writable=True)  # before training, not after it
    device = args.device
    torch.manual_seed(args.seed)
    print(f"labkit train {args.model} --impl {args.impl}: epochs={args.epochs} lr={args.lr} "
          f"batch_size={args.batch_size} seed={args.seed} device={device}")
    start = time.perf_counter()
    settings = {"model": args.model, "impl": args.impl, "epochs": args.epochs, "lr": args.lr,
                "batch_size": args.batch_size, "seed": args.seed, "device": str(device)}
    try:
        if args.model == "logistic":
            history, figures, extra = _train_logistic(args, device)
        else:
            history, figures, extra = _train_softmax(args, device)
    except lk.TrainingInterrupted as stop:
        return _save_interrupted(stop, out, settings, time.perf_counter() - start, args)
    elapsed = time.perf_counter() - start
    record = {**settings, "seconds": elapsed, "history": history.records, **extra}
    figures = {"curves.png": lk.plot_history(history, title=f"{args.model} ({args.impl})"),
               **figures}
    paths = _write_outputs(out, record, figures)
    last = history.last
    print(f"final: train loss {last['train_loss']:.4f}, train acc {last['train_acc']:.4f}, "
          f"test loss {last['test_loss']:.4f}, test acc {last['test_acc']:.4f} "
          f"({elapsed:.1f} s)")
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def _save_interrupted(stop, out: Path, settings: dict, elapsed: float, args) -> int:
    """Ctrl-C during training: save what the finished epochs give, say so in one line."""
    history = stop.history
    if not len(history):
        print(f"labkit train: interrupted in epoch {stop.epoch}; no epoch finished, nothing "
              f"saved", file=sys.stderr)
        return 130
    record = {**settings, "seconds": elapsed, "interrupted": True,
              "epochs_finished": len(history), "history": history.records}
    figures = {"curves.png": lk.plot_history(
        history, title=f"{args.model} ({args.impl}), interrupted")}
    paths = _write_outputs(out, record, figures)
    print(f"labkit train: interrupted in epoch {stop.epoch}; saved the {len(history)} "
          f"finished epoch{'s' if len(history) != 1 else ''} to "
          f"{' and '.join(str(p) for p in paths)}", file=sys.stderr)
    return 130


def _cmd_data(args) -> int:
    spec = DATASETS[args.dataset]
    if args.action == "info":
        print(idx_datasets.format_status(spec, idx_datasets.status(spec, args.root)))
        return 0
    start = time.perf_counter()
    try:
        if args.action == "prepare":
            data = idx_datasets.load(spec, args.root, args.source,
                                     download=not args.no_download)
            verb = "ready"
        else:
            data = idx_datasets.check(spec, args.root, args.source)
            verb = "checked: all files are well formed"
    except (lk.DatasetNotFoundError, lk.IDXError) as err:
        print(f"labkit data {args.action}: {err}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    counts = torch.bincount(data.train_labels, minlength=len(data.classes)).tolist()
    print(f"{data.source} {spec.name} {verb} ({seconds:.2f} s) in {data.raw_folder}")
    print(f"  train: {tuple(data.train_images.shape)} {data.train_images.dtype}, "
          f"test: {tuple(data.test_images.shape)}")
    print(f"  train images per class: {dict(zip(data.classes, counts))}")
    cache = data.raw_folder.parent / "processed" / idx_datasets.CACHE_NAME
    print(f"  cache: {data.cache_status} ({cache})")
    return 0


# labkit's own errors: bad input (ValueError, TypeError; IDXError is a ValueError), missing or
# unreadable files (OSError; DatasetNotFoundError is one), a diverging run (FloatingPointError:
# NonFiniteLossError). Anything else is a bug and keeps its traceback.
ERRORS = (ValueError, TypeError, OSError, FloatingPointError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        choices = MODEL_DATASETS[args.model]
        if args.dataset is None:
            args.dataset = choices[0]
        elif args.dataset not in choices:
            parser.error(f"argument --dataset: {args.dataset!r} is not a data set of the "
                         f"{args.model} model (choose from {', '.join(choices)})")
    prog = f"labkit {args.command}"
    try:
        _check_folder(getattr(args, "root", None), "--root", writable=False)
        if args.command == "train":
            return _cmd_train(args)
        return _cmd_data(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except ERRORS as err:
        if os.environ.get("LABKIT_DEBUG"):
            raise
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
