"""Tests for labkit.data.loader: in-memory batches (torchvision's ToTensor as the reference
for the scaling), reshuffling, seeds, the last partial batch, and the torchvision route."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision.transforms import ToTensor

from labkit.data.fashion_mnist import FASHION_MNIST_FILES
from labkit.data.idx import write_idx
from labkit.data.loader import InMemoryLoader, load_data_fashion_mnist, torchvision_datasets
from labkit.data.standin import write_standin


def images_and_labels(n=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.arange(n)  # label = position, so the order of examples is visible
    return X, y


def write_real(root, n_train=30, n_test=12, gz=True) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    tensors = [torch.randint(0, 256, (n_train, 28, 28), dtype=torch.uint8, generator=g),
               torch.randint(0, 10, (n_train,), dtype=torch.uint8, generator=g),
               torch.randint(0, 256, (n_test, 28, 28), dtype=torch.uint8, generator=g),
               torch.randint(0, 10, (n_test,), dtype=torch.uint8, generator=g)]
    raw = Path(root) / "FashionMNIST" / "raw"
    for name, tensor in zip(FASHION_MNIST_FILES, tensors):
        write_idx(raw / (name + ".gz" if gz else name), tensor)
    return tensors


def test_batches_shapes_dtypes_and_scaling_match_to_tensor():
    X, y = images_and_labels(10)
    loader = InMemoryLoader(X, y, batch_size=4, shuffle=False)
    batches = list(loader)
    assert [len(b[0]) for b in batches] == [4, 4, 2]  # last partial batch kept
    assert len(loader) == 3 and loader.num_examples == 10
    X_batch, y_batch = batches[0]
    assert X_batch.shape == (4, 1, 28, 28) and X_batch.dtype == torch.float32
    assert y_batch.dtype == torch.int64
    reference = torch.stack([ToTensor()(X[i].numpy()) for i in range(4)])  # (4, 1, 28, 28)
    torch.testing.assert_close(X_batch, reference, rtol=0, atol=1e-7)
    assert float(X_batch.min()) >= 0 and float(X_batch.max()) <= 1


def test_no_shuffle_keeps_the_order():
    X, y = images_and_labels(9)
    loader = InMemoryLoader(X, y, batch_size=4, shuffle=False)
    assert torch.cat([b[1] for b in loader]).tolist() == list(range(9))
    assert torch.cat([b[1] for b in loader]).tolist() == list(range(9))


def test_each_epoch_is_a_new_permutation_of_all_examples():
    X, y = images_and_labels(50)
    loader = InMemoryLoader(X, y, batch_size=8, seed=0)
    epoch1 = torch.cat([b[1] for b in loader])
    epoch2 = torch.cat([b[1] for b in loader])
    assert sorted(epoch1.tolist()) == list(range(50)) == sorted(epoch2.tolist())
    assert not torch.equal(epoch1, epoch2)  # reshuffled
    assert epoch1.tolist() != list(range(50))
    for X_batch, y_batch in loader:  # images still travel with their labels
        torch.testing.assert_close(X_batch[:, 0], X[y_batch].float() / 255)


def test_a_fixed_seed_gives_the_same_batches():
    X, y = images_and_labels(40)

    def run(seed):
        loader = InMemoryLoader(X, y, batch_size=16, seed=seed)
        return [torch.cat([b[1] for b in loader]) for _ in range(3)]

    assert all(torch.equal(a, b) for a, b in zip(run(7), run(7)))
    assert not all(torch.equal(a, b) for a, b in zip(run(7), run(8)))


def test_seed_none_follows_torch_manual_seed():
    X, y = images_and_labels(40)
    torch.manual_seed(123)
    a = torch.cat([b[1] for b in InMemoryLoader(X, y, batch_size=16)])
    torch.manual_seed(123)
    b = torch.cat([b[1] for b in InMemoryLoader(X, y, batch_size=16)])
    assert torch.equal(a, b)


def test_float_input_is_kept():
    X = torch.rand(7, 2, dtype=torch.float64)  # e.g. the logistic-regression data
    y = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    loader = InMemoryLoader(X, y, batch_size=3, shuffle=False)
    X_batch, y_batch = next(iter(loader))
    assert X_batch.shape == (3, 2) and X_batch.dtype == torch.float32
    torch.testing.assert_close(X_batch, X[:3].float())
    assert torch.equal(y_batch, y[:3])


def test_batch_larger_than_the_data():
    X, y = images_and_labels(3)
    loader = InMemoryLoader(X, y, batch_size=256)
    assert len(loader) == 1 and len(next(iter(loader))[0]) == 3


def test_device_cpu():
    X, y = images_and_labels(5)
    loader = InMemoryLoader(X, y, batch_size=2, device="cpu")
    assert loader.device == torch.device("cpu")
    assert all(b[0].device.type == "cpu" for b in loader)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-3, ValueError),
                                               (2.5, TypeError), (True, TypeError)])
def test_bad_batch_size(batch_size, error):
    X, y = images_and_labels(5)
    with pytest.raises(error, match="batch_size must be a positive integer"):
        InMemoryLoader(X, y, batch_size)


def test_bad_inputs():
    X, y = images_and_labels(5)
    with pytest.raises(ValueError, match="X and y must hold the same number of examples"):
        InMemoryLoader(X, y[:4], 2)
    with pytest.raises(ValueError, match="X must hold at least one example"):
        InMemoryLoader(X[:0], y[:0], 2)
    with pytest.raises(TypeError, match="X must be uint8 images or a floating-point tensor"):
        InMemoryLoader(X.long(), y, 2)
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        InMemoryLoader(X.numpy(), y, 2)
    with pytest.raises(ValueError, match="seed must be an integer from 0"):
        InMemoryLoader(X, y, 2, seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer from 0"):
        InMemoryLoader(X, y, 2, seed="1")
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        InMemoryLoader(X, y, 2, shuffle=None)


def test_load_data_fashion_mnist(tmp_path):
    tensors = write_real(tmp_path, n_train=30, n_test=12)
    train_iter, test_iter = load_data_fashion_mnist(8, root=tmp_path, source="real",
                                                    download=False, seed=0)
    assert len(train_iter) == 4 and len(test_iter) == 2
    assert train_iter.shuffle and not test_iter.shuffle
    X_test, y_test = next(iter(test_iter))  # test order = file order
    torch.testing.assert_close(X_test[:, 0], tensors[2][:8].float() / 255)
    assert torch.equal(y_test, tensors[3][:8].long())
    again, _ = load_data_fashion_mnist(8, root=tmp_path, source="real", download=False, seed=0)
    assert torch.equal(next(iter(train_iter))[1], next(iter(again))[1])


def test_torchvision_route_on_the_standin(tmp_path):
    write_standin(tmp_path, num_train=60, num_test=20)
    train_ds, test_ds = torchvision_datasets(tmp_path, source="synthetic")
    assert isinstance(train_ds, torchvision.datasets.FashionMNIST)
    assert Path(train_ds.raw_folder) == tmp_path / "FashionMNIST-standin" / "raw"
    assert len(train_ds) == 60 and len(test_ds) == 20
    X0, y0 = train_ds[0]
    assert X0.shape == (1, 28, 28) and X0.dtype == torch.float32 and isinstance(y0, int)
    fast, _ = load_data_fashion_mnist(60, root=tmp_path, source="synthetic", seed=0)
    torch.testing.assert_close(X0, fast.X[0].float() / 255)  # both routes: the same pixels
    X_batch, y_batch = next(iter(DataLoader(train_ds, batch_size=16, shuffle=True)))
    assert X_batch.shape == (16, 1, 28, 28) and y_batch.dtype == torch.int64
    assert pickle.loads(pickle.dumps(type(train_ds))) is type(train_ds)  # worker-safe
    with pytest.raises(RuntimeError, match="generated, not downloaded"):
        type(train_ds)(tmp_path / "elsewhere", download=True)


def test_torchvision_route_on_gzipped_real_files(tmp_path):
    tensors = write_real(tmp_path, gz=True)  # torchvision itself reads only extracted files
    train_ds, test_ds = torchvision_datasets(tmp_path, source="real", download=False,
                                             transform=np.asarray)
    assert type(train_ds) is torchvision.datasets.FashionMNIST
    assert torch.equal(train_ds.data, tensors[0]) and torch.equal(test_ds.data, tensors[2])
    image, label = test_ds[3]
    assert np.array_equal(image, tensors[2][3].numpy()) and label == int(tensors[3][3])


def test_images_stay_uint8_in_memory_and_batches_are_scaled_once_each():
    """The set is kept as uint8 (a quarter of float32's memory, and a quarter of the bytes to
    gather per batch); each batch comes out float32 in [0, 1], the same values as before."""
    X, y = images_and_labels(10)
    loader = InMemoryLoader(X, y, batch_size=4, shuffle=True, seed=0)
    assert loader.X.dtype == torch.uint8 and loader.X.shape == (10, 1, 28, 28)
    for X_batch, y_batch in loader:
        assert X_batch.dtype == torch.float32
        assert torch.equal(X_batch[:, 0], X[y_batch].float().div(255))


def test_batch_gathering_runs_on_one_thread_and_leaves_the_setting_alone(monkeypatch):
    """The gather (and the scaling) run on one CPU thread whatever torch's setting, so a
    student's own loop over the loader does not stall on a busy machine (issue 9, 6); the
    loop body between batches sees torch's own setting."""
    seen = []

    def recording(name):
        real = getattr(torch.Tensor, name)

        def method(self, *args, **kwargs):
            seen.append((name, torch.get_num_threads()))
            return real(self, *args, **kwargs)
        return method

    for name in ("index_select", "float"):  # the gather, and the scaling of uint8 images
        monkeypatch.setattr(torch.Tensor, name, recording(name))
    X, y = images_and_labels(10)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        in_loop = []
        for shuffle in (True, False):
            for _ in InMemoryLoader(X, y, batch_size=4, shuffle=shuffle, seed=0):
                in_loop.append(torch.get_num_threads())
    finally:
        torch.set_num_threads(before)
    assert {name for name, _ in seen} == {"index_select", "float"}
    assert {threads for _, threads in seen} == {1}
    assert set(in_loop) == {2} and len(in_loop) == 6
