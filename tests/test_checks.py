"""Tests for labkit._checks: the shared argument checks, the one device check used by every
entry point, and error messages that never quote a huge value in full."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import labkit as lk
from labkit._checks import MAX_QUOTE, check_device, check_seed, describe

# ------------------------------------------------------------------ describe: capped

@pytest.mark.parametrize("value", [
    list(range(20_000)),
    [[0.5] * 784] * 1000,
    tuple(range(50_000)),
    "x" * 100_000,
    {i: i for i in range(10_000)},
    np.arange(100_000),
])
def test_describe_caps_what_it_quotes(value):
    text = describe(value)
    assert len(text) <= MAX_QUOTE + 80, len(text)
    assert type(value).__name__ in text or "NumPy array" in text


def test_describe_keeps_short_values_readable():
    assert describe(0.1) == "0.1 (float)"
    assert describe("abc") == "'abc' (str)"
    assert describe([1, 2]) == "[1, 2] (list)"
    assert describe(torch.zeros(2, 3)) == "a tensor of shape (2, 3) and dtype torch.float32"
    assert describe(np.zeros((2, 3))) == "a NumPy array of shape (2, 3) and dtype float64"
    assert "20000 items" in describe(list(range(20_000)))


def test_a_huge_list_argument_gives_a_short_message():
    rows = [[0.0, 1.0]] * 20_000  # a student passes a list of rows instead of a tensor
    for call in (lambda: lk.sigmoid(rows), lambda: lk.cross_entropy(rows, [0] * 20_000),
                 lambda: lk.InMemoryLoader(rows, torch.zeros(2), 2),
                 lambda: lk.make_logistic_data(10, true_w=rows)):
        with pytest.raises((TypeError, ValueError)) as info:
            call()
        assert len(str(info.value)) < 500, len(str(info.value))


# ------------------------------------------------------------------ check_device

def test_check_device_accepts_cpu_and_none():
    assert check_device(None) is None
    assert check_device("cpu") == torch.device("cpu")
    assert check_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("device, error, match", [
    ("tpu", ValueError, r"device must name a device such as 'cpu', 'cuda'.*got 'tpu'"),
    ("gpu0", ValueError, r"device must name a device.*got 'gpu0'"),
    ("meta", ValueError, r"device='meta' holds no data"),
    ("hpu", ValueError, r"device='hpu' is not available here"),
    ("xpu", ValueError, r"device='xpu' is not available here"),
    (0.5, TypeError, r"device must be None, a string.*got 0.5 \(float\)"),
    (["cpu"], TypeError, r"device must be None, a string"),
])
def test_check_device_refuses_cleanly(device, error, match):
    with pytest.raises(error, match=match):
        check_device(device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match=r"device='cuda' is not available here.*"
                                         r"torch.cuda.is_available\(\) is False"):
        check_device("cuda")
    with pytest.raises(ValueError, match=r"device='cuda:1' is not available here"):
        check_device("cuda:1")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_index_beyond_the_gpus_is_refused():
    count = torch.cuda.device_count()
    assert check_device("cuda") == torch.device("cuda")
    with pytest.raises(ValueError, match=f"only {count} CUDA device"):
        check_device(f"cuda:{count}")


def _entry_points(device):
    """Every public entry point that takes a device, called with ``device``."""
    X, y = torch.rand(8, 2), (torch.rand(8) > 0.5).float()
    batches = [(X, y)]
    net = lk.LogisticRegressionScratch(2)

    def loss(y_hat, y):
        return lk.binary_cross_entropy_with_logits(y_hat, y, reduction="none")

    def updater(batch_size):
        lk.sgd(net.parameters(), 0.1, batch_size)

    return {
        "train": lambda: lk.train(net, batches, None, loss, 1, updater, device=device,
                                  progress=False),
        "train_epoch": lambda: lk.train_epoch(net, batches, loss, updater, device=device),
        "evaluate": lambda: lk.evaluate(net, batches, loss, device=device),
        "evaluate_accuracy": lambda: lk.evaluate_accuracy(net, batches, device=device),
        "InMemoryLoader": lambda: lk.InMemoryLoader(X, y, 4, device=device),
    }


@pytest.mark.parametrize("device", ["tpu", "xpu", "meta", "hpu"]
                         + ([] if torch.cuda.is_available() else ["cuda"]))
@pytest.mark.parametrize("entry", ["train", "train_epoch", "evaluate", "evaluate_accuracy",
                                   "InMemoryLoader"])
def test_every_entry_point_refuses_a_bad_device_the_same_way(entry, device):
    with pytest.raises(ValueError, match="device") as info:
        _entry_points(device)[entry]()
    with pytest.raises(ValueError) as reference:
        check_device(device)
    assert str(info.value) == str(reference.value)


# ------------------------------------------------------------------ check_seed

@pytest.mark.parametrize("seed, error, match", [
    ("a", TypeError, r"seed must be an integer from 0 to 2\*\*63 - 1, got 'a' \(str\)"),
    (1.5, TypeError, r"seed must be an integer.*1.5 \(float\)"),
    (True, TypeError, r"seed must be an integer"),
    (-1, ValueError, r"seed must be an integer from 0 to 2\*\*63 - 1, got -1"),
    (2**63, ValueError, r"seed must be an integer from 0"),
])
def test_check_seed(seed, error, match):
    with pytest.raises(error, match=match):
        check_seed(seed)


def test_check_seed_accepts_numpy_integers():
    assert check_seed(np.int64(3)) == 3 and type(check_seed(np.int64(3))) is int


def test_numbers_and_strings_quoted_by_the_checks_are_capped():
    from labkit._checks import check_non_negative, check_reduction

    for call in (lambda: check_non_negative(-10**5000, "noise"),
                 lambda: check_reduction("x" * 10**6)):
        with pytest.raises(ValueError) as info:
            call()
        assert len(str(info.value)) < 300
