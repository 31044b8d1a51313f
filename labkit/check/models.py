"""Checkers for the from-scratch models (``labkit.models``' lesson).

Notebook 02 has the student write ``logistic_regression(X, w, b)`` (logits ``X @ w + b``),
notebook 04 ``softmax_regression(X, W, b)`` (logits ``X.reshape(-1, W.shape[0]) @ W + b``).
Both return logits, not probabilities: the loss (or ``sigmoid``/``softmax``) comes after.
"""

from __future__ import annotations

import torch

from labkit.check._core import (
    Checker,
    Fail,
    expect_tensor,
    first_mismatch,
    fmt,
    leaves_for,
    run_checker,
    torch_vjp,
    vjp,
)

__all__ = ["logistic_regression", "softmax_regression"]

F64, F32 = torch.float64, torch.float32
RTOL, ATOL = 1e-6, 1e-10
LINEAR = ("torch.nn.functional.linear", "torch.nn.Linear")


def _randn(*shape, seed: int, dtype=F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(tuple(shape), generator=g, dtype=F64).to(dtype)


class _Model:
    def __init__(self, name, formula, cases, bias_fix, prob_problem, prob_fix, prob) -> None:
        self.name = name
        self.formula = formula  # (X, W, b) -> logits
        self.cases = cases  # [(X shape, W shape, b shape)]
        self.bias_fix = bias_fix
        self.prob_problem, self.prob_fix, self.prob = prob_problem, prob_fix, prob

    def inputs(self, case, seed, dtype=F64):
        xs, ws, bs = case
        return (_randn(*xs, seed=seed, dtype=dtype), _randn(*ws, seed=seed + 1, dtype=dtype),
                _randn(*bs, seed=seed + 2, dtype=dtype))


def _shapes(m: _Model):
    def check(c: Checker) -> None:
        for case in m.cases:
            for dtype in (F64, F32):
                X, W, b = m.inputs(case, 31, dtype)
                want = tuple(m.formula(X, W, b).shape)
                expect_tensor(
                    c.call(X, W, b), shape=want, dtype=dtype,
                    context=f"for X {tuple(X.shape)}, {'W' if W.dim() == 2 else 'w'} "
                            f"{tuple(W.shape)}, b {tuple(b.shape)} ({dtype})",
                    shape_fix=(f"{m.formula.__doc__}; reshape(-1) a (N, 1) result"
                               if len(want) == 1 else m.formula.__doc__))
    return check


def _values(m: _Model):
    def check(c: Checker) -> None:
        for case in m.cases:
            X, W, b = m.inputs(case, 32)
            out = expect_tensor(c.call(X, W, b))
            ref = m.formula(X, W, b)
            if out.shape == ref.shape and first_mismatch(out, ref, RTOL, ATOL) is None:
                continue
            wrong = [(m.formula(X, W, -b), "the bias enters with the wrong sign", m.bias_fix),
                     (m.formula(X, W, 0 * b), "the bias is missing", m.bias_fix),
                     (m.prob(ref), m.prob_problem, m.prob_fix)]
            for w, problem, fix in wrong:
                if w.shape == out.shape and first_mismatch(out, w, RTOL, ATOL) is None:
                    raise Fail(problem, fix)
            i = first_mismatch(out, ref, RTOL, ATOL) if out.shape == ref.shape else 0
            raise Fail(f"it returns {fmt(out.detach().reshape(-1)[i])} where "
                       f"{m.formula.__doc__} is {fmt(ref.reshape(-1)[i])}",
                       f"return {m.formula.__doc__}")
    return check


def _gradient(m: _Model):
    def check(c: Checker) -> None:
        X, W, b = m.inputs(m.cases[0], 33)
        _, leaf_W, leaf_b = leaves = leaves_for([X, W, b], [1, 2])
        gW, gb = vjp(c, c.call(*leaves), [leaf_W, leaf_b])
        _, (ref_W, ref_b) = torch_vjp(m.formula, [X, W, b], [1, 2])
        for name, g, ref in (("the weights", gW, ref_W), ("the bias", gb, ref_b)):
            i = first_mismatch(g, ref, RTOL, ATOL)
            if i is not None:
                raise Fail(f"the gradient w.r.t. {name} is {fmt(g.reshape(-1)[i])} where "
                           f"{fmt(ref.reshape(-1)[i])} is right",
                           f"compute {m.formula.__doc__} with torch operations on the "
                           f"parameters themselves (no .detach(), .data or copies)")
    return check


def _unchanged(m: _Model):
    def check(c: Checker) -> None:
        args = m.inputs(m.cases[0], 34)
        copies = [a.clone() for a in args]
        c.call(*args)
        for name, a, before in zip(("X", "W", "b"), args, copies):
            if not torch.equal(a, before):
                raise Fail(f"it changes its argument {name} in place",
                           "compute new tensors (X = X.reshape(...), not X.resize_ or "
                           "X += ...)")
    return check


def _model_checker(m: _Model, fn, signature: str, unavailable) -> None:
    def build() -> Checker:
        c = Checker(m.name, fn, signature=signature, unavailable=unavailable,
                    elementary_fix="the matrix product @ and +",
                    error_fixes=[
                        (r"self must be a matrix|must be a matrix",
                         "torch.mm needs 2-d tensors: use X @ w (torch.matmul)"),
                        (r"shape '\[[^\]]*\b784\b[^\]]*\]' is invalid",
                         "reshape X with W.shape[0], not a fixed 784 (D is 784 only for "
                         "images): X.reshape(-1, W.shape[0]), -1 standing for N"),
                        (r"shape '\[[^\]]*\]' is invalid for input of size",
                         "a size written into reshape does not fit this input: use the "
                         "arguments' sizes, X.reshape(-1, W.shape[0]) (D = W.shape[0] "
                         "features per row, -1 standing for the number of examples N)"),
                        # (N x D and C x D): the inner sizes match only after a transpose
                        (r"cannot be multiplied \(\d+x(\d+) and \d+x\1\)",
                         "W already has shape (D, C), inputs by outputs (not nn.Linear's "
                         "(C, D)): multiply X @ W, without .T"),
                        (r"cannot be multiplied",
                         "flatten each example first: X.reshape(-1, W.shape[0]) turns "
                         "(N, 1, 28, 28) into (N, 784)"),
                    ])
        c.run("returns logits of the right shape and dtype", _shapes(m), essential=True)
        c.run(f"values equal {m.formula.__doc__} (float64)", _values(m))
        c.run("gradients w.r.t. the weights and the bias are right", _gradient(m))
        c.run("leaves its arguments unchanged", _unchanged(m))
        c.run("works without torch.nn.Linear / F.linear (elementary operations)",
              lambda c: c.check_elementary(lambda: m.inputs(m.cases[0], 35)))
        return c
    run_checker(build)


def _logistic_formula(X, w, b):
    """X @ w + b"""
    return X @ w + b


def logistic_regression(fn) -> None:
    """Check the student's ``logistic_regression(X, w, b)``: logits ``X @ w + b`` of shape
    ``(N,)`` for ``X (N, D)``, ``w (D,)``, ``b`` 0-d (or ``(1,)``), differentiable in ``w``
    and ``b``; probabilities or a flipped bias sign fail with a hint."""
    m = _Model("logistic_regression", _logistic_formula,
               [((6, 3), (3,), ()), ((5, 2), (2,), (1,))],
               "return X @ w + b",
               "it returns probabilities (sigmoid applied)",
               "return the logits X @ w + b; sigmoid (or binary_cross_entropy_with_logits) "
               "is applied afterwards",
               torch.sigmoid)
    _model_checker(m, fn, "logistic_regression(X, w, b)",
                   LINEAR + ("labkit.LogisticRegressionScratch",
                             "labkit.models.LogisticRegressionScratch"))


def _softmax_formula(X, W, b):
    """X.reshape(-1, W.shape[0]) @ W + b"""
    return X.reshape(-1, W.shape[0]) @ W + b


def softmax_regression(fn) -> None:
    """Check the student's ``softmax_regression(X, W, b)``: logits
    ``X.reshape(-1, W.shape[0]) @ W + b`` of shape ``(N, C)`` for ``X (N, 1, 28, 28)`` or
    ``(N, D)``, ``W (D, C)``, ``b (C,)``, differentiable in ``W`` and ``b``."""
    m = _Model("softmax_regression", _softmax_formula,
               [((4, 1, 28, 28), (784, 10), (10,)), ((5, 6), (6, 3), (3,)),
                ((3, 3, 2, 2), (12, 4), (4,))],
               "return X.reshape(-1, W.shape[0]) @ W + b",
               "it returns probabilities (softmax applied)",
               "return the logits X.reshape(-1, W.shape[0]) @ W + b; cross_entropy applies "
               "log_softmax itself",
               lambda logits: torch.softmax(logits, dim=1))
    _model_checker(m, fn, "softmax_regression(X, W, b)",
                   LINEAR + ("labkit.SoftmaxRegressionScratch",
                             "labkit.models.SoftmaxRegressionScratch"))
