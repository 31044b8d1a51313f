"""The training loop: one epoch (``train_epoch``), many epochs (``train``), their ``History``.

The student writes ``train_epoch(net, train_iter, loss, updater)`` in
``02_logistic_regression_scratch`` and again in ``04_softmax_regression_scratch``, checked
by ``lk.check.train_epoch`` (``labkit/check/train.py``); ``lk.train_epoch`` is the
reference, which ``03_logistic_regression_nn`` and ``05_softmax_regression_nn`` run as the
from-scratch side of their step-for-step comparisons (05 also checks the student's
optimizer loop against it). Notebooks 02-05 collect their epochs in a ``History`` for
``plot_history``; lab 1 trains with the student's own loops and never calls ``train``
(many epochs, progress bar, live plot, TensorBoard), which the CLI runs and ``cross_validate``
builds on. Lab 2 uses it directly: ``07_mlp_nn`` for its TensorBoard run (``log_dir=``)
and as the from-scratch side of a comparison (``train_epoch``),
``08_regularization_and_model_selection`` for every network it trains (``metric=None`` for
the regression). The same loop trains both kinds of model with both kinds of updater:

- a scratch model with the seeds' functional update, d2l style::

      updater = lambda batch_size: lk.sgd(net.parameters(), lr, batch_size)

  The loop calls ``backward()`` on the SUM of the batch's losses, then
  ``updater(batch_size)``, which divides by the batch size.
- an ``nn.Module`` (or a scratch model) with an optimizer, anything with ``step()`` and
  ``zero_grad()`` (``torch.optim.SGD``, ``lk.SGD``): ``zero_grad()``, ``backward()`` on
  the MEAN loss, ``step()``.

Both give the same update (the gradient of a sum is ``batch_size`` times the gradient of
the mean), which ``tests/test_train.py`` checks epoch by epoch.

``loss(y_hat, y)`` returns per-example losses ``(N,)`` (``reduction="none"``, the lab's
way; ``(N, 1)`` too, a regression's column of losses), or a 0-d batch mean or sum from a
loss that says which (``nn.CrossEntropyLoss()``, ``functools.partial(lk.cross_entropy,
reduction="sum")``, a function with a ``.reduction`` attribute, or one whose ``reduction``
parameter has a default: ``lk.cross_entropy``, ``lk.mse_loss``, ``F.cross_entropy``). A
0-d loss that does not say is refused: the loop never guesses. Reported losses are always
means over examples.

The machinery both this loop and ``metrics.evaluate`` use (threads, batches, the loss's
reduction, the non-finite checks) is in ``labkit.loop``. Threads: while ``train`` and
``train_epoch`` run, PyTorch runs each operation on ``num_threads`` CPU threads (default 1,
``None`` keeps torch's setting) and ``torch.get_num_threads()`` is restored afterwards;
``labkit.loop.loop_threads`` says why (measured in ``benchmarks/RESULTS.md``).
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

from labkit._checks import check_device, check_positive_int, describe
from labkit.loop import (
    NonFiniteInputError,
    NonFiniteLossError,
    batch_size,
    check_finite_batch,
    check_iterable,
    loop_threads,
    reduce_loss,
    unpack_batch,
)
from labkit.metrics import (
    TargetsNotLabelsError,
    accuracy,
    check_accuracy_targets,
    check_metric,
    evaluate,
)

__all__ = ["History", "NonFiniteLossError", "NonFiniteInputError", "TrainingInterrupted",
           "train_epoch", "train"]

FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or the notebook's stop button) during ``train``: the epochs finished before
    it are kept in ``history``.

    A ``KeyboardInterrupt``, so it still stops a script and ``except KeyboardInterrupt``
    still catches it. Attributes: ``history`` (a ``History`` of the finished epochs, possibly
    empty) and ``epoch`` (the 1-based epoch that was running). The model keeps the weights
    it had when interrupted, part way through ``epoch``.

    In Jupyter, after the interrupted cell: ``history = sys.last_value.history``.
    """

    def __init__(self, history: History, epoch: int) -> None:
        super().__init__(history, epoch)
        self.history, self.epoch = history, epoch

    def __str__(self) -> str:
        done = len(self.history)
        return (f"training interrupted in epoch {self.epoch}; the {done} finished "
                f"epoch{'s' if done != 1 else ''} are in this exception's .history (in "
                f"Jupyter: history = sys.last_value.history)")


class History:
    """Per-epoch records of a training run, in order.

    Each record is a dict with ``epoch`` (1-based), ``train_loss``, ``train_acc``,
    ``test_loss``, ``test_acc`` (``None`` without a test set) and ``seconds`` (wall time of
    the epoch: training plus evaluation). ``train_acc`` and ``test_acc`` are ``None`` in
    every record of a run trained with ``metric=None`` (a regression: the loss alone);
    ``has_accuracy`` says which kind of run it is, and ``repr``, the plots and the saved
    JSON (``null``) follow it.

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
    def train_acc(self) -> list[float | None]:
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
    def has_accuracy(self) -> bool:
        """Whether any epoch has an accuracy (``False`` for a run with ``metric=None``)."""
        return any(r.get(f) is not None for r in self.records for f in ("train_acc",
                                                                         "test_acc"))

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
        """Write ``to_dict()`` to ``path`` as JSON.

        The file is always valid JSON: a ``nan`` or ``inf`` value (JSON has none) is written
        as ``null``, which ``load_json`` reads back as ``None``.
        """
        with open(path, "w", encoding="utf-8") as f:
            json.dump(json_safe(self.to_dict()), f, indent=2, allow_nan=False)
            f.write("\n")

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> History:
        """Read a file written by ``save_json`` (or the ``history.json`` that ``labkit train``
        writes, whose ``"history"`` holds the records).

        Raises ``ValueError`` naming the file when it is not valid JSON (e.g. truncated), not
        a saved history, or when its columns have different lengths.
        """
        name = os.fspath(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{name!r} is not valid JSON (truncated or edited by hand?): {e}; write it "
                f"again with History.save_json"
            ) from None
        if isinstance(data, dict) and isinstance(data.get("history"), list):
            records = data["history"]  # labkit train's history.json
            if not all(isinstance(r, dict) for r in records):
                raise ValueError(f"{name!r} is not a saved History: its 'history' must be a "
                                 f"list of per-epoch records")
            missing = sorted({f for r in records for f in FIELDS if f not in r})
            if missing:
                raise ValueError(f"{name!r} is not a saved History: records miss {missing}")
            return cls([{f: r[f] for f in FIELDS} for r in records])
        if not isinstance(data, dict):
            raise ValueError(f"{name!r} is not a saved History: expected a JSON object with "
                             f"the columns {FIELDS}, got a {type(data).__name__}")
        missing = [f for f in FIELDS if f not in data]
        if missing:
            raise ValueError(f"{name!r} is not a saved History: missing {missing}")
        if not all(isinstance(data[f], list) for f in FIELDS):
            raise ValueError(f"{name!r} is not a saved History: every column must be a list")
        lengths = {f: len(data[f]) for f in FIELDS}
        if len(set(lengths.values())) > 1:
            counts = ", ".join(f"{f} has {n}" for f, n in lengths.items())
            raise ValueError(
                f"{name!r} holds columns of different lengths ({counts}); a saved History "
                f"has one value per epoch in every column"
            )
        columns = [data[f] for f in FIELDS]
        return cls([dict(zip(FIELDS, values)) for values in zip(*columns)])

    def __repr__(self) -> str:
        if not self.records:
            return "History(0 epochs)"
        skip = {"epoch"} if self.has_accuracy else {"epoch", "train_acc", "test_acc"}
        last = ", ".join(f"{k}={_fmt(v)}" for k, v in self.records[-1].items() if k not in skip)
        return f"History({len(self)} epochs; last: {last})"


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def json_safe(obj):
    """``obj`` with every ``nan``/``inf`` float replaced by ``None`` (JSON's ``null``), in
    nested dicts and lists: what ``json.dump(..., allow_nan=False)`` accepts."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


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


def _check_reiterable(data_iter, name: str, num_epochs: int) -> None:
    """Refuse a one-shot iterator when it has to be read once per epoch."""
    check_iterable(data_iter, name)
    if num_epochs > 1 and isinstance(data_iter, Iterator):
        raise TypeError(
            f"{name} must be re-iterable (a list of batches, lk.InMemoryLoader, a "
            f"DataLoader), got a one-shot iterator ({type(data_iter).__name__}) that would "
            f"be empty after the first epoch; e.g. use list(data_iter(batch_size, X, y)) "
            f"for a fixed order, or a loader that reshuffles each epoch"
        )


def _optimizer_params(updater) -> list | None:
    """The tensors an optimizer updates (``torch.optim``'s ``param_groups``, ``lk.SGD``'s
    ``params``), or ``None`` when it does not say."""
    groups = getattr(updater, "param_groups", None)
    if isinstance(groups, (list, tuple)):
        return [p for g in groups if isinstance(g, dict) for p in g.get("params", [])]
    params = getattr(updater, "params", None)
    if isinstance(params, (list, tuple)):
        return list(params)
    return None


def _check_updater_covers_net(net, updater) -> None:
    """Refuse an optimizer that updates none of ``net``'s parameters: the sign of a notebook
    cell that rebuilt the model but not the optimizer (training would run, print a history
    and leave the new model untouched)."""
    updated = _optimizer_params(updater)
    parameters = getattr(net, "parameters", None)
    if updated is None or not callable(parameters):
        return
    own = [p for p in parameters() if isinstance(p, torch.Tensor)]
    if not own:
        return
    ids = {id(p) for p in updated}
    if not any(id(p) in ids for p in own):
        raise ValueError(
            f"updater updates none of net's parameters: it was built for another model "
            f"({len(updated)} tensors, none of them net's {len(own)}). Did you re-run the "
            f"cell that builds the model but not the one that builds the optimizer? Build "
            f"the optimizer from this model, e.g. torch.optim.SGD(net.parameters(), lr=lr)"
        )


def _check_common(net, loss, updater) -> str:
    if not callable(net):
        raise TypeError(f"net must be callable (a model), got {describe(net)}")
    if not callable(loss):
        raise TypeError(f"loss must be callable as loss(y_hat, y), got {describe(loss)}")
    kind = _updater_kind(updater)
    if kind == "optimizer":
        _check_updater_covers_net(net, updater)
    return kind


def _run_epoch(net, train_iter, loss, updater, kind: str, device, metric: str | None,
               from_logits: bool, epoch: int | None) -> tuple[float, float | None]:
    check_iterable(train_iter, "train_iter")
    if callable(getattr(net, "train", None)):
        net.train()  # nn.Module: dropout etc. on; scratch models: a flag
    # the optimizer steps on the batch's MEAN loss, the callable updater on its SUM
    reduction = "mean" if kind == "optimizer" else "sum"
    loss_sum, correct, count = 0.0, 0, 0  # over the epoch's examples so far
    for batch_index, batch in enumerate(train_iter, start=1):
        X, y = unpack_batch(batch, "train_iter", device)
        n = batch_size(X, y)
        y_hat = net(X)
        if metric is not None:  # before the step: a regression's y trains nothing here
            check_accuracy_targets(y_hat, y, where="train_iter", batch=batch_index)
        l = reduce_loss(loss(y_hat, y), loss, n, reduction)  # 0-d
        value = l.item() * (n if reduction == "mean" else 1)  # the batch's summed loss
        if not math.isfinite(value):  # stop before the step spreads nan into the weights
            check_finite_batch(X, y, value, epoch=epoch, batch=batch_index,
                               lr=_learning_rate(updater), where="train_iter", training=True)
        if kind == "optimizer":
            updater.zero_grad()
            l.backward()
            updater.step()
        else:
            l.backward()
            updater(n)
        loss_sum += value
        if metric is not None:
            # predicted labels carry no gradient: no need to detach y_hat first
            correct += accuracy(y_hat, y, from_logits=from_logits)
        count += n
    if count == 0:
        raise ValueError("train_iter produced no batches: there is nothing to train on")
    return loss_sum / count, (correct / count if metric is not None else None)


def train_epoch(net, train_iter, loss, updater, *, metric: str | None = "accuracy",
                device=None, from_logits: bool = True,
                num_threads: int | None = 1) -> tuple[float, float | None]:
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
        loss: ``loss(y_hat, y)`` -> per-example losses ``(N,)`` (or ``(N, 1)``, what a
            regression's ``(N, 1)`` targets give), or a 0-d mean or sum from a loss that
            says which (``nn.CrossEntropyLoss()``, a ``.reduction`` attribute, or the
            default of a ``reduction`` parameter, as in ``lk.mse_loss``); a 0-d loss that
            does not say is refused (``ValueError``).
        updater: an optimizer over (some of) ``net``'s parameters, or a callable
            ``updater(batch_size)``.
        metric: ``"accuracy"`` (default: classification) or ``None`` to train on the loss
            alone, as a regression does (``lk.mse_loss``, targets ``(N, 1)``), where an
            accuracy means nothing. Nothing is inferred: with ``"accuracy"``, float
            targets that cannot be class labels are a ``ValueError`` raised before the
            first step, saying to pass ``metric=None``.
        device: if given, ``net`` and every batch are moved there (checked by
            ``labkit._checks.check_device``: ``"cuda"`` without CUDA is a ``ValueError``).
        from_logits: passed to ``accuracy`` (binary scores only).
        num_threads: CPU threads per operation during the epoch (default 1); ``None``
            keeps ``torch.get_num_threads()``.

    Returns:
        ``(mean_loss, accuracy)`` over the epoch's examples, measured on each batch
        before its update (as d2l does); ``accuracy`` is ``None`` with ``metric=None``.

    Raises:
        NonFiniteLossError: a batch's loss is ``nan``/``inf`` (raised before its update).
        NonFiniteInputError: the same, when the batch's own ``X`` or ``y`` holds
            ``nan``/``inf`` (a ``NonFiniteLossError`` and a ``ValueError``).
        ValueError: ``train_iter`` produced no batches; the optimizer updates none of
            ``net``'s parameters; a 0-d loss that does not say whether it is a mean or a sum;
            ``metric`` is not ``"accuracy"`` or ``None``; targets that are not class labels
            with ``metric="accuracy"``.
    """
    kind = _check_common(net, loss, updater)
    metric = check_metric(metric)
    device = check_device(device)
    if device is not None:
        _move_net(net, device)
    with loop_threads(num_threads):
        return _run_epoch(net, train_iter, loss, updater, kind, device, metric, from_logits,
                          epoch=None)


def train(net, train_iter, test_iter, loss, num_epochs: int, updater, *,
          metric: str | None = "accuracy", device=None, progress: bool = True,
          live_plot: bool = False, verbose: bool = False, from_logits: bool = True,
          num_threads: int | None = 1, log_dir: str | os.PathLike | None = None) -> History:
    """Train ``net`` for ``num_epochs`` epochs, evaluating on ``test_iter`` after each.

    Args:
        net, train_iter, loss, updater, device, from_logits, num_threads: as in
            ``train_epoch``.
        test_iter: an iterable of ``(X, y)`` batches, or ``None`` to skip evaluation
            (``test_loss``/``test_acc`` are then ``None``).
        metric: ``"accuracy"`` (default: classification) or ``None`` for a regression:
            ``lk.train(net, train_iter, test_iter, lk.mse_loss, num_epochs, updater,
            metric=None)`` trains and evaluates on the loss alone; ``train_acc`` and
            ``test_acc`` are then ``None``, and the progress bar, the table, the live plot
            and the TensorBoard scalars show losses only. Not inferred: float targets
            that cannot be class labels with ``"accuracy"`` are a ``ValueError`` before
            the first step, which says to pass ``metric=None``.
        num_epochs: a positive int.
        progress: show a ``tqdm.auto`` progress bar over epochs (a widget in Jupyter)
            with the latest metrics.
        live_plot: draw the loss (and accuracy) curves as training goes
            (``plot.Animator``): redrawn in place in Jupyter, collected silently
            elsewhere. The final figure is stored in ``history.figure``.
        verbose: print one table row per epoch (epoch, losses, accuracies, seconds).
        log_dir: a folder for TensorBoard: each epoch's losses, accuracies and seconds are
            written there as scalars (``labkit.monitor``), to watch live with
            ``tensorboard --logdir`` on its parent folder. Needs the ``tensorboard`` extra;
            without it an ``ImportError`` says how to install it, before training starts.

    Returns:
        A ``History`` with one record per epoch.

    Interrupting (Ctrl-C, or Jupyter's stop button) keeps the finished epochs: ``train``
    raises ``TrainingInterrupted`` (a ``KeyboardInterrupt``) whose ``.history`` holds every
    epoch finished before the interrupt (in Jupyter: ``sys.last_value.history``). The same
    holds for the errors below: the epochs finished before are never lost.

    Raises:
        TrainingInterrupted: Ctrl-C; ``.history`` holds the finished epochs.
        NonFiniteLossError: a loss became ``nan``/``inf``; it names the epoch, the batch
            and the learning rate, and carries the epochs finished so far as ``.history``.
        NonFiniteInputError: a batch of ``train_iter`` or ``test_iter`` holds ``nan`` or
            ``inf`` (a ``ValueError`` too); also with ``.history``. No ``nan`` ever enters
            the history.
        TypeError: ``train_iter``/``test_iter`` is a one-shot iterator (e.g. the generator
            returned by ``data_iter(...)``) while ``num_epochs > 1``: it would be empty
            from the second epoch on.
        ValueError: see ``train_epoch``.
    """
    kind = _check_common(net, loss, updater)
    metric = check_metric(metric)
    num_epochs = check_positive_int(num_epochs, "num_epochs")
    _check_reiterable(train_iter, "train_iter", num_epochs)
    if test_iter is not None:
        _check_reiterable(test_iter, "test_iter", num_epochs)
    device = check_device(device)
    if device is not None:
        _move_net(net, device)

    writer = None
    if log_dir is not None:  # fails now, not after training, when tensorboard is missing
        from labkit.monitor import log_epoch, open_summary_writer

        writer = open_summary_writer(log_dir)
    history = History()
    animator = None
    if live_plot:
        from labkit.plot import Animator  # plotting is only imported when asked for

        animator = Animator(num_epochs, accuracy=metric is not None)
    if verbose:
        tqdm.write(_table_header(metric))
    shown = ("train_loss", "train_acc", "test_acc") if metric is not None else \
        ("train_loss", "test_loss")  # in the progress bar
    epoch = 0
    try:
        with loop_threads(num_threads), tqdm(range(1, num_epochs + 1), desc="train",
                                             unit="epoch", disable=not progress,
                                             leave=True) as bar:
            for epoch in bar:
                record = _train_and_evaluate(net, train_iter, test_iter, loss, updater, kind,
                                             device, metric, from_logits, epoch)
                history.append(record)
                bar.set_postfix({k: _fmt(record[k]) for k in shown})
                if verbose:
                    tqdm.write(_table_row(record, metric))
                if animator is not None:
                    animator.add(epoch, record)
                if writer is not None:
                    log_epoch(writer, record)
    except NonFiniteLossError as e:
        e.history = history
        raise
    except KeyboardInterrupt:
        raise TrainingInterrupted(history, epoch) from None
    finally:
        if animator is not None:
            history.figure = animator.close()
        if writer is not None:
            writer.close()
    return history


def _train_and_evaluate(net, train_iter, test_iter, loss, updater, kind: str, device,
                        metric: str | None, from_logits: bool, epoch: int) -> dict:
    """One epoch of ``train``: train, then evaluate on ``test_iter``; its record."""
    start = time.perf_counter()
    train_loss, train_acc = _run_epoch(net, train_iter, loss, updater, kind, device, metric,
                                       from_logits, epoch)
    test_loss = test_acc = None
    if test_iter is not None:
        try:
            test_loss, test_acc = evaluate(net, test_iter, loss, metric=metric, device=device,
                                           from_logits=from_logits, num_threads=None)
        except NonFiniteLossError as e:  # name the test set and the epoch in the message
            e.where, e.epoch = "test_iter", epoch
            raise
        except TargetsNotLabelsError as e:  # a regression's targets, metric="accuracy"
            e.where = "test_iter"
            raise
    return {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
            "test_loss": test_loss, "test_acc": test_acc,
            "seconds": time.perf_counter() - start}


# the verbose table's columns: (field, heading, width, format); no accuracy with metric=None
_TABLE = (("epoch", "epoch", 5, "d"), ("train_loss", "train loss", 10, ".4f"),
          ("train_acc", "train acc", 9, ".4f"), ("test_loss", "test loss", 9, ".4f"),
          ("test_acc", "test acc", 8, ".4f"), ("seconds", "seconds", 7, ".2f"))


def _table_columns(metric: str | None) -> tuple:
    if metric is not None:
        return _TABLE
    return tuple(c for c in _TABLE if c[0] not in ("train_acc", "test_acc"))


def _table_header(metric: str | None = "accuracy") -> str:
    return "  ".join(f"{heading:>{width}}" for _, heading, width, _ in _table_columns(metric))


def _table_row(r: dict, metric: str | None = "accuracy") -> str:
    def num(v, width: int, spec: str) -> str:
        return f"{'-':>{width}}" if v is None else f"{v:>{width}{spec}}"

    return "  ".join(num(r[field], width, spec)
                     for field, _, width, spec in _table_columns(metric))
