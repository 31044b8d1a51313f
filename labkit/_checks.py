"""Argument checks shared by every labkit module.

Each check raises ``TypeError`` or ``ValueError`` with a message that names the argument,
what it got and what was expected, e.g.::

    ValueError: lr must be a positive number, got -0.1

A message never quotes a value in full: ``describe`` shortens long lists and strings to at
most ``MAX_QUOTE`` characters (a 20,000-row list once gave a 4-million-character message).

``check_device`` is the one device check behind every ``device=`` argument (``lk.train``,
``lk.train_epoch``, ``lk.evaluate``, ``lk.InMemoryLoader``, the CLI, the benchmark).

Nothing here imports the rest of labkit.
"""

from __future__ import annotations

import math
import numbers
import reprlib

import torch

REDUCTIONS = ("mean", "sum", "none")
MAX_QUOTE = 120  # characters of a value's repr that an error message quotes at most
SEED_MAX = 2**63 - 1

_short = reprlib.Repr()
_short.maxlist = _short.maxtuple = _short.maxset = _short.maxdict = 6
_short.maxlevel = 2
_short.maxstring = _short.maxother = MAX_QUOTE // 2


def quote(x) -> str:
    """``repr(x)``, shortened to at most ``MAX_QUOTE`` characters."""
    text = _short.repr(x)
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE - 3] + "..."


def describe(x) -> str:
    """A short description of ``x`` for error messages (shape and dtype for tensors and
    NumPy arrays, the length of a long container, never more than ``MAX_QUOTE`` characters
    of its repr)."""
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if type(x).__module__ == "numpy" and hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"a NumPy array of shape {tuple(x.shape)} and dtype {x.dtype}"
    kind = type(x).__name__
    if isinstance(x, (list, tuple, dict, set, frozenset, str, bytes)) and len(x) > 6:
        items = "characters" if isinstance(x, (str, bytes)) else "items"
        return f"a {kind} of {len(x)} {items}: {quote(x)}"
    return f"{quote(x)} ({kind})"


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
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {quote(reduction)}")
    return reduction


def _finite(value) -> bool:
    """``math.isfinite`` that says False (instead of raising) for an int too big for a float."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_positive(value, name: str) -> float:
    """A finite number > 0 (bools are rejected)."""
    if type(value) is float and 0 < value < math.inf:  # the common case, checked per batch
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {describe(value)}")
    if not (_finite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {quote(value)}")
    return value


def check_non_negative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {describe(value)}")
    if not (_finite(value) and value >= 0):
        raise ValueError(f"{name} must be a number >= 0, got {quote(value)}")
    return value


def check_positive_int(value, name: str) -> int:
    if type(value) is int and value > 0:  # the common case, checked per batch
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {describe(value)}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {quote(value)}")
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


def check_class_targets(target, num_classes: int, name: str = "target", *,
                        check_range: bool = True) -> torch.Tensor:
    """Integer class indices in ``[0, num_classes)`` (the range only with ``check_range``)."""
    check_tensor(target, name)
    if target.dtype == torch.int64 and not check_range:  # the common case: nothing to scan
        return target
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise TypeError(
            f"{name} must hold integer class indices (dtype torch.int64), got dtype "
            f"{target.dtype}; if the values are whole numbers use {name}.long()"
        )
    if check_range and target.numel() > 0:
        lo, hi = torch.aminmax(target)  # one pass over the targets
        lo, hi = int(lo), int(hi)
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
            f"{input_name} has {n_input} rows and {target_name} has {n_target}"
        )


def check_seed(seed, name: str = "seed") -> int:
    """An integer seed in ``[0, 2**63 - 1]`` (what ``torch.Generator.manual_seed`` takes and
    the CLI's ``seed + 1`` still fits in); bools are rejected."""
    expected = f"{name} must be an integer from 0 to 2**63 - 1"
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{expected}, got {describe(seed)}")
    if not 0 <= seed <= SEED_MAX:
        raise ValueError(f"{expected}, got {quote(seed)}")
    return int(seed)


def check_generator(generator, name: str = "generator") -> torch.Generator | None:
    """``None`` or a ``torch.Generator`` (torch's own error for anything else is a
    500-character list of ``rand()``'s signatures that never names the argument)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{name} must be None or a torch.Generator (e.g. "
            f"torch.Generator().manual_seed(0)), got {describe(generator)}"
        )
    return generator


def _available(kind: str) -> tuple[bool, int, str]:
    """``(available, device count, how to tell)`` for an accelerator type."""
    if kind == "cuda":
        ok = torch.cuda.is_available()
        return ok, torch.cuda.device_count() if ok else 0, "torch.cuda.is_available() is False"
    if kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        ok = bool(mps is not None and mps.is_available())
        return ok, 1 if ok else 0, "torch.backends.mps.is_available() is False"
    if kind == "xpu":
        xpu = getattr(torch, "xpu", None)
        ok = bool(xpu is not None and xpu.is_available())
        return ok, xpu.device_count() if ok else 0, "torch.xpu.is_available() is False"
    # hpu, ipu, privateuse1 ...: backends labkit is not tested on; refused, never half-run
    return False, 0, f"labkit runs on 'cpu', 'cuda', 'mps' or 'xpu', not {kind!r}"


def check_device(device, name: str = "device") -> torch.device | None:
    """``device`` as a ``torch.device`` that exists on this machine, or ``None`` for None.

    Accepts ``"cpu"``, and ``"cuda"``/``"cuda:N"``, ``"mps"``, ``"xpu"`` where PyTorch can
    use them (a strings or a ``torch.device``). Refused with a ``ValueError`` that says why:
    a name PyTorch does not know (``"tpu"``, ``"gpu0"``), an accelerator this machine lacks
    (``"cuda"`` without CUDA, ``"cuda:3"`` with one GPU), ``"meta"`` (tensors without data),
    and other backends (``"hpu"``); a value of another type is a ``TypeError``.
    """
    if device is None:
        return None
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"{name} must be None, a string ('cpu', 'cuda', 'mps') or a torch.device, "
            f"got {describe(device)}"
        )
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(
            f"{name} must name a device such as 'cpu', 'cuda', 'cuda:1' or 'mps', "
            f"got {quote(device)}"
        ) from None
    shown = f"{name}={str(parsed)!r}"
    if parsed.type == "cpu":
        return parsed
    if parsed.type == "meta":
        raise ValueError(
            f"{shown} holds no data (meta tensors have shapes only): training and "
            f"evaluation need a real device such as 'cpu' or 'cuda'"
        )
    ok, count, why = _available(parsed.type)
    if not ok:
        raise ValueError(f"{shown} is not available here ({why}); use {name}='cpu'")
    if parsed.index is not None and parsed.index >= count:
        raise ValueError(
            f"{shown} is not available here: there is only {count} {parsed.type.upper()} "
            f"device{'s' if count != 1 else ''} (indices 0 to {count - 1})"
        )
    return parsed
