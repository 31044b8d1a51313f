"""MNIST: the handwritten digits, through the same data path as Fashion-MNIST.

Introduced in lab 2 (feed-forward networks). Layout under the data root (torchvision's)::

    MNIST/raw/train-images-idx3-ubyte[.gz]    the real set, gzipped or extracted
    MNIST/raw/train-labels-idx1-ubyte[.gz]
    MNIST/raw/t10k-images-idx3-ubyte[.gz]
    MNIST/raw/t10k-labels-idx1-ubyte[.gz]
    MNIST/processed/labkit-cache.pt           labkit's verified tensor cache
    MNIST-standin/raw/...                     the offline stand-in (labkit.data.mnist_standin)

``load_mnist(source=...)`` behaves exactly like ``load_fashion_mnist``: ``"real"`` (downloaded
through ``torchvision.datasets.MNIST``, which checks the files' MD5 sums), ``"synthetic"``
(handwritten-looking digits drawn offline), ``"auto"`` (real when present or downloadable,
else the stand-in with a ``StandInWarning``). ``LABKIT_OFFLINE`` and ``LABKIT_DATA`` work
the same, and so do the checks, the verified cache and the errors: both sets are loaded by
``labkit.data.idx_datasets``; this module only describes MNIST (``MNIST``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from labkit.data import idx_datasets
from labkit.data.idx_datasets import IDXDatasetSpec, ImageData
from labkit.data.mnist_standin import (
    MNIST_STANDIN_FOLDER,
    MNIST_STANDIN_GENERATOR,
    MNIST_STANDIN_VERSION,
    write_mnist_standin,
)

__all__ = ["MNIST", "MNIST_CLASSES", "MNISTData", "load_mnist", "check_mnist",
           "mnist_data_status"]

PathLike = Union[str, "os.PathLike[str]"]

#: The ten class names: the digits themselves, ``MNIST_CLASSES[label] == str(label)``.
MNIST_CLASSES = tuple(str(d) for d in range(10))


class MNISTData(ImageData):
    """The four tensors of MNIST (or its stand-in) and where they came from.

    Attributes:
        train_images: uint8 ``(N_train, 28, 28)``, values 0..255 (ink is bright).
        train_labels: int64 ``(N_train,)``, the digits 0..9.
        test_images: uint8 ``(N_test, 28, 28)``.
        test_labels: int64 ``(N_test,)``.
        classes: ``("0", "1", ..., "9")``.
        source: ``"real"`` or ``"synthetic"`` (the stand-in).
        raw_folder: the folder holding the raw IDX files.
        from_cache: whether the tensors came from ``processed/labkit-cache.pt`` (verified).
        cache_status: what happened to the cache on this load, in words.
    """


def _write_standin(root: Path) -> Path:
    return write_mnist_standin(root)  # looked up at call time: tests may swap it


#: MNIST as the shared IDX data path sees it.
MNIST = IDXDatasetSpec(
    name="MNIST",
    key="mnist",
    folder="MNIST",
    classes=MNIST_CLASSES,
    torchvision_class="MNIST",
    homepage="https://ossci-datasets.s3.amazonaws.com/mnist/ or "
             "http://yann.lecun.com/exdb/mnist/",
    standin_folder=MNIST_STANDIN_FOLDER,
    write_standin=_write_standin,
    standin_generator=MNIST_STANDIN_GENERATOR,
    standin_version=MNIST_STANDIN_VERSION,
    standin_description="handwritten-looking digits drawn by labkit",
    data_class=MNISTData,
)


def load_mnist(root: PathLike | None = None, source: str = "auto",
               download: bool = True) -> MNISTData:
    """Load MNIST (or its offline stand-in) as four tensors.

    Args:
        root: the data folder; ``None`` uses ``default_data_root()`` (``$LABKIT_DATA``,
            else the checkout's ``data/``, else ``./data``).
        source: ``"real"``, ``"synthetic"`` (the stand-in) or ``"auto"`` (real when present
            or downloadable, else the stand-in with a ``StandInWarning``).
        download: whether missing real files may be downloaded (via torchvision).

    Returns:
        ``MNISTData`` with ``train_images`` uint8 ``(N, 28, 28)``, ``train_labels`` int64
        ``(N,)``, ``test_images``, ``test_labels``, ``classes`` (``"0"`` .. ``"9"``),
        ``source``, ``raw_folder``.

    Raises:
        DatasetNotFoundError: ``source="real"`` and the files are missing and could not be
            downloaded (the message says where to put them).
        IDXError: a raw file is truncated or corrupt, image and label counts differ, or a
            label is outside 0..9 (the message names the file and the fix).
        DataPermissionError: a raw file may not be read, or the stand-in must be generated
            in a folder that may not be written (the message says what to change).
    """
    return idx_datasets.load(MNIST, root, source, download)


def check_mnist(root: PathLike | None = None, source: str = "auto") -> MNISTData:
    """Re-read and re-check MNIST's raw files and verify (or rebuild) the tensor cache; see
    ``labkit.data.fashion_mnist.check_fashion_mnist``."""
    return idx_datasets.check(MNIST, root, source)


def mnist_data_status(root: PathLike | None = None) -> dict:
    """Where the MNIST data is and what is there; reads no data file."""
    return idx_datasets.status(MNIST, root)
