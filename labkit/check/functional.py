"""Checkers for the from-scratch activations and losses (``labkit.functional``'s lesson).

Notebook 02 has the student write ``sigmoid``, ``binary_cross_entropy`` and
``binary_cross_entropy_with_logits``; notebook 04 ``softmax``, ``log_softmax`` and
``cross_entropy``. Each checker compares the student's function with PyTorch's in float64
(values, and gradients as vector-Jacobian products with a fixed random upstream gradient),
tries extreme inputs (+-100, +-1e4) in float64 and float32, checks properties (range,
symmetry, rows summing to 1, shift invariance), that the input is left unchanged, that a
loss rejects an unknown ``reduction`` with a ``ValueError`` naming it (as the notebooks ask,
and as PyTorch does), and that the function still works when PyTorch's and labkit's own
version are unavailable. A gradient that is wrong only at 0 is blamed on the operation with a
kink that the student's graph holds (``x.abs()``, ``clamp``, ``relu``, ``torch.maximum``), read
from autograd, never guessed.

Tolerances: float64 values and gradients within ``rtol=1e-6, atol=1e-10`` (a correct
formula differs from PyTorch by rounding, ~1e-15); float32 within ``rtol=1e-4, atol=1e-5``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from labkit.check._core import (
    Checker,
    Fail,
    _StudentError,
    describe_value,
    expect_tensor,
    first_mismatch,
    fmt,
    kinked_operations,
    leaves_for,
    run_checker,
    torch_vjp,
    upstream,
    vjp,
)

__all__ = [
    "sigmoid",
    "softmax",
    "log_softmax",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
]

F64, F32 = torch.float64, torch.float32
TOL = {F64: (1e-6, 1e-10), F32: (1e-4, 1e-5)}
REDUCTIONS = ("mean", "sum", "none")

INPLACE_FIX = ("compute new tensors (X = X - m, not X -= m or X.sub_(m)) so the caller's "
               "tensor is left alone")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed: int, scale: float = 1.0, dtype=F64) -> torch.Tensor:
    return (torch.randn(tuple(shape), generator=_gen(seed), dtype=F64) * scale).to(dtype)


def _tol(dtype, *inputs: torch.Tensor) -> tuple[float, float]:
    """(rtol, atol) for ``dtype``; atol grows with the inputs' magnitude: a correct formula
    may subtract two numbers near 1e4, which in float32 are only exact to ~1e-3."""
    rtol, atol = TOL[dtype]
    scale = max([float(x.detach().abs().max()) for x in inputs if x.numel()] + [0.0])
    return rtol, atol + 8 * torch.finfo(dtype).eps * scale


def _compare(out, ref, dtype, what: str, at: str, fix: str | None) -> None:
    """``Fail`` at the first entry where ``out`` differs from the reference ``ref``."""
    rtol, atol = TOL[dtype]
    i = first_mismatch(out, ref, rtol, atol)
    if i is not None:
        got, want = out.detach().reshape(-1)[i], ref.reshape(-1)[i]
        raise Fail(f"{what} {fmt(got)} {at(i) if callable(at) else at}; PyTorch gives "
                   f"{fmt(want)}", fix)


def _unchanged(c: Checker, args: tuple, kwargs: dict | None = None, *,
               names: tuple[str, ...] = ("input",)) -> None:
    copies = [a.clone() for a in args]
    c.call(*args, **(kwargs or {}))
    for name, a, before in zip(names, args, copies):
        if not torch.equal(a, before):
            raise Fail(f"it changes its argument {name} in place", INPLACE_FIX)


# ====================================================================== sigmoid

SIGMOID_UNAVAILABLE = (
    "torch.sigmoid", "torch.sigmoid_", "torch.Tensor.sigmoid", "torch.Tensor.sigmoid_",
    "torch.special.expit", "torch.nn.functional.sigmoid",
    "labkit.sigmoid", "labkit.functional.sigmoid",
)
SIGMOID_EXTREMES = [-1e4, -100.0, -30.0, -1.0, 0.0, 0.5, 1.0, 30.0, 100.0, 1e4]
STABLE_SIGMOID = ("let every exp see only numbers <= 0: with "
                  "e = torch.exp(torch.where(x >= 0, -x, x)), sigmoid(x) = 1 / (1 + e) for "
                  "x >= 0 and e / (1 + e) for x < 0 (torch.where picks)")
SIGMOID_KINK_FIX = ("build the exponent with torch.where instead: "
                    "e = torch.exp(torch.where(x >= 0, -x, x)) equals exp(-|x|) and never "
                    "overflows, and at x = 0 torch.where takes the smooth branch -x, whose "
                    "slope is right; then torch.where(x >= 0, 1 / (1 + e), e / (1 + e))")


def _kink_cause(out, what: str) -> str:
    """Why a formula with the right values has a wrong gradient at 0: the operations with
    a kink that it used (read from its autograd graph), or, when there is none, the symptom
    without a guess. ``what``: the function's name, for the symptom."""
    kinks = kinked_operations(out)
    if not kinks:
        return (f"autograd differentiates the formula as you wrote it, and at 0 that formula "
                f"does not have the slope of {what} (a piece that is constant there, or that "
                f"has a kink there, passes a wrong gradient)")
    split = "torch.maximum / torch.minimum" in kinks
    zero = [k for k in kinks if k != "torch.maximum / torch.minimum"]
    how = []
    if zero:
        how.append(f"the derivative of {' and '.join(zero)} at its kink counts as 0")
    if split:
        how.append("torch.maximum / torch.minimum split the derivative in half at a tie")
    return (f"your function uses {' and '.join(kinks)}, with a kink at 0: "
            f"{'; '.join(how)}, so the gradient through it is wrong exactly there")


def _sigmoid_shapes(c: Checker) -> None:
    for shape, dtype in [((3, 4), F64), ((5,), F32), ((), F32), ((2, 3, 2), F64)]:
        x = _randn(*shape, seed=1, scale=3, dtype=dtype)
        out = c.call(x)
        expect_tensor(out, shape=x.shape, dtype=dtype,
                      context=f"for an input of shape {tuple(shape)} and dtype {dtype}",
                      shape_fix="apply the formula elementwise: no sum, mean or reshape")


def _sigmoid_values(c: Checker) -> None:
    x = _randn(6, 5, seed=2, scale=8)
    out = expect_tensor(c.call(x), shape=x.shape)
    ref = torch.sigmoid(x)
    if first_mismatch(out, torch.sigmoid(-x), *TOL[F64]) is None:
        raise Fail("it computes sigmoid(-x): the sign of x is flipped",
                   "sigmoid(x) = 1 / (1 + exp(-x))")
    _compare(out, ref, F64, "it returns", lambda i: f"at x = {fmt(x.reshape(-1)[i])}",
             "sigmoid(x) = 1 / (1 + exp(-x))")


def _sigmoid_gradient(c: Checker) -> None:
    x = _randn(6, 5, seed=3, scale=8)
    (leaf,) = leaves_for([x], [0])
    (g,) = vjp(c, c.call(leaf), [leaf])
    _, (ref,) = torch_vjp(torch.sigmoid, [x], [0])
    _compare(g, ref, F64, "its gradient is", lambda i: f"at x = {fmt(x.reshape(-1)[i])}",
             "keep every step a differentiable torch operation on the input")


def _sigmoid_extremes(dtype):
    def check(c: Checker) -> None:
        x = torch.tensor(SIGMOID_EXTREMES, dtype=dtype)
        (leaf,) = leaves_for([x], [0])
        out = expect_tensor(c.call(leaf), shape=x.shape)
        ref, (ref_g,) = torch_vjp(torch.sigmoid, [x], [0])
        rtol, atol = TOL[dtype]
        i = first_mismatch(out, ref, rtol, atol)
        if i is not None:
            xi, v = x[i].item(), out.detach()[i]
            if not torch.isfinite(v):
                if xi > 0:
                    fix = ("exp(x) overflows to inf for large x (inf / inf = nan); for "
                           "x >= 0 use 1 / (1 + exp(-x)), whose exp only sees numbers <= 0")
                else:
                    fix = ("exp(-x) overflows to inf for large negative x; for x < 0 use "
                           "the equal exp(x) / (1 + exp(x)), whose exp only sees numbers <= 0")
                raise Fail(f"it returns {fmt(v)} at x = {fmt(xi)} ({dtype})", fix)
            raise Fail(f"it returns {fmt(v)} at x = {fmt(xi)} ({dtype}); torch.sigmoid "
                       f"gives {fmt(ref[i])}", STABLE_SIGMOID)
        (g,) = vjp(c, out, [leaf])
        i = first_mismatch(g, ref_g, rtol, atol)
        if i is not None:
            xi, gi = x[i].item(), g[i]
            if xi == 0 and torch.isfinite(gi):
                raise Fail(f"the gradient at x = 0 is {fmt(gi)} where it is 0.25 ({dtype}), "
                           f"although the value there is right: "
                           f"{_kink_cause(out, 'sigmoid')} (a model whose logits start at "
                           f"exactly 0 would take a wrong first step)",
                           SIGMOID_KINK_FIX)
            raise Fail(
                f"the value is right but the gradient is {fmt(gi)} at x = {fmt(xi)} "
                f"({dtype}; PyTorch gives {fmt(ref_g[i])}): an exp overflows, maybe in the "
                f"branch torch.where does not pick (its gradient is still computed, and "
                f"0 * inf = nan)", STABLE_SIGMOID)
    return check


def _sigmoid_properties(c: Checker) -> None:
    x = _randn(40, seed=4, scale=20)
    out = expect_tensor(c.call(x), shape=x.shape)
    if not bool(((out >= 0) & (out <= 1)).all()):
        bad = out[~((out >= 0) & (out <= 1))][0]
        raise Fail(f"it returns {fmt(bad)}, outside [0, 1]", "sigmoid(x) = 1 / (1 + exp(-x))")
    mirror = expect_tensor(c.call(-x), shape=x.shape)
    i = first_mismatch(mirror, 1 - out.detach(), 0, 1e-12)
    if i is not None:
        raise Fail(f"sigmoid(-x) != 1 - sigmoid(x) at x = {fmt(x[i])}",
                   "sigmoid(x) = 1 / (1 + exp(-x))")


def sigmoid(fn) -> None:
    """Check the student's ``sigmoid(input)``: elementwise ``1 / (1 + exp(-x))``, equal to
    ``torch.sigmoid`` (values and gradients), finite with finite gradients at +-100 and
    +-1e4 in float32 and float64, built without ``torch.sigmoid`` and its aliases."""
    def build() -> Checker:
        c = Checker("sigmoid", fn, signature="sigmoid(input)",
                    unavailable=SIGMOID_UNAVAILABLE,
                    elementary_fix="torch.exp, arithmetic and torch.where")
        c.run("returns a tensor of the input's shape and dtype", _sigmoid_shapes,
              essential=True)
        c.run("values equal torch.sigmoid (float64, random x)", _sigmoid_values)
        c.run("gradient equals torch.sigmoid's (float64)", _sigmoid_gradient)
        c.run("finite values and gradients at +-100 and +-1e4 (float64)",
              _sigmoid_extremes(F64))
        c.run("finite values and gradients at +-100 and +-1e4 (float32)",
              _sigmoid_extremes(F32))
        c.run("values in [0, 1] and sigmoid(-x) = 1 - sigmoid(x)", _sigmoid_properties)
        c.run("leaves its input unchanged", lambda c: _unchanged(c, (_randn(5, seed=5),)))
        c.run("works without torch.sigmoid / lk.sigmoid (elementary operations)",
              lambda c: c.check_elementary(lambda: (_randn(4, 3, seed=6, scale=5),)))
        return c
    run_checker(build)


# ====================================================================== softmax family

SOFTMAX_FAMILY = (
    "torch.softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax",
    "torch.special.softmax", "torch.log_softmax", "torch.Tensor.log_softmax",
    "torch.nn.functional.log_softmax", "torch.special.log_softmax",
    "torch.nn.functional.softmin",
    "labkit.softmax", "labkit.functional.softmax",
    "labkit.log_softmax", "labkit.functional.log_softmax",
)
LOGSUMEXP = ("torch.logsumexp", "torch.Tensor.logsumexp", "torch.special.logsumexp")

ROW_MAX_FIX = ("subtract each row's maximum before exp: m = X.max(dim=1, keepdim=True).values; "
               "softmax(X - m) = softmax(X), and then every exponent is <= 0")
LSE_FIX = ("compute it as (X - m) - log(exp(X - m).sum(dim=1, keepdim=True)) with "
           "m = X.max(dim=1, keepdim=True).values (the log-sum-exp trick)")


def _extreme_logits(dtype) -> torch.Tensor:
    """Rows of logits at +-100 and +-1e4, at very different offsets."""
    return torch.tensor([
        [1e4, -1e4, 0.0, 5.0],
        [100.0, -100.0, 3.0, 0.0],
        [-1e4, -1e4 + 1, -1e4 + 2, -1e4 + 3],
        [1e4, 1e4 - 1, 1e4 - 2, 1e4],
        [0.5, -0.5, 1.0, 0.0],
    ], dtype=dtype)


class _RowWise:
    """What differs between softmax and log_softmax."""

    def __init__(self, name: str, ref, log: bool) -> None:
        self.name, self.ref, self.log = name, ref, log

    def candidates(self, X: torch.Tensor) -> list[tuple[torch.Tensor, str, str]]:
        """Wrong outputs students produce, with the problem and the fix."""
        e = torch.exp(X)
        shifted = torch.exp(X - X.max(dim=1, keepdim=True).values)
        keep = ("exp(X).sum(dim=1, keepdim=True) has shape (N, 1) and divides each row by "
                "its own sum")
        square = X.shape[0] == X.shape[1]  # only then does a missing keepdim broadcast
        if self.log:
            return [
                (torch.log_softmax(X, dim=0), "it normalizes each column (dim=0)",
                 "normalize over the classes: sum over dim=1 with keepdim=True"),
                (X - torch.logsumexp(X.reshape(-1), 0),
                 "it normalizes over the whole matrix", "sum each row: dim=1, keepdim=True"),
                (torch.softmax(X, dim=1), "it returns softmax, not its logarithm",
                 LSE_FIX),
            ] + ([(X - torch.logsumexp(X, dim=1).unsqueeze(0), "row i's log-sum-exp is "
                   "subtracted from column i (the row sums lack keepdim=True)", keep)]
                 if square else [])
        return [
            (torch.softmax(X, dim=0), "it normalizes each column (dim=0)",
             "normalize over the classes: exp(X).sum(dim=1, keepdim=True)"),
            (e / e.sum(), "it divides by the sum of the whole matrix",
             "divide each row by its own sum: exp(X).sum(dim=1, keepdim=True)"),
            (shifted / shifted.sum(), "it divides by the sum of the whole matrix",
             "divide each row by its own sum: exp(X).sum(dim=1, keepdim=True)"),
            (torch.log_softmax(X, dim=1), "it returns log_softmax, not softmax",
             "softmax(X) = exp(X) / exp(X).sum(dim=1, keepdim=True)"),
        ] + ([(e / e.sum(dim=1).unsqueeze(0), "it divides column j by the sum of row j (the "
               "row sums lack keepdim=True)", keep)] if square else [])


def _rowwise_shapes(rw: _RowWise):
    def check(c: Checker) -> None:
        for shape, dtype in [((4, 5), F64), ((3, 7), F32), ((1, 3), F64)]:
            X = _randn(*shape, seed=11, scale=2, dtype=dtype)
            expect_tensor(c.call(X), shape=shape, dtype=dtype,
                          context=f"for logits of shape {shape} and dtype {dtype}",
                          shape_fix="keep one row per example and one column per class")
    return check


def _rowwise_values(rw: _RowWise):
    def check(c: Checker) -> None:
        for shape in [(4, 5), (4, 4)]:  # a square batch shows a missing keepdim
            X = _randn(*shape, seed=12, scale=2)
            out = expect_tensor(c.call(X), shape=shape)
            ref = rw.ref(X)
            if first_mismatch(out, ref, *TOL[F64]) is None:
                continue
            for wrong, problem, fix in rw.candidates(X):
                if first_mismatch(out, wrong, *TOL[F64]) is None:
                    raise Fail(problem, fix)
            _compare(out, ref, F64, "it returns",
                     lambda i, s=shape: f"at entry {divmod(i, s[1])} of random logits",
                     None)
    return check


def _rowwise_gradient(rw: _RowWise):
    def check(c: Checker) -> None:
        X = _randn(4, 5, seed=13, scale=2)
        (leaf,) = leaves_for([X], [0])
        (g,) = vjp(c, c.call(leaf), [leaf])
        _, (ref,) = torch_vjp(rw.ref, [X], [0])
        _compare(g, ref, F64, "its gradient is", lambda i: f"at entry {divmod(i, 5)}",
                 "keep every step a differentiable torch operation on X (the row maximum "
                 "may be detached: it does not change the result)")
    return check


def _nonfinite_fix(c: Checker, rw: _RowWise, X: torch.Tensor) -> str:
    """Why a row-wise function gave nan/inf on ``X``: a maximum shared by the whole batch,
    exp overflowing (no maximum subtracted), or log(softmax) underflowing."""
    def finite(rows) -> bool:
        try:
            out = c.call(rows)
        except Exception:
            return False
        return isinstance(out, torch.Tensor) and bool(torch.isfinite(out).all())

    if X.shape[0] > 1 and all(finite(X[r:r + 1]) for r in range(X.shape[0])):
        return ("it subtracts one maximum for the whole batch, so a row far below it "
                "underflows to 0 / 0 = nan; subtract each row's own maximum: "
                "X.max(dim=1, keepdim=True).values")
    if not finite(torch.tensor([[1000.0, 999.0, 998.0]], dtype=X.dtype)):
        if rw.log:
            return "exp overflows for logits around 1000: " + LSE_FIX
        return ROW_MAX_FIX
    if rw.log:
        return "log(softmax(X)) gives -inf where a probability underflows to 0; " + LSE_FIX
    return ROW_MAX_FIX


def _rowwise_extremes(rw: _RowWise, dtype):
    def check(c: Checker) -> None:
        X = _extreme_logits(dtype)
        (leaf,) = leaves_for([X], [0])
        out = expect_tensor(c.call(leaf), shape=X.shape)
        ref, (ref_g,) = torch_vjp(rw.ref, [X], [0])
        values = out.detach()
        if not bool(torch.isfinite(values).all()):
            r = int((~torch.isfinite(values)).any(dim=1).nonzero()[0, 0])
            bad = values[~torch.isfinite(values)][0]
            raise Fail(f"it returns {fmt(bad)} for the row of logits {_row(X[r])} ({dtype})",
                       _nonfinite_fix(c, rw, X))
        rtol, atol = _tol(dtype, X)
        i = first_mismatch(values, ref, rtol, atol)
        if i is not None:
            r = i // X.shape[1]
            raise Fail(f"it returns {fmt(values.reshape(-1)[i])} for the row of logits "
                       f"{_row(X[r])} ({dtype}); PyTorch gives {fmt(ref.reshape(-1)[i])}",
                       ROW_MAX_FIX if not rw.log else LSE_FIX)
        (g,) = vjp(c, out, [leaf])
        i = first_mismatch(g, ref_g, rtol, atol)
        if i is not None:
            r = i // X.shape[1]
            raise Fail(f"its gradient is {fmt(g.reshape(-1)[i])} for the row of logits "
                       f"{_row(X[r])} ({dtype}); PyTorch gives {fmt(ref_g.reshape(-1)[i])}",
                       ROW_MAX_FIX if not rw.log else LSE_FIX)
    return check


def _row(x: torch.Tensor) -> str:
    return "[" + ", ".join(fmt(v) for v in x.tolist()) + "]"


def _rowwise_shift(rw: _RowWise):
    def check(c: Checker) -> None:
        X = _randn(4, 5, seed=14, scale=2)
        shift = torch.tensor([[1000.0], [-1000.0], [500.0], [0.0]], dtype=F64)
        out = expect_tensor(c.call(X + shift), shape=X.shape)
        ref = rw.ref(X)  # softmax and log_softmax are both shift invariant
        i = first_mismatch(out, ref, *TOL[F64])
        if i is None:
            return
        values = out.detach()
        if not bool(torch.isfinite(values).all()):
            raise Fail("it returns nan for logits around 1000 (adding a constant to a row "
                       "must not change the result)", _nonfinite_fix(c, rw, X + shift))
        raise Fail(f"adding a constant to a row changes the result (it returns "
                   f"{fmt(values.reshape(-1)[i])} where {fmt(ref.reshape(-1)[i])} is right)",
                   ROW_MAX_FIX if not rw.log else LSE_FIX)
    return check


def _rowwise_properties(rw: _RowWise):
    def check(c: Checker) -> None:
        X = _randn(6, 4, seed=15, scale=3)
        out = expect_tensor(c.call(X), shape=X.shape).detach()
        probs = torch.exp(out) if rw.log else out
        if not rw.log and not bool(((out >= 0) & (out <= 1)).all()):
            raise Fail("some entries are outside [0, 1]", "exp(X) / exp(X).sum(dim=1, "
                       "keepdim=True)")
        if rw.log and not bool((out <= 1e-12).all()):
            raise Fail("some entries are > 0, but a log-probability is <= 0", LSE_FIX)
        sums = probs.sum(dim=1)
        i = first_mismatch(sums, torch.ones_like(sums), 0, 1e-9)
        if i is not None:
            what = "exp(output)" if rw.log else "the output"
            raise Fail(f"the rows of {what} sum to {fmt(sums[i])}, not 1",
                       "normalize each row: exp(X).sum(dim=1, keepdim=True)")
    return check


def _rowwise(name: str, fn, log: bool) -> None:
    ref = (lambda X: torch.log_softmax(X, dim=1)) if log else (lambda X: torch.softmax(X, 1))
    rw = _RowWise(name, ref, log)
    unavailable = SOFTMAX_FAMILY + (LOGSUMEXP if log else ())
    twin = "torch.log_softmax" if log else "torch.softmax"

    def build() -> Checker:
        c = Checker(name, fn, signature=f"{name}(X)", unavailable=unavailable,
                    elementary_fix="torch.exp, torch.log, .sum(dim=1, keepdim=True) and "
                                   ".max(dim=1, keepdim=True).values",
                    error_fixes=[(r"must match the size of tensor b",
                                  "the row sums need keepdim=True: exp(X).sum(dim=1, "
                                  "keepdim=True) has shape (N, 1) and divides each row")])
        c.run("returns a tensor (N, C) of the input's dtype", _rowwise_shapes(rw),
              essential=True)
        c.run(f"values equal {twin}(X, dim=1) (float64, random logits)", _rowwise_values(rw))
        c.run(f"gradient equals {twin}'s (float64)", _rowwise_gradient(rw))
        c.run("rows of probabilities sum to 1" if not log else "exp(output) rows sum to 1",
              _rowwise_properties(rw))
        c.run("shift invariant: adding 1000 to a row changes nothing", _rowwise_shift(rw))
        c.run("finite and right at logits +-100 and +-1e4 (float64)",
              _rowwise_extremes(rw, F64))
        c.run("finite and right at logits +-100 and +-1e4 (float32)",
              _rowwise_extremes(rw, F32))
        c.run("leaves its input unchanged",
              lambda c: _unchanged(c, (_randn(3, 4, seed=16, scale=3),), names=("X",)))
        c.run(f"works without {twin} / lk.{name} (elementary operations)",
              lambda c: c.check_elementary(lambda: (_randn(3, 4, seed=17, scale=3),)))
        return c
    run_checker(build)


def softmax(fn) -> None:
    """Check the student's ``softmax(X)``: row-wise over logits ``(N, C)``, stable (each
    row's maximum subtracted), rows sum to 1, shift invariant, equal to
    ``torch.softmax(X, dim=1)`` forward and backward, built from elementary operations."""
    _rowwise("softmax", fn, log=False)


def log_softmax(fn) -> None:
    """Check the student's ``log_softmax(X)``: row-wise, stable (log-sum-exp), equal to
    ``torch.log_softmax(X, dim=1)`` forward and backward, finite at +-1e4, built from
    elementary operations (no ``torch.log_softmax``, ``torch.softmax`` or
    ``torch.logsumexp``)."""
    _rowwise("log_softmax", fn, log=True)


# ====================================================================== losses


class _Loss:
    """What differs between the three losses."""

    def __init__(self, name: str, ref, make_inputs, candidates, extremes, twin: str) -> None:
        self.name = name
        self.ref = ref  # ref(input, target, reduction=...)
        self.make_inputs = make_inputs  # (n, seed) -> (input, target) in float64
        self.candidates = candidates  # (input, target) -> [(per-example loss, problem, fix)]
        self.extremes = extremes  # check factory per dtype
        self.twin = twin


def _reduce(l: torch.Tensor, reduction: str) -> torch.Tensor:
    return l.mean() if reduction == "mean" else l.sum() if reduction == "sum" else l


def _loss_shapes(loss: _Loss):
    def check(c: Checker) -> None:
        for n in (5, 1):
            x, t = loss.make_inputs(n, 21)
            for reduction in REDUCTIONS:
                want = (n,) if reduction == "none" else ()
                fix = ("with reduction='none' return one loss per example, shape (N,)"
                       if reduction == "none" else
                       f"with reduction={reduction!r} return a single number (a 0-d tensor)")
                if n == 1 and reduction == "none":
                    fix += "; .squeeze() also drops the batch dimension of a batch of 1"
                out = c.call(x, t, reduction=reduction)
                if (loss.name == "cross_entropy" and isinstance(out, torch.Tensor)
                        and tuple(out.shape) == (n, n) and n > 1):
                    fix = ("pick one entry per row, log_probs[torch.arange(N), target]; "
                           "input[:, target] is an (N, N) matrix")
                expect_tensor(out, shape=want, dtype=F64,
                              context=f"with reduction={reduction!r} for a batch of {n}",
                              shape_fix=fix)
            expect_tensor(c.call(x, t), shape=(), context="without a reduction argument",
                          shape_fix='the default is reduction="mean": a single number')
    return check


def _loss_values(loss: _Loss):
    def check(c: Checker) -> None:
        x, t = loss.make_inputs(6, 22)
        per_example = loss.ref(x, t, reduction="none")
        n = x.shape[0]
        for reduction in REDUCTIONS + ("default",):
            kwargs = {} if reduction == "default" else {"reduction": reduction}
            red = "mean" if reduction == "default" else reduction
            out = expect_tensor(c.call(x, t, **kwargs))
            ref = _reduce(per_example, red)
            if out.shape == ref.shape and first_mismatch(out, ref, *TOL[F64]) is None:
                continue
            label = ("without a reduction argument" if reduction == "default"
                     else f"with reduction={reduction!r}")
            if out.shape != ref.shape:
                raise Fail(f"it returns shape {tuple(out.shape)} {label}; expected "
                           f"{tuple(ref.shape)}", "apply the reduction argument: .mean(), "
                           ".sum(), or the per-example losses for 'none'")
            wrong = [(_reduce(per_example, "sum"), f"it returns the sum {label}",
                      "reduction='mean' averages over the batch: .mean()"),
                     (_reduce(per_example, "mean"), f"it returns the mean {label}",
                      "reduction='sum' adds up the per-example losses: .sum()"),
                     (per_example.mean() / n, f"it is divided by the batch size twice "
                      f"{label}", ".mean() already divides by N: don't divide again"),
                     (-ref, f"the sign is flipped {label}",
                      "the loss is -log(probability of the right answer), which is >= 0")]
            wrong += [(_reduce(w, red), f"{problem} ({label})", fix)
                      for w, problem, fix in loss.candidates(x, t)]
            for w, problem, fix in wrong:
                if w.shape == out.shape and first_mismatch(out, w, *TOL[F64]) is None:
                    raise Fail(problem, fix)
            _compare(out, ref, F64, f"{label} it returns", "on random inputs", None)
    return check


def _loss_gradient(loss: _Loss):
    def check(c: Checker) -> None:
        x, t = loss.make_inputs(6, 23)
        for reduction in ("mean", "none"):
            leaf, target = leaves_for([x, t], [0])
            (g,) = vjp(c, c.call(leaf, target, reduction=reduction), [leaf],
                       f"with reduction={reduction!r}")
            _, (ref,) = torch_vjp(lambda a, b, r=reduction: loss.ref(a, b, reduction=r),
                                  [x, t], [0])
            _compare(g, ref, F64, f"with reduction={reduction!r} its gradient is",
                     "on random inputs", "keep every step a differentiable torch operation "
                     "on input")
    return check


def _loss_unchanged(loss: _Loss):
    def check(c: Checker) -> None:
        x, t = loss.make_inputs(4, 24)
        _unchanged(c, (x, t), {"reduction": "mean"}, names=("input", "target"))
    return check


BAD_REDUCTION = "average"  # a plausible wrong value: PyTorch's own reductions never include it
REDUCTION_FIX = ("after the three reductions, raise ValueError(f\"reduction must be 'mean', "
                 "'sum' or 'none', got {reduction!r}\")")


def _loss_bad_reduction(loss: _Loss):
    return bad_reduction_check(lambda: loss.make_inputs(4, 26))


def bad_reduction_check(make_inputs):
    """The check that ``fn(input, target, reduction=BAD_REDUCTION)`` raises a ValueError
    naming the value (``make_inputs()`` gives input and target); shared with lab 2's
    ``mse_loss``."""
    def check(c: Checker) -> None:
        x, t = make_inputs()
        try:
            out = c.call(x, t, reduction=BAD_REDUCTION)
        except _StudentError as e:
            exc = e.exc
            if isinstance(exc, ValueError):
                if BAD_REDUCTION not in str(exc):
                    raise Fail(f"reduction={BAD_REDUCTION!r} raises a ValueError that does not "
                               f"name the value it got ({exc})",
                               "say what came in, e.g. " + REDUCTION_FIX) from None
                return
            if isinstance(exc, KeyError):
                raise Fail(f"reduction={BAD_REDUCTION!r} raises KeyError (a dictionary lookup), "
                           f"not a ValueError", "check the value before using it: "
                           + REDUCTION_FIX) from None
            raise
        raise Fail(f"reduction={BAD_REDUCTION!r} is not rejected: it returns "
                   f"{describe_value(out)} instead of raising a ValueError, so a typo such as "
                   f"'sun' would silently give a wrong loss", REDUCTION_FIX)
    return check


def _loss(loss: _Loss, fn, signature: str, unavailable, elementary_fix: str,
          extreme_what: str) -> None:
    def build() -> Checker:
        c = Checker(loss.name, fn, signature=signature, unavailable=unavailable,
                    elementary_fix=elementary_fix)
        c.run("returns a 0-d tensor for 'mean'/'sum' and (N,) for 'none'", _loss_shapes(loss),
              essential=True)
        c.run(f"values equal {loss.twin} for every reduction (float64)", _loss_values(loss))
        c.run(f"gradient equals {loss.twin}'s (float64)", _loss_gradient(loss))
        c.run(f"{extreme_what} (float64)", loss.extremes(F64))
        c.run(f"{extreme_what} (float32)", loss.extremes(F32))
        c.run("leaves input and target unchanged", _loss_unchanged(loss))
        c.run("an unknown reduction raises a ValueError that names it",
              _loss_bad_reduction(loss))
        c.run(f"works without {loss.twin} / lk.{loss.name} (elementary operations)",
              lambda c: c.check_elementary(lambda: loss.make_inputs(4, 25)))
        return c
    run_checker(build)


# ---------------------------------------------------------------- binary cross-entropy

BCE_UNAVAILABLE = (
    "torch.nn.functional.binary_cross_entropy",
    "torch.nn.functional.binary_cross_entropy_with_logits",
    "torch.binary_cross_entropy_with_logits",
    "labkit.binary_cross_entropy", "labkit.functional.binary_cross_entropy",
    "labkit.binary_cross_entropy_with_logits",
    "labkit.functional.binary_cross_entropy_with_logits",
)
CLAMP_FIX = ("clamp each log at -100, torch.clamp(torch.log(p), min=-100) (and the same for "
             "log(1 - p)), as PyTorch does")
# max(x, 0) - x t + log(1 + exp(-|x|)) has the right values, but written with x.abs(),
# clamp(x, min=0) or relu(x) its gradient at x = 0 is wrong (their derivative at 0 counts as
# 0): both max(x, 0) and -|x| are picked with torch.where instead, as for sigmoid
BCE_LOGITS_FORMULA = ("loss = torch.where(x >= 0, x, 0) - x * t + "
                      "log(1 + exp(torch.where(x >= 0, -x, x)))")
STABLE_BCE_LOGITS = ("compute it from the logit x, never through sigmoid, with exp seeing only "
                     "numbers <= 0: " + BCE_LOGITS_FORMULA)
ABS_AT_ZERO_FIX = ("pick max(x, 0) and -|x| with torch.where(x >= 0, ...) instead of "
                   "clamp/relu and x.abs(): " + BCE_LOGITS_FORMULA + " has the same values, "
                   "and both torch.where take the x >= 0 branch at 0, so the gradient there "
                   "is right")


def _bce_inputs(n: int, seed: int):
    g = _gen(seed)
    p = torch.rand(n, generator=g, dtype=F64) * 0.98 + 0.01
    t = torch.tensor([1.0, 0.0, 1.0, 0.3, 0.0, 1.0][:n] + [1.0] * max(0, n - 6), dtype=F64)
    return p, t


def _bce_candidates(p, t):
    log_p, log_q = torch.log(p), torch.log(1 - p)
    return [(-(t * log_q + (1 - t) * log_p), "the two terms are swapped",
             "-(t * log(p) + (1 - t) * log(1 - p)): t goes with log(p)"),
            (-(t * log_p), "only the t * log(p) term is there",
             "add (1 - t) * log(1 - p), the term for the negative examples")]


def _bce_extremes(dtype):
    def check(c: Checker) -> None:
        p = torch.tensor([0.0, 1.0, 0.0, 1.0, 1e-30, 0.5, 1 - 2 ** -20], dtype=dtype)
        t = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0], dtype=dtype)
        out = expect_tensor(c.call(p, t, reduction="none"), shape=p.shape)
        ref = F.binary_cross_entropy(p.double(), t.double(), reduction="none")
        values = out.detach()
        if not bool(torch.isfinite(values).all()):
            i = int((~torch.isfinite(values)).nonzero()[0, 0])
            raise Fail(f"it returns {fmt(values[i])} for p = {fmt(p[i])}, t = {fmt(t[i])} "
                       f"({dtype}): log(0) = -inf (and 0 * -inf = nan) where a probability "
                       f"is exactly 0 or 1, as a saturated sigmoid gives", CLAMP_FIX)
        # float32: finite where p is exactly 0 or 1 is enough (a clamp at the smallest
        # float32, as labkit's, caps the cost at 87.3 there); compared everywhere else
        check_at = torch.ones_like(values, dtype=torch.bool)
        if dtype == F32:
            check_at = (p > 0) & (p < 1)
        rtol, atol = TOL[dtype]
        i = first_mismatch(values[check_at], ref[check_at].to(dtype), rtol, atol)
        if i is not None:
            j = int(check_at.nonzero()[i, 0])
            raise Fail(f"it gives {fmt(values[j])} for p = {fmt(p[j])}, t = {fmt(t[j])} "
                       f"({dtype}) where PyTorch gives {fmt(ref[j])}: the largest cost of "
                       f"one example is 100, where log(p) < -100 is clamped",
                       CLAMP_FIX + ", rather than adding a small number or clamping p")
    return check


def binary_cross_entropy(fn) -> None:
    """Check the student's ``binary_cross_entropy(input, target, reduction="mean")``: on
    probabilities, like ``F.binary_cross_entropy`` (each log clamped at -100), for every
    reduction, values and gradients in float64, finite where p is exactly 0 or 1; an
    unknown reduction raises a ValueError that names it."""
    loss = _Loss("binary_cross_entropy",
                 lambda p, t, reduction="mean": F.binary_cross_entropy(p, t,
                                                                      reduction=reduction),
                 _bce_inputs, _bce_candidates, _bce_extremes, "F.binary_cross_entropy")
    _loss(loss, fn, 'binary_cross_entropy(input, target, reduction="mean")', BCE_UNAVAILABLE,
          "torch.log, torch.clamp, arithmetic, .mean() / .sum()",
          "finite and like PyTorch where p is exactly 0 or 1 (logs clamped at -100)")


def _bce_logits_inputs(n: int, seed: int):
    g = _gen(seed)
    x = torch.randn(n, generator=g, dtype=F64) * 6
    t = torch.tensor([1.0, 0.0, 1.0, 0.3, 0.0, 1.0][:n] + [1.0] * max(0, n - 6), dtype=F64)
    return x, t


def _bce_logits_candidates(x, t):
    sp = F.softplus  # log(1 + exp(x))
    return [(t * sp(x) + (1 - t) * sp(-x), "the target is flipped (t and 1 - t swapped)",
             "loss = t * log(1 + exp(-x)) + (1 - t) * log(1 + exp(x)), computed stably as "
             + BCE_LOGITS_FORMULA),
            (sp(x) + x * t, "the sign of x * t is flipped", BCE_LOGITS_FORMULA)]


# the logits 0 last: the gradient there is sigmoid(0) - t = 0.5 - t, which a formula built
# on x.abs(), clamp or relu misses (their derivative at 0 counts as 0)
BCE_LOGIT_EXTREMES = ([-1e4, -100.0, -1.5, 2.0, 100.0, 1e4, -1e4, 1e4, 100.0, -100.0, 0.0, 0.0,
                       0.0],
                      [1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.3])


def _bce_logits_extremes(dtype):
    def check(c: Checker) -> None:
        x = torch.tensor(BCE_LOGIT_EXTREMES[0], dtype=dtype)
        t = torch.tensor(BCE_LOGIT_EXTREMES[1], dtype=dtype)
        leaf, target = leaves_for([x, t], [0])
        out = expect_tensor(c.call(leaf, target, reduction="none"), shape=x.shape)
        ref, (ref_g,) = torch_vjp(
            lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"),
            [x, t], [0])
        values = out.detach()
        rtol, atol = _tol(dtype, x)
        i = first_mismatch(values, ref, rtol, atol)
        if i is not None:
            v = values[i]
            if not torch.isfinite(v):
                fix = ("log(1 + exp(x)) overflows for large x, and sigmoid then log gives "
                       "log(0) = -inf; " + STABLE_BCE_LOGITS)
                raise Fail(f"it returns {fmt(v)} for the logit {fmt(x[i])} with target "
                           f"{fmt(t[i])} ({dtype})", fix)
            raise Fail(f"it gives {fmt(v)} for the logit {fmt(x[i])} with target {fmt(t[i])} "
                       f"({dtype}) where the exact loss is {fmt(ref[i])}: going through "
                       f"sigmoid and a clamped log loses it", STABLE_BCE_LOGITS)
        (g,) = vjp(c, out, [leaf])
        i = first_mismatch(g, ref_g, rtol, atol)
        if i is not None and x[i] == 0 and torch.isfinite(g[i]):
            # elementwise losses: g = upstream * dloss/dx, entry by entry
            slope = g[i] / upstream(out.detach())[i]
            raise Fail(f"the gradient at the logit 0 with target {fmt(t[i])} is {fmt(slope)} "
                       f"where it is sigmoid(0) - t = {fmt(0.5 - t[i])} ({dtype}), although "
                       f"the value there is right: {_kink_cause(out, 'the loss')} (a model "
                       f"whose logits start at exactly 0, e.g. zero-initialized, would take a "
                       f"wrong first step)", ABS_AT_ZERO_FIX)
        if i is not None:
            raise Fail(f"the value is right but the gradient is {fmt(g[i])} at the logit "
                       f"{fmt(x[i])} ({dtype}; PyTorch gives {fmt(ref_g[i])}): an exp "
                       f"overflows, maybe in a branch torch.where does not pick",
                       STABLE_BCE_LOGITS + ", where exp only sees numbers <= 0")
    return check


def binary_cross_entropy_with_logits(fn) -> None:
    """Check the student's ``binary_cross_entropy_with_logits(input, target,
    reduction="mean")``: on logits, exact and finite (with finite gradients) for any finite
    logit, like ``F.binary_cross_entropy_with_logits``, for every reduction; the gradient
    is also checked at the logit 0, where ``sigmoid(0) - t`` is lost by a formula built on
    ``x.abs()``, ``clamp`` or ``relu``; an unknown reduction raises a ValueError that names
    it."""
    loss = _Loss("binary_cross_entropy_with_logits",
                 lambda x, t, reduction="mean": F.binary_cross_entropy_with_logits(
                     x, t, reduction=reduction),
                 _bce_logits_inputs, _bce_logits_candidates, _bce_logits_extremes,
                 "F.binary_cross_entropy_with_logits")
    _loss(loss, fn, 'binary_cross_entropy_with_logits(input, target, reduction="mean")',
          BCE_UNAVAILABLE + ("torch.nn.functional.logsigmoid",),
          "torch.exp, torch.log, torch.clamp or torch.where, x.abs(), arithmetic",
          "exact and finite, with exact gradients, at logits 0, +-100 and +-1e4")


# ---------------------------------------------------------------- cross-entropy

CE_UNAVAILABLE = (
    "torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
    "labkit.cross_entropy", "labkit.functional.cross_entropy",
)
CE_FIX = ("take the true class's entry of log_softmax(input) (log-sum-exp: finite for any "
          "logits), e.g. -log_softmax(input)[torch.arange(N), target]; -log(softmax(input)) "
          "gives inf once a probability underflows to 0")


def _ce_inputs(n: int, seed: int):
    g = _gen(seed)
    X = torch.randn(n, 4, generator=g, dtype=F64) * 3
    y = torch.tensor([2, 0, 3, 1, 1, 0][:n] + [0] * max(0, n - 6), dtype=torch.int64)
    return X, y


def _ce_candidates(X, y):
    rows = torch.arange(X.shape[0])
    return [(-torch.log_softmax(X, dim=0)[rows, y], "it normalizes over the batch (dim=0)",
             "softmax over the classes: dim=1"),
            (-torch.softmax(X, dim=1)[rows, y], "it takes the probability, not its log",
             "the loss is -log(probability of the true class)"),
            (-X[rows, y], "it takes the logit of the true class without log_softmax",
             "the loss is -log_softmax(input)[i, target[i]]")]


CE_EXTREME_ROWS = ([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [100.0, -100.0, 0.0],
                    [0.0, 0.0, 0.0], [-100.0, 100.0, 50.0], [1e4, 1e4 - 1, 1e4 - 2]],
                   [1, 1, 1, 2, 0, 2])


def _ce_extremes(dtype):
    def check(c: Checker) -> None:
        X = torch.tensor(CE_EXTREME_ROWS[0], dtype=dtype)
        y = torch.tensor(CE_EXTREME_ROWS[1])
        leaf, target = leaves_for([X, y], [0])
        out = expect_tensor(c.call(leaf, target, reduction="none"), shape=(X.shape[0],))
        ref, (ref_g,) = torch_vjp(lambda a, b: F.cross_entropy(a, b, reduction="none"),
                                  [X, y], [0])
        values = out.detach()
        rtol, atol = _tol(dtype, X)
        i = first_mismatch(values, ref, rtol, atol)
        if i is not None:
            v = values[i]
            at = f"for the logits {_row(X[i])} and target {int(y[i])} ({dtype})"
            if torch.isinf(v):
                raise Fail(f"it returns {fmt(v)} {at}: -log(softmax) gives inf when the "
                           f"true class's probability underflows to 0", CE_FIX)
            if torch.isnan(v):
                raise Fail(f"it returns nan {at}: exp overflows for large logits", CE_FIX)
            raise Fail(f"it returns {fmt(v)} {at}; PyTorch gives {fmt(ref[i])}", CE_FIX)
        (g,) = vjp(c, out, [leaf])
        i = first_mismatch(g, ref_g, rtol, atol)
        if i is not None:
            r = i // X.shape[1]
            raise Fail(f"its gradient is {fmt(g.reshape(-1)[i])} for the logits "
                       f"{_row(X[r])} ({dtype}); PyTorch gives {fmt(ref_g.reshape(-1)[i])}",
                       CE_FIX)
    return check


def cross_entropy(fn) -> None:
    """Check the student's ``cross_entropy(input, target, reduction="mean")``: logits
    ``(N, C)`` and int64 targets ``(N,)``, the true class's entry of ``log_softmax``
    (finite at logits +-1e4, where ``-log(softmax)`` gives inf), equal to
    ``F.cross_entropy`` for every reduction, values and gradients; an unknown reduction
    raises a ValueError that names it."""
    loss = _Loss("cross_entropy",
                 lambda X, y, reduction="mean": F.cross_entropy(X, y, reduction=reduction),
                 _ce_inputs, _ce_candidates, _ce_extremes, "F.cross_entropy")
    _loss(loss, fn, 'cross_entropy(input, target, reduction="mean")', CE_UNAVAILABLE,
          "your log_softmax (or exp, log, max, sum) and indexing: "
          "log_probs[torch.arange(N), target]",
          "finite and right at logits +-100 and +-1e4")
