"""Gradient checking: compare a gradient with central finite differences, CS231n's way.

Introduced in lab 2's ``06_mlp_scratch``, where the student writes the backward pass of a
network with one or two hidden layers by hand and checks it against autograd and against
finite differences.

- ``numerical_gradient(f, x, h)``: the gradient of a scalar function by central
  differences, ``(f(x + h e_i) - f(x - h e_i)) / (2h)`` for every entry ``i`` of ``x``.
- ``gradcheck(f, inputs)``: compares that with an analytic gradient (autograd's, or one you
  computed by hand) and reports the largest relative error
  ``|n - a| / max(|n| + |a|, tiny)`` and where it is.

How to read the relative error (float64, ``h = 1e-5``): below ~1e-7 the gradient is right;
1e-7 to 1e-4 look closer (a kink such as ReLU's at 0 within ``h`` of an input gives errors
there); above 1e-4 it is probably wrong. The central difference has an error of order
``h^2`` from the curvature and ``eps * |f| / h`` from rounding, ~1e-10 for ``h = 1e-5`` in
float64. In float32 the rounding term alone is ~1e-2: always check in float64.

Not ``torch.autograd.gradcheck``: that one returns ``True`` or raises, and compares whole
Jacobians; this one reports a number you can read, for a scalar function.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

from labkit._checks import check_floating, check_positive, describe

__all__ = ["numerical_gradient", "gradcheck", "GradcheckResult"]


def _check_h(h) -> float:
    if isinstance(h, bool) or not isinstance(h, numbers.Real):
        raise TypeError(f"h must be a small positive number such as 1e-5, got {describe(h)}")
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"h must be a small positive number such as 1e-5, got {h!r}")
    return float(h)


def _scalar(value, name: str = "f") -> float:
    """``f``'s output as a Python float; it must be one number."""
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError(
                f"{name} must return a real number, got a complex tensor (dtype "
                f"{value.dtype}); return a real loss, e.g. its .abs() or .real"
            )
        if value.numel() != 1:
            raise ValueError(
                f"{name} must return a scalar (one number, e.g. a loss), got a tensor of shape "
                f"{tuple(value.shape)}; reduce it, e.g. with .sum() or .mean()"
            )
        return float(value.detach().reshape(()))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{name} must return a number or a one-element tensor, got "
                    f"{describe(value)}")


def _warn_float32(x: torch.Tensor, name: str) -> None:
    if x.dtype != torch.float64:
        warnings.warn(
            f"{name} has dtype {x.dtype}: finite differences in it are only good to about "
            f"{torch.finfo(x.dtype).eps / 1e-5:.0e} with h = 1e-5; use float64 "
            f"({name}.double()) for a meaningful check",
            stacklevel=3,
        )


def numerical_gradient(f: Callable[[torch.Tensor], object], x: torch.Tensor,
                       h: float = 1e-5) -> torch.Tensor:
    """The gradient of a scalar function ``f`` at ``x`` by central differences.

    For every entry ``i`` of ``x``::

        grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h)

    where ``e_i`` is 1 at entry ``i`` and 0 elsewhere. ``x`` is changed in place, one entry
    at a time, and restored exactly after each (so ``f`` may also read ``x`` from a closure,
    e.g. a network's weight); ``f`` runs without autograd recording (``torch.no_grad()``).
    It costs ``2 * x.numel()`` calls of ``f``: use small shapes.

    Args:
        f: ``f(x)`` returns a number or a one-element tensor (e.g. a loss).
        x: a floating-point tensor of any shape; float64 for accurate results.
        h: the step, > 0 (1e-5: small enough for the curvature term, large enough for
            rounding in float64).

    Returns:
        A tensor shaped like ``x`` (same dtype and device) holding the estimated gradient.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of x returning a number, got {describe(f)}")
    check_floating(x, "x")
    _check_no_overlap(x, "x")
    h = _check_h(h)
    _warn_float32(x, "x")
    return _central_differences(f, x, h)


def _check_no_overlap(x: torch.Tensor, name: str) -> None:
    """Refuse a tensor whose entries share memory (``torch.ones(1).expand(3)``): perturbing
    one entry would perturb the others too, and the differences would be wrong."""
    if x.numel() <= 1 or torch._debug_has_internal_overlap(x) == 0:  # 0: surely none
        return
    # 1 (overlap) or 2 (too hard to tell): count the distinct memory offsets of the entries
    offsets = torch.zeros((), dtype=torch.int64)
    for size, stride in zip(x.shape, x.stride()):
        offsets = offsets.unsqueeze(-1) + torch.arange(size) * stride
    if offsets.unique().numel() < x.numel():
        raise ValueError(
            f"{name} has entries that share memory (shape {tuple(x.shape)}, strides "
            f"{x.stride()}, e.g. from .expand()): changing one entry would change the others, "
            f"so the finite differences would be wrong; pass {name}.contiguous() or "
            f"{name}.clone() (torch.autograd.gradcheck refuses such inputs too)"
        )


@torch.no_grad()
def _central_differences(f, x: torch.Tensor, h: float) -> torch.Tensor:
    data = x.detach()  # the same memory as x; in-place changes are not recorded
    grad = torch.zeros_like(data)
    for index in np.ndindex(*data.shape):
        old = data[index].item()
        try:
            data[index] = old + h
            f_plus = _scalar(f(x))
            data[index] = old - h
            f_minus = _scalar(f(x))
        finally:
            data[index] = old  # restored exactly, also when f raises
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


class GradcheckResult:
    """What ``gradcheck`` found.

    Attributes:
        max_rel_error: the largest relative error over every entry of every input.
        where: ``(i, index)``: input number ``i`` and the entry's index tuple in it.
        numerical, analytical: one tensor per input.
        rel_error: one tensor per input, the relative error of each entry.
        numerical_value, analytical_value: the two gradients at ``where``.

    ``print(result)`` gives one line; ``float(result)`` is ``max_rel_error``.
    """

    def __init__(self, numerical: list[torch.Tensor], analytical: list[torch.Tensor],
                 rel_error: list[torch.Tensor]) -> None:
        self.numerical = numerical
        self.analytical = analytical
        self.rel_error = rel_error
        best = (-1.0, 0, ())
        for i, r in enumerate(rel_error):
            if r.numel() == 0:
                continue
            flat = int(torch.argmax(torch.nan_to_num(r, nan=math.inf)))
            value = float(r.reshape(-1)[flat])
            value = math.inf if math.isnan(value) else value
            if value > best[0]:
                best = (value, i, tuple(int(j) for j in np.unravel_index(flat, r.shape)))
        self.max_rel_error, i, index = max(best[0], 0.0), best[1], best[2]
        self.where = (i, index)
        found = best[0] >= 0  # False when every input is empty
        self.numerical_value = float(numerical[i][index]) if found else math.nan
        self.analytical_value = float(analytical[i][index]) if found else math.nan

    def __float__(self) -> float:
        return self.max_rel_error

    def __repr__(self) -> str:
        i, index = self.where
        at = f"inputs[{i}]" + (f"[{', '.join(map(str, index))}]" if index else "")
        return (f"max relative error {self.max_rel_error:.3g} at {at}: numerical "
                f"{self.numerical_value:.10g}, analytical {self.analytical_value:.10g}")


def _as_inputs(inputs) -> list[torch.Tensor]:
    if isinstance(inputs, torch.Tensor):
        inputs = [inputs]
    if not isinstance(inputs, Sequence) or isinstance(inputs, str) or not inputs:
        raise TypeError(f"inputs must be a tensor or a non-empty list of tensors, got "
                        f"{describe(inputs)}")
    for i, x in enumerate(inputs):
        check_floating(x, f"inputs[{i}]")
    if all(x.numel() == 0 for x in inputs):
        which = ("inputs[0] is empty" if len(inputs) == 1
                 else f"every one of the {len(inputs)} inputs is empty (inputs[0]")
        raise ValueError(
            f"{which} (shape {tuple(inputs[0].shape)}){')' if len(inputs) > 1 else ''}: "
            f"there is no entry whose gradient could be checked"
        )
    return list(inputs)


def _autograd_gradients(f, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    with torch.enable_grad():
        out = f(*leaves)
        if not isinstance(out, torch.Tensor) or out.numel() != 1 or out.is_complex():
            _scalar(out)  # the clear error for a non-scalar or a complex one
            raise TypeError(f"f must return a tensor to be differentiated by autograd, got "
                            f"{describe(out)}; pass grads= to compare with your own gradients")
        if not out.requires_grad:
            return [torch.zeros_like(x) for x in inputs]
        grads = torch.autograd.grad(out.reshape(()), leaves, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g.detach() for g, x in zip(grads, inputs)]


def gradcheck(f: Callable[..., object], inputs: torch.Tensor | Sequence[torch.Tensor],
              grads: torch.Tensor | Sequence[torch.Tensor] | None = None, *,
              h: float = 1e-5, tiny: float = 1e-8) -> GradcheckResult:
    """Compare an analytic gradient of the scalar ``f(*inputs)`` with finite differences.

    For each entry the relative error is ``|n - a| / max(|n| + |a|, tiny)``, with ``n``
    the central difference (``numerical_gradient``) and ``a`` the analytic gradient:
    autograd's by default, or ``grads`` when you pass the ones you computed by hand. It is
    scale-free (a gradient of 1e3 off by 1e-4 is as good as one of 1e-3 off by 1e-10),
    and 0 where both are exactly 0. ``tiny`` (CS231n's 1e-8) keeps ``0 / 0`` away and
    stops the rounding noise of entries that are practically 0 (the numerical gradient is
    only good to ~1e-10 in absolute terms) from reading as a 100% error.

    Args:
        f: ``f(*inputs)`` returns a number or a one-element tensor (e.g. a loss).
        inputs: one tensor, or a list of them (e.g. ``[W1, b1, W2, b2]``), float64 for a
            meaningful check; they are left as they were.
        grads: optional, one tensor per input with its shape: the gradients to check.
            Without it autograd computes them from ``f``.
        h: the finite-difference step (1e-5).
        tiny: the floor of the denominator (1e-8), a finite number > 0.

    Returns:
        A ``GradcheckResult``: ``result.max_rel_error``, ``result.where`` (input number and
        index), the numerical and analytical gradients; ``print(result)`` shows one line.
        Rule of thumb (float64): < 1e-7 right, > 1e-4 wrong.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of the inputs returning a number, got "
                        f"{describe(f)}")
    inputs = _as_inputs(inputs)
    h = _check_h(h)
    check_positive(tiny, "tiny")  # finite: tiny = inf would pass any gradient
    for i, x in enumerate(inputs):
        _warn_float32(x, f"inputs[{i}]")
    if grads is None:
        analytical = _autograd_gradients(f, inputs)
    else:
        if isinstance(grads, torch.Tensor):
            grads = [grads]
        if not isinstance(grads, Sequence) or isinstance(grads, (str, bytes)):
            raise TypeError(
                f"grads must be a tensor or a list of tensors, one per input "
                f"({len(inputs)}), got {describe(grads)}"
            )
        if len(grads) != len(inputs):
            raise ValueError(
                f"grads must hold one gradient per input ({len(inputs)}), got {len(grads)}"
            )
        analytical = []
        for i, (g, x) in enumerate(zip(grads, inputs)):
            if not isinstance(g, torch.Tensor):
                raise TypeError(f"grads[{i}] must be a tensor, got {describe(g)}")
            if g.shape != x.shape:
                raise ValueError(f"grads[{i}] must have the shape of inputs[{i}] "
                                 f"{tuple(x.shape)}, got {tuple(g.shape)}")
            analytical.append(g.detach().to(x.dtype))

    # each input gets its own copy to perturb; f sees the others unchanged
    copies = [x.detach().clone() for x in inputs]
    numerical = []
    for i in range(len(copies)):
        def f_i(xi, i=i):
            args = copies[:i] + [xi] + copies[i + 1:]
            return f(*args)
        numerical.append(_central_differences(f_i, copies[i], h))
    rel_error = [(n - a).abs() / torch.clamp(n.abs() + a.abs(), min=tiny)
                 for n, a in zip(numerical, analytical)]
    return GradcheckResult(numerical, analytical, rel_error)
