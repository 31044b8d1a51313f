"""Fashion-MNIST: find, download (through torchvision), check and cache the data set.

Introduced in ``04_softmax_regression_scratch``; ``05_softmax_regression_nn`` reuses it.

Layout under the data root (``default_data_root()``: ``$LABKIT_DATA``, else the checkout's
``data/``, else ``./data``)::

    FashionMNIST/raw/train-images-idx3-ubyte[.gz]   the real set (torchvision's layout,
    FashionMNIST/raw/train-labels-idx1-ubyte[.gz]   gzipped or extracted)
    FashionMNIST/raw/t10k-images-idx3-ubyte[.gz]
    FashionMNIST/raw/t10k-labels-idx1-ubyte[.gz]
    FashionMNIST/processed/labkit-cache.pt          tensor cache of the four files
    FashionMNIST-standin/raw/...                    the offline stand-in (labkit.data.standin)
    FashionMNIST-standin/processed/labkit-cache.pt

``load_fashion_mnist(source=...)``:

- ``"real"``: the files above; when missing and ``download=True``,
  ``torchvision.datasets.FashionMNIST(download=True)`` fetches them (it checks their MD5
  sums) into a temporary folder, and they are moved into place once complete.
- ``"synthetic"``: the procedurally drawn stand-in, generated on first use.
- ``"auto"``: the real set when present or downloadable, otherwise the stand-in with a
  ``StandInWarning``.

Set ``LABKIT_OFFLINE=1`` to never try a download (``make test`` and CI do).

The work is done by ``labkit.data.idx_datasets``, the one data path of torchvision's IDX
image sets (MNIST goes through it too): every raw file is checked, the tensor cache is
verified on every load (its own checksum, a content fingerprint of the raw files, the label
and pixel checks) and rebuilt when it fails, and leftovers of interrupted writes are
cleaned up. This module holds what is Fashion-MNIST's own: the description of the set
(``FASHION_MNIST``), the class names and ``text_labels``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import torch

from labkit._checks import describe
from labkit.data import idx_datasets
from labkit.data.idx import IDXError
from labkit.data.idx_datasets import (
    CACHE_NAME,
    SOURCES,
    TORCHVISION_FILES,
    CacheWarning,
    DatasetNotFoundError,
    IDXDatasetSpec,
    ImageData,
    StandInWarning,
    default_data_root,
    offline,
)
from labkit.data.standin import (
    STANDIN_FOLDER,
    STANDIN_GENERATOR,
    STANDIN_VERSION,
    write_standin,
)

__all__ = [
    "FASHION_MNIST",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_FILES",
    "SOURCES",
    "CACHE_NAME",
    "DatasetNotFoundError",
    "StandInWarning",
    "CacheWarning",
    "IDXError",
    "FashionMNISTData",
    "text_labels",
    "default_data_root",
    "load_fashion_mnist",
    "check_fashion_mnist",
    "data_status",
    "format_data_status",
    "offline",
]

PathLike = Union[str, "os.PathLike[str]"]

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
#: The four raw files (extracted names; each may also be present as ``<name>.gz``).
FASHION_MNIST_FILES = TORCHVISION_FILES
REAL_FOLDER = "FashionMNIST"  # torchvision's folder name: FashionMNIST(root) reads it too


class FashionMNISTData(ImageData):
    """The four tensors of Fashion-MNIST (or its stand-in) and where they came from.

    Attributes:
        train_images: uint8 ``(N_train, 28, 28)``, values 0..255.
        train_labels: int64 ``(N_train,)``, values 0..9.
        test_images: uint8 ``(N_test, 28, 28)``.
        test_labels: int64 ``(N_test,)``.
        classes: the ten class names, ``classes[label]``.
        source: ``"real"`` or ``"synthetic"`` (the stand-in).
        raw_folder: the folder holding the raw IDX files.
        from_cache: whether the tensors came from ``processed/labkit-cache.pt`` (verified).
        cache_status: what happened to the cache on this load, in words.
    """


def _write_standin(root: Path) -> Path:
    return write_standin(root)  # looked up at call time: tests may swap in a smaller one


#: Fashion-MNIST as the shared IDX data path sees it.
FASHION_MNIST = IDXDatasetSpec(
    name="Fashion-MNIST",
    key="fashion-mnist",
    folder=REAL_FOLDER,
    classes=FASHION_MNIST_CLASSES,
    torchvision_class="FashionMNIST",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    standin_folder=STANDIN_FOLDER,
    write_standin=_write_standin,
    standin_generator=STANDIN_GENERATOR,
    standin_version=STANDIN_VERSION,
    standin_description="procedurally drawn garments",
    data_class=FashionMNISTData,
)


def text_labels(y) -> list[str]:
    """Class names for integer labels: ``text_labels([0, 9]) == ['T-shirt/top', 'Ankle boot']``.

    Args:
        y: an int, a list of ints, or an integer tensor of any shape (flattened).
    """
    if isinstance(y, torch.Tensor):
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"y must hold integer labels, got {describe(y)}")
        values = y.flatten().tolist()
    elif isinstance(y, int) and not isinstance(y, bool):
        values = [y]
    else:
        try:
            values = list(y)
        except TypeError:
            raise TypeError(f"y must be an int, a list of ints or an integer tensor, "
                            f"got {describe(y)}") from None
    names = []
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"y[{i}] must be an int label, got {describe(value)}")
        if not 0 <= value < len(FASHION_MNIST_CLASSES):
            raise ValueError(f"y[{i}] = {value} is not a Fashion-MNIST label: expected 0..9")
        names.append(FASHION_MNIST_CLASSES[value])
    return names


def load_fashion_mnist(root: PathLike | None = None, source: str = "auto",
                       download: bool = True) -> FashionMNISTData:
    """Load Fashion-MNIST (or its offline stand-in) as four tensors.

    Args:
        root: the data folder; ``None`` uses ``default_data_root()`` (``$LABKIT_DATA``,
            else the checkout's ``data/``, else ``./data``).
        source: ``"real"``, ``"synthetic"`` (the stand-in) or ``"auto"`` (real when present
            or downloadable, else the stand-in with a ``StandInWarning``).
        download: whether missing real files may be downloaded (via torchvision).

    Returns:
        ``FashionMNISTData`` with ``train_images`` uint8 ``(N, 28, 28)``, ``train_labels``
        int64 ``(N,)``, ``test_images``, ``test_labels``, ``classes``, ``source``,
        ``raw_folder``. Any well-formed set loads, not only 60,000 + 10,000 images.

    Raises:
        DatasetNotFoundError: ``source="real"`` and the files are missing and could not be
            downloaded (the message says where to put them).
        IDXError: a raw file is truncated or corrupt, image and label counts differ, or a
            label is outside 0..9 (the message names the file and the fix).
        DataPermissionError: a raw file may not be read, or the stand-in must be generated
            in a folder that may not be written (the message says what to change).
    """
    return idx_datasets.load(FASHION_MNIST, root, source, download)


def check_fashion_mnist(root: PathLike | None = None, source: str = "auto"
                        ) -> FashionMNISTData:
    """Re-read and re-check the raw files, and verify (or rebuild) the tensor cache against
    them (for ``labkit data check``).

    Downloads and generates nothing. ``source="auto"`` checks the real set when it is on
    disk, else the stand-in. Raises ``IDXError`` for a damaged file and
    ``DatasetNotFoundError`` when there is nothing to check; returns the freshly read data
    (``from_cache`` False) when all is well, with ``cache_status`` saying what was found.
    """
    return idx_datasets.check(FASHION_MNIST, root, source)


def data_status(root: PathLike | None = None) -> dict:
    """Where the Fashion-MNIST data is and what is there (for ``labkit data``); reads no
    data file. See ``labkit.data.idx_datasets.status``."""
    return idx_datasets.status(FASHION_MNIST, root)


def format_data_status(status: dict) -> str:
    """``data_status()`` as the lines ``labkit data`` prints."""
    return idx_datasets.format_status(FASHION_MNIST, status)
