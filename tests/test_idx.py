"""Tests for labkit.data.idx: IDX round trips (torchvision's reader as the reference),
integrity checks with clear errors, and atomic writes."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.datasets.mnist import read_image_file, read_label_file

import labkit.data.idx as idx_module
from labkit.data.idx import IDXError, atomic_write, read_idx, write_idx

DTYPES = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.float32, torch.float64]


def _images(n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_matches_torchvision_reader(tmp_path, suffix):
    images = _images(7)
    labels = torch.arange(7, dtype=torch.uint8)
    write_idx(tmp_path / f"images{suffix}", images)
    write_idx(tmp_path / f"labels{suffix}", labels)
    assert torch.equal(read_idx(tmp_path / f"images{suffix}"), images)
    assert torch.equal(read_idx(tmp_path / f"labels{suffix}"), labels)
    if suffix == "":  # torchvision reads the extracted files: it must agree byte for byte
        assert torch.equal(read_image_file(str(tmp_path / "images")), images)
        assert torch.equal(read_label_file(str(tmp_path / "labels")), labels.long())


@settings(max_examples=40, deadline=None)
@given(dtype=st.sampled_from(DTYPES),
       shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
       gz=st.booleans(), seed=st.integers(0, 1000))
def test_round_trip_any_dtype_and_shape(tmp_path_factory, dtype, shape, gz, seed):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g, dtype=torch.float64) * 100).to(dtype)
    path = tmp_path_factory.mktemp("rt") / ("x.idx.gz" if gz else "x.idx")
    write_idx(path, x)
    y = read_idx(path)
    assert y.dtype == dtype and y.shape == x.shape
    assert torch.equal(y, x)


def test_gzip_output_is_deterministic_and_really_gzip(tmp_path):
    x = _images(3)
    write_idx(tmp_path / "a.gz", x)
    write_idx(tmp_path / "b.gz", x)
    a = (tmp_path / "a.gz").read_bytes()
    assert a == (tmp_path / "b.gz").read_bytes()
    assert a[:2] == b"\x1f\x8b"
    assert gzip.decompress(a)[:4] == bytes([0, 0, 0x08, 3])


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    x = _images(2)
    write_idx(tmp_path / "x.gz", x)
    (tmp_path / "x.gz").rename(tmp_path / "x-no-suffix")
    assert torch.equal(read_idx(tmp_path / "x-no-suffix"), x)
    write_idx(tmp_path / "raw", x)
    (tmp_path / "raw").rename(tmp_path / "raw.gz")  # a raw IDX file named .gz still reads
    assert torch.equal(read_idx(tmp_path / "raw.gz"), x)


def test_header_layout(tmp_path):
    write_idx(tmp_path / "x", _images(3))
    data = (tmp_path / "x").read_bytes()
    assert data[:4] == bytes([0, 0, 0x08, 3])
    assert [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(3)] == [3, 28, 28]
    assert len(data) == 16 + 3 * 28 * 28


# ------------------------------------------------------------------------------ corruption
def test_truncated_gzip(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", _images(20))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte\.gz.*gzip stream is truncated"
                       r".*download it again"):
        read_idx(path)


def test_bad_gzip_crc(tmp_path):
    path = tmp_path / "labels.gz"
    write_idx(path, torch.arange(100, dtype=torch.uint8))
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # the CRC32 in the gzip trailer
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError, match=r"labels\.gz.*gzip stream is corrupt"):
        read_idx(path)


def test_not_gzip_not_idx_named_gz(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(IDXError, match=r"t10k-labels-idx1-ubyte\.gz.*neither gzip nor IDX"):
        read_idx(path)


@pytest.mark.parametrize("magic", [b"\x00\x00\x08\x00", b"\x01\x00\x08\x03",
                                   b"\x00\x00\x07\x03", b"<htm"])
def test_wrong_magic(tmp_path, magic):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, _images(2))
    path.write_bytes(magic + path.read_bytes()[4:])
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte: wrong magic number"):
        read_idx(path)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_header_counts_larger_than_data(tmp_path, suffix):
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (5, 28, 28))
    payload = header + bytes(784)  # the header promises 5 images, the file holds 1
    path.write_bytes(gzip.compress(payload) if suffix else payload)
    with pytest.raises(IDXError) as info:
        read_idx(path)
    message = str(info.value)
    assert path.name in message
    assert "header says 5 images of 28x28 = 3920 bytes but the file holds 784" in message
    assert "truncated" in message and "download it again" in message


def test_trailing_garbage(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, torch.arange(10, dtype=torch.uint8))
    path.write_bytes(path.read_bytes() + b"\x00\x01\x02")
    with pytest.raises(IDXError, match=r"labels: header says 10 labels = 10 bytes but the "
                                       r"file holds 13 \(3 bytes of trailing data"):
        read_idx(path)


def test_multibyte_size_message(tmp_path):
    path = tmp_path / "w"
    write_idx(path, torch.zeros(3, 4, dtype=torch.float32))
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(IDXError, match=r"shape \(3, 4\) x 4 bytes each = 48 bytes but the file "
                                       r"holds 44"):
        read_idx(path)


@pytest.mark.parametrize("content", [b"", b"\x00\x00", b"\x00\x00\x08\x03\x00\x00\x00\x05"])
def test_empty_or_short_header(tmp_path, content):
    path = tmp_path / "short"
    path.write_bytes(content)
    with pytest.raises(IDXError, match=r"short: .*(too short|truncated)"):
        read_idx(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_idx_error_is_value_error():
    assert issubclass(IDXError, ValueError)


# ---------------------------------------------------------------------------- bad arguments
def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match="tensor must be a torch.Tensor"):
        write_idx(tmp_path / "x", [1, 2, 3])
    with pytest.raises(TypeError, match="dtype IDX can store.*torch.int64"):
        write_idx(tmp_path / "x", torch.arange(3))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x", torch.tensor(3, dtype=torch.uint8))
    with pytest.raises(TypeError, match="path must be"):
        write_idx(3, torch.zeros(2, dtype=torch.uint8))
    with pytest.raises(TypeError, match="path must be"):
        read_idx(None)
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------------- atomic writes
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_failed_write_leaves_no_file(tmp_path, monkeypatch, suffix):
    def explode(f, tensor, code):
        f.write(b"\x00\x00\x08")  # half a header, then the disk "fills up"
        raise OSError("No space left on device")

    monkeypatch.setattr(idx_module, "_write_payload", explode)
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    with pytest.raises(OSError, match="No space left"):
        write_idx(path, _images(2))
    assert not path.exists()
    assert _leftovers(tmp_path) == []


def test_failed_rename_keeps_the_old_complete_file(tmp_path, monkeypatch):
    path = tmp_path / "labels"
    old = torch.arange(5, dtype=torch.uint8)
    write_idx(path, old)

    def fail_replace(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError, match="simulated crash"):
        write_idx(path, torch.arange(50, dtype=torch.uint8))
    monkeypatch.undo()
    assert torch.equal(read_idx(path), old)
    assert _leftovers(tmp_path) == []


def test_atomic_write_text_mode_and_permissions(tmp_path):
    with atomic_write(tmp_path / "sub" / "note.json", "w") as f:
        f.write("{}")
    path = tmp_path / "sub" / "note.json"
    assert path.read_text() == "{}"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # like open(), not mkstemp's 0o600


# ------------------------------------------------------------------- read errors by cause
def test_read_errors_say_what_fits_the_cause(tmp_path, monkeypatch):
    import errno

    from labkit.data.idx import DataPermissionError, read_file_bytes

    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, _images(2))
    failures = {"denied": PermissionError(errno.EACCES, "Permission denied"),
                "io": OSError(errno.EIO, "Input/output error")}
    real_read_bytes = Path.read_bytes

    for kind, error in failures.items():
        def read_bytes(self, error=error):
            if self == path:
                raise error
            return real_read_bytes(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
        if kind == "denied":
            with pytest.raises(DataPermissionError, match="read access") as info:
                read_idx(path)
            assert isinstance(info.value, PermissionError)
            assert "download it again" not in str(info.value)
        else:
            with pytest.raises(IDXError, match="Check the disk or network share"):
                read_file_bytes(path)
    monkeypatch.undo()
    with pytest.raises(FileNotFoundError):
        read_file_bytes(tmp_path / "absent")
