"""Tests for labkit.gradcheck: numerical gradients against known derivatives and autograd
(float64), the relative error and where it is, hand-written gradients, bad input.

Tolerances: a central difference with h = 1e-5 in float64 is accurate to ~1e-10 for the
smooth functions used here (curvature term h^2 |f'''| / 6 plus rounding eps |f| / h), so
values are compared at atol 1e-8.
"""

from __future__ import annotations

import math

import pytest
import torch

import labkit as lk
from labkit.gradcheck import GradcheckResult, numerical_gradient

F64 = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_numerical_gradient_of_known_functions():
    x = torch.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=F64)
    # f(x) = sum(x^3): gradient 3 x^2
    torch.testing.assert_close(numerical_gradient(lambda t: (t ** 3).sum(), x), 3 * x ** 2,
                               rtol=0, atol=1e-8)
    # f(x) = sin(x[0, 1]) * x[1, 0]: a gradient with zeros
    g = numerical_gradient(lambda t: torch.sin(t[0, 1]) * t[1, 0], x)
    expected = torch.zeros_like(x)
    expected[0, 1] = math.cos(-1.2) * 2.0
    expected[1, 0] = math.sin(-1.2)
    torch.testing.assert_close(g, expected, rtol=0, atol=1e-8)
    assert g.shape == x.shape and g.dtype == F64


def test_numerical_gradient_matches_autograd_and_restores_x():
    x = torch.randn(3, 4, generator=_gen(1), dtype=F64)
    before = x.clone()

    def f(t):
        return torch.logsumexp(t @ t.T, dim=0).sum() + lk.tanh(t).pow(2).sum()

    leaf = x.clone().requires_grad_()
    (auto,) = torch.autograd.grad(f(leaf), leaf)
    torch.testing.assert_close(numerical_gradient(f, x), auto, rtol=1e-7, atol=1e-8)
    assert torch.equal(x, before)  # every entry restored exactly


def test_numerical_gradient_through_a_closure_and_a_leaf():
    # CS231n style: f ignores its argument and reads a weight that is perturbed in place
    W = torch.randn(4, 3, generator=_gen(2), dtype=F64, requires_grad=True)
    X = torch.randn(5, 4, generator=_gen(3), dtype=F64)

    def loss(_):
        return (X @ W).pow(2).mean()

    W_before = W.detach().clone()
    (auto,) = torch.autograd.grad(loss(None), W)
    num = numerical_gradient(loss, W)
    torch.testing.assert_close(num, auto, rtol=1e-7, atol=1e-8)
    assert W.requires_grad and W.is_leaf and W.grad is None
    assert torch.equal(W.detach(), W_before)  # every entry restored exactly


def test_numerical_gradient_accepts_numbers_and_non_contiguous_x():
    x = torch.arange(6, dtype=F64).reshape(2, 3).T  # non-contiguous view
    g = numerical_gradient(lambda t: float((t ** 2).sum()), x)
    torch.testing.assert_close(g, 2 * x, rtol=0, atol=1e-8)


def test_gradcheck_with_autograd_reports_a_tiny_error():
    X = torch.randn(7, 5, generator=_gen(4), dtype=F64)
    y = torch.randint(0, 4, (7,), generator=_gen(5))
    params = [torch.randn(5, 6, generator=_gen(6), dtype=F64) * 0.5,
              torch.randn(6, generator=_gen(7), dtype=F64) * 0.1,
              torch.randn(6, 4, generator=_gen(8), dtype=F64) * 0.5,
              torch.zeros(4, dtype=F64)]

    def f(W1, b1, W2, b2):
        return lk.cross_entropy(lk.relu(X @ W1 + b1) @ W2 + b2, y)

    result = lk.gradcheck(f, params)
    assert isinstance(result, GradcheckResult)
    assert result.max_rel_error < 1e-6
    assert float(result) == result.max_rel_error
    assert len(result.numerical) == 4 and result.analytical[0].shape == (5, 6)
    i, index = result.where
    assert result.rel_error[i][index].item() == result.max_rel_error
    assert result.max_rel_error == max(r.max().item() for r in result.rel_error)
    assert "max relative error" in repr(result) and f"inputs[{i}]" in repr(result)


def test_gradcheck_finds_a_wrong_hand_written_gradient_and_where():
    x = torch.tensor([0.5, -1.0, 2.0], dtype=F64)
    W = torch.tensor([[1.0, 2.0], [0.5, -1.0], [0.0, 3.0]], dtype=F64)

    def f(x, W):
        return (x @ W).pow(2).sum()

    # d/dx = 2 W (x W)^T, d/dW = 2 x^T (x W); plant an error in dW[2, 1]
    z = x @ W
    gx, gW = 2 * W @ z, 2 * torch.outer(x, z)
    ok = lk.gradcheck(f, [x, W], [gx, gW])
    assert ok.max_rel_error < 1e-8
    wrong = gW.clone()
    wrong[2, 1] *= 1.1
    result = lk.gradcheck(f, [x, W], [gx, wrong])
    assert result.where == (1, (2, 1))
    n, a = result.numerical_value, result.analytical_value
    assert result.max_rel_error == pytest.approx(abs(n - a) / (abs(n) + abs(a)), rel=1e-6)
    assert result.max_rel_error == pytest.approx(0.1 / 2.1, rel=1e-6)
    assert "inputs[1][2, 1]" in repr(result)


def test_gradcheck_relative_error_formula_and_tiny():
    x = torch.tensor([1.0, 0.0], dtype=F64)

    def f(x):
        return 3 * x[0]  # gradient (3, 0)

    exact = lk.gradcheck(f, x, torch.tensor([3.0, 0.0], dtype=F64))
    assert exact.max_rel_error < 1e-9  # 0 where both are exactly 0
    off = lk.gradcheck(f, x, torch.tensor([3.0, 1e-9], dtype=F64))
    assert off.where == (0, (1,))
    assert off.max_rel_error == pytest.approx(1e-9 / 1e-8)  # the floor tiny = 1e-8
    assert lk.gradcheck(f, x, torch.tensor([3.0, 1e-9], dtype=F64), tiny=1e-12
                        ).max_rel_error == pytest.approx(1.0)
    single = lk.gradcheck(lambda t: (t ** 2).sum(), torch.tensor(1.5, dtype=F64))
    assert single.where == (0, ()) and single.max_rel_error < 1e-9


def test_gradcheck_leaves_inputs_alone_and_handles_unused_inputs():
    a = torch.randn(3, generator=_gen(9), dtype=F64, requires_grad=True)
    b = torch.randn(2, generator=_gen(10), dtype=F64)
    before = (a.detach().clone(), b.clone())
    result = lk.gradcheck(lambda a, b: a.exp().sum(), [a, b])  # b unused: gradient 0
    assert result.max_rel_error < 1e-8
    assert torch.equal(result.analytical[1], torch.zeros(2, dtype=F64))
    assert torch.equal(a.detach(), before[0]) and torch.equal(b, before[1]) and a.grad is None


def test_numerical_gradient_restores_x_when_f_raises():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    before = x.clone()
    calls = []

    def f(t):
        calls.append(1)
        if len(calls) == 4:  # second entry, x[1] - h
            raise RuntimeError("boom")
        return (t ** 2).sum()

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    assert torch.equal(x, before)


def test_numerical_gradient_refuses_x_whose_entries_share_memory():
    # torch.ones(1).expand(3): one number seen three times; perturbing "one entry" moved
    # all three and gave [6, 6, 6] for the gradient [2, 2, 2]
    x = torch.ones(1, dtype=F64).expand(3)
    with pytest.raises(ValueError, match=r"x has entries that share memory.*x\.contiguous\(\)"):
        numerical_gradient(lambda t: (t ** 2).sum(), x)
    overlapping = torch.ones(3, dtype=F64).as_strided((2, 2), (1, 1))
    with pytest.raises(ValueError, match=r"share memory"):
        numerical_gradient(lambda t: (t ** 2).sum(), overlapping)
    # a non-contiguous view without overlap is fine
    torch.testing.assert_close(numerical_gradient(lambda t: (t ** 2).sum(), x.contiguous()),
                               torch.full((3,), 2.0, dtype=F64))
    strided = torch.ones(4, 4, dtype=F64)[:, ::2]
    torch.testing.assert_close(numerical_gradient(lambda t: (t ** 2).sum(), strided),
                               torch.full((4, 2), 2.0, dtype=F64))


def test_numerical_gradient_refuses_a_complex_output_and_restores_x():
    x = torch.tensor([1.0, 2.0], dtype=F64)
    before = x.clone()
    with pytest.raises(TypeError, match=r"f must return a real number, got a complex tensor"):
        numerical_gradient(lambda t: (t * 1j).sum(), x)
    assert torch.equal(x, before)
    with pytest.raises(TypeError, match=r"f must return a real number, got a complex tensor"):
        lk.gradcheck(lambda t: (t * 1j).sum(), x)
    assert torch.equal(x, before)


def test_float32_inputs_warn():
    with pytest.warns(UserWarning, match=r"x has dtype torch.float32.*use float64"):
        numerical_gradient(lambda t: t.sum(), torch.ones(2))
    with pytest.warns(UserWarning, match=r"inputs\[0\] has dtype torch.float32"):
        lk.gradcheck(lambda t: t.sum(), [torch.ones(2)])


@pytest.mark.parametrize("call, error, match", [
    (lambda: numerical_gradient(lambda t: t, torch.ones(2, dtype=F64)), ValueError,
     r"f must return a scalar \(one number, e.g. a loss\), got a tensor of shape \(2,\)"),
    (lambda: numerical_gradient(lambda t: "x", torch.ones(2, dtype=F64)), TypeError,
     r"f must return a number or a one-element tensor, got 'x'"),
    (lambda: numerical_gradient(lambda t: t.sum(), torch.ones(2, dtype=F64), h=0), ValueError,
     r"h must be a small positive number such as 1e-5, got 0"),
    (lambda: numerical_gradient(lambda t: t.sum(), [1.0, 2.0]), TypeError,
     r"x must be a torch.Tensor"),
    (lambda: numerical_gradient(lambda t: t.sum(), torch.ones(2, dtype=torch.long)),
     TypeError, r"x must be a floating-point tensor"),
    (lambda: numerical_gradient("f", torch.ones(2, dtype=F64)), TypeError,
     r"f must be a function of x"),
    (lambda: lk.gradcheck(lambda t: t.sum(), []), TypeError,
     r"inputs must be a tensor or a non-empty list of tensors"),
    (lambda: lk.gradcheck(lambda a, b: a.sum(), [torch.ones(2, dtype=F64)] * 2,
                          [torch.ones(2, dtype=F64)]), ValueError,
     r"grads must hold one gradient per input \(2\), got 1"),
    (lambda: lk.gradcheck(lambda a: a.sum(), torch.ones(2, dtype=F64),
                          torch.ones(3, dtype=F64)), ValueError,
     r"grads\[0\] must have the shape of inputs\[0\] \(2,\), got \(3,\)"),
    (lambda: lk.gradcheck(lambda a: a, torch.ones(2, dtype=F64)), ValueError,
     r"f must return a scalar"),
    (lambda: lk.gradcheck(lambda a: float(a.detach().sum()), torch.ones(2, dtype=F64)),
     TypeError,
     r"pass grads= to compare with your own gradients"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match", [
    # tiny = inf made every relative error 0: any gradient passed
    (lambda: lk.gradcheck(lambda a: a.sum(), torch.ones(2, dtype=F64),
                          torch.full((2,), 5.0, dtype=F64), tiny=math.inf), ValueError,
     r"tiny must be a positive number, got inf"),
    (lambda: lk.gradcheck(lambda a: a.sum(), torch.ones(2, dtype=F64), tiny=float("nan")),
     ValueError, r"tiny must be a positive number, got nan"),
    (lambda: lk.gradcheck(lambda a: a.sum(), torch.ones(2, dtype=F64), tiny=0), ValueError,
     r"tiny must be a positive number, got 0"),
    (lambda: lk.gradcheck(lambda a: a.sum(), torch.ones(2, dtype=F64), tiny="a"), TypeError,
     r"tiny must be a positive number, got 'a'"),
    (lambda: lk.gradcheck(lambda a: a.sum(), torch.ones(2, dtype=F64), grads="abc"),
     TypeError, r"grads must be a tensor or a list of tensors, one per input \(1\), got 'abc'"),
    (lambda: lk.gradcheck(lambda a: a.sum(), torch.ones(2, dtype=F64), grads=3.0),
     TypeError, r"grads must be a tensor or a list of tensors"),
    (lambda: lk.gradcheck(lambda a: a.sum(), torch.empty(0, dtype=F64)), ValueError,
     r"inputs\[0\] is empty \(shape \(0,\)\): there is no entry"),
    (lambda: lk.gradcheck(lambda a, b: a.sum(), [torch.empty(0, dtype=F64)] * 2), ValueError,
     r"every one of the 2 inputs is empty"),
])
def test_bad_gradcheck_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_gradcheck_with_one_empty_input_among_others():
    a = torch.tensor([1.0, 2.0], dtype=F64)
    result = lk.gradcheck(lambda a, b: (a ** 2).sum() + b.sum(), [a, torch.empty(0, dtype=F64)])
    assert result.max_rel_error < 1e-8 and result.where[0] == 0
