"""Tests for labkit.models: shapes, initialization, determinism, scratch == nn twin."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import labkit as lk
from labkit.models import (
    LogisticRegression,
    LogisticRegressionScratch,
    SoftmaxRegression,
    SoftmaxRegressionScratch,
)


@pytest.fixture
def float64_default():
    """Build models in float64 (the reference precision), then restore the default."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_logistic_scratch_shapes_and_init():
    net = LogisticRegressionScratch(3, generator=gen())
    assert net.w.shape == (3,) and net.b.shape == ()
    assert net.w.requires_grad and net.b.requires_grad
    assert net.b.item() == 0.0
    assert net.parameters() == [net.w, net.b]
    assert net.w.dtype == torch.get_default_dtype()
    assert net(torch.randn(5, 3)).shape == (5,)


def test_softmax_scratch_shapes_and_init():
    net = SoftmaxRegressionScratch(generator=gen())
    assert net.W.shape == (784, 10) and net.b.shape == (10,)
    assert 0.009 < net.W.std().item() < 0.011  # N(0, 0.01^2), 7840 draws
    assert abs(net.W.mean().item()) < 0.001
    assert torch.equal(net.b, torch.zeros(10))
    assert net(torch.rand(4, 1, 28, 28)).shape == (4, 10)
    assert net(torch.rand(4, 784)).shape == (4, 10)


def test_nn_models_init_like_scratch():
    torch.manual_seed(0)
    net = SoftmaxRegression()
    assert isinstance(net.flatten, nn.Flatten) and isinstance(net.linear, nn.Linear)
    assert 0.009 < net.linear.weight.std().item() < 0.011
    assert torch.equal(net.linear.bias, torch.zeros(10))
    assert net(torch.rand(4, 1, 28, 28)).shape == (4, 10)
    logistic = LogisticRegression(2)
    assert logistic.linear.weight.shape == (1, 2)
    assert logistic(torch.randn(7, 2)).shape == (7,)  # (N,), the shape of y


def test_generator_makes_init_deterministic():
    a = SoftmaxRegressionScratch(20, 3, generator=gen(1))
    b = SoftmaxRegressionScratch(20, 3, generator=gen(1))
    c = SoftmaxRegressionScratch(20, 3, generator=gen(2))
    assert torch.equal(a.W, b.W)
    assert not torch.equal(a.W, c.W)
    assert torch.equal(LogisticRegressionScratch(4, generator=gen(1)).w,
                       LogisticRegressionScratch(4, generator=gen(1)).w)


def test_logistic_to_nn_same_logits(float64_default):
    net = LogisticRegressionScratch(5, generator=gen())
    with torch.no_grad():
        net.b.fill_(0.3)
    twin = net.to_nn()
    assert isinstance(twin, LogisticRegression)
    X = torch.randn(64, 5, generator=gen(3))
    assert twin.linear.weight.dtype == torch.float64
    torch.testing.assert_close(twin(X), net(X), rtol=0, atol=1e-12)
    # a copy, not shared storage
    with torch.no_grad():
        net.w.add_(1.0)
    assert not torch.allclose(twin(X), net(X))


def test_softmax_to_nn_same_logits(float64_default):
    net = SoftmaxRegressionScratch(784, 10, generator=gen())
    with torch.no_grad():
        net.b.copy_(torch.linspace(-1, 1, 10))
    twin = net.to_nn()
    assert isinstance(twin, SoftmaxRegression)
    X = torch.rand(32, 1, 28, 28, generator=gen(4))
    torch.testing.assert_close(twin(X), net(X), rtol=0, atol=1e-12)
    # gradients agree too
    y = torch.randint(0, 10, (32,), generator=gen(5))
    nn.functional.cross_entropy(net(X), y).backward()
    nn.functional.cross_entropy(twin(X), y).backward()
    torch.testing.assert_close(twin.linear.weight.grad, net.W.grad.T, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(twin.linear.bias.grad, net.b.grad, rtol=1e-10, atol=1e-12)


def test_scratch_to_keeps_tensor_identity():
    net = LogisticRegressionScratch(3, generator=gen())
    params = net.parameters()
    net.w.grad = torch.ones(3)
    assert net.to("cpu") is net
    assert net.parameters()[0] is params[0] and net.parameters()[1] is params[1]
    assert net.w.grad is not None and net.w.device.type == "cpu"


def test_train_eval_flags():
    net = SoftmaxRegressionScratch(4, 2, generator=gen())
    assert net.training
    assert net.eval() is net and not net.training
    assert net.train() is net and net.training


def test_bad_input():
    net = SoftmaxRegressionScratch(4, 3, generator=gen())
    with pytest.raises(ValueError, match=r"X must have shape \(N, 4\).*got shape \(2, 5\)"):
        net(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3\), got shape \(3,\)"):
        LogisticRegressionScratch(3)(torch.randn(3))
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        LogisticRegression(3)([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="num_inputs must be a positive integer, got 0"):
        LogisticRegressionScratch(0)
    with pytest.raises(TypeError, match="num_outputs must be a positive integer"):
        SoftmaxRegressionScratch(4, 2.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_scratch_to_cuda_and_back():
    net = SoftmaxRegressionScratch(4, 3, generator=gen())
    W = net.W
    net.to("cuda")
    assert net.W is W and W.device.type == "cuda"
    assert net(torch.randn(2, 4, device="cuda")).device.type == "cuda"
    assert net.to_nn().linear.weight.device.type == "cuda"
    net.to("cpu")
    assert W.device.type == "cpu"


def test_scratch_softmax_weight_is_stored_column_major():
    """W keeps its values and shape (D, C) but is laid out like nn.Linear's weight, the layout
    in which the products X @ W and X.T @ grad are fast; its gradient keeps that layout."""
    net = lk.SoftmaxRegressionScratch(generator=torch.Generator().manual_seed(0))
    drawn = torch.normal(0.0, 0.01, size=(784, 10), generator=torch.Generator().manual_seed(0))
    assert torch.equal(net.W.detach(), drawn)
    assert net.W.shape == (784, 10) and net.W.stride() == (1, 784)
    assert net.W.is_leaf and net.W.requires_grad
    lk.cross_entropy(net(torch.rand(8, 1, 28, 28)), torch.arange(8), reduction="sum").backward()
    assert net.W.grad.stride() == (1, 784)
    lk.sgd(net.parameters(), 0.1, 8)
    assert net.W.stride() == (1, 784)


@pytest.mark.parametrize("make", [lambda: SoftmaxRegressionScratch(generator=gen()),
                                  lambda: SoftmaxRegression()])
def test_uint8_images_get_a_clear_error(make):
    """Before: a matmul dtype error from inside the model."""
    images = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    with pytest.raises(TypeError, match=r"X must be a floating-point tensor.*got dtype "
                                        r"torch.uint8.*X.float\(\) / 255"):
        make()(images)


@pytest.mark.parametrize("make", [lambda: SoftmaxRegressionScratch(generator=gen()),
                                  lambda: SoftmaxRegression(),
                                  lambda: LogisticRegressionScratch(784, generator=gen()),
                                  lambda: LogisticRegression(784)])
def test_float64_features_for_a_float32_model_get_a_clear_error(make):
    X = torch.rand(2, 784, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"X has dtype torch.float64 but the model's parameters "
                                        r"are torch.float32.*X.float\(\)"):
        make()(X)


def test_integer_features_for_the_logistic_models_get_a_clear_error():
    for net in (LogisticRegressionScratch(2, generator=gen()), LogisticRegression(2)):
        with pytest.raises(TypeError, match=r"X must be a floating-point tensor.*torch.int64"):
            net(torch.tensor([[1, 2], [3, 4]]))


def test_float64_model_takes_float64_features(float64_default):
    net = SoftmaxRegressionScratch(4, 3, generator=gen())
    assert net(torch.rand(2, 4)).dtype == torch.float64
