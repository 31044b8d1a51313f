"""Checker for dropout (lab 2, ``labkit.functional.dropout``'s lesson).

Notebook 08 has the student write ``dropout(input, p, training=True)``, inverted dropout:
while training, each element is zeroed with probability ``p`` and the survivors are
divided by ``1 - p``, so that the expected value of every element stays the input; with
``training=False`` the input comes back unchanged.

Every check but the one that looks for it passes the function a copy of its input, so that
an in-place change of the input is reported once, as itself, and not through its
consequences (wrong scaling, the same mask twice). Dropout is random, so it is checked by
what must hold for every mask: each output element
is 0 or exactly ``input / (1 - p)``; the fraction kept is ``1 - p`` (within 5 standard
deviations over 100,000 elements; the checker seeds torch's generator, so the verdict is
the same at every run); a new mask at every call; the gradient is the same mask divided by
``1 - p``; evaluation mode and ``p = 0`` are the identity; a ``p`` outside ``[0, 1)`` raises
a ValueError that names it.
"""

from __future__ import annotations

import math

import torch

from labkit.check._core import (
    Checker,
    Fail,
    _StudentError,
    describe_value,
    expect_tensor,
    fmt,
    run_checker,
    upstream,
)

__all__ = ["dropout"]

F64, F32 = torch.float64, torch.float32
SIGNATURE = "dropout(input, p, training=True)"
FORMULA = ("mask = (torch.rand(input.shape) > p); return input * mask / (1 - p) "
           "while training, input itself otherwise")
SCALE_FIX = ("divide the survivors by 1 - p (inverted dropout): with probability 1 - p "
             "an element survives, so E[output] = (1 - p) * x / (1 - p) = x and nothing "
             "changes at test time")


def _positive(*shape, seed: int, dtype=F64) -> torch.Tensor:
    """Entries in [0.5, 1.5): never 0, so a 0 in the output means 'dropped'."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(tuple(shape), generator=g, dtype=F64) + 0.5).to(dtype)


def _classify(out: torch.Tensor, x: torch.Tensor, p: float) -> None:
    """Fail unless every entry is 0 or x / (1 - p); name the scaling actually used."""
    values = out.detach()
    kept = values != 0
    if not bool(kept.any()):
        raise Fail(f"every element is 0 with p = {p}", FORMULA)
    ratio = (values[kept] / x[kept]).double()
    rtol = 1e-5 if x.dtype == F32 else 1e-9
    want = 1 / (1 - p)
    if bool(((ratio - want).abs() <= rtol * want).all()):
        return
    r = float(ratio.median())
    scalings = [(1.0, "the survivors are not scaled: the expected value shrinks to "
                 "(1 - p) * x", SCALE_FIX),
                (1 - p, "the survivors are multiplied by 1 - p instead of divided by it",
                 SCALE_FIX),
                (1 / p, "the survivors are divided by p; the probability of keeping an "
                 "element is 1 - p", SCALE_FIX)]
    for factor, problem, fix in scalings:
        if bool(((ratio - factor).abs() <= rtol * factor).all()):
            raise Fail(f"{problem} (p = {p})", fix)
    if bool(((ratio - r).abs() > 1e-6 * abs(r)).any()):
        raise Fail(f"the non-zero outputs are not the input times one factor (p = {p}): "
                   f"elements are changed, not only dropped", FORMULA)
    raise Fail(f"the survivors are multiplied by {fmt(r)}; expected 1 / (1 - p) = "
               f"{fmt(want)} (p = {p})", SCALE_FIX)


def _shapes(c: Checker) -> None:
    for shape, dtype in [((8, 5), F64), ((4, 3, 2), F32), ((7,), F32)]:
        x = _positive(*shape, seed=1, dtype=dtype)
        expect_tensor(c.call(x.clone(), 0.5), shape=shape, dtype=dtype,
                      context=f"for an input of shape {shape} and dtype {dtype}",
                      shape_fix="drop elements, not rows: the mask has the input's shape "
                                "(torch.rand(input.shape) > p)")


def _scaling(c: Checker) -> None:
    for p, dtype in ((0.5, F64), (0.2, F32), (0.8, F64)):
        x = _positive(50, 40, seed=2, dtype=dtype)
        out = expect_tensor(c.call(x.clone(), p), shape=x.shape)
        _classify(out, x, p)


def _fraction(c: Checker) -> None:
    n = 100_000
    for p in (0.2, 0.7):
        x = _positive(200, 500, seed=3)
        out = expect_tensor(c.call(x.clone(), p), shape=x.shape).detach()
        kept = float((out != 0).double().mean())
        sd = math.sqrt(p * (1 - p) / n)
        if abs(kept - (1 - p)) <= 5 * sd:
            continue
        if abs(kept - p) <= 5 * sd:
            raise Fail(f"it keeps a fraction {kept:.3f} of the elements with p = {p}: p is "
                       f"used as the probability of KEEPING",
                       "p is the probability of dropping: keep where torch.rand(...) > p")
        raise Fail(f"it keeps a fraction {kept:.3f} of the elements with p = {p}; expected "
                   f"1 - p = {1 - p:.3f}", FORMULA)


def _mean(c: Checker) -> None:
    x = _positive(200, 500, seed=4)
    out = expect_tensor(c.call(x.clone(), 0.5), shape=x.shape).detach()
    rel = float(out.mean() / x.mean())
    if abs(rel - 1) > 0.02:
        raise Fail(f"the mean of the output is {rel:.3f} times the input's (p = 0.5); "
                   f"inverted dropout keeps it", SCALE_FIX)


def _eval_mode(c: Checker) -> None:
    x = _positive(30, 20, seed=5)
    for p in (0.5, 0.9):
        out = expect_tensor(c.call(x.clone(), p, False), shape=x.shape,
                            context="with training=False")
        if not torch.equal(out.detach(), x):
            zeros = int((out.detach() == 0).sum())
            scaled = torch.allclose(out.detach(), x / (1 - p)) or torch.allclose(
                out.detach(), x * (1 - p))
            problem = ("it still drops elements with training=False" if zeros else
                       "with training=False it rescales the input" if scaled else
                       "with training=False it changes the input")
            raise Fail(problem, "with training=False return the input unchanged: dropout "
                       "only acts while training, and the 1 / (1 - p) scaling during "
                       "training already keeps the expected value")


def _p_zero(c: Checker) -> None:
    x = _positive(30, 20, seed=6)
    out = expect_tensor(c.call(x.clone(), 0.0), shape=x.shape, context="with p = 0")
    if not bool(torch.isfinite(out.detach()).all()):
        raise Fail("with p = 0 it returns nan or inf (a division by p?)",
                   "divide by 1 - p, the probability of keeping: " + FORMULA)
    if not torch.allclose(out.detach(), x, rtol=1e-12, atol=0):
        zeros = int((out.detach() == 0).sum())
        raise Fail(f"with p = 0 it changes the input ({zeros} elements dropped)",
                   "with p = 0 nothing is dropped: keep where torch.rand(...) > p is always "
                   "true (rand >= p would keep them too; rand < p drops)")


def _new_mask(c: Checker) -> None:
    x = _positive(40, 30, seed=7)
    a = expect_tensor(c.call(x.clone(), 0.5), shape=x.shape).detach()
    b = expect_tensor(c.call(x.clone(), 0.5), shape=x.shape).detach()
    if torch.equal(a != 0, b != 0):
        raise Fail("two calls drop the same elements",
                   "draw a new mask at every call (torch.rand inside the function; no "
                   "torch.manual_seed there)")
    rows = (a == 0).all(dim=1) | (a != 0).all(dim=1)
    if bool(rows.all()):
        raise Fail("it drops whole rows (examples) at once, not single elements",
                   "draw one random number per element: torch.rand(input.shape) > p")


def _gradient(c: Checker) -> None:
    x = _positive(20, 10, seed=8)
    leaf = x.clone().requires_grad_()
    # a copy of the leaf, not the leaf itself: an in-place change of the input (reported on
    # its own) would raise here instead of showing whether the gradient is right
    out = expect_tensor(c.call(leaf.clone(), 0.3), shape=x.shape)
    if not out.requires_grad:
        raise Fail("the output is not connected to the input's graph, so no gradient flows "
                   "back", "compute it as input * mask / (1 - p), an operation on the input")
    g = upstream(out)
    (grad,) = c.call_other(torch.autograd.grad, out, [leaf], g, allow_unused=True)
    if grad is None:
        raise Fail("no gradient flows back to the input", FORMULA)
    # the forward pass multiplies each element by a factor (0 or 1 / (1 - p)); the gradient
    # must be that same factor: the same mask, the same scaling
    want = g * out.detach() / x
    if not torch.allclose(grad, want, rtol=1e-9, atol=1e-12):
        kept = out.detach() != 0
        if torch.allclose(grad, g * kept, rtol=1e-9, atol=1e-12):
            raise Fail("the gradient is the mask but not divided by 1 - p (the output is "
                       "scaled outside the graph, e.g. through .data)", FORMULA)
        raise Fail("the gradient does not go through the same mask and scaling as the "
                   "output (a different mask, or a step outside the graph)",
                   "multiply the input by the mask (and 1 / (1 - p)) with torch operations; "
                   "no in-place assignment into a copy")


def _unchanged(c: Checker) -> None:
    x = _positive(30, 10, seed=9)
    before = x.clone()
    c.call(x, 0.5)
    if not torch.equal(x, before):
        raise Fail("it changes its argument in place: the caller's activations lose their "
                   "dropped elements, and autograd may still need them for the backward pass",
                   "return a new tensor: input * mask / (1 - p), not input[mask] = 0 or "
                   "input.mul_(mask)")


P_FIX = ("check p before using it: if not 0 <= p < 1: raise ValueError(f\"p must be a "
         "probability in [0, 1), got {p!r}\")")


def _bad_p(c: Checker) -> None:
    for p in (1.0, 1.5, -0.2):
        x = _positive(6, 4, seed=11)
        try:
            out = c.call(x, p)
        except _StudentError as e:
            if not isinstance(e.exc, ValueError):
                raise
            if p != 1.0 and repr(p) not in str(e.exc) and str(p) not in str(e.exc):
                raise Fail(f"p = {p} raises a ValueError that does not name the value it got "
                           f"({e.exc})", "say what came in, e.g. " + P_FIX) from None
            continue
        what = ("p = 1 drops every element and divides by 1 - p = 0" if p == 1.0 else
                f"p = {p} is not a probability")
        raise Fail(f"{what}, but it is not rejected: it returns {describe_value(out)} "
                   f"instead of raising a ValueError", P_FIX)


def dropout(fn) -> None:
    """Check the student's ``dropout(input, p, training=True)``: inverted dropout (each
    element zeroed with probability ``p``, survivors divided by ``1 - p``, a new mask at
    every call, the gradient through the same mask), the identity with ``training=False``
    or ``p = 0``, a ``p`` outside ``[0, 1)`` rejected with a ValueError, built without
    ``F.dropout``/``nn.Dropout``."""
    def build() -> Checker:
        c = Checker("dropout", fn, signature=SIGNATURE,
                    unavailable=("torch.nn.functional.dropout", "torch.dropout",
                                 "torch.dropout_", "torch.nn.Dropout",
                                 "torch.nn.functional.dropout1d",
                                 "torch.nn.functional.dropout2d",
                                 "torch.nn.functional.alpha_dropout",
                                 "torch.nn.functional.feature_alpha_dropout",
                                 "labkit.dropout", "labkit.functional.dropout"),
                    elementary_fix="torch.rand(input.shape) > p as the mask, then "
                                   "input * mask / (1 - p)")
        c.run("returns a tensor of the input's shape and dtype", _shapes, essential=True)
        c.run("leaves its input unchanged", _unchanged)
        c.run("each element is 0 or input / (1 - p)", _scaling)
        c.run("the fraction of elements kept is 1 - p", _fraction)
        c.run("the mean is kept (inverted dropout)", _mean)
        c.run("training=False returns the input unchanged", _eval_mode)
        c.run("p = 0 drops nothing", _p_zero)
        c.run("a new mask at every call, element by element", _new_mask)
        c.run("the gradient goes through the same mask and scaling", _gradient)
        c.run("p outside [0, 1) raises a ValueError that names it", _bad_p)
        c.run("works without F.dropout / nn.Dropout / lk.dropout (elementary operations)",
              lambda c: c.check_elementary(lambda: (_positive(6, 4, seed=10), 0.5)))
        return c
    run_checker(build)
