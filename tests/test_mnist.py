"""Tests for labkit.data.mnist: the MNIST path through labkit's one loader for torchvision's IDX
sets, on small IDX files written here (gzipped and not, corrupt ones), the download and the
offline fallback, the in-memory loaders, the torchvision route and the command line. Nothing
here touches the network: torchvision's download is monkeypatched (conftest)."""

from __future__ import annotations

import functools
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from idx_sets import fake_download, make_set, write_real
from torch.utils.data import DataLoader

import labkit as lk
import labkit.data.mnist as mnist_module
from labkit.cli import main
from labkit.data.idx import IDXError
from labkit.data.idx_datasets import TORCHVISION_FILES, DatasetNotFoundError, StandInWarning
from labkit.data.loader import load_data_mnist, torchvision_datasets
from labkit.data.mnist import MNIST_CLASSES, MNISTData, check_mnist, load_mnist
from labkit.data.mnist_standin import write_mnist_standin


def write_mnist(root, tensors=None, gz=True) -> Path:
    """A small well-formed set where the real MNIST files go (torchvision's layout)."""
    return write_real(root, tensors, gz, folder="MNIST")


@pytest.fixture
def small_standin(monkeypatch):
    """The MNIST stand-in generated on demand is small, to keep the tests fast."""
    monkeypatch.setattr(mnist_module, "write_mnist_standin",
                        functools.partial(write_mnist_standin, num_train=100, num_test=30))


# ---------------------------------------------------------------------------------- loading
@pytest.mark.parametrize("gz", [True, False])
def test_load_real_gz_and_raw(tmp_path, gz):
    tensors = make_set()
    raw = write_mnist(tmp_path, tensors, gz=gz)
    data = load_mnist(tmp_path, source="real", download=False)
    assert isinstance(data, MNISTData) and isinstance(data, lk.data.ImageData)
    assert not isinstance(data, lk.FashionMNISTData)
    assert data.source == "real" and data.raw_folder == raw
    assert data.classes == MNIST_CLASSES == ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
    assert torch.equal(data.train_images, tensors[0]) and data.train_images.dtype == torch.uint8
    assert torch.equal(data.train_labels, tensors[1].long())
    assert data.train_labels.dtype == torch.int64 and data.test_labels.dtype == torch.int64
    assert torch.equal(data.test_images, tensors[2])
    assert torch.equal(data.test_labels, tensors[3].long())
    assert repr(data).startswith("MNISTData(source='real', train=40, test=15, raw_folder=")
    again = load_mnist(tmp_path, source="real", download=False)
    assert again.from_cache and torch.equal(again.test_images, tensors[2])
    assert (tmp_path / "MNIST" / "processed" / "labkit-cache.pt").is_file()


def test_torchvision_mnist_reads_the_same_files(tmp_path):
    tensors = make_set()
    write_mnist(tmp_path, tensors, gz=False)
    ours = load_mnist(tmp_path, source="real", download=False)
    theirs = torchvision.datasets.MNIST(tmp_path, train=False, download=False)
    assert torch.equal(ours.test_images, theirs.data)
    assert torch.equal(ours.test_labels, theirs.targets)
    assert [c.split(" - ")[0] for c in theirs.classes] == list(MNIST_CLASSES)


def test_top_level_api():
    assert lk.load_mnist is load_mnist and lk.load_data_mnist is load_data_mnist
    assert lk.MNIST_CLASSES == MNIST_CLASSES
    for name in ("load_mnist", "load_data_mnist", "MNISTData", "MNIST_CLASSES"):
        assert name in lk.__all__


def test_fashion_and_mnist_side_by_side(tmp_path):
    fashion = make_set(seed=1)
    digits = make_set(seed=2)
    write_mnist(tmp_path, digits)
    write_real(tmp_path, fashion)
    for _ in range(2):  # the second time from each set's own cache
        a = lk.load_fashion_mnist(tmp_path, source="real", download=False)
        b = load_mnist(tmp_path, source="real", download=False)
        assert torch.equal(a.train_images, fashion[0]) and torch.equal(b.train_images, digits[0])
    assert a.from_cache and b.from_cache


# ----------------------------------------------------------------------------- corruption
def _corrupt(path: Path, how) -> None:
    path.write_bytes(how(path.read_bytes()))


def test_truncated_gzip_names_the_file(tmp_path):
    raw = write_mnist(tmp_path)
    _corrupt(raw / "t10k-images-idx3-ubyte.gz", lambda b: b[: len(b) // 2])
    with pytest.raises(IDXError, match=r"MNIST/raw/t10k-images-idx3-ubyte\.gz: the gzip "
                                       r"stream is truncated.*download it again"):
        load_mnist(tmp_path, source="real", download=False)


def test_wrong_magic_and_trailing_garbage(tmp_path):
    raw = write_mnist(tmp_path, gz=False)
    _corrupt(raw / "train-labels-idx1-ubyte", lambda b: b"\x1f\x00" + b[2:])
    with pytest.raises(IDXError, match=r"train-labels-idx1-ubyte: wrong magic number"):
        load_mnist(tmp_path, source="real", download=False)
    write_mnist(tmp_path, gz=False)
    _corrupt(raw / "train-images-idx3-ubyte", lambda b: b + b"\x00" * 7)
    with pytest.raises(IDXError, match=r"7 bytes of trailing data"):
        load_mnist(tmp_path, source="real", download=False)


def test_wrong_image_size_and_label_range(tmp_path):
    tensors = list(make_set())
    tensors[2] = torch.zeros(15, 27, 27, dtype=torch.uint8)  # not MNIST-sized
    write_mnist(tmp_path, tensors)
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte\.gz: expected uint8 images "
                                       r"of 28x28.*not a MNIST image file"):
        load_mnist(tmp_path, source="real", download=False)
    tensors = list(make_set())
    tensors[3] = tensors[3].clone()
    tensors[3][2] = 10
    write_mnist(tmp_path, tensors)
    with pytest.raises(IDXError, match=r"t10k-labels-idx1-ubyte\.gz: label 10 at position 2 "
                                       r"is outside 0\.\.9"):
        load_mnist(tmp_path, source="real", download=False)


def test_image_label_count_mismatch(tmp_path):
    tensors = list(make_set())
    tensors[1] = tensors[1][:-3]
    write_mnist(tmp_path, tensors, gz=False)
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte holds 40 images but "
                                       r".*train-labels-idx1-ubyte holds 37 labels"):
        load_mnist(tmp_path, source="real", download=False)


def test_auto_does_not_hide_a_corrupt_real_set(tmp_path):
    raw = write_mnist(tmp_path)
    _corrupt(raw / "train-images-idx3-ubyte.gz", lambda b: b[:-9])
    with pytest.raises(IDXError, match="train-images-idx3-ubyte.gz"):
        load_mnist(tmp_path)


def test_check_mnist_rereads_raw_files_and_verifies_the_cache(tmp_path):
    tensors = make_set()
    write_mnist(tmp_path, tensors)
    assert check_mnist(tmp_path).cache_status == "built"
    checked = check_mnist(tmp_path)
    assert checked.cache_status == "verified" and not checked.from_cache
    assert torch.equal(checked.train_images, tensors[0])


# ------------------------------------------------------------------ missing and download
def test_missing_says_where_to_put_the_files(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(tmp_path, source="real", download=False)
    message = str(info.value)
    assert f"MNIST is not in {tmp_path / 'MNIST' / 'raw'}" in message
    for name in TORCHVISION_FILES:
        assert name + ".gz" in message
    assert "LABKIT_DATA" in message and "labkit data prepare --dataset mnist" in message


def test_three_of_four_names_the_missing_file(tmp_path):
    raw = write_mnist(tmp_path)
    (raw / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(tmp_path, source="real", download=False)
    assert "incomplete: train-labels-idx1-ubyte is missing" in str(info.value)


def test_download_goes_through_torchvision_mnist(tmp_path, monkeypatch):
    tensors = make_set(12, 5)
    monkeypatch.setattr(torchvision.datasets.MNIST, "download", fake_download(tensors))
    data = load_mnist(tmp_path)
    assert data.source == "real" and torch.equal(data.train_images, tensors[0])
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(TORCHVISION_FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MNIST"]  # no temporary folder


def test_interrupted_download_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.MNIST, "download",
                        fake_download(make_set(), fail_after=1))
    with pytest.raises(DatasetNotFoundError, match="connection reset halfway") as info:
        load_mnist(tmp_path, source="real")
    assert info.value.reason == "RuntimeError: connection reset halfway"
    assert list(tmp_path.iterdir()) == []


def test_auto_falls_back_to_the_mnist_standin(tmp_path, small_standin):
    with pytest.warns(StandInWarning) as record:
        data = load_mnist(tmp_path)
    message = str(record[0].message)
    assert "NOT MNIST's" in message and "simulated: no network" in message
    assert "handwritten-looking digits" in message
    assert "labkit data prepare --dataset mnist --source real" in message
    assert record[0].filename == __file__
    assert isinstance(data, MNISTData) and data.source == "synthetic"
    assert data.raw_folder == tmp_path / "MNIST-standin" / "raw"
    assert data.train_images.shape == (100, 28, 28) and data.classes == MNIST_CLASSES
    assert not (tmp_path / "MNIST").exists()  # nothing where the real files go
    assert not (tmp_path / "FashionMNIST-standin").exists()


def test_labkit_offline_means_no_download(tmp_path, small_standin, monkeypatch):
    def must_not_download(self):
        raise AssertionError("download attempted")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", must_not_download)
    monkeypatch.setenv("LABKIT_OFFLINE", "1")
    with pytest.warns(StandInWarning, match="LABKIT_OFFLINE is set"):
        assert load_mnist(tmp_path).source == "synthetic"
    with pytest.raises(DatasetNotFoundError, match="LABKIT_OFFLINE"):
        load_mnist(tmp_path, source="real")


def test_labkit_data_environment_variable(tmp_path, monkeypatch):
    tensors = make_set(9, 4)
    write_mnist(tmp_path / "shared", tensors)
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "shared"))
    data = load_mnist(source="real", download=False)
    assert torch.equal(data.train_images, tensors[0])


def test_synthetic_is_generated_once(tmp_path, small_standin):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = load_mnist(tmp_path, source="synthetic")
        second = load_mnist(tmp_path, source="synthetic")
    assert not first.from_cache and second.from_cache
    assert torch.equal(first.train_images, second.train_images)


def test_a_fashion_standin_marker_is_not_taken_for_mnist(tmp_path, small_standin):
    """The two stand-ins write the same file names: each trusts only its own generator."""
    from labkit.data.standin import write_generated

    raw = tmp_path / "MNIST-standin" / "raw"
    write_generated(raw, lambda: make_set(20, 10), generator="labkit.data.standin",
                    version=1, info={})
    data = load_mnist(tmp_path, source="synthetic")
    assert len(data.train_images) == 100  # regenerated by the MNIST generator


def test_a_standin_drawn_by_another_version_is_regenerated(tmp_path, small_standin):
    """A stand-in whose marker names another version of the MNIST generator (an older
    drawing) is never reused: `data check` says it is out of date, and the next load draws it
    anew and rebuilds the tensor cache, so every machine ends up with the same digits."""
    import dataclasses
    import json

    from labkit.data import idx_datasets
    from labkit.data.mnist_standin import (
        MNIST_STANDIN_GENERATOR,
        MNIST_STANDIN_VERSION,
        generate_mnist_standin,
    )
    from labkit.data.standin import MARKER_NAME, write_generated

    old_version = MNIST_STANDIN_VERSION - 1
    raw = tmp_path / "MNIST-standin" / "raw"
    old_digits = make_set(20, 10, seed=3)

    def old_writer(root):  # what an older labkit drew, and marked with its version
        return write_generated(raw, lambda: old_digits, generator=MNIST_STANDIN_GENERATOR,
                               version=old_version, info={"seed": 0})

    older_labkit = dataclasses.replace(mnist_module.MNIST, write_standin=old_writer,
                                       standin_version=old_version)
    idx_datasets.load(older_labkit, tmp_path, "synthetic")
    reused = idx_datasets.load(older_labkit, tmp_path, "synthetic")
    assert reused.from_cache and torch.equal(reused.train_images, old_digits[0])

    info = idx_datasets.format_status(mnist_module.MNIST, mnist_module.mnist_data_status(tmp_path))
    assert f"out of date (drawn by generator version {old_version}" in info
    with pytest.raises(DatasetNotFoundError, match="drawn by another version of labkit"):
        check_mnist(tmp_path, source="synthetic")

    data = load_mnist(tmp_path, source="synthetic")
    expected = generate_mnist_standin(num_train=100, num_test=30)
    assert not data.from_cache and data.cache_status.startswith("rebuilt"), data.cache_status
    for got, want in zip((data.train_images, data.train_labels, data.test_images,
                          data.test_labels), expected):
        assert torch.equal(got, want)
    assert json.loads((raw / MARKER_NAME).read_text())["version"] == MNIST_STANDIN_VERSION
    assert check_mnist(tmp_path, source="synthetic").cache_status == "verified"
    assert load_mnist(tmp_path, source="synthetic").from_cache


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"source must be one of .*got 'digits'"):
        load_mnist(tmp_path, source="digits")
    with pytest.raises(TypeError, match="root must be a path"):
        load_mnist(3.5)
    with pytest.raises(TypeError, match="download must be True or False"):
        load_mnist(tmp_path, download=1)


# ---------------------------------------------------------------------- the two routes
def test_load_data_mnist(tmp_path):
    tensors = make_set(30, 12)
    write_mnist(tmp_path, tensors)
    train_iter, test_iter = load_data_mnist(8, root=tmp_path, source="real", download=False,
                                            seed=0)
    assert len(train_iter) == 4 and len(test_iter) == 2
    X, y = next(iter(test_iter))
    assert X.shape == (8, 1, 28, 28) and X.dtype == torch.float32
    torch.testing.assert_close(X[:, 0], tensors[2][:8].float() / 255)
    assert torch.equal(y, tensors[3][:8].long())
    again, _ = load_data_mnist(8, root=tmp_path, source="real", download=False, seed=0)
    assert torch.equal(next(iter(train_iter))[1], next(iter(again))[1])
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        load_data_mnist(0, root=tmp_path, source="real", download=False)


def test_torchvision_route_on_the_mnist_standin(tmp_path):
    write_mnist_standin(tmp_path, num_train=60, num_test=20)
    train_ds, test_ds = torchvision_datasets(tmp_path, source="synthetic", dataset="mnist")
    assert isinstance(train_ds, torchvision.datasets.MNIST)
    assert type(train_ds).__name__ == "MNISTStandIn"
    assert Path(train_ds.raw_folder) == tmp_path / "MNIST-standin" / "raw"
    assert len(train_ds) == 60 and len(test_ds) == 20
    X0, y0 = train_ds[0]
    fast, _ = load_data_mnist(60, root=tmp_path, source="synthetic", seed=0)
    torch.testing.assert_close(X0, fast.X[0].float() / 255 if fast.X.dtype == torch.uint8
                               else fast.X[0])
    X_batch, y_batch = next(iter(DataLoader(train_ds, batch_size=16, shuffle=True)))
    assert X_batch.shape == (16, 1, 28, 28) and y_batch.dtype == torch.int64
    assert pickle.loads(pickle.dumps(type(train_ds))) is type(train_ds)
    with pytest.raises(RuntimeError, match="labkit data prepare --dataset mnist"):
        type(train_ds)(tmp_path / "elsewhere", download=True)


def test_torchvision_route_on_gzipped_real_mnist(tmp_path):
    tensors = make_set()
    write_mnist(tmp_path, tensors, gz=True)
    train_ds, test_ds = torchvision_datasets(tmp_path, source="real", download=False,
                                             transform=np.asarray, dataset="mnist")
    assert type(train_ds) is torchvision.datasets.MNIST
    assert torch.equal(train_ds.data, tensors[0]) and torch.equal(test_ds.data, tensors[2])
    image, label = test_ds[4]
    assert np.array_equal(image, tensors[2][4].numpy()) and label == int(tensors[3][4])


def test_torchvision_route_refuses_an_unknown_dataset(tmp_path):
    with pytest.raises(ValueError, match=r"dataset must be one of \('fashion-mnist', "
                                         r"'mnist'\), got 'kmnist'"):
        torchvision_datasets(tmp_path, dataset="kmnist")


# ------------------------------------------------------------------------- command line
@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mnist-data")
    write_mnist_standin(root, num_train=2000, num_test=500, seed=0)
    return root


def test_cli_data_info_prepare_check(mnist_root, capsys):
    assert main(["data", "info", "--dataset", "mnist", "--root", str(mnist_root)]) == 0
    info = capsys.readouterr().out
    assert "MNIST (real): absent or incomplete" in info
    assert "stand-in (MNIST-standin): complete" in info
    assert main(["data", "prepare", "--dataset", "mnist", "--source", "synthetic",
                 "--root", str(mnist_root)]) == 0
    out = capsys.readouterr().out
    assert "synthetic MNIST ready" in out and "'0': 2" in out
    assert main(["data", "check", "--dataset", "mnist", "--root", str(mnist_root)]) == 0
    out = capsys.readouterr().out
    assert "synthetic MNIST checked: all files are well formed" in out
    assert "cache: verified" in out and "(2000, 28, 28)" in out


def test_cli_train_softmax_on_mnist(mnist_root, tmp_path, capsys):
    code = main(["train", "softmax", "--dataset", "mnist", "--source", "synthetic",
                 "--root", str(mnist_root), "--epochs", "2", "--out", str(tmp_path),
                 "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "MNIST source: synthetic" in printed and "most confused" in printed
    import json

    record = json.loads((tmp_path / "history.json").read_text())
    assert record["dataset"] == "mnist" and record["source"] == "synthetic"
    assert record["history"][-1]["test_acc"] > 0.5  # 2 epochs on 2,000 images: learning
    assert sum(map(sum, record["confusion_matrix"])) == 500


@pytest.mark.parametrize("argv, message", [
    (["train", "logistic", "--dataset", "mnist"], "'mnist' is not a data set of the "
                                                  "logistic model"),
    (["train", "softmax", "--dataset", "clusters"], "choose from fashion-mnist, mnist"),
    (["data", "info", "--dataset", "cifar"], "invalid choice: 'cifar'"),
])
def test_cli_refuses_a_dataset_of_another_model(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
