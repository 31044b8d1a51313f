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


# ==================================================================== lab 2: the MLP


MLP_CONFIGS = [
    pytest.param(dict(num_inputs=12, num_hiddens=(), num_outputs=3), id="no-hidden"),
    pytest.param(dict(num_inputs=12, num_hiddens=7, num_outputs=3, activation="tanh"),
                 id="one-tanh"),
    pytest.param(dict(num_inputs=12, num_hiddens=(9, 5), num_outputs=1,
                      activation="leaky_relu", init="kaiming"), id="two-leaky-kaiming"),
    pytest.param(dict(num_inputs=12, num_hiddens=(6, 6, 4), num_outputs=4, activation="elu",
                      init="xavier"), id="three-elu-xavier"),
    pytest.param(dict(num_inputs=12, num_hiddens=[8, 3], num_outputs=2, activation="sigmoid",
                      init=0.01), id="two-sigmoid-normal"),
    pytest.param(dict(num_inputs=12, num_hiddens=(8,), num_outputs=2, activation="identity"),
                 id="one-identity"),
]


def _pairs(scratch, twin):
    """(scratch tensor in nn's layout, nn tensor) for every parameter, in order."""
    assert len(scratch.parameters()) == len(list(twin.parameters()))
    return [(p.detach().T if p.dim() == 2 else p.detach(), q.detach())
            for p, q in zip(scratch.parameters(), twin.parameters())]


@pytest.mark.parametrize("kwargs", MLP_CONFIGS)
def test_mlp_twins_draw_the_same_initial_weights(kwargs):
    torch.manual_seed(3)
    scratch = lk.MLPScratch(**kwargs)
    torch.manual_seed(3)
    twin = lk.MLP(**kwargs)
    assert isinstance(twin, nn.Sequential)
    for p, q in _pairs(scratch, twin):
        assert torch.equal(p, q)
    # and with a generator instead of the global seed
    a = lk.MLPScratch(**kwargs, generator=gen(5))
    b = lk.MLP(**kwargs, generator=gen(5))
    assert all(torch.equal(p, q) for p, q in _pairs(a, b))
    assert not torch.equal(a.W[0], scratch.W[0])


@pytest.mark.parametrize("kwargs", MLP_CONFIGS)
def test_mlp_twins_compute_the_same_forward_and_backward(kwargs, float64_default):
    scratch = lk.MLPScratch(**kwargs, generator=gen(1))
    twin = lk.MLP(**kwargs, generator=gen(1))
    X = torch.randn(16, 12, generator=gen(2)) * 3
    y = torch.randint(0, kwargs["num_outputs"], (16,), generator=gen(3))
    out, ref = scratch(X), twin(X)
    assert out.shape == (16, kwargs["num_outputs"]) and out.dtype == torch.float64
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    nn.functional.cross_entropy(out, y).backward()
    nn.functional.cross_entropy(ref, y).backward()
    for p, q in zip(scratch.parameters(), twin.parameters()):
        grad = p.grad.T if p.dim() == 2 else p.grad
        torch.testing.assert_close(grad, q.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kwargs", MLP_CONFIGS)
def test_mlp_to_nn_copies_the_weights(kwargs, float64_default):
    scratch = lk.MLPScratch(**kwargs, generator=gen(7))
    with torch.no_grad():
        for p in scratch.parameters():
            p.add_(0.1)  # not the initial draw any more
    twin = scratch.to_nn()
    assert isinstance(twin, lk.MLP) and twin.linears[0].weight.dtype == torch.float64
    X = torch.randn(5, 12, generator=gen(8))
    torch.testing.assert_close(twin(X), scratch(X), rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        scratch.W[0].add_(1.0)
    assert not torch.allclose(twin(X), scratch(X))  # a copy, not shared storage


def test_mlp_structure_shapes_and_layout():
    net = lk.MLPScratch(generator=gen())  # 784-256-10, ReLU: the lab's default
    assert [tuple(p.shape) for p in net.parameters()] == [(784, 256), (256,), (256, 10), (10,)]
    assert all(p.is_leaf and p.requires_grad for p in net.parameters())
    assert net.W[0].stride() == (1, 784)  # nn.Linear's layout, fast products
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    twin = lk.MLP()
    kinds = [type(m) for m in twin]
    assert kinds == [nn.Flatten, nn.Linear, nn.ReLU, nn.Linear]
    assert twin(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    deep = lk.MLP(20, (8, 8), 1, "tanh", dropout=(0.1, 0.3))
    assert [type(m) for m in deep] == [nn.Flatten, nn.Linear, nn.Tanh, nn.Dropout, nn.Linear,
                                       nn.Tanh, nn.Dropout, nn.Linear]
    assert [m.p for m in deep if isinstance(m, nn.Dropout)] == [0.1, 0.3]
    assert len(deep.linears) == 3
    assert "num_hiddens=(8, 8)" in repr(deep) and "dropout=(0.1, 0.3)" in repr(deep)
    assert repr(lk.MLPScratch(4, 3, 2)) == (
        "MLPScratch(num_inputs=4, num_hiddens=(3,), num_outputs=2, activation='relu')")


def test_mlp_initialisations():
    big = dict(num_inputs=400, num_hiddens=(300,), num_outputs=200)
    default = lk.MLPScratch(**big, generator=gen())
    bound = 1 / 400 ** 0.5  # nn.Linear: uniform in +-1/sqrt(fan_in), bias too
    assert default.W[0].abs().max() <= bound and default.W[0].abs().max() > 0.99 * bound
    assert default.b[0].abs().max() <= bound and default.b[0].abs().max() > 0.9 * bound
    xavier = lk.MLPScratch(**big, init="xavier", generator=gen())
    a = (6 / (400 + 300)) ** 0.5
    assert xavier.W[0].abs().max() <= a and xavier.W[0].abs().max() > 0.99 * a
    assert torch.equal(xavier.b[0], torch.zeros(300))
    kaiming = lk.MLPScratch(**big, init="kaiming", generator=gen())
    assert abs(kaiming.W[0].std().item() / (2 / 400) ** 0.5 - 1) < 0.02
    normal = lk.MLPScratch(**big, init=0.01, generator=gen())
    assert abs(normal.W[1].std().item() / 0.01 - 1) < 0.02
    assert torch.equal(normal.b[1], torch.zeros(200))


def test_mlp_dropout_only_in_training_mode():
    net = lk.MLPScratch(50, (400,), 3, dropout=0.5, generator=gen())
    twin = net.to_nn()
    X = torch.randn(8, 50, generator=gen(1))
    net.eval()
    twin.eval()
    torch.testing.assert_close(net(X), twin(X))
    torch.testing.assert_close(net(X), net(X))  # deterministic in eval mode
    net.train()
    assert not torch.allclose(net(X), net(X))  # a new mask each call
    # a deep net with dropout still computes the eval-mode output on average
    torch.manual_seed(0)
    mean = torch.stack([net(X) for _ in range(400)]).mean(0)
    net.eval()
    hidden_eval = net(X)
    assert (mean - hidden_eval).abs().max() < 0.1 * hidden_eval.abs().max() + 0.05


def test_mlp_without_activation_is_a_linear_map(float64_default):
    # why activations matter: with "identity" the whole network is X @ W_total + b_total
    net = lk.MLPScratch(6, (5, 4), 3, "identity", generator=gen())
    W_total = net.W[0] @ net.W[1] @ net.W[2]
    b_total = (net.b[0] @ net.W[1] + net.b[1]) @ net.W[2] + net.b[2]
    X = torch.randn(10, 6, generator=gen(1))
    torch.testing.assert_close(net(X), X @ W_total + b_total)


def test_mlp_custom_activation_function():
    net = lk.MLPScratch(4, (3,), 2, activation=torch.sin, generator=gen())
    X = torch.randn(2, 4)
    expected = torch.sin(X @ net.W[0] + net.b[0]) @ net.W[1] + net.b[1]
    torch.testing.assert_close(net(X), expected)
    assert "activation='sin'" in repr(net)
    with pytest.raises(ValueError, match=r"to_nn needs a named activation"):
        net.to_nn()


def test_mlp_trains_with_labkit_and_torch_optimizers_identically(float64_default):
    # the same start and the same batches: the two loss trajectories are the same
    X = torch.randn(64, 10, generator=gen(1))
    y = (X[:, 0] * X[:, 1] > 0).long()  # not linearly separable: needs the hidden layer
    scratch = lk.MLPScratch(10, (16,), 2, generator=gen(2))
    twin = scratch.to_nn()
    opt_s = lk.Adam(scratch.parameters(), lr=0.01)
    opt_t = torch.optim.Adam(twin.parameters(), lr=0.01)
    for _ in range(30):
        for net, opt in [(scratch, opt_s), (twin, opt_t)]:
            opt.zero_grad()
            lk.cross_entropy(net(X), y).backward()
            opt.step()
    torch.testing.assert_close(scratch(X), twin(X), rtol=1e-9, atol=1e-10)
    assert lk.accuracy(scratch(X), y) > 48  # above chance (32 of 64)


BAD_MLP = [
    pytest.param(dict(num_hiddens="256"), TypeError, r"num_hiddens must be a sequence",
                 id="hiddens-str"),
    pytest.param(dict(num_hiddens=(256, 0)), ValueError,
                 r"num_hiddens\[1\] must be a positive integer, got 0", id="hiddens-zero"),
    pytest.param(dict(num_hiddens=(2.5,)), TypeError, r"num_hiddens\[0\] must be a positive",
                 id="hiddens-float"),
    pytest.param(dict(num_inputs=0), ValueError, r"num_inputs must be a positive integer",
                 id="inputs-zero"),
    pytest.param(dict(activation="relu6"), ValueError,
                 r"activation must be one of \('relu', .*got 'relu6'", id="activation-name"),
    pytest.param(dict(dropout=1.0), ValueError, r"dropout\[0\] must be a probability in "
                 r"\[0, 1\), got 1.0", id="dropout-1"),
    pytest.param(dict(num_hiddens=(4, 4), dropout=(0.1,)), ValueError,
                 r"dropout must give one probability per hidden layer \(2\), got 1",
                 id="dropout-count"),
    pytest.param(dict(dropout="0.5"), TypeError, r"dropout must be a probability",
                 id="dropout-str"),
    pytest.param(dict(init="he"), ValueError, r"init must be one of \('default', 'xavier', "
                 r"'kaiming'\) or a standard deviation > 0, got 'he'", id="init-name"),
    pytest.param(dict(init=-0.01), ValueError, r"init as a standard deviation must be > 0",
                 id="init-negative"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_MLP)
@pytest.mark.parametrize("cls", ["MLPScratch", "MLP"])
def test_mlp_bad_arguments(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        getattr(lk, cls)(**kwargs)


def test_mlp_bad_input_shape_and_nn_activation_callable():
    with pytest.raises(ValueError, match=r"X must have shape \(N, 784\).*got shape \(2, 5\)"):
        lk.MLPScratch()(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"X must have shape \(N, 784\)"):
        lk.MLP()(torch.randn(2, 5))
    with pytest.raises(TypeError, match=r"activation must be one of .*got <built-in"):
        lk.MLP(activation=torch.relu)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_mlp_scratch_to_cuda():
    net = lk.MLPScratch(4, (3,), 2, generator=gen())
    net.to("cuda")
    assert all(p.device.type == "cuda" for p in net.parameters())
    assert net(torch.randn(2, 4, device="cuda")).device.type == "cuda"
    assert net.to_nn().linears[0].weight.device.type == "cuda"


@pytest.mark.parametrize("make", [
    lambda: lk.MLP(4, (3,), 2, dropout=0.5, generator=gen()),
    lambda: lk.MLPScratch(4, (3,), 2, dropout=0.5, generator=gen()),
    lambda: SoftmaxRegressionScratch(4, 2, generator=gen()),
    lambda: SoftmaxRegression(4, 2),
], ids=["MLP", "MLPScratch", "SoftmaxRegressionScratch", "SoftmaxRegression"])
def test_an_empty_batch_gives_empty_logits(make):
    # nn.Linear maps (0, D) to (0, C); reshape(0, -1) used to fail ("cannot reshape tensor
    # of 0 elements into shape [0, -1]")
    net = make()
    assert net(torch.empty(0, 4)).shape == (0, 2)
    assert net(torch.empty(0, 1, 2, 2)).shape == (0, 2)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 4\).*got shape \(0, 5\)"):
        net(torch.empty(0, 5))


@pytest.mark.parametrize("make", [
    lambda: lk.MLPScratch(4, (3,), 2, generator=gen()),
    lambda: LogisticRegressionScratch(4, generator=gen()),
    lambda: SoftmaxRegressionScratch(4, 2, generator=gen()),
], ids=["MLPScratch", "LogisticRegressionScratch", "SoftmaxRegressionScratch"])
@pytest.mark.parametrize("mode", ["no", None, 1, 0.0])
def test_scratch_train_mode_must_be_a_bool_like_nn_module(make, mode):
    # train('no') used to switch training ON (bool('no')), train(None) OFF
    net = make()
    with pytest.raises(ValueError, match=r"training mode is expected to be boolean"):
        nn.Linear(1, 1).train(mode)  # torch's behaviour, matched
    with pytest.raises(ValueError, match=r"training mode is expected to be boolean.*got "):
        net.train(mode)
    assert net.training  # unchanged
    assert net.train(False) is net and not net.training


@pytest.mark.parametrize("make", [
    lambda g: lk.MLP(4, (3,), 2, generator=g),
    lambda g: lk.MLPScratch(4, (3,), 2, generator=g),
    lambda g: LogisticRegressionScratch(4, generator=g),
    lambda g: SoftmaxRegressionScratch(4, 2, generator=g),
], ids=["MLP", "MLPScratch", "LogisticRegressionScratch", "SoftmaxRegressionScratch"])
@pytest.mark.parametrize("bad", [0, "x", 1.5])
def test_a_bad_generator_is_a_short_type_error_naming_it(make, bad):
    # torch's own error is a 500-character list of rand()'s signatures
    with pytest.raises(TypeError, match=r"^generator must be None or a torch.Generator") as err:
        make(bad)
    assert len(str(err.value)) < 200
    make(None)  # None stays allowed
