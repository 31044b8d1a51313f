"""labkit.data.synthetic: the seeds' synthetic sets and data_iter."""

import math

import pytest
import torch

import labkit as lk
from labkit.data.synthetic import (
    data_iter,
    make_binary_data,
    make_gaussian_clusters,
    make_logistic_data,
    make_regression_data,
)


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


# ------------------------------------------------------------------ lab 2's two sets


def test_regression_data_shapes_determinism_and_the_true_model():
    X_train, y_train, X_test, y_test = make_regression_data()
    assert X_train.shape == (7000, 500) and y_train.shape == (7000, 1)
    assert X_test.shape == (3000, 500) and y_test.shape == (3000, 1)
    assert all(t.dtype == torch.float32 for t in (X_train, y_train, X_test, y_test))
    again = make_regression_data()
    assert all(torch.equal(a, b) for a, b in zip(again, (X_train, y_train, X_test, y_test)))
    assert not torch.equal(make_regression_data(seed=1)[0], X_train)
    assert not torch.equal(X_train[:3000], X_test)  # the test split is new data
    # y = 0.028 + 0.0056 * sum_i x_i + N(0, 0.01^2): the residual of the true model is the
    # noise (std 0.01 within 3%), and least squares recovers the weights
    for X, y in ((X_train, y_train), (X_test, y_test)):
        residual = y.squeeze(1) - (0.028 + 0.0056 * X.double().sum(1)).float()
        assert abs(residual.std().item() / 0.01 - 1) < 0.03
        assert abs(residual.mean().item()) < 0.001
    A = torch.cat([X_train.double(), torch.ones(7000, 1, dtype=torch.float64)], 1)
    coef = torch.linalg.lstsq(A, y_train.double()).solution.squeeze(1)
    assert (coef[:500] - 0.0056).abs().max() < 0.001
    assert abs(coef[500].item() - 0.028) < 0.001
    assert abs(X_train.mean().item()) < 0.01 and abs(X_train.std().item() - 1) < 0.01


def test_regression_data_options():
    X, y, Xt, yt = make_regression_data(50, 20, num_inputs=3, true_w=[1.0, -2.0, 0.5],
                                        true_b=3.0, noise=0.0, seed=2)
    assert X.shape == (50, 3) and Xt.shape == (20, 3)
    expected = X.double() @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 3.0
    torch.testing.assert_close(y.squeeze(1), expected.float())
    with pytest.raises(ValueError, match=r"true_w must be one number or num_inputs=3 weights, "
                                         r"got 2 weights"):
        make_regression_data(10, 10, num_inputs=3, true_w=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"num_train must be a positive integer, got 0"):
        make_regression_data(0)
    with pytest.raises(ValueError, match=r"noise must be a number >= 0"):
        make_regression_data(noise=-1.0)


def test_binary_data_classes_means_and_balance():
    X_train, y_train, X_test, y_test = make_binary_data()
    assert X_train.shape == (7000, 200) and y_train.shape == (7000, 1)
    assert X_test.shape == (3000, 200) and y_test.shape == (3000, 1)
    assert set(y_train.unique().tolist()) == {0.0, 1.0}
    assert y_train.sum().item() == 3500 and y_test.sum().item() == 1500  # balanced
    assert not torch.equal(y_train[:20], torch.tensor([0.0, 1.0] * 10).unsqueeze(1))  # mixed
    again = make_binary_data()
    assert torch.equal(again[0], X_train) and torch.equal(again[3], y_test)
    ones, zeros = X_train[y_train.squeeze(1) == 1], X_train[y_train.squeeze(1) == 0]
    # opposite means (+-0.1 on every feature), the same variance (1)
    assert abs(ones.mean().item() - 0.1) < 0.005 and abs(zeros.mean().item() + 0.1) < 0.005
    assert abs(ones.std(0).mean().item() - 1) < 0.01 and abs(zeros.std(0).mean().item() - 1) < 0.01
    # the Bayes rule sum(x) > 0 is right Phi(0.1 * sqrt(200)) = 92.1% of the time
    bayes = ((X_test.sum(1) > 0).float() == y_test.squeeze(1)).float().mean().item()
    assert 0.90 < bayes < 0.94


def test_binary_data_options():
    X, y, Xt, yt = make_binary_data(11, 4, num_inputs=3, mean=2.0, std=0.5, seed=1)
    assert X.shape == (11, 3) and y.sum().item() == 5 and yt.sum().item() == 2
    assert ((X.mean(1) > 0).float() == y.squeeze(1)).all()  # 4 std apart: separable here
    with pytest.raises(ValueError, match=r"mean must be a positive number, got -1"):
        make_binary_data(mean=-1)
    with pytest.raises(ValueError, match=r"std must be a positive number, got 0"):
        make_binary_data(std=0)
    with pytest.raises(TypeError, match=r"num_inputs must be a positive integer"):
        make_binary_data(num_inputs=2.5)
    for make in (make_binary_data, make_regression_data):
        with pytest.raises(ValueError, match=r"seed must be an integer from 0 to 2\*\*63 - 1"):
            make(seed=-1)
        with pytest.raises(TypeError, match=r"seed must be an integer"):
            make(seed="1")


# ---------------------------------------------------------------- bad true_w / true_b / scales

@pytest.mark.parametrize("kwargs, error, match", [
    (dict(true_w=float("nan")), ValueError, r"true_w must hold finite numbers"),
    (dict(true_w=math.inf), ValueError, r"true_w must hold finite numbers"),
    (dict(true_b=float("nan")), ValueError, r"true_b must be a finite number, got nan"),
    (dict(true_w=1e300), ValueError, r"overflow float32.*smaller true_w"),
    (dict(true_b=torch.ones(15)), TypeError, r"true_b must be a number, got a tensor of shape"),
    (dict(true_b="a"), TypeError, r"true_b must be a number, got 'a'"),
    (dict(true_b=None), TypeError, r"true_b must be a number, got None"),
    (dict(true_w="a"), TypeError, r"true_w must be a number or a sequence of numbers"),
    (dict(true_w=None), TypeError, r"true_w must be a number or a sequence of numbers"),
])
def test_regression_data_refuses_bad_weights_and_bias(kwargs, error, match):
    """Before: NaN or inf targets without an error, true_b=torch.ones(15) used per example,
    and internal errors ("unsupported operand type(s) for +: 'Tensor' and 'str'")."""
    with pytest.raises(error, match=match):
        lk.make_regression_data(10, 5, 3, **kwargs)


def test_regression_data_still_takes_numbers_sequences_and_0d_tensors():
    a = lk.make_regression_data(10, 5, 3, true_w=[1, 2, 3], true_b=1)
    b = lk.make_regression_data(10, 5, 3, true_w=torch.tensor([1.0, 2.0, 3.0]),
                                true_b=torch.tensor(1.0))
    for u, v in zip(a, b):
        assert torch.equal(u, v)


@pytest.mark.parametrize("kwargs", [dict(mean=1e300), dict(std=1e300)])
def test_binary_data_that_would_overflow_float32_is_refused(kwargs):
    with pytest.raises(ValueError, match=r"overflow float32.*smaller mean or std"):
        lk.make_binary_data(10, 5, 3, **kwargs)


def test_logistic_data_and_data_iter_check_their_arguments():
    with pytest.raises(TypeError, match=r"true_b must be a number, got 'x'"):
        lk.make_logistic_data(10, true_b="x")
    with pytest.raises(TypeError, match=r"generator must be None or a torch.Generator"):
        lk.data_iter(2, torch.ones(4, 2), torch.ones(4), generator=0)
