"""Optimizers from scratch: SGD (lab 1), RMSprop and Adam (lab 2).

The update rule is taught in ``02_logistic_regression_scratch``, where the student writes
the functional ``sgd(params, lr, batch_size)``, checked by ``lk.check.sgd``
(``labkit/check/optim.py``); ``lk.sgd`` here is the reference. The later notebooks call
``lk.sgd``: ``04_softmax_regression_scratch`` trains with it (the student writes the model,
loss and loop there, not the update again), and ``03_logistic_regression_nn`` and
``05_softmax_regression_nn`` use it for the from-scratch twin whose trajectory equals
``torch.optim.SGD``'s on a mean loss. The ``SGD`` object is the ``torch.optim.SGD``-like
form, for a model trained with an optimizer (``lk.train`` accepts either); the lab 1
notebooks use ``torch.optim.SGD`` itself. In
lab 2's ``07_mlp_nn`` the student writes the momentum, RMSprop and Adam updates
(``sgd_momentum``, ``rmsprop``, ``adam``), checked by ``lk.check.sgd_momentum``/``rmsprop``/
``adam`` (``labkit/check/adaptive.py``) against ``torch.optim``, and compares them with
``torch.optim`` on a network step for step; ``08_regularization_and_model_selection`` uses
``torch.optim.SGD``'s ``weight_decay``. ``SGD(momentum=..., weight_decay=...)``,
``RMSprop`` and ``Adam`` here are labkit's own versions, which match their ``torch.optim``
twins step for step (``tests/test_optim.py``).

Two forms:

- ``sgd(params, lr, batch_size)``: the seeds' functional update for a *summed* loss,
  ``p <- p - lr * p.grad / batch_size``, then the gradients are zeroed.
- ``SGD(params, lr, momentum, weight_decay)``: an object with ``step()`` and
  ``zero_grad()`` that matches ``torch.optim.SGD`` step for step (for a *mean* loss).

Dividing by ``batch_size`` in ``sgd`` and using a mean loss with ``SGD`` give the same
update: the gradient of a sum over a batch is ``batch_size`` times the gradient of its mean.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import torch

from labkit._checks import (
    check_non_negative,
    check_positive,
    check_positive_int,
    describe,
)

__all__ = ["SGD", "sgd", "RMSprop", "Adam"]


def _param_list(params, name: str = "params") -> list[torch.Tensor]:
    if isinstance(params, torch.Tensor):
        raise TypeError(
            f"{name} must be an iterable of tensors (e.g. [W, b] or net.parameters()), "
            f"got a single tensor; wrap it in a list"
        )
    if type(params) is not list and not isinstance(params, Iterable):
        raise TypeError(f"{name} must be an iterable of tensors, got {describe(params)}")
    params = list(params)
    if not params:
        raise ValueError(f"{name} is empty: there is nothing to optimize")
    seen: dict[int, int] = {}
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"{name}[{i}] must be a torch.Tensor, got {describe(p)}")
        if not p.requires_grad:
            raise ValueError(
                f"{name}[{i}] does not require gradients; create it with "
                f"requires_grad=True (or call .requires_grad_())"
            )
        if not p.is_leaf:  # torch.optim refuses these too ("can't optimize a non-leaf")
            raise ValueError(
                f"{name}[{i}] is not a leaf tensor: it was computed from another tensor "
                f"(e.g. torch.randn(3, requires_grad=True) * 1.0, or .to(dtype) after "
                f"requires_grad=True), so backward() never fills its .grad and it would never "
                f"be updated; create it first and then ask for gradients: "
                f"(torch.randn(3) * 1.0).requires_grad_()"
            )
        if id(p) in seen:  # torch.optim warns, then updates it twice per step
            raise ValueError(
                f"{name}[{i}] is the same tensor as {name}[{seen[id(p)]}]: each step would "
                f"update it twice; pass every parameter once"
            )
        seen[id(p)] = i
    return params


def sgd(params: Iterable[torch.Tensor], lr: float, batch_size: int) -> None:
    """One minibatch SGD step for a loss *summed* over the batch, then zero the gradients.

    ``p <- p - lr * p.grad / batch_size`` for every ``p`` in ``params``, in place and under
    ``torch.no_grad()`` (the update itself must not become part of the graph).

    Args:
        params: leaf tensors with ``requires_grad=True``, each once, whose ``.grad`` was
            filled by ``backward()``; a parameter without a gradient yet is skipped.
        lr: learning rate, > 0.
        batch_size: the number of examples whose losses were summed, > 0.
    """
    check_positive(lr, "lr")
    check_positive_int(batch_size, "batch_size")
    with torch.no_grad():
        for p in _param_list(params):
            if p.grad is None:
                continue
            # p -= lr * p.grad / batch_size, as one fused in-place operation: the spelled-out
            # form allocates two temporaries and costs ~5x as long (a measurable share of a
            # softmax-regression epoch, see benchmarks/RESULTS.md)
            p.sub_(p.grad, alpha=lr / batch_size)
            p.grad.zero_()


def _zero_grad(params: list[torch.Tensor], set_to_none: bool) -> None:
    """Clear each parameter's gradient: to ``None``, or zeros in place."""
    for p in params:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            p.grad.zero_()


class SGD:
    """Stochastic gradient descent with momentum and weight decay, like ``torch.optim.SGD``.

    For each parameter ``p`` with gradient ``g``, at every ``step()``::

        g <- g + weight_decay * p                      (L2 penalty)
        v <- g on the first step, else momentum * v + g (velocity; only if momentum > 0)
        p <- p - lr * v                                 (or p - lr * g without momentum)

    Args:
        params: an iterable of leaf tensors with ``requires_grad=True``, each once
            (``[W, b]`` or ``net.parameters()``); like ``torch.optim.SGD``, a non-leaf
            tensor (computed from another one) is refused, and unlike it (which warns and
            then updates it twice per step) so is a tensor given twice.
        lr: learning rate, > 0.
        momentum: momentum factor, >= 0 (0 disables it).
        weight_decay: L2 penalty coefficient, >= 0.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        self.params = _param_list(params)
        self.lr = check_positive(lr, "lr")
        self.momentum = check_non_negative(momentum, "momentum")
        self.weight_decay = check_non_negative(weight_decay, "weight_decay")
        self.velocity: list[torch.Tensor | None] = [None] * len(self.params)

    @torch.no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad
            if self.weight_decay != 0:
                g = g + self.weight_decay * p
            if self.momentum != 0:
                v = self.velocity[i]
                if v is None:
                    v = g.clone()
                else:
                    v.mul_(self.momentum).add_(g)
                self.velocity[i] = v
                g = v
            p.sub_(self.lr * g)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients (to ``None`` by default, as PyTorch does since 2.0)."""
        _zero_grad(self.params, set_to_none)

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, "
                f"weight_decay={self.weight_decay}, params={len(self.params)})")


# ------------------------------------------------------------ lab 2: adaptive learning rates


def _check_fraction(value, name: str, *, closed: bool = False) -> float:
    """A number in [0, 1) (or [0, 1] with ``closed``)."""
    upper = "1]" if closed else "1)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, {upper}, got {describe(value)}")
    if not (0 <= value < 1 or (closed and value == 1)):
        raise ValueError(f"{name} must be a number in [0, {upper}, got {value!r}")
    return float(value)


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return value


class _Optimizer:
    """What the from-scratch optimizers share: the parameter list, per-parameter state,
    ``zero_grad`` and a readable ``repr``. A subclass implements ``_update(i, p, g)``."""

    _hyperparameters: tuple[str, ...] = ()

    def __init__(self, params: Iterable[torch.Tensor]) -> None:
        self.params = _param_list(params)
        for i, p in enumerate(self.params):
            # g * g is not |g|^2 for a complex g (torch.optim views them as real pairs)
            if p.is_complex():
                raise TypeError(
                    f"params[{i}] has the complex dtype {p.dtype}: labkit's "
                    f"{type(self).__name__} handles real parameters only; use "
                    f"torch.optim.{type(self).__name__} for complex ones (or optimize "
                    f"torch.view_as_real(p))"
                )
        self.state: list[dict] = [{} for _ in self.params]

    @torch.no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient, in place; the others (and their
        state) are left alone, as in PyTorch."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad
            if self.weight_decay != 0:
                g = g + self.weight_decay * p  # the gradient of (weight_decay / 2) * ||p||^2
            self._update(self.state[i], p, g)

    def _update(self, state: dict, p: torch.Tensor, g: torch.Tensor) -> None:
        raise NotImplementedError

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients (to ``None`` by default, as PyTorch does since 2.0)."""
        _zero_grad(self.params, set_to_none)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._hyperparameters)
        return f"{type(self).__name__}({args}, params={len(self.params)})"


class RMSprop(_Optimizer):
    """RMSprop: divide each gradient by a running root mean square of its recent values,
    like ``torch.optim.RMSprop`` (same defaults, same arithmetic).

    For each parameter ``p`` with gradient ``g``, at every ``step()``::

        g <- g + weight_decay * p                         (L2 penalty)
        v <- alpha * v + (1 - alpha) * g^2                (v starts at 0)
        s <- sqrt(v)                                      (centered: sqrt(v - m^2) with
                                                           m <- alpha * m + (1 - alpha) * g)
        d <- g / (s + eps)                                (eps OUTSIDE the square root)
        b <- momentum * b + d; d <- b                     (only if momentum > 0; b starts at 0)
        p <- p - lr * d

    A parameter whose gradients are large gets a smaller step, one whose gradients are
    small a larger one: each coordinate gets its own effective learning rate ``lr / s``.

    Args:
        params: tensors with ``requires_grad=True`` (``[W1, b1, ...]`` or
            ``net.parameters()``).
        lr: learning rate, > 0 (default 0.01, PyTorch's).
        alpha: smoothing constant of the running average, in [0, 1) (default 0.99).
        eps: added to the root mean square so that nothing divides by 0, >= 0 (1e-8).
        weight_decay: L2 penalty coefficient, >= 0.
        momentum: momentum factor, >= 0 (0 disables it).
        centered: divide by an estimate of the gradient's standard deviation instead
            (subtract the squared running mean ``m^2`` from ``v``).
    """

    _hyperparameters = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 0.01, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params)
        self.lr = check_positive(lr, "lr")
        self.alpha = _check_fraction(alpha, "alpha")
        self.eps = check_non_negative(eps, "eps")
        self.weight_decay = check_non_negative(weight_decay, "weight_decay")
        self.momentum = check_non_negative(momentum, "momentum")
        self.centered = _check_flag(centered, "centered")

    def _update(self, state: dict, p: torch.Tensor, g: torch.Tensor) -> None:
        if not state:
            state["step"] = 0
            state["square_avg"] = torch.zeros_like(p)  # v
            if self.momentum > 0:
                state["momentum_buffer"] = torch.zeros_like(p)  # b
            if self.centered:
                state["grad_avg"] = torch.zeros_like(p)  # m
        state["step"] += 1
        v = state["square_avg"]
        v.mul_(self.alpha).add_((1 - self.alpha) * g * g)
        if self.centered:
            m = state["grad_avg"]
            m.mul_(self.alpha).add_((1 - self.alpha) * g)
            rms = torch.sqrt(v - m * m)
        else:
            rms = torch.sqrt(v)
        d = g / (rms + self.eps)
        if self.momentum > 0:
            b = state.setdefault("momentum_buffer", torch.zeros_like(p))
            b.mul_(self.momentum).add_(d)
            d = b
        p.sub_(self.lr * d)


class Adam(_Optimizer):
    """Adam: momentum on the gradient plus RMSprop's per-coordinate scaling, with bias
    correction; like ``torch.optim.Adam`` (same defaults, same arithmetic).

    For each parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...``::

        g <- g + weight_decay * p                       (L2 penalty, not AdamW's decay)
        m <- beta1 * m + (1 - beta1) * g                (first moment; m starts at 0)
        v <- beta2 * v + (1 - beta2) * g^2              (second moment; v starts at 0)
        m_hat = m / (1 - beta1^t)                       (bias correction: m and v start at
        v_hat = v / (1 - beta2^t)                        0, so early averages are too small)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    With ``amsgrad=True`` the running maximum of ``v`` (``v_max <- max(v_max, v)``) is used
    in place of ``v`` in ``v_hat``. Without the bias correction the very first step would
    be about ``sqrt(1 - beta2) / (1 - beta1) = 0.32`` times too small, and the following
    ones keep that error for hundreds of steps.

    Args:
        params: tensors with ``requires_grad=True`` (``[W1, b1, ...]`` or
            ``net.parameters()``).
        lr: learning rate, > 0 (default 0.001, PyTorch's).
        betas: ``(beta1, beta2)``, each in [0, 1) (default ``(0.9, 0.999)``).
        eps: added to ``sqrt(v_hat)``, >= 0 (default 1e-8).
        weight_decay: L2 penalty coefficient, >= 0.
        amsgrad: use the running maximum of ``v`` (default False).
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay", "amsgrad")

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params)
        self.lr = check_positive(lr, "lr")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {describe(betas)}")
        self.betas = (_check_fraction(betas[0], "betas[0]"),
                      _check_fraction(betas[1], "betas[1]"))
        self.eps = check_non_negative(eps, "eps")
        self.weight_decay = check_non_negative(weight_decay, "weight_decay")
        self.amsgrad = _check_flag(amsgrad, "amsgrad")

    def _update(self, state: dict, p: torch.Tensor, g: torch.Tensor) -> None:
        beta1, beta2 = self.betas
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)  # m
            state["exp_avg_sq"] = torch.zeros_like(p)  # v
            if self.amsgrad:
                state["max_exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.mul_(beta1).add_((1 - beta1) * g)
        v.mul_(beta2).add_((1 - beta2) * g * g)
        if self.amsgrad:
            v_max = state.setdefault("max_exp_avg_sq", torch.zeros_like(p))
            torch.maximum(v_max, v, out=v_max)
            v = v_max
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p.sub_(self.lr * m_hat / (torch.sqrt(v_hat) + self.eps))
