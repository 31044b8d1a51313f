"""Tests for labkit.data.idx_datasets beyond the two sets it serves (tests/test_mnist.py,
tests/test_fashion_mnist.py, tests/test_data_reliability.py): a third torchvision-layout set
needs only its description."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pytest
import torch
import torchvision

from labkit.data import idx_datasets
from labkit.data.idx import write_idx
from labkit.data.idx_datasets import TORCHVISION_FILES, IDXDatasetSpec, ImageData
from labkit.data.mnist_standin import generate_mnist_standin, write_mnist_standin
from labkit.data.standin import write_generated


def write_kmnist_standin(root) -> Path:
    """A stand-in for the test: MNIST's digits, written into KMNIST's own folder."""
    return write_generated(Path(root) / "KMNIST-standin" / "raw",
                           functools.partial(generate_mnist_standin, 50, 20),
                           generator="test.kmnist", version=1, info={})


#: Kuzushiji-MNIST in a few lines.
KMNIST = IDXDatasetSpec(
    name="Kuzushiji-MNIST", key="kmnist", folder="KMNIST",
    classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    torchvision_class="KMNIST", homepage="https://github.com/rois-codh/kmnist",
    standin_folder="KMNIST-standin", write_standin=write_kmnist_standin,
    standin_generator="test.kmnist", standin_version=1,
    standin_description="digits standing in for cursive Japanese",
)


def test_a_third_set_is_a_description(tmp_path, monkeypatch):
    g = torch.Generator().manual_seed(0)
    tensors = (torch.randint(0, 256, (30, 28, 28), dtype=torch.uint8, generator=g),
               torch.randint(0, 10, (30,), dtype=torch.uint8, generator=g),
               torch.randint(0, 256, (10, 28, 28), dtype=torch.uint8, generator=g),
               torch.randint(0, 10, (10,), dtype=torch.uint8, generator=g))
    raw = tmp_path / "KMNIST" / "raw"
    for name, tensor in zip(TORCHVISION_FILES, tensors):
        write_idx(raw / f"{name}.gz", tensor)
    data = idx_datasets.load(KMNIST, tmp_path, source="real", download=False)
    assert type(data) is ImageData and data.classes[1] == "ki"
    assert torch.equal(data.train_images, tensors[0])
    assert idx_datasets.load(KMNIST, tmp_path, source="real", download=False).from_cache

    monkeypatch.setattr(torchvision.datasets.KMNIST, "download",
                        lambda self: (_ for _ in ()).throw(RuntimeError("offline")))
    with pytest.warns(UserWarning, match="NOT Kuzushiji-MNIST's"):
        fallback = idx_datasets.load(KMNIST, tmp_path / "empty")
    assert fallback.source == "synthetic" and len(fallback.train_images) == 50
    assert fallback.raw_folder == tmp_path / "empty" / "KMNIST-standin" / "raw"


def test_the_spec_is_immutable_and_its_labels_are_checked(tmp_path):
    with pytest.raises(dataclasses.FrozenInstanceError):
        KMNIST.name = "other"
    two_classes = dataclasses.replace(KMNIST, classes=("a", "b"))
    write_mnist_standin(tmp_path, num_train=20, num_test=10)  # digits 0..9
    raw = tmp_path / "MNIST-standin" / "raw"
    files = {key: raw / name for key, name in zip(idx_datasets._KEYS, TORCHVISION_FILES)}
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        idx_datasets._read_checked(two_classes, files)
