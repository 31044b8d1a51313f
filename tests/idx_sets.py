"""Small IDX sets written for the data tests (tests/test_fashion_mnist.py, tests/test_mnist.py,
tests/test_data_reliability.py): Fashion-MNIST and MNIST are the same four files in
torchvision's layout, ``ROOT/FOLDER/raw/`` (``FashionMNIST``, ``MNIST``).

A helper module, not a test file: pytest collects nothing here.
"""

from __future__ import annotations

from pathlib import Path

import torch

from labkit.data.idx import write_idx
from labkit.data.idx_datasets import TORCHVISION_FILES


def make_set(n_train=40, n_test=15, seed=0):
    """``(train images, train labels, test images, test labels)``: random uint8 tensors."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n_train, 28, 28), dtype=torch.uint8, generator=g),
            torch.randint(0, 10, (n_train,), dtype=torch.uint8, generator=g),
            torch.randint(0, 256, (n_test, 28, 28), dtype=torch.uint8, generator=g),
            torch.randint(0, 10, (n_test,), dtype=torch.uint8, generator=g))


def write_real(root, tensors=None, gz=True, folder="FashionMNIST") -> Path:
    """Write a small well-formed set (``tensors``, default ``make_set()``) where the real
    files of ``folder`` go, gzipped or not; returns the raw folder."""
    raw = Path(root) / folder / "raw"
    for name, tensor in zip(TORCHVISION_FILES, tensors or make_set()):
        write_idx(raw / (name + ".gz" if gz else name), tensor)
    return raw


def fake_download(tensors, fail_after=None):
    """Stands in for torchvision's download (``FashionMNIST.download``, ``MNIST.download``):
    writes files where torchvision would; raises after ``fail_after`` files when given."""
    def download(self):
        raw = Path(self.raw_folder)
        raw.mkdir(parents=True, exist_ok=True)
        for i, (name, tensor) in enumerate(zip(TORCHVISION_FILES, tensors)):
            if fail_after is not None and i == fail_after:
                raise RuntimeError("connection reset halfway")
            write_idx(raw / (name + ".gz"), tensor)
            write_idx(raw / name, tensor)
    return download
