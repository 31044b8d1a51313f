"""labkit: logistic and softmax regression, from scratch and with ``torch.nn``.

``import labkit as lk`` gives everything the notebooks use. The package is layered and
imports only run downward:

- bottom: ``_checks`` (argument validation), imported by everything;
- one module per concept above it: ``functional`` (from-scratch math), ``optim`` (SGD),
  ``models``, ``plot`` and the ``data`` subpackage; none imports another;
- ``loop``: the machinery of the training and evaluation loops (threads, batches, the
  loss's reduction, non-finite checks), on ``_checks``;
- ``metrics`` (accuracy, confusion matrix, the evaluation loop), on ``loop``;
- ``train``, on ``loop`` and ``metrics`` (and ``plot`` for live curves);
- ``cli`` on top (the ``labkit`` command), which nothing else imports.
"""

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
    make_gaussian_clusters,
    make_logistic_data,
    read_idx,
    text_labels,
    torchvision_datasets,
    write_idx,
)
from labkit.functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_softmax,
    sigmoid,
    softmax,
    softplus,
)
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
    LogisticRegression,
    LogisticRegressionScratch,
    SoftmaxRegression,
    SoftmaxRegressionScratch,
)
from labkit.optim import SGD, sgd
from labkit.plot import (
    Animator,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
    show_images,
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
    # optim
    "SGD",
    "sgd",
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
    # training
    "train_epoch",
    "train",
    "History",
    "NonFiniteLossError",
    "NonFiniteInputError",
    "TrainingInterrupted",
    # plots
    "plot_history",
    "Animator",
    "show_images",
    "plot_decision_boundary",
    "plot_confusion_matrix",
    # data
    "make_logistic_data",
    "make_gaussian_clusters",
    "data_iter",
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
]
