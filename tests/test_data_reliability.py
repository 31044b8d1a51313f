"""Issue 9's data cases, each against the public API and for both IDX sets (Fashion-MNIST and
MNIST go through one loader): the tensor cache verified on every load (a checksum of all its
bytes, raw files fingerprinted by content, labels and pixels re-checked), leftover temporary
files cleaned up without touching a live writer's, and errors that fit the cause (a missing
file named, a read-only data root, a file we may not read)."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest
import torch
from idx_sets import make_set, write_real

import labkit as lk
from labkit.cli import main
from labkit.data import idx_datasets
from labkit.data.fashion_mnist import (
    StandInWarning,
    check_fashion_mnist,
    load_fashion_mnist,
)
from labkit.data.idx import IDXError, atomic_write, hold_lock
from labkit.data.mnist import check_mnist, load_mnist

KEYS = ("train_images", "train_labels", "test_images", "test_labels")
#: key -> (load, check, folder of the real files, folder of the stand-in)
SETS = {"fashion-mnist": (load_fashion_mnist, check_fashion_mnist, "FashionMNIST",
                          "FashionMNIST-standin"),
        "mnist": (load_mnist, check_mnist, "MNIST", "MNIST-standin")}


@pytest.fixture(autouse=True)
def small_standins(monkeypatch):
    """Stand-ins generated on demand are small, to keep the tests fast."""
    import functools

    import labkit.data.fashion_mnist as fm
    import labkit.data.mnist as mn
    from labkit.data.mnist_standin import write_mnist_standin
    from labkit.data.standin import write_standin

    monkeypatch.setattr(fm, "write_standin",
                        functools.partial(write_standin, num_train=60, num_test=20))
    monkeypatch.setattr(mn, "write_mnist_standin",
                        functools.partial(write_mnist_standin, num_train=60, num_test=20))


@pytest.fixture(params=list(SETS))
def ds(request):
    """One of the two sets: ``ds.load``, ``ds.check``, ``ds.folder``, ``ds.key``."""
    load, check, folder, standin = SETS[request.param]

    class Set:
        pass

    out = Set()
    out.key, out.load, out.check, out.folder, out.standin = (request.param, load, check,
                                                             folder, standin)
    return out


def assert_equal_to(data, tensors):
    for key, expected in zip(KEYS, tensors):
        got = getattr(data, key)
        assert torch.equal(got, expected.long() if "labels" in key else expected), key


def cache_of(root, folder="FashionMNIST") -> Path:
    return Path(root) / folder / "processed" / "labkit-cache.pt"


# ------------------------------------------------------------- 1. the cache is verified
def test_every_flipped_byte_in_the_cache_is_caught(tmp_path, ds):
    tensors = make_set()
    write_real(tmp_path, tensors, folder=ds.folder)
    ds.load(tmp_path, source="real", download=False)
    cache = cache_of(tmp_path, ds.folder)
    pristine = cache.read_bytes()
    offsets = torch.linspace(0, len(pristine) - 1, 43).long().tolist()
    for offset in offsets:
        damaged = bytearray(pristine)
        damaged[offset] ^= 0x5A
        cache.write_bytes(bytes(damaged))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = ds.load(tmp_path, source="real", download=False)
        assert not data.from_cache, offset
        assert_equal_to(data, tensors)
    assert ds.load(tmp_path, source="real", download=False).from_cache  # rebuilt


def test_a_damaged_cache_is_reported_by_a_warning(tmp_path, ds):
    write_real(tmp_path, folder=ds.folder)
    ds.load(tmp_path, source="real", download=False)
    cache = cache_of(tmp_path, ds.folder)
    damaged = bytearray(cache.read_bytes())
    damaged[len(damaged) // 3] ^= 0x10
    cache.write_bytes(bytes(damaged))
    with pytest.warns(lk.CacheWarning, match="failed verification .*checksum mismatch"):
        data = ds.load(tmp_path, source="real", download=False)
    assert data.cache_status.startswith("rebuilt: it failed verification")


def _edit_cache(path: Path, edit, reseal=False) -> None:
    cache = torch.load(path, weights_only=True)
    edit(cache)
    torch.save(cache, path)
    if reseal:  # as if the checksum were forged too: the data checks must still catch it
        path.write_bytes(idx_datasets._seal(path.read_bytes()))


@pytest.mark.parametrize("reseal", [False, True])
def test_a_cache_edited_to_hold_label_200_is_not_returned(tmp_path, ds, reseal):
    tensors = make_set()
    write_real(tmp_path, tensors, folder=ds.folder)
    ds.load(tmp_path, source="real", download=False)

    def label_200(cache):
        cache["train_labels"][3] = 200

    _edit_cache(cache_of(tmp_path, ds.folder), label_200, reseal)
    with pytest.warns(lk.CacheWarning) as record:
        data = ds.load(tmp_path, source="real", download=False)
    if reseal:
        assert "label 200 at position 3 is outside 0..9" in str(record[0].message)
    assert not data.from_cache and int(data.train_labels.max()) <= 9
    assert_equal_to(data, tensors)


@pytest.mark.parametrize("edit", ["float pixels", "pixels above 255", "wrong shape",
                                  "fewer labels"])
def test_a_resealed_cache_with_impossible_images_is_not_returned(tmp_path, ds, edit):
    tensors = make_set()
    write_real(tmp_path, tensors, folder=ds.folder)
    ds.load(tmp_path, source="real", download=False)

    def change(cache):
        images = cache["test_images"]
        if edit == "float pixels":
            cache["test_images"] = images.float() / 255
        elif edit == "pixels above 255":
            cache["test_images"] = images.to(torch.int16) + 300
        elif edit == "wrong shape":
            cache["test_images"] = images[:, :27, :27].clone()
        else:
            cache["test_labels"] = cache["test_labels"][:-1].clone()

    _edit_cache(cache_of(tmp_path, ds.folder), change, reseal=True)
    with pytest.warns(lk.CacheWarning, match="fail the data checks"):
        data = ds.load(tmp_path, source="real", download=False)
    assert_equal_to(data, tensors)


def test_a_cache_whose_raw_files_changed_in_place_with_mtime_restored_is_stale(tmp_path, ds):
    tensors = make_set()
    raw = write_real(tmp_path, tensors, gz=False, folder=ds.folder)
    ds.load(tmp_path, source="real", download=False)  # builds the cache
    path = raw / "train-images-idx3-ubyte"
    stat = path.stat()
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF  # same size, one pixel changed
    with open(path, "r+b") as f:
        f.write(bytes(content))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as cp -p or touch -r do
    assert path.stat().st_size == stat.st_size
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    data = ds.load(tmp_path, source="real", download=False)
    assert not data.from_cache
    assert data.cache_status == "rebuilt: the raw files changed since it was written"
    assert int(data.train_images[-1, -1, -1]) == int(tensors[0][-1, -1, -1]) ^ 0xFF


def test_an_in_place_label_corruption_is_caught_on_load_not_only_by_check(tmp_path, ds):
    raw = write_real(tmp_path, gz=False, folder=ds.folder)
    ds.load(tmp_path, source="real", download=False)
    path = raw / "train-labels-idx1-ubyte"
    stat = path.stat()
    content = bytearray(path.read_bytes())
    content[-1] = 12
    with open(path, "r+b") as f:
        f.write(bytes(content))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(IDXError, match="train-labels-idx1-ubyte: label 12"):
        ds.load(tmp_path, source="real", download=False)


def test_data_check_reports_and_rebuilds_a_damaged_cache(tmp_path, ds, capsys):
    tensors = make_set()
    write_real(tmp_path, tensors, folder=ds.folder)
    ds.load(tmp_path, source="real", download=False)
    cache = cache_of(tmp_path, ds.folder)
    damaged = bytearray(cache.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    cache.write_bytes(bytes(damaged))
    argv = ["data", "check", "--dataset", ds.key, "--root", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "all files are well formed" in out
    assert str(cache) in out and "failed verification" in out and "rebuilt" in out
    data = ds.load(tmp_path, source="real", download=False)
    assert data.from_cache
    assert_equal_to(data, tensors)
    assert main(argv) == 0
    assert "cache: verified" in capsys.readouterr().out


def test_data_check_reports_a_stale_cache(tmp_path, ds, capsys):
    write_real(tmp_path, folder=ds.folder)
    ds.load(tmp_path, source="real", download=False)
    write_real(tmp_path, make_set(seed=5), folder=ds.folder)  # replaced since
    assert main(["data", "check", "--dataset", ds.key, "--root", str(tmp_path)]) == 0
    assert "cache: was out of date (the raw files changed" in capsys.readouterr().out


# ------------------------------------------------------------- 1. leftover temporary files
def test_leftover_temporary_files_are_removed_on_the_next_load(tmp_path, ds):
    raw = write_real(tmp_path, folder=ds.folder)
    ds.load(tmp_path, source="real", download=False)
    processed = cache_of(tmp_path, ds.folder).parent
    leftovers = [processed / ".labkit-cache.pt.3f9a0c1d2b4e.tmp",
                 raw / ".train-images-idx3-ubyte.0a1b2c3d4e5f.tmp",
                 raw / ".t10k-labels-idx1-ubyte.gz.deadbeef0001.tmp"]
    for path in leftovers:
        path.write_bytes(b"\x00" * 1000)  # what an interrupted write leaves
    keep = [raw / "notes.tmp", raw / ".mine.abc.tmp"]  # not one of labkit's temporary names
    for path in keep:
        path.write_text("mine")
    ds.load(tmp_path, source="real", download=False)
    assert [p for p in leftovers if p.exists()] == []
    assert all(p.read_text() == "mine" for p in keep)


def test_leftovers_of_the_standin_are_removed_too(tmp_path, ds):
    from labkit.data.mnist_standin import write_mnist_standin
    from labkit.data.standin import write_standin

    write = write_standin if ds.key == "fashion-mnist" else write_mnist_standin
    raw = write(tmp_path, num_train=30, num_test=10)
    leftover = raw / ".labkit-standin.json.00aa11bb22cc.tmp"
    leftover.write_text("{")
    ds.load(tmp_path, source="synthetic")
    assert not leftover.exists()


_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from labkit.data.idx import atomic_write
    target, gate = Path(sys.argv[1]), Path(sys.argv[2])
    with atomic_write(target) as f:
        f.write(b"first half;")
        f.flush()
        print("writing", flush=True)
        while not gate.exists():  # the test lets us finish (or kills us)
            time.sleep(0.02)
        f.write(b"second half")
    print("done", flush=True)
""")


def _start_writer(target: Path, gate: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target), str(gate)],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def test_a_temporary_file_that_another_process_is_writing_is_left_alone(tmp_path, ds):
    """A concurrent preparer mid-write. A thread stands in for the other process: the lock is
    per open file, so the clean-up sees it held exactly as it would from another process."""
    raw = write_real(tmp_path, folder=ds.folder)
    processed = cache_of(tmp_path, ds.folder).parent
    processed.mkdir(parents=True, exist_ok=True)
    target = processed / "labkit-cache.pt"
    writing, finish = threading.Event(), threading.Event()

    def writer():
        with atomic_write(target) as f:
            f.write(b"first half;")
            f.flush()
            writing.set()
            finish.wait(60)
            f.write(b"second half")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(60)
        temps = list(processed.glob(".labkit-cache.pt.*.tmp"))
        assert len(temps) == 1
        ds.load(tmp_path, source="real", download=False)  # cleans up, but not that one
        assert temps[0].exists()
        ds.check(tmp_path)
        assert temps[0].exists()
    finally:
        finish.set()
        thread.join(60)
    assert not temps[0].exists()
    assert target.read_bytes() == b"first half;second half"  # the writer finished its file
    assert raw.is_dir()


def test_a_live_writer_in_another_process_is_left_alone(tmp_path):
    write_real(tmp_path)
    processed = cache_of(tmp_path).parent
    processed.mkdir(parents=True, exist_ok=True)
    target, gate = processed / "labkit-cache.pt", tmp_path / "gate"
    writer = _start_writer(target, gate)
    try:
        temps = list(processed.glob(".labkit-cache.pt.*.tmp"))
        load_mnist(tmp_path, source="synthetic")  # another set's load: not its folder
        load_fashion_mnist(tmp_path, source="real", download=False)
        assert temps[0].exists()
    finally:
        gate.touch()
        assert writer.wait(timeout=60) == 0
    assert writer.stdout.read().strip() == "done"
    assert target.read_bytes() == b"first half;second half"


def test_the_temporary_file_of_a_killed_writer_is_removed(tmp_path):
    ds = SETS["mnist"]
    write_real(tmp_path, folder="MNIST")
    processed = cache_of(tmp_path, "MNIST").parent
    processed.mkdir(parents=True, exist_ok=True)
    writer = _start_writer(processed / "labkit-cache.pt", tmp_path / "never")
    writer.kill()  # SIGKILL: no cleanup of its own
    writer.wait(timeout=60)
    temps = list(processed.glob(".labkit-cache.pt.*.tmp"))
    assert len(temps) == 1
    data = ds[0](tmp_path, source="real", download=False)
    assert data.source == "real"
    assert list(processed.glob("*.tmp")) == []


def test_abandoned_download_folders_are_removed_live_ones_kept(tmp_path, ds):
    write_real(tmp_path, folder=ds.folder)
    abandoned = tmp_path / f".{ds.folder}-download-abc123"
    (abandoned / ds.folder / "raw").mkdir(parents=True)
    (abandoned / ds.folder / "raw" / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b")
    live = tmp_path / f".{ds.folder}-download-def456"
    live.mkdir()
    with hold_lock(live):  # a download in progress in another process (or thread)
        ds.load(tmp_path, source="real", download=False)
        assert live.is_dir()
    assert not abandoned.exists()


# ---------------------------------------------------------------- 5. errors that mislead
def test_three_of_four_files_present_names_the_missing_one(tmp_path, ds):
    raw = write_real(tmp_path, folder=ds.folder)
    (raw / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.warns(StandInWarning) as record:
        ds.load(tmp_path, download=False)
    message = str(record[0].message)
    assert "incomplete: t10k-labels-idx1-ubyte is missing" in message
    assert "copy t10k-labels-idx1-ubyte (.gz or not) into" in message
    for present in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                    "t10k-images-idx3-ubyte"):
        assert f"{present} is missing" not in message
    assert " is not in " not in message  # it is there, incomplete


def test_data_check_names_the_missing_file_of_a_partial_real_set(tmp_path, ds, capsys):
    raw = write_real(tmp_path, folder=ds.folder)
    (raw / "train-images-idx3-ubyte.gz").unlink()
    assert main(["data", "check", "--dataset", ds.key, "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "incomplete: train-images-idx3-ubyte is missing" in err
    assert "neither the real set nor the stand-in" not in err


def _fake_permission_error(path):
    return PermissionError(errno.EACCES, "Permission denied", str(path))


@pytest.fixture
def read_only(monkeypatch):
    """``read_only(folder)``: every write, creation, rename or deletion under ``folder``
    fails with ``PermissionError``, as on a read-only share (tests run as root, for whom
    chmod changes nothing)."""
    folders: list[Path] = []

    def under(path) -> bool:
        try:
            p = Path(os.fsdecode(path)).absolute()
        except TypeError:
            return False
        return any(p == f or f in p.parents for f in folders)

    real_open, real_os_open = io.open, os.open
    real = {name: getattr(os, name) for name in ("mkdir", "replace", "rename", "unlink",
                                                  "remove", "rmdir")}

    def guarded(name):
        def call(path, *args, **kwargs):
            if under(path):
                raise _fake_permission_error(path)
            return real[name](path, *args, **kwargs)
        return call

    for name in real:
        monkeypatch.setattr(os, name, guarded(name))

    def os_open(path, flags, *args, **kwargs):
        if under(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise _fake_permission_error(path)
        return real_os_open(path, flags, *args, **kwargs)

    def py_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and under(file) and any(
                c in mode for c in "wax+"):
            raise _fake_permission_error(file)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", py_open)
    monkeypatch.setattr("builtins.open", py_open)
    return lambda folder: folders.append(Path(folder).absolute())


def test_standin_in_a_read_only_root_says_which_folder_and_labkit_data(tmp_path, ds,
                                                                       read_only):
    read_only(tmp_path)
    with pytest.raises(lk.DataPermissionError) as info:
        ds.load(tmp_path, source="synthetic")
    assert isinstance(info.value, PermissionError)
    message = str(info.value)
    assert str(tmp_path / ds.standin / "raw") in message
    assert "writable" in message and "LABKIT_DATA" in message
    assert "labkit data prepare" in message  # what the keeper of a shared copy can do


def test_auto_in_an_empty_read_only_root_says_the_same(tmp_path, ds, read_only):
    read_only(tmp_path)
    with pytest.warns(StandInWarning, match="cannot write into"):
        with pytest.raises(lk.DataPermissionError, match="LABKIT_DATA"):
            ds.load(tmp_path)  # the download cannot even start: no crash, the same advice


def test_read_only_root_that_holds_the_data_keeps_loading(tmp_path, ds, read_only):
    tensors = make_set()
    write_real(tmp_path, tensors, folder=ds.folder)  # a class's shared copy, no cache yet
    read_only(tmp_path)
    data = ds.load(tmp_path, source="real", download=False)
    assert_equal_to(data, tensors)
    assert data.cache_status.startswith("not written:")
    assert not cache_of(tmp_path, ds.folder).exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ds.load(tmp_path).source == "real"
    assert ds.check(tmp_path).cache_status.startswith("not written:")


def test_read_only_root_with_a_cache_keeps_loading_from_it(tmp_path, ds, read_only):
    tensors = make_set()
    write_real(tmp_path, tensors, folder=ds.folder)
    ds.load(tmp_path, source="real", download=False)
    leftover = cache_of(tmp_path, ds.folder).parent / ".labkit-cache.pt.0123456789ab.tmp"
    leftover.write_bytes(b"x")
    read_only(tmp_path)
    data = ds.load(tmp_path, source="real", download=False)  # cannot remove it: no matter
    assert data.from_cache
    assert_equal_to(data, tensors)


def test_read_only_standin_keeps_loading(tmp_path, ds, read_only):
    from labkit.data.mnist_standin import write_mnist_standin
    from labkit.data.standin import write_standin

    write = write_standin if ds.key == "fashion-mnist" else write_mnist_standin
    write(tmp_path, num_train=30, num_test=10)
    read_only(tmp_path)
    data = ds.load(tmp_path, source="synthetic")
    assert data.source == "synthetic" and len(data.train_images) == 30


def test_torchvision_route_with_a_read_only_raw_folder(tmp_path, ds, read_only):
    from labkit.data.loader import torchvision_datasets

    tensors = make_set()
    raw = write_real(tmp_path, tensors, gz=True, folder=ds.folder)  # torchvision needs them
    before = sorted(p.name for p in raw.iterdir())                  # extracted
    read_only(tmp_path)
    train_ds, test_ds = torchvision_datasets(tmp_path, source="real", download=False,
                                             dataset=ds.key)
    assert torch.equal(train_ds.data, tensors[0]) and torch.equal(test_ds.data, tensors[2])
    assert torch.equal(train_ds.targets, tensors[1].long())
    assert sorted(p.name for p in raw.iterdir()) == before  # nothing written there
    assert tmp_path not in Path(train_ds.raw_folder).parents
    again, _ = torchvision_datasets(tmp_path, source="real", download=False, dataset=ds.key)
    assert again.raw_folder == train_ds.raw_folder  # extracted once, then reused


def test_torchvision_route_extracts_next_to_writable_files(tmp_path, ds):
    from labkit.data.loader import torchvision_datasets

    raw = write_real(tmp_path, gz=True, folder=ds.folder)
    train_ds, _ = torchvision_datasets(tmp_path, source="real", download=False, dataset=ds.key)
    assert Path(train_ds.raw_folder) == raw
    assert (raw / "train-images-idx3-ubyte").is_file()


def test_a_raw_file_we_may_not_read_gets_the_permission_fix(tmp_path, ds, monkeypatch):
    raw = write_real(tmp_path, folder=ds.folder)
    locked = raw / "train-labels-idx1-ubyte.gz"
    real_read_bytes = Path.read_bytes
    real_open = io.open

    def read_bytes(self):
        if self == locked:
            raise _fake_permission_error(self)
        return real_read_bytes(self)

    def py_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) == locked:
            raise _fake_permission_error(file)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(io, "open", py_open)
    monkeypatch.setattr("builtins.open", py_open)
    for call in (lambda: ds.load(tmp_path, source="real", download=False),
                 lambda: ds.load(tmp_path),
                 lambda: ds.check(tmp_path)):
        with pytest.raises(lk.DataPermissionError) as info:
            call()
        message = str(info.value)
        assert str(locked) in message and "permission denied" in message
        assert "read access" in message and "LABKIT_DATA" in message
        assert "download it again" not in message and "Delete" not in message


def test_data_check_prints_the_permission_fix_without_a_traceback(tmp_path, capsys,
                                                                  monkeypatch):
    raw = write_real(tmp_path)
    locked = raw / "t10k-images-idx3-ubyte.gz"
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(
        _fake_permission_error(self)) if self == locked else real_read_bytes(self))
    assert main(["data", "check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "read access" in err and "Traceback" not in err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads and writes through any file mode")
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_real_file_modes(tmp_path):
    raw = write_real(tmp_path)
    locked = raw / "train-images-idx3-ubyte.gz"
    locked.chmod(0)
    try:
        with pytest.raises(PermissionError, match="read access"):
            load_fashion_mnist(tmp_path, source="real", download=False)
    finally:
        locked.chmod(0o644)
    empty = tmp_path / "empty"
    empty.mkdir()
    empty.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="LABKIT_DATA"):
            load_mnist(empty, source="synthetic")
    finally:
        empty.chmod(0o755)


@pytest.mark.parametrize("below", [False, True], ids=["the-file", "below-it"])
def test_a_root_that_is_a_file_is_refused_before_anything_is_written(tmp_path, ds, below,
                                                                      monkeypatch):
    """Before: NotADirectoryError: [Errno 20] Not a directory: '<root>/MNIST-standin/raw'
    (or FileExistsError), from deep inside the stand-in's writer."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    root = a_file / "data" if below else a_file
    with pytest.raises(ValueError, match=r"root must be a folder.*"
                       + ("lies below the file" if below else "is a file")):
        ds.load(root=root, source="synthetic")
    monkeypatch.setenv("LABKIT_DATA", str(root))
    with pytest.raises(ValueError, match=r"LABKIT_DATA must be a folder"):
        ds.load(source="synthetic")
    assert a_file.read_text() == "not a folder"
