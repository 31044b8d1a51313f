"""Read and write IDX files, the format of MNIST and Fashion-MNIST, with integrity checks.

Used by the Fashion-MNIST loader of ``04_softmax_regression_scratch``: every raw file it
reads goes through ``read_idx``.

An IDX file is a 4-byte magic number, one big-endian 32-bit size per dimension, then the
values in row-major (C) order, big-endian::

    magic = 0x00 0x00 <dtype code> <ndim>      e.g. 0x00000803: uint8, 3 dimensions
    dims  = ndim x uint32                       e.g. 60000, 28, 28
    data  = prod(dims) x itemsize bytes         e.g. 47,040,000 bytes

The files are often gzipped (``*.gz``). ``read_idx`` trusts nothing: it checks the gzip
stream is complete (a truncated download or a bad CRC is caught), the magic number, and
that the header's dimensions times the item size equal the number of data bytes (neither
fewer nor more). Every failure raises ``IDXError`` naming the file, what is wrong and how
to fix it, never a bare ``EOFError``, ``struct.error`` or a silently short tensor.

``write_idx`` writes atomically (a temporary name in the same folder, ``fsync``, then
``os.replace``), so an interrupted write never leaves a half file under the final name.
``atomic_write`` is the same mechanism for any file (the tensor cache and stand-in use it).
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import secrets
import zlib
from pathlib import Path
from typing import IO, Union

import numpy as np
import torch

from labkit._checks import check_tensor, describe

__all__ = ["IDXError", "read_idx", "write_idx", "atomic_write"]

PathLike = Union[str, "os.PathLike[str]"]

# IDX dtype code -> (torch dtype, big-endian numpy dtype)
_IDX_DTYPES = {
    0x08: (torch.uint8, np.dtype(">u1")),
    0x09: (torch.int8, np.dtype(">i1")),
    0x0B: (torch.int16, np.dtype(">i2")),
    0x0C: (torch.int32, np.dtype(">i4")),
    0x0D: (torch.float32, np.dtype(">f4")),
    0x0E: (torch.float64, np.dtype(">f8")),
}
_TORCH_TO_CODE = {torch_dtype: code for code, (torch_dtype, _) in _IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_FIX = (
    "Delete it and download it again (or regenerate it with `labkit data prepare`)."
)


class IDXError(ValueError):
    """An IDX file that is missing pieces, corrupt, or not an IDX file at all."""


def corrupt_file_error(path: Path, problem: str) -> IDXError:
    """``IDXError`` "<path>: <problem>. <how to fix it>" (also used by the loader's checks)."""
    return IDXError(f"{path}: {problem}. {_FIX}")


def _describe_dims(dims: tuple[int, ...], itemsize: int) -> str:
    """'60000 images of 28x28' / '60000 labels' / 'shape (2, 3, 4)' for error messages."""
    if len(dims) == 3:
        what = f"{dims[0]} images of {dims[1]}x{dims[2]}"
    elif len(dims) == 1:
        what = f"{dims[0]} labels"
    else:
        what = f"shape {dims}"
    if itemsize != 1:
        what += f" x {itemsize} bytes each"
    return what


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzipped (recognised by content, not name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as err:
        raise corrupt_file_error(path, f"cannot be read ({err})") from err
    if raw[:2] != _GZIP_MAGIC:
        if path.suffix == ".gz" and len(raw) > 0 and raw[:2] != b"\x00\x00":
            raise corrupt_file_error(path, "the name ends in .gz but the file is neither gzip nor IDX "
                              f"(it starts with bytes {raw[:4].hex(' ')})")
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as err:
        raise corrupt_file_error(path, f"the gzip stream is truncated ({len(raw)} compressed bytes end "
                          "before the end-of-stream marker; an interrupted download?)") from err
    except (OSError, zlib.error) as err:  # gzip.BadGzipFile is an OSError: bad CRC, bad data
        raise corrupt_file_error(path, f"the gzip stream is corrupt ({err})") from err


def read_idx(path: PathLike) -> torch.Tensor:
    """Read an IDX file (gzipped or raw) into a tensor, checking it is complete.

    Args:
        path: the file, e.g. ``data/FashionMNIST/raw/train-images-idx3-ubyte.gz``.

    Returns:
        A tensor with the header's shape and dtype, e.g. uint8 ``(60000, 28, 28)`` for
        images, uint8 ``(60000,)`` for labels.

    Raises:
        FileNotFoundError: the file does not exist.
        IDXError: truncated or corrupt gzip stream, wrong magic number, or a header whose
            dimensions do not match the amount of data (too little or too much).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {describe(path)}")
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise corrupt_file_error(path, f"the file holds {len(data)} bytes, too short for the 4-byte "
                          "IDX magic number (an empty or truncated file)")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise corrupt_file_error(path, f"wrong magic number {data[:4].hex(' ')}: an IDX file starts with "
                          "00 00, a dtype code (08 uint8, 09 int8, 0b int16, 0c int32, "
                          "0d float32, 0e float64) and the number of dimensions (>= 1); "
                          "this is not an IDX file")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise corrupt_file_error(path, f"the header needs {header_size} bytes for {ndim} dimensions but "
                          f"the file holds {len(data)} (truncated)")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    torch_dtype, np_dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * np_dtype.itemsize
    actual = len(data) - header_size
    if actual != expected:
        what = _describe_dims(dims, np_dtype.itemsize)
        if actual < expected:
            hint = "the file is truncated or its header is wrong"
        else:
            hint = f"{actual - expected} bytes of trailing data: wrong header or garbage"
        raise corrupt_file_error(path, f"header says {what} = {expected} bytes but the file holds "
                          f"{actual} ({hint})")
    array = np.frombuffer(data, dtype=np_dtype, count=math.prod(dims), offset=header_size)
    array = array.astype(np_dtype.newbyteorder("="))  # native byte order, a writable copy
    tensor = torch.from_numpy(array).reshape(dims)
    assert tensor.dtype == torch_dtype
    return tensor


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb"):
    """Open a temporary file next to ``path``; on success rename it to ``path``.

    The data goes to ``.<name>.<random>.tmp`` in the same folder, is flushed and
    ``fsync``-ed, then ``os.replace`` (atomic on POSIX and Windows) puts it under the final
    name. If anything fails before that, the temporary file is deleted and ``path`` is left
    as it was (absent, or the old complete version).

    Example::

        with atomic_write("data/x.bin") as f:
            f.write(b"...")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_name = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # 0o666 minus the umask, like open(): a shared data folder stays readable by the class
    fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX only)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _write_payload(f: IO[bytes], tensor: torch.Tensor, code: int) -> None:
    f.write(bytes([0, 0, code, tensor.dim()]))
    f.write(b"".join(int(d).to_bytes(4, "big") for d in tensor.shape))
    np_dtype = _IDX_DTYPES[code][1]
    f.write(tensor.detach().cpu().contiguous().numpy().astype(np_dtype).tobytes())


def write_idx(path: PathLike, tensor: torch.Tensor) -> None:
    """Write ``tensor`` as an IDX file, atomically; gzipped when ``path`` ends in ``.gz``.

    Args:
        path: destination; its folder is created if needed.
        tensor: any shape with at least one dimension (each < 2**32), dtype uint8, int8,
            int16, int32, float32 or float64 (the dtypes IDX can hold).

    The gzip header carries no timestamp, so the same tensor always gives the same bytes.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {describe(path)}")
    check_tensor(tensor, "tensor")
    if tensor.dtype not in _TORCH_TO_CODE:
        names = ", ".join(str(d) for d in _TORCH_TO_CODE)
        raise TypeError(f"tensor must have a dtype IDX can store ({names}), got {tensor.dtype}")
    if tensor.dim() == 0 or tensor.dim() > 255:
        raise ValueError(f"tensor must have 1 to 255 dimensions, got {describe(tensor)}")
    if any(d >= 2**32 for d in tensor.shape):
        raise ValueError(f"tensor dimensions must be < 2**32, got {tuple(tensor.shape)}")
    code = _TORCH_TO_CODE[tensor.dtype]
    path = Path(path)
    with atomic_write(path) as f:
        if path.suffix == ".gz":
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
                _write_payload(gz, tensor, code)
        else:
            _write_payload(f, tensor, code)
