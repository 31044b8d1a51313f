"""Tests for ``labkit.functional``: every from-scratch function against its PyTorch twin.

Reference: PyTorch (``torch.sigmoid``, ``torch.nn.functional.softplus``, ``F.softmax``,
``F.log_softmax``, ``F.binary_cross_entropy``, ``F.binary_cross_entropy_with_logits``,
``F.cross_entropy``) in float64.

Tolerance: forward values and gradients agree within ``RTOL = 1e-10`` and ``ATOL = 1e-12``.
Both sides evaluate the same mathematical formula in a different order, so they differ by a
few units in the last place (~1e-16 relative); 1e-10 leaves room for rounding and nothing
else. Gradients are compared as vector-Jacobian products with a fixed random upstream
gradient, so every entry of the Jacobian counts (a plain ``.sum().backward()`` would hide
errors that cancel across a softmax row).

Float32 at extreme inputs (+-100, +-1e4): labkit's values and gradients must be finite and
match PyTorch (at ``torch.testing``'s float32 tolerance) wherever PyTorch's are finite.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import labkit.functional as lf

F64 = torch.float64
RTOL, ATOL = 1e-10, 1e-12
REDUCTIONS = ("mean", "sum", "none")
EXTREMES = [-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]


# --------------------------------------------------------------------------- helpers


def upstream_like(out: torch.Tensor) -> torch.Tensor:
    """A fixed random upstream gradient with ``out``'s shape (the same for both sides)."""
    g = torch.Generator().manual_seed(1234)
    return torch.randn(out.shape, generator=g, dtype=out.dtype)


def forward_backward(fn, args, wrt=(0,), **kwargs):
    """``fn(*args, **kwargs)`` and its vector-Jacobian products w.r.t. ``args[i]``, i in wrt."""
    args = [a.detach().clone().requires_grad_(True) if i in wrt else a
            for i, a in enumerate(args)]
    out = fn(*args, **kwargs)
    grads = torch.autograd.grad(out, [args[i] for i in wrt], upstream_like(out))
    return out.detach(), grads


def assert_matches_torch(ours, theirs, args, wrt=(0,), *, rtol=RTOL, atol=ATOL, **kwargs):
    """Forward value and gradients of ``ours`` equal those of ``theirs`` within rtol/atol."""
    out, grads = forward_backward(ours, args, wrt, **kwargs)
    ref_out, ref_grads = forward_backward(theirs, args, wrt, **kwargs)
    torch.testing.assert_close(out, ref_out, rtol=rtol, atol=atol,
                               msg=lambda m: f"forward differs from torch: {m}")
    for i, grad, ref_grad in zip(wrt, grads, ref_grads):
        torch.testing.assert_close(grad, ref_grad, rtol=rtol, atol=atol,
                                   msg=lambda m, i=i: f"gradient w.r.t. args[{i}]: {m}")


def assert_close_where_torch_finite(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """``actual`` is finite everywhere and equals ``expected`` wherever that is finite."""
    assert torch.isfinite(actual).all(), f"non-finite values: {actual}"
    finite = torch.isfinite(expected)
    torch.testing.assert_close(actual[finite], expected[finite])


def torch_softplus_exact(input: torch.Tensor) -> torch.Tensor:
    """``F.softplus`` without its shortcut: by default it returns ``x`` itself for x > 20,
    an approximation off by ``log1p(exp(-x)) <= exp(-20) ~ 2e-9``, more than our tolerance.
    With ``threshold=50`` it evaluates ``log1p(exp(x))`` up to 50 (no overflow in float64)
    and its shortcut is off by at most exp(-50) ~ 2e-22 beyond that."""
    return F.softplus(input, threshold=50.0)


def floats(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def tensors(shape, lo: float, hi: float):
    """float64 tensors of ``shape`` with entries in [lo, hi] (0 and the bounds included)."""
    return arrays(np.float64, shape, elements=floats(lo, hi)).map(torch.tensor)


any_shape = array_shapes(min_dims=0, max_dims=2, max_side=5)
matrix_shape = st.tuples(st.integers(1, 4), st.integers(1, 6))  # (N, C)


@st.composite
def logits_and_class_targets(draw):
    """(N, C) logits in [-100, 100], int64 targets in [0, C), optional weights (C,)."""
    n, c = draw(matrix_shape)
    X = draw(tensors((n, c), -100, 100))
    y = torch.tensor(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    weight = draw(st.none() | tensors((c,), 0.1, 3))
    return X, y, weight


@st.composite
def binary_case(draw, lo: float, hi: float):
    """(input in [lo, hi], target in [0, 1], optional weight, optional pos_weight)."""
    shape = draw(array_shapes(min_dims=1, max_dims=2, max_side=5))
    x = draw(tensors(shape, lo, hi))
    target = draw(tensors(shape, 0, 1))
    weight = draw(st.none() | tensors(shape, 0, 3))
    pos_weight = draw(st.none() | tensors(shape[-1:], 0, 3))  # broadcast over rows
    return x, target, weight, pos_weight


# ------------------------------------------------------- twins, random inputs (float64)


@given(tensors(any_shape, -100, 100))
def test_sigmoid_matches_torch(x):
    assert_matches_torch(lf.sigmoid, torch.sigmoid, [x])


@given(tensors(any_shape, -100, 100))
def test_softplus_matches_torch(x):
    assert_matches_torch(lf.softplus, torch_softplus_exact, [x])


def test_softplus_matches_torch_default_threshold():
    x = torch.linspace(-30, 30, 241, dtype=F64)
    # F.softplus's default threshold=20 returns x for x > 20 (error <= exp(-20) ~ 2.1e-9),
    # so against the default only that much absolute difference is honest.
    assert_matches_torch(lf.softplus, F.softplus, [x], atol=3e-9)


@pytest.mark.parametrize("ours, theirs", [(lf.softmax, F.softmax),
                                          (lf.log_softmax, F.log_softmax)],
                         ids=["softmax", "log_softmax"])
@given(X=tensors(matrix_shape, -100, 100), dim=st.sampled_from([0, 1, -1]))
def test_softmax_family_matches_torch(ours, theirs, X, dim):
    assert_matches_torch(ours, theirs, [X], dim=dim)


@given(case=binary_case(1e-6, 1 - 1e-6), reduction=st.sampled_from(REDUCTIONS))
def test_binary_cross_entropy_matches_torch(case, reduction):
    p, target, weight, _ = case
    assert_matches_torch(lf.binary_cross_entropy, F.binary_cross_entropy, [p, target],
                         wrt=(0, 1), weight=weight, reduction=reduction)


@given(case=binary_case(-100, 100), reduction=st.sampled_from(REDUCTIONS))
def test_binary_cross_entropy_with_logits_matches_torch(case, reduction):
    x, target, weight, pos_weight = case
    assert_matches_torch(lf.binary_cross_entropy_with_logits,
                         F.binary_cross_entropy_with_logits, [x, target], wrt=(0, 1),
                         weight=weight, reduction=reduction, pos_weight=pos_weight)


@given(case=logits_and_class_targets(), reduction=st.sampled_from(REDUCTIONS))
def test_cross_entropy_matches_torch(case, reduction):
    X, y, weight = case
    assert_matches_torch(lf.cross_entropy, F.cross_entropy, [X, y], weight=weight,
                         reduction=reduction)


# ------------------------------- twins, fixed inputs: every reduction x weight option


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
def test_binary_cross_entropy_every_reduction(reduction, weighted):
    g = _gen(1)
    p = torch.rand(6, 3, generator=g, dtype=F64) * 0.98 + 0.01
    target = torch.tensor([0.0, 1.0, 0.25] * 6, dtype=F64).reshape(6, 3)
    weight = torch.rand(6, 3, generator=g, dtype=F64) * 2 if weighted else None
    assert_matches_torch(lf.binary_cross_entropy, F.binary_cross_entropy, [p, target],
                         wrt=(0, 1), weight=weight, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
@pytest.mark.parametrize("pos_weighted", [False, True], ids=["no-pos_weight", "pos_weight"])
def test_binary_cross_entropy_with_logits_every_reduction(reduction, weighted, pos_weighted):
    g = _gen(2)
    x = torch.randn(6, 3, generator=g, dtype=F64) * 5
    x[0, 0] = 0.0
    target = torch.tensor([0.0, 1.0, 0.25] * 6, dtype=F64).reshape(6, 3)
    weight = torch.rand(6, 3, generator=g, dtype=F64) * 2 if weighted else None
    pos_weight = torch.tensor([0.5, 2.0, 3.0], dtype=F64) if pos_weighted else None
    assert_matches_torch(lf.binary_cross_entropy_with_logits,
                         F.binary_cross_entropy_with_logits, [x, target], wrt=(0, 1),
                         weight=weight, reduction=reduction, pos_weight=pos_weight)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
def test_cross_entropy_every_reduction(reduction, weighted):
    g = _gen(3)
    X = torch.randn(7, 5, generator=g, dtype=F64) * 3
    y = torch.tensor([0, 4, 2, 2, 1, 3, 4])
    weight = torch.rand(5, generator=g, dtype=F64) + 0.5 if weighted else None
    assert_matches_torch(lf.cross_entropy, F.cross_entropy, [X, y], weight=weight,
                         reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["no-weight", "weight"])
def test_cross_entropy_single_example(reduction, weighted):
    # (C,) logits and a 0-d target, as torch allows.
    X = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=F64)
    y = torch.tensor(2)
    weight = torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=F64) if weighted else None
    assert_matches_torch(lf.cross_entropy, F.cross_entropy, [X, y], weight=weight,
                         reduction=reduction)
    assert lf.cross_entropy(X, y, weight, reduction=reduction).shape == ()


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int16, torch.int32, torch.int64])
def test_cross_entropy_accepts_any_integer_target_dtype(dtype):
    X = torch.randn(4, 3, generator=_gen(4), dtype=F64)
    y = torch.tensor([0, 2, 1, 2])
    weight = torch.tensor([1.0, 2.0, 0.5], dtype=F64)
    for reduction in REDUCTIONS:
        torch.testing.assert_close(
            lf.cross_entropy(X, y.to(dtype), weight, reduction=reduction),
            F.cross_entropy(X, y, weight, reduction=reduction), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------- gradcheck (float64)


X0 = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0], dtype=F64)  # x = 0 included on purpose


@pytest.mark.parametrize("fn", [lf.sigmoid, lf.softplus], ids=["sigmoid", "softplus"])
def test_gradcheck_elementwise(fn):
    assert torch.autograd.gradcheck(fn, (X0.clone().requires_grad_(),))


@pytest.mark.parametrize("fn", [lf.softmax, lf.log_softmax], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_gradcheck_softmax_family(fn, dim):
    X = torch.randn(3, 4, generator=_gen(5), dtype=F64)
    X[1] = torch.tensor([2.0, 2.0, 0.0, 2.0])  # a tie at the maximum
    assert torch.autograd.gradcheck(lambda t: fn(t, dim=dim), (X.requires_grad_(),))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_losses(reduction):
    g = _gen(6)
    p = (torch.rand(5, generator=g, dtype=F64) * 0.9 + 0.05).requires_grad_()
    x = X0.clone().requires_grad_()
    # targets strictly inside (0, 1): gradcheck's finite differences step around them
    target = torch.tensor([0.1, 0.9, 0.3, 0.7, 0.5], dtype=F64, requires_grad=True)
    weight = torch.rand(5, generator=g, dtype=F64) + 0.5
    pos_weight = torch.tensor(2.5, dtype=F64)
    logits = torch.randn(4, 3, generator=g, dtype=F64, requires_grad=True)
    y = torch.tensor([2, 0, 1, 2])
    class_weight = torch.tensor([0.5, 1.0, 2.0], dtype=F64)
    assert torch.autograd.gradcheck(
        lambda p, t: lf.binary_cross_entropy(p, t, weight, reduction=reduction), (p, target))
    assert torch.autograd.gradcheck(
        lambda x, t: lf.binary_cross_entropy_with_logits(
            x, t, weight, reduction=reduction, pos_weight=pos_weight), (x, target))
    assert torch.autograd.gradcheck(
        lambda X: lf.cross_entropy(X, y, class_weight, reduction=reduction), (logits,))


# ------------------------------------------------ explicit cases: zero, ties, extremes


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_sigmoid_and_softplus_at_zero(dtype):
    # A sigmoid whose branches both excluded x = 0 once had gradient 0 there.
    x = torch.zeros(3, dtype=dtype, requires_grad=True)
    s = lf.sigmoid(x)
    (grad,) = torch.autograd.grad(s.sum(), x)
    assert torch.equal(s, torch.full_like(s, 0.5))
    assert torch.equal(grad, torch.full_like(grad, 0.25))
    sp = lf.softplus(x)
    (grad,) = torch.autograd.grad(sp.sum(), x)
    torch.testing.assert_close(sp.detach(), torch.full_like(sp, np.log(2.0)))
    assert torch.equal(grad, torch.full_like(grad, 0.5))


def test_softmax_ties():
    X = torch.tensor([[2.0, 2.0, 0.0], [5.0, 5.0, 5.0], [0.0, 0.0, 0.0], [-1.0, 3.0, 3.0]],
                     dtype=F64)
    torch.testing.assert_close(lf.softmax(X[1:3]), torch.full((2, 3), 1 / 3, dtype=F64),
                               rtol=0, atol=1e-15)
    for ours, theirs in [(lf.softmax, F.softmax), (lf.log_softmax, F.log_softmax)]:
        assert_matches_torch(ours, theirs, [X], dim=1)
        assert_matches_torch(ours, theirs, [X], dim=0)


def test_elementwise_extremes_float64():
    x = torch.tensor(EXTREMES, dtype=F64)
    assert_matches_torch(lf.sigmoid, torch.sigmoid, [x])
    assert_matches_torch(lf.softplus, F.softplus, [x])  # threshold 20 is exact at these x


@pytest.mark.parametrize("ours, theirs", [(lf.sigmoid, torch.sigmoid),
                                          (lf.softplus, F.softplus)],
                         ids=["sigmoid", "softplus"])
def test_elementwise_extremes_float32(ours, theirs):
    x = torch.tensor(EXTREMES, dtype=torch.float32)
    out, (grad,) = forward_backward(ours, [x])
    ref_out, (ref_grad,) = forward_backward(theirs, [x])
    assert_close_where_torch_finite(out, ref_out)
    assert_close_where_torch_finite(grad, ref_grad)


EXTREME_LOGITS = [[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [100.0, -100.0, 1e4],
                  [1e4, 1e4, -1e4], [-100.0, 100.0, 0.0]]


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("ours, theirs", [(lf.softmax, F.softmax),
                                          (lf.log_softmax, F.log_softmax)],
                         ids=["softmax", "log_softmax"])
def test_softmax_family_extremes(dtype, ours, theirs):
    X = torch.tensor(EXTREME_LOGITS, dtype=dtype)
    out, (grad,) = forward_backward(ours, [X], dim=1)
    ref_out, (ref_grad,) = forward_backward(theirs, [X], dim=1)
    assert_close_where_torch_finite(out, ref_out)
    assert_close_where_torch_finite(grad, ref_grad)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_extremes(dtype, reduction):
    X = torch.tensor(EXTREME_LOGITS, dtype=dtype)
    y = torch.tensor([1, 0, 1, 2, 1])  # mostly confidently wrong: losses up to 2e4
    out, (grad,) = forward_backward(lf.cross_entropy, [X, y], reduction=reduction)
    ref_out, (ref_grad,) = forward_backward(F.cross_entropy, [X, y], reduction=reduction)
    assert_close_where_torch_finite(out, ref_out)
    assert_close_where_torch_finite(grad, ref_grad)


def _both_targets(values, dtype):
    """Each value paired with target 0. and with target 1."""
    x = torch.as_tensor(values, dtype=dtype).repeat(2)
    target = torch.cat([torch.zeros(len(values)), torch.ones(len(values))]).to(dtype)
    return x, target


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits_extremes(dtype, reduction):
    x, target = _both_targets(EXTREMES, dtype)
    out, grads = forward_backward(lf.binary_cross_entropy_with_logits, [x, target],
                                  wrt=(0, 1), reduction=reduction)
    ref_out, ref_grads = forward_backward(F.binary_cross_entropy_with_logits, [x, target],
                                          wrt=(0, 1), reduction=reduction)
    assert_close_where_torch_finite(out, ref_out)
    for grad, ref_grad in zip(grads, ref_grads):
        assert_close_where_torch_finite(grad, ref_grad)


def test_binary_cross_entropy_with_logits_exact_for_large_logits():
    # No clamping: a logit of -1e4 for a positive example costs exactly 1e4.
    x = torch.tensor([-1e4, 1e4], dtype=torch.float32)
    loss = lf.binary_cross_entropy_with_logits(x, torch.tensor([1.0, 0.0]), reduction="none")
    assert torch.equal(loss, torch.tensor([1e4, 1e4]))


def test_binary_cross_entropy_saturated_float64_forward_is_exact():
    # sigmoid(+-1e4) is exactly 0. / 1.: log(0) is clamped at -100 on both sides, so a
    # confidently wrong prediction costs exactly 100 in labkit and in torch.
    p, target = _both_targets(lf.sigmoid(torch.tensor([-1e4, 1e4], dtype=F64)), F64)
    assert p.tolist() == [0.0, 1.0, 0.0, 1.0]
    assert lf.binary_cross_entropy(p, target, reduction="none").tolist() == [0, 100, 100, 0]
    for reduction in REDUCTIONS:
        ours = lf.binary_cross_entropy(p, target, reduction=reduction)
        theirs = F.binary_cross_entropy(p, target, reduction=reduction)
        assert torch.equal(ours, theirs), (reduction, ours, theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_near_saturation_float64(reduction):
    p, target = _both_targets(lf.sigmoid(torch.tensor(EXTREMES, dtype=F64)), F64)
    torch.testing.assert_close(lf.binary_cross_entropy(p, target, reduction=reduction),
                               F.binary_cross_entropy(p, target, reduction=reduction),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_saturated_gradients_are_finite(dtype, reduction):
    # torch's backward divides by max(p (1 - p), 1e-12), a different clamp than labkit's,
    # so at saturated probabilities only finiteness is required of the gradients; through
    # the sigmoid (gradient w.r.t. the logit) the two agree again.
    x, target = _both_targets(EXTREMES, dtype)
    p = lf.sigmoid(x)
    _, grads = forward_backward(lf.binary_cross_entropy, [p, target], wrt=(0, 1),
                                reduction=reduction)
    assert all(torch.isfinite(g).all() for g in grads)
    out, (grad_x,) = forward_backward(
        lambda x, t: lf.binary_cross_entropy(lf.sigmoid(x), t, reduction=reduction),
        [x, target])
    _, (ref_grad_x,) = forward_backward(
        lambda x, t: F.binary_cross_entropy(torch.sigmoid(x), t, reduction=reduction),
        [x, target])
    assert torch.isfinite(out).all()
    assert_close_where_torch_finite(grad_x, ref_grad_x)


def test_binary_cross_entropy_float32_below_tiny_differs_from_torch_by_design():
    # labkit clamps the argument of each log at finfo(dtype).tiny (~1.2e-38 in float32)
    # so that the gradient 1/p stays finite (1/p overflows float32 for subnormal p). In
    # float32, log(tiny) = -87.34 > -100, so where p (or 1 - p) is below tiny a wrong
    # prediction costs -log(tiny) = 87.34 instead of torch's 100. Elsewhere they agree.
    f32 = torch.float32
    tiny = torch.finfo(f32).tiny
    p, target = _both_targets(lf.sigmoid(torch.tensor(EXTREMES, dtype=f32)), f32)
    ours = lf.binary_cross_entropy(p, target, reduction="none")
    theirs = F.binary_cross_entropy(p, target, reduction="none")
    assert torch.isfinite(ours).all()
    clamped = torch.where(target == 1, p < tiny, 1 - p < tiny)
    assert clamped.any() and not clamped.all()
    torch.testing.assert_close(ours[~clamped], theirs[~clamped])
    torch.testing.assert_close(ours[clamped], torch.full_like(ours[clamped], -np.log(tiny)))
    # torch: min(-log(q), 100) for q = p (target 1) or 1 - p (target 0), q in [0, tiny)
    q = torch.where(target == 1, p, 1 - p)[clamped].double()
    expected = (-torch.log(q)).clamp(max=100.0).float()
    assert (expected > ours[clamped] + 10).all()  # torch charges more (~100): not a no-op
    torch.testing.assert_close(theirs[clamped], expected)


# ------------------------------------------------------------------------ properties


@given(tensors(matrix_shape, -1e4, 1e4))
def test_softmax_rows_are_distributions(X):
    for dtype in (torch.float32, F64):
        P = lf.softmax(X.to(dtype), dim=1)
        assert ((P >= 0) & (P <= 1)).all()
        torch.testing.assert_close(P.sum(dim=1), torch.ones(X.shape[0], dtype=dtype))


@given(X=tensors(matrix_shape, -100, 100), shift=tensors((4, 1), -100, 100))
def test_softmax_and_log_softmax_are_shift_invariant(X, shift):
    c = shift[: X.shape[0]]  # one constant per row
    # x + c rounds (|x + c| <= 200, ulp ~3e-14): a few such roundings stay below 1e-12.
    torch.testing.assert_close(lf.softmax(X + c), lf.softmax(X), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(lf.log_softmax(X + c), lf.log_softmax(X), rtol=0, atol=1e-12)


@given(tensors(matrix_shape, -1e4, 1e4))
def test_exp_log_softmax_is_softmax(X):
    torch.testing.assert_close(torch.exp(lf.log_softmax(X)), lf.softmax(X),
                               rtol=RTOL, atol=ATOL)
    assert (lf.log_softmax(X) <= 0).all()


@given(tensors(any_shape, -1e300, 1e300))
def test_sigmoid_range_and_symmetry(z):
    s = lf.sigmoid(z)
    assert ((s >= 0) & (s <= 1)).all()
    torch.testing.assert_close(lf.sigmoid(-z), 1 - s, rtol=0, atol=1e-15)
    z = z.requires_grad_()
    (grad,) = torch.autograd.grad(lf.sigmoid(z).sum(), z)
    assert torch.isfinite(grad).all() and (grad >= 0).all()


@given(case=binary_case(-1e4, 1e4), reduction=st.sampled_from(REDUCTIONS))
def test_losses_are_non_negative(case, reduction):
    x, target, weight, pos_weight = case
    p = lf.sigmoid(x)
    assert (lf.binary_cross_entropy(p, target, weight, reduction=reduction) >= 0).all()
    assert (lf.binary_cross_entropy_with_logits(x, target, weight, reduction=reduction,
                                                pos_weight=pos_weight) >= 0).all()


@given(case=logits_and_class_targets(), scale=st.sampled_from([1.0, 100.0]),
       reduction=st.sampled_from(REDUCTIONS))
def test_cross_entropy_is_non_negative(case, scale, reduction):
    X, y, weight = case
    assert (lf.cross_entropy(X * scale, y, weight, reduction=reduction) >= 0).all()


# ------------------------------------------------------------------------- bad input


def _logits(n=4, c=10):
    return torch.zeros(n, c)


def _labels(*values):
    return torch.tensor(values, dtype=torch.long)


BAD_INPUT = [
    pytest.param(lambda: lf.cross_entropy(_logits(4), _labels(0, 1, 2)),
                 ValueError, r"input and target must hold the same number of examples.*4.*3",
                 id="ce-batch-mismatch"),
    pytest.param(lambda: lf.cross_entropy(_logits(2), _labels(3, 10)),
                 ValueError, r"target holds class index 10.*\[0, 9\].*10 classes",
                 id="ce-target-too-large"),
    pytest.param(lambda: lf.cross_entropy(_logits(2), _labels(-1, 3)),
                 ValueError, r"target holds class index -1", id="ce-target-negative"),
    pytest.param(lambda: lf.cross_entropy(_logits(2), torch.tensor([1.0, 2.0])),
                 TypeError, r"target must hold integer class indices.*torch.float32",
                 id="ce-float-target"),
    pytest.param(lambda: lf.cross_entropy(_logits(2), torch.zeros(2, 10)),
                 ValueError, r"target must be class indices of shape \(N,\)",
                 id="ce-soft-target"),
    pytest.param(lambda: lf.cross_entropy(torch.zeros(2, 3, 4), _labels(0, 1)),
                 ValueError, r"input must be logits of shape \(N, C\)", id="ce-3d-input"),
    pytest.param(lambda: lf.cross_entropy(_logits(2), _labels(0, 1), torch.ones(3)),
                 ValueError, r"weight must have shape \(10,\)", id="ce-bad-weight"),
    pytest.param(lambda: lf.cross_entropy(_logits(2).long(), _labels(0, 1)),
                 TypeError, r"input must be a floating-point tensor", id="ce-int-logits"),
    pytest.param(lambda: lf.binary_cross_entropy(torch.tensor([0.5, 1.5]), torch.ones(2)),
                 ValueError, r"input must hold probabilities in \[0, 1\].*1\.5",
                 id="bce-input-above-1"),
    pytest.param(lambda: lf.binary_cross_entropy(torch.tensor([-0.1, 0.5]), torch.ones(2)),
                 ValueError, r"input must hold probabilities", id="bce-input-below-0"),
    pytest.param(lambda: lf.binary_cross_entropy(torch.tensor([float("nan")]), torch.ones(1)),
                 ValueError, r"input must hold probabilities", id="bce-input-nan"),
    pytest.param(lambda: lf.binary_cross_entropy(torch.full((2,), 0.5), torch.tensor([0., 2.])),
                 ValueError, r"target must hold probabilities", id="bce-target-above-1"),
    pytest.param(lambda: lf.binary_cross_entropy(torch.full((4, 1), 0.5), torch.ones(4)),
                 ValueError, r"target must have the same shape as input.*\(4, 1\).*\(4,\)",
                 id="bce-N1-vs-N"),
    pytest.param(lambda: lf.binary_cross_entropy(torch.full((4,), 0.5), torch.ones(3)),
                 ValueError, r"target must have the same shape as input", id="bce-batch"),
    pytest.param(lambda: lf.binary_cross_entropy(torch.full((2,), 0.5), _labels(0, 1)),
                 TypeError, r"target must be a floating-point tensor", id="bce-int-target"),
    pytest.param(lambda: lf.binary_cross_entropy_with_logits(torch.zeros(4, 1), torch.ones(4)),
                 ValueError, r"target must have the same shape as input", id="bcel-N1-vs-N"),
    pytest.param(lambda: lf.binary_cross_entropy_with_logits(torch.zeros(2),
                                                             torch.tensor([0.0, -1.0])),
                 ValueError, r"target must hold probabilities", id="bcel-target-negative"),
    pytest.param(lambda: lf.cross_entropy(_logits(2), [0, 1]),
                 TypeError, r"target must be a torch.Tensor, got \[0, 1\] \(list\)",
                 id="ce-target-list"),
    pytest.param(lambda: lf.cross_entropy(_logits(1)[0], 3),
                 TypeError, r"target must be a torch.Tensor, got 3 \(int\)", id="ce-target-int"),
    pytest.param(lambda: lf.cross_entropy(_logits(2), np.array([0, 1])),
                 TypeError, r"target must be a torch.Tensor, got a NumPy array of shape \(2,\)",
                 id="ce-target-numpy"),
    pytest.param(lambda: lf.cross_entropy(_logits(2), _labels(0, 1), [1.0] * 10),
                 TypeError, r"weight must be a torch.Tensor.*list", id="ce-weight-list"),
    pytest.param(lambda: lf.cross_entropy(_logits(2), _labels(0, 1), np.ones(10)),
                 TypeError, r"weight must be a torch.Tensor.*NumPy array", id="ce-weight-numpy"),
    pytest.param(lambda: lf.cross_entropy(_logits(2), _labels(0, 1), torch.ones(10, 1)),
                 ValueError, r"weight must have shape \(10,\)", id="ce-weight-column"),
    pytest.param(lambda: lf.binary_cross_entropy(torch.full((4,), 0.5), torch.ones(4),
                                                 torch.ones(4, 1)),
                 ValueError, r"weight of shape \(4, 1\) would broadcast the loss of shape "
                 r"\(4,\) to \(4, 4\)", id="bce-weight-N1-vs-N"),
    pytest.param(lambda: lf.binary_cross_entropy(torch.full((4,), 0.5), torch.ones(4),
                                                 [1.0] * 4),
                 TypeError, r"weight must be a torch.Tensor", id="bce-weight-list"),
    pytest.param(lambda: lf.binary_cross_entropy_with_logits(torch.zeros(4), torch.ones(4),
                                                             torch.ones(4, 1)),
                 ValueError, r"weight of shape \(4, 1\) would broadcast", id="bcel-weight-N1"),
    pytest.param(lambda: lf.binary_cross_entropy_with_logits(torch.zeros(4), torch.ones(4),
                                                             pos_weight=torch.ones(4, 1)),
                 ValueError, r"pos_weight of shape \(4, 1\) would broadcast the loss of shape "
                 r"\(4,\) to \(4, 4\)", id="bcel-pos_weight-N1"),
    pytest.param(lambda: lf.binary_cross_entropy_with_logits(torch.zeros(4), torch.ones(4),
                                                             pos_weight=torch.ones(2, 4)),
                 ValueError, r"pos_weight of shape \(2, 4\) would broadcast", id="bcel-pos-2x4"),
    pytest.param(lambda: lf.binary_cross_entropy_with_logits(torch.zeros(4), torch.ones(4),
                                                             pos_weight=3.0),
                 TypeError, r"pos_weight must be a torch.Tensor", id="bcel-pos_weight-float"),
    pytest.param(lambda: lf.sigmoid(torch.tensor([1, 2, 3])),
                 TypeError, r"input must be a floating-point tensor.*torch.int64",
                 id="sigmoid-int-input"),
    pytest.param(lambda: lf.sigmoid([0.0, 1.0]),
                 TypeError, r"input must be a torch.Tensor", id="sigmoid-list"),
    pytest.param(lambda: lf.softplus(torch.tensor([1, 2])),
                 TypeError, r"input must be a floating-point tensor", id="softplus-int"),
    pytest.param(lambda: lf.softmax(torch.tensor([[1, 2]])),
                 TypeError, r"input must be a floating-point tensor", id="softmax-int"),
    pytest.param(lambda: lf.log_softmax(torch.tensor([[1, 2]])),
                 TypeError, r"input must be a floating-point tensor", id="log_softmax-int"),
] + [
    pytest.param(call, ValueError, r"reduction must be one of.*'avg'", id=f"reduction-{name}")
    for name, call in [
        ("bce", lambda: lf.binary_cross_entropy(torch.full((2,), 0.5), torch.ones(2),
                                                reduction="avg")),
        ("bcel", lambda: lf.binary_cross_entropy_with_logits(torch.zeros(2), torch.ones(2),
                                                             reduction="avg")),
        ("ce", lambda: lf.cross_entropy(_logits(2), _labels(0, 1), reduction="avg")),
    ]
]


@pytest.mark.parametrize("call, error, match", BAD_INPUT)
def test_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("weight_shape", [(4,), (1,), ()])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weights_that_broadcast_to_the_input_are_accepted(weight_shape, reduction):
    x = torch.linspace(-2, 2, 4, dtype=F64)
    t = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=F64)
    w = torch.rand(weight_shape, dtype=F64) + 0.5
    torch.testing.assert_close(
        lf.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=w),
        F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=w))
    torch.testing.assert_close(
        lf.binary_cross_entropy(torch.sigmoid(x), t, w, reduction=reduction),
        F.binary_cross_entropy(torch.sigmoid(x), t, w, reduction=reduction))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_binary_cross_entropy_half_precision_caps_at_100_like_torch(dtype):
    """A confidently wrong prediction costs 100 in float16/bfloat16, as in PyTorch (it was
    -log(finfo(float16).tiny) = 9.7); the other values agree with PyTorch too."""
    p = torch.tensor([0.0, 1e-6, 6e-8, 0.5, 1.0, 0.999], dtype=dtype)
    t = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0, 0.0], dtype=dtype)
    ours = lf.binary_cross_entropy(p, t, reduction="none")
    theirs = F.binary_cross_entropy(p, t, reduction="none")
    assert ours.dtype == dtype
    assert ours[0].item() == 100.0 and ours[4].item() == 100.0
    torch.testing.assert_close(ours, theirs)
    for reduction in ("mean", "sum"):
        torch.testing.assert_close(lf.binary_cross_entropy(p, t, reduction=reduction),
                                   F.binary_cross_entropy(p, t, reduction=reduction))
    p = p.clone().requires_grad_(True)
    lf.binary_cross_entropy(p, t).backward()
    assert not torch.isnan(p.grad).any()  # -1/p may overflow float16, as in PyTorch


# =========================================================== lab 2: activations, MSE, dropout
#
# Reference: F.relu, F.leaky_relu, torch.tanh, F.elu, F.mse_loss (float64, the same RTOL and
# ATOL as above). dropout is random, so it is checked by its properties: the kept elements
# are exactly input / (1 - p), the dropped ones 0, the gradient is the same mask / (1 - p),
# the kept fraction is 1 - p within 5 standard deviations, and eval mode is the identity.

ACTIVATIONS = [
    pytest.param(lf.relu, F.relu, {}, id="relu"),
    pytest.param(lf.leaky_relu, F.leaky_relu, {}, id="leaky_relu"),
    pytest.param(lf.leaky_relu, F.leaky_relu, {"negative_slope": 0.2}, id="leaky_relu-0.2"),
    pytest.param(lf.tanh, torch.tanh, {}, id="tanh"),
    pytest.param(lf.elu, F.elu, {}, id="elu"),
    pytest.param(lf.elu, F.elu, {"alpha": 0.5}, id="elu-0.5"),
]


@pytest.mark.parametrize("ours, theirs, kwargs", ACTIVATIONS)
@given(x=tensors(any_shape, -100, 100))
def test_activation_matches_torch(ours, theirs, kwargs, x):
    assert_matches_torch(ours, theirs, [x], **kwargs)


@pytest.mark.parametrize("ours, theirs, kwargs", ACTIVATIONS)
def test_activation_at_zero_and_tiny_inputs(ours, theirs, kwargs):
    # x = 0 (where relu's gradient is a convention: 0 in torch) and tiny |x|, where a tanh
    # written as (1 - exp(-2x)) / (1 + exp(-2x)) loses most of its digits to cancellation.
    x = torch.tensor([-1e-300, -1e-12, -1e-8, 0.0, 1e-8, 1e-12, 1e-300, 0.5], dtype=F64)
    assert_matches_torch(ours, theirs, [x], **kwargs)


@pytest.mark.parametrize("ours, theirs, kwargs", ACTIVATIONS)
def test_activation_extremes_float64(ours, theirs, kwargs):
    x = torch.tensor(EXTREMES + [-700.0, 700.0, 1e300, -1e300], dtype=F64)
    assert_matches_torch(ours, theirs, [x], **kwargs)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("ours, theirs, kwargs", ACTIVATIONS)
def test_activation_extremes_float32(ours, theirs, kwargs, dtype):
    # finite values and gradients everywhere (torch's elu gradient at -100 is a subnormal
    # 3.8e-44 in float32 where labkit's is 0: equal at the float32 tolerance)
    x = torch.tensor(EXTREMES, dtype=dtype)
    out, (grad,) = forward_backward(ours, [x], **kwargs)
    ref_out, (ref_grad,) = forward_backward(theirs, [x], **kwargs)
    assert_close_where_torch_finite(out, ref_out)
    assert_close_where_torch_finite(grad, ref_grad)


def test_tanh_stays_in_range_and_is_odd():
    x = torch.tensor([-1e4, -88.0, -20.0, -1.0, 0.0, 1.0, 20.0, 88.0, 1e4])
    y = lf.tanh(x)
    assert ((y >= -1) & (y <= 1)).all()
    torch.testing.assert_close(lf.tanh(-x), -y, rtol=0, atol=1e-7)
    assert y[0].item() == -1.0 and y[-1].item() == 1.0 and y[4].item() == 0.0
    # the textbook formula overflows here: inf / inf
    naive = (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))
    assert torch.isnan(naive).any()


@given(tensors(any_shape, -1e300, 1e300))
def test_tanh_and_elu_gradients_are_finite_for_any_input(x):
    x = x.requires_grad_()
    for fn in (lf.tanh, lf.elu):
        (grad,) = torch.autograd.grad(fn(x).sum(), x)
        assert torch.isfinite(grad).all(), fn.__name__


@pytest.mark.parametrize("ours, theirs, kwargs", [
    pytest.param(lf.relu, F.relu, {}, id="relu"),
    pytest.param(lf.leaky_relu, F.leaky_relu, {"negative_slope": 0.1}, id="leaky_relu"),
    pytest.param(lf.elu, F.elu, {"alpha": 1.5}, id="elu"),
])
def test_activation_inplace(ours, theirs, kwargs):
    base = torch.randn(4, 5, generator=_gen(7), dtype=F64)
    results = []
    for fn in (ours, theirs):
        leaf = base.clone().requires_grad_()
        h = leaf * 2  # a non-leaf, as a hidden layer's pre-activation
        out = fn(h, inplace=True, **kwargs)
        assert out is h  # overwritten and returned, as torch does
        (grad,) = torch.autograd.grad(out, leaf, upstream_like(out))
        results.append((out.detach(), grad))
    torch.testing.assert_close(results[0], results[1], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("fn", [lf.relu, lf.leaky_relu, lf.tanh, lf.elu],
                         ids=["relu", "leaky_relu", "tanh", "elu"])
def test_gradcheck_activations(fn):
    x = torch.tensor([-3.0, -0.5, -1e-3, 1e-3, 0.5, 3.0], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradgradcheck(fn, (x,))  # relu's hand-written backward included


def test_relu_nan_and_infinities_like_torch():
    x = torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0, -0.0], requires_grad=True)
    out, (grad,) = forward_backward(lf.relu, [x])
    ref_out, (ref_grad,) = forward_backward(F.relu, [x])
    torch.testing.assert_close(out, ref_out, equal_nan=True)
    # the gradient at nan is a convention: torch passes the upstream gradient, labkit's
    # sign mask stops it (sign(nan) = 0); both agree everywhere else
    torch.testing.assert_close(grad[1:], ref_grad[1:])
    assert grad[0].item() == 0.0


# -------------------------------------------------------------------------- mse_loss


@given(case=binary_case(-100, 100), reduction=st.sampled_from(REDUCTIONS))
def test_mse_loss_matches_torch(case, reduction):
    x, target, _, _ = case
    assert_matches_torch(lf.mse_loss, F.mse_loss, [x, 50 * target], wrt=(0, 1),
                         reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_weighted_matches_torch(reduction):
    if "weight" not in inspect.signature(F.mse_loss).parameters:
        pytest.skip("this torch's F.mse_loss has no weight argument (added in torch 2.6)")
    g = _gen(8)
    x, target = torch.randn(2, 6, 1, generator=g, dtype=F64)
    weight = torch.rand(6, 1, generator=g, dtype=F64) + 0.1
    assert_matches_torch(lf.mse_loss, F.mse_loss, [x, target], wrt=(0, 1),
                         reduction=reduction, weight=weight)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_extremes(dtype, reduction):
    x = torch.tensor(EXTREMES, dtype=dtype)
    target = torch.tensor(EXTREMES[::-1], dtype=dtype)
    out, grads = forward_backward(lf.mse_loss, [x, target], wrt=(0, 1), reduction=reduction)
    ref_out, ref_grads = forward_backward(F.mse_loss, [x, target], wrt=(0, 1),
                                          reduction=reduction)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(grads, ref_grads)
    assert torch.isfinite(out).all()


def test_mse_loss_is_torch_without_d2ls_half():
    y_hat, y = torch.tensor([[3.0], [1.0]]), torch.tensor([[1.0], [1.0]])
    assert lf.mse_loss(y_hat, y).item() == 2.0  # ((3 - 1)^2 + 0) / 2
    assert lf.mse_loss(y_hat, y, reduction="sum").item() == 4.0


# --------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_dropout_scales_survivors_and_keeps_the_mean(p, dtype):
    x = torch.rand(200, 500, generator=_gen(9), dtype=dtype) + 0.5  # no zeros
    leaf = x.clone().requires_grad_()
    out = lf.dropout(leaf, p, training=True, generator=_gen(10))
    kept = out != 0
    torch.testing.assert_close(out[kept], (x / (1 - p))[kept], rtol=1e-6 if dtype != F64
                               else RTOL, atol=0)
    # the fraction kept is 1 - p: binomial, within 5 standard deviations
    n = x.numel()
    sd = (p * (1 - p) / n) ** 0.5
    assert abs(kept.double().mean().item() - (1 - p)) < 5 * sd
    # the mean is kept (inverted dropout), and torch's dropout keeps it the same way
    mean_sd = (x.double().pow(2).mean().item() * p / (1 - p) / n) ** 0.5
    assert abs(out.double().mean().item() - x.double().mean().item()) < 5 * mean_sd
    ref = F.dropout(x, p, training=True)
    assert abs(ref.double().mean().item() - x.double().mean().item()) < 5 * mean_sd
    # the gradient is the same mask, scaled
    g = upstream_like(out)
    (grad,) = torch.autograd.grad(out, leaf, g)
    torch.testing.assert_close(grad, g * kept / (1 - p), rtol=1e-6 if dtype != F64
                               else RTOL, atol=0)


@pytest.mark.parametrize("p", [0.5, 0.99, 0.999])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_dropout_keeps_the_right_share_in_low_precision(p, dtype):
    # the mask is drawn in float32: bfloat16's uniform numbers lie on a grid of 2**-8 near
    # 1, which once kept 1.17x too many at p = 0.99 and nothing at all at p = 0.999
    n = 1_000_000
    out = lf.dropout(torch.ones(n, dtype=dtype), p, generator=_gen(11))
    assert out.dtype == dtype
    kept = (out != 0).double().mean().item()
    sd = (p * (1 - p) / n) ** 0.5
    assert abs(kept - (1 - p)) < 5 * sd
    mean_sd = (p / (1 - p) / n) ** 0.5  # of the mean of ones * mask / (1 - p)
    assert abs(out.double().mean().item() - 1.0) < 5 * mean_sd  # 1 / (1 - p) is exact here


def test_dropout_eval_mode_and_p_zero_are_the_identity():
    x = torch.randn(3, 4, dtype=F64, requires_grad=True)
    assert lf.dropout(x, 0.5, training=False) is x
    assert torch.equal(lf.dropout(x, 0.0, training=True), x)
    assert torch.equal(F.dropout(x, 0.5, training=False), x)  # torch does the same


def test_dropout_generator_gives_the_same_mask_and_a_new_mask_each_call():
    x = torch.ones(1000)
    a = lf.dropout(x, 0.5, generator=_gen(3))
    b = lf.dropout(x, 0.5, generator=_gen(3))
    assert torch.equal(a, b)
    g = _gen(3)
    assert not torch.equal(lf.dropout(x, 0.5, generator=g), lf.dropout(x, 0.5, generator=g))
    assert set(a.unique().tolist()) == {0.0, 2.0}


def test_dropout_inplace():
    x = torch.ones(100, 10)
    out = lf.dropout(x, 0.3, inplace=True, generator=_gen(4))
    assert out is x
    assert set(x.unique().tolist()) == {0.0, torch.tensor(1 / 0.7).item()}


def test_dropout_extremes_stay_finite():
    for dtype in (torch.float32, F64):
        x = torch.tensor(EXTREMES * 50, dtype=dtype, requires_grad=True)
        out = lf.dropout(x, 0.5, generator=_gen(5))
        (grad,) = torch.autograd.grad(out.sum(), x)
        assert torch.isfinite(out).all() and torch.isfinite(grad).all()


# ------------------------------------------------------------------ lab 2: bad input


BAD_INPUT_LAB2 = [
    pytest.param(lambda: lf.relu(torch.tensor([1, -2])), TypeError,
                 r"input must be a floating-point tensor.*int64", id="relu-int"),
    pytest.param(lambda: lf.relu([1.0]), TypeError, r"input must be a torch.Tensor",
                 id="relu-list"),
    pytest.param(lambda: lf.relu(torch.ones(2), inplace="yes"), TypeError,
                 r"inplace must be True or False, got 'yes'", id="relu-inplace-str"),
    pytest.param(lambda: lf.tanh(torch.tensor([1, 2])), TypeError,
                 r"input must be a floating-point tensor", id="tanh-int"),
    pytest.param(lambda: lf.leaky_relu(torch.ones(2), "0.1"), TypeError,
                 r"negative_slope must be a number, got '0.1'", id="leaky-slope-str"),
    pytest.param(lambda: lf.leaky_relu(torch.ones(2), float("nan")), ValueError,
                 r"negative_slope must be a finite number", id="leaky-slope-nan"),
    pytest.param(lambda: lf.elu(torch.ones(2), alpha=None), TypeError,
                 r"alpha must be a number, got None", id="elu-alpha-none"),
    pytest.param(lambda: lf.elu(torch.tensor([1, 2])), TypeError,
                 r"input must be a floating-point tensor", id="elu-int"),
    pytest.param(lambda: lf.mse_loss(torch.zeros(4, 1), torch.zeros(4)), ValueError,
                 r"target must have the same shape as input.*\(4, 1\).*\(4,\)",
                 id="mse-N1-vs-N"),
    pytest.param(lambda: lf.mse_loss(torch.zeros(4), torch.zeros(4), reduction="avg"),
                 ValueError, r"reduction must be one of.*'avg'", id="mse-reduction"),
    pytest.param(lambda: lf.mse_loss(torch.zeros(4), torch.zeros(4, dtype=torch.long)),
                 TypeError, r"target must be a floating-point tensor", id="mse-int-target"),
    pytest.param(lambda: lf.mse_loss(torch.zeros(4), torch.zeros(4), weight=torch.ones(3)),
                 ValueError, r"weight must have the shape of input \(4,\), got \(3,\)",
                 id="mse-weight-shape"),
    pytest.param(lambda: lf.dropout(torch.ones(3), 1.0), ValueError,
                 r"p must be a probability in \[0, 1\), got 1.0", id="dropout-p-1"),
    pytest.param(lambda: lf.dropout(torch.ones(3), -0.1), ValueError,
                 r"p must be a probability in \[0, 1\), got -0.1", id="dropout-p-negative"),
    pytest.param(lambda: lf.dropout(torch.ones(3), float("nan")), ValueError,
                 r"p must be a probability in \[0, 1\), got nan", id="dropout-p-nan"),
    pytest.param(lambda: lf.dropout(torch.ones(3), "0.5"), TypeError,
                 r"p must be a probability in \[0, 1\), got '0.5'", id="dropout-p-str"),
    pytest.param(lambda: lf.dropout(torch.ones(3), 0.5, training=None), TypeError,
                 r"training must be True or False, got None", id="dropout-training-none"),
    pytest.param(lambda: lf.dropout(torch.ones(3, dtype=torch.long), 0.5), TypeError,
                 r"input must be a floating-point tensor", id="dropout-int"),
    pytest.param(lambda: lf.dropout(torch.ones(3), 0.5, generator=0), TypeError,
                 r"generator must be None or a torch.Generator .*got 0 \(int\)$",
                 id="dropout-generator-int"),
]


@pytest.mark.parametrize("call, error, match", BAD_INPUT_LAB2)
def test_lab2_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
