"""From-scratch activations and losses, with ``torch.nn.functional``'s names and arguments.

Introduced in ``02_logistic_regression_scratch`` (sigmoid, binary cross-entropy) and
``04_softmax_regression_scratch`` (softmax, log-softmax, cross-entropy).

Every function is built from elementary tensor operations only (``exp``, ``log``,
``sum``, ``amax``, ``clamp``, ``where``, ``gather``) and never calls PyTorch's own
version of the same function; ``tests/test_functional.py`` checks each one against its
PyTorch twin in float64, forward and backward. All of them stay finite, with finite
gradients, in float32 for inputs up to +-1e4; each docstring says how.

Shapes: ``N`` is the batch size, ``C`` the number of classes.
"""

from __future__ import annotations

import torch

from labkit._checks import (
    check_batch_sizes,
    check_class_targets,
    check_floating,
    check_probabilities,
    check_reduction,
    check_same_shape,
    check_tensor,
)

__all__ = [
    "sigmoid",
    "softplus",
    "softmax",
    "log_softmax",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
]


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_weight(weight, input: torch.Tensor, name: str) -> None:
    """An optional tensor that broadcasts to ``input``'s shape WITHOUT enlarging it, as
    PyTorch requires: a ``(N, 1)`` weight with ``(N,)`` losses would silently make the loss
    ``(N, N)``."""
    if weight is None:
        return
    check_tensor(weight, name)
    try:
        shape = torch.broadcast_shapes(input.shape, weight.shape)
    except RuntimeError:
        shape = None
    if shape != input.shape:
        result = f"to {tuple(shape)}" if shape is not None else "(they do not broadcast)"
        raise ValueError(
            f"{name} of shape {tuple(weight.shape)} would broadcast the loss of shape "
            f"{tuple(input.shape)} {result}; it must broadcast to the input's shape "
            f"{tuple(input.shape)} (e.g. {name}.reshape({', '.join(map(str, input.shape))}) "
            f"for one per element)"
        )


def sigmoid(input: torch.Tensor) -> torch.Tensor:
    """Logistic function ``sigmoid(x) = 1 / (1 + exp(-x))``, elementwise.

    Shape: any; the output has the input's shape, values in [0, 1].

    Stability: the textbook formula computes ``exp(-x)``, which overflows to ``inf`` for
    ``x < -88`` in float32 (the value still comes out as 0, but the gradient becomes
    ``nan``). Here ``exp`` only ever sees numbers <= 0: ``1 / (1 + exp(-x))`` for
    ``x >= 0`` and the equal ``exp(x) / (1 + exp(x))`` for ``x < 0``.
    """
    check_floating(input, "input")
    zero = torch.zeros_like(input)
    negative = input < 0
    x_pos = torch.where(negative, zero, input)  # max(x, 0): exp(-x_pos) <= 1
    x_neg = torch.where(negative, input, zero)  # min(x, 0): exp(x_neg) <= 1
    e = torch.exp(x_neg)
    return torch.where(negative, e / (1 + e), 1 / (1 + torch.exp(-x_pos)))


def softplus(input: torch.Tensor) -> torch.Tensor:
    """``softplus(x) = log(1 + exp(x))``, elementwise (``torch.nn.functional.softplus``).

    Stability: ``softplus(x)`` is the log-sum-exp of ``(0, x)``, so the same max-shift
    applies: with ``m = max(x, 0)``, ``softplus(x) = m + log(exp(-m) + exp(x - m))``.
    Both exponents are <= 0, so nothing overflows for any finite ``x``, and the gradient
    is exactly ``sigmoid(x)`` (``m`` is treated as a constant).
    """
    check_floating(input, "input")
    m = input.detach().clamp(min=0)
    return m + torch.log(torch.exp(-m) + torch.exp(input - m))


def log_softmax(input: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log_softmax(x)_i = x_i - log(sum_j exp(x_j))`` along ``dim``.

    Shape: any, e.g. logits ``(N, C)`` with ``dim=-1``; the output has the input's shape.

    Stability (the log-sum-exp trick): subtracting any constant ``m`` from every ``x_j``
    leaves the result unchanged, so with ``m = max_j x_j`` every exponent is <= 0 and the
    largest term is exactly ``exp(0) = 1``: nothing overflows and the sum is >= 1, so the
    logarithm never sees 0.
    """
    check_floating(input, "input")
    m = input.amax(dim=dim, keepdim=True).detach()  # (N, 1): the shift; its gradient is 0
    shifted = input - m  # (N, C), every entry <= 0
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def softmax(input: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``softmax(x)_i = exp(x_i) / sum_j exp(x_j)`` along ``dim``.

    Shape: any, e.g. logits ``(N, C)`` with ``dim=-1``; the output has the input's shape
    and sums to 1 along ``dim``.

    Stability: the naive ``exp(x) / exp(x).sum()`` gives ``inf / inf = nan`` once a logit
    passes ~88 in float32. Subtracting the row maximum first (which does not change the
    result) keeps every exponent <= 0.
    """
    check_floating(input, "input")
    e = torch.exp(input - input.amax(dim=dim, keepdim=True).detach())  # entries in (0, 1]
    return e / e.sum(dim=dim, keepdim=True)


def binary_cross_entropy(input: torch.Tensor, target: torch.Tensor,
                         weight: torch.Tensor | None = None, *,
                         reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy on probabilities, ``-(t log p + (1 - t) log(1 - p))``.

    Args:
        input: probabilities ``p`` in [0, 1], any shape, e.g. ``(N,)``.
        target: the same shape as ``input``, values in [0, 1] (usually 0. or 1.).
        weight: optional, broadcastable to ``input``; multiplies each element's loss.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (one loss per element).

    Stability: ``p`` from a saturated sigmoid is exactly 0. or 1., and ``log(0) = -inf``
    makes the loss ``inf`` and its gradient ``nan``. Like PyTorch, each log is clamped at
    -100, so a confidently wrong prediction costs at most 100. The argument of each log is
    also clamped at the smallest normal number of its dtype (``torch.finfo(dtype).tiny``),
    so the gradient ``1/p`` stays finite too. In float64 that changes nothing (the -100
    clamp comes first); in float32 it caps the cost at ``-log(1.18e-38) = 87.34`` where
    PyTorch says 100. float16 and bfloat16 inputs are computed in float64 and rounded back,
    so they cap at 100 like PyTorch (their own ``tiny`` would cap at 9.7); their gradient
    ``-1/p`` overflows to ``-inf`` for ``p < 1.5e-5`` in float16, as PyTorch's does. Either
    way the gradient that reaches a saturated logit is ~0: prefer
    ``binary_cross_entropy_with_logits``, which needs no clamping.
    """
    check_floating(input, "input")
    check_floating(target, "target")
    check_reduction(reduction)
    check_same_shape(input, target)
    _check_weight(weight, input, "weight")
    check_probabilities(input, "input")
    check_probabilities(target, "target")
    dtype = input.dtype
    if torch.finfo(dtype).bits < 32:  # float16 / bfloat16: compute where 100 is reachable
        input, target = input.double(), target.double()
    tiny = torch.finfo(input.dtype).tiny
    log_p = torch.log(input.clamp(min=tiny)).clamp(min=-100)
    log_1mp = torch.log((1 - input).clamp(min=tiny)).clamp(min=-100)
    loss = -(target * log_p + (1 - target) * log_1mp)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction).to(dtype)


def binary_cross_entropy_with_logits(input: torch.Tensor, target: torch.Tensor,
                                     weight: torch.Tensor | None = None, *,
                                     reduction: str = "mean",
                                     pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy on logits: ``BCE(sigmoid(x), t)`` computed without the sigmoid.

    Since ``log sigmoid(x) = -softplus(-x)`` and ``log(1 - sigmoid(x)) = -softplus(x)``::

        loss = t * softplus(-x) + (1 - t) * softplus(x) = (1 - t) * x + softplus(-x)

    With ``pos_weight`` the positive term is scaled:
    ``loss = (1 - t) * x + (1 + (pos_weight - 1) * t) * softplus(-x)``.

    Args:
        input: logits ``x``, any shape, e.g. ``(N,)``.
        target: the same shape as ``input``, values in [0, 1].
        weight: optional, broadcastable to ``input``; multiplies each element's loss.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        pos_weight: optional weight of positive examples, broadcastable to ``input``.

    Stability: ``softplus`` (see there) never exponentiates a positive number, so the loss
    is exact and finite for any finite logit, with no clamping: a logit of -1e4 for a
    positive example costs exactly 1e4.
    """
    check_floating(input, "input")
    check_floating(target, "target")
    check_reduction(reduction)
    check_same_shape(input, target)
    _check_weight(weight, input, "weight")
    _check_weight(pos_weight, input, "pos_weight")
    check_probabilities(target, "target")
    softplus_neg = softplus(-input)  # = -log sigmoid(x), finite for any finite x
    if pos_weight is None:
        loss = (1 - target) * input + softplus_neg
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def cross_entropy(input: torch.Tensor, target: torch.Tensor,
                  weight: torch.Tensor | None = None, *,
                  reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of logits against integer class targets: ``-log softmax(x)[target]``.

    Args:
        input: logits ``(N, C)`` (or ``(C,)`` for one example); not probabilities.
        target: class indices ``(N,)`` (or a 0-d tensor), integer dtype, values in [0, C).
        weight: optional per-class weights ``(C,)``; with ``"mean"`` the result is the
            weighted mean ``sum_i w[t_i] l_i / sum_i w[t_i]``, as in PyTorch.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (shape ``(N,)``).

    Each row's loss is minus the true class's entry of ``log_softmax(input)``, picked with
    ``gather`` along dim 1 and computed with ``log_softmax``'s max-shift, so it is stable
    for any finite logits (see ``log_softmax``); only the picked entries are computed, not
    the whole ``(N, C)`` matrix. Taking ``log`` of ``softmax`` instead fails once a
    probability underflows to 0: ``log(0) = -inf``.

    Note the reduction: ``nn.CrossEntropyLoss()`` averages over the batch, so its numbers
    look ~batch_size times smaller than a summed loss; they agree once the reductions match.
    """
    check_floating(input, "input")
    check_tensor(target, "target")
    if weight is not None:
        check_tensor(weight, "weight")
    check_reduction(reduction)
    if input.dim() == 1:  # one example: (C,) logits and a 0-d target
        if target.dim() != 0:
            raise ValueError(
                f"target must be a 0-d class index when input is 1-d (C,), got target of "
                f"shape {tuple(target.shape)}"
            )
        out = cross_entropy(input.unsqueeze(0), target.unsqueeze(0), weight, reduction=reduction)
        return out.squeeze(0) if reduction == "none" else out
    if input.dim() != 2:
        raise ValueError(
            f"input must be logits of shape (N, C) or (C,), got shape {tuple(input.shape)}; "
            f"flatten extra dimensions first"
        )
    if target.dim() != 1:
        raise ValueError(
            f"target must be class indices of shape (N,), got shape {tuple(target.shape)}"
        )
    check_batch_sizes(input.shape[0], target.shape[0])
    num_classes = input.shape[1]
    # The class range: on the CPU gather checks every index itself, and a bad one is
    # reported below with this same check's message; on a GPU a bad index would be a fatal
    # device error, so it is checked first.
    on_cpu = input.is_cpu
    check_class_targets(target, num_classes, check_range=not on_cpu)
    if target.dtype != torch.int64:
        target = target.long()  # gather needs int64 indices; a uint8 index would act as a mask
    # -log_softmax(input)[target], with log_softmax's shift m = max_j x_j but only at the
    # true class: log_softmax(x)_t = (x_t - m) - log sum_j exp(x_j - m). The whole (N, C)
    # log_softmax is never built (a tenth of the epoch's overhead, benchmarks/RESULTS.md).
    m = input.amax(dim=1, keepdim=True).detach()  # (N, 1): the shift; its gradient is 0
    shifted = input - m  # (N, C), every entry <= 0
    log_sum_exp = torch.log(torch.exp(shifted).sum(dim=1))  # (N,), >= 0: never log(0)
    try:
        picked = shifted.gather(1, target.unsqueeze(1)).squeeze(1)  # (N,): x_t - m
    except RuntimeError:
        check_class_targets(target, num_classes)  # a class index out of range: say which
        raise
    loss = log_sum_exp - picked  # (N,) = -log_softmax(input)[target]
    if weight is None:
        return _reduce(loss, reduction)
    if weight.shape != (num_classes,):
        raise ValueError(
            f"weight must have shape ({num_classes},), one per class, got "
            f"{tuple(weight.shape)}"
        )
    w = weight[target]  # (N,)
    loss = loss * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)
