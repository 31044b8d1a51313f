"""Datasets and minibatches: the seeds' synthetic sets, Fashion-MNIST and MNIST with their
offline stand-ins, an IDX reader, and fast in-memory batches.

Modules (each imports only modules listed above it, and ``labkit._checks``):

- ``synthetic``: ``make_logistic_data``, ``make_gaussian_clusters``, ``data_iter``
  (``02_logistic_regression_scratch``); lab 2's ``make_regression_data`` and
  ``make_binary_data`` (``06_mlp_scratch``).
- ``idx``: ``read_idx`` / ``write_idx`` with integrity checks, atomic writes, the clean-up
  of abandoned temporary files.
- ``standin``: the procedurally drawn offline stand-in for Fashion-MNIST (and the writer
  both stand-ins share).
- ``mnist_standin``: the offline stand-in for MNIST, handwritten-looking digits.
- ``idx_datasets``: the one data path of torchvision's IDX image sets: find, download,
  check, verified cache, stand-in fallback (``IDXDatasetSpec`` describes a set).
- ``fashion_mnist``: ``load_fashion_mnist`` (real, stand-in or auto), ``text_labels``.
- ``mnist``: ``load_mnist`` (lab 2).
- ``loader``: ``InMemoryLoader`` (``02_logistic_regression_scratch``),
  ``load_data_fashion_mnist`` (``04_softmax_regression_scratch``), ``load_data_mnist``,
  ``torchvision_datasets`` (``05_softmax_regression_nn``).
"""

from labkit.data.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    FashionMNISTData,
    check_fashion_mnist,
    data_status,
    format_data_status,
    load_fashion_mnist,
    text_labels,
)
from labkit.data.idx import DataPermissionError, IDXError, read_idx, write_idx
from labkit.data.idx_datasets import (
    CacheWarning,
    DatasetNotFoundError,
    IDXDatasetSpec,
    ImageData,
    StandInWarning,
    default_data_root,
)
from labkit.data.loader import (
    DATASETS,
    InMemoryLoader,
    load_data_fashion_mnist,
    load_data_mnist,
    torchvision_datasets,
)
from labkit.data.mnist import MNIST_CLASSES, MNISTData, check_mnist, load_mnist
from labkit.data.mnist_standin import generate_mnist_standin, write_mnist_standin
from labkit.data.standin import generate_standin, write_standin
from labkit.data.synthetic import (
    data_iter,
    make_binary_data,
    make_gaussian_clusters,
    make_logistic_data,
    make_regression_data,
)

__all__ = [
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "MNIST_CLASSES",
    "CacheWarning",
    "DataPermissionError",
    "DatasetNotFoundError",
    "FashionMNISTData",
    "IDXDatasetSpec",
    "IDXError",
    "ImageData",
    "InMemoryLoader",
    "MNISTData",
    "StandInWarning",
    "check_fashion_mnist",
    "check_mnist",
    "data_iter",
    "data_status",
    "default_data_root",
    "format_data_status",
    "generate_mnist_standin",
    "generate_standin",
    "load_data_fashion_mnist",
    "load_data_mnist",
    "load_fashion_mnist",
    "load_mnist",
    "make_gaussian_clusters",
    "make_logistic_data",
    "make_binary_data",
    "make_regression_data",
    "read_idx",
    "text_labels",
    "torchvision_datasets",
    "write_idx",
    "write_mnist_standin",
    "write_standin",
]
