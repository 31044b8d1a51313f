"""From-scratch activations and losses, with ``torch.nn.functional``'s names and arguments:
the robust reference versions of the functions the student writes.

The notebooks teach them by having the student write them, each checked by ``lk.check``
(``labkit/check/functional.py``): ``sigmoid``, ``binary_cross_entropy`` and
``binary_cross_entropy_with_logits`` in ``02_logistic_regression_scratch``; ``softmax``,
``log_softmax`` and ``cross_entropy`` in ``04_softmax_regression_scratch``. The checkers
compare with PyTorch while PyTorch's and labkit's own versions are made unavailable, and
``tests/test_lab1_solutions.py`` shows the instructor's solutions equal to the functions
here. The ``torch.nn`` notebooks call them as the from-scratch side of a comparison:
``03_logistic_regression_nn`` checks ``nn.BCEWithLogitsLoss`` against
``binary_cross_entropy_with_logits`` and uses it for its from-scratch twin;
``05_softmax_regression_nn`` checks ``nn.CrossEntropyLoss`` against ``cross_entropy``, and
uses it for the loss-scale question and the from-scratch twin. Lab 2 adds the hidden-layer
activations (``relu``, ``leaky_relu``, ``tanh``, ``elu``) and ``mse_loss`` for regression in
``06_mlp_scratch``, and ``dropout`` in ``08_regularization_and_model_selection``, each
written by the student and checked (``labkit/check/activations.py``, ``mlp.py``,
``regularization.py``); ``07_mlp_nn`` compares ``nn.MSELoss`` with ``mse_loss``.

Every function is built from elementary tensor operations only (``exp``, ``expm1``,
``log``, ``sum``, ``amax``, ``clamp``, ``where``, ``gather``, ``rand``) and never calls
PyTorch's own version of the same function; ``tests/test_functional.py`` checks each one against its
PyTorch twin in float64, forward and backward. All of them stay finite, with finite
gradients, in float32 for inputs up to +-1e4; each docstring says how.

Shapes: ``N`` is the batch size, ``C`` the number of classes.
"""

from __future__ import annotations

import math
import numbers

import torch

from labkit._checks import (
    check_batch_sizes,
    check_class_targets,
    check_floating,
    check_generator,
    check_probabilities,
    check_reduction,
    check_same_shape,
    check_tensor,
    describe,
)

__all__ = [
    "sigmoid",
    "softplus",
    "softmax",
    "log_softmax",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "relu",
    "leaky_relu",
    "tanh",
    "elu",
    "mse_loss",
    "dropout",
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


# ------------------------------------------------------------------ lab 2: hidden layers


def _check_number(value, name: str) -> float:
    """A finite real number (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {describe(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return value


def _maybe_inplace(input: torch.Tensor, out: torch.Tensor, inplace: bool) -> torch.Tensor:
    """``out``, or ``input`` overwritten with ``out`` when ``inplace`` (PyTorch's ``inplace``
    flag: it saves the memory of a second tensor, but the input's old values are gone)."""
    if not inplace:
        return out
    return input.copy_(out)


class _ReLU(torch.autograd.Function):
    """``relu`` with its backward pass written out (a ``torch.autograd.Function``).

    Forward: ``out = max(x, 0)`` (``clamp``). Backward: ``dL/dx = dL/dout * [out > 0]``,
    the upstream gradient passed through where the unit was active and stopped elsewhere;
    ``sign(out)`` is exactly that mask (1 where ``out > 0``, 0 where ``out = 0``; also 0
    for a ``nan`` input, where PyTorch passes the gradient on: the loss is ``nan`` then
    anyway). Autograd would derive the same from a ``where``, but on the CPU
    ``where`` and comparisons producing ``bool`` masks are 5-10 times slower than
    ``clamp``, ``sign`` and a product, enough to make an MLP epoch ~10% slower than
    ``torch.nn``'s (``benchmarks/bench_mlp.py``).
    """

    @staticmethod
    def forward(ctx, input: torch.Tensor) -> torch.Tensor:
        out = input.clamp(min=0)  # (x <= 0) -> 0; nan stays nan
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad_output * torch.sign(out)  # sign(out) is 1 where out > 0, else 0


def relu(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Rectified linear unit ``relu(x) = max(x, 0)``, elementwise (``F.relu``).

    Shape: any; the output has the input's shape.

    Gradient: 1 where ``x > 0``, else 0 (at ``x = 0`` PyTorch, and so labkit, takes 0);
    written out by hand in ``_ReLU.backward``. Nothing can overflow; ``nan`` stays ``nan``
    as in PyTorch.

    ``inplace=True`` overwrites ``input`` with the result and returns it (seed 004's
    ``nn.ReLU(inplace=True)``): it saves memory, but ``input`` must not be needed later.
    """
    check_floating(input, "input")
    _check_flag(inplace, "inplace")
    return _maybe_inplace(input, _ReLU.apply(input), inplace)


def leaky_relu(input: torch.Tensor, negative_slope: float = 0.01,
               inplace: bool = False) -> torch.Tensor:
    """Leaky ReLU ``x if x > 0 else negative_slope * x``, elementwise (``F.leaky_relu``).

    Unlike ``relu`` a negative input keeps a small gradient (``negative_slope``), so a unit
    whose inputs are all negative can still learn ("dying ReLU"). At ``x = 0`` the gradient
    is ``negative_slope``, as in PyTorch. Shape: any, kept.
    """
    check_floating(input, "input")
    negative_slope = _check_number(negative_slope, "negative_slope")
    _check_flag(inplace, "inplace")
    out = torch.where(input > 0, input, input * negative_slope)
    return _maybe_inplace(input, out, inplace)


def tanh(input: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent ``tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))``, elementwise.

    Shape: any; the output has the input's shape, values in [-1, 1]; ``tanh(-x) = -tanh(x)``.

    Computed as ``u / (u + 2)`` with ``u = exp(2x) - 1`` (multiply the textbook fraction
    by ``exp(x)``), where ``u`` comes from ``expm1`` so that small ``x`` loses no digits
    (``exp(2x) - 1`` would cancel them).

    Stability: the textbook formula computes ``exp(x)``, which is ``inf`` in float32 once
    ``x > 88``, and ``inf / inf = nan``. Here ``x`` is first clamped to [-20, 20]: beyond
    that ``|tanh(x)|`` is 1 to within ``2 exp(-40) = 8e-18``, below the spacing of
    float64 numbers near 1, so no value changes; ``exp(2x)`` stays below
    ``exp(40) = 2.4e17``, far from float32's overflow at 3.4e38; and the gradient
    ``1 - tanh(x)^2`` is finite everywhere (0 beyond the clamp, as in PyTorch).
    """
    check_floating(input, "input")
    u = torch.expm1(2 * input.clamp(min=-20, max=20))  # exp(2x) - 1, in (-1, 2.4e17]
    return u / (u + 2)


def elu(input: torch.Tensor, alpha: float = 1.0, inplace: bool = False) -> torch.Tensor:
    """Exponential linear unit ``x if x > 0 else alpha * (exp(x) - 1)``, elementwise.

    Like ``F.elu``: smooth below 0 with outputs down to ``-alpha``, so the mean activation
    stays nearer 0 than ReLU's. Gradient: 1 for ``x > 0``, ``alpha * exp(x)`` otherwise
    (``alpha`` at ``x = 0``, as in PyTorch). Shape: any, kept.

    Stability: ``exp(x)`` is only evaluated on ``min(x, 0)`` (never overflows; the branch
    for positive ``x`` is not computed from ``exp(1e4) = inf``, whose zero gradient
    would still be ``0 * inf = nan``), and ``exp(x) - 1`` is ``expm1(x)``, exact near 0.
    """
    check_floating(input, "input")
    alpha = _check_number(alpha, "alpha")
    _check_flag(inplace, "inplace")
    positive = input > 0
    x_neg = torch.where(positive, 0.0, input)  # min(x, 0), with gradient 1 at x = 0
    out = torch.where(positive, input, alpha * torch.expm1(x_neg))
    return _maybe_inplace(input, out, inplace)


def mse_loss(input: torch.Tensor, target: torch.Tensor, *, reduction: str = "mean",
             weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error ``(input - target)^2``, reduced (``F.mse_loss``).

    Args:
        input: predictions, any shape, e.g. ``(N, 1)`` from a one-output network.
        target: the same shape as ``input``. A ``(N, 1)`` prediction against a ``(N,)``
            target would broadcast to ``(N, N)`` and silently compare every prediction with
            every target (PyTorch only warns); labkit refuses it.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        weight: optional, the shape of ``input``; multiplies each element's loss, and with
            ``"mean"`` the result is ``sum(w * l) / sum(w)``, as in PyTorch.

    Note: d2l's ``squared_loss`` is ``(y_hat - y)^2 / 2``; this is PyTorch's loss, without
    the 1/2, so its gradient is ``2 (input - target)`` (divided by N for the mean).
    """
    check_floating(input, "input")
    check_floating(target, "target")
    check_reduction(reduction)
    check_same_shape(input, target)
    loss = (input - target) ** 2
    if weight is None:
        return _reduce(loss, reduction)
    check_floating(weight, "weight")
    if weight.shape != input.shape:
        raise ValueError(
            f"weight must have the shape of input {tuple(input.shape)}, got "
            f"{tuple(weight.shape)}"
        )
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def dropout(input: torch.Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Inverted dropout (``F.dropout``): zero each element with probability ``p`` and scale
    the survivors by ``1 / (1 - p)``.

    ``out = input * mask / (1 - p)`` with ``mask`` 1 with probability ``1 - p`` (a fresh
    mask at every call). The scaling keeps each element's expected value:
    ``E[out] = (1 - p) * input / (1 - p) = input``, so nothing has to change at test time.
    With ``training=False`` (evaluation) the input is returned unchanged.

    Args:
        input: any shape, e.g. hidden activations ``(N, H)``; the output has its shape.
        p: the probability of dropping an element, in [0, 1). (PyTorch also allows
            ``p = 1``, which zeroes everything; that can only be a mistake here.)
        training: apply dropout (True) or return ``input`` as it is (False). Pass the
            model's flag (``self.training``) so that ``net.eval()`` turns it off.
        inplace: overwrite ``input`` with the result.
        generator: optional ``torch.Generator`` for a reproducible mask (labkit only).

    Gradient: ``mask / (1 - p)``, the same mask as the forward pass.
    """
    check_floating(input, "input")
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"p must be a probability in [0, 1), got {describe(p)}")
    if not 0 <= p < 1:
        raise ValueError(
            f"p must be a probability in [0, 1), got {p!r}: p is the fraction DROPPED "
            f"(p=1 would zero every element)"
        )
    _check_flag(training, "training")
    _check_flag(inplace, "inplace")
    check_generator(generator)
    if not training or p == 0:
        return input
    # the uniform numbers in float32 at least: bfloat16's grid (steps of 2**-8 near 1)
    # would shift the keep rate (p = 0.999 once zeroed everything)
    rand_dtype = input.dtype if input.dtype == torch.float64 else torch.float32
    keep = torch.rand(input.shape, generator=generator, dtype=rand_dtype,
                      device=input.device) >= p  # True with probability 1 - p
    out = input * keep / (1 - p)  # scaled: the expected value stays input
    return _maybe_inplace(input, out, inplace)
