"""Live monitoring with TensorBoard: ``lk.train(..., log_dir=DIR)`` writes each epoch's
scalars where ``tensorboard --logdir DIR`` (or ``%tensorboard --logdir runs`` in Jupyter)
plots them while training runs.

Introduced in lab 2's ``07_mlp_nn``: seed 004 watches its curves live with visdom (a server
to start by hand, and a package that is no longer maintained); TensorBoard, through
``torch.utils.tensorboard``, is how that is done today.

TensorBoard is an optional dependency (the ``tensorboard`` extra:
``pip install "labkit[tensorboard]"``); nothing here imports it until a ``log_dir`` is
given, and without it a ``log_dir`` raises an ``ImportError`` that says how to install it.

Tags written per epoch (the step is the epoch number, 1-based): ``loss/train``,
``loss/test``, ``accuracy/train``, ``accuracy/test`` (the test ones only with a test set,
the accuracies only with ``metric="accuracy"``: a regression, ``metric=None``, writes its
losses alone) and ``time/epoch_seconds``. Runs to compare go in sibling folders (``runs/relu``,
``runs/tanh``): TensorBoard draws each folder as one run.
"""

from __future__ import annotations

import os

from labkit._checks import describe

__all__ = ["open_summary_writer", "log_epoch", "TAGS"]

# History field -> TensorBoard tag
TAGS = {
    "train_loss": "loss/train",
    "test_loss": "loss/test",
    "train_acc": "accuracy/train",
    "test_acc": "accuracy/test",
    "seconds": "time/epoch_seconds",
}

INSTALL_HINT = ('install it with pip install "labkit[tensorboard]" (the tensorboard extra), '
                'or pip install tensorboard')


def _check_log_dir(log_dir) -> str:
    if isinstance(log_dir, bool) or not isinstance(log_dir, (str, os.PathLike)):
        raise TypeError(f"log_dir must be a folder path (a str or pathlib.Path), got "
                        f"{describe(log_dir)}")
    path = os.fspath(log_dir)
    if not path:
        raise ValueError("log_dir is empty: give a folder such as 'runs/mlp'")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"log_dir {path!r} is a file, not a folder: TensorBoard writes one "
                         f"events file per run into a folder")
    return path


def open_summary_writer(log_dir):
    """A ``torch.utils.tensorboard.SummaryWriter`` writing into ``log_dir`` (created if
    needed).

    Raises:
        TypeError / ValueError: ``log_dir`` is not a path, or names an existing file.
        ImportError: the ``tensorboard`` package is not installed; the message says how to
            install it (the ``tensorboard`` extra).
    """
    path = _check_log_dir(log_dir)
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:  # torch.utils.tensorboard imports the tensorboard package
        raise ImportError(
            f"log_dir={path!r} asks for TensorBoard logs, but the tensorboard package is not "
            f"installed: {INSTALL_HINT}. Without it, leave log_dir out (the History returned "
            f"by lk.train and lk.plot_history show the same curves after training)"
        ) from e
    return SummaryWriter(log_dir=path)


def log_epoch(writer, record: dict) -> None:
    """Write one ``History`` record's scalars at step ``record["epoch"]`` and flush, so
    that TensorBoard shows the epoch at once; ``None`` values (no test set, or no accuracy
    with ``metric=None``) are skipped."""
    step = record["epoch"]
    for field, tag in TAGS.items():
        value = record.get(field)
        if value is not None:
            writer.add_scalar(tag, float(value), global_step=step)
    writer.flush()
