"""Tests for labkit.data.standin: format, balance, determinism, variety, and a softmax
regression landing in the agreed accuracy band with Fashion-MNIST-like confusions."""

from __future__ import annotations

import json

import pytest
import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

import labkit.data.standin as standin
from labkit.data.idx import read_idx
from labkit.data.standin import (
    MARKER_NAME,
    STANDIN_FILES,
    generate_standin,
    read_marker,
    standin_raw_folder,
    write_standin,
)
from labkit.functional import cross_entropy
from labkit.optim import sgd

UPPER_BODY = [0, 2, 3, 4, 6]  # T-shirt/top, Pullover, Dress, Coat, Shirt


@pytest.fixture(scope="module")
def small():
    return generate_standin(num_train=1000, num_test=300, seed=0)


def test_shapes_and_dtypes(small):
    train_images, train_labels, test_images, test_labels = small
    assert train_images.shape == (1000, 28, 28) and train_images.dtype == torch.uint8
    assert test_images.shape == (300, 28, 28) and test_images.dtype == torch.uint8
    assert train_labels.shape == (1000,) and train_labels.dtype == torch.int64
    assert test_labels.shape == (300,) and test_labels.dtype == torch.int64
    for labels in (train_labels, test_labels):
        assert int(labels.min()) == 0 and int(labels.max()) == 9


def test_classes_are_balanced(small):
    for labels in (small[1], small[3]):
        counts = torch.bincount(labels, minlength=10)
        assert int(counts.max()) - int(counts.min()) <= 1
    odd = generate_standin(num_train=23, num_test=7)
    assert torch.bincount(odd[1], minlength=10).tolist() == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]


def test_images_look_like_objects_on_black(small):
    images = small[0].float()
    assert float(images[:, 0, 0].mean()) < 5  # background corners stay (almost) black
    assert int(images.amax()) > 200  # bright garments exist
    ink = (images > 20).float().mean(dim=(1, 2))
    assert float(ink.min()) > 0.05  # every image has an object


def test_deterministic_from_seed():
    a = generate_standin(200, 50, seed=3)
    b = generate_standin(200, 50, seed=3)
    c = generate_standin(200, 50, seed=4)
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    assert not torch.equal(a[0], c[0])
    # train and test draw from separate streams: num_train does not change the test set
    d = generate_standin(300, 50, seed=3)
    assert torch.equal(a[2], d[2]) and torch.equal(a[3], d[3])


def test_images_differ_within_each_class(small):
    images, labels = small[0], small[1]
    for c in range(10):
        x = images[labels == c].reshape(-1, 784).float()
        assert len(torch.unique(x, dim=0)) == len(x)  # no duplicates
        assert float(x.std(dim=0).mean()) > 10  # real variation, not noise on one template


def test_class_means_differ(small):
    images, labels = small[0].reshape(-1, 784).float(), small[1]
    means = torch.stack([images[labels == c].mean(0) for c in range(10)])
    distances = torch.cdist(means, means) + torch.eye(10) * 1e9
    assert float(distances.min()) > 50


def _softmax_regression_scratch(X, y, num_epochs=10, lr=0.1, batch_size=256, seed=0):
    """The notebook's from-scratch recipe: W ~ N(0, 0.01), summed CE / batch_size SGD."""
    g = torch.Generator().manual_seed(seed)
    W = (torch.randn(784, 10, generator=g) * 0.01).requires_grad_()
    b = torch.zeros(10, requires_grad=True)
    for _ in range(num_epochs):
        order = torch.randperm(len(X), generator=g)
        for start in range(0, len(X), batch_size):
            index = order[start:start + batch_size]
            loss = cross_entropy(X[index] @ W + b, y[index], reduction="sum")
            loss.backward()
            sgd([W, b], lr, len(index))
    return W.detach(), b.detach()


def test_softmax_regression_accuracy_band_and_confusions():
    train_images, train_labels, test_images, test_labels = generate_standin(12000, 2000, seed=0)
    X = train_images.reshape(-1, 784).float() / 255
    W, b = _softmax_regression_scratch(X, train_labels)
    y_hat = (test_images.reshape(-1, 784).float() / 255 @ W + b).argmax(dim=1)
    accuracy = float((y_hat == test_labels).float().mean())
    assert 0.75 <= accuracy <= 0.92, accuracy
    cm = torch.bincount(test_labels * 10 + y_hat, minlength=100).reshape(10, 10)
    errors = cm.clone().fill_diagonal_(0)
    among_upper_body = errors[UPPER_BODY][:, UPPER_BODY].sum() / errors.sum()
    assert float(among_upper_body) > 0.6, float(among_upper_body)
    worst = int((cm.diag() / cm.sum(1)).argmin())
    assert worst in UPPER_BODY  # as on the real set (there: Shirt)


def test_write_standin_files_marker_and_torchvision_reads_them(tmp_path):
    raw = write_standin(tmp_path, num_train=120, num_test=40, seed=5)
    assert raw == standin_raw_folder(tmp_path) == tmp_path / "FashionMNIST-standin" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted([*STANDIN_FILES, MARKER_NAME])
    expected = generate_standin(120, 40, seed=5)
    for name, tensor in zip(STANDIN_FILES, expected):
        got = read_idx(raw / name)
        assert got.dtype == torch.uint8  # labels are stored as uint8, as in the real files
        assert torch.equal(got.long(), tensor.long())
    assert torch.equal(read_image_file(str(raw / STANDIN_FILES[0])), expected[0])
    assert torch.equal(read_label_file(str(raw / STANDIN_FILES[1])), expected[1])
    info = json.loads((raw / MARKER_NAME).read_text())
    assert info["seed"] == 5 and info["num_train"] == 120 and info["num_test"] == 40
    assert read_marker(raw) == info
    assert not (tmp_path / "FashionMNIST").exists()  # never where the real files go


def test_interrupted_generation_leaves_no_marker(tmp_path, monkeypatch):
    write_standin(tmp_path, num_train=50, num_test=20)  # an older complete stand-in
    calls = []
    real_write_idx = standin.write_idx

    def failing_write_idx(path, tensor):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("simulated crash while writing")
        real_write_idx(path, tensor)

    monkeypatch.setattr(standin, "write_idx", failing_write_idx)
    with pytest.raises(OSError, match="simulated crash"):
        write_standin(tmp_path, num_train=60, num_test=20)
    raw = standin_raw_folder(tmp_path)
    assert read_marker(raw) is None  # a later load sees an incomplete folder and regenerates
    assert not [p for p in raw.iterdir() if p.name.endswith(".tmp")]


def test_stale_marker_is_not_trusted(tmp_path):
    raw = write_standin(tmp_path, num_train=30, num_test=10)
    info = json.loads((raw / MARKER_NAME).read_text())
    info["version"] = -1
    (raw / MARKER_NAME).write_text(json.dumps(info))
    assert read_marker(raw) is None
    (raw / MARKER_NAME).write_text("{not json")
    assert read_marker(raw) is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_train must be a positive integer, got 0"):
        generate_standin(num_train=0)
    with pytest.raises(TypeError, match="num_test must be a positive integer"):
        generate_standin(num_test=2.5)
    with pytest.raises(TypeError, match="seed must be an integer >= 0"):
        generate_standin(10, 10, seed=-1)


def test_thread_setting_is_restored():
    before = torch.get_num_threads()
    generate_standin(20, 10)
    assert torch.get_num_threads() == before


def test_the_drawing_is_pinned_to_its_version():
    """A changed drawing must come with a new STANDIN_VERSION: stand-ins on disk are reused as
    long as their marker names the current version (see standin_fingerprint)."""
    import standin_fingerprint as fp

    from labkit.data.standin import STANDIN_VERSION

    recorded = json.loads(fp.FINGERPRINTS.read_text())["fashion"]
    assert recorded["version"] == STANDIN_VERSION, (
        f"STANDIN_VERSION is {STANDIN_VERSION} but {fp.FINGERPRINTS.name} holds the "
        f"fingerprint of version {recorded['version']}: after checking the new drawing, run "
        f"`python tests/standin_fingerprint.py`")
    test_images = generate_standin(num_train=1, num_test=fp.NUM_IMAGES, seed=0)[2]
    changed = fp.differences(recorded, fp.fingerprint(test_images))
    assert not changed, (
        f"the Fashion-MNIST stand-in's drawing changed ({len(changed)} of {fp.NUM_IMAGES} "
        f"images, first {changed[:5]}) but STANDIN_VERSION is still {STANDIN_VERSION}: raise "
        f"it, or stand-ins already on disk keep the old garments; then run "
        f"`python tests/standin_fingerprint.py`")
