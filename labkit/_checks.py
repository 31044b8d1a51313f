"""Argument checks shared by every labkit module.

Each check raises ``TypeError`` or ``ValueError`` with a message that names the argument,
what it got and what was expected, e.g.::

    ValueError: lr must be a positive number, got -0.1

Nothing here imports the rest of labkit.
"""

from __future__ import annotations

import math
import numbers

import torch

REDUCTIONS = ("mean", "sum", "none")


def describe(x) -> str:
    """A short description of ``x`` for error messages (shape and dtype for tensors)."""
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{x!r} ({type(x).__name__})"


def check_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {describe(x)}")
    return x


def check_floating(x, name: str) -> torch.Tensor:
    check_tensor(x, name)
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; "
            f"convert it with {name}.float()"
        )
    return x


def check_reduction(reduction) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def check_positive(value, name: str) -> float:
    """A finite number > 0 (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {describe(value)}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value


def check_non_negative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {describe(value)}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return value


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {describe(value)}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_same_shape(input: torch.Tensor, target: torch.Tensor,
                     input_name: str = "input", target_name: str = "target") -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{target_name} must have the same shape as {input_name}: "
            f"got {input_name} of shape {tuple(input.shape)} and {target_name} of shape "
            f"{tuple(target.shape)} (a (N, 1) vs (N,) mismatch would silently broadcast "
            f"to (N, N), so it is refused)"
        )


def check_class_targets(target, num_classes: int, name: str = "target") -> torch.Tensor:
    """Integer class indices in ``[0, num_classes)``."""
    check_tensor(target, name)
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise TypeError(
            f"{name} must hold integer class indices (dtype torch.int64), got dtype "
            f"{target.dtype}; if the values are whole numbers use {name}.long()"
        )
    if target.numel() > 0:
        lo, hi = int(target.min()), int(target.max())
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{name} holds class index {bad}, outside the valid range "
                f"[0, {num_classes - 1}] for {num_classes} classes"
            )
    return target


def check_probabilities(x: torch.Tensor, name: str = "input") -> torch.Tensor:
    """Values in [0, 1] (NaN counts as outside)."""
    if x.numel() > 0:
        inside = (x >= 0) & (x <= 1)
        if not bool(inside.all()):
            bad = x[~inside].flatten()[0].item()
            raise ValueError(
                f"{name} must hold probabilities in [0, 1], got a value of {bad!r}; "
                f"if these are logits use binary_cross_entropy_with_logits"
            )
    return x


def check_batch_sizes(n_input: int, n_target: int,
                      input_name: str = "input", target_name: str = "target") -> None:
    if n_input != n_target:
        raise ValueError(
            f"{input_name} and {target_name} must hold the same number of examples: "
            f"got {n_input} predictions and {n_target} targets"
        )
