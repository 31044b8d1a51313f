"""Logistic and softmax regression, from scratch and with ``torch.nn``.

Introduced in pairs: ``02_logistic_regression_scratch`` / ``03_logistic_regression_nn``
and ``04_softmax_regression_scratch`` / ``05_softmax_regression_nn``. The notebooks show
this source instead of redefining the models.

Every model returns LOGITS (scores before the sigmoid / softmax). The losses take logits
(``binary_cross_entropy_with_logits``, ``cross_entropy``) and apply the nonlinearity in a
numerically stable way; ``sigmoid(logits)`` / ``softmax(logits)`` give probabilities.

A scratch model is a plain object holding raw tensors ``w, b`` (or ``W, b``) with
``requires_grad=True``. It offers the few methods the training loop needs from a model
(``parameters()``, ``to(device)``, ``train()``, ``eval()``) and ``to_nn()``, which builds
the ``torch.nn`` twin with the same weights: both then compute the same logits.

Shapes: ``N`` examples, ``D`` inputs (features), ``C`` outputs (classes).
"""

from __future__ import annotations

import torch
from torch import nn

from labkit._checks import check_positive_int, check_tensor

__all__ = [
    "LogisticRegressionScratch",
    "LogisticRegression",
    "SoftmaxRegressionScratch",
    "SoftmaxRegression",
]


def _check_features(X, num_inputs: int, dtype: torch.dtype, *, flatten: bool) -> torch.Tensor:
    """``X`` as ``(N, D)`` in the parameters' ``dtype``; with ``flatten`` any ``(N, ...)``
    with ``D`` values per example."""
    check_tensor(X, "X")
    if not X.is_floating_point():
        hint = ("; scale images once with X.float() / 255 (lk.InMemoryLoader does it for you)"
                if X.dtype == torch.uint8 else f"; convert it with X.to({dtype})")
        raise TypeError(f"X must be a floating-point tensor of dtype {dtype}, got dtype "
                        f"{X.dtype}{hint}")
    if X.dtype != dtype:
        convert = "X.float()" if dtype == torch.float32 else f"X.to({dtype})"
        raise TypeError(
            f"X has dtype {X.dtype} but the model's parameters are {dtype}: convert the "
            f"features with {convert} (or build the model in {X.dtype})"
        )
    if flatten and X.dim() >= 2:
        X = X.reshape(X.shape[0], -1)  # (N, 1, 28, 28) -> (N, 784)
    if X.dim() != 2 or X.shape[1] != num_inputs:
        expected = f"(N, {num_inputs})" + (" or (N, ...) with that many values" if flatten
                                          else "")
        raise ValueError(f"X must have shape {expected}, got shape {tuple(X.shape)}")
    return X


class _ScratchModel:
    """What the scratch models share: a parameter list, ``to``, ``train``/``eval``."""

    def __init__(self) -> None:
        self.training = True

    def parameters(self) -> list[torch.Tensor]:
        raise NotImplementedError

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        return self.forward(X)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def to(self, device):
        """Move the parameters to ``device`` in place and return ``self``.

        ``param.data`` is replaced, so the tensor objects stay the same: a list captured
        earlier (``params = net.parameters()``, an optimizer, a closure) stays valid.
        """
        with torch.no_grad():
            for p in self.parameters():
                p.data = p.data.to(device)
                if p.grad is not None:
                    p.grad = p.grad.to(device)
        return self

    def train(self, mode: bool = True):
        """Set the training flag (nothing behaves differently here; kept for the loop)."""
        self.training = bool(mode)
        return self

    def eval(self):
        """Same as ``train(False)``."""
        return self.train(False)


class LogisticRegressionScratch(_ScratchModel):
    """Logistic regression from raw tensors: ``logits = X @ w + b``.

    ``P(y = 1 | x) = sigmoid(x @ w + b)``; the model returns the logit, not the probability.

    Args:
        num_inputs: ``D``, the number of features.
        generator: optional ``torch.Generator`` for a reproducible initialization.

    Parameters: ``w`` ``(D,)`` drawn from ``N(0, 0.01^2)``, ``b`` a 0-d zero; both with
    ``requires_grad=True``, in the default dtype.
    """

    def __init__(self, num_inputs: int, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.num_inputs = check_positive_int(num_inputs, "num_inputs")
        self.w = torch.normal(0.0, 0.01, size=(self.num_inputs,), generator=generator)
        self.w.requires_grad_(True)
        self.b = torch.zeros((), requires_grad=True)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X: (N, D)`` -> logits ``(N,)``."""
        X = _check_features(X, self.num_inputs, self.w.dtype, flatten=False)
        return X @ self.w + self.b  # (N, D) @ (D,) -> (N,)

    def parameters(self) -> list[torch.Tensor]:
        return [self.w, self.b]

    def to_nn(self) -> LogisticRegression:
        """A ``LogisticRegression`` module with a copy of these weights (same dtype, device)."""
        net = LogisticRegression(self.num_inputs).to(device=self.w.device, dtype=self.w.dtype)
        with torch.no_grad():
            net.linear.weight.copy_(self.w.detach().reshape(1, -1))  # (D,) -> (1, D)
            net.linear.bias.copy_(self.b.detach().reshape(1))  # () -> (1,)
        return net

    def __repr__(self) -> str:
        return f"LogisticRegressionScratch(num_inputs={self.num_inputs})"


class LogisticRegression(nn.Module):
    """Logistic regression with ``torch.nn``: one ``nn.Linear(D, 1)``, logits ``(N,)``.

    Initialized like the scratch model (weight ``N(0, 0.01^2)``, bias 0) so that the two
    start from the same kind of point; ``LogisticRegressionScratch.to_nn()`` copies exact
    weights.
    """

    def __init__(self, num_inputs: int) -> None:
        super().__init__()
        self.num_inputs = check_positive_int(num_inputs, "num_inputs")
        self.linear = nn.Linear(self.num_inputs, 1)
        nn.init.normal_(self.linear.weight, mean=0.0, std=0.01)
        nn.init.zeros_(self.linear.bias)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X: (N, D)`` -> logits ``(N,)``."""
        X = _check_features(X, self.num_inputs, self.linear.weight.dtype, flatten=False)
        return self.linear(X).squeeze(1)  # (N, 1) -> (N,), the shape of y


class SoftmaxRegressionScratch(_ScratchModel):
    """Softmax regression from raw tensors: ``logits = X.reshape(N, D) @ W + b``.

    ``P(y = j | x) = softmax(x @ W + b)_j``; the model returns the logits.

    Args:
        num_inputs: ``D`` (784 for 28x28 images).
        num_outputs: ``C``, the number of classes (10 for Fashion-MNIST).
        generator: optional ``torch.Generator`` for a reproducible initialization.

    Parameters: ``W`` ``(D, C)`` drawn from ``N(0, 0.01^2)``, ``b`` zeros ``(C,)``; both
    with ``requires_grad=True``, in the default dtype.
    """

    def __init__(self, num_inputs: int = 784, num_outputs: int = 10, *,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.num_inputs = check_positive_int(num_inputs, "num_inputs")
        self.num_outputs = check_positive_int(num_outputs, "num_outputs")
        W = torch.normal(0.0, 0.01, size=(self.num_inputs, self.num_outputs),
                         generator=generator)  # (D, C), stored row by row
        # Same values and shape (D, C), stored column by column (strides (1, D)), the way
        # nn.Linear stores its (C, D) weight and uses it as weight.T. With this layout the
        # CPU matrix-multiply library runs X @ W and the gradient X.T @ grad (which autograd
        # computes as (grad.T @ X).T for such a W) about 2.5x faster: one epoch of softmax
        # regression on 60,000 images drops from ~0.32 s to ~0.21 s (benchmarks/RESULTS.md).
        self.W = W.T.contiguous().T.requires_grad_(True)
        self.b = torch.zeros(self.num_outputs, requires_grad=True)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X: (N, 1, 28, 28)`` or ``(N, D)`` -> logits ``(N, C)``."""
        X = _check_features(X, self.num_inputs, self.W.dtype, flatten=True)  # (N, D)
        return X @ self.W + self.b  # (N, D) @ (D, C) + (C,) -> (N, C)

    def parameters(self) -> list[torch.Tensor]:
        return [self.W, self.b]

    def to_nn(self) -> SoftmaxRegression:
        """A ``SoftmaxRegression`` module with a copy of these weights (same dtype, device).

        ``nn.Linear`` stores its weight as ``(C, D)`` and computes ``X @ weight.T``, so it
        receives ``W.T``.
        """
        net = SoftmaxRegression(self.num_inputs, self.num_outputs).to(
            device=self.W.device, dtype=self.W.dtype)
        with torch.no_grad():
            net.linear.weight.copy_(self.W.detach().T)  # (D, C) -> (C, D)
            net.linear.bias.copy_(self.b.detach())
        return net

    def __repr__(self) -> str:
        return (f"SoftmaxRegressionScratch(num_inputs={self.num_inputs}, "
                f"num_outputs={self.num_outputs})")


class SoftmaxRegression(nn.Module):
    """Softmax regression with ``torch.nn``: ``nn.Flatten`` then ``nn.Linear(D, C)``.

    Initialized like the scratch model: weight ``N(0, 0.01^2)``, bias 0. Returns logits
    ``(N, C)``; ``nn.CrossEntropyLoss`` applies the (log-)softmax itself.
    """

    def __init__(self, num_inputs: int = 784, num_outputs: int = 10) -> None:
        super().__init__()
        self.num_inputs = check_positive_int(num_inputs, "num_inputs")
        self.num_outputs = check_positive_int(num_outputs, "num_outputs")
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(self.num_inputs, self.num_outputs)
        nn.init.normal_(self.linear.weight, mean=0.0, std=0.01)
        nn.init.zeros_(self.linear.bias)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X: (N, 1, 28, 28)`` or ``(N, D)`` -> logits ``(N, C)``."""
        # a clear error for a wrong shape or dtype (uint8 images, float64 features)
        _check_features(X, self.num_inputs, self.linear.weight.dtype, flatten=True)
        return self.linear(self.flatten(X))  # (N, 1, 28, 28) -> (N, 784) -> (N, C)
