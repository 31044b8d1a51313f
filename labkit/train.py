"""The training loop: one epoch (``train_epoch``), many epochs (``train``), their ``History``.

Introduced in ``02_logistic_regression_scratch`` and reused by every later notebook and
by the CLI. The same loop trains both kinds of model with both kinds of updater:

- a scratch model with the seeds' functional update, d2l style::

      updater = lambda batch_size: lk.sgd(net.parameters(), lr, batch_size)

  The loop calls ``backward()`` on the SUM of the batch's losses, then
  ``updater(batch_size)``, which divides by the batch size.
- an ``nn.Module`` (or a scratch model) with an optimizer, anything with ``step()`` and
  ``zero_grad()`` (``torch.optim.SGD``, ``lk.SGD``): ``zero_grad()``, ``backward()`` on
  the MEAN loss, ``step()``.

Both give the same update (the gradient of a sum is ``batch_size`` times the gradient of
the mean), which ``tests/test_train.py`` checks epoch by epoch.

``loss(y_hat, y)`` may return per-example losses ``(N,)`` (``reduction="none"``) or a 0-d
batch mean (``reduction="mean"``, PyTorch's default), or a 0-d batch sum when
``loss.reduction == "sum"``. Reported losses are always means over examples.

Threads: while ``train``/``train_epoch`` run, PyTorch runs each operation on
``num_threads`` CPU threads (default 1, ``None`` keeps torch's setting) and
``torch.get_num_threads()`` is restored afterwards; ``metrics._loop_threads`` says why
(measured in ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import time
from collections.abc import Iterator

import torch
from tqdm.auto import tqdm

from labkit._checks import check_positive_int, describe
from labkit.metrics import (
    Accumulator,
    _batch_size,
    _check_iterable,
    _loop_threads,
    _loss_sum_and_mean,
    _unpack_batch,
    accuracy,
    evaluate,
)

__all__ = ["History", "NonFiniteLossError", "train_epoch", "train"]

FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds")


class NonFiniteLossError(FloatingPointError):
    """Training produced a ``nan`` or ``inf`` loss; the usual cause is a learning rate that
    is too large (the parameters overflow within a few steps).

    Attributes: ``epoch`` (1-based, ``None`` when ``train_epoch`` was called on its own),
    ``batch`` (1-based), ``lr`` (``None`` when it could not be found), ``value``, and
    ``history`` (the epochs finished before, when raised by ``train``).
    """

    def __init__(self, value: float, epoch: int | None, batch: int, lr) -> None:
        self.value, self.epoch, self.batch, self.lr = value, epoch, batch, lr
        self.history: History | None = None
        where = f"epoch {epoch}, batch {batch}" if epoch is not None else f"batch {batch}"
        lr_text = f"lr={lr!r}" if lr is not None else "lr unknown"
        super().__init__(
            f"non-finite loss ({value}) at {where} ({lr_text}); training stopped. "
            f"The learning rate is probably too large: try a smaller lr"
        )


class History:
    """Per-epoch records of a training run, in order.

    Each record is a dict with ``epoch`` (1-based), ``train_loss``, ``train_acc``,
    ``test_loss``, ``test_acc`` (``None`` without a test set) and ``seconds`` (wall time of
    the epoch: training plus evaluation).

    ``history.train_loss`` etc. give one list per field; ``history[-1]`` or
    ``history.last`` the latest record. ``figure`` holds the live plot's final figure
    (``train(..., live_plot=True)``), else ``None``; it is not saved to JSON.
    """

    def __init__(self, records: list[dict] | None = None) -> None:
        self.records: list[dict] = [dict(r) for r in records or []]
        self.figure = None

    def append(self, record: dict) -> None:
        missing = [f for f in FIELDS if f not in record]
        if missing:
            raise ValueError(f"record is missing the fields {missing}; it needs {FIELDS}")
        self.records.append(dict(record))

    def _column(self, field: str) -> list:
        return [r[field] for r in self.records]

    @property
    def epoch(self) -> list[int]:
        return self._column("epoch")

    @property
    def train_loss(self) -> list[float]:
        return self._column("train_loss")

    @property
    def train_acc(self) -> list[float]:
        return self._column("train_acc")

    @property
    def test_loss(self) -> list[float | None]:
        return self._column("test_loss")

    @property
    def test_acc(self) -> list[float | None]:
        return self._column("test_acc")

    @property
    def seconds(self) -> list[float]:
        return self._column("seconds")

    @property
    def last(self) -> dict | None:
        """The latest record, or ``None`` before the first epoch."""
        return self.records[-1] if self.records else None

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict:
        return self.records[i]

    def __iter__(self) -> Iterator[dict]:
        return iter(self.records)

    def to_dict(self) -> dict[str, list]:
        """Column form, ``{"epoch": [...], "train_loss": [...], ...}`` (JSON-ready)."""
        return {field: self._column(field) for field in FIELDS}

    def save_json(self, path: str | os.PathLike) -> None:
        """Write ``to_dict()`` to ``path`` as JSON."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2)
            f.write("\n")

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> History:
        """Read a file written by ``save_json``."""
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        missing = [f for f in FIELDS if f not in data]
        if missing:
            raise ValueError(f"{os.fspath(path)!r} is not a saved History: missing {missing}")
        columns = [data[f] for f in FIELDS]
        return cls([dict(zip(FIELDS, values)) for values in zip(*columns)])

    def __repr__(self) -> str:
        if not self.records:
            return "History(0 epochs)"
        last = ", ".join(f"{k}={_fmt(v)}" for k, v in self.records[-1].items() if k != "epoch")
        return f"History({len(self)} epochs; last: {last})"


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def _updater_kind(updater) -> str:
    """``"optimizer"`` (has step/zero_grad) or ``"callable"`` (updater(batch_size))."""
    if callable(getattr(updater, "step", None)) and callable(getattr(updater, "zero_grad", None)):
        return "optimizer"
    if callable(updater):
        return "callable"
    raise TypeError(
        f"updater must be an optimizer (torch.optim.SGD, lk.SGD: anything with step() and "
        f"zero_grad()) or a callable updater(batch_size) such as "
        f"lambda batch_size: lk.sgd(net.parameters(), lr, batch_size); got {describe(updater)}"
    )


def _learning_rate(updater):
    """The learning rate for error messages, or ``None`` if it cannot be found."""
    groups = getattr(updater, "param_groups", None)
    if groups:
        return groups[0].get("lr")
    if hasattr(updater, "lr"):
        return updater.lr
    keywords = getattr(updater, "keywords", None)  # functools.partial(lk.sgd, lr=...)
    if isinstance(keywords, dict) and "lr" in keywords:
        return keywords["lr"]
    try:  # a closure or function that uses a variable named lr (local or global)
        names = inspect.getclosurevars(updater)
    except TypeError:
        return None
    for scope in (names.nonlocals, names.globals):
        if "lr" in scope:
            return scope["lr"]
    return None


def _move_net(net, device) -> None:
    to = getattr(net, "to", None)
    if not callable(to):
        raise TypeError(f"net must have a .to(device) method to use device=, got {describe(net)}")
    to(device)


def _check_device(device):
    if device is None:
        return None
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"device must be None, a string ('cpu', 'cuda', 'mps') or a torch.device, "
            f"got {describe(device)}"
        )
    try:
        device = torch.device(device)
    except RuntimeError as e:
        raise ValueError(
            f"device must name a device such as 'cpu', 'cuda', 'cuda:1' or 'mps', "
            f"got {device!r}"
        ) from e
    available = {
        "cuda": torch.cuda.is_available,
        "mps": lambda: hasattr(torch.backends, "mps") and torch.backends.mps.is_available(),
    }
    if device.type in available and not available[device.type]():
        raise ValueError(f"device={str(device)!r} was requested but is not available here")
    return device


def _check_reiterable(data_iter, name: str, num_epochs: int) -> None:
    """Refuse a one-shot iterator when it has to be read once per epoch."""
    _check_iterable(data_iter, name)
    if num_epochs > 1 and isinstance(data_iter, Iterator):
        raise TypeError(
            f"{name} must be re-iterable (a list of batches, lk.InMemoryLoader, a "
            f"DataLoader), got a one-shot iterator ({type(data_iter).__name__}) that would "
            f"be empty after the first epoch; e.g. use list(data_iter(batch_size, X, y)) "
            f"for a fixed order, or a loader that reshuffles each epoch"
        )


def _check_common(net, loss, updater) -> str:
    if not callable(net):
        raise TypeError(f"net must be callable (a model), got {describe(net)}")
    if not callable(loss):
        raise TypeError(f"loss must be callable as loss(y_hat, y), got {describe(loss)}")
    return _updater_kind(updater)


def _run_epoch(net, train_iter, loss, updater, kind: str, device, from_logits: bool,
               epoch: int | None) -> tuple[float, float]:
    _check_iterable(train_iter, "train_iter")
    if callable(getattr(net, "train", None)):
        net.train()  # nn.Module: dropout etc. on; scratch models: a flag
    metric = Accumulator(3)  # summed loss, number correct, number of examples
    for batch_index, batch in enumerate(train_iter, start=1):
        X, y = _unpack_batch(batch, "train_iter", device)
        n = _batch_size(X, y)
        y_hat = net(X)
        l_sum, l_mean = _loss_sum_and_mean(loss(y_hat, y), loss, n)
        value = float(l_sum.detach())
        if not math.isfinite(value):  # stop before the step spreads nan into the weights
            raise NonFiniteLossError(value, epoch, batch_index, _learning_rate(updater))
        if kind == "optimizer":
            updater.zero_grad()
            l_mean.backward()
            updater.step()
        else:
            l_sum.backward()
            updater(n)
        metric.add(value, accuracy(y_hat.detach(), y, from_logits=from_logits), n)
    if metric[2] == 0:
        raise ValueError("train_iter produced no batches: there is nothing to train on")
    return metric[0] / metric[2], metric[1] / metric[2]


def train_epoch(net, train_iter, loss, updater, *, device=None, from_logits: bool = True,
                num_threads: int | None = 1) -> tuple[float, float]:
    """Train ``net`` for one pass over ``train_iter``.

    For each batch ``(X, y)``: ``y_hat = net(X)``, ``l = loss(y_hat, y)``, then
    - optimizer (has ``step``/``zero_grad``): ``zero_grad()``, ``l.mean().backward()``,
      ``step()``;
    - callable updater: ``l.sum().backward()``, ``updater(batch_size)``.

    PyTorch runs each operation on ``num_threads`` CPU threads meanwhile (restored
    afterwards): for these small models one thread is nearly as fast as two on an idle
    machine (0-15% slower on 2 cores) and does not stall for time slices on a busy one.

    Args:
        net: a model: ``nn.Module`` or scratch; put in training mode first.
        train_iter: an iterable of ``(X, y)`` batches (re-iterable for ``train``).
        loss: ``loss(y_hat, y)`` -> per-example losses ``(N,)`` or a 0-d mean (or sum if
            ``loss.reduction == "sum"``).
        updater: an optimizer or a callable ``updater(batch_size)``.
        device: if given, ``net`` and every batch are moved there.
        from_logits: passed to ``accuracy`` (binary scores only).
        num_threads: CPU threads per operation during the epoch (default 1); ``None``
            keeps ``torch.get_num_threads()``.

    Returns:
        ``(mean_loss, accuracy)`` over the epoch's examples, measured on each batch
        before its update (as d2l does).

    Raises:
        NonFiniteLossError: a batch's loss is ``nan``/``inf`` (raised before its update).
        ValueError: ``train_iter`` produced no batches.
    """
    kind = _check_common(net, loss, updater)
    device = _check_device(device)
    if device is not None:
        _move_net(net, device)
    with _loop_threads(num_threads):
        return _run_epoch(net, train_iter, loss, updater, kind, device, from_logits,
                          epoch=None)


def train(net, train_iter, test_iter, loss, num_epochs: int, updater, *, device=None,
          progress: bool = True, live_plot: bool = False, verbose: bool = False,
          from_logits: bool = True, num_threads: int | None = 1) -> History:
    """Train ``net`` for ``num_epochs`` epochs, evaluating on ``test_iter`` after each.

    Args:
        net, train_iter, loss, updater, device, from_logits, num_threads: as in
            ``train_epoch``.
        test_iter: an iterable of ``(X, y)`` batches, or ``None`` to skip evaluation
            (``test_loss``/``test_acc`` are then ``None``).
        num_epochs: a positive int.
        progress: show a ``tqdm.auto`` progress bar over epochs (a widget in Jupyter)
            with the latest metrics.
        live_plot: draw the loss and accuracy curves as training goes
            (``plot.Animator``): redrawn in place in Jupyter, collected silently
            elsewhere. The final figure is stored in ``history.figure``.
        verbose: print one table row per epoch (epoch, losses, accuracies, seconds).

    Returns:
        A ``History`` with one record per epoch.

    Raises:
        NonFiniteLossError: a loss became ``nan``/``inf``; it names the epoch, the batch
            and the learning rate, and carries the epochs finished so far as ``.history``.
        TypeError: ``train_iter``/``test_iter`` is a one-shot iterator (e.g. the generator
            returned by ``data_iter(...)``) while ``num_epochs > 1``: it would be empty
            from the second epoch on.
    """
    kind = _check_common(net, loss, updater)
    num_epochs = check_positive_int(num_epochs, "num_epochs")
    _check_reiterable(train_iter, "train_iter", num_epochs)
    if test_iter is not None:
        _check_reiterable(test_iter, "test_iter", num_epochs)
    device = _check_device(device)
    if device is not None:
        _move_net(net, device)

    history = History()
    animator = None
    if live_plot:
        from labkit.plot import Animator  # plotting is only imported when asked for

        animator = Animator(num_epochs)
    if verbose:
        tqdm.write(_table_header())
    with _loop_threads(num_threads), tqdm(range(1, num_epochs + 1), desc="train", unit="epoch",
                               disable=not progress, leave=True) as bar:
        for epoch in bar:
            start = time.perf_counter()
            try:
                train_loss, train_acc = _run_epoch(net, train_iter, loss, updater, kind,
                                                   device, from_logits, epoch)
            except NonFiniteLossError as e:
                e.history = history
                raise
            test_loss = test_acc = None
            if test_iter is not None:
                test_loss, test_acc = evaluate(net, test_iter, loss, device=device,
                                               from_logits=from_logits, num_threads=None)
            record = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
                      "test_loss": test_loss, "test_acc": test_acc,
                      "seconds": time.perf_counter() - start}
            history.append(record)
            bar.set_postfix({k: _fmt(v) for k, v in record.items()
                             if k in ("train_loss", "train_acc", "test_acc")})
            if verbose:
                tqdm.write(_table_row(record))
            if animator is not None:
                animator.add(epoch, record)
    if animator is not None:
        history.figure = animator.close()
    return history


def _table_header() -> str:
    return (f"{'epoch':>5}  {'train loss':>10}  {'train acc':>9}  {'test loss':>9}  "
            f"{'test acc':>8}  {'seconds':>7}")


def _table_row(r: dict) -> str:
    def num(v, width: int, spec: str) -> str:
        return f"{'-':>{width}}" if v is None else f"{v:>{width}{spec}}"

    return (f"{r['epoch']:>5}  {num(r['train_loss'], 10, '.4f')}  "
            f"{num(r['train_acc'], 9, '.4f')}  {num(r['test_loss'], 9, '.4f')}  "
            f"{num(r['test_acc'], 8, '.4f')}  {num(r['seconds'], 7, '.2f')}")
