"""Checkers for the hidden-layer activations (lab 2, ``labkit.functional``'s new lesson).

Notebook 06 has the student write ``relu(input)``, ``leaky_relu(input, negative_slope=0.01)``,
``tanh(input)`` and ``elu(input, alpha=1.0)``. Each checker compares the student's function
with PyTorch's in float64 (values, and gradients as vector-Jacobian products with a fixed
random upstream gradient), tries extreme inputs (+-100, +-1e4) in float64 and float32 (finite
values and finite gradients, equal to PyTorch's), the parameter where there is one, the
function's properties, that the input is left unchanged, and that it still works when
PyTorch's and labkit's own version are unavailable.

Tolerances: float64 within ``rtol=1e-6, atol=1e-10`` (a correct formula differs from
PyTorch by rounding, ~1e-15); float32 within ``rtol=1e-4, atol=1e-5``.

At exactly ``x = 0`` the derivative of relu, leaky_relu and elu has two one-sided values;
PyTorch picks one, and a student's choice is not graded there. tanh has one derivative at
0 (it is 1), and it is checked.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

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

__all__ = ["relu", "leaky_relu", "tanh", "elu"]

F64, F32 = torch.float64, torch.float32
TOL = {F64: (1e-6, 1e-10), F32: (1e-4, 1e-5)}
EXTREMES = [-1e4, -100.0, -30.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 30.0, 100.0, 1e4]

INPLACE_FIX = ("compute a new tensor (torch.where(...), x * mask, x.clamp(...)); never "
               "assign into the input (x[x < 0] = 0 changes the caller's tensor)")
WHERE_NAN_FIX = ("torch.where computes BOTH branches and their gradients: a branch that "
                 "overflows for the inputs it does not pick (exp(1e4) = inf) still turns "
                 "their gradient into 0 * inf = nan; give exp only numbers <= 0, e.g. "
                 "torch.exp(torch.clamp(x, max=0))")


def _randn(*shape, seed: int, scale: float = 1.0, dtype=F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(tuple(shape), generator=g, dtype=F64) * scale).to(dtype)


class _Activation:
    """One activation: its name, PyTorch's reference, its parameter (if any), the wrong
    outputs students produce (``candidates``), and what to build it from."""

    def __init__(self, name, ref, *, param=None, default=None, other=None, formula,
                 candidates, unavailable, elementary_fix, zero_gradient_checked=False,
                 overflow_fix=WHERE_NAN_FIX, properties=None) -> None:
        self.name, self.ref = name, ref
        self.param, self.default, self.other = param, default, other
        self.formula = formula
        self.candidates = candidates  # (x, kwargs) -> [(output, problem, fix)]
        self.unavailable = unavailable
        self.elementary_fix = elementary_fix
        self.zero_gradient_checked = zero_gradient_checked
        self.overflow_fix = overflow_fix
        self.properties = properties

    def signature(self) -> str:
        return (f"{self.name}(input, {self.param}={self.default})" if self.param
                else f"{self.name}(input)")

    def reference(self, x, **kwargs):
        return self.ref(x, **kwargs)


def _shapes(a: _Activation):
    def check(c: Checker) -> None:
        for shape, dtype in [((3, 4), F64), ((5,), F32), ((), F64), ((2, 3, 2), F32)]:
            x = _randn(*shape, seed=1, scale=3, dtype=dtype)
            expect_tensor(c.call(x), shape=x.shape, dtype=dtype,
                          context=f"for an input of shape {tuple(shape)} and dtype {dtype}",
                          shape_fix="apply the formula elementwise: no sum, mean or reshape")
    return check


def _values(a: _Activation, kwargs: dict | None = None):
    kwargs = kwargs or {}

    def check(c: Checker) -> None:
        x = _randn(8, 6, seed=2 if not kwargs else 3, scale=4)
        out = expect_tensor(c.call(x, **kwargs), shape=x.shape)
        ref = a.reference(x, **kwargs)
        if first_mismatch(out, ref, *TOL[F64]) is None:
            return
        for wrong, problem, fix in a.candidates(x, kwargs):
            if wrong.shape == out.shape and first_mismatch(out, wrong, *TOL[F64]) is None:
                raise Fail(problem, fix)
        i = first_mismatch(out, ref, *TOL[F64])
        raise Fail(f"it returns {fmt(out.detach().reshape(-1)[i])} at x = "
                   f"{fmt(x.reshape(-1)[i])}; PyTorch gives {fmt(ref.reshape(-1)[i])}",
                   a.formula)
    return check


def _gradient(a: _Activation):
    def check(c: Checker) -> None:
        x = _randn(8, 6, seed=4, scale=4)
        (leaf,) = leaves_for([x], [0])
        (g,) = vjp(c, c.call(leaf), [leaf])
        _, (ref,) = torch_vjp(a.reference, [x], [0])
        i = first_mismatch(g, ref, *TOL[F64])
        if i is not None:
            raise Fail(f"its gradient is {fmt(g.reshape(-1)[i])} at x = "
                       f"{fmt(x.reshape(-1)[i])}; PyTorch gives {fmt(ref.reshape(-1)[i])}",
                       "keep every step a differentiable torch operation on the input "
                       "(no .detach(), .data, .item() or in-place assignment)")
    return check


def _extremes(a: _Activation, dtype):
    def check(c: Checker) -> None:
        x = torch.tensor(EXTREMES, dtype=dtype)
        (leaf,) = leaves_for([x], [0])
        out = expect_tensor(c.call(leaf), shape=x.shape)
        ref, (ref_g,) = torch_vjp(a.reference, [x], [0])
        rtol, atol = TOL[dtype]
        values = out.detach()
        i = first_mismatch(values, ref, rtol, atol)
        if i is not None:
            xi, v = x[i].item(), values[i]
            why = ("" if torch.isfinite(v) else
                   ": an exp overflows (exp(x) is inf in float32 beyond x = 88, in float64 "
                   "beyond 709)")
            raise Fail(f"it returns {fmt(v)} at x = {fmt(xi)} ({dtype}); PyTorch gives "
                       f"{fmt(ref[i])}{why}", a.overflow_fix if why else a.formula)
        (g,) = vjp(c, out, [leaf])
        checked = torch.ones_like(x, dtype=torch.bool)
        if not a.zero_gradient_checked:
            checked = x != 0  # a one-sided derivative at 0 is the student's choice
        i = first_mismatch(g[checked], ref_g[checked], rtol, atol)
        if i is not None:
            xi, gi = x[checked][i].item(), g[checked][i]
            want = ref_g[checked][i]
            if xi == 0 and a.name == "tanh":
                raise Fail(f"the gradient at x = 0 is {fmt(gi)} where it is 1 ({dtype}): "
                           f"the derivative of x.abs(), torch.sign(x) or torch.clamp(x, "
                           f"min=0) at 0 counts as 0 (a unit at exactly 0 would not learn)",
                           "pick each branch's input with torch.where(x >= 0, x, 0.0) "
                           "(derivative 1 at 0) instead of x.abs() or x.clamp(min=0)")
            fix = a.overflow_fix if not torch.isfinite(gi) else a.formula
            raise Fail(f"the value is right but the gradient is {fmt(gi)} at x = {fmt(xi)} "
                       f"({dtype}; PyTorch gives {fmt(want)})", fix)
    return check


def _unchanged(a: _Activation):
    def check(c: Checker) -> None:
        x = _randn(10, seed=5, scale=3)
        before = x.clone()
        c.call(x)
        if not torch.equal(x, before):
            raise Fail("it changes its argument in place", INPLACE_FIX)
    return check


def _properties(a: _Activation):
    def check(c: Checker) -> None:
        a.properties(c, _randn(50, seed=6, scale=10))
    return check


def _activation_checker(a: _Activation, fn) -> None:
    def build() -> Checker:
        c = Checker(a.name, fn, signature=a.signature(), unavailable=a.unavailable,
                    elementary_fix=a.elementary_fix,
                    error_fixes=[(r"where\(\): argument 'other'|where\(\) received an "
                                  r"invalid combination",
                                  "torch.where needs tensors (or Python numbers): "
                                  "torch.where(x > 0, x, 0.0)"),
                                 (r"Boolean value of Tensor with more than one value",
                                  "Python's max(), min() and if compare single numbers: work "
                                  "elementwise with torch.where(x > 0, ...) or torch.clamp")])
        c.run("returns a tensor of the input's shape and dtype", _shapes(a), essential=True)
        c.run(f"values equal PyTorch's {a.name} (float64, random x)", _values(a))
        c.run("gradient equals PyTorch's (float64)", _gradient(a))
        if a.param:
            c.run(f"the {a.param} argument is used ({a.param}={a.other})",
                  _values(a, {a.param: a.other}))
        c.run("finite values and gradients at +-100 and +-1e4 (float64)", _extremes(a, F64))
        c.run("finite values and gradients at +-100 and +-1e4 (float32)", _extremes(a, F32))
        if a.properties is not None:
            c.run(a.properties.__doc__, _properties(a))
        c.run("leaves its input unchanged", _unchanged(a))
        c.run(f"works without PyTorch's / labkit's {a.name} (elementary operations)",
              lambda c: c.check_elementary(lambda: (_randn(4, 3, seed=7, scale=5),)))
        return c
    run_checker(build)


# ====================================================================== relu

def _relu_candidates(x, kwargs):
    return [
        ((x > 0).to(x.dtype), "it returns the mask (x > 0): 1. or 0., not x itself",
         "return x where x > 0 and 0 elsewhere: torch.where(x > 0, x, 0.0)"),
        (torch.clamp(x, max=0), "it keeps the negative part (min(x, 0)) instead of the "
         "positive one", "relu(x) = max(x, 0): torch.clamp(x, min=0)"),
        (torch.zeros_like(x) + x.max(), "it returns the largest entry of the whole tensor "
         "(x.max()), not an elementwise maximum", "torch.clamp(x, min=0) (elementwise)"),
        (x.abs(), "it returns |x|", "relu(x) = max(x, 0): negative inputs give 0"),
    ]


def _relu_properties(c: Checker, x: torch.Tensor) -> None:
    """relu(x) >= 0, relu(x) = x where x > 0"""
    out = expect_tensor(c.call(x), shape=x.shape).detach()
    if bool((out < 0).any()):
        raise Fail(f"it returns {fmt(out[out < 0][0])} < 0", "relu(x) = max(x, 0)")
    if not torch.equal(out[x > 0], x[x > 0]):
        raise Fail("relu(x) differs from x for some x > 0", "relu(x) = x where x > 0")


RELU = _Activation(
    "relu", lambda x: F.relu(x), formula="relu(x) = max(x, 0): torch.clamp(x, min=0) or "
    "torch.where(x > 0, x, 0.0)",
    candidates=_relu_candidates,
    unavailable=("torch.relu", "torch.relu_", "torch.Tensor.relu", "torch.Tensor.relu_",
                 "torch.nn.functional.relu", "torch.nn.functional.relu_",
                 "torch.nn.functional.relu6", "torch.nn.functional.threshold",
                 "torch.nn.ReLU", "labkit.relu", "labkit.functional.relu"),
    elementary_fix="torch.clamp(x, min=0) or torch.where(x > 0, x, 0.0)",
    properties=_relu_properties)


def relu(fn) -> None:
    """Check the student's ``relu(input)``: elementwise ``max(x, 0)``, equal to ``F.relu``
    (values and gradients) in float64 and float32 up to +-1e4, built without ``torch.relu``
    and its aliases."""
    _activation_checker(RELU, fn)


# ====================================================================== leaky_relu

def _leaky_candidates(x, kwargs):
    slope = kwargs.get("negative_slope", 0.01)
    out = [
        (F.relu(x), "it returns relu(x): negative inputs give 0 instead of "
         "negative_slope * x", "torch.where(x > 0, x, negative_slope * x)"),
        (torch.where(x > 0, slope * x, x), "the slope is applied to the positive side",
         "x for x > 0, negative_slope * x for x <= 0"),
        (torch.where(x > 0, x, -slope * x), "negative inputs give -negative_slope * x "
         "(> 0)", "negative_slope * x for x <= 0 (it stays negative)"),
    ]
    if slope != 0.01:
        out.append((F.leaky_relu(x, 0.01), "it ignores its negative_slope argument (uses "
                    "0.01 whatever is passed)", "use the negative_slope argument"))
    return out


def _leaky_properties(c: Checker, x: torch.Tensor) -> None:
    """leaky_relu(x) = x for x > 0 and has x's sign"""
    out = expect_tensor(c.call(x), shape=x.shape).detach()
    if not torch.equal(out[x > 0], x[x > 0]):
        raise Fail("leaky_relu(x) differs from x for some x > 0", "leaky_relu(x) = x for x > 0")
    if bool((out[x < 0] >= 0).any()):
        raise Fail("leaky_relu(x) >= 0 for some x < 0",
                   "negative_slope * x for x <= 0 (it stays negative)")


LEAKY_RELU = _Activation(
    "leaky_relu", lambda x, negative_slope=0.01: F.leaky_relu(x, negative_slope),
    param="negative_slope", default=0.01, other=0.2,
    formula="leaky_relu(x) = x for x > 0, negative_slope * x otherwise: "
            "torch.where(x > 0, x, negative_slope * x)",
    candidates=_leaky_candidates,
    unavailable=("torch.nn.functional.leaky_relu", "torch.nn.functional.leaky_relu_",
                 "torch.nn.LeakyReLU", "torch.nn.functional.rrelu", "torch.prelu",
                 "torch.nn.functional.prelu", "labkit.leaky_relu",
                 "labkit.functional.leaky_relu"),
    elementary_fix="torch.where(x > 0, x, negative_slope * x)",
    properties=_leaky_properties)


def leaky_relu(fn) -> None:
    """Check the student's ``leaky_relu(input, negative_slope=0.01)``: ``x`` for ``x > 0``,
    ``negative_slope * x`` otherwise, equal to ``F.leaky_relu`` (values and gradients, the
    default and another slope), finite up to +-1e4, built without ``F.leaky_relu``."""
    _activation_checker(LEAKY_RELU, fn)


# ====================================================================== tanh

STABLE_TANH = ("never exponentiate a large positive number: for x >= 0 use "
               "(1 - exp(-2x)) / (1 + exp(-2x)), for x < 0 the equal "
               "(exp(2x) - 1) / (exp(2x) + 1) (torch.where picks; the exp inside each "
               "branch should only see numbers <= 0, e.g. "
               "exp(-2 * torch.where(x >= 0, x, 0.0))), or tanh(x) = 2 * sigmoid(2x) - 1 "
               "with a stable sigmoid")


def _tanh_candidates(x, kwargs):
    return [
        (torch.sigmoid(x), "it returns sigmoid(x), which lies in (0, 1)",
         "tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), in (-1, 1)"),
        (2 * torch.sigmoid(x) - 1, "it computes 2 * sigmoid(x) - 1, which is tanh(x / 2)",
         "tanh(x) = 2 * sigmoid(2 * x) - 1"),
        (torch.tanh(-x), "it computes tanh(-x): the sign is flipped",
         "tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))"),
        ((torch.exp(x) - torch.exp(-x)) / 2, "it returns sinh(x): the denominator is missing",
         "divide by exp(x) + exp(-x)"),
    ]


def _tanh_properties(c: Checker, x: torch.Tensor) -> None:
    """tanh(x) in [-1, 1] and tanh(-x) = -tanh(x)"""
    out = expect_tensor(c.call(x), shape=x.shape).detach()
    if not bool(((out >= -1) & (out <= 1)).all()):
        bad = out[~((out >= -1) & (out <= 1))][0]
        raise Fail(f"it returns {fmt(bad)}, outside [-1, 1]", STABLE_TANH)
    mirror = expect_tensor(c.call(-x), shape=x.shape).detach()
    i = first_mismatch(mirror, -out, 0, 1e-12)
    if i is not None:
        raise Fail(f"tanh(-x) != -tanh(x) at x = {fmt(x[i])}", STABLE_TANH)


TANH = _Activation(
    "tanh", lambda x: torch.tanh(x),
    formula="tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), computed stably",
    candidates=_tanh_candidates,
    unavailable=("torch.tanh", "torch.tanh_", "torch.Tensor.tanh", "torch.Tensor.tanh_",
                 "torch.nn.functional.tanh", "torch.nn.Tanh", "torch.nn.functional.hardtanh",
                 "labkit.tanh", "labkit.functional.tanh"),
    elementary_fix="torch.exp (or torch.expm1), arithmetic and torch.where",
    zero_gradient_checked=True, overflow_fix=STABLE_TANH, properties=_tanh_properties)


def tanh(fn) -> None:
    """Check the student's ``tanh(input)``: equal to ``torch.tanh`` (values and gradients,
    the gradient 1 at x = 0 included), finite with finite gradients at +-100 and +-1e4 in
    float32 and float64 (the textbook formula gives inf / inf = nan there), odd, in
    [-1, 1], built without ``torch.tanh``."""
    _activation_checker(TANH, fn)


# ====================================================================== elu

def _elu_candidates(x, kwargs):
    alpha = kwargs.get("alpha", 1.0)
    out = [
        (alpha * (torch.exp(x) - 1), "it applies alpha * (exp(x) - 1) to positive inputs "
         "too", "x for x > 0, alpha * (exp(x) - 1) only for x <= 0 (torch.where)"),
        (torch.where(x > 0, x, alpha * torch.exp(x)), "the negative branch misses the - 1: "
         "alpha * exp(x) jumps from alpha to 0 at x = 0", "alpha * (exp(x) - 1) for x <= 0"),
        (F.relu(x), "it returns relu(x)", "alpha * (exp(x) - 1) for x <= 0"),
    ]
    if alpha != 1.0:
        out.append((F.elu(x, 1.0), "it ignores its alpha argument (uses 1 whatever is "
                    "passed)", "multiply the negative branch by alpha"))
    return out


def _elu_properties(c: Checker, x: torch.Tensor) -> None:
    """elu(x) = x for x > 0 and elu(x) > -alpha"""
    out = expect_tensor(c.call(x), shape=x.shape).detach()
    if not torch.equal(out[x > 0], x[x > 0]):
        raise Fail("elu(x) differs from x for some x > 0", "elu(x) = x for x > 0")
    if bool((out < -1.0 - 1e-12).any()):
        raise Fail(f"it returns {fmt(out.min())} < -alpha = -1", "alpha * (exp(x) - 1) for "
                   "x <= 0, which lies in (-alpha, 0]")


ELU = _Activation(
    "elu", lambda x, alpha=1.0: F.elu(x, alpha), param="alpha", default=1.0, other=0.5,
    formula="elu(x) = x for x > 0, alpha * (exp(x) - 1) otherwise",
    candidates=_elu_candidates,
    unavailable=("torch.nn.functional.elu", "torch.nn.functional.elu_", "torch.nn.ELU",
                 "torch.nn.functional.celu", "torch.nn.functional.selu", "torch.selu",
                 "torch.celu", "labkit.elu", "labkit.functional.elu"),
    elementary_fix="torch.exp (or torch.expm1), arithmetic and torch.where",
    properties=_elu_properties)


def elu(fn) -> None:
    """Check the student's ``elu(input, alpha=1.0)``: ``x`` for ``x > 0``,
    ``alpha * (exp(x) - 1)`` otherwise, equal to ``F.elu`` (values and gradients, the
    default and another alpha), finite with finite gradients at +-1e4 (exp must not
    overflow even in the branch torch.where does not pick), built without ``F.elu``."""
    _activation_checker(ELU, fn)
