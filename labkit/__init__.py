"""labkit: logistic and softmax regression and multilayer perceptrons, from scratch and
with ``torch.nn``.

``import labkit as lk`` gives everything the notebooks use. The package is layered and
imports only run downward:

- bottom: ``_checks`` (argument validation), imported by everything;
- one module per concept above it: ``functional`` (from-scratch math), ``optim`` (SGD,
  RMSprop, Adam), ``plot``, ``gradcheck`` (finite differences) and the ``data``
  subpackage; none imports another;
- ``models``, on ``functional`` (the MLP's activations and dropout);
- ``loop``: the machinery of the training and evaluation loops (threads, batches, the
  loss's reduction, non-finite checks), on ``_checks``;
- ``metrics`` (accuracy, confusion matrix, the evaluation loop), on ``loop``;
- ``train``, on ``loop`` and ``metrics`` (``plot`` for live curves, ``monitor`` for
  TensorBoard scalars, each imported only when asked for);
- ``selection`` (validation split, k-fold cross-validation), on ``train``, ``metrics``
  and ``data``;
- ``cli`` on top (the ``labkit`` command), which nothing else imports;
- ``check`` beside it (``lk.check.sigmoid(fn)`` etc.: the checkers of the functions a
  student writes), which nothing else imports either.
"""

from labkit import check
from labkit.data import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    CacheWarning,
    DataPermissionError,
    DatasetNotFoundError,
    FashionMNISTData,
    IDXError,
    InMemoryLoader,
    MNISTData,
    StandInWarning,
    data_iter,
    default_data_root,
    load_data_fashion_mnist,
    load_data_mnist,
    load_fashion_mnist,
    load_mnist,
    make_binary_data,
    make_gaussian_clusters,
    make_logistic_data,
    make_regression_data,
    read_idx,
    text_labels,
    torchvision_datasets,
    write_idx,
)
from labkit.functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    dropout,
    elu,
    leaky_relu,
    log_softmax,
    mse_loss,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from labkit.gradcheck import GradcheckResult, gradcheck, numerical_gradient
from labkit.metrics import (
    Accumulator,
    accuracy,
    confusion_matrix,
    evaluate,
    evaluate_accuracy,
    most_confused,
    per_class_accuracy,
)
from labkit.models import (
    MLP,
    LogisticRegression,
    LogisticRegressionScratch,
    MLPScratch,
    SoftmaxRegression,
    SoftmaxRegressionScratch,
)
from labkit.optim import SGD, Adam, RMSprop, sgd
from labkit.plot import (
    Animator,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_histories,
    plot_history,
    show_images,
)
from labkit.selection import (
    CrossValidationResult,
    cross_validate,
    kfold_indices,
    train_val_split,
)
from labkit.train import (
    History,
    NonFiniteInputError,
    NonFiniteLossError,
    TrainingInterrupted,
    train,
    train_epoch,
)

__version__ = "0.1.0"

__all__ = [
    # functional: from-scratch activations and losses
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
    # optim
    "SGD",
    "sgd",
    "RMSprop",
    "Adam",
    # metrics
    "accuracy",
    "Accumulator",
    "evaluate",
    "evaluate_accuracy",
    "confusion_matrix",
    "per_class_accuracy",
    "most_confused",
    # models
    "LogisticRegressionScratch",
    "LogisticRegression",
    "SoftmaxRegressionScratch",
    "SoftmaxRegression",
    "MLPScratch",
    "MLP",
    # training
    "train_epoch",
    "train",
    "History",
    "NonFiniteLossError",
    "NonFiniteInputError",
    "TrainingInterrupted",
    # gradient checking
    "numerical_gradient",
    "gradcheck",
    "GradcheckResult",
    # model selection
    "train_val_split",
    "kfold_indices",
    "cross_validate",
    "CrossValidationResult",
    # plots
    "plot_history",
    "plot_histories",
    "Animator",
    "show_images",
    "plot_decision_boundary",
    "plot_confusion_matrix",
    # data
    "make_logistic_data",
    "make_gaussian_clusters",
    "data_iter",
    "make_regression_data",
    "make_binary_data",
    "InMemoryLoader",
    "load_fashion_mnist",
    "load_data_fashion_mnist",
    "torchvision_datasets",
    "text_labels",
    "FASHION_MNIST_CLASSES",
    "FashionMNISTData",
    "load_mnist",
    "load_data_mnist",
    "MNIST_CLASSES",
    "MNISTData",
    "default_data_root",
    "read_idx",
    "write_idx",
    "IDXError",
    "DatasetNotFoundError",
    "DataPermissionError",
    "StandInWarning",
    "CacheWarning",
    # the checkers of the student's functions
    "check",
]
