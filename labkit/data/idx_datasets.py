"""One data path for torchvision's IDX image sets (Fashion-MNIST, MNIST, ...): find,
download (through torchvision), check, cache, and fall back to an offline stand-in.

``labkit.data.fashion_mnist`` and ``labkit.data.mnist`` are thin front-ends: each describes
its set with an ``IDXDatasetSpec`` (folder, file names, classes, torchvision class, stand-in
generator) and calls ``load`` / ``check`` / ``status`` here. A third set in torchvision's
layout needs only its own spec (and a stand-in generator, for offline use).

Layout under the data root (``default_data_root()``: ``$LABKIT_DATA``, else the checkout's
``data/``, else ``./data``), e.g. for MNIST::

    MNIST/raw/train-images-idx3-ubyte[.gz]   the real set (torchvision's layout: gzipped
    MNIST/raw/train-labels-idx1-ubyte[.gz]   or extracted, as torchvision leaves them)
    MNIST/raw/t10k-images-idx3-ubyte[.gz]
    MNIST/raw/t10k-labels-idx1-ubyte[.gz]
    MNIST/processed/labkit-cache.pt          labkit's tensor cache of the four files
    MNIST-standin/raw/...                    the offline stand-in (never where real files go)
    MNIST-standin/processed/labkit-cache.pt

Nothing is trusted:

- every raw file goes through ``read_idx`` (complete gzip stream, magic number, sizes), then
  the set checks here (image shape, as many labels as images, labels within the classes);
- the first load saves the four tensors to ``processed/labkit-cache.pt`` (a ``torch.save``
  file) with a SHA-256 fingerprint of each raw file's content, and seals it with the
  SHA-256 of all its bytes (in the zip comment). Every later load recomputes both: the
  cache is used only when its checksum matches (any flipped bit is caught, and so is a
  cache rewritten by hand), the raw files are byte for byte the ones it was built from (an
  in-place edit that keeps the size and restores the modification time is caught), and
  its labels and images pass the same range and shape checks as fresh data. A cache that
  fails is ignored (with a ``CacheWarning`` when it was damaged rather than merely out of
  date) and rebuilt; ``labkit data check`` reports it. Hashing costs a few hundredths of a
  second per load;
- leftover ``.<name>.<hex>.tmp`` files of interrupted writes are removed on the next load,
  never one that a live process is still writing (``labkit.data.idx``);
- a read-only data root that already holds the data (a class's shared copy) loads (without
  writing a cache); one that must be written (stand-in generation, download) raises
  ``DataPermissionError`` naming the folder and ``LABKIT_DATA``.

Set ``LABKIT_OFFLINE=1`` to never try a download (``make test`` and CI do).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import struct
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import torch

from labkit._checks import describe
from labkit.data.idx import (
    IDXError,
    atomic_write,
    corrupt_file_error,
    hold_lock,
    is_permission_error,
    not_writable_error,
    read_file_bytes,
    read_idx,
    remove_abandoned_temp_files,
)
from labkit.data.standin import MARKER_NAME, STANDIN_GENERATOR, read_marker

__all__ = [
    "TORCHVISION_FILES",
    "SOURCES",
    "CACHE_NAME",
    "IDXDatasetSpec",
    "ImageData",
    "DatasetNotFoundError",
    "StandInWarning",
    "CacheWarning",
    "default_data_root",
    "offline",
    "load",
    "check",
    "status",
    "format_status",
    "real_raw_folder",
    "standin_raw_folder",
    "torchvision_folder",
]

PathLike = Union[str, "os.PathLike[str]"]

#: The four files of every torchvision IDX image set (extracted names; each may also be
#: present as ``<name>.gz``).
TORCHVISION_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
SOURCES = ("auto", "real", "synthetic")
CACHE_NAME = "labkit-cache.pt"
_CACHE_VERSION = 2
_EOCD = b"PK\x05\x06"  # a zip file's end-of-central-directory record
_DIGEST_TAG = b"labkit-sha256:"  # the cache's zip comment: this tag, then 64 hex digits
_KEYS = ("train_images", "train_labels", "test_images", "test_labels")
_DOWNLOAD_TIMEOUT_S = 30.0


# ------------------------------------------------------------------------------ the types
@dataclass(repr=False, eq=False)
class ImageData:
    """The four tensors of an image data set (or its stand-in) and where they came from.

    Attributes:
        train_images: uint8 ``(N_train, H, W)``, values 0..255.
        train_labels: int64 ``(N_train,)``, values ``0 .. len(classes) - 1``.
        test_images: uint8 ``(N_test, H, W)``.
        test_labels: int64 ``(N_test,)``.
        classes: the class names, ``classes[label]``.
        source: ``"real"`` or ``"synthetic"`` (the stand-in).
        raw_folder: the folder holding the raw IDX files.
        from_cache: whether the tensors came from ``processed/labkit-cache.pt`` (verified).
        cache_status: what happened to the cache on this load, in words: ``"verified"``
            (loaded from it), ``"built"``, ``"rebuilt: <why>"``, ``"not written: <why>"``
            (a read-only folder); from ``check``, what it found and did.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple
    source: str
    raw_folder: Path
    from_cache: bool = False
    cache_status: str = ""

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(source={self.source!r}, "
                f"train={len(self.train_images)}, test={len(self.test_images)}, "
                f"raw_folder='{self.raw_folder}')")


@dataclass(frozen=True)
class IDXDatasetSpec:
    """What labkit needs to know about one torchvision-layout IDX image set.

    Attributes:
        name: the set's name in messages, e.g. ``"MNIST"``.
        key: its command-line name, e.g. ``"mnist"`` (``--dataset mnist``).
        folder: torchvision's folder under the root, e.g. ``"MNIST"``.
        classes: the class names, in label order.
        torchvision_class: the ``torchvision.datasets`` class that downloads and reads it.
        homepage: where the files can be fetched by hand (for the not-found message).
        standin_folder: the stand-in's folder under the root, e.g. ``"MNIST-standin"``.
        write_standin: ``write_standin(root) -> raw folder``: generates the stand-in there.
        standin_generator, standin_version: the stand-in's completion marker must name
            this generator and version, else the stand-in is regenerated.
        standin_description: what the stand-in is, for the fallback warning.
        data_class: the ``ImageData`` subclass returned.
        files: the four raw file names (train images, train labels, test images, labels).
        image_shape: ``(H, W)`` of every image.
    """

    name: str
    key: str
    folder: str
    classes: tuple
    torchvision_class: str
    homepage: str
    standin_folder: str
    write_standin: Callable[[Path], Path]
    standin_generator: str
    standin_version: int
    standin_description: str
    data_class: type = ImageData
    files: tuple = TORCHVISION_FILES
    image_shape: tuple = field(default=(28, 28))


class DatasetNotFoundError(FileNotFoundError):
    """The data set's files are not on disk and could not be downloaded.

    ``reason`` holds why the download failed (None when none was attempted).
    """

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason


class StandInWarning(UserWarning):
    """``source="auto"`` fell back to an offline stand-in: the figures are not the real set's."""


class CacheWarning(UserWarning):
    """The tensor cache failed verification (damaged or tampered with): it was ignored and
    rebuilt from the raw files."""


# ------------------------------------------------------------------------------ the root
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


def resolve_root(root) -> Path:
    """The data folder: ``root``, or ``default_data_root()`` for ``None``. It need not exist
    yet, but neither it nor a folder above it may be a file (``ValueError`` naming where
    the path came from: ``root`` or ``$LABKIT_DATA``)."""
    if root is None:
        path = default_data_root()
        name = "LABKIT_DATA" if os.environ.get("LABKIT_DATA", "").strip() else "the data root"
    elif not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a path (str or os.PathLike) or None, got {describe(root)}")
    else:
        path, name = Path(root).expanduser(), "root"
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                where = "is a file" if folder == path else f"lies below the file {folder}"
                raise ValueError(f"{name} must be a folder (it is created if missing), but "
                                 f"{str(path)!r} {where}")
            break
    return path


def check_source(source) -> str:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    return source


def offline() -> bool:
    """True when the ``LABKIT_OFFLINE`` environment variable is set to anything but
    ``""``/``0``: downloads are then never attempted (CI and the test suite set it, so
    they never wait on a network they do not have)."""
    return os.environ.get("LABKIT_OFFLINE", "").strip() not in ("", "0")


@contextlib.contextmanager
def _one_thread():
    """Run the block on one PyTorch thread, then restore the setting. Loading does a few
    cheap whole-set operations (label checks, copies); a second thread gains nothing there,
    and on a busy shared machine each parallel operation can stall for a scheduler time
    slice (see ``labkit.loop.loop_threads``)."""
    previous = torch.get_num_threads()
    if previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def user_stacklevel() -> int:
    """A warnings stacklevel pointing at the first caller outside labkit."""
    package = str(Path(__file__).resolve().parents[1]) + os.sep
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        level += 1
        frame = frame.f_back
    return level


def real_raw_folder(spec: IDXDatasetSpec, root: PathLike) -> Path:
    """``<root>/<folder>/raw``: where the real files go (torchvision's layout)."""
    return Path(root) / spec.folder / "raw"


def standin_raw_folder(spec: IDXDatasetSpec, root: PathLike) -> Path:
    """``<root>/<standin_folder>/raw``: where the stand-in's files go."""
    return Path(root) / spec.standin_folder / "raw"


# ---------------------------------------------------------------------------- real files
def _find_files(spec: IDXDatasetSpec, raw: Path) -> tuple[dict[str, Path], list[str]]:
    """The raw file for each key (extracted preferred over .gz), and the missing names."""
    found, missing = {}, []
    for key, name in zip(_KEYS, spec.files):
        for candidate in (raw / name, raw / f"{name}.gz"):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            missing.append(name)
    return found, missing


def cli_command(spec: IDXDatasetSpec, action: str) -> str:
    """``labkit data <action>`` for this set (``--dataset`` only where it is not the
    default, Fashion-MNIST)."""
    dataset = "" if spec.key == "fashion-mnist" else f" --dataset {spec.key}"
    words = action.split(" ", 1)
    return f"labkit data {words[0]}{dataset}{' ' + words[1] if len(words) > 1 else ''}"


def _where(spec: IDXDatasetSpec, raw: Path, missing: list[str]) -> str:
    """'MNIST is not in X' or 'MNIST in X is incomplete: t10k-labels-idx1-ubyte is missing'."""
    if len(missing) == len(spec.files):
        return f"{spec.name} is not in {raw}"
    present = [n for n in spec.files if n not in missing]
    verb = "is" if len(missing) == 1 else "are"
    return (f"{spec.name} in {raw} is incomplete: {', '.join(missing)} {verb} missing "
            f"(.gz or not; found {', '.join(present)})")


def _not_found_message(spec: IDXDatasetSpec, raw: Path, missing: list[str],
                       reason: str | None) -> str:
    lines = [f"{_where(spec, raw, missing)}."]
    if reason:
        lines.append(f"The download failed: {reason}")
    lines += [
        "To fix it, either:",
        f"  - run `{cli_command(spec, 'prepare --source real')}` on a machine with a network, or",
        f"  - copy {'the missing file' if len(missing) == 1 else 'the files'} "
        f"{', '.join(n + '.gz' for n in missing)} (from {spec.homepage}) into {raw}/, or",
        f"  - point labkit at a folder that holds {spec.folder}/raw/ with the environment "
        "variable LABKIT_DATA=/path/to/data or root='/path/to/data'.",
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


def _download_prefix(spec: IDXDatasetSpec) -> str:
    return f".{spec.folder}-download-"


def _download_real(spec: IDXDatasetSpec, root: Path) -> None:
    """Download the four files with torchvision into a temporary folder, check them, then
    move them into ``<root>/<folder>/raw``: an interrupted download leaves nothing there.

    Raises:
        DatasetNotFoundError: the download failed, or the root is not writable (the cause
            is chained).
    """
    import torchvision

    raw = real_raw_folder(spec, root)
    _, missing = _find_files(spec, raw)
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=_download_prefix(spec)))
    except OSError as err:
        if not is_permission_error(err):
            raise
        reason = f"cannot write into {root} ({err.strerror or err})"
        raise DatasetNotFoundError(_not_found_message(spec, raw, missing, reason),
                                   reason) from err
    try:
        with hold_lock(tmp):  # a concurrent clean-up leaves the folder alone
            try:
                with _socket_timeout(_DOWNLOAD_TIMEOUT_S), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    getattr(torchvision.datasets, spec.torchvision_class)(tmp, train=True,
                                                                          download=True)
            except Exception as err:  # no network, HTTP error, checksum mismatch, disk full
                reason = f"{type(err).__name__}: {err}".strip()
                raise DatasetNotFoundError(_not_found_message(spec, raw, missing, reason),
                                           reason) from err
            tmp_raw = tmp / spec.folder / "raw"
            for name in spec.files:
                read_idx(tmp_raw / name)  # complete and well-formed before it is moved
            raw.mkdir(parents=True, exist_ok=True)
            for name in spec.files:
                os.replace(tmp_raw / name, raw / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------ reading + cache
def _fingerprint(files: dict[str, Path]) -> list[list]:
    """``[[name, size, sha256 of the content], ...]`` for the four raw files: a same-size
    in-place edit changes it, whatever the modification time says."""
    out = []
    for key in _KEYS:
        content = read_file_bytes(files[key])
        out.append([files[key].name, len(content), hashlib.sha256(content).hexdigest()])
    return out


def _check_tensors(spec: IDXDatasetSpec, tensors: dict, files: dict | None = None) -> None:
    """The checks every data set passes, fresh from the raw files or from the cache: uint8
    images of ``image_shape``, at least one, as many labels as images, labels within the
    classes. Raises ``IDXError`` naming the file at fault (``files``), or the cache."""
    h, w = spec.image_shape

    def fault(key, problem):
        if files is None:
            return IDXError(f"{key}: {problem}")
        return corrupt_file_error(files[key], problem)

    for split in ("train", "test"):
        images, labels = tensors.get(f"{split}_images"), tensors.get(f"{split}_labels")
        if not (isinstance(images, torch.Tensor) and isinstance(labels, torch.Tensor)):
            raise fault(f"{split}_images", "is missing")
        if images.dtype != torch.uint8 or images.dim() != 3 or images.shape[1:] != (h, w):
            raise fault(f"{split}_images", f"expected uint8 images of {h}x{w} (pixels "
                        f"0..255), got {describe(images)}; this is not a {spec.name} image "
                        f"file")
        if len(images) == 0:
            raise fault(f"{split}_images", "holds no images")
        if labels.dim() != 1 or labels.dtype not in (torch.uint8, torch.int64):
            raise fault(f"{split}_labels", f"expected a 1-D uint8 label file, got "
                        f"{describe(labels)}")
        if len(labels) != len(images):
            if files is None:
                raise IDXError(f"{split}: {len(images)} images but {len(labels)} labels")
            img_file, lbl_file = files[f"{split}_images"], files[f"{split}_labels"]
            raise IDXError(f"{img_file} holds {len(images)} images but {lbl_file} holds "
                           f"{len(labels)} labels: the two files do not belong together. "
                           f"Delete both and download them again (or regenerate them with "
                           f"`labkit data prepare`).")
        bad = ((labels < 0) | (labels >= len(spec.classes))).nonzero()
        if len(bad) > 0:
            i = int(bad[0])
            raise fault(f"{split}_labels", f"label {int(labels[i])} at position {i} is "
                        f"outside 0..{len(spec.classes) - 1} ({len(bad)} such labels)")


def _read_checked(spec: IDXDatasetSpec, files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """Read the four files and check them as a set; IDXError names the file at fault."""
    tensors = {key: read_idx(files[key]) for key in _KEYS}
    _check_tensors(spec, tensors, files)
    for split in ("train", "test"):
        tensors[f"{split}_labels"] = tensors[f"{split}_labels"].to(torch.int64)
    return tensors


def _cache_path(raw: Path) -> Path:
    return raw.parent / "processed" / CACHE_NAME


class _CacheMiss(Exception):
    """Why the cache was not used: ``kind`` is ``"absent"``, ``"stale"`` (the raw files
    changed since it was built, or an older labkit wrote it: normal), ``"unreadable"`` (we
    may not read it) or ``"damaged"`` (it fails its own checks)."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


def _seal(payload: bytes) -> bytes | None:
    """``torch.save``'s zip file with the SHA-256 of its bytes appended as the zip comment
    (``torch.load`` reads it as before); None if the file does not end as expected."""
    if payload[-22:-18] != _EOCD or payload[-2:] != b"\x00\x00":
        return None  # a zip layout this code does not know: better no cache than a blind one
    comment = _DIGEST_TAG + hashlib.sha256(payload).hexdigest().encode()
    return payload[:-2] + struct.pack("<H", len(comment)) + comment


def _unseal(content: bytes) -> bool:
    """Whether ``content`` carries labkit's digest and every byte matches it."""
    size = len(_DIGEST_TAG) + 64
    if (len(content) < size + 22 or content[-size - 22: -size - 18] != _EOCD
            or content[-size - 2: -size] != struct.pack("<H", size)
            or content[-size: -64] != _DIGEST_TAG):
        return False
    h = hashlib.sha256(memoryview(content)[: -size - 2])
    h.update(b"\x00\x00")  # the comment length as torch.save wrote it
    return h.hexdigest().encode() == content[-64:]


def _older_format(content: bytes) -> bool:
    """Whether ``content`` is the unsealed cache of labkit 0.1 (``"version": 1``)."""
    if content[-22:-18] != _EOCD or content[-2:] != b"\x00\x00":
        return False
    try:
        old = torch.load(io.BytesIO(content), map_location="cpu", weights_only=True)
    except Exception:
        return False
    return isinstance(old, dict) and old.get("version") == 1


def _read_cache(spec: IDXDatasetSpec, path: Path, fingerprint: list
                ) -> dict[str, torch.Tensor]:
    """The cached tensors, verified; raises ``_CacheMiss`` saying why not.

    The cache is a ``torch.save`` file (``torch.load`` reads it) whose zip comment holds the
    SHA-256 of the rest of its bytes: any changed byte is caught, and so is a file rewritten
    by hand (``torch.save`` writes no comment).
    """
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise _CacheMiss("absent", "no cache yet") from None
    except OSError as err:
        raise _CacheMiss("unreadable", f"it cannot be read ({err.strerror or err})") from None
    if not _unseal(content):
        if _older_format(content):
            raise _CacheMiss("stale", "it was written by an older labkit")
        raise _CacheMiss("damaged", "checksum mismatch: its content was altered or damaged")
    try:
        cache = torch.load(io.BytesIO(content), map_location="cpu", weights_only=True)
    except Exception as err:  # checksum right but unreadable: an incompatible torch
        raise _CacheMiss("stale", f"this torch cannot read it ({type(err).__name__})") from None
    if not isinstance(cache, dict) or cache.get("version") != _CACHE_VERSION:
        raise _CacheMiss("stale", "it was written by another labkit version")
    if cache.get("dataset") != spec.key:
        raise _CacheMiss("damaged", f"it holds {cache.get('dataset')!r}, not {spec.key!r}")
    tensors = {key: cache.get(key) for key in _KEYS}
    try:
        _check_tensors(spec, tensors)
    except IDXError as err:
        raise _CacheMiss("damaged", f"its tensors fail the data checks ({err})") from None
    if cache.get("raw_files") != fingerprint:
        raise _CacheMiss("stale", "the raw files changed since it was written")
    return {key: t.to(torch.int64) if "labels" in key else t for key, t in tensors.items()}


def _write_cache(spec: IDXDatasetSpec, path: Path, fingerprint: list,
                 tensors: dict[str, torch.Tensor]) -> str | None:
    """Save the cache; None when written, else why not (a read-only shared copy: every
    load then reads the raw files, which still works)."""
    buffer = io.BytesIO()
    torch.save({"version": _CACHE_VERSION, "dataset": spec.key, "raw_files": fingerprint,
                **tensors}, buffer)
    sealed = _seal(buffer.getvalue())
    if sealed is None:
        return "torch.save wrote a file layout labkit cannot checksum"
    try:
        with atomic_write(path) as f:
            f.write(sealed)
    except OSError as err:
        return f"{path.parent} is not writable ({err.strerror or err})"
    return None


def _clean(spec: IDXDatasetSpec, raw: Path) -> list[Path]:
    """Remove abandoned temporary files of this set's raw folder and cache folder."""
    names = {*spec.files, *(n + ".gz" for n in spec.files), MARKER_NAME}
    removed = remove_abandoned_temp_files(raw, names)
    removed += remove_abandoned_temp_files(raw.parent / "processed", {CACHE_NAME})
    return removed


def _load_folder(spec: IDXDatasetSpec, raw: Path, files: dict[str, Path], source: str
                 ) -> ImageData:
    _clean(spec, raw)
    fingerprint = _fingerprint(files)
    path = _cache_path(raw)
    try:
        tensors = _read_cache(spec, path, fingerprint)
    except _CacheMiss as miss:
        tensors = _read_checked(spec, files)
        if miss.kind == "damaged":
            warnings.warn(CacheWarning(
                f"the tensor cache {path} failed verification ({miss.detail}); it was "
                f"ignored, and the data was read from the raw files in {raw}"),
                stacklevel=user_stacklevel())
        problem = _write_cache(spec, path, fingerprint, tensors)
        if problem:
            status = f"not written: {problem}"
        elif miss.kind == "absent":
            status = "built"
        else:
            status = f"rebuilt: {'it failed verification: ' if miss.kind == 'damaged' else ''}"
            status += miss.detail
        return spec.data_class(**tensors, classes=spec.classes, source=source, raw_folder=raw,
                               from_cache=False, cache_status=status)
    return spec.data_class(**tensors, classes=spec.classes, source=source, raw_folder=raw,
                           from_cache=True, cache_status="verified")


def _load_real(spec: IDXDatasetSpec, root: Path, download: bool) -> ImageData:
    raw = real_raw_folder(spec, root)
    remove_abandoned_temp_files(root, (), prefixes=(_download_prefix(spec),))
    files, missing = _find_files(spec, raw)
    if missing:
        if not download:
            raise DatasetNotFoundError(_not_found_message(spec, raw, missing, None))
        if offline():
            reason = "LABKIT_OFFLINE is set, so no download was tried"
            raise DatasetNotFoundError(_not_found_message(spec, raw, missing, reason), reason)
        _download_real(spec, root)
        files, missing = _find_files(spec, raw)
        assert not missing, missing
    return _load_folder(spec, raw, files, "real")


def _standin_files(spec: IDXDatasetSpec, raw: Path) -> dict[str, Path]:
    return {key: raw / name for key, name in zip(_KEYS, spec.files)}


def _standin_complete(spec: IDXDatasetSpec, raw: Path) -> bool:
    return (read_marker(raw, spec.standin_generator, spec.standin_version) is not None
            and all(p.is_file() for p in _standin_files(spec, raw).values()))


def _stale_standin_version(spec: IDXDatasetSpec, raw: Path):
    """The version named by a complete stand-in's marker written by this generator in
    another version (an older drawing, regenerated on the next load), else None."""
    try:
        info = json.loads((raw / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None
    if (isinstance(info, dict)  # markers of labkit 0.1's first stand-in name no generator
            and info.get("generator", STANDIN_GENERATOR) == spec.standin_generator
            and info.get("version") != spec.standin_version):
        return info.get("version")
    return None


def _write_standin(spec: IDXDatasetSpec, root: Path) -> None:
    try:
        spec.write_standin(root)
    except OSError as err:
        if not is_permission_error(err):
            raise
        raise not_writable_error(standin_raw_folder(spec, root),
                                 f"the {spec.name} stand-in", err, root) from err


def _load_standin(spec: IDXDatasetSpec, root: Path) -> ImageData:
    raw = standin_raw_folder(spec, root)
    files = _standin_files(spec, raw)
    if not _standin_complete(spec, raw):
        _write_standin(spec, root)  # absent, interrupted or written by an older generator
    try:
        return _load_folder(spec, raw, files, "synthetic")
    except IDXError as err:  # generated data: regenerating it loses nothing
        warnings.warn(f"the stand-in in {raw} is damaged ({err}); regenerating it",
                      stacklevel=user_stacklevel())
        _write_standin(spec, root)
        return _load_folder(spec, raw, files, "synthetic")


def load(spec: IDXDatasetSpec, root: PathLike | None = None, source: str = "auto",
         download: bool = True) -> ImageData:
    """Load ``spec``'s data set (or its offline stand-in) as four tensors.

    ``source``: ``"real"``, ``"synthetic"`` (the stand-in) or ``"auto"`` (real when present
    or downloadable, else the stand-in with a ``StandInWarning``). See
    ``labkit.data.fashion_mnist.load_fashion_mnist`` for the arguments and errors.
    """
    root = resolve_root(root)
    check_source(source)
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {describe(download)}")
    with _one_thread():
        return _load(spec, root, source, download)


def _load(spec: IDXDatasetSpec, root: Path, source: str, download: bool) -> ImageData:
    if source == "real":
        return _load_real(spec, root, download)
    if source == "synthetic":
        return _load_standin(spec, root)
    try:
        return _load_real(spec, root, download)
    except DatasetNotFoundError as err:
        reason = err.reason or "download=False was given"
    raw = real_raw_folder(spec, root)
    _, missing = _find_files(spec, raw)
    if len(missing) < len(spec.files):
        to_fix = (f"copy {', '.join(missing)} (.gz or not) into {raw}/, next to the other "
                  f"files, or set LABKIT_DATA to a folder holding all four in "
                  f"{spec.folder}/raw/")
    else:
        to_fix = (f"copy the four files ({', '.join(spec.files)}, .gz or not) into {raw}/, "
                  f"or set LABKIT_DATA to a folder holding {spec.folder}/raw/")
    warnings.warn(StandInWarning(
        f"{_where(spec, raw, missing)} and was not downloaded ({reason}). Using labkit's "
        f"offline STAND-IN from {standin_raw_folder(spec, root)}: {spec.standin_description} "
        f"in {spec.name}'s format, so accuracies and figures are NOT {spec.name}'s. To use "
        f"the real set, run `{cli_command(spec, 'prepare --source real')}` with a network, or "
        f"{to_fix}."
    ), stacklevel=user_stacklevel())
    return _load_standin(spec, root)


def check(spec: IDXDatasetSpec, root: PathLike | None = None, source: str = "auto"
          ) -> ImageData:
    """Re-read and re-check the raw files, and verify the tensor cache against them (for
    ``labkit data check``).

    Downloads and generates nothing. ``source="auto"`` checks the real set when it is on
    disk (a real set with files missing is reported, naming them), else the stand-in. A
    cache that fails verification, or does not match the raw
    files, is rebuilt; ``cache_status`` of the result says what was found and done
    (``"verified"``, ``"built"``, ``"rebuilt: ..."``, ``"not written: ..."``). Raises
    ``IDXError`` for a damaged raw file, ``DataPermissionError`` for one that may not be
    read, and ``DatasetNotFoundError`` when there is nothing to check.
    """
    root = resolve_root(root)
    check_source(source)
    with _one_thread():
        return _check(spec, root, source)


def _check(spec: IDXDatasetSpec, root: Path, source: str) -> ImageData:
    raw = real_raw_folder(spec, root)
    files, missing = _find_files(spec, raw)
    partial = 0 < len(missing) < len(spec.files)  # someone began to install the real set
    if source == "real" or (source == "auto" and (not missing or partial)):
        if missing:
            raise DatasetNotFoundError(_not_found_message(spec, raw, missing, None))
        source_found = "real"
    else:
        raw = standin_raw_folder(spec, root)
        files = _standin_files(spec, raw)
        if not _standin_complete(spec, raw):
            what = ("neither the real set nor the stand-in is" if source == "auto"
                    else "the stand-in is")
            stale = _stale_standin_version(spec, raw)
            state = ("absent or incomplete" if stale is None else
                     f"drawn by another version of labkit's generator ({stale!r}; this labkit "
                     f"draws version {spec.standin_version}), so it is out of date")
            raise DatasetNotFoundError(
                f"{spec.name}: {what} on disk under {root} (the stand-in in {raw} is "
                f"{state}); prepare it with `{cli_command(spec, 'prepare')}`")
        source_found = "synthetic"
    _clean(spec, raw)
    fresh = _read_checked(spec, files)
    fingerprint = _fingerprint(files)
    path = _cache_path(raw)
    try:
        cached = _read_cache(spec, path, fingerprint)
        if any(not torch.equal(cached[k], fresh[k]) for k in _KEYS):
            raise _CacheMiss("damaged", "its tensors differ from the raw files")
        status = "verified"
    except _CacheMiss as miss:
        problem = _write_cache(spec, path, fingerprint, fresh)
        if miss.kind == "absent":
            status = f"not written: {problem}" if problem else "built"
        else:
            what = {"damaged": "failed verification", "stale": "was out of date",
                    "unreadable": "could not be read"}[miss.kind]
            done = f"could not be rebuilt: {problem}" if problem else "rebuilt"
            status = f"{what} ({miss.detail}); {done}"
    return spec.data_class(**fresh, classes=spec.classes, source=source_found, raw_folder=raw,
                           from_cache=False, cache_status=status)


# ------------------------------------------------------------------------- status report
def status(spec: IDXDatasetSpec, root: PathLike | None = None) -> dict:
    """Where the data is and what is there (for ``labkit data info``); reads no data file.

    Returns a dict: ``dataset`` (the spec's key), ``root``, ``root_origin``
    (``"argument"``, ``"LABKIT_DATA"``, ``"checkout"`` or ``"cwd"``), and for ``"real"`` and
    ``"synthetic"``: ``raw_folder``, ``files`` (name -> path or None), ``complete`` (bool),
    ``cache`` (path or None); ``"synthetic"`` also has ``stale_version``: the version
    named by a stand-in drawn by another version of the generator (regenerated on the next
    load), else None. ``"auto_source"`` is the source ``load(source="auto", download=False)``
    would use.
    """
    if root is not None:
        origin = "argument"
    elif os.environ.get("LABKIT_DATA", "").strip():
        origin = "LABKIT_DATA"
    else:
        checkout = Path(__file__).resolve().parents[2]
        origin = "checkout" if default_data_root() == checkout / "data" else "cwd"
    root = resolve_root(root)
    result: dict = {"dataset": spec.key, "root": root, "root_origin": origin}
    real_raw = real_raw_folder(spec, root)
    found, missing = _find_files(spec, real_raw)
    standin_raw = standin_raw_folder(spec, root)
    for source, raw, files, complete in (
        ("real", real_raw, {n: found.get(k) for k, n in zip(_KEYS, spec.files)}, not missing),
        ("synthetic", standin_raw,
         {n: (standin_raw / n if (standin_raw / n).is_file() else None) for n in spec.files},
         _standin_complete(spec, standin_raw)),
    ):
        cache = _cache_path(raw)
        result[source] = {"raw_folder": raw, "files": files, "complete": complete,
                          "cache": cache if cache.is_file() else None}
    result["synthetic"]["stale_version"] = _stale_standin_version(spec, standin_raw)
    result["auto_source"] = "real" if not missing else "synthetic"
    return result


def format_status(spec: IDXDatasetSpec, info: dict) -> str:
    """``status()`` as the lines ``labkit data info`` prints."""
    lines = [f"data root: {info['root']} (from {info['root_origin']})"]
    for source, title in (("real", f"{spec.name} (real)"),
                          ("synthetic", f"stand-in ({spec.standin_folder})")):
        s = info[source]
        state = "complete" if s["complete"] else "absent or incomplete"
        if s.get("stale_version") is not None:
            state = (f"out of date (drawn by generator version {s['stale_version']!r}, this "
                     f"labkit draws {spec.standin_version}; redrawn on the next load)")
        lines.append(f"{title}: {state} in {s['raw_folder']}")
        for name, path in s["files"].items():
            lines.append(f"    {name:<26} {path.name if path else 'missing'}")
        lines.append(f"    cache: {s['cache'] or 'none yet'}")
    lines.append(f"source='auto' would use: {info['auto_source']}"
                 + (" (or download the real set first, when online)"
                    if info["auto_source"] == "synthetic" else ""))
    return "\n".join(lines)


# --------------------------------------------------------------------- torchvision route
def _scratch_base() -> Path:
    """A folder of this user's in the system's temporary directory."""
    try:
        import getpass

        user = getpass.getuser()
    except Exception:  # no user name (some containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"labkit-{user}"


def torchvision_folder(spec: IDXDatasetSpec, data: ImageData) -> Path:
    """The root torchvision's dataset class should read for ``data`` (a real set), after
    extracting any file present only as ``.gz`` (torchvision reads extracted files only).

    Extracted next to the originals when the raw folder is writable (torchvision's own
    layout), else into ``<temp>/labkit-<user>/<name>-<digest>/<folder>/raw`` (the digest
    is of the raw files' content, so a changed file is extracted anew); the read-only
    folder is left untouched.
    """
    raw = data.raw_folder
    todo = [n for n in spec.files if not (raw / n).is_file() and (raw / f"{n}.gz").is_file()]
    if not todo:
        return raw.parent.parent
    try:
        for name in todo:
            _extract(raw / f"{name}.gz", raw / name)
        return raw.parent.parent
    except OSError as err:
        if not is_permission_error(err):
            raise
    files, _ = _find_files(spec, raw)
    digest = hashlib.sha256(repr(_fingerprint(files)).encode()).hexdigest()[:16]
    base = _scratch_base() / f"{spec.folder}-{digest}"
    target = base / spec.folder / "raw"
    try:
        for name in spec.files:
            source = raw / name if (raw / name).is_file() else raw / f"{name}.gz"
            if not (target / name).is_file():
                _extract(source, target / name)
    except OSError as err:
        if not is_permission_error(err):
            raise
        raise not_writable_error(target, f"an extracted copy of {spec.name} for torchvision",
                                 err) from err
    return base


def _extract(source: Path, target: Path) -> None:
    """Write ``source``'s content (gunzipped when gzipped) to ``target``, atomically."""
    content = read_file_bytes(source)
    if content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)  # already checked by read_idx
    with atomic_write(target) as f:
        f.write(content)
