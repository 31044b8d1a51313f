"""The seeds' synthetic sets and their minibatch iterator.

Introduced in ``02_logistic_regression_scratch`` (and reused in ``03_logistic_regression_nn``);
lab 2's two sets in ``06_mlp_scratch``.

- ``make_logistic_data``: uniform features labelled by a noisy logistic model
  ``sigmoid(X @ true_w + true_b)`` (seed 000's set, with its bias sign corrected).
- ``make_gaussian_clusters``: two Gaussian clouds, one per class (seed 001's set).
- ``data_iter``: the seeds' minibatch generator, in random order, last partial batch kept.
- ``make_regression_data``: lab 2's regression set, ``y = 0.028 + sum_i 0.0056 x_i + noise``
  with 500 features, 7,000 training and 3,000 test examples.
- ``make_binary_data``: lab 2's binary set, two classes of 200 normal features with opposite
  means and the same variance, 7,000 / 3,000 examples.

Choose models on a validation split of the training set (``lk.train_val_split``,
``lk.kfold_indices`` in ``labkit.selection``), never on the test set.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence

import torch

from labkit._checks import (
    check_batch_sizes,
    check_generator,
    check_non_negative,
    check_positive,
    check_positive_int,
    check_seed,
    check_tensor,
    describe,
)

__all__ = [
    "make_logistic_data",
    "make_gaussian_clusters",
    "data_iter",
    "make_regression_data",
    "make_binary_data",
]


def _real(value, name: str) -> float:
    """A finite real number (bools rejected; a 0-d real tensor is taken as its number):
    ``true_b`` and its kind."""
    if (isinstance(value, torch.Tensor) and value.dim() == 0 and value.is_floating_point()
            or isinstance(value, torch.Tensor) and value.dim() == 0
            and value.dtype in (torch.int8, torch.int16, torch.int32, torch.int64,
                                torch.uint8)):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {describe(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _weights(true_w, name: str = "true_w") -> torch.Tensor:
    """``true_w`` as a float64 tensor of finite real numbers (a number, a sequence or a
    tensor of them)."""
    try:
        w = torch.as_tensor(true_w, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a number or a sequence of numbers, got "
                        f"{describe(true_w)}") from None
    if isinstance(true_w, bool) or (isinstance(true_w, torch.Tensor)
                                    and (true_w.is_complex() or true_w.dtype == torch.bool)):
        raise TypeError(f"{name} must hold real numbers, got {describe(true_w)}")
    if not bool(torch.isfinite(w).all()):
        raise ValueError(f"{name} must hold finite numbers, got {describe(true_w)}")
    return w


def _finite_float32(*tensors: torch.Tensor, because: str) -> None:
    """The generated data, cast to float32, must be finite: huge weights, means or standard
    deviations overflow float32 (max 3.4e38) to inf."""
    for t in tensors:
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"the generated data overflow float32 (largest value about "
                             f"3.4e38): {because}")


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
    true_b = _real(true_b, "true_b")
    w = _weights(true_w)
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
    check_generator(generator)
    if len(X) == 0:
        raise ValueError("X is empty: data_iter needs at least one example")
    return _batches(batch_size, X, y, generator)


def _batches(batch_size, X, y, generator):
    num_examples = len(X)
    indices = torch.randperm(num_examples, generator=generator)
    for i in range(0, num_examples, batch_size):
        j = indices[i:i + batch_size]  # the last slice may be shorter
        yield X[j], y[j]


# ------------------------------------------------------------------ lab 2's two sets


def _check_sizes(num_train, num_test) -> tuple[int, int]:
    num_train = check_positive_int(num_train, "num_train")
    num_test = check_positive_int(num_test, "num_test")
    return num_train, num_test


def make_regression_data(num_train: int = 7000, num_test: int = 3000, num_inputs: int = 500,
                         true_w: float | Sequence[float] = 0.0056, true_b: float = 0.028,
                         noise: float = 0.01, seed: int = 0
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lab 2's high-dimensional linear regression set.

    ``X ~ N(0, 1)`` with ``num_inputs`` features and
    ``y = true_b + sum_i true_w[i] * x_i + eps``, ``eps ~ N(0, noise^2)``: with the defaults
    ``y = 0.028 + 0.0056 * sum_i x_i + eps``. The signal's standard deviation is
    ``0.0056 * sqrt(500) = 0.125``, so a perfect model reaches a mean squared error of
    ``noise^2 = 1e-4`` (``F.mse_loss``), predicting the mean ``0.028`` gives about
    ``0.0157``, and 500 weights fitted on 7,000 examples leave room to overfit.

    Train and test examples are drawn independently from the same distribution (test
    after train, from the same generator).

    Args:
        num_train, num_test: examples in each split (7,000 and 3,000).
        num_inputs: ``D``, the number of features (500).
        true_w: one weight for every feature (0.0056), or ``D`` weights.
        true_b: the bias (0.028).
        noise: the standard deviation of the noise, >= 0 (0.01).
        seed: seeds a private generator; the same seed gives the same data.

    Returns:
        ``X_train`` float32 ``(num_train, D)``, ``y_train`` float32 ``(num_train, 1)``,
        ``X_test``, ``y_test`` likewise. ``y`` is a column, the shape of a one-output
        network's prediction, so ``mse_loss(net(X), y)`` needs no reshape.
    """
    num_train, num_test = _check_sizes(num_train, num_test)
    num_inputs = check_positive_int(num_inputs, "num_inputs")
    check_non_negative(noise, "noise")
    true_b = _real(true_b, "true_b")
    w = _weights(true_w)
    if w.dim() == 0:
        w = w.expand(num_inputs)
    if w.shape != (num_inputs,):
        raise ValueError(
            f"true_w must be one number or num_inputs={num_inputs} weights, got "
            f"{w.numel()} weights"
        )
    g = torch.Generator().manual_seed(check_seed(seed))
    num = num_train + num_test
    X = torch.randn(num, num_inputs, generator=g, dtype=torch.float64)  # (N, D)
    y = X @ w + true_b + noise * torch.randn(num, generator=g, dtype=torch.float64)  # (N,)
    X, y = X.to(torch.float32), y.to(torch.float32).unsqueeze(1)  # y: (N, 1)
    _finite_float32(y, because="choose smaller true_w, true_b or noise")
    return X[:num_train], y[:num_train], X[num_train:], y[num_train:]


def make_binary_data(num_train: int = 7000, num_test: int = 3000, num_inputs: int = 200,
                     mean: float = 0.1, std: float = 1.0, seed: int = 0
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lab 2's binary classification set: two classes with opposite means, same variance.

    Class 1: every feature ``~ N(+mean, std^2)``; class 0: ``~ N(-mean, std^2)``, all
    independent. Each split holds the two classes in equal numbers (one more of class 0
    when its size is odd), in random order.

    How hard it is: the best possible classifier (the Bayes rule, ``sum_i x_i > 0``) is
    right with probability ``Phi(mean * sqrt(D) / std)``, ``Phi(1.41) = 92.1%`` with the
    defaults; a model should get near that, not to 100%. (With ``mean=1`` the classes are
    28 standard deviations apart and every model is perfect, which shows nothing.)

    Args:
        num_train, num_test: examples in each split (7,000 and 3,000).
        num_inputs: ``D``, the number of features (200).
        mean: the distance of each class mean from 0 along every feature, > 0 (0.1).
        std: the standard deviation of every feature, > 0 (1.0).
        seed: seeds a private generator; the same seed gives the same data.

    Returns:
        ``X_train`` float32 ``(num_train, D)``, ``y_train`` float32 ``(num_train, 1)`` of
        0. and 1. (the shape of a one-output network's logit, as
        ``binary_cross_entropy_with_logits`` wants), ``X_test``, ``y_test`` likewise.
    """
    num_train, num_test = _check_sizes(num_train, num_test)
    num_inputs = check_positive_int(num_inputs, "num_inputs")
    check_positive(mean, "mean")
    check_positive(std, "std")
    g = torch.Generator().manual_seed(check_seed(seed))

    def split(n):
        y = (torch.arange(n) % 2)[torch.randperm(n, generator=g)]  # balanced, shuffled
        sign = 2 * y.to(torch.float64) - 1  # +1 for class 1, -1 for class 0
        X = sign.unsqueeze(1) * mean + std * torch.randn(n, num_inputs, generator=g,
                                                         dtype=torch.float64)  # (n, D)
        X = X.to(torch.float32)
        _finite_float32(X, because="choose a smaller mean or std")
        return X, y.to(torch.float32).unsqueeze(1)  # (n, D), (n, 1)

    X_train, y_train = split(num_train)
    X_test, y_test = split(num_test)
    return X_train, y_train, X_test, y_test
