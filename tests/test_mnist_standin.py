"""Tests for labkit.data.mnist_standin: format, balance, determinism, MNIST's placement (a
20 x 20 box, centred by mass), variety, and on a subset the behaviour the lab relies on: a
softmax regression in MNIST's accuracy band, a one-hidden-layer MLP clearly better, and the
errors falling on digits that look alike."""

from __future__ import annotations

import json

import pytest
import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

import labkit.data.standin as standin
from labkit.data.idx import read_idx
from labkit.data.mnist_standin import (
    MNIST_STANDIN_GENERATOR,
    MNIST_STANDIN_VERSION,
    generate_mnist_standin,
    write_mnist_standin,
)
from labkit.data.standin import MARKER_NAME, STANDIN_FILES, read_marker
from labkit.functional import cross_entropy
from labkit.optim import sgd

#: Pairs of digits that handwriting makes look alike (issue 10).
LOOK_ALIKE = {frozenset(p) for p in [(4, 9), (3, 5), (3, 8), (5, 8), (1, 7), (2, 7)]}
GRID = torch.arange(28, dtype=torch.float32)


@pytest.fixture(scope="module")
def small():
    return generate_mnist_standin(num_train=1000, num_test=300, seed=0)


def test_shapes_dtypes_and_labels(small):
    train_images, train_labels, test_images, test_labels = small
    assert train_images.shape == (1000, 28, 28) and train_images.dtype == torch.uint8
    assert test_images.shape == (300, 28, 28) and test_images.dtype == torch.uint8
    assert train_labels.shape == (1000,) and train_labels.dtype == torch.int64
    assert test_labels.shape == (300,) and test_labels.dtype == torch.int64
    for labels in (train_labels, test_labels):
        assert int(labels.min()) == 0 and int(labels.max()) == 9


def test_digits_are_balanced(small):
    for labels in (small[1], small[3]):
        counts = torch.bincount(labels, minlength=10)
        assert int(counts.max()) - int(counts.min()) <= 1
    odd = generate_mnist_standin(num_train=23, num_test=7)
    assert torch.bincount(odd[1], minlength=10).tolist() == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    assert torch.bincount(odd[3], minlength=10).tolist() == [1] * 7 + [0] * 3


def test_values_ink_on_black_paper(small):
    images = small[0]
    frame = torch.cat([images[:, :2].flatten(1), images[:, -2:].flatten(1),
                       images[:, :, :2].flatten(1), images[:, :, -2:].flatten(1)], 1)
    assert float(frame.float().mean()) < 0.5  # the margin around the 20 x 20 box is paper
    assert float((images == 0).float().mean()) > 0.7  # paper is exactly 0, as in MNIST
    peak = images.flatten(1).amax(1)
    assert bool((peak == 255).all())  # every digit has full-ink pixels, as in MNIST
    ink = (images > 0).float().mean(dim=(1, 2))
    assert 0.08 < float(ink.mean()) < 0.3  # MNIST: about 19% of pixels are ink
    assert float(ink.min()) > 0.03  # every image holds a digit


def _centre_of_mass(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = images.float()
    mass = x.sum(dim=(1, 2))
    return (x.sum(2) * GRID).sum(1) / mass, (x.sum(1) * GRID).sum(1) / mass


def _extent(occupied: torch.Tensor) -> torch.Tensor:
    """(n, 28) booleans -> (n,) number of rows (or columns) from the first to the last."""
    first = torch.where(occupied, GRID, 99.0).amin(1)
    last = torch.where(occupied, GRID, -1.0).amax(1)
    return last - first + 1


def test_each_digit_fits_a_20x20_box_centred_by_mass(small):
    images = torch.cat([small[0], small[2]])
    cy, cx = _centre_of_mass(images)
    assert float((cy - 13.5).abs().max()) <= 0.75 and float((cx - 13.5).abs().max()) <= 0.75
    ink = images > 0
    height, width = _extent(ink.any(2)), _extent(ink.any(1))
    assert int(height.max()) <= 20 and int(width.max()) <= 20
    longer = torch.maximum(height, width)
    assert float(longer.float().median()) >= 18  # size-normalised: the box is filled


def test_deterministic_from_seed():
    a = generate_mnist_standin(200, 50, seed=3)
    b = generate_mnist_standin(200, 50, seed=3)
    c = generate_mnist_standin(200, 50, seed=4)
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    assert not torch.equal(a[0], c[0])
    # train and test draw from separate streams: num_train does not change the test set
    d = generate_mnist_standin(300, 50, seed=3)
    assert torch.equal(a[2], d[2]) and torch.equal(a[3], d[3])


def test_every_digit_varies_like_handwriting(small):
    images, labels = small[0], small[1]
    for digit in range(10):
        x = images[labels == digit]
        flat = x.reshape(len(x), -1).float()
        assert len(torch.unique(flat, dim=0)) == len(flat)  # no two alike
        assert float(flat.std(dim=0).mean()) > 15  # strokes move, not noise on a template
        mass = flat.sum(1)
        assert float(mass.std() / mass.mean()) > 0.15  # thin pens and thick markers
        # slant and shape vary: where the ink of the top third sits, left to right
        upper = x[:, :10].float()
        column = (upper.sum(1) * GRID).sum(1) / upper.sum((1, 2)).clamp(min=1)
        assert float(column.std()) > 1.0, digit


def test_digit_templates_differ(small):
    images, labels = small[0].reshape(-1, 784).float(), small[1]
    means = torch.stack([images[labels == d].mean(0) for d in range(10)])
    distances = torch.cdist(means, means) + torch.eye(10) * 1e9
    assert float(distances.min()) > 300


def _train(params, forward, X, y, *, num_epochs=10, lr=0.1, batch_size=64, seed=0):
    """Minibatch SGD on the summed cross-entropy / batch size (the notebooks' recipe)."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(num_epochs):
        order = torch.randperm(len(X), generator=g)
        for start in range(0, len(X), batch_size):
            index = order[start:start + batch_size]
            cross_entropy(forward(X[index]), y[index], reduction="sum").backward()
            sgd(params, lr, len(index))


def test_softmax_band_mlp_margin_and_look_alike_confusions():
    """A 12,000-image subset. With batch 64 the 10 epochs take about as many SGD steps (1,880)
    as the full recipe on 60,000 images with batch 256 (2,350); the full-size figures are
    measured by benchmarks/bench_data.py."""
    train_images, train_labels, test_images, test_labels = generate_mnist_standin(
        12000, 3000, seed=0)
    X = train_images.reshape(-1, 784).float() / 255
    X_test = test_images.reshape(-1, 784).float() / 255
    g = torch.Generator().manual_seed(0)
    W = (torch.randn(784, 10, generator=g) * 0.01).requires_grad_()
    b = torch.zeros(10, requires_grad=True)
    _train([W, b], lambda X: X @ W + b, X, train_labels)
    with torch.no_grad():
        y_hat = (X_test @ W + b).argmax(dim=1)
    softmax_acc = float((y_hat == test_labels).float().mean())
    assert 0.85 <= softmax_acc <= 0.95, softmax_acc

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 10))
    _train(list(mlp.parameters()), mlp, X, train_labels)
    with torch.no_grad():
        mlp_acc = float((mlp(X_test).argmax(dim=1) == test_labels).float().mean())
    assert mlp_acc >= softmax_acc + 0.02, (softmax_acc, mlp_acc)

    cm = torch.bincount(test_labels * 10 + y_hat, minlength=100).reshape(10, 10)
    errors = cm.clone().fill_diagonal_(0)
    pairs = errors + errors.T  # confusions either way
    ranked = sorted(((int(pairs[i, j]), i, j) for i in range(10) for j in range(i + 1, 10)),
                    reverse=True)
    top = [frozenset((i, j)) for _, i, j in ranked[:3]]
    assert all(pair in LOOK_ALIKE for pair in top), ranked[:5]
    look_alike_share = sum(c for c, i, j in ranked if frozenset((i, j)) in LOOK_ALIKE)
    assert look_alike_share / int(errors.sum()) > 0.4, ranked[:8]


def test_write_files_marker_and_torchvision_reads_them(tmp_path):
    raw = write_mnist_standin(tmp_path, num_train=120, num_test=40, seed=5)
    assert raw == tmp_path / "MNIST-standin" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted([*STANDIN_FILES, MARKER_NAME])
    expected = generate_mnist_standin(120, 40, seed=5)
    for name, tensor in zip(STANDIN_FILES, expected):
        got = read_idx(raw / name)
        assert got.dtype == torch.uint8
        assert torch.equal(got.long(), tensor.long())
    assert torch.equal(read_image_file(str(raw / STANDIN_FILES[2])), expected[2])
    assert torch.equal(read_label_file(str(raw / STANDIN_FILES[3])), expected[3])
    info = json.loads((raw / MARKER_NAME).read_text())
    assert info["generator"] == MNIST_STANDIN_GENERATOR and info["seed"] == 5
    assert info["num_train"] == 120 and info["version"] == MNIST_STANDIN_VERSION
    assert read_marker(raw, MNIST_STANDIN_GENERATOR, MNIST_STANDIN_VERSION) == info
    assert read_marker(raw) is None  # not the Fashion-MNIST stand-in's marker
    assert not (tmp_path / "MNIST").exists()  # never where the real files go


def test_interrupted_generation_leaves_no_marker(tmp_path, monkeypatch):
    write_mnist_standin(tmp_path, num_train=50, num_test=20)
    calls = []
    real_write_idx = standin.write_idx

    def failing_write_idx(path, tensor):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("simulated crash while writing")
        real_write_idx(path, tensor)

    monkeypatch.setattr(standin, "write_idx", failing_write_idx)
    with pytest.raises(OSError, match="simulated crash"):
        write_mnist_standin(tmp_path, num_train=60, num_test=20)
    raw = tmp_path / "MNIST-standin" / "raw"
    assert read_marker(raw, MNIST_STANDIN_GENERATOR, MNIST_STANDIN_VERSION) is None
    assert not [p for p in raw.iterdir() if p.name.endswith(".tmp")]


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_train must be a positive integer, got 0"):
        generate_mnist_standin(num_train=0)
    with pytest.raises(TypeError, match="num_test must be a positive integer"):
        generate_mnist_standin(num_test=1.5)
    with pytest.raises(TypeError, match="seed must be an integer >= 0"):
        generate_mnist_standin(10, 10, seed=-2)
    with pytest.raises(TypeError, match="seed must be an integer >= 0"):
        generate_mnist_standin(10, 10, seed="0")


def test_thread_setting_is_restored():
    before = torch.get_num_threads()
    generate_mnist_standin(20, 10)
    assert torch.get_num_threads() == before


# ------------------------------------------------------------- the drawing and its version
def test_the_drawing_is_pinned_to_its_version():
    """A changed drawing must come with a new MNIST_STANDIN_VERSION: stand-ins on disk are
    reused as long as their marker names the current version (see standin_fingerprint)."""
    import standin_fingerprint as fp

    recorded = json.loads(fp.FINGERPRINTS.read_text())["mnist"]
    assert recorded["version"] == MNIST_STANDIN_VERSION, (
        f"MNIST_STANDIN_VERSION is {MNIST_STANDIN_VERSION} but {fp.FINGERPRINTS.name} holds "
        f"the fingerprint of version {recorded['version']}: after checking the new drawing, "
        f"run `python tests/standin_fingerprint.py`")
    test_images = generate_mnist_standin(num_train=1, num_test=fp.NUM_IMAGES, seed=0)[2]
    changed = fp.differences(recorded, fp.fingerprint(test_images))
    assert not changed, (
        f"the MNIST stand-in's drawing changed ({len(changed)} of {fp.NUM_IMAGES} images, "
        f"first {changed[:5]}) but MNIST_STANDIN_VERSION is still {MNIST_STANDIN_VERSION}: "
        f"raise it, or stand-ins already on disk keep the old digits; then run "
        f"`python tests/standin_fingerprint.py`")


def test_the_pin_catches_the_smallest_past_change(monkeypatch):
    """The fingerprint tells apart drawings that differ only in the 0s' narrowest width (the
    change of commit f011034, made without a version bump), and not the same drawing twice."""
    import standin_fingerprint as fp

    import labkit.data.mnist_standin as module

    recorded = json.loads(fp.FINGERPRINTS.read_text())["mnist"]
    _, _, images, labels = generate_mnist_standin(num_train=1, num_test=fp.NUM_IMAGES, seed=0)
    assert fp.differences(recorded, fp.fingerprint(images)) == []
    for _, style in module._COMPILED[0]:  # the 0s as drawn before that commit
        monkeypatch.setattr(style, "narrowest", module._ASPECT[0])
    older = generate_mnist_standin(num_train=1, num_test=fp.NUM_IMAGES, seed=0)[2]
    changed = fp.differences(recorded, fp.fingerprint(older))
    assert changed, "a narrower 0 went unnoticed by the fingerprint"
    assert set(labels[changed].tolist()) == {0}, "only 0s should differ"
