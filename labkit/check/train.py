"""Checker for one training epoch (``labkit.train``'s lesson).

Notebooks 02 and 04 have the student write ``train_epoch(net, train_iter, loss, updater)``:
for each batch ``y_hat = net(X)``, ``l = loss(y_hat, y)`` (one loss per example),
``l.sum().backward()``, ``updater(batch_size)``; it returns the mean loss per example and
the accuracy (a fraction) over the epoch, each batch measured before its update.

The checker hands the function a small scratch model, a per-example loss and an updater
that records what it is called with, and recomputes every number from the states the
model actually went through, so one mistake is reported once, where it is made.

The same holds across cells: if the notebook's ``accuracy`` (which ``train_epoch`` usually
calls) fails ``lk.check.accuracy``, a correct one stands in for it while this checker runs
(``labkit.check.metrics.stand_in_accuracy``), so that its bug costs the points of its own
cell and not this one's; the verdict says so.
"""

from __future__ import annotations

import contextlib
import io

import torch
import torch.nn.functional as F

from labkit.check._core import Checker, Fail, describe_value, run_checker
from labkit.check.metrics import STAND_IN_NOTE, stand_in_accuracy

__all__ = ["train_epoch"]

LR = 0.5
BATCH_SIZES = (8, 8, 8, 5)
LOOP = ("for X, y in train_iter: y_hat = net(X); l = loss(y_hat, y); l.sum().backward(); "
        "updater(X.shape[0])")


class _Setup:
    """A scratch model, its batches, loss and recording updater, for one kind of task."""

    def __init__(self, binary: bool, seed: int) -> None:
        self.binary = binary
        g = torch.Generator().manual_seed(seed)
        n, d, k = sum(BATCH_SIZES), 2, 3
        X = torch.randn(n, d, generator=g)
        if binary:
            y = ((X @ torch.tensor([1.5, -2.0]) + 0.3 + 0.8 * torch.randn(n, generator=g))
                 > 0).float()
            self.params = [(torch.randn(d, generator=g) * 0.1).requires_grad_(),
                           torch.zeros(()).requires_grad_()]
        else:
            true_W = torch.randn(d, k, generator=g) * 2
            y = (X @ true_W + torch.randn(n, k, generator=g)).argmax(dim=1)
            self.params = [(torch.randn(d, k, generator=g) * 0.1).requires_grad_(),
                           torch.zeros(k).requires_grad_()]
        bounds = torch.cumsum(torch.tensor((0,) + BATCH_SIZES), 0).tolist()
        self.batches = [(X[a:b], y[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
        self.outputs: list[torch.Tensor] = []  # what net returned, to check loss's arguments
        self.seen: list[dict] = []  # per updater call

    def forward(self, X, params=None):
        W, b = params or self.params
        return X @ W + b

    def per_example_loss(self, y_hat, y):
        if self.binary:
            return F.binary_cross_entropy_with_logits(y_hat, y, reduction="none")
        return F.cross_entropy(y_hat, y, reduction="none")

    def correct(self, y_hat, y) -> int:
        preds = (y_hat > 0).float() if self.binary else y_hat.argmax(dim=1)
        return int((preds == y).sum())

    # -- what the student's function receives

    def net(self, X):
        out = self.forward(X)
        self.outputs.append(out)
        return out

    def loss(self, y_hat, y):
        if not any(y_hat is o for o in self.outputs):
            if isinstance(y, torch.Tensor) and any(y is o for o in self.outputs):
                raise Fail("it calls loss(y, y_hat): the arguments are swapped",
                           "the prediction comes first: l = loss(y_hat, y)")
        return self.per_example_loss(y_hat, y)

    def updater(self, batch_size):
        """Record the batch size, the gradients and the batch's loss and accuracy at the
        current parameters (before the update), then update like ``lk.sgd``."""
        k = len(self.seen)
        X, y = self.batches[min(k, len(self.batches) - 1)]
        with torch.enable_grad():
            params = [p.detach().clone().requires_grad_() for p in self.params]
            y_hat = self.forward(X, params)
            l = self.per_example_loss(y_hat, y)
            ref_grads = torch.autograd.grad(l.sum(), params)
        record = {
            "batch_size": batch_size,
            "grads": [None if p.grad is None else p.grad.detach().clone()
                      for p in self.params],
            "ref_grads": [g.detach() for g in ref_grads],
            "loss_sum": float(l.sum()),
            "correct": self.correct(y_hat.detach(), y),
            "n": len(y),
        }
        try:
            size = float(batch_size)
        except (TypeError, ValueError):
            size = 0.0
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None and size > 0:
                    p -= LR * p.grad / size
                    p.grad.zero_()
            after = self.forward(X)
            record["loss_sum_after"] = float(self.per_example_loss(after, y).sum())
            record["correct_after"] = self.correct(after, y)
        self.seen.append(record)


def _run(c: Checker, binary: bool) -> tuple[_Setup, float, float]:
    s = _Setup(binary, seed=51 if binary else 52)
    out = c.call(s.net, list(s.batches), s.loss, s.updater)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise Fail(f"it returns {describe_value(out)}",
                   "return the pair (mean loss per example, accuracy) after the loop")
    values = []
    for name, v in zip(("the mean loss", "the accuracy"), out):
        try:
            values.append(float(v))
        except (TypeError, ValueError, RuntimeError):
            raise Fail(f"{name} is {describe_value(v)}, not a number",
                       "return Python numbers, e.g. metric[0] / metric[2]") from None
    return s, values[0], values[1]


class _Mode:
    """The checks for one kind of task, sharing one run of the student's function."""

    def __init__(self, binary: bool) -> None:
        self.binary = binary
        self._result = None

    def result(self, c: Checker):
        if self._result is None:
            self._result = _run(c, self.binary)
        return self._result

    def returns(self, c: Checker) -> None:
        self.result(c)

    def updater_calls(self, c: Checker) -> None:
        s, _, _ = self.result(c)
        sizes = [r["batch_size"] for r in s.seen]
        want = list(BATCH_SIZES)
        if not sizes:
            raise Fail("it never calls updater", "call updater(X.shape[0]) after "
                       "l.sum().backward(), for every batch: " + LOOP)
        if len(sizes) != len(want):
            raise Fail(f"it calls updater {len(sizes)} times for {len(want)} batches",
                       "one update per batch: " + LOOP)
        try:
            sizes = [int(v) for v in sizes]
        except (TypeError, ValueError, RuntimeError):
            raise Fail(f"updater gets {sizes}, not batch sizes",
                       "pass each batch's size: updater(X.shape[0])") from None
        if sizes != want:
            raise Fail(f"updater gets the batch sizes {sizes} for batches of {want}",
                       "pass each batch's own size (the last one is smaller): "
                       "updater(X.shape[0])")

    def gradients(self, c: Checker) -> None:
        s, _, _ = self.result(c)
        if not s.seen:
            raise Fail("there is no update to look at (updater is never called)", LOOP)
        for k, r in enumerate(s.seen):
            if any(g is None for g in r["grads"]) or all(
                    bool((g == 0).all()) for g in r["grads"]):
                raise Fail(f"at update {k + 1} the parameters have no gradient",
                           "call l.sum().backward() before updater(...): " + LOOP)
            got = torch.cat([g.reshape(-1) for g in r["grads"]])
            want = torch.cat([g.reshape(-1) for g in r["ref_grads"]])
            if torch.allclose(got, want, rtol=1e-4, atol=1e-6):
                continue
            ratio = float(got @ want / (want @ want))
            if torch.allclose(got, ratio * want, rtol=1e-4, atol=1e-6):
                if abs(ratio - 1 / r["n"]) < 1e-4:
                    raise Fail("the loss is divided by the batch size twice: backward() "
                               "runs on the mean loss, and the updater divides by the batch "
                               "size again", "call l.sum().backward(); the updater divides")
                if abs(ratio - round(ratio)) < 1e-4 and ratio > 1:
                    raise Fail(f"at update {k + 1} the gradient is {round(ratio)} times that "
                               f"of the summed loss: backward() runs more than once per "
                               f"batch", "one l.sum().backward() per batch: " + LOOP)
            raise Fail(f"at update {k + 1} the gradient is not that of this batch's summed "
                       f"loss", LOOP)

    def mean_loss(self, c: Checker) -> None:
        s, loss, _ = self.result(c)
        self._compare(s, loss, "loss_sum", "loss_sum_after", "the mean loss",
                      "record float(l.sum()) and the batch size before updater(...), and "
                      "return their sums' ratio (lk.Accumulator(3))")

    def accuracy(self, c: Checker) -> None:
        s, _, acc = self.result(c)
        self._compare(s, acc, "correct", "correct_after", "the accuracy",
                      "add accuracy(y_hat, y), a count, for each batch before "
                      "updater(...), and divide the total by the number of examples")

    def _compare(self, s: _Setup, got: float, key: str, key_after: str, what: str,
                 fix: str) -> None:
        if len(s.seen) != len(BATCH_SIZES):
            raise Fail(f"{what} cannot be right: updater ran {len(s.seen)} times for "
                       f"{len(BATCH_SIZES)} batches", LOOP)
        n = sum(r["n"] for r in s.seen)
        total = sum(r[key] for r in s.seen)
        want = total / n
        if abs(got - want) <= 1e-5 * max(1.0, abs(want)):
            return
        batch_means = [r[key] / r["n"] for r in s.seen]
        summed = (f"it returns the summed loss ({got:.4g}) instead of the mean per example"
                  if key == "loss_sum" else
                  f"it returns the number correct ({got:.4g}) instead of the fraction")
        candidates = [
            (total, summed, "divide the epoch's sum by the number of examples"),
            (sum(batch_means) / len(batch_means), f"{what} is the unweighted mean of the "
             f"batch means: the last, smaller batch counts as much as a full one",
             "add up the sums and the numbers of examples, divide once at the end"),
            (sum(r[key_after] for r in s.seen) / n, f"{what} is measured after each update",
             "measure each batch before its update, from the y_hat and l used for backward"),
            (batch_means[-1], f"{what} comes from the last batch only",
             "accumulate over every batch"),
            (total / n / (n / len(s.seen)), f"{what} is divided by the batch size twice",
             "divide the epoch's sum by the number of examples, once"),
        ]
        for value, problem, cand_fix in candidates:
            if abs(got - value) <= 1e-5 * max(1.0, abs(value)):
                raise Fail(problem, cand_fix)
        raise Fail(f"{what} is {got:.4g} where {want:.4g} is right", fix)


def _modes(fn, binary: bool | None) -> list[bool]:
    """Which tasks to check: ``binary`` if given; else whatever the notebook's own
    ``accuracy`` (which the function probably calls) handles: binary logits in notebook 02,
    scores (N, C) in notebook 04."""
    if binary is not None:
        return [binary]
    helper = getattr(fn, "__globals__", {}).get("accuracy")
    if not callable(helper):
        return [True, False]
    probes = {
        True: (torch.tensor([2.0, -1.0, 0.3, -0.2]), torch.tensor([1.0, 0.0, 0.0, 0.0]), 3),
        False: (torch.tensor([[2.0, 0.0, 1.0], [0.0, 1.0, 3.0], [1.0, 2.0, 0.0],
                              [0.0, 0.0, 1.0]]), torch.tensor([0, 2, 0, 1]), 2),
    }
    runs, right = [], []
    for mode, (y_hat, y, want) in probes.items():
        try:
            with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
                got = helper(y_hat, y)
            runs.append(mode)
            if float(got) == want:
                right.append(mode)
        except Exception:
            pass
    if right:
        return right
    return runs if len(runs) == 1 else [True, False]


def train_epoch(fn, binary: bool | None = None) -> None:
    """Check the student's ``train_epoch(net, train_iter, loss, updater)``: one pass over
    ``train_iter``, ``l.sum().backward()`` and ``updater(batch_size)`` per batch, returning
    ``(mean loss per example, accuracy fraction)`` measured before each update.

    ``binary``: check with a binary task (logits ``(N,)``, labels 0./1., notebook 02) or a
    multi-class one (logits ``(N, C)``, notebook 04); by default, whichever the notebook's
    own ``accuracy`` handles (both for labkit's).

    If the notebook's ``accuracy`` fails ``lk.check.accuracy`` for those tasks, a correct
    one stands in for it during the check: its bug costs its own cell, not this one."""
    if binary is not None and not isinstance(binary, bool):
        raise TypeError(f"binary must be True, False or None, got {describe_value(binary)}")
    modes = _modes(fn, binary)  # from the notebook's own accuracy, before any stand-in

    def build(replaced: bool) -> Checker:
        c = Checker("train_epoch", fn, signature="train_epoch(net, train_iter, loss, updater)",
                    unavailable=("labkit.train_epoch", "labkit.train.train_epoch",
                                 "labkit.train", "labkit.train.train"),
                    elementary_fix=LOOP,
                    error_fixes=[(r"grad can be implicitly created only for scalar outputs",
                                  "loss returns one value per example: call "
                                  "l.sum().backward()"),
                                 (r"has no attribute 'train'|has no attribute 'eval'",
                                  "net may be a plain function (the scratch model): only "
                                  "call net.train() if isinstance(net, torch.nn.Module)")])
        for mode in modes:
            m = _Mode(mode)
            task = "binary" if mode else "multi-class"
            c.run(f"{task}: returns (mean loss, accuracy) as two numbers", m.returns,
                  essential=True)
            c.run(f"{task}: updater(batch_size) once per batch, with that batch's size",
                  m.updater_calls)
            c.run(f"{task}: the gradient at each update is that of l.sum()", m.gradients)
            c.run(f"{task}: the mean loss per example, measured before each update",
                  m.mean_loss)
            c.run(f"{task}: the accuracy as a fraction of the epoch's examples", m.accuracy)
        c.run("works without lk.train_epoch", lambda c: c.check_elementary(
            lambda: _elementary_args(modes[0])))
        c.note = STAND_IN_NOTE if replaced else ""
        return c
    with stand_in_accuracy(fn, modes) as replaced:
        run_checker(lambda: build(replaced))


def _elementary_args(binary: bool):
    s = _Setup(binary, seed=53)
    return s.net, list(s.batches), s.loss, s.updater
