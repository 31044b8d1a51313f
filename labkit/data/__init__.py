"""Datasets and minibatches: the seeds' synthetic sets, Fashion-MNIST and its offline
stand-in, an IDX reader, and fast in-memory batches.

Modules (each imports nothing above ``labkit._checks``):

- ``synthetic``: ``make_logistic_data``, ``make_gaussian_clusters``, ``data_iter``
  (``02_logistic_regression_scratch``); lab 2's ``make_regression_data`` and
  ``make_binary_data`` (``06_mlp_scratch``).
- ``idx``: ``read_idx`` / ``write_idx`` with integrity checks.
- ``standin``: the procedurally drawn offline stand-in for Fashion-MNIST.
- ``fashion_mnist``: ``load_fashion_mnist`` (real, stand-in or auto), ``text_labels``.
- ``loader``: ``InMemoryLoader`` (``02_logistic_regression_scratch``),
  ``load_data_fashion_mnist`` (``04_softmax_regression_scratch``), ``torchvision_datasets``
  (``05_softmax_regression_nn``).
"""

from labkit.data.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    DatasetNotFoundError,
    FashionMNISTData,
    StandInWarning,
    check_fashion_mnist,
    data_status,
    default_data_root,
    format_data_status,
    load_fashion_mnist,
    text_labels,
)
from labkit.data.idx import IDXError, read_idx, write_idx
from labkit.data.loader import InMemoryLoader, load_data_fashion_mnist, torchvision_datasets
from labkit.data.standin import generate_standin, write_standin
from labkit.data.synthetic import (
    data_iter,
    make_binary_data,
    make_gaussian_clusters,
    make_logistic_data,
    make_regression_data,
)

__all__ = [
    "FASHION_MNIST_CLASSES",
    "DatasetNotFoundError",
    "FashionMNISTData",
    "IDXError",
    "InMemoryLoader",
    "StandInWarning",
    "check_fashion_mnist",
    "data_iter",
    "data_status",
    "default_data_root",
    "format_data_status",
    "generate_standin",
    "load_data_fashion_mnist",
    "load_fashion_mnist",
    "make_gaussian_clusters",
    "make_logistic_data",
    "make_binary_data",
    "make_regression_data",
    "read_idx",
    "text_labels",
    "torchvision_datasets",
    "write_idx",
    "write_standin",
]
