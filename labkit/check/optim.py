"""Checker for the from-scratch SGD update (``labkit.optim``'s lesson).

Notebook 02 has the student write ``sgd(params, lr, batch_size)``: for a loss SUMMED over
the batch, ``p -= lr * p.grad / batch_size`` for each parameter, in place under
``torch.no_grad()``, then zero each gradient. The checker runs real backward passes of a
small summed squared loss and compares every parameter with the rule, step by step.
"""

from __future__ import annotations

import torch

from labkit.check._core import Checker, Fail, fmt, run_checker

__all__ = ["sgd"]

F64 = torch.float64
ATOL = 1e-12

INPLACE_FIX = ("update the tensor itself, in place: p -= lr * p.grad / batch_size, inside "
               "`with torch.no_grad():`")
NO_GRAD_FIX = ("the update runs outside torch.no_grad(): wrap it in `with torch.no_grad():` "
               "so that autograd does not record it")
ZERO_FIX = ("call p.grad.zero_() after each update: backward() adds to .grad, so the old "
            "gradients would pile up")


def _problem(seed: int = 0):
    """Data X (8, 3), y (8,) and parameters w (3,), b (), W (3, 2), float64 leaves."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(8, 3, generator=g, dtype=F64)
    y = torch.randn(8, generator=g, dtype=F64)
    params = [torch.randn(3, generator=g, dtype=F64).requires_grad_(),
              torch.randn((), generator=g, dtype=F64).requires_grad_(),
              torch.randn(3, 2, generator=g, dtype=F64).requires_grad_()]
    return X, y, params


def _summed_loss(X, y, params) -> torch.Tensor:
    w, b, W = params
    return (0.5 * (X @ w + b - y) ** 2 + 0.1 * (X @ W).pow(2).sum(dim=1)).sum()


def _step(c: Checker, params, X, y, lr: float, batch_size: int):
    """One backward pass on the summed loss of a batch, then the student's update.
    Returns the parameters and gradients before the update."""
    _summed_loss(X, y, params).backward()
    before = [p.detach().clone() for p in params]
    grads = [p.grad.detach().clone() for p in params]
    c.call(params, lr, batch_size)
    return before, grads


def _diagnose(params, before, grads, lr: float, batch_size: int) -> None:
    """Fail unless every parameter moved by exactly -lr * grad / batch_size."""
    delta = torch.cat([(p.detach() - p0).reshape(-1) for p, p0 in zip(params, before)])
    want = torch.cat([(-lr * g / batch_size).reshape(-1) for g in grads])
    if torch.allclose(delta, want, rtol=1e-9, atol=ATOL):
        return
    if bool((delta == 0).all()):
        raise Fail("the parameters did not change: `p = p - ...` only rebinds the name p "
                   "(or the update went to a copy)", INPLACE_FIX)
    ratio = float(delta @ want / (want @ want))
    if torch.allclose(delta, ratio * want, rtol=1e-6, atol=ATOL):
        for factor, problem, fix in [
                (1 / batch_size, "the update is divided by the batch size twice",
                 "divide once: p -= lr * p.grad / batch_size"),
                (batch_size, "the update is not divided by batch_size (the loss is summed "
                 "over the batch)", "p -= lr * p.grad / batch_size"),
                (-1.0, "it moves the parameters up the gradient (+=)",
                 "subtract: p -= lr * p.grad / batch_size"),
                (1 / lr, "the update ignores lr", "p -= lr * p.grad / batch_size"),
                (lr, "the update multiplies by lr twice", "p -= lr * p.grad / batch_size")]:
            if abs(ratio - factor) <= 1e-6 * abs(factor):
                raise Fail(problem, fix)
        raise Fail(f"the step is {fmt(ratio)} times lr * p.grad / batch_size",
                   "p -= lr * p.grad / batch_size")
    raise Fail("the parameters moved, but not by lr * p.grad / batch_size (first entry "
               f"moved by {fmt(delta[0])}, expected {fmt(want[0])})",
               "p -= lr * p.grad / batch_size for every p in params")


def _one_step(c: Checker) -> None:
    X, y, params = _problem(0)
    lr, batch_size = 0.1, 4
    before, grads = _step(c, params, X[:batch_size], y[:batch_size], lr, batch_size)
    _diagnose(params, before, grads, lr, batch_size)
    for i, p in enumerate(params):
        if not (p.is_leaf and p.requires_grad):
            raise Fail(f"after the update params[{i}] is no longer a leaf that requires grad",
                       NO_GRAD_FIX)


def _zeroes(c: Checker) -> None:
    X, y, params = _problem(1)
    _step(c, params, X[:4], y[:4], 0.1, 4)
    for i, p in enumerate(params):
        if p.grad is not None and bool((p.grad != 0).any()):
            raise Fail(f"params[{i}].grad still holds the gradient after the update",
                       ZERO_FIX)


def _steps(c: Checker) -> None:
    X, y, params = _problem(2)
    ref = [p.detach().clone().requires_grad_() for p in params]
    lr, batch_size = 0.03, 5
    for step in range(3):
        rows = slice(step, step + batch_size)
        _summed_loss(X[rows], y[rows], ref).backward()
        with torch.no_grad():
            for p in ref:
                p -= lr * p.grad / batch_size
                p.grad.zero_()
        _summed_loss(X[rows], y[rows], params).backward()
        c.call(params, lr, batch_size)
        for i, (p, q) in enumerate(zip(params, ref)):
            if not torch.allclose(p.detach(), q.detach(), rtol=1e-9, atol=ATOL):
                stale = step > 0 and any(p.grad is not None and bool((p.grad != 0).any())
                                         for p in params)
                raise Fail(f"after step {step + 1} of 3, params[{i}] differs from the rule"
                           + (" (the gradients are not zeroed, so each step adds the old "
                              "ones)" if stale else ""),
                           ZERO_FIX if stale else "p -= lr * p.grad / batch_size")


def sgd(fn) -> None:
    """Check the student's ``sgd(params, lr, batch_size)``: ``p -= lr * p.grad / batch_size``
    for each parameter, in place under ``torch.no_grad()``, then each gradient zeroed;
    compared with the rule over three real backward passes."""
    def build() -> Checker:
        c = Checker("sgd", fn, signature="sgd(params, lr, batch_size)",
                    unavailable=("torch.optim.SGD", "torch.optim.sgd.SGD", "labkit.sgd",
                                 "labkit.optim.sgd", "labkit.SGD", "labkit.optim.SGD"),
                    elementary_fix="p -= lr * p.grad / batch_size and p.grad.zero_()",
                    error_fixes=[
                        (r"a leaf Variable that requires grad is being used in an in-place",
                         NO_GRAD_FIX),
                        (r"'NoneType' object has no attribute 'zero_'",
                         "that tensor has no .grad: was p rebound (p = p - ...)? " +
                         INPLACE_FIX),
                    ])
        c.run("one step moves each parameter by -lr * p.grad / batch_size, in place",
              _one_step, essential=True)
        c.run("each gradient is zeroed after the update", _zeroes)
        c.run("three steps follow the rule step by step", _steps)
        c.run("works without torch.optim.SGD / lk.sgd (elementary operations)",
              _elementary)
        return c
    run_checker(build)


def _elementary(c: Checker) -> None:
    X, y, params = _problem(3)
    _summed_loss(X[:4], y[:4], params).backward()
    c.check_elementary(lambda: (params, 0.1, 4))
