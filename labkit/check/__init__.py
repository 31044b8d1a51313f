"""Checks that teach: one checker per function a student writes in the notebooks.

``lk.check.sigmoid(sigmoid)`` runs the battery labkit's own tests use on the student's
function: values and gradients against PyTorch in float64, random and extreme inputs
(+-100, +-1e4) in float64 and float32, shapes and dtypes, properties (rows sum to 1, shift
invariance), update rules step by step, full passes over data with nothing dropped or
repeated, and a check that the function still works when PyTorch's and labkit's own
version of it are unavailable (it is built from elementary operations).

- On success a checker prints one line (``sigmoid: all 8 checks passed``) and returns
  ``None``.
- On failure it raises ``AssertionError`` listing every failed check with a hint that
  names the fix. If the function raises (``NotImplementedError`` in the student edition),
  that is one clear failed check.

Checkers are deterministic (their own seeded generators) and leave the caller's state
alone: the global random generators (torch, ``random``, NumPy), torch's thread count, grad
mode and default dtype, and every function they make unavailable are restored afterwards,
whatever happens. Output the student's function prints while it is checked is hidden.

Layout (mirrors labkit's): ``_core`` holds the machinery; one module per topic holds the
checkers: ``functional`` (sigmoid, softmax, log_softmax, the losses), ``data``
(make_logistic_data, data_iter), ``models`` (logistic_regression, softmax_regression),
``optim`` (sgd), ``metrics`` (accuracy, evaluate_accuracy) and ``train`` (train_epoch).
Lab 2 adds ``activations`` (relu, leaky_relu, tanh, elu), ``mlp`` (mse_loss, mlp,
mlp_loss_and_grads: the forward and the hand-written backward pass), ``regularization``
(dropout), ``adaptive`` (sgd_momentum, rmsprop, adam) and ``selection`` (kfold_indices).
A new checker defines ``build()``, which creates a
``_core.Checker`` (the name, the signature the notebook states, the functions the student
must not use) and runs its checks with ``Checker.run`` (each check raises
``Fail(problem, fix)``), then calls ``run_checker(build)``, which protects the caller's state
and reports. It goes in the module of its topic (or a new one), is exported here, and its
known bugs go in ``tests/known_bugs.py`` (lab 1) or ``tests/known_bugs_lab2.py``.
"""

from labkit.check.activations import elu, leaky_relu, relu, tanh
from labkit.check.adaptive import adam, rmsprop, sgd_momentum
from labkit.check.data import data_iter, make_logistic_data
from labkit.check.functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_softmax,
    sigmoid,
    softmax,
)
from labkit.check.metrics import accuracy, evaluate_accuracy
from labkit.check.mlp import mlp, mlp_loss_and_grads, mse_loss
from labkit.check.models import logistic_regression, softmax_regression
from labkit.check.optim import sgd
from labkit.check.regularization import dropout
from labkit.check.selection import kfold_indices
from labkit.check.train import train_epoch

__all__ = [
    # notebook 02
    "make_logistic_data",
    "data_iter",
    "sigmoid",
    "logistic_regression",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "sgd",
    "accuracy",
    "train_epoch",
    # notebook 04
    "softmax",
    "log_softmax",
    "softmax_regression",
    "cross_entropy",
    "evaluate_accuracy",
    # lab 2, notebook 06
    "relu",
    "leaky_relu",
    "tanh",
    "elu",
    "mse_loss",
    "mlp",
    "mlp_loss_and_grads",
    # lab 2, notebook 07
    "sgd_momentum",
    "rmsprop",
    "adam",
    # lab 2, notebook 08
    "dropout",
    "kfold_indices",
]
