"""Checkers for the metrics (``labkit.metrics``' lesson).

``accuracy(y_hat, y)`` returns the NUMBER of correct predictions (so counts from batches of
different sizes add up): in notebook 02 for binary logits ``(N,)`` (class 1 where the logit
is > 0), in notebook 04 for scores ``(N, C)`` (``argmax(dim=1)``, never a 0.5 threshold
first). ``evaluate_accuracy(net, data_iter)`` returns the fraction correct over every batch,
weighted by batch size, without recording gradients, running an ``nn.Module`` in eval mode
and leaving its mode as it found it.

A wrong ``accuracy`` costs the points of its own cell only. ``evaluate_accuracy`` and
``train_epoch`` (``labkit.check.train``) usually call the notebook's ``accuracy``; when that
one fails ``lk.check.accuracy``, their checkers put a correct one in its place while they
run (``stand_in_accuracy``) and say so in their verdict, so that each is judged on its own
code and a student who fixes ``accuracy`` later keeps the points already earned.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch

from labkit.check._core import (
    Checker,
    Fail,
    describe_value,
    quiet_passes,
    run_checker,
    stand_in,
)

__all__ = ["accuracy", "evaluate_accuracy", "stand_in_accuracy"]

COUNT_FIX = ("return the count, e.g. (y_hat.argmax(dim=1) == y).sum(); the division by the "
             "number of examples happens once, over the whole epoch")
BINARY_COUNT_FIX = ("return the count, e.g. ((y_hat > 0).float() == y).sum(); the division by "
                    "the number of examples happens once, over the whole epoch")
THRESHOLD_FIX = "predict with y_hat.argmax(dim=1) directly"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _as_count(c: Checker, out, n: int, binary: bool) -> float:
    """The student's result as a number, or ``Fail``."""
    fix = BINARY_COUNT_FIX if binary else COUNT_FIX
    if isinstance(out, torch.Tensor):
        if out.numel() != 1:
            raise Fail(f"it returns {describe_value(out)}, not a number",
                       "count the matches with .sum(): " + fix)
        out = out.item()
    if isinstance(out, bool) or not isinstance(out, (int, float)):
        raise Fail(f"it returns {describe_value(out)}, not a number", fix)
    return float(out)


# ---------------------------------------------------------------- the cases


def _binary_case(n: int, seed: int, dtype=torch.float32):
    """Logits (n,) with many in (0, 0.5) (where a 0.5 threshold goes wrong), labels 0./1."""
    g = _gen(seed)
    y = (torch.rand(n, generator=g) < 0.5).float()
    y_hat = torch.randn(n, generator=g, dtype=torch.float64) * 2
    y_hat[: n // 3] = torch.rand(n // 3, generator=g, dtype=torch.float64) * 0.4 + 0.05
    y_hat[y_hat.abs() < 1e-3] = 0.3  # no logit is exactly 0
    return y_hat.to(dtype), y


def _multi_case(n: int, seed: int, probabilities: bool, dtype=torch.float32):
    """Scores (n, 3): logits, or probabilities whose top class is often below 0.5."""
    g = _gen(seed)
    logits = torch.randn(n, 3, generator=g, dtype=torch.float64)
    if probabilities:
        logits = logits * 0.5  # flat rows: top probability mostly below 0.5
    y = torch.randint(0, 3, (n,), generator=g)
    scores = torch.softmax(logits, dim=1) if probabilities else logits * 3
    return scores.to(dtype), y


def _count(y_hat, y, binary: bool) -> int:
    preds = (y_hat > 0).long() if binary else y_hat.argmax(dim=1)
    return int((preds == y.long()).sum())


def _check_count(c: Checker, y_hat, y, binary: bool, what: str) -> None:
    n = y.shape[0]
    got = _as_count(c, c.call(y_hat, y), n, binary)
    want = _count(y_hat.detach(), y, binary)
    if got == want:
        return
    if abs(got - want / n) < 1e-6 and want not in (0, n):
        raise Fail(f"it returns the fraction correct ({got:.4g}) instead of the number "
                   f"({want}) {what}", BINARY_COUNT_FIX if binary else COUNT_FIX)
    if got == n - want:
        raise Fail(f"it counts the wrong predictions ({got:g}) instead of the right ones "
                   f"({want}) {what}", "compare predictions with y: == counts the matches")
    if binary:
        if got == int(((y_hat.detach() > 0.5).float() == y).sum()):
            raise Fail(f"it thresholds the logits at 0.5 {what}",
                       "the logits are > 0 exactly where sigmoid(logit) > 0.5: predict class "
                       "1 where y_hat > 0")
    else:
        if got == int(((y_hat.detach() > 0.5).long().argmax(dim=1) == y).sum()):
            raise Fail(f"the accuracy thresholds at 0.5 before argmax {what}: with three or "
                       f"more classes the top probability is often below 0.5, and every "
                       f"class is then 0", THRESHOLD_FIX)
    raise Fail(f"it counts {got:g} correct predictions where there are {want} {what}",
               "class 1 where the logit is > 0: ((y_hat > 0).float() == y).sum()" if binary
               else "(y_hat.argmax(dim=1) == y).sum()")


# ---------------------------------------------------------------- accuracy


def _acc_number(binary: bool):
    def check(c: Checker) -> None:
        y_hat, y = _binary_case(10, 41) if binary else _multi_case(10, 41, False)
        _as_count(c, c.call(y_hat, y), 10, binary)
    return check


def _acc_counts(binary: bool):
    def check(c: Checker) -> None:
        if binary:
            y_hat, y = _binary_case(30, 42)
            _check_count(c, y_hat, y, True, "for logits (N,) and labels 0./1.")
        else:
            y_hat, y = _multi_case(30, 42, False)
            _check_count(c, y_hat, y, False, "for logits (N, 3)")
    return check


def _acc_probabilities(c: Checker) -> None:
    y_hat, y = _multi_case(40, 43, True)
    _check_count(c, y_hat, y, False, "for probabilities (N, 3) whose top class is often "
                                      "below 0.5")


def _acc_requires_grad(binary: bool):
    def check(c: Checker) -> None:
        y_hat, y = _binary_case(12, 44) if binary else _multi_case(12, 44, False)
        _check_count(c, y_hat.clone().requires_grad_(), y, binary,
                     "for a model's output that requires grad")
    return check


def _acc_large(binary: bool):
    def check(c: Checker) -> None:
        y_hat, y = (_binary_case(1000, 45, torch.float64) if binary
                    else _multi_case(1000, 45, False, torch.float64))
        _check_count(c, y_hat, y, binary, "for a float64 batch of 1000")
    return check


def accuracy(fn, binary: bool = False) -> None:
    """Check the student's ``accuracy(y_hat, y)``: the NUMBER of correct predictions (a
    Python number or a 0-d tensor). ``binary=True``: logits ``(N,)`` and labels 0./1.,
    class 1 where the logit is > 0 (notebook 02); otherwise scores ``(N, C)`` and int64
    labels, ``argmax(dim=1)`` (notebook 04), never thresholding at 0.5 first."""
    if not isinstance(binary, bool):
        raise TypeError(f"binary must be True or False, got {describe_value(binary)}")

    def build() -> Checker:
        c = Checker("accuracy", fn, signature="accuracy(y_hat, y)",
                    unavailable=("labkit.accuracy", "labkit.metrics.accuracy"),
                    elementary_fix=("comparison and .sum(): ((y_hat > 0).float() == y).sum()"
                                    if binary else "(y_hat.argmax(dim=1) == y).sum()"),
                    error_fixes=[(r"Dimension out of range",
                                  "binary logits have one value per example: predict class "
                                  "1 where y_hat > 0 (argmax needs scores (N, C))")]
                    if binary else [
                        (r"must match the size of tensor b|Dimension out of range",
                         "predict with y_hat.argmax(dim=1): one class per row (dim 0 runs "
                         "over the examples)")])
        kind = "binary logits (N,)" if binary else "scores (N, C)"
        c.run(f"returns a number for {kind}", _acc_number(binary), essential=True)
        c.run("counts the correct predictions" + (" (class 1 where the logit > 0)" if binary
                                                  else " (argmax over dim 1)"),
              _acc_counts(binary))
        if not binary:
            c.run("probabilities with the top class below 0.5: no 0.5 threshold",
                  _acc_probabilities)
        c.run("works on a model's output that requires grad", _acc_requires_grad(binary))
        c.run("exact for a float64 batch of 1000", _acc_large(binary))
        c.run("works without lk.accuracy",
              lambda c: c.check_elementary(
                  lambda: _binary_case(10, 46) if binary else _multi_case(10, 46, False)))
        return c
    run_checker(build)


# ---------------------------------------------------------------- evaluate_accuracy


def _eval_batches():
    """Logits batches of sizes 6, 6, 3 with 6, 3 and 0 correct (0.6 overall, 0.5 as an
    unweighted mean of batch accuracies), labels int64."""
    g = _gen(47)
    batches = []
    for size, right in ((6, 6), (6, 3), (3, 0)):
        y = torch.randint(0, 3, (size,), generator=g)
        pred = y.clone()
        pred[right:] = (y[right:] + 1) % 3
        X = torch.randn(size, 3, generator=g) * 0.1
        X[torch.arange(size), pred] += 2.0
        batches.append((X, y))
    return batches


def _recording_net():
    """A scratch model, a plain function ``X @ W`` (W = identity, requires grad), that
    records in ``net.grad_enabled`` whether gradients were on at each call."""
    W = torch.eye(3).requires_grad_()

    def net(X):
        net.grad_enabled.append(torch.is_grad_enabled())
        return X @ W

    net.grad_enabled = []
    return net


class _Module(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.W = torch.nn.Parameter(torch.eye(3))

    def forward(self, X):
        return X @ self.W


class _ModeModule(torch.nn.Module):
    """A model that behaves differently in training mode, as dropout and batch norm do: in
    eval mode it returns its input's logits (0.6 correct on ``_eval_batches``); in training
    mode it shifts every row's scores by one class, so every prediction is wrong. It records
    the mode of every forward pass in ``modes``."""

    def __init__(self) -> None:
        super().__init__()
        self.W = torch.nn.Parameter(torch.eye(3))
        self.modes: list[bool] = []

    def forward(self, X):
        self.modes.append(self.training)
        out = X @ self.W
        return out.roll(1, dims=1) if self.training else out


def _fraction(c: Checker, out, what: str) -> float:
    if isinstance(out, torch.Tensor):
        if out.numel() != 1:
            raise Fail(f"it returns {describe_value(out)} {what}", "return one number: the "
                       "fraction correct")
        out = out.item()
    if isinstance(out, bool) or not isinstance(out, (int, float)):
        raise Fail(f"it returns {describe_value(out)} {what}",
                   "return the fraction correct, a number in [0, 1]")
    return float(out)


STAND_IN_NOTE = (" (checked with a correct accuracy() in place of yours, which fails "
                 "lk.check.accuracy: fix it there, or your training will report wrong "
                 "accuracies)")


def _correct_count(y_hat: torch.Tensor, y: torch.Tensor) -> int:
    """The number of correct predictions: class 1 where a binary logit ``(N,)`` (or
    ``(N, 1)``) is > 0, the argmax of scores ``(N, C)``."""
    with torch.no_grad():
        y_hat = y_hat.detach()
        if y_hat.dim() == 2 and y_hat.shape[1] > 1:
            preds = y_hat.argmax(dim=1)  # (N, C) -> (N,)
        else:
            preds = (y_hat.reshape(-1) > 0).long()  # (N,) logits -> 0/1
        return int((preds == y.detach().reshape(-1).to(preds.dtype)).sum())


def _stand_in_for(helper):
    """A correct ``accuracy(y_hat, y)`` that returns its count in the type the notebook's
    own ``helper`` returns (a tensor, an int or a float), so that the student's code that
    uses it sees what it expects."""
    def accuracy(y_hat, y):
        count = _correct_count(y_hat, y)
        try:
            theirs = helper(y_hat, y)  # only its type is used
        except Exception:
            theirs = None
        if isinstance(theirs, torch.Tensor):
            return torch.tensor(count, dtype=theirs.dtype)
        if isinstance(theirs, int) and not isinstance(theirs, bool):
            return count
        return float(count)  # d2l's type
    return accuracy


@contextlib.contextmanager
def stand_in_accuracy(fn, binary_modes: Sequence[bool]):
    """While the block runs, replace the ``accuracy`` in ``fn``'s module globals (the
    notebook's) by a correct one, if that ``accuracy`` fails ``lk.check.accuracy`` for one
    of ``binary_modes``; restored afterwards. Yields ``True`` when it replaced one.

    Why: ``evaluate_accuracy`` and ``train_epoch`` call the notebook's ``accuracy``, so a
    bug there would otherwise fail their checks too, and cost the points of their cells as
    well as its own. A correct ``accuracy`` is left in place (the student's code runs as it
    will in the notebook)."""
    with stand_in(fn, "accuracy",
                  lambda helper: all(quiet_passes(accuracy, helper, binary=b)
                                     for b in binary_modes),
                  _stand_in_for) as replaced:
        yield replaced


WEIGHTED_FIX = ("add up the correct counts and the numbers of examples over all batches "
                "(metric = lk.Accumulator(2); metric.add(accuracy(net(X), y), y.numel())) "
                "and divide once at the end: metric[0] / metric[1]")


def _eval_weighted(c: Checker) -> None:
    net = _recording_net()
    got = _fraction(c, c.call(net, _eval_batches()), "")
    want = 9 / 15
    if abs(got - want) < 1e-9:
        return
    for value, problem, fix in [
            (0.5, "it averages the batch accuracies unweighted: the last, smaller batch "
             "counts as much as a full one", WEIGHTED_FIX),
            (9.0, "it returns the number correct (9) instead of the fraction",
             "divide the summed count by the number of examples: " + WEIGHTED_FIX),
            (0.0, "it only counts the last batch", "accumulate over every batch: "
             + WEIGHTED_FIX),
            (1.0, "it returns after the first batch (is the return inside the loop?)",
             "return after the loop: " + WEIGHTED_FIX)]:
        if abs(got - value) < 1e-9:
            raise Fail(problem, fix)
    raise Fail(f"it returns {got:.4g} where 9 of 15 examples (0.6) are right", WEIGHTED_FIX)


def _eval_no_grad(c: Checker) -> None:
    net = _recording_net()
    c.call(net, _eval_batches())
    if any(net.grad_enabled):
        raise Fail("the model runs with gradients on: the pass records a graph it never "
                   "uses", "wrap the loop in `with torch.no_grad():`")


def _eval_module_mode(c: Checker) -> None:
    for start in (True, False):
        net = _Module()
        net.train(start)
        got = _fraction(c, c.call(net, _eval_batches()), "for an nn.Module")
        if abs(got - 0.6) > 1e-9:
            raise Fail(f"for an nn.Module it returns {got:.4g} where 0.6 is right",
                       WEIGHTED_FIX)
        if net.training != start:
            found = "training" if start else "eval"
            left = "eval" if start else "training"
            raise Fail(f"it leaves a model found in {found} mode in {left} mode",
                       "remember the mode and restore it: was_training = net.training; "
                       "net.eval(); ...; net.train(was_training)")


EVAL_MODE_FIX = ("put the model in evaluation mode for the pass and hand it back as you "
                 "found it: was_training = net.training; net.eval(); ...; "
                 "net.train(was_training)")


def _eval_in_eval_mode(c: Checker) -> None:
    for start in (True, False):
        net = _ModeModule()
        net.train(start)
        got = _fraction(c, c.call(net, _eval_batches()), "for an nn.Module")
        if any(net.modes):
            how = ("a model found in training mode is not switched to eval mode" if start
                   else "it switches a model found in eval mode to training mode")
            raise Fail(f"it evaluates an nn.Module in training mode ({how}): a model that "
                       f"behaves differently in training mode (dropout, batch norm; here one "
                       f"that shifts its scores) gets {got:.4g} where 0.6 is right",
                       EVAL_MODE_FIX)


def _eval_loader(c: Checker) -> None:
    batches = _eval_batches()
    X = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=6)
    got = _fraction(c, c.call(_recording_net(), loader), "for a DataLoader")
    if abs(got - 0.6) > 1e-9:
        raise Fail(f"for a DataLoader with batches of 6, 6 and 3 it returns {got:.4g} where "
                   f"0.6 is right", WEIGHTED_FIX)


def evaluate_accuracy(fn) -> None:
    """Check the student's ``evaluate_accuracy(net, data_iter)``: the fraction correct over
    every batch, weighted by batch size (a partial last batch), for a scratch model (a plain
    function) and an ``nn.Module``, with gradients off, the module in eval mode during the
    pass and its mode restored afterwards.

    If the notebook's ``accuracy`` fails ``lk.check.accuracy``, a correct one stands in for
    it during the check (``stand_in_accuracy``): its bug costs its own cell, not this one."""

    def build(replaced: bool) -> Checker:
        c = Checker("evaluate_accuracy", fn, signature="evaluate_accuracy(net, data_iter)",
                    unavailable=("labkit.evaluate_accuracy", "labkit.metrics.evaluate_accuracy",
                                 "labkit.evaluate", "labkit.metrics.evaluate"),
                    elementary_fix="a loop over the batches, your accuracy() and "
                                   "lk.Accumulator",
                    error_fixes=[(r"has no attribute 'eval'|has no attribute 'train'",
                                  "net may be a plain function (the scratch model): only call "
                                  "net.eval() if isinstance(net, torch.nn.Module)")])
        c.run("returns a number for a scratch model", lambda c: _fraction(
            c, c.call(_recording_net(), _eval_batches()), ""), essential=True)
        c.run("the fraction correct over every batch, weighted by batch size",
              _eval_weighted)
        c.run("no gradients recorded", _eval_no_grad)
        c.run("an nn.Module is evaluated and left in the mode it was in", _eval_module_mode)
        c.run("an nn.Module runs in eval mode during the pass (net.eval())",
              _eval_in_eval_mode)
        c.run("works on a DataLoader", _eval_loader)
        c.run("works without lk.evaluate_accuracy",
              lambda c: c.check_elementary(lambda: (_recording_net(), _eval_batches())))
        c.note = STAND_IN_NOTE if replaced else ""
        return c
    with stand_in_accuracy(fn, [False]) as replaced:
        run_checker(lambda: build(replaced))
