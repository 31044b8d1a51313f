"""The machinery of labkit's loops, shared by ``train.train_epoch``/``train.train`` and
``metrics.evaluate``: what every pass over a data set needs, in one place.

- ``loop_threads``: how many CPU threads PyTorch uses during the pass, and why one;
- ``eval_mode``: the model in eval mode for an evaluation, its mode restored afterwards;
- ``check_iterable``, ``unpack_batch``, ``batch_size``: the ``(X, y)`` batches;
- ``loss_reduction``, ``reduce_loss``: the batch's loss as a sum or a mean, whatever the
  loss function returns, or a clear error when that cannot be known;
- ``NonFiniteLossError``, ``NonFiniteInputError``, ``check_finite_batch``: stop at the first
  ``nan``/``inf`` and say whether the data or the training produced it.

Introduced with the training loop in ``02_logistic_regression_scratch``. Imports nothing of
labkit but ``_checks``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Iterable, Sequence

import torch

from labkit._checks import check_positive_int, describe, quote

__all__ = [
    "NonFiniteLossError",
    "NonFiniteInputError",
    "loop_threads",
    "eval_mode",
    "check_iterable",
    "unpack_batch",
    "batch_size",
    "loss_reduction",
    "reduce_loss",
    "check_finite_batch",
]


# ---------------------------------------------------------------- non-finite values

class NonFiniteLossError(FloatingPointError):
    """Training (or evaluation) produced a ``nan`` or ``inf``. When the batch's own values
    are finite, the usual cause is a learning rate that is too large (the parameters
    overflow within a few steps).

    Attributes: ``value`` (the loss, or ``None``), ``epoch`` (1-based, ``None`` outside
    ``train``), ``batch`` (1-based), ``lr`` (``None`` when it could not be found), ``where``
    (``"train_iter"``, ``"test_iter"`` or ``"data_iter"``), ``training`` (whether it happened
    in a training step or in an evaluation), and ``history`` (the epochs finished before,
    when raised by ``train``). The message is built from these when it is shown.
    """

    def __init__(self, value, epoch: int | None, batch: int, lr, *, where: str = "train_iter",
                 training: bool = True) -> None:
        super().__init__(value, epoch, batch, lr)
        self.value, self.epoch, self.batch, self.lr = value, epoch, batch, lr
        self.where, self.training = where, training
        self.history = None

    def __str__(self) -> str:
        if self.training:
            lr_text = f"lr={quote(self.lr)}" if self.lr is not None else "lr unknown"
            return (f"non-finite loss ({self.value}) at {self._position()} ({lr_text}); "
                    f"training stopped. The learning rate is probably too large: try a "
                    f"smaller lr")
        what = "net's output" if self.value is None else f"the loss ({self.value})"
        return (f"{self.where} ({self._position()}): {what} is not finite although the "
                f"batch's X and y are: the model's parameters are probably non-finite (a "
                f"diverged training run); rebuild the model and train it with a smaller lr")

    def _position(self) -> str:
        if self.epoch is None:
            return f"batch {self.batch}"
        return f"epoch {self.epoch}, batch {self.batch}"


class NonFiniteInputError(NonFiniteLossError, ValueError):
    """A batch's own ``X`` or ``y`` holds ``nan``/``inf``: the data is broken, not the
    training. Both a ``ValueError`` (bad input) and a ``NonFiniteLossError`` (code that
    catches the latter still stops here). ``tensor`` is ``"X"`` or ``"y"``; ``nan`` and
    ``inf`` count its bad values."""

    def __init__(self, value, epoch, batch, lr, *, where: str, training: bool, tensor: str,
                 nan: int, inf: int) -> None:
        super().__init__(value, epoch, batch, lr, where=where, training=training)
        self.tensor, self.nan, self.inf = tensor, nan, inf

    def __str__(self) -> str:
        count = self.nan + self.inf
        return (f"{self.where} ({self._position()}): {self.tensor} holds {count} non-finite "
                f"value{'s' if count != 1 else ''} ({self.nan} nan, {self.inf} inf); the "
                f"data is broken, not the training. Find them with "
                f"(~torch.isfinite({self.tensor})).nonzero() and fix or drop those examples")


def check_finite_batch(X, y, value, *, epoch: int | None, batch: int, lr, where: str,
                       training: bool) -> None:
    """Raise for a batch whose loss ``value`` (or, with ``value=None``, whose output) is not
    finite: ``NonFiniteInputError`` when ``X`` or ``y`` itself holds ``nan``/``inf``, else
    ``NonFiniteLossError``. Called only once something is non-finite, so the batch is
    scanned only then: a healthy epoch pays nothing for this check."""
    for name, t in (("X", X), ("y", y)):
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            nan = int(torch.isnan(t).sum())
            inf = int(torch.isinf(t).sum())
            if nan or inf:
                raise NonFiniteInputError(value, epoch, batch, lr, where=where,
                                          training=training, tensor=name, nan=nan, inf=inf)
    raise NonFiniteLossError(value, epoch, batch, lr, where=where, training=training)


# ---------------------------------------------------------------- threads and modes

@contextlib.contextmanager
def loop_threads(num_threads: int | None):
    """Run the block with ``num_threads`` CPU threads per PyTorch operation, then restore
    ``torch.get_num_threads()``; ``None`` leaves torch's setting alone.

    Why the loops default to one thread: a minibatch of the lab's models is a handful of
    small operations (the product ``(256, 784) @ (784, 10)`` is 4 MFLOP), too small for a
    second thread to gain much, yet every parallel operation ends by waiting for all of its
    threads. When another process keeps a core busy (a shared classroom server, a test run
    beside the notebook) that wait lasts until the scheduler runs the second thread again.
    Measured on 2 shared cores (benchmarks/RESULTS.md), one softmax-regression epoch: 0.21 s
    with 1 thread in every case; with 2 threads 0.18-0.20 s on an idle machine, 0.64 s
    beside one busy process, 2-11 s while other notebooks ran. For a larger model on an
    idle many-core machine pass ``num_threads=None``. A loop of your own gets the same
    protection from ``torch.set_num_threads(1)`` (see the README's speed section).
    """
    if num_threads is not None:
        check_positive_int(num_threads, "num_threads")
    if num_threads is None or num_threads == torch.get_num_threads():
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def eval_mode(net):
    """Put ``net`` in eval mode for the block, then restore the previous mode.

    Works for ``nn.Module`` and for any object with ``eval()``/``train()`` methods (the
    scratch models); objects without a ``training`` flag are put in eval mode and left
    there (``train_epoch`` calls ``net.train()`` itself).
    """
    eval_fn = getattr(net, "eval", None)
    if not callable(eval_fn):
        yield
        return
    was_training = getattr(net, "training", None)
    eval_fn()
    try:
        yield
    finally:
        if isinstance(was_training, bool) and callable(getattr(net, "train", None)):
            net.train(was_training)


# ---------------------------------------------------------------- batches

def check_iterable(data_iter, name: str) -> None:
    """``data_iter`` must be an iterable (of ``(X, y)`` batches)."""
    if not isinstance(data_iter, Iterable):
        raise TypeError(
            f"{name} must be an iterable of (X, y) batches, got {describe(data_iter)}"
        )


def unpack_batch(batch, name: str, device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` from one batch, moved to ``device`` when one is given."""
    if not (type(batch) in (tuple, list) or isinstance(batch, Sequence)) or \
            isinstance(batch, (str, bytes)) or len(batch) != 2:
        raise TypeError(
            f"{name} must yield (X, y) pairs, got a batch that is {describe(batch)}"
        )
    X, y = batch
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        which, value = ("X", X) if not isinstance(X, torch.Tensor) else ("y", y)
        raise TypeError(
            f"{name} must yield (X, y) pairs of tensors, got a batch whose {which} is "
            f"{describe(value)}; convert the data with torch.as_tensor(...) once, before "
            f"batching (lk.InMemoryLoader, or a DataLoader over tensors)"
        )
    if device is not None:  # .to() costs microseconds even when there is nothing to move
        if X.device != device:
            X = X.to(device)
        if y.device != device:
            y = y.to(device)
    return X, y


def batch_size(X, y) -> int:
    """The number of examples in a batch: ``len(y)``, or ``len(X)`` for a 0-d ``y``."""
    if isinstance(y, torch.Tensor) and y.dim() > 0:
        return y.shape[0]
    return len(X)


# ---------------------------------------------------------------- the loss's reduction

def loss_reduction(loss) -> str | None:
    """What a loss function says it returns: ``"mean"``, ``"sum"``, ``"none"`` or ``None``
    (it does not say).

    Read, in this order, from ``loss.reduction`` (``nn.CrossEntropyLoss()`` and the other
    ``torch.nn`` losses; any function can be given the attribute), from the ``reduction``
    keyword of a ``functools.partial(lk.cross_entropy, reduction="sum")``, or from the
    default of a ``reduction`` parameter in the function's signature: the loop calls
    ``loss(y_hat, y)``, so ``lk.cross_entropy``, ``lk.mse_loss``, ``F.cross_entropy`` or a
    student's ``def cross_entropy(y_hat, y, reduction="mean")`` return that default. A
    function without one (``lambda y_hat, y: lk.cross_entropy(y_hat, y, reduction="sum")``)
    does not say.
    """
    reduction = getattr(loss, "reduction", None)
    if reduction is None and isinstance(loss, functools.partial):
        reduction = loss.keywords.get("reduction")
    if reduction is None:
        try:
            reduction = _default_reduction(loss)  # cached: the loop asks at every batch
        except TypeError:  # an unhashable callable
            reduction = _default_reduction.__wrapped__(loss)
    return reduction if reduction in ("mean", "sum", "none") else None


@functools.lru_cache(maxsize=64)
def _default_reduction(loss):
    """The default of ``loss``'s ``reduction`` parameter, or ``None`` (no such parameter,
    no default, or no signature to read)."""
    try:
        parameter = inspect.signature(loss).parameters.get("reduction")
    except (TypeError, ValueError):  # builtins and C functions may have no signature
        return None
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return parameter.default


def reduce_loss(l, loss, n: int, to: str) -> torch.Tensor:
    """The batch's loss as a 0-d ``"sum"`` or ``"mean"`` (``to``) over its ``n`` examples,
    from ``l = loss(y_hat, y)``:

    - per-example losses ``(n,)`` (``reduction="none"``): summed or averaged here; also
      ``(n, 1)``, one loss per example as a column, what ``lk.mse_loss(y_hat, y,
      reduction="none")`` and ``nn.MSELoss(reduction="none")`` return for a regression's
      ``(n, 1)`` predictions and targets. No other shape: ``(n, n)`` or ``(1, n)`` is the
      sign of a prediction broadcast against targets of another shape;
    - a 0-d tensor from a loss that declares its reduction (see ``loss_reduction``):
      multiplied or divided by ``n`` as needed;
    - a 0-d tensor from a loss that does not say: refused with a ``ValueError``. The mean
      and the sum of a batch differ by a factor of ``n``; taking one for the other would
      report a wrong loss and, with ``lk.sgd``, step ``n`` times too far or too short.
    """
    if not isinstance(l, torch.Tensor):
        raise TypeError(f"loss must return a tensor, got {describe(l)}")
    if l.dim() == 0:
        declared = loss_reduction(loss)
        if declared == "none":
            raise ValueError(
                f"loss declares reduction='none' but returned a single number (a 0-d "
                f"tensor); it must return one loss per example, shape ({n},) or ({n}, 1)"
            )
        if declared is None:
            raise ValueError(
                "loss returned a single number (a 0-d tensor), and the loop cannot tell "
                "whether it is the batch's mean or the sum (they differ by the batch size). "
                'Return one loss per example instead: lk.cross_entropy(y_hat, y, '
                'reduction="none") (recommended), or say which it is: pass '
                'functools.partial(lk.cross_entropy, reduction="mean"), a torch.nn loss '
                'such as nn.CrossEntropyLoss(), or set loss.reduction = "mean" (or "sum") on '
                "your function"
            )
        if declared == to:
            return l
        return l * n if to == "sum" else l / n
    if l.shape != (n,) and l.shape != (n, 1):
        hint = "check the shapes of y_hat and y"
        if l.shape == (n, n):
            hint += (f" (a prediction of shape ({n}, 1) against targets of shape ({n},), or "
                     f"the other way round, broadcasts to ({n}, {n}): give y the shape of "
                     f"y_hat)")
        raise ValueError(
            f"loss must return one loss per example, shape ({n},) or ({n}, 1), or a 0-d "
            f"tensor, got shape {tuple(l.shape)}; {hint}"
        )
    return l.sum() if to == "sum" else l.mean()  # (n,) or (n, 1) -> 0-d
