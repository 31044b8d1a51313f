"""Classification metrics: accuracy, a running sum, evaluation loops and confusion matrices.

The student writes ``accuracy`` in ``02_logistic_regression_scratch`` (binary logits) and
``04_softmax_regression_scratch`` (``argmax`` over the classes), and ``evaluate_accuracy``
with this module's ``Accumulator`` in 04, each checked by ``lk.check``
(``labkit/check/metrics.py``); 04 also compares the student's ``evaluate_accuracy`` with
``lk.evaluate_accuracy``, and then uses ``confusion_matrix``, ``per_class_accuracy`` and
``most_confused`` from here as they are. ``03_logistic_regression_nn`` and
``05_softmax_regression_nn`` evaluate with ``evaluate`` (05 also counts with ``accuracy``).

The loops (``evaluate`` here, ``train.train_epoch``/``train.train``) report the accuracy
by default (``metric="accuracy"``); ``metric=None`` reports the loss alone, as lab 2's
regression needs.

Conventions (d2l's):

- ``accuracy(y_hat, y)`` returns the NUMBER of correct predictions (an ``int``), so that
  counts from batches of different sizes can be summed and divided once at the end.
- With ``C > 1`` scores per example the prediction is ``argmax`` over the classes, for
  logits and probabilities alike. Never threshold class probabilities at 0.5 before the
  argmax: with three or more classes the top probability is often below 0.5, and
  ``(y_hat > 0.5).argmax(1)`` then predicts class 0 for that example.
- A single score per example (``(N,)`` or ``(N, 1)``) is a binary prediction: class 1 when
  the logit is > 0 (``from_logits=True``) or the probability is > 0.5.

Shapes: ``N`` is the batch size, ``C`` the number of classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from labkit._checks import (
    check_batch_sizes,
    check_class_targets,
    check_device,
    check_positive_int,
    check_tensor,
    describe,
    quote,
)
from labkit.loop import (
    batch_size,
    check_finite_batch,
    check_iterable,
    eval_mode,
    loop_threads,
    reduce_loss,
    unpack_batch,
)

__all__ = [
    "accuracy",
    "METRICS",
    "check_metric",
    "check_accuracy_targets",
    "TargetsNotLabelsError",
    "Accumulator",
    "evaluate",
    "evaluate_accuracy",
    "confusion_matrix",
    "per_class_accuracy",
    "most_confused",
]


def _predicted_labels(y_hat: torch.Tensor, from_logits: bool) -> torch.Tensor:
    """Predicted labels ``(N,)`` from scores ``(N, C)``, binary scores ``(N,)``/``(N, 1)``,
    or labels (integer or bool dtype)."""
    if y_hat.dim() == 0 or y_hat.dim() > 2:
        raise ValueError(
            f"y_hat must have shape (N, C), (N,) or (N, 1), got shape {tuple(y_hat.shape)}"
        )
    if y_hat.dim() == 2 and y_hat.shape[1] > 1:
        return y_hat.argmax(dim=1)  # (N, C) -> (N,): same for logits and probabilities
    y_hat = y_hat.reshape(-1)  # (N,) or (N, 1) -> (N,)
    if y_hat.is_floating_point():
        threshold = 0.0 if from_logits else 0.5
        return (y_hat > threshold).long()  # binary scores -> 0/1 labels
    return y_hat  # already labels


def accuracy(y_hat: torch.Tensor, y: torch.Tensor, *, from_logits: bool = True) -> int:
    """The number of correct predictions in a batch (not the fraction).

    Args:
        y_hat: one of
            - scores ``(N, C)`` with ``C > 1`` (logits or probabilities): the prediction
              is ``y_hat.argmax(dim=1)``;
            - binary scores ``(N,)`` or ``(N, 1)``, floating point: the prediction is 1
              where the score is > 0 (logits, ``from_logits=True``) or > 0.5
              (probabilities, ``from_logits=False``);
            - predicted labels ``(N,)``, integer or bool dtype: compared directly.
        y: true labels ``(N,)`` (or ``(N, 1)``), integer or float (``0.``/``1.``).
        from_logits: only used for binary float scores, see above.

    Returns:
        ``int``: how many of the ``N`` predictions equal ``y``. Divide by ``N`` (or use
        ``evaluate_accuracy``) for a fraction.
    """
    check_tensor(y_hat, "y_hat")
    check_tensor(y, "y")
    if y.dim() == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.dim() != 1:
        raise ValueError(f"y must hold labels of shape (N,), got shape {tuple(y.shape)}")
    preds = _predicted_labels(y_hat, from_logits)  # (N,)
    check_batch_sizes(preds.shape[0], y.shape[0], "y_hat", "y")
    if preds.dtype != y.dtype:
        preds = preds.to(y.dtype)  # compare in y's dtype (0. == 0 for float y)
    cmp = preds == y  # (N,) bool
    return int(cmp.sum())


# The metrics the loops (``evaluate``, ``train.train_epoch``, ``train.train``) can report
# besides the loss, by the name their ``metric=`` argument takes; ``None`` reports none.
METRICS = ("accuracy",)


def check_metric(metric) -> str | None:
    """``metric`` if it is one of ``METRICS`` or ``None``, else a ``ValueError``/``TypeError``.

    ``"accuracy"`` (the loops' default) is for classification; ``None`` trains and
    evaluates on the loss alone, as a regression must (an accuracy of real-valued targets
    means nothing).
    """
    if metric is None or (isinstance(metric, str) and metric in METRICS):
        return metric
    expected = ("metric must be 'accuracy' (classification: the fraction of correct "
                "predictions) or None (no metric: the loss alone, e.g. for a regression "
                "with lk.mse_loss)")
    if isinstance(metric, str):
        raise ValueError(f"{expected}, got {quote(metric)}")
    raise TypeError(f"{expected}, got {describe(metric)}")


class TargetsNotLabelsError(ValueError):
    """The loop computes an accuracy (``metric="accuracy"``, the default) but a batch's
    targets cannot be class labels: a regression's ``y`` (or soft targets). Attributes:
    ``where`` (``"train_iter"``, ``"test_iter"`` or ``"data_iter"``), ``batch`` (1-based),
    ``value`` (the first target that is not a label) and ``binary`` (one score per example,
    so the labels must be 0 or 1). The message is built from these when it is shown."""

    def __init__(self, where: str, batch: int, value: float, binary: bool) -> None:
        super().__init__(where, batch, value, binary)
        self.where, self.batch, self.value, self.binary = where, batch, value, binary

    def __str__(self) -> str:
        rule = ("with one score per example, a binary task, the labels are 0 and 1"
                if self.binary else "class labels are whole numbers")
        return (f"{self.where} (batch {self.batch}): y holds {self.value:.6g}, which is not "
                f"a class label ({rule}), so an accuracy means nothing for these targets. "
                f"For a regression (e.g. lk.mse_loss), train and evaluate on the loss alone: "
                f"pass metric=None (metric='accuracy' is the default)")


def check_accuracy_targets(y_hat, y, *, where: str, batch: int) -> None:
    """Refuse floating-point targets that cannot be class labels while the loop computes an
    accuracy: they are a regression's (or soft) targets, for which an accuracy means
    nothing. The loops call this on every batch when ``metric`` is ``"accuracy"``, before
    the batch is used (``TargetsNotLabelsError``, a ``ValueError``).

    With one score per example (``y_hat`` ``(N,)`` or ``(N, 1)``, a binary prediction) the
    labels must be 0 or 1; with ``C > 1`` scores they must be whole numbers. Integer and
    bool targets are labels already and are not looked at; ``nan``/``inf`` are left to the
    loops' non-finite checks (``NonFiniteInputError``).
    """
    if not isinstance(y, torch.Tensor) or not y.is_floating_point() or y.numel() == 0:
        return
    binary = (isinstance(y_hat, torch.Tensor)
              and (y_hat.dim() == 1 or (y_hat.dim() == 2 and y_hat.shape[1] == 1)))
    if binary:
        # fast path, 3 small ops a batch: y (1 - y) is 0 exactly where y is 0 or 1
        if not bool(y.mul(1 - y).any()):
            return
        bad = (y != 0) & (y != 1)
    else:
        bad = y != y.round()
    bad &= torch.isfinite(y)  # nan/inf: the loops' non-finite checks name those
    if bool(bad.any()):
        raise TargetsNotLabelsError(where, batch, y[bad][0].item(), binary)


class Accumulator:
    """``n`` running sums, e.g. (total loss, number correct, number of examples).

    Example::

        metric = Accumulator(3)
        for X, y in train_iter:
            ...
            metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
        mean_loss, acc = metric[0] / metric[2], metric[1] / metric[2]

    Values are stored as Python floats (``float(tensor)`` works for 0-d tensors).
    """

    def __init__(self, n: int) -> None:
        self.data = [0.0] * check_positive_int(n, "n")

    def add(self, *args) -> None:
        """Add one value to each sum; exactly ``n`` values, in order."""
        if len(args) != len(self.data):
            raise TypeError(
                f"Accumulator({len(self.data)}).add() takes {len(self.data)} values, "
                f"got {len(args)}"
            )
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self) -> None:
        """Set every sum back to 0."""
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"Accumulator({self.data})"


def evaluate(net, data_iter, loss=None, *, metric: str | None = "accuracy", device=None,
             from_logits: bool = True, num_threads: int | None = 1
             ) -> tuple[float | None, float | None]:
    """Mean loss and accuracy of ``net`` over every batch of ``data_iter``.

    ``net`` is put in eval mode for the pass (its previous mode is restored afterwards),
    gradients are off (``torch.no_grad()``) and PyTorch runs each operation on
    ``num_threads`` CPU threads (default 1; ``None`` keeps torch's setting;
    ``torch.get_num_threads()`` is restored afterwards; ``labkit.loop.loop_threads`` says
    why). The machinery (threads, eval mode, batches, the loss's reduction) is
    ``labkit.loop``'s, shared with the training loop.

    Args:
        net: a callable ``X -> y_hat``: an ``nn.Module`` or a scratch model.
        data_iter: an iterable of ``(X, y)`` batches.
        loss: optional ``loss(y_hat, y)`` returning per-example losses ``(N,)`` (or
            ``(N, 1)``), or a 0-d mean or sum from a loss that says which
            (``nn.CrossEntropyLoss()``; see ``labkit.loop.reduce_loss``).
        metric: ``"accuracy"`` (default, classification) or ``None``: no accuracy, the loss
            alone, as for a regression (``loss`` is then required). With
            ``"accuracy"``, floating-point targets that cannot be class labels (a
            regression's ``y``) are a ``ValueError`` that says to pass ``metric=None``:
            the loop never guesses which task it is given.
        device: if given (checked by ``labkit._checks.check_device``), each batch is moved
            there (``net`` must already be there).
        from_logits: passed to ``accuracy`` (binary scores only).

    Returns:
        ``(mean_loss, accuracy)``: the loss averaged over examples (``None`` without
        ``loss``) and the fraction of correct predictions (``None`` with ``metric=None``).

    Raises:
        NonFiniteInputError: a batch's ``X`` or ``y`` holds ``nan``/``inf`` (a
            ``ValueError``); never a ``nan`` result.
        NonFiniteLossError: the loss or the output is not finite although the batch is
            (the model's parameters are).
        ValueError: ``metric=None`` without a ``loss`` (nothing to compute); targets that
            are not class labels with ``metric="accuracy"``; no batches.
    """
    if not callable(net):
        raise TypeError(f"net must be callable (a model), got {describe(net)}")
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be callable or None, got {describe(loss)}")
    metric = check_metric(metric)
    if metric is None and loss is None:
        raise ValueError("evaluate has nothing to compute with metric=None and no loss: "
                         "pass a loss (e.g. lk.mse_loss for a regression), or "
                         "metric='accuracy'")
    check_iterable(data_iter, "data_iter")
    device = check_device(device)
    metric_sum = Accumulator(3)  # summed loss, number correct, number of examples
    with loop_threads(num_threads), eval_mode(net), torch.no_grad():
        for index, batch in enumerate(data_iter, start=1):
            X, y = unpack_batch(batch, "data_iter", device)
            y_hat = net(X)
            n = batch_size(X, y)
            if metric is not None:
                check_accuracy_targets(y_hat, y, where="data_iter", batch=index)
            if loss is not None:
                total = float(reduce_loss(loss(y_hat, y), loss, n, "sum"))
                finite = math.isfinite(total)
            else:
                total = 0.0  # no loss: check the outputs, an argmax of nan is no prediction
                finite = (not isinstance(y_hat, torch.Tensor) or not y_hat.is_floating_point()
                          or bool(torch.isfinite(y_hat).all()))
            if not finite:
                check_finite_batch(X, y, total if loss is not None else None, epoch=None,
                                   batch=index, lr=None, where="data_iter", training=False)
            correct = accuracy(y_hat, y, from_logits=from_logits) if metric is not None else 0
            metric_sum.add(total, correct, n)
    if metric_sum[2] == 0:
        raise ValueError("data_iter produced no batches: there is nothing to evaluate")
    mean_loss = metric_sum[0] / metric_sum[2] if loss is not None else None
    acc = metric_sum[1] / metric_sum[2] if metric is not None else None
    return mean_loss, acc


def evaluate_accuracy(net, data_iter, *, device=None, from_logits: bool = True,
                      num_threads: int | None = 1) -> float:
    """The fraction of correct predictions of ``net`` over ``data_iter`` (eval mode, no grad).

    See ``evaluate`` for the arguments.
    """
    return evaluate(net, data_iter, device=device, from_logits=from_logits,
                    num_threads=num_threads)[1]


def _as_labels(x, name: str, num_classes: int, *, scores: bool = True) -> torch.Tensor:
    """Integer labels ``(N,)`` in ``[0, num_classes)`` from labels or (with ``scores``)
    scores ``(N, C)``."""
    check_tensor(x, name)
    if x.is_complex():  # x.long() would drop the imaginary part with only a warning
        raise TypeError(f"{name} must hold real class labels or scores, got the complex "
                        f"dtype {x.dtype}")
    if x.dim() == 2 and not scores:
        raise ValueError(
            f"{name} must be labels (N,), the true class of each example, got shape "
            f"{tuple(x.shape)}; if these are one-hot rows or scores, pass "
            f"{name}.argmax(dim=1)"
        )
    if x.dim() == 2:
        if x.shape[1] != num_classes:
            raise ValueError(
                f"{name} as scores must have shape (N, {num_classes}), one column per "
                f"class, got shape {tuple(x.shape)}"
            )
        return x.argmax(dim=1)
    if x.dim() != 1:
        raise ValueError(
            f"{name} must be labels (N,) or scores (N, {num_classes}), got shape "
            f"{tuple(x.shape)}"
        )
    if x.is_floating_point():
        if x.numel() > 0 and not bool((x == x.round()).all()):
            bad = x[x != x.round()][0].item()
            raise ValueError(
                f"{name} must hold class indices, got the non-integer value {bad!r}; "
                f"pass scores of shape (N, C) or threshold binary scores first"
            )
    return check_class_targets(x.long(), num_classes, name)


_MAX_CM_BYTES = 4 * 2**30  # a confusion matrix of at most 4 GiB (23,170 classes)


def confusion_matrix(preds: torch.Tensor, targets: torch.Tensor,
                     num_classes: int) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs.

    ``cm[i, j]`` = number of examples of true class ``i`` predicted as class ``j``; the
    diagonal holds the correct predictions. Computed in one ``torch.bincount`` of
    ``targets * C + preds`` (each pair gets its own bin), then reshaped to ``(C, C)``.

    Args:
        preds: predicted labels ``(N,)`` or scores ``(N, C)`` (``argmax`` is taken).
        targets: true labels ``(N,)``, integer (or float with whole values, e.g. ``0.``/``1.``);
            not scores (a ``(N, C)`` tensor is refused).
        num_classes: ``C``, a positive int, at most 23,170 (a 4 GiB matrix).

    Returns:
        int64 tensor ``(C, C)`` on the inputs' device; rows = true class, columns = predicted.
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    size = num_classes * num_classes * 8  # bytes of the int64 (C, C) counts
    if size > _MAX_CM_BYTES:
        largest = math.isqrt(_MAX_CM_BYTES // 8)
        raise ValueError(
            f"num_classes={num_classes} would need a {num_classes} x {num_classes} matrix "
            f"of int64 counts, {size / 2**30:.3g} GiB; confusion_matrix allows at most "
            f"{_MAX_CM_BYTES // 2**30} GiB ({largest} classes)"
        )
    preds = _as_labels(preds, "preds", num_classes)  # (N,)
    targets = _as_labels(targets, "targets", num_classes, scores=False)  # (N,)
    check_batch_sizes(preds.shape[0], targets.shape[0], "preds", "targets")
    pairs = targets.to(preds.device) * num_classes + preds  # (N,), values in [0, C*C)
    counts = torch.bincount(pairs, minlength=num_classes * num_classes)  # (C*C,)
    return counts.reshape(num_classes, num_classes)


def _check_cm(cm) -> torch.Tensor:
    check_tensor(cm, "cm")
    if cm.dim() != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (C, C) matrix, got shape {tuple(cm.shape)}")
    return cm


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Accuracy within each true class (recall): ``cm[i, i] / cm[i, :].sum()``.

    Args:
        cm: a confusion matrix ``(C, C)`` from ``confusion_matrix``.

    Returns:
        float tensor ``(C,)``; ``nan`` for a class with no examples.
    """
    cm = _check_cm(cm).double()
    return torch.diagonal(cm) / cm.sum(dim=1)  # (C,); 0 / 0 = nan for an empty row


def most_confused(cm: torch.Tensor, k: int = 5,
                  class_names: Sequence[str] | None = None) -> list[tuple]:
    """The ``k`` largest off-diagonal entries of a confusion matrix.

    Args:
        cm: a confusion matrix ``(C, C)`` (rows true, columns predicted).
        k: how many pairs to return at most (only pairs with a count > 0 are listed).
        class_names: optional ``C`` names used instead of class indices.

    Returns:
        ``[(true, predicted, count), ...]``, largest count first (ties: smaller true, then
        smaller predicted class first).
    """
    cm = _check_cm(cm)
    k = check_positive_int(k, "k")
    num_classes = cm.shape[0]
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(
            f"class_names must have one name per class ({num_classes}), got "
            f"{len(class_names)}"
        )
    counts = cm.tolist()  # nested lists: one Python loop without per-element tensor ops
    pairs = [
        (int(counts[i][j]), i, j)
        for i in range(num_classes)
        for j in range(num_classes)
        if i != j and counts[i][j] > 0
    ]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    name = (lambda i: class_names[i]) if class_names is not None else (lambda i: i)
    return [(name(i), name(j), count) for count, i, j in pairs[:k]]
