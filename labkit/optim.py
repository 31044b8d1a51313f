"""Stochastic gradient descent, from scratch.

Introduced in ``02_logistic_regression_scratch``; compared with ``torch.optim.SGD`` in
``03_logistic_regression_nn``.

Two forms:

- ``sgd(params, lr, batch_size)``: the seeds' functional update for a *summed* loss,
  ``p <- p - lr * p.grad / batch_size``, then the gradients are zeroed.
- ``SGD(params, lr, momentum, weight_decay)``: an object with ``step()`` and
  ``zero_grad()`` that matches ``torch.optim.SGD`` step for step (for a *mean* loss).

Dividing by ``batch_size`` in ``sgd`` and using a mean loss with ``SGD`` give the same
update: the gradient of a sum over a batch is ``batch_size`` times the gradient of its mean.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from labkit._checks import (
    check_non_negative,
    check_positive,
    check_positive_int,
    describe,
)

__all__ = ["SGD", "sgd"]


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
        for p in self.params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, "
                f"weight_decay={self.weight_decay}, params={len(self.params)})")
