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

Every raw file goes through ``read_idx`` (complete gzip stream, magic number, size) and the
pair checks here (as many labels as images, labels in 0..9). The first load then saves the
four tensors to ``processed/labkit-cache.pt`` with a fingerprint of the raw files (name,
size, modification time, inode); later loads read that one file (a fraction of a second)
as long as the fingerprint matches. A corrupt or stale cache is ignored and rebuilt.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import socket
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import torch

from labkit._checks import describe
from labkit.data.idx import IDXError, atomic_write, corrupt_file_error, read_idx
from labkit.data.standin import (
    STANDIN_FILES,
    STANDIN_FOLDER,
    read_marker,
    standin_raw_folder,
    write_standin,
)

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_FILES",
    "SOURCES",
    "DatasetNotFoundError",
    "StandInWarning",
    "FashionMNISTData",
    "text_labels",
    "default_data_root",
    "load_fashion_mnist",
    "check_fashion_mnist",
    "data_status",
    "format_data_status",
]

PathLike = Union[str, "os.PathLike[str]"]

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
#: The four raw files (extracted names; each may also be present as ``<name>.gz``).
FASHION_MNIST_FILES = STANDIN_FILES
REAL_FOLDER = "FashionMNIST"  # torchvision's folder name: FashionMNIST(root) reads it too
SOURCES = ("auto", "real", "synthetic")
CACHE_NAME = "labkit-cache.pt"
_CACHE_VERSION = 1
_KEYS = ("train_images", "train_labels", "test_images", "test_labels")
_DOWNLOAD_TIMEOUT_S = 30.0


class DatasetNotFoundError(FileNotFoundError):
    """The Fashion-MNIST files are not on disk and could not be downloaded.

    ``reason`` holds why the download failed (None when none was attempted).
    """

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason


class StandInWarning(UserWarning):
    """``source="auto"`` fell back to the offline stand-in: the figures are not Fashion-MNIST's."""


@dataclass(repr=False, eq=False)
class FashionMNISTData:
    """The four tensors of Fashion-MNIST (or its stand-in) and where they came from.

    Attributes:
        train_images: uint8 ``(N_train, 28, 28)``, values 0..255.
        train_labels: int64 ``(N_train,)``, values 0..9.
        test_images: uint8 ``(N_test, 28, 28)``.
        test_labels: int64 ``(N_test,)``.
        classes: the ten class names, ``classes[label]``.
        source: ``"real"`` or ``"synthetic"`` (the stand-in).
        raw_folder: the folder holding the raw IDX files.
        from_cache: whether the tensors came from ``processed/labkit-cache.pt``.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple
    source: str
    raw_folder: Path
    from_cache: bool = False

    def __repr__(self) -> str:
        return (f"FashionMNISTData(source={self.source!r}, train={len(self.train_images)}, "
                f"test={len(self.test_images)}, raw_folder='{self.raw_folder}')")


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


def default_data_root() -> Path:
    """Where the data lives: ``$LABKIT_DATA`` when set, else ``<checkout>/data`` when labkit
    is imported from a source checkout (the package's parent holds ``pyproject.toml``), else
    ``./data``."""
    env = os.environ.get("LABKIT_DATA", "").strip()
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "labkit").is_dir():
        return checkout / "data"
    return Path.cwd() / "data"


def _resolve_root(root) -> Path:
    if root is None:
        return default_data_root()
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a path (str or os.PathLike) or None, got {describe(root)}")
    return Path(root).expanduser()


def _check_source(source) -> str:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    return source


def _user_stacklevel() -> int:
    """A warnings stacklevel pointing at the first caller outside labkit."""
    package = str(Path(__file__).resolve().parents[1]) + os.sep
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        level += 1
        frame = frame.f_back
    return level


# ---------------------------------------------------------------------------- real files
def _real_raw_folder(root: Path) -> Path:
    return root / REAL_FOLDER / "raw"


def _find_files(raw: Path) -> tuple[dict[str, Path], list[str]]:
    """The raw file for each key (extracted preferred over .gz), and the missing names."""
    found, missing = {}, []
    for key, name in zip(_KEYS, FASHION_MNIST_FILES):
        for candidate in (raw / name, raw / f"{name}.gz"):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            missing.append(name)
    return found, missing


def _not_found_message(raw: Path, missing: list[str], reason: str | None) -> str:
    lines = [f"Fashion-MNIST is not in {raw}: missing {', '.join(missing)} "
             "(each may be gzipped, with .gz appended)."]
    if reason:
        lines.append(f"The download failed: {reason}")
    lines += [
        "To fix it, either:",
        "  - run `labkit data prepare --source real` on a machine with a network, or",
        f"  - copy the four files {', '.join(n + '.gz' for n in FASHION_MNIST_FILES)} "
        f"(from https://github.com/zalandoresearch/fashion-mnist) into {raw}/, or",
        "  - point labkit at a folder that holds FashionMNIST/raw/ with the environment "
        "variable LABKIT_DATA=/path/to/data or load_fashion_mnist(root='/path/to/data').",
        "Offline, source='synthetic' (or 'auto') uses labkit's generated stand-in instead.",
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    """Bound each network wait (urllib's default is to wait forever)."""
    previous = socket.getdefaulttimeout()
    if previous is None:
        socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def offline() -> bool:
    """True when the ``LABKIT_OFFLINE`` environment variable is set to anything but
    ``""``/``0``: downloads are then never attempted (CI and the test suite set it, so
    they never wait on a network they do not have)."""
    return os.environ.get("LABKIT_OFFLINE", "").strip() not in ("", "0")


def _download_real(root: Path) -> None:
    """Download the four files with torchvision into a temporary folder, check them, then
    move them into ``<root>/FashionMNIST/raw``: an interrupted download leaves nothing there.

    Raises:
        DatasetNotFoundError: the download failed (the cause is chained).
    """
    import torchvision

    raw = _real_raw_folder(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".FashionMNIST-download-"))
    try:
        try:
            with _socket_timeout(_DOWNLOAD_TIMEOUT_S), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torchvision.datasets.FashionMNIST(tmp, train=True, download=True)
        except Exception as err:  # no network, HTTP error, checksum mismatch, disk full...
            reason = f"{type(err).__name__}: {err}".strip()
            _, missing = _find_files(raw)
            raise DatasetNotFoundError(_not_found_message(raw, missing, reason),
                                       reason) from err
        tmp_raw = tmp / REAL_FOLDER / "raw"
        for name in FASHION_MNIST_FILES:
            read_idx(tmp_raw / name)  # complete and well-formed before it is moved into place
        raw.mkdir(parents=True, exist_ok=True)
        for name in FASHION_MNIST_FILES:
            os.replace(tmp_raw / name, raw / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------ reading + cache
def _fingerprint(files: dict[str, Path]) -> list[list]:
    out = []
    for key in _KEYS:
        st = files[key].stat()
        out.append([files[key].name, st.st_size, st.st_mtime_ns, st.st_ino])
    return out


def _read_checked(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """Read the four files and check them as a set; IDXError names the file at fault."""
    tensors = {key: read_idx(files[key]) for key in _KEYS}
    for split in ("train", "test"):
        images, labels = tensors[f"{split}_images"], tensors[f"{split}_labels"]
        img_file, lbl_file = files[f"{split}_images"], files[f"{split}_labels"]
        if images.dtype != torch.uint8 or images.dim() != 3 or images.shape[1:] != (28, 28):
            raise corrupt_file_error(img_file, f"expected uint8 images of 28x28, got "
                                     f"{describe(images)}; this is not a Fashion-MNIST "
                                     f"image file")
        if len(images) == 0:
            raise corrupt_file_error(img_file, "holds no images")
        if labels.dtype != torch.uint8 or labels.dim() != 1:
            raise corrupt_file_error(lbl_file, f"expected a 1-D uint8 label file, got "
                                               f"{describe(labels)}")
        if len(labels) != len(images):
            raise IDXError(f"{img_file} holds {len(images)} images but {lbl_file} holds "
                           f"{len(labels)} labels: the two files do not belong together. "
                           f"Delete both and download them again (or regenerate them with "
                           f"`labkit data prepare`).")
        bad = (labels > 9).nonzero()
        if len(bad) > 0:
            i = int(bad[0])
            raise corrupt_file_error(lbl_file, f"label {int(labels[i])} at position {i} is "
                                               f"outside 0..9 ({len(bad)} such labels)")
        tensors[f"{split}_labels"] = labels.to(torch.int64)
    return tensors


def _load_cache(path: Path, fingerprint: list) -> dict[str, torch.Tensor] | None:
    """The cached tensors when the cache exists, is readable and matches; else None."""
    if not path.is_file():
        return None
    try:
        cache = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # truncated, corrupt, written by an incompatible torch: rebuild it
        return None
    if not isinstance(cache, dict) or cache.get("version") != _CACHE_VERSION:
        return None
    if cache.get("fingerprint") != fingerprint:
        return None
    tensors = {key: cache.get(key) for key in _KEYS}
    for split in ("train", "test"):
        images, labels = tensors[f"{split}_images"], tensors[f"{split}_labels"]
        if not (isinstance(images, torch.Tensor) and isinstance(labels, torch.Tensor)
                and images.dtype == torch.uint8 and images.dim() == 3
                and labels.dtype == torch.int64 and labels.shape == images.shape[:1]):
            return None
    return tensors


def _save_cache(path: Path, fingerprint: list, tensors: dict[str, torch.Tensor]) -> None:
    try:
        with atomic_write(path) as f:
            torch.save({"version": _CACHE_VERSION, "fingerprint": fingerprint, **tensors}, f)
    except OSError:
        pass  # a read-only shared copy: every load reads the raw files, which still works


def _load_folder(raw: Path, files: dict[str, Path], source: str, *,
                 use_cache: bool = True) -> FashionMNISTData:
    fingerprint = _fingerprint(files)
    cache_path = raw.parent / "processed" / CACHE_NAME
    tensors = _load_cache(cache_path, fingerprint) if use_cache else None
    from_cache = tensors is not None
    if tensors is None:
        tensors = _read_checked(files)
        if use_cache:
            _save_cache(cache_path, fingerprint, tensors)
    return FashionMNISTData(**tensors, classes=FASHION_MNIST_CLASSES, source=source,
                            raw_folder=raw, from_cache=from_cache)


def _load_real(root: Path, download: bool, *, use_cache: bool = True) -> FashionMNISTData:
    raw = _real_raw_folder(root)
    files, missing = _find_files(raw)
    if missing:
        if not download:
            raise DatasetNotFoundError(_not_found_message(raw, missing, None))
        if offline():
            reason = "LABKIT_OFFLINE is set, so no download was tried"
            raise DatasetNotFoundError(_not_found_message(raw, missing, reason), reason)
        _download_real(root)
        files, missing = _find_files(raw)
        assert not missing, missing
    return _load_folder(raw, files, "real", use_cache=use_cache)


def _load_standin(root: Path, *, use_cache: bool = True) -> FashionMNISTData:
    raw = standin_raw_folder(root)
    files = {key: raw / name for key, name in zip(_KEYS, STANDIN_FILES)}
    if read_marker(raw) is None or not all(p.is_file() for p in files.values()):
        write_standin(root)  # absent, interrupted or written by an older generator
    try:
        return _load_folder(raw, files, "synthetic", use_cache=use_cache)
    except IDXError as err:  # generated data: regenerating it loses nothing
        warnings.warn(f"the stand-in in {raw} is damaged ({err}); regenerating it",
                      stacklevel=_user_stacklevel())
        write_standin(root)
        return _load_folder(raw, files, "synthetic", use_cache=use_cache)


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
    """
    root = _resolve_root(root)
    _check_source(source)
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {describe(download)}")
    if source == "real":
        return _load_real(root, download)
    if source == "synthetic":
        return _load_standin(root)
    try:
        return _load_real(root, download)
    except DatasetNotFoundError as err:
        reason = err.reason or "download=False was given"
    standin = standin_raw_folder(root)
    warnings.warn(StandInWarning(
        f"Fashion-MNIST is not in {_real_raw_folder(root)} and was not downloaded ({reason}). "
        f"Using labkit's offline STAND-IN from {standin}: procedurally drawn garments in "
        f"Fashion-MNIST's format, so accuracies and figures are NOT Fashion-MNIST's. To use "
        f"the real set, run `labkit data prepare --source real` with a network, or copy the "
        f"four files ({', '.join(FASHION_MNIST_FILES)}, .gz or not) into "
        f"{_real_raw_folder(root)}/, or set LABKIT_DATA to a folder holding FashionMNIST/raw/."
    ), stacklevel=_user_stacklevel())
    return _load_standin(root)


def check_fashion_mnist(root: PathLike | None = None, source: str = "auto"
                        ) -> FashionMNISTData:
    """Re-read and re-check the raw files, bypassing the cache (for ``labkit data check``).

    Downloads and generates nothing. ``source="auto"`` checks the real set when it is on
    disk, else the stand-in. Raises ``IDXError`` for a damaged file and
    ``DatasetNotFoundError`` when there is nothing to check; returns the freshly read data
    (``from_cache`` False) when all is well.
    """
    root = _resolve_root(root)
    _check_source(source)
    real_present = not _find_files(_real_raw_folder(root))[1]
    if source == "real" or (source == "auto" and real_present):
        return _load_real(root, download=False, use_cache=False)
    raw = standin_raw_folder(root)
    files = {key: raw / name for key, name in zip(_KEYS, STANDIN_FILES)}
    if read_marker(raw) is None or not all(p.is_file() for p in files.values()):
        what = "neither the real set nor the stand-in is" if source == "auto" else (
            "the stand-in is")
        raise DatasetNotFoundError(
            f"{what} on disk under {root} (the stand-in in {raw} is absent or incomplete); "
            f"prepare it with `labkit data prepare`")
    return _load_folder(raw, files, "synthetic", use_cache=False)


def data_status(root: PathLike | None = None) -> dict:
    """Where the data is and what is there (for ``labkit data``); reads no data file.

    Returns a dict: ``root``, ``root_origin`` (``"argument"``, ``"LABKIT_DATA"``,
    ``"checkout"`` or ``"cwd"``), and for ``"real"`` and ``"synthetic"``: ``raw_folder``,
    ``files`` (name -> path or None), ``complete`` (bool), ``cache`` (path or None).
    ``"auto_source"`` is the source ``load_fashion_mnist(source="auto", download=False)``
    would use.
    """
    if root is not None:
        origin = "argument"
    elif os.environ.get("LABKIT_DATA", "").strip():
        origin = "LABKIT_DATA"
    else:
        checkout = Path(__file__).resolve().parents[2]
        origin = "checkout" if default_data_root() == checkout / "data" else "cwd"
    root = _resolve_root(root)
    status: dict = {"root": root, "root_origin": origin}
    real_raw = _real_raw_folder(root)
    found, missing = _find_files(real_raw)
    standin_raw = standin_raw_folder(root)
    standin_complete = read_marker(standin_raw) is not None and all(
        (standin_raw / n).is_file() for n in STANDIN_FILES)
    for source, raw, files, complete in (
        ("real", real_raw, {n: found.get(k) for k, n in zip(_KEYS, FASHION_MNIST_FILES)},
         not missing),
        ("synthetic", standin_raw,
         {n: (standin_raw / n if (standin_raw / n).is_file() else None)
          for n in STANDIN_FILES}, standin_complete),
    ):
        cache = raw.parent / "processed" / CACHE_NAME
        status[source] = {"raw_folder": raw, "files": files, "complete": complete,
                          "cache": cache if cache.is_file() else None}
    status["auto_source"] = "real" if not missing else "synthetic"
    return status


def format_data_status(status: dict) -> str:
    """``data_status()`` as the lines ``labkit data`` prints."""
    lines = [f"data root: {status['root']} (from {status['root_origin']})"]
    for source, title in (("real", "Fashion-MNIST (real)"),
                          ("synthetic", f"stand-in ({STANDIN_FOLDER})")):
        s = status[source]
        state = "complete" if s["complete"] else "absent or incomplete"
        lines.append(f"{title}: {state} in {s['raw_folder']}")
        for name, path in s["files"].items():
            lines.append(f"    {name:<26} {path.name if path else 'missing'}")
        lines.append(f"    cache: {s['cache'] or 'none yet'}")
    lines.append(f"source='auto' would use: {status['auto_source']}"
                 + (" (or download the real set first, when online)"
                    if status["auto_source"] == "synthetic" else ""))
    return "\n".join(lines)


def _decompress_for_torchvision(raw: Path) -> None:
    """torchvision reads only the extracted names: extract any file present only as .gz."""
    for name in FASHION_MNIST_FILES:
        target, packed = raw / name, raw / f"{name}.gz"
        if not target.is_file() and packed.is_file():
            data = gzip.decompress(packed.read_bytes())  # already checked by read_idx
            with atomic_write(target) as f:
                f.write(data)
