"""Logistic and softmax regression and the multilayer perceptron, from scratch and with
``torch.nn``.

Taught in pairs, from scratch then with ``torch.nn``. In ``02_logistic_regression_scratch``
and ``04_softmax_regression_scratch`` the student writes the model as a function,
``logistic_regression(X, w, b)`` and ``softmax_regression(X, W, b)``, checked by
``lk.check`` (``labkit/check/models.py``); in ``03_logistic_regression_nn`` and
``05_softmax_regression_nn`` the ``nn.Module``. The classes here are the reference: 03
trains ``LogisticRegressionScratch`` as the from-scratch twin of the student's module; 05
trains one ``SoftmaxRegression`` with the student's epoch function and with
``lk.train_epoch`` to compare them, and starts its from-scratch twin from
``SoftmaxRegressionScratch`` (notebook 04's initialisation). Lab 2's
``06_mlp_scratch`` / ``07_mlp_nn`` do the same for the multilayer perceptron (``MLPScratch``
/ ``MLP``, with ``lk.check.mlp`` for the student's forward and backward pass).

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

import math
import numbers
from collections.abc import Callable, Sequence

import torch
from torch import nn

from labkit import functional as lf
from labkit._checks import check_generator, check_positive_int, check_tensor, describe

__all__ = [
    "LogisticRegressionScratch",
    "LogisticRegression",
    "SoftmaxRegressionScratch",
    "SoftmaxRegression",
    "MLPScratch",
    "MLP",
    "ACTIVATIONS",
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
        X = X.flatten(1)  # (N, 1, 28, 28) -> (N, 784); also for N = 0, unlike reshape(N, -1)
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
        """Set the training flag (``MLPScratch``'s dropout follows it; for the others it is
        kept for the loop). ``mode`` must be a bool, as ``nn.Module.train`` requires."""
        if not isinstance(mode, bool):  # bool('no') is True: refused, as nn.Module does
            raise ValueError(
                f"training mode is expected to be boolean: mode must be True or False, "
                f"got {describe(mode)}"
            )
        self.training = mode
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
        check_generator(generator)
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
        check_generator(generator)
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


# ---------------------------------------------------------------- lab 2: the MLP

# The hidden-layer activations by name: labkit's from-scratch function (for MLPScratch)
# and the torch.nn module that computes the same thing (for MLP).
ACTIVATIONS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], type[nn.Module]]] = {
    "relu": (lf.relu, nn.ReLU),
    "leaky_relu": (lf.leaky_relu, nn.LeakyReLU),
    "tanh": (lf.tanh, nn.Tanh),
    "elu": (lf.elu, nn.ELU),
    "sigmoid": (lf.sigmoid, nn.Sigmoid),
    "identity": (lambda H: H, nn.Identity),  # no activation: the network stays linear
}

INITS = ("default", "xavier", "kaiming")


def _check_hiddens(num_hiddens) -> tuple[int, ...]:
    if isinstance(num_hiddens, numbers.Integral) and not isinstance(num_hiddens, bool):
        num_hiddens = (num_hiddens,)
    if not isinstance(num_hiddens, Sequence) or isinstance(num_hiddens, str):
        raise TypeError(
            f"num_hiddens must be a sequence of layer widths such as (256,) or (256, 128), "
            f"got {describe(num_hiddens)}"
        )
    return tuple(check_positive_int(h, f"num_hiddens[{i}]") for i, h in enumerate(num_hiddens))


def _check_dropout(dropout, num_layers: int) -> tuple[float, ...]:
    """One dropout probability per hidden layer, each in [0, 1)."""
    values = [dropout] * num_layers if isinstance(dropout, numbers.Real) else dropout
    if isinstance(dropout, bool) or not isinstance(values, Sequence) or isinstance(values, str):
        raise TypeError(
            f"dropout must be a probability or one per hidden layer, got {describe(dropout)}"
        )
    if len(values) != num_layers:
        raise ValueError(
            f"dropout must give one probability per hidden layer ({num_layers}), got "
            f"{len(values)}: {list(values)!r}"
        )
    for i, p in enumerate(values):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise ValueError(f"dropout[{i}] must be a probability in [0, 1), got {p!r}")
    return tuple(float(p) for p in values)


def _check_init(init):
    if isinstance(init, str):
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS} or a standard deviation > 0, "
                             f"got {init!r}")
        return init
    if isinstance(init, bool) or not isinstance(init, numbers.Real):
        raise TypeError(f"init must be one of {INITS} or a standard deviation > 0, "
                        f"got {describe(init)}")
    if not (math.isfinite(init) and init > 0):
        raise ValueError(f"init as a standard deviation must be > 0, got {init!r}")
    return float(init)


def _check_activation(activation, *, allow_callable: bool):
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}"
            )
        return activation
    if allow_callable and callable(activation):
        return activation
    expected = f"one of {tuple(ACTIVATIONS)}" + (" or a function" if allow_callable else "")
    raise TypeError(f"activation must be {expected}, got {describe(activation)}")


def _draw_linear(fan_in: int, fan_out: int, init, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One layer's weight ``(fan_out, fan_in)`` (``nn.Linear``'s shape) and bias
    ``(fan_out,)``, drawn in that order from ``generator`` (or torch's global generator).

    - ``"default"``: ``nn.Linear``'s own initialisation, weight and bias uniform in
      ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]``;
    - ``"xavier"``: weight uniform in ``[-a, a]``, ``a = sqrt(6 / (fan_in + fan_out))``
      (Glorot: keeps the variance of tanh/sigmoid layers), bias 0;
    - ``"kaiming"``: weight ``N(0, 2 / fan_in)`` (He: keeps the variance of ReLU layers),
      bias 0;
    - a number ``s``: weight ``N(0, s^2)`` (d2l and the seeds use 0.01), bias 0.
    """
    dtype = torch.get_default_dtype()

    def uniform(shape, bound):
        return (torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * bound

    if init == "default":
        bound = 1 / math.sqrt(fan_in)
        return uniform((fan_out, fan_in), bound), uniform((fan_out,), bound)
    if init == "xavier":
        weight = uniform((fan_out, fan_in), math.sqrt(6 / (fan_in + fan_out)))
    else:
        std = math.sqrt(2 / fan_in) if init == "kaiming" else init
        weight = torch.randn((fan_out, fan_in), generator=generator, dtype=dtype) * std
    return weight, torch.zeros(fan_out, dtype=dtype)


def _mlp_config(num_inputs, num_hiddens, num_outputs, activation, dropout, init,
                allow_callable, generator=None):
    num_inputs = check_positive_int(num_inputs, "num_inputs")
    num_hiddens = _check_hiddens(num_hiddens)
    num_outputs = check_positive_int(num_outputs, "num_outputs")
    activation = _check_activation(activation, allow_callable=allow_callable)
    dropout = _check_dropout(dropout, len(num_hiddens))
    init = _check_init(init)
    check_generator(generator)
    return num_inputs, num_hiddens, num_outputs, activation, dropout, init


def _mlp_repr(name, net) -> str:
    act = net.activation if isinstance(net.activation, str) else getattr(
        net.activation, "__name__", repr(net.activation))
    extra = f", dropout={net.dropout}" if any(net.dropout) else ""
    return (f"{name}(num_inputs={net.num_inputs}, num_hiddens={net.num_hiddens}, "
            f"num_outputs={net.num_outputs}, activation={act!r}{extra})")


class MLPScratch(_ScratchModel):
    """A multilayer perceptron from raw tensors: a list of weights ``W`` and biases ``b``.

    For hidden widths ``(h_1, ..., h_L)``::

        H_0 = X.reshape(N, D)                                   # (N, D)
        H_l = dropout(activation(H_{l-1} @ W[l-1] + b[l-1]))    # (N, h_l), l = 1 .. L
        logits = H_L @ W[L] + b[L]                              # (N, C), no activation

    Args:
        num_inputs: ``D`` (784 for 28x28 images).
        num_hiddens: the hidden widths, e.g. ``(256,)`` or ``(256, 128)``; an int for one
            hidden layer; ``()`` gives softmax regression.
        num_outputs: ``C`` (10 classes; 1 for regression or a binary logit).
        activation: a name from ``ACTIVATIONS`` (``"relu"``, ``"leaky_relu"``, ``"tanh"``,
            ``"elu"``, ``"sigmoid"``, ``"identity"``) or any function of a tensor (then
            ``to_nn`` is not available).
        dropout: the probability of dropping each hidden unit while training, one for all
            hidden layers or one per layer (default 0: none). Off in ``eval()`` mode.
        init: ``"default"`` (``nn.Linear``'s), ``"xavier"``, ``"kaiming"`` or a standard
            deviation; see ``_draw_linear``.
        generator: optional ``torch.Generator``; without it torch's global generator is used.

    Parameters: ``W[l]`` ``(fan_in, fan_out)`` and ``b[l]`` ``(fan_out,)``, in the default
    dtype, ``requires_grad=True``; ``parameters()`` is ``[W[0], b[0], W[1], b[1], ...]``,
    the order of the ``MLP`` twin's ``parameters()``.

    The twin: ``MLP(...)`` with the same arguments and the same generator state draws
    exactly the same numbers (``torch.manual_seed(0)`` before each gives equal networks),
    and ``to_nn()`` copies these weights into an ``MLP``.
    """

    def __init__(self, num_inputs: int = 784, num_hiddens: Sequence[int] | int = (256,),
                 num_outputs: int = 10, activation: str | Callable = "relu", *,
                 dropout: float | Sequence[float] = 0.0, init: str | float = "default",
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        (self.num_inputs, self.num_hiddens, self.num_outputs, self.activation, self.dropout,
         self.init) = _mlp_config(num_inputs, num_hiddens, num_outputs, activation, dropout,
                                  init, allow_callable=True, generator=generator)
        self._act = (ACTIVATIONS[activation][0] if isinstance(activation, str)
                     else activation)
        sizes = (self.num_inputs, *self.num_hiddens, self.num_outputs)
        self.W: list[torch.Tensor] = []
        self.b: list[torch.Tensor] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            weight, bias = _draw_linear(fan_in, fan_out, self.init, generator)
            # weight is (fan_out, fan_in), row-major; its transpose W (fan_in, fan_out) is
            # stored column by column, nn.Linear's layout, in which X @ W and the weight
            # gradient run fastest (see SoftmaxRegressionScratch)
            self.W.append(weight.T.requires_grad_(True))
            self.b.append(bias.requires_grad_(True))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X: (N, 1, 28, 28)`` or ``(N, D)`` -> logits ``(N, C)``."""
        H = _check_features(X, self.num_inputs, self.W[0].dtype, flatten=True)  # (N, D)
        for W, b, p in zip(self.W[:-1], self.b[:-1], self.dropout):
            H = self._act(H @ W + b)  # (N, h_l)
            if p > 0:
                H = lf.dropout(H, p, self.training)
        return H @ self.W[-1] + self.b[-1]  # (N, C)

    def parameters(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.W, self.b) for t in pair]

    def to_nn(self) -> MLP:
        """An ``MLP`` with a copy of these weights (same dtype and device)."""
        if not isinstance(self.activation, str):
            raise ValueError(
                f"to_nn needs a named activation (one of {tuple(ACTIVATIONS)}) to pick the "
                f"torch.nn module; this network uses the function {self.activation!r}"
            )
        W0 = self.W[0]
        net = MLP(self.num_inputs, self.num_hiddens, self.num_outputs, self.activation,
                  dropout=self.dropout, init=self.init,
                  generator=torch.Generator().manual_seed(0)).to(W0.device, W0.dtype)
        with torch.no_grad():
            for linear, W, b in zip(net.linears, self.W, self.b):
                linear.weight.copy_(W.detach().T)  # (fan_in, fan_out) -> (fan_out, fan_in)
                linear.bias.copy_(b.detach())
        return net

    def __repr__(self) -> str:
        return _mlp_repr("MLPScratch", self)


class MLP(nn.Sequential):
    """The multilayer perceptron with ``torch.nn``: the twin of ``MLPScratch``.

    ``nn.Sequential(nn.Flatten(), nn.Linear(D, h_1), act, [nn.Dropout(p)], ...,
    nn.Linear(h_L, C))``, with the same arguments as ``MLPScratch`` (the activation by
    name: ``"relu"`` is ``nn.ReLU()``, ...). It draws its initial weights with the same
    function, in the same order, from the same generator, so that after
    ``torch.manual_seed(s)`` (or with equal generators) ``MLP(...)`` and
    ``MLPScratch(...)`` hold exactly the same numbers (``linears[l].weight`` is
    ``W[l].T``). ``nn.Linear``'s own random initialisation is skipped
    (``nn.utils.skip_init``), so it does not consume random numbers first.

    Returns logits ``(N, C)`` for ``X`` ``(N, 1, 28, 28)`` or ``(N, D)``.
    """

    def __init__(self, num_inputs: int = 784, num_hiddens: Sequence[int] | int = (256,),
                 num_outputs: int = 10, activation: str = "relu", *,
                 dropout: float | Sequence[float] = 0.0, init: str | float = "default",
                 generator: torch.Generator | None = None) -> None:
        config = _mlp_config(num_inputs, num_hiddens, num_outputs, activation, dropout, init,
                             allow_callable=False, generator=generator)
        sizes = (config[0], *config[1], config[2])
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = nn.utils.skip_init(nn.Linear, fan_in, fan_out)
            weight, bias = _draw_linear(fan_in, fan_out, config[5], generator)
            with torch.no_grad():
                linear.weight.copy_(weight)
                linear.bias.copy_(bias)
            layers.append(linear)
            if i < len(config[1]):  # a hidden layer: activation, then dropout
                layers.append(ACTIVATIONS[config[3]][1]())
                if config[4][i] > 0:
                    layers.append(nn.Dropout(config[4][i]))
        super().__init__(*layers)
        (self.num_inputs, self.num_hiddens, self.num_outputs, self.activation, self.dropout,
         self.init) = config

    @property
    def linears(self) -> list[nn.Linear]:
        """The ``nn.Linear`` layers in order (``linears[l]`` is the twin of ``W[l], b[l]``)."""
        return [m for m in self if isinstance(m, nn.Linear)]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``X: (N, 1, 28, 28)`` or ``(N, D)`` -> logits ``(N, C)``."""
        first = self[1]  # the first nn.Linear (after the Flatten)
        _check_features(X, self.num_inputs, first.weight.dtype, flatten=True)  # clear errors
        return super().forward(X)

    def extra_repr(self) -> str:
        return _mlp_repr("MLP", self)[4:-1]
