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

A write killed halfway (SIGKILL, power cut) leaves its temporary file ``.<name>.<hex>.tmp``
behind. ``remove_abandoned_temp_files`` deletes those, and only those: while a writer is
alive it holds an exclusive lock on its temporary file (``flock``, released by the operating
system when the process dies, however it dies), so a temporary file that can be locked
belongs to nobody. Where locks are unavailable (Windows, some network file systems) only
temporary files untouched for an hour are deleted.

A file or folder that labkit may not read or write raises ``DataPermissionError`` (a
``PermissionError``) whose message says what to change; a damaged file raises ``IDXError``
with the advice to fetch it again. The two causes get different fixes.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import math
import os
import re
import secrets
import shutil
import time
import zlib
from pathlib import Path
from typing import IO, Union

import numpy as np
import torch

from labkit._checks import check_tensor, describe

try:  # POSIX advisory locks; absent on Windows
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = [
    "IDXError",
    "DataPermissionError",
    "read_idx",
    "write_idx",
    "atomic_write",
    "read_file_bytes",
    "remove_abandoned_temp_files",
    "hold_lock",
]

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


class DataPermissionError(PermissionError):
    """labkit may not read a data file, or may not write into a data folder; the message
    names it and says how to fix it (the file itself is probably fine)."""


def corrupt_file_error(path: Path, problem: str) -> IDXError:
    """``IDXError`` "<path>: <problem>. <how to fix it>" (also used by the loader's checks)."""
    return IDXError(f"{path}: {problem}. {_FIX}")


def is_permission_error(err: BaseException) -> bool:
    """True for 'permission denied' and 'read-only file system' errors."""
    return isinstance(err, PermissionError) or (
        isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM, errno.EROFS))


def unreadable_file_error(path: Path, err: OSError) -> DataPermissionError:
    """The error for a data file that exists but that this user may not read."""
    return DataPermissionError(
        f"{path}: cannot be read: permission denied ({err.strerror or err}). The file is "
        f"there and probably fine; your user lacks read access to it (or to its folder). "
        f"Ask its owner or an administrator to grant read access (on Linux or macOS: "
        f"`chmod a+r {path}`, and `chmod a+rx` on its folders), or copy the data set into "
        f"a folder of your own and point labkit at it with LABKIT_DATA=/path/to/data (or "
        f"root='/path/to/data').")


def not_writable_error(folder: Path, what: str, err: OSError,
                       root: Path | None = None) -> DataPermissionError:
    """The error for a data folder labkit must write into (``what``: what it was writing)
    but may not: read-only share, another user's folder."""
    elsewhere = (
        "point labkit at a folder you can write: set the environment variable "
        "LABKIT_DATA=/path/to/writable/folder (in a notebook: os.environ['LABKIT_DATA'] = "
        "'...' before loading; in a shell: export LABKIT_DATA=...) or pass root='...'")
    shared = (f" If {root} is a shared copy, whoever prepared it can run `labkit data "
              f"prepare --root {root}` once so that it already holds the data.") if root else ""
    return DataPermissionError(
        f"cannot write {what} into {folder}: {err.strerror or err}. labkit needs {folder} to "
        f"be writable for this; either make it writable, or {elsewhere}.{shared}")


def read_file_bytes(path: Path) -> bytes:
    """``path.read_bytes()`` with the errors labkit reports: ``FileNotFoundError`` as is,
    ``DataPermissionError`` when we may not read it, ``IDXError`` for other read failures."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise
    except OSError as err:
        if is_permission_error(err):
            raise unreadable_file_error(Path(path), err) from err
        raise IDXError(
            f"{path}: cannot be read ({err}). Check the disk or network share it is on; if "
            f"the file itself is damaged, delete it and download it again (or regenerate it "
            f"with `labkit data prepare`).") from err


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
    raw = read_file_bytes(path)
    if raw[:2] != _GZIP_MAGIC:
        if path.suffix == ".gz" and len(raw) > 0 and raw[:2] != b"\x00\x00":
            raise corrupt_file_error(path, "the name ends in .gz but the file is neither gzip "
                                     f"nor IDX (it starts with bytes {raw[:4].hex(' ')})")
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as err:
        raise corrupt_file_error(path, f"the gzip stream is truncated ({len(raw)} compressed "
                                 "bytes end before the end-of-stream marker; an interrupted "
                                 "download?)") from err
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
        DataPermissionError: the file exists but may not be read.
        IDXError: truncated or corrupt gzip stream, wrong magic number, or a header whose
            dimensions do not match the amount of data (too little or too much).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {describe(path)}")
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise corrupt_file_error(path, f"the file holds {len(data)} bytes, too short for the "
                                 "4-byte IDX magic number (an empty or truncated file)")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise corrupt_file_error(path, f"wrong magic number {data[:4].hex(' ')}: an IDX file "
                          "starts with 00 00, a dtype code (08 uint8, 09 int8, 0b int16, 0c int32, "
                          "0d float32, 0e float64) and the number of dimensions (>= 1); "
                          "this is not an IDX file")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise corrupt_file_error(path, f"the header needs {header_size} bytes for {ndim} "
                                 f"dimensions but the file holds {len(data)} (truncated)")
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


_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<token>[0-9a-f]+)\.tmp$")
#: Without locks, a temporary file untouched this long is taken as abandoned.
_ABANDONED_AFTER_S = 3600.0


def _lock(fd: int, blocking: bool) -> bool | None:
    """Exclusive ``flock`` on ``fd``: True when taken, False when another process holds it
    (only when not blocking), None when this platform or file system has no such locks."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False
    except OSError as err:
        if err.errno in (errno.EAGAIN, errno.EACCES):
            return False
        return None  # ENOLCK, EOPNOTSUPP, EINVAL: no locks here


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not deleted or replaced)."""
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _create_locked_temp(path: Path) -> tuple[int, Path]:
    """Create ``.<name>.<hex>.tmp`` next to ``path`` and lock it (when locks exist) for as long
    as it stays open, so that ``remove_abandoned_temp_files`` never takes it for a leftover."""
    while True:
        tmp_name = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        # 0o666 minus the umask, like open(): a shared data folder stays readable by the class
        fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_BINARY", 0), 0o666)
        if _lock(fd, blocking=True) is None or _same_file(fd, tmp_name):
            return fd, tmp_name
        # a cleaner removed it between its creation and our lock: take a new name
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb"):
    """Open a temporary file next to ``path``; on success rename it to ``path``.

    The data goes to ``.<name>.<random>.tmp`` in the same folder, is flushed and
    ``fsync``-ed, then ``os.replace`` (atomic on POSIX and Windows) puts it under the final
    name. If anything fails before that, the temporary file is deleted and ``path`` is left
    as it was (absent, or the old complete version). While the write is in progress the
    temporary file is locked, so that a concurrent ``remove_abandoned_temp_files`` leaves it
    alone; if the process is killed, the lock goes with it and the next clean-up removes it.

    Example::

        with atomic_write("data/x.bin") as f:
            f.write(b"...")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = _create_locked_temp(path)
    f = os.fdopen(fd, mode)
    try:
        yield f
        f.flush()
        os.fsync(f.fileno())
        if os.name == "nt":  # Windows cannot rename an open file
            f.close()
        os.replace(tmp_name, path)  # POSIX: still open, still locked, until renamed
        f.close()
    except BaseException:
        with contextlib.suppress(OSError):
            f.close()
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX only)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def hold_lock(path: PathLike):
    """Hold an exclusive lock on ``path`` (a file or a folder, where locks exist) for the
    ``with`` block: ``remove_abandoned_temp_files`` then leaves it alone."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:  # Windows cannot open a folder: no lock, the clean-up judges by age
        yield
        return
    try:
        _lock(fd, blocking=True)
        yield
    finally:
        os.close(fd)


def _abandoned(path: Path) -> bool:
    """Whether nobody is writing ``path`` (a temporary file or a temporary folder)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return False  # gone already, or not ours to open
    try:
        locked = _lock(fd, blocking=False)
        if locked is None:  # no locks here: judge by age
            return time.time() - os.fstat(fd).st_mtime > _ABANDONED_AFTER_S
        # locked: its writer is gone; it must still be the file we opened (not renamed)
        return locked and _same_file(fd, path)
    finally:
        os.close(fd)  # releases our lock


def remove_abandoned_temp_files(folder: PathLike, names=None,
                                prefixes: tuple[str, ...] = ()) -> list[Path]:
    """Delete what interrupted writes left in ``folder``, and nothing that is still in use.

    Removes ``.<name>.<hex>.tmp`` files left by ``atomic_write`` (for ``name`` in ``names``;
    any name when ``names`` is None) and folders whose names start with one of ``prefixes``
    (temporary download folders), when no live process holds them (see the module
    docstring). Files that cannot be removed (a read-only folder) are left. Returns the
    paths removed.
    """
    folder = Path(folder)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        is_temp_file = bool(match) and (names is None or match["name"] in names)
        is_temp_dir = bool(prefixes) and entry.name.startswith(prefixes)
        try:
            if is_temp_file and entry.is_file(follow_symlinks=False):
                if _abandoned(Path(entry.path)):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            elif is_temp_dir and entry.is_dir(follow_symlinks=False):
                if _abandoned(Path(entry.path)):
                    shutil.rmtree(entry.path)
                    removed.append(Path(entry.path))
        except OSError:
            continue  # read-only, or removed by another process meanwhile
    return removed


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
