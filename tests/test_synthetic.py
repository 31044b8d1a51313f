"""labkit.data.synthetic: the seeds' synthetic sets and data_iter."""

import pytest
import torch

from labkit.data.synthetic import data_iter, make_gaussian_clusters, make_logistic_data


def test_logistic_data_shapes_dtypes_and_determinism():
    X, y = make_logistic_data(500, seed=3)
    assert X.shape == (500, 2) and X.dtype == torch.float32
    assert y.shape == (500,) and y.dtype == torch.float32
    assert set(y.unique().tolist()) <= {0.0, 1.0}
    assert 0 <= X.min() and X.max() < 1
    X2, y2 = make_logistic_data(500, seed=3)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    X3, _ = make_logistic_data(500, seed=4)
    assert not torch.equal(X, X3)


def test_logistic_labels_follow_the_true_line_with_the_right_bias_sign():
    true_w, true_b = (1.9, -3.1), -0.6
    X, y = make_logistic_data(5000, true_w, true_b, noise=0.0, seed=0)
    z = X @ torch.tensor(true_w) + true_b
    # without noise the label is exactly the side of the true line
    assert torch.equal(y, (z >= 0).float())
    # with the bias sign right, positives are a minority (~14%, analytic area of the region)
    assert 0.11 < y.mean().item() < 0.17
    # seed 000's flipped sign (sigmoid(X @ w - b)) would have given a balanced set
    flipped = ((X @ torch.tensor(true_w) - true_b) >= 0).float()
    assert 0.45 < flipped.mean().item() < 0.55


def test_logistic_noise_flips_only_labels_near_the_boundary():
    X, y_clean = make_logistic_data(5000, noise=0.0, seed=1)
    _, y_noisy = make_logistic_data(5000, noise=0.01, seed=1)
    flipped = y_clean != y_noisy
    z = X @ torch.tensor([1.9, -3.1]) - 0.6
    assert flipped.any()
    assert z[flipped].abs().max() < 0.1  # only points within a sliver of the line


def test_gaussian_clusters():
    X, y = make_gaussian_clusters(200, mean_value=1.7, bias=1.0, seed=0)
    assert X.shape == (400, 2) and y.shape == (400,)
    assert torch.equal(y[:200], torch.zeros(200)) and torch.equal(y[200:], torch.ones(200))
    mean0, mean1 = X[:200].mean(0), X[200:].mean(0)
    assert torch.allclose(mean0, torch.tensor([2.7, 2.7]), atol=0.25)
    assert torch.allclose(mean1, torch.tensor([-0.7, -0.7]), atol=0.25)
    assert torch.allclose(X[:200].std(0), torch.ones(2), atol=0.2)


def test_data_iter_covers_every_example_once_with_partial_last_batch():
    X = torch.arange(10.0).reshape(10, 1)
    y = torch.arange(10.0)
    batches = list(data_iter(4, X, y, generator=torch.Generator().manual_seed(0)))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    for Xb, yb in batches:  # features stay paired with their labels
        assert torch.equal(Xb[:, 0], yb)


def test_data_iter_reshuffles_and_is_reproducible_with_a_generator():
    X, y = torch.arange(100.0).reshape(100, 1), torch.arange(100.0)

    def labels(generator):
        return torch.cat([b for _, b in data_iter(10, X, y, generator=generator)])

    first = labels(torch.Generator().manual_seed(1))
    again = labels(torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(1)
    epoch1, epoch2 = labels(g), labels(g)
    assert torch.equal(first, again)
    assert not torch.equal(epoch1, epoch2)


@pytest.mark.parametrize("bad, exc, match", [
    (0, ValueError, "batch_size must be a positive integer, got 0"),
    (-3, ValueError, "batch_size"),
    (2.5, TypeError, "batch_size"),
])
def test_data_iter_rejects_bad_batch_size(bad, exc, match):
    with pytest.raises(exc, match=match):
        data_iter(bad, torch.zeros(4, 2), torch.zeros(4))


def test_data_iter_rejects_mismatch_and_empty_data():
    with pytest.raises(ValueError, match="X and y must hold the same number of examples"):
        data_iter(2, torch.zeros(4, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="X is empty"):
        data_iter(2, torch.zeros(0, 2), torch.zeros(0))


@pytest.mark.parametrize("kwargs, match", [
    ({"num_examples": 0}, "num_examples"),
    ({"num_examples": 10, "noise": -1.0}, "noise"),
    ({"num_examples": 10, "true_w": []}, "true_w"),
])
def test_make_logistic_data_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_logistic_data(**kwargs)


@pytest.mark.parametrize("make", [make_logistic_data, make_gaussian_clusters])
@pytest.mark.parametrize("seed, error", [("a", TypeError), (1.5, TypeError), (None, TypeError),
                                         (-1, ValueError)])
def test_a_bad_seed_is_a_clear_error(make, seed, error):
    with pytest.raises(error, match=r"seed must be an integer from 0 to 2\*\*63 - 1"):
        make(10, seed=seed)


@pytest.mark.parametrize("X, y, match", [
    (torch.tensor(1.0), torch.tensor(1.0), r"X must hold one row per example.*0-d"),
    (torch.ones(3, 2), torch.tensor(1.0), r"y must hold one entry per example.*0-d"),
])
def test_data_iter_refuses_0d_tensors(X, y, match):
    with pytest.raises(ValueError, match=match):
        data_iter(2, X, y)
