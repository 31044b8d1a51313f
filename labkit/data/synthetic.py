"""The seeds' synthetic binary-classification sets and their minibatch iterator.

Introduced in ``02_logistic_regression_scratch`` (and reused in ``03_logistic_regression_nn``).

- ``make_logistic_data``: uniform features labelled by a noisy logistic model
  ``sigmoid(X @ true_w + true_b)`` (seed 000's set, with its bias sign corrected).
- ``make_gaussian_clusters``: two Gaussian clouds, one per class (seed 001's set).
- ``data_iter``: the seeds' minibatch generator, in random order, last partial batch kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from labkit._checks import (
    check_batch_sizes,
    check_non_negative,
    check_positive,
    check_positive_int,
    check_seed,
    check_tensor,
    describe,
)

__all__ = ["make_logistic_data", "make_gaussian_clusters", "data_iter"]


def make_logistic_data(num_examples: int, true_w: Sequence[float] = (1.9, -3.1),
                       true_b: float = -0.6, noise: float = 0.01,
                       seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Features uniform in [0, 1), labels from a noisy logistic model.

    ``p = sigmoid(X @ true_w + true_b) + eps`` with ``eps ~ N(0, noise**2)``, and
    ``y = 1`` where ``p >= 0.5``, else 0: the true decision boundary is the line
    ``X @ true_w + true_b = 0``, blurred slightly by the noise.

    Seed 000 computes ``1 / (1 + exp(-X @ w + b))``, which is ``sigmoid(X @ w - b)``: its
    bias has the wrong sign. Here the bias enters as ``+ true_b``, so a trained model's
    ``b`` can be compared with ``true_b``. With the seed's values only about 14% of the
    examples are positive (the flipped sign happened to make the classes balanced).

    Args:
        num_examples: N > 0.
        true_w: the D true weights (D = len(true_w), 2 in the seeds).
        true_b: the true bias.
        noise: standard deviation of the noise added to the probability, >= 0.
        seed: an integer in [0, 2**63 - 1]; seeds a private generator, so the same seed
            gives the same data.

    Returns:
        ``X`` float32 ``(N, D)`` and ``y`` float32 ``(N,)`` holding 0. and 1.
    """
    check_positive_int(num_examples, "num_examples")
    check_non_negative(noise, "noise")
    seed = check_seed(seed)
    w = torch.as_tensor(true_w, dtype=torch.float64)
    if w.dim() != 1 or w.numel() == 0:
        raise ValueError(
            f"true_w must be a non-empty 1-d sequence of weights, got {describe(true_w)}"
        )
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(num_examples, w.numel(), generator=g, dtype=torch.float64)  # (N, D)
    p = torch.sigmoid(X @ w + true_b)  # (N,); torch's sigmoid: this is data, not the lesson
    p = p + noise * torch.randn(num_examples, generator=g, dtype=torch.float64)
    y = (p >= 0.5).to(torch.float32)
    return X.to(torch.float32), y


def make_gaussian_clusters(num_per_class: int = 100, mean_value: float = 1.7,
                           bias: float = 1.0, std: float = 1.0,
                           seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two 2-d Gaussian clouds: class 0 around ``(+m, +m) + bias``, class 1 around
    ``(-m, -m) + bias`` (``m = mean_value``), each with standard deviation ``std``.

    Returns:
        ``X`` float32 ``(2 * num_per_class, 2)`` (class 0 first) and ``y`` float32
        ``(2 * num_per_class,)``.
    """
    check_positive_int(num_per_class, "num_per_class")
    check_positive(std, "std")
    g = torch.Generator().manual_seed(check_seed(seed))
    ones = torch.ones(num_per_class, 2)
    x0 = torch.normal(mean_value * ones, std, generator=g) + bias  # (n, 2), class 0
    x1 = torch.normal(-mean_value * ones, std, generator=g) + bias  # (n, 2), class 1
    X = torch.cat([x0, x1])
    y = torch.cat([torch.zeros(num_per_class), torch.ones(num_per_class)])
    return X, y


def data_iter(batch_size: int, X: torch.Tensor, y: torch.Tensor, *,
              generator: torch.Generator | None = None
              ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(X_batch, y_batch)`` minibatches in a random order, the seeds' way.

    Each call draws a new permutation (from ``generator`` if given, for reproducible
    batches), and the last batch keeps the remaining ``N % batch_size`` examples.

    Args:
        batch_size: examples per batch, > 0.
        X: features ``(N, ...)``.
        y: labels ``(N,)``.
        generator: optional ``torch.Generator`` for the shuffling.
    """
    check_positive_int(batch_size, "batch_size")
    check_tensor(X, "X")
    check_tensor(y, "y")
    if X.dim() == 0:
        raise ValueError(f"X must hold one row per example, shape (N, ...), got a 0-d tensor "
                         f"({X.item()!r}); for a single example use X.reshape(1, -1)")
    if y.dim() == 0:
        raise ValueError(f"y must hold one entry per example, shape (N,), got a 0-d tensor "
                         f"({y.item()!r}); for a single example use y.reshape(1)")
    check_batch_sizes(len(X), len(y), "X", "y")
    if len(X) == 0:
        raise ValueError("X is empty: data_iter needs at least one example")
    return _batches(batch_size, X, y, generator)


def _batches(batch_size, X, y, generator):
    num_examples = len(X)
    indices = torch.randperm(num_examples, generator=generator)
    for i in range(0, num_examples, batch_size):
        j = indices[i:i + batch_size]  # the last slice may be shorter
        yield X[j], y[j]
