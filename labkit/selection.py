"""Model selection: a validation split, k-fold indices and k-fold cross-validation.

``train_val_split`` is introduced in lab 2's ``06_mlp_scratch`` (every model choice of
lab 2 is made on a validation split) and used again in ``07_mlp_nn``; k-fold
cross-validation in ``08_regularization_and_model_selection``, where the student writes
``kfold_indices`` (checked by ``lk.check.kfold_indices``) and ``cross_validate`` produces
the fold tables.

The rule behind all three: hyperparameters (depth, width, activation, dropout, weight
decay, learning rate, number of epochs) are chosen on data the model was not trained on,
and that is never the test set. The test set is looked at once, at the end, to report how
the chosen model does; a test accuracy used to choose is an optimistic estimate.

- ``train_val_split(X, y, val_size, seed)``: hold out part of the training set.
- ``kfold_indices(n, k, seed)``: ``k`` (train, validation) index pairs whose validation
  parts cover every example exactly once.
- ``cross_validate(make_net, X, y, ...)``: train a fresh model on each fold's training
  part, evaluate it on its validation part, and return a per-fold table with the mean and
  standard deviation: a less noisy estimate than one split, and a measure of its spread.

Shapes: ``N`` examples; ``X`` ``(N, ...)``, ``y`` ``(N, ...)``.
"""

from __future__ import annotations

import math
import numbers
import statistics
import time
from collections.abc import Callable, Sequence

import torch

from labkit._checks import (
    SEED_MAX,
    check_batch_sizes,
    check_positive_int,
    check_seed,
    check_tensor,
    describe,
    quote,
)
from labkit.data.loader import InMemoryLoader
from labkit.metrics import check_metric
from labkit.train import History, train

__all__ = ["train_val_split", "kfold_indices", "cross_validate", "CrossValidationResult"]


def _check_seed(seed, *, allow_none: bool = False) -> int | None:
    if seed is None and allow_none:
        return None
    return check_seed(seed)


def _fold_seed(seed: int, i: int) -> int:
    """Fold ``i``'s shuffling seed: ``seed + i``, wrapped round to stay a valid seed (from
    ``seed = 2**63 - 1`` the folds shuffle with 0, 1, ...)."""
    return (seed + i) % (SEED_MAX + 1)


def _check_pair(X, y) -> int:
    check_tensor(X, "X")
    check_tensor(y, "y")
    if X.dim() == 0 or y.dim() == 0:
        raise ValueError(f"X and y must have one entry per example, got X of shape "
                         f"{tuple(X.shape)} and y of shape {tuple(y.shape)}")
    check_batch_sizes(len(X), len(y), "X", "y")
    return len(X)


def train_val_split(X: torch.Tensor, y: torch.Tensor, val_size: float | int = 0.2,
                    seed: int = 0
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split a training set at random into a smaller training set and a validation set.

    Args:
        X: features ``(N, ...)``; y: targets ``(N, ...)``.
        val_size: the fraction of the examples to hold out, in (0, 1) (rounded to the
            nearest count, at least 1 and at most N - 1), or their number, an int in
            [1, N - 1].
        seed: the same seed gives the same split.

    Returns:
        ``(X_train, y_train, X_val, y_val)``; each example lands in exactly one part, and
        rows of ``X`` and ``y`` stay together. Both parts keep the original order of the
        examples they hold.
    """
    n = _check_pair(X, y)
    if n < 2:
        raise ValueError(f"X must hold at least 2 examples to split, got {n}")
    if isinstance(val_size, bool) or not isinstance(val_size, numbers.Real):
        raise TypeError(f"val_size must be a fraction in (0, 1) or a count, got "
                        f"{describe(val_size)}")
    if isinstance(val_size, numbers.Integral):
        if not 1 <= val_size <= n - 1:
            raise ValueError(f"val_size as a count must be in [1, {n - 1}] for {n} examples, "
                             f"got {val_size}")
        num_val = int(val_size)
    else:
        if not 0 < val_size < 1:
            raise ValueError(f"val_size as a fraction must be in (0, 1), got {val_size!r}")
        num_val = min(max(round(val_size * n), 1), n - 1)
    seed = _check_seed(seed)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    val_idx = order[:num_val].sort().values
    train_idx = order[num_val:].sort().values
    index_X = val_idx.to(X.device), train_idx.to(X.device)
    index_y = val_idx.to(y.device), train_idx.to(y.device)
    return X[index_X[1]], y[index_y[1]], X[index_X[0]], y[index_y[0]]


def kfold_indices(n: int, k: int, seed: int | None = 0
                  ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The ``k`` folds of k-fold cross-validation, as index pairs ``(train_idx, val_idx)``.

    The examples ``0 .. n-1`` are shuffled (from ``seed``) and cut into ``k`` parts whose
    sizes differ by at most one (the first ``n % k`` parts hold one more). Fold ``i``
    validates on part ``i`` and trains on the other ``k - 1``, so every example is
    validated on exactly once, and never trained on in the same fold.

    Args:
        n: the number of examples, >= k.
        k: the number of folds, >= 2 (``k = n`` is leave-one-out).
        seed: the same seed gives the same folds; ``None`` skips the shuffle (contiguous
            parts: only right when the examples are already in random order; data sorted
            by class would give folds that each miss some classes).

    Returns:
        A list of ``k`` pairs of int64 tensors ``(train_idx, val_idx)``, each sorted,
        of sizes ``n - len(val_idx)`` and ``n // k`` or ``n // k + 1``.
    """
    n = check_positive_int(n, "n")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an integer >= 2, got {describe(k)}")
    if k < 2:
        raise ValueError(f"k must be >= 2 (one fold would leave nothing to validate on), "
                         f"got {k}")
    if k > n:
        raise ValueError(f"k must be <= n: {n} examples cannot make {k} non-empty folds")
    seed = _check_seed(seed, allow_none=True)
    order = (torch.arange(n) if seed is None
             else torch.randperm(n, generator=torch.Generator().manual_seed(seed)))
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    parts = torch.split(order, sizes)
    folds = []
    for i, val in enumerate(parts):
        train_idx = torch.cat([p for j, p in enumerate(parts) if j != i])
        folds.append((train_idx.sort().values, val.sort().values))
    return folds


def _check_list(value, name: str, expected: str) -> list:
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a list ({expected}), got {describe(value)}")
    return list(value)


def _column_format(values: list[float], digits: int):
    """A formatter for one column of numbers: ``digits`` significant digits of the column's
    largest magnitude, the same decimals for every row (scientific notation when the
    largest magnitude is below 1e-3 or at least 1e5); ``spread=True`` (the standard
    deviation) keeps at least two significant digits of the value itself."""
    largest = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    if largest != 0.0 and not 1e-3 <= largest < 1e5:
        def scientific(value: float, spread: bool = False) -> str:
            return f"{value:.{digits - 1}e}"
        return scientific
    decimals = max(0, digits - 1 - math.floor(math.log10(largest))) if largest else digits

    def fixed(value: float, spread: bool = False) -> str:
        places = decimals
        if spread and value != 0.0 and math.isfinite(value):
            places = max(places, 1 - math.floor(math.log10(abs(value))))
        return f"{value:.{places}f}"
    return fixed


class CrossValidationResult:
    """The outcome of ``cross_validate``: one row per fold, and their summary.

    Attributes:
        folds: one dict per fold: ``fold`` (1-based), ``num_train``, ``num_val``,
            ``train_loss``, ``val_loss``, ``train_acc`` and ``val_acc`` (with
            ``metric="accuracy"`` only), ``seconds``; the losses and accuracies are the
            last epoch's.
        histories: the ``History`` of each fold's training (validation = "test").
        nets: each fold's trained model.

    ``mean(column)`` and ``std(column)`` summarize a column (the standard deviation with
    ``k - 1`` in the denominator, the usual estimate from a sample); ``print(result)``
    shows the table with both (``table()``: significant digits, no timing column, so the
    same run prints the same table).
    """

    def __init__(self, folds: list[dict], histories: list[History],
                 columns: Sequence[str], nets: list | None = None) -> None:
        self.folds = _check_list(folds, "folds", "one dict per fold")
        self.histories = _check_list(histories, "histories", "one History per fold")
        if (not isinstance(columns, Sequence) or isinstance(columns, (str, bytes))
                or not all(isinstance(c, str) for c in columns)):
            raise TypeError(f"columns must be a sequence of column names such as "
                            f"('fold', 'val_loss'), got {describe(columns)}")
        self.columns = tuple(columns)
        for j, row in enumerate(self.folds):
            if not isinstance(row, dict):
                raise TypeError(f"folds[{j}] must be a dict of column values, got "
                                f"{describe(row)}")
            for name in self.columns:
                if name not in row:
                    raise ValueError(f"folds[{j}] has no value for the column {name!r} "
                                     f"(it has {quote(list(row))})")
        self.nets = [] if nets is None else _check_list(nets, "nets", "one model per fold")

    def column(self, name: str) -> list[float]:
        if name not in self.columns:
            raise ValueError(f"column must be one of {self.columns}, got {quote(name)}")
        return [row[name] for row in self.folds]

    def _values(self, name: str) -> list[float]:
        values = self.column(name)
        if not values:
            raise ValueError(f"this result holds no folds: there is no {name} to summarize")
        return values

    def mean(self, name: str) -> float:
        """The column's mean; nan if a fold's value is nan."""
        return statistics.fmean(self._values(name))

    def std(self, name: str) -> float:
        """The column's sample standard deviation (0 for one fold); nan if a fold's value is
        nan or infinite (``statistics.stdev`` cannot take those)."""
        values = self._values(name)
        if not all(math.isfinite(v) for v in values):
            return math.nan
        return statistics.stdev(values) if len(values) > 1 else 0.0

    def to_dict(self) -> dict[str, list]:
        """Column form, ``{"fold": [...], "val_loss": [...], ...}`` (e.g. for pandas)."""
        return {name: self.column(name) for name in self.columns}

    def table(self, digits: int = 4, seconds: bool = False) -> str:
        """The per-fold table, then the mean and the standard deviation of each column.

        Args:
            digits: significant digits of each column's largest value (4). A column is
                printed with one number of decimals throughout, so its figures line up; a
                column whose values are all below 0.001 (a regression's squared errors, say)
                or 1e5 and above is printed in scientific notation. The standard deviation
                gets at least two significant digits of its own.
            seconds: add the ``seconds`` column (each fold's training time). Off by
                default: it changes from run to run, and the table should not.
        """
        digits = check_positive_int(digits, "digits")
        if not isinstance(seconds, bool):
            raise TypeError(f"seconds must be True or False, got {describe(seconds)}")
        numeric = [c for c in self.columns if c not in ("fold", "num_train", "num_val")
                   and (seconds or c != "seconds")]
        formats = {c: _column_format(self.column(c) + [self.mean(c)], digits) for c in numeric}
        rows = [(f"{row['fold']:>5} {row['num_train']:>6} {row['num_val']:>5}",
                 [formats[c](row[c]) for c in numeric]) for row in self.folds]
        summary = [(f"{'mean':>5} {'':>6} {'':>5}", [formats[c](self.mean(c)) for c in numeric]),
                   (f"{'std':>5} {'':>6} {'':>5}",
                    [formats[c](self.std(c), spread=True) for c in numeric])]
        width = {c: max([10, len(c)] + [len(cells[i]) for _, cells in rows + summary])
                 for i, c in enumerate(numeric)}  # a wider figure widens its column
        head = f"{'fold':>5} {'train':>6} {'val':>5}" + "".join(f" {c:>{width[c]}}"
                                                               for c in numeric)

        def line(start, cells):
            return start + "".join(f" {cell:>{width[c]}}" for c, cell in zip(numeric, cells))

        rule = "-" * len(head)
        return "\n".join([head, rule, *(line(*r) for r in rows), rule,
                          *(line(*r) for r in summary)])

    def __repr__(self) -> str:
        return self.table()

    def __len__(self) -> int:
        return len(self.folds)


def cross_validate(make_net: Callable[[], object], X: torch.Tensor, y: torch.Tensor,
                   loss: Callable, make_updater: Callable[[object], object],
                   num_epochs: int, *, k: int = 10, batch_size: int = 64, seed: int = 0,
                   metric: str | None = "accuracy", progress: bool = False,
                   **train_kwargs) -> CrossValidationResult:
    """k-fold cross-validation: train a fresh model on each fold, validate on the rest.

    For fold ``i`` of ``kfold_indices(len(X), k, seed)``: ``net = make_net()`` (a new,
    untrained model: nothing learned on one fold leaks into the next),
    ``updater = make_updater(net)``, then ``lk.train`` for ``num_epochs`` on the fold's
    training part (reshuffled every epoch, from ``seed + i``, wrapped round past
    ``2**63 - 1``), evaluating on its validation
    part after each epoch.

    Args:
        make_net: ``make_net()`` returns a new model, e.g.
            ``lambda: lk.MLP(200, (64,), 1)``.
        X, y: the TRAINING set (the test set stays out of model selection), ``(N, ...)``.
        loss: as for ``lk.train``, e.g. ``nn.BCEWithLogitsLoss()``.
        make_updater: ``make_updater(net)`` returns an optimizer (or an ``updater(batch_size)``
            callable) for that net, e.g. ``lambda net: torch.optim.Adam(net.parameters())``.
        num_epochs: epochs per fold.
        k: the number of folds (10).
        batch_size: minibatch size (64).
        seed: fixes the folds and the batch order.
        metric: as for ``lk.train``, and passed on to it: ``"accuracy"`` (default) adds
            the columns ``train_acc`` and ``val_acc``; ``None`` for a regression (the
            losses alone: an accuracy of real-valued targets means nothing). Not inferred
            from ``y``: regression targets with ``"accuracy"`` are a ``ValueError``, raised
            at the first batch before any training step, that says to pass
            ``metric=None``.
        progress: print one line per fold as it finishes.
        **train_kwargs: passed on to ``lk.train`` (``device``, ``from_logits``, ...).

    Returns:
        A ``CrossValidationResult``: ``print(result)`` shows every fold with the mean and
        standard deviation; ``result.mean("val_acc")`` etc.
    """
    n = _check_pair(X, y)
    is_model = (not isinstance(make_net, type)
                and callable(getattr(make_net, "parameters", None)))  # a model, not a factory
    if not callable(make_net) or is_model:
        raise TypeError(f"make_net must be a function returning a new model (e.g. "
                        f"lambda: lk.MLP(...)), got {describe(make_net)}")
    if not callable(make_updater):
        raise TypeError(f"make_updater must be a function make_updater(net) returning an "
                        f"optimizer, got {describe(make_updater)}")
    num_epochs = check_positive_int(num_epochs, "num_epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if "classification" in train_kwargs:
        raise TypeError("cross_validate takes metric=, as lk.train does, not classification=: "
                        "pass metric=None for a regression (losses only), or leave the "
                        "default metric='accuracy' for a classification")
    metric = check_metric(metric)
    folds = kfold_indices(n, k, _check_seed(seed))
    columns = ["fold", "num_train", "num_val", "train_loss", "val_loss"]
    if metric is not None:
        columns += ["train_acc", "val_acc"]
    columns.append("seconds")

    rows, histories, nets = [], [], []
    for i, (train_idx, val_idx) in enumerate(folds, start=1):
        net = make_net()
        if net is None or not callable(net):
            shown = "None" if net is None else describe(net)
            raise TypeError(
                f"make_net() returned {shown}; it must return a new model to train (an "
                f"nn.Module such as lk.MLP(...), or a from-scratch model such as "
                f"lk.MLPScratch(...)): e.g. make_net=lambda: lk.MLP(20, (64,), 1) (a "
                f"function with a body needs a return statement)"
            )
        if any(net is previous for previous in nets):
            raise ValueError("make_net returned the same model object twice: it must build "
                             "a new model at each call (e.g. lambda: lk.MLP(...)), or "
                             "every fold would continue training the previous fold's model")
        nets.append(net)
        updater = make_updater(net)
        train_iter = InMemoryLoader(X[train_idx.to(X.device)], y[train_idx.to(y.device)],
                                    batch_size, shuffle=True, seed=_fold_seed(seed, i))
        val_iter = InMemoryLoader(X[val_idx.to(X.device)], y[val_idx.to(y.device)],
                                  batch_size, shuffle=False)
        start = time.perf_counter()
        history = train(net, train_iter, val_iter, loss, num_epochs, updater,
                        metric=metric, progress=False, **train_kwargs)
        last = history.last
        row = {"fold": i, "num_train": len(train_idx), "num_val": len(val_idx),
               "train_loss": last["train_loss"], "val_loss": last["test_loss"],
               "seconds": time.perf_counter() - start}
        if metric is not None:
            row["train_acc"], row["val_acc"] = last["train_acc"], last["test_acc"]
        rows.append({c: row[c] for c in columns})
        histories.append(history)
        if progress:
            shown = ", ".join(f"{c} {row[c]:.4g}" for c in columns[3:-1])
            print(f"fold {i}/{k}: {shown} ({row['seconds']:.1f} s)", flush=True)
    return CrossValidationResult(rows, histories, columns, nets)
