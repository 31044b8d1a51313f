"""Tests for labkit.data.fashion_mnist: loading small IDX sets written here through the real
code path (gzipped and raw), the integrity errors, the offline fallback, the cache and the
data root. Nothing here touches the network: torchvision's download is monkeypatched."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import pytest
import torch
import torchvision
from idx_sets import fake_download, make_set, write_real

import labkit.data.fashion_mnist as fm
from labkit.data import idx_datasets
from labkit.data.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_FILES,
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
from labkit.data.idx import IDXError, write_idx
from labkit.data.standin import MARKER_NAME, standin_raw_folder, write_standin


@pytest.fixture
def small_standin(monkeypatch):
    """The stand-in generated on demand is small, to keep the tests fast."""
    monkeypatch.setattr(fm, "write_standin",
                        functools.partial(write_standin, num_train=100, num_test=30))


# ---------------------------------------------------------------------------------- loading
@pytest.mark.parametrize("gz", [True, False])
def test_load_real_gz_and_raw(tmp_path, gz):
    tensors = make_set()
    raw = write_real(tmp_path, tensors, gz=gz)
    data = load_fashion_mnist(tmp_path, source="real", download=False)
    assert isinstance(data, FashionMNISTData)
    assert data.source == "real" and data.raw_folder == raw
    assert data.classes == FASHION_MNIST_CLASSES
    assert torch.equal(data.train_images, tensors[0]) and data.train_images.dtype == torch.uint8
    assert torch.equal(data.train_labels, tensors[1].long())
    assert data.train_labels.dtype == torch.int64 and data.test_labels.dtype == torch.int64
    assert torch.equal(data.test_images, tensors[2])
    assert torch.equal(data.test_labels, tensors[3].long())
    assert "source='real', train=40, test=15" in repr(data)


def test_auto_uses_real_files_when_present(tmp_path):
    write_real(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stand-in warning
        data = load_fashion_mnist(tmp_path)
    assert data.source == "real"


def test_a_smaller_subset_loads(tmp_path):
    write_real(tmp_path, make_set(n_train=7, n_test=3))
    data = load_fashion_mnist(tmp_path, source="real", download=False)
    assert len(data.train_images) == 7 and len(data.test_images) == 3


def test_torchvision_agrees_on_the_same_files(tmp_path):
    tensors = make_set()
    write_real(tmp_path, tensors, gz=False)
    ours = load_fashion_mnist(tmp_path, source="real", download=False)
    theirs = torchvision.datasets.FashionMNIST(tmp_path, train=True, download=False)
    assert torch.equal(ours.train_images, theirs.data)
    assert torch.equal(ours.train_labels, theirs.targets)
    assert list(FASHION_MNIST_CLASSES) == theirs.classes


# ----------------------------------------------------------------------------- corruption
def _corrupt(raw: Path, name: str, how) -> Path:
    path = raw / name
    path.write_bytes(how(path.read_bytes()))
    return path


def test_truncated_gzip_names_the_file(tmp_path):
    raw = write_real(tmp_path)
    _corrupt(raw, "train-images-idx3-ubyte.gz", lambda b: b[: len(b) // 2])
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte\.gz: the gzip stream is "
                                       r"truncated.*Delete it and download it again"):
        load_fashion_mnist(tmp_path, source="real", download=False)


def test_wrong_magic_names_the_file(tmp_path):
    raw = write_real(tmp_path, gz=False)
    _corrupt(raw, "t10k-images-idx3-ubyte", lambda b: b"PK\x03\x04" + b[4:])
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte: wrong magic number"):
        load_fashion_mnist(tmp_path, source="real", download=False)


def test_label_file_in_place_of_images(tmp_path):
    raw = write_real(tmp_path, gz=False)
    write_idx(raw / "t10k-images-idx3-ubyte", torch.zeros(15, dtype=torch.uint8))
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte: expected uint8 images of "
                                       r"28x28"):
        load_fashion_mnist(tmp_path, source="real", download=False)


def test_header_counts_larger_than_data(tmp_path):
    raw = write_real(tmp_path, gz=False)  # 40 train images of 28x28
    _corrupt(raw, "train-images-idx3-ubyte",
             lambda b: b[:4] + (60000).to_bytes(4, "big") + b[8:])
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte: header says 60000 images of "
                                       r"28x28 = 47040000 bytes but the file holds 31360"):
        load_fashion_mnist(tmp_path, source="real", download=False)


def test_image_label_count_mismatch(tmp_path):
    tensors = list(make_set())
    tensors[3] = tensors[3][:-1]  # one test label short
    write_real(tmp_path, tensors)
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte\.gz holds 15 images but "
                                       r".*t10k-labels-idx1-ubyte\.gz holds 14 labels"):
        load_fashion_mnist(tmp_path, source="real", download=False)


def test_label_out_of_range(tmp_path):
    tensors = list(make_set())
    tensors[1] = tensors[1].clone()
    tensors[1][5] = 10
    write_real(tmp_path, tensors)
    with pytest.raises(IDXError, match=r"train-labels-idx1-ubyte\.gz: label 10 at position 5 "
                                       r"is outside 0\.\.9"):
        load_fashion_mnist(tmp_path, source="real", download=False)


def test_auto_does_not_hide_a_corrupt_real_set(tmp_path):
    raw = write_real(tmp_path)
    _corrupt(raw, "train-labels-idx1-ubyte.gz", lambda b: b[:-5])
    with pytest.raises(IDXError, match="train-labels-idx1-ubyte.gz"):
        load_fashion_mnist(tmp_path)  # auto: an error, never a silent switch to the stand-in


# ------------------------------------------------------------------ missing and download
def test_real_missing_without_download_says_where_to_put_the_files(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist(tmp_path, source="real", download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    for name in FASHION_MNIST_FILES:
        assert name + ".gz" in message
    assert "LABKIT_DATA" in message and "root=" in message


def test_real_download_failure_gives_the_reason(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="simulated: no network") as info:
        load_fashion_mnist(tmp_path, source="real")
    assert info.value.reason == "RuntimeError: simulated: no network in tests"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".FashionMNIST-download")]


def test_download_is_moved_into_place(tmp_path, monkeypatch):
    tensors = make_set(12, 5)
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", fake_download(tensors))
    data = load_fashion_mnist(tmp_path, source="auto")
    assert data.source == "real" and torch.equal(data.train_images, tensors[0])
    raw = tmp_path / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(FASHION_MNIST_FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FashionMNIST"]  # no temp folder


def test_interrupted_download_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download",
                        fake_download(make_set(), fail_after=2))
    with pytest.raises(DatasetNotFoundError, match="connection reset halfway"):
        load_fashion_mnist(tmp_path, source="real")
    raw = tmp_path / "FashionMNIST" / "raw"
    assert not raw.exists() or list(raw.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ------------------------------------------------------------------------ stand-in / auto
def test_auto_falls_back_to_the_standin_with_a_warning(tmp_path, small_standin):
    with pytest.warns(StandInWarning) as record:
        data = load_fashion_mnist(tmp_path)  # real absent, download fails (monkeypatched)
    message = str(record[0].message)
    assert "NOT Fashion-MNIST's" in message and "simulated: no network" in message
    assert "labkit data prepare --source real" in message and "LABKIT_DATA" in message
    assert record[0].filename == __file__  # points at the caller, not inside labkit
    assert data.source == "synthetic"
    assert data.raw_folder == tmp_path / "FashionMNIST-standin" / "raw"
    assert data.train_images.shape == (100, 28, 28) and data.train_labels.dtype == torch.int64
    assert not (tmp_path / "FashionMNIST" / "raw").exists()  # nothing where real files go


def test_auto_without_download_does_not_try(tmp_path, small_standin, monkeypatch):
    def must_not_download(self):
        raise AssertionError("download attempted")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", must_not_download)
    with pytest.warns(StandInWarning, match="download=False"):
        data = load_fashion_mnist(tmp_path, download=False)
    assert data.source == "synthetic"


@pytest.mark.parametrize("value, tries", [("1", False), ("yes", False), ("0", True), ("", True)])
def test_labkit_offline_disables_downloads(tmp_path, small_standin, monkeypatch, value, tries):
    attempts = []

    def record_attempt(self):
        attempts.append(1)
        raise RuntimeError("simulated: no network in tests")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", record_attempt)
    monkeypatch.setenv("LABKIT_OFFLINE", value)
    with pytest.warns(StandInWarning) as record:
        data = load_fashion_mnist(tmp_path)
    assert data.source == "synthetic"
    assert bool(attempts) == tries
    if not tries:
        assert "LABKIT_OFFLINE is set" in str(record[0].message)
        with pytest.raises(DatasetNotFoundError, match="LABKIT_OFFLINE"):
            load_fashion_mnist(tmp_path, source="real")


def test_synthetic_generates_once_then_reads_back(tmp_path, small_standin):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = load_fashion_mnist(tmp_path, source="synthetic")
    raw = standin_raw_folder(tmp_path)
    assert (raw / MARKER_NAME).is_file()
    mtime = (raw / "train-images-idx3-ubyte").stat().st_mtime_ns
    second = load_fashion_mnist(tmp_path, source="synthetic")
    assert (raw / "train-images-idx3-ubyte").stat().st_mtime_ns == mtime  # not regenerated
    assert torch.equal(first.train_images, second.train_images)


def test_incomplete_standin_is_regenerated(tmp_path, small_standin):
    raw = write_standin(tmp_path, num_train=50, num_test=20)
    (raw / MARKER_NAME).unlink()  # as if generation had been interrupted
    data = load_fashion_mnist(tmp_path, source="synthetic")
    assert len(data.train_images) == 100  # regenerated by (patched) write_standin


def test_damaged_standin_is_regenerated_with_a_warning(tmp_path, small_standin):
    raw = write_standin(tmp_path, num_train=50, num_test=20)
    path = raw / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.warns(UserWarning, match="damaged.*regenerating"):
        data = load_fashion_mnist(tmp_path, source="synthetic")
    assert len(data.test_labels) == 30


# ---------------------------------------------------------------------------------- cache
def test_cache_hit_and_invalidation(tmp_path):
    raw = write_real(tmp_path)
    first = load_fashion_mnist(tmp_path, source="real", download=False)
    cache = tmp_path / "FashionMNIST" / "processed" / "labkit-cache.pt"
    assert not first.from_cache and cache.is_file()
    second = load_fashion_mnist(tmp_path, source="real", download=False)
    assert second.from_cache
    for key in ("train_images", "train_labels", "test_images", "test_labels"):
        assert torch.equal(getattr(first, key), getattr(second, key))
    new = make_set(seed=1)  # the raw files change: the cache must not be used
    write_real(tmp_path, new)
    third = load_fashion_mnist(tmp_path, source="real", download=False)
    assert not third.from_cache and torch.equal(third.train_images, new[0])
    assert load_fashion_mnist(tmp_path, source="real", download=False).from_cache
    assert raw.is_dir()


def test_corrupt_cache_is_ignored_and_rebuilt(tmp_path):
    tensors = make_set()
    write_real(tmp_path, tensors)
    load_fashion_mnist(tmp_path, source="real", download=False)
    cache = tmp_path / "FashionMNIST" / "processed" / "labkit-cache.pt"
    cache.write_bytes(cache.read_bytes()[:1000])  # truncated
    with pytest.warns(fm.CacheWarning, match="failed verification"):
        data = load_fashion_mnist(tmp_path, source="real", download=False)
    assert not data.from_cache and torch.equal(data.train_images, tensors[0])
    assert load_fashion_mnist(tmp_path, source="real", download=False).from_cache
    torch.save({"version": 1, "fingerprint": "something else"}, cache)  # the old format
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an older labkit's cache is out of date, not damaged
        assert not load_fashion_mnist(tmp_path, source="real", download=False).from_cache


def test_unwritable_cache_still_loads(tmp_path, monkeypatch):
    write_real(tmp_path)

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(idx_datasets, "atomic_write", read_only)
    data = load_fashion_mnist(tmp_path, source="real", download=False)
    assert data.source == "real" and not data.from_cache
    assert data.cache_status.startswith("not written:") and "not writable" in data.cache_status
    assert not (tmp_path / "FashionMNIST" / "processed" / "labkit-cache.pt").exists()


def test_check_rereads_the_raw_files(tmp_path):
    raw = write_real(tmp_path, gz=False)
    load_fashion_mnist(tmp_path, source="real", download=False)  # builds the cache
    path = raw / "train-labels-idx1-ubyte"
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] = 12  # an in-place corruption that keeps size and mtime
    with open(path, "r+b") as f:
        f.write(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(IDXError, match="train-labels-idx1-ubyte: label 12"):
        check_fashion_mnist(tmp_path)


def test_cache_status_says_what_happened(tmp_path):
    write_real(tmp_path)
    assert load_fashion_mnist(tmp_path, source="real", download=False).cache_status == "built"
    assert load_fashion_mnist(tmp_path, source="real",
                              download=False).cache_status == "verified"
    write_real(tmp_path, make_set(seed=2))
    status = load_fashion_mnist(tmp_path, source="real", download=False).cache_status
    assert status == "rebuilt: the raw files changed since it was written"
    assert check_fashion_mnist(tmp_path).cache_status == "verified"


def test_check_reports_missing_data(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="labkit data prepare"):
        check_fashion_mnist(tmp_path)
    write_standin(tmp_path, num_train=20, num_test=10)
    data = check_fashion_mnist(tmp_path)
    assert data.source == "synthetic" and not data.from_cache


# ------------------------------------------------------------------------- root and names
def test_labkit_data_environment_variable(tmp_path, monkeypatch):
    tensors = make_set(9, 4)
    write_real(tmp_path / "shared", tensors)
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "shared"))
    assert default_data_root() == tmp_path / "shared"
    data = load_fashion_mnist(source="real", download=False)
    assert torch.equal(data.train_images, tensors[0])
    assert data_status()["root_origin"] == "LABKIT_DATA"


def test_default_root_in_a_checkout(monkeypatch):
    checkout = Path(fm.__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        assert default_data_root() == checkout / "data"
    else:
        assert default_data_root() == Path.cwd() / "data"


def test_status_report(tmp_path):
    write_real(tmp_path)
    status = data_status(tmp_path)
    assert status["root"] == tmp_path and status["root_origin"] == "argument"
    assert status["real"]["complete"] and not status["synthetic"]["complete"]
    assert status["auto_source"] == "real"
    text = format_data_status(status)
    assert str(tmp_path) in text and "train-images-idx3-ubyte.gz" in text


def test_text_labels():
    assert text_labels([0, 9]) == ["T-shirt/top", "Ankle boot"]
    assert text_labels(torch.tensor([[1], [6]])) == ["Trouser", "Shirt"]
    assert text_labels(3) == ["Dress"]
    assert text_labels(torch.arange(10, dtype=torch.uint8)) == list(FASHION_MNIST_CLASSES)
    assert list(FASHION_MNIST_CLASSES) == torchvision.datasets.FashionMNIST.classes
    with pytest.raises(ValueError, match=r"y\[1\] = 10 is not a Fashion-MNIST label"):
        text_labels([0, 10])
    with pytest.raises(ValueError, match=r"-1"):
        text_labels(torch.tensor([-1]))
    with pytest.raises(TypeError, match="integer labels"):
        text_labels(torch.tensor([1.0]))
    with pytest.raises(TypeError, match=r"y\[0\] must be an int"):
        text_labels(["Coat"])


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"source must be one of .*got 'mnist'"):
        load_fashion_mnist(tmp_path, source="mnist")
    with pytest.raises(TypeError, match="root must be a path"):
        load_fashion_mnist(42)
    with pytest.raises(TypeError, match="download must be True or False"):
        load_fashion_mnist(tmp_path, download="yes")
