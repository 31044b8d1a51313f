"""Fast in-memory minibatches, and the standard torchvision route for comparison.

``InMemoryLoader`` is introduced in ``02_logistic_regression_scratch`` (re-iterable,
reshuffled batches of the synthetic data); ``04_softmax_regression_scratch`` adds
``load_data_fashion_mnist``; ``05_softmax_regression_nn`` compares it with
``torchvision_datasets`` (``torchvision.datasets.FashionMNIST`` + ``ToTensor`` +
``DataLoader``). labkit offers the same two routes for MNIST (``load_data_mnist``,
``torchvision_datasets(dataset="mnist")``); lab 2's notebooks take subsets of
``load_mnist``'s tensors and cut them into ``InMemoryLoader`` batches directly.

Why not the ``DataLoader`` route by default: it converts each image separately (uint8
array -> PIL image -> ``ToTensor`` -> float tensor) and collates 256 of them in Python, which
costs seconds per epoch, while the arithmetic of a softmax-regression epoch costs a few
hundredths of a second. ``InMemoryLoader`` keeps the whole set in memory as uint8
``(N, 1, 28, 28)``, and each batch is one ``index_select`` of 256 rows scaled by
``.float() / 255``: an epoch over 60,000 images costs about as much as one copy of the data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Union

import torch

from labkit._checks import (
    check_batch_sizes,
    check_device,
    check_positive_int,
    check_seed,
    check_tensor,
    describe,
)
from labkit.data import idx_datasets
from labkit.data.fashion_mnist import FASHION_MNIST
from labkit.data.idx_datasets import IDXDatasetSpec
from labkit.data.mnist import MNIST

__all__ = ["InMemoryLoader", "load_data_fashion_mnist", "load_data_mnist",
           "torchvision_datasets", "DATASETS"]

#: The IDX image sets labkit loads, by their command-line names (``--dataset``).
DATASETS = {FASHION_MNIST.key: FASHION_MNIST, MNIST.key: MNIST}

PathLike = Union[str, "os.PathLike[str]"]


class InMemoryLoader:
    """Minibatches ``(X_batch, y_batch)`` over tensors held in memory; re-iterable.

    Args:
        X: uint8 images ``(N, H, W)`` (kept as uint8, reshaped to ``(N, 1, H, W)``; each
            batch is scaled to float32 in [0, 1] as it is gathered), or a floating tensor
            ``(N, ...)`` (kept, as float32).
        y: ``(N,)`` labels or targets, kept as given.
        batch_size: examples per batch; the last batch holds the remainder
            (``len(loader) == ceil(N / batch_size)``).
        shuffle: a new random order at every ``iter()`` (every epoch).
        seed: seeds the loader's own ``torch.Generator``, so the same seed gives the same
            sequence of batches in every run; ``None`` draws the seed from torch's global
            generator (``torch.manual_seed`` then makes it reproducible).
        device: where the batches live; the data is moved there once, up front (checked by
            ``labkit._checks.check_device``: ``"cuda"`` without CUDA is a ``ValueError``).

    Yields:
        ``X_batch`` float32 ``(B, 1, 28, 28)`` (for Fashion-MNIST), ``y_batch`` ``(B,)``.

    Attributes ``X`` and ``y`` hold the data as kept in memory (uint8 images stay uint8: a
    quarter of float32's memory, and a quarter of the bytes to gather per batch).

    Gathering a batch (``index_select``, then ``.float() / 255``) runs on one CPU thread
    whatever ``torch.get_num_threads()`` says, and leaves that setting as it was for the
    loop's body: on a busy machine two threads made a bare pass over the loader 14-40 times
    slower (benchmarks/RESULTS.md, "Students' own loops").
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int, *,
                 shuffle: bool = True, seed: int | None = None,
                 device: str | torch.device | None = None):
        check_tensor(X, "X")
        check_tensor(y, "y")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False, got {describe(shuffle)}")
        if X.dim() == 0 or len(X) == 0:
            raise ValueError(f"X must hold at least one example, got {describe(X)}")
        if y.dim() == 0:
            raise ValueError(f"y must have one entry per example, got {describe(y)}")
        check_batch_sizes(len(X), len(y), "X", "y")
        device = check_device(device)
        self._scale = X.dtype == torch.uint8  # uint8 images: scaled batch by batch
        if self._scale:
            if X.dim() == 3:
                X = X.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W): one channel, like ToTensor
        elif X.is_floating_point():
            X = X.to(torch.float32)
        else:
            raise TypeError(f"X must be uint8 images or a floating-point tensor, got "
                            f"{describe(X)}")
        if seed is not None:
            seed = check_seed(seed)
        elif shuffle:  # only a shuffling loader consumes the global generator
            seed = int(torch.randint(0, 2**62, ()).item())
        self.seed = seed
        self.shuffle = shuffle
        self.device = device if device is not None else X.device
        self.X = X.to(self.device)
        self.y = y.to(self.device)
        self._generator = torch.Generator().manual_seed(seed) if shuffle else None
        self._on_cpu = self.device.type == "cpu"

    @property
    def num_examples(self) -> int:
        return len(self.X)

    def __len__(self) -> int:
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n, bs = len(self.X), self.batch_size
        order = None
        if self.shuffle:
            order = torch.randperm(n, generator=self._generator).to(self.device)
        for start in range(0, n, bs):
            yield self._batch(start, order)

    def _batch(self, start: int, order) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch at ``start``: gathered (and scaled) on one CPU thread."""
        threads = torch.get_num_threads() if self._on_cpu else 1
        if threads != 1:
            torch.set_num_threads(1)
        try:
            stop = start + self.batch_size
            if order is None:
                X, y = self.X[start:stop], self.y[start:stop]  # views, no copy
            else:
                index = order[start:stop]
                X, y = self.X.index_select(0, index), self.y.index_select(0, index)
            if self._scale:
                X = X.float().div_(255)  # (B, 1, H, W) in [0, 1], as ToTensor
            return X, y
        finally:
            if threads != 1:
                torch.set_num_threads(threads)

    def __repr__(self) -> str:
        return (f"InMemoryLoader(num_examples={len(self.X)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, seed={self.seed}, X={tuple(self.X.shape)}, "
                f"device='{self.device}')")


def dataset_spec(dataset) -> IDXDatasetSpec:
    """The description of ``dataset`` (``"fashion-mnist"`` or ``"mnist"``)."""
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {tuple(DATASETS)}, got {dataset!r}")
    return DATASETS[dataset]


def _load_data(spec: IDXDatasetSpec, batch_size, root, source, download, seed, device):
    batch_size = check_positive_int(batch_size, "batch_size")
    data = idx_datasets.load(spec, root, source, download)
    train_iter = InMemoryLoader(data.train_images, data.train_labels, batch_size,
                                shuffle=True, seed=seed, device=device)
    test_iter = InMemoryLoader(data.test_images, data.test_labels, batch_size,
                               shuffle=False, seed=0, device=device)
    return train_iter, test_iter


def load_data_fashion_mnist(batch_size: int, *, root: PathLike | None = None,
                            source: str = "auto", download: bool = True,
                            seed: int | None = None,
                            device: str | torch.device | None = None
                            ) -> tuple[InMemoryLoader, InMemoryLoader]:
    """Fashion-MNIST (or the stand-in) as ``(train_iter, test_iter)`` of in-memory batches.

    ``train_iter`` reshuffles every epoch (``seed`` fixes the order); ``test_iter`` keeps the
    file order. Batches: ``X`` float32 ``(B, 1, 28, 28)`` in [0, 1], ``y`` int64 ``(B,)``.
    ``root``, ``source`` and ``download`` are ``load_fashion_mnist``'s.
    """
    return _load_data(FASHION_MNIST, batch_size, root, source, download, seed, device)


def load_data_mnist(batch_size: int, *, root: PathLike | None = None, source: str = "auto",
                    download: bool = True, seed: int | None = None,
                    device: str | torch.device | None = None
                    ) -> tuple[InMemoryLoader, InMemoryLoader]:
    """MNIST (or its stand-in) as ``(train_iter, test_iter)`` of in-memory batches.

    As ``load_data_fashion_mnist``: ``train_iter`` reshuffles every epoch (``seed`` fixes the
    order), ``test_iter`` keeps the file order; batches ``X`` float32 ``(B, 1, 28, 28)`` in
    [0, 1], ``y`` int64 ``(B,)``. ``root``, ``source`` and ``download`` are ``load_mnist``'s.
    """
    return _load_data(MNIST, batch_size, root, source, download, seed, device)


_STANDIN_CLASSES: dict = {}


def _standin_dataset_class(spec: IDXDatasetSpec = FASHION_MNIST):
    """torchvision's class for ``spec``, reading the stand-in's folder: built on first use,
    so that importing labkit does not import torchvision (~1.5 s)."""
    if spec.key in _STANDIN_CLASSES:
        return _STANDIN_CLASSES[spec.key]
    import torchvision

    base = getattr(torchvision.datasets, spec.torchvision_class)
    folder = spec.standin_folder

    class StandIn(base):
        mirrors: list = []

        @property
        def raw_folder(self) -> str:
            return os.path.join(self.root, folder, "raw")

        @property
        def processed_folder(self) -> str:
            return os.path.join(self.root, folder, "processed")

        def download(self) -> None:
            if not self._check_exists():
                command = idx_datasets.cli_command(spec, "prepare --source synthetic")
                raise RuntimeError(f"the stand-in is generated, not downloaded: run "
                                   f"`{command}`")

    name = f"{spec.torchvision_class}StandIn"
    StandIn.__doc__ = (
        f"torchvision's ``{spec.torchvision_class}`` reading labkit's stand-in folder "
        f"instead.\n\nSame files, names and behaviour (PIL image per item, ``transform``); "
        f"only the folder differs: ``<root>/{folder}/raw``. It cannot download.")
    # picklable (DataLoader workers) as labkit.data.loader.<name>
    StandIn.__module__ = __name__
    StandIn.__name__ = StandIn.__qualname__ = name
    _STANDIN_CLASSES[spec.key] = StandIn
    return StandIn


def __getattr__(name: str):
    for spec in DATASETS.values():
        if name == f"{spec.torchvision_class}StandIn":
            return _standin_dataset_class(spec)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def torchvision_datasets(root: PathLike | None = None, source: str = "auto",
                         transform=None, download: bool = True,
                         dataset: str = "fashion-mnist"):
    """The standard route: torchvision datasets (train, test) of Fashion-MNIST or MNIST.

    Use them as the seeds did: ``DataLoader(train_ds, batch_size=256, shuffle=True)``;
    each item is ``(transform(PIL image), int label)``. ``transform`` defaults to
    ``torchvision.transforms.ToTensor()`` (float ``(1, 28, 28)`` in [0, 1]).

    Args:
        root, source, download: as for ``load_fashion_mnist`` / ``load_mnist``.
        transform: applied to each PIL image.
        dataset: ``"fashion-mnist"`` (``torchvision.datasets.FashionMNIST``) or ``"mnist"``
            (``torchvision.datasets.MNIST``).

    The data is first found, checked (and downloaded or generated) by labkit's loader; for
    the stand-in the datasets are a subclass of torchvision's class whose ``raw_folder`` is
    the stand-in's folder. torchvision reads only extracted files: a real set present only
    as ``.gz`` is extracted next to it, or, when that folder is read-only, into a folder of
    yours in the system's temporary directory.
    """
    import torchvision

    spec = dataset_spec(dataset)
    data = idx_datasets.load(spec, root, source, download)
    if transform is None:
        transform = torchvision.transforms.ToTensor()
    if data.source == "real":
        cls = getattr(torchvision.datasets, spec.torchvision_class)
        dataset_root = idx_datasets.torchvision_folder(spec, data)
    else:
        cls = _standin_dataset_class(spec)
        dataset_root = data.raw_folder.parent.parent
    train_ds = cls(dataset_root, train=True, transform=transform, download=False)
    test_ds = cls(dataset_root, train=False, transform=transform, download=False)
    return train_ds, test_ds
