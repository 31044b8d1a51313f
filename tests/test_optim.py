"""Tests for ``labkit.optim``: ``SGD`` and ``sgd`` against ``torch.optim.SGD``.

Reference: ``torch.optim.SGD`` on the same float64 parameters and the same loss (a small
linear regression with squared loss). Tolerance: parameters agree within ``ATOL = 1e-12``
after every step; both sides do the same arithmetic up to rounding (~1e-16 per step).
"""

from __future__ import annotations

import pytest
import torch

from labkit.optim import SGD, Adam, RMSprop, sgd

F64 = torch.float64
ATOL = 1e-12
NUM_STEPS = 6


def make_regression(num_examples: int = 12, seed: int = 0):
    """X (N, 3), y (N,), and starting parameters w (3,), b (0-d), all float64."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(num_examples, 3, generator=g, dtype=F64)
    true_w = torch.tensor([2.0, -3.4, 0.5], dtype=F64)
    y = X @ true_w + 4.2 + 0.1 * torch.randn(num_examples, generator=g, dtype=F64)
    w = torch.randn(3, generator=g, dtype=F64)
    b = torch.tensor(0.5, dtype=F64)
    return X, y, w, b


def squared_loss(X, y, w, b, reduction="mean"):
    loss = 0.5 * (X @ w + b - y) ** 2  # (N,)
    return loss.mean() if reduction == "mean" else loss.sum()


def leaf_copies(*tensors):
    return [t.detach().clone().requires_grad_(True) for t in tensors]


def assert_same_params(ours, theirs, step):
    for i, (p, q) in enumerate(zip(ours, theirs)):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=0, atol=ATOL,
                                   msg=lambda m, i=i: f"param {i} after step {step}: {m}")


# ------------------------------------------------------------- SGD vs torch.optim.SGD


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("set_to_none", [True, False])
def test_SGD_matches_torch_step_by_step(momentum, weight_decay, set_to_none):
    X, y, w, b = make_regression()
    unused = torch.ones(2, dtype=F64)  # never gets a gradient: must be left alone
    ours, theirs = leaf_copies(w, b, unused), leaf_copies(w, b, unused)
    opt = SGD(ours, lr=0.05, momentum=momentum, weight_decay=weight_decay)
    ref = torch.optim.SGD(theirs, lr=0.05, momentum=momentum, weight_decay=weight_decay)
    start = [p.detach().clone() for p in ours]
    for step in range(NUM_STEPS):
        batch = slice(4 * (step % 3), 4 * (step % 3) + 4)  # a different minibatch each step
        for params, o in [(ours, opt), (theirs, ref)]:
            o.zero_grad(set_to_none=set_to_none)
            squared_loss(X[batch], y[batch], params[0], params[1]).backward()
            o.step()
        assert_same_params(ours, theirs, step)
        assert ours[2].grad is None
    assert not torch.allclose(ours[0], start[0])  # it did move
    assert torch.equal(ours[2].detach(), start[2])


def test_SGD_lr_attribute_can_be_changed_between_steps():
    X, y, w, b = make_regression()
    ours, theirs = leaf_copies(w, b), leaf_copies(w, b)
    opt = SGD(ours, lr=0.1, momentum=0.5)
    ref = torch.optim.SGD(theirs, lr=0.1, momentum=0.5)
    assert opt.lr == 0.1
    for step in range(NUM_STEPS):
        if step == 3:  # a hand-made schedule
            opt.lr = 0.01
            ref.param_groups[0]["lr"] = 0.01
        for params, o in [(ours, opt), (theirs, ref)]:
            o.zero_grad()
            squared_loss(X, y, *params).backward()
            o.step()
        assert_same_params(ours, theirs, step)


def test_SGD_accepts_a_parameter_generator():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1).double()
    ref_net = torch.nn.Linear(3, 1).double()
    ref_net.load_state_dict(net.state_dict())
    X, y, _, _ = make_regression()
    opt = SGD(net.parameters(), lr=0.1, momentum=0.9)
    ref = torch.optim.SGD(ref_net.parameters(), lr=0.1, momentum=0.9)
    for step in range(NUM_STEPS):
        for model, o in [(net, opt), (ref_net, ref)]:
            o.zero_grad()
            (0.5 * (model(X).squeeze(1) - y) ** 2).mean().backward()
            o.step()
        assert_same_params(list(net.parameters()), list(ref_net.parameters()), step)


def test_SGD_zero_grad():
    X, y, w, b = make_regression()
    params = leaf_copies(w, b)
    opt = SGD(params, lr=0.1)
    squared_loss(X, y, *params).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    opt.zero_grad()  # nothing to clear: no error
    squared_loss(X, y, *params).backward()
    opt.zero_grad(set_to_none=False)
    for p in params:
        assert p.grad is not None and torch.equal(p.grad, torch.zeros_like(p))


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.1)])
def test_SGD_skips_parameters_without_grad(momentum, weight_decay):
    # With weight decay, updating a parameter without a gradient would still move it.
    X, y, w, b = make_regression()
    params = leaf_copies(w, b)
    opt = SGD(params, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    w_before, b_before = (p.detach().clone() for p in params)
    (0.5 * (X @ params[0] - y) ** 2).mean().backward()  # b takes no part: b.grad is None
    opt.step()
    assert params[1].grad is None
    assert torch.equal(params[1].detach(), b_before)
    assert not torch.equal(params[0].detach(), w_before)


# -------------------------------------------------------------------------- sgd


def test_sgd_update_and_zeroed_grads():
    X, y, w, b = make_regression()
    params = leaf_copies(w, b)
    unused = torch.ones(2, dtype=F64, requires_grad=True)
    squared_loss(X, y, *params, reduction="sum").backward()
    lr, batch_size = 0.03, len(y)
    expected = [p.detach() - lr * p.grad / batch_size for p in params]
    sgd(params + [unused], lr, batch_size)
    for p, e in zip(params, expected):
        torch.testing.assert_close(p.detach(), e, rtol=0, atol=ATOL)
        assert torch.equal(p.grad, torch.zeros_like(p))  # zeroed, not None
        assert p.is_leaf and p.requires_grad  # the update is not part of the graph
    assert unused.grad is None and torch.equal(unused.detach(), torch.ones(2, dtype=F64))


def test_sgd_on_summed_loss_equals_torch_SGD_on_mean_loss():
    # The loss-scale point: the gradient of a batch's SUM is batch_size times that of its
    # MEAN, so sgd's division by batch_size makes the two updates the same.
    X, y, w, b = make_regression(num_examples=10)
    ours, theirs, undivided = leaf_copies(w, b), leaf_copies(w, b), leaf_copies(w, b)
    ref = torch.optim.SGD(theirs, lr=0.1)
    batches = [slice(0, 4), slice(4, 8), slice(8, 10)]  # the last batch is partial
    for step in range(NUM_STEPS):
        batch = batches[step % len(batches)]
        batch_size = len(y[batch])
        squared_loss(X[batch], y[batch], *ours, reduction="sum").backward()
        sgd(ours, 0.1, batch_size)
        ref.zero_grad()
        squared_loss(X[batch], y[batch], *theirs, reduction="mean").backward()
        ref.step()
        assert_same_params(ours, theirs, step)
        # Not dividing by the batch size takes steps batch_size times too large.
        squared_loss(X[batch], y[batch], *undivided, reduction="sum").backward()
        sgd(undivided, 0.1, 1)
    assert not torch.allclose(undivided[0], theirs[0], atol=1e-3)


def test_sgd_accepts_a_parameter_generator():
    net = torch.nn.Linear(2, 1).double()
    X = torch.ones(3, 2, dtype=F64)
    net(X).sum().backward()
    before = net.weight.detach().clone()
    sgd(net.parameters(), 0.5, 3)
    # d(sum_i w . x_i + b)/dw = sum_i x_i = (3, 3); divided by batch_size 3 -> (1, 1)
    torch.testing.assert_close(net.weight.detach(), before - 0.5, rtol=0, atol=ATOL)


# ------------------------------------------------------------------------- bad input


def _params():
    return [torch.zeros(2, requires_grad=True)]


BAD_SGD_ARGS = [
    pytest.param(dict(lr=0.0), ValueError, r"lr must be a positive number, got 0", id="lr-0"),
    pytest.param(dict(lr=-0.1), ValueError, r"lr must be a positive number.*-0\.1",
                 id="lr-negative"),
    pytest.param(dict(lr=float("nan")), ValueError, r"lr must be a positive", id="lr-nan"),
    pytest.param(dict(lr="0.1"), TypeError, r"lr must be a positive number.*str",
                 id="lr-str"),
    pytest.param(dict(lr=0.1, momentum=-0.9), ValueError, r"momentum must be a number >= 0",
                 id="momentum-negative"),
    pytest.param(dict(lr=0.1, weight_decay=-1e-4), ValueError,
                 r"weight_decay must be a number >= 0", id="weight_decay-negative"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_SGD_ARGS)
def test_SGD_bad_hyperparameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        SGD(_params(), **kwargs)


@pytest.mark.parametrize("lr, batch_size, error, match", [
    (0.0, 4, ValueError, r"lr must be a positive number"),
    (-1.0, 4, ValueError, r"lr must be a positive number"),
    ("0.1", 4, TypeError, r"lr must be a positive number"),
    (0.1, 0, ValueError, r"batch_size must be a positive integer, got 0"),
    (0.1, -3, ValueError, r"batch_size must be a positive integer, got -3"),
    (0.1, 2.5, TypeError, r"batch_size must be a positive integer.*2\.5"),
    (0.1, True, TypeError, r"batch_size must be a positive integer"),
])
def test_sgd_bad_hyperparameters(lr, batch_size, error, match):
    params = _params()
    params[0].grad = torch.ones(2)
    with pytest.raises(error, match=match):
        sgd(params, lr, batch_size)
    assert torch.equal(params[0].detach(), torch.zeros(2))  # nothing was updated


BAD_PARAMS = [
    pytest.param(lambda: [], ValueError, r"params is empty", id="empty"),
    pytest.param(lambda: torch.zeros(2, requires_grad=True), TypeError,
                 r"params must be an iterable of tensors.*single tensor", id="single-tensor"),
    pytest.param(lambda: [torch.zeros(2, requires_grad=True), torch.zeros(2)], ValueError,
                 r"params\[1\] does not require gradients", id="no-requires_grad"),
    pytest.param(lambda: [torch.zeros(2, requires_grad=True), 3.0], TypeError,
                 r"params\[1\] must be a torch.Tensor", id="not-a-tensor"),
    pytest.param(lambda: 3.0, TypeError, r"params must be an iterable of tensors",
                 id="number"),
    pytest.param(lambda: [torch.zeros(2, requires_grad=True),
                          torch.randn(3, requires_grad=True) * 1.0], ValueError,
                 r"params\[1\] is not a leaf tensor.*computed from another tensor.*"
                 r"never.*updated", id="non-leaf"),
    pytest.param(lambda: [torch.zeros(2, requires_grad=True).to(torch.float64)], ValueError,
                 r"params\[0\] is not a leaf tensor", id="non-leaf-cast"),
]


@pytest.mark.parametrize("make_params, error, match", BAD_PARAMS)
def test_bad_params(make_params, error, match):
    with pytest.raises(error, match=match):
        SGD(make_params(), lr=0.1)
    with pytest.raises(error, match=match):
        sgd(make_params(), 0.1, 4)


def test_the_same_parameter_twice_is_refused():
    """torch.optim.SGD warns and then updates such a parameter twice per step; labkit refuses."""
    w = torch.zeros(2, requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    for make in (lambda: SGD([w, b, w], lr=0.1), lambda: sgd([w, b, w], 0.1, 4)):
        with pytest.raises(ValueError, match=r"params\[2\] is the same tensor as params\[0\]"):
            make()
    net = torch.nn.Linear(2, 1)
    with pytest.raises(ValueError, match="is the same tensor"):
        SGD(list(net.parameters()) * 2, lr=0.1)


def test_a_non_leaf_parameter_is_never_silently_skipped():
    """Before: sgd/SGD accepted w = randn(3, requires_grad=True) * 1.0, whose .grad backward
    never fills, and left it unchanged for ever."""
    base = torch.randn(3, requires_grad=True)
    w = base * 1.0
    with pytest.raises(ValueError, match="not a leaf"):
        sgd([w], 0.1, 1)
    with pytest.raises(ValueError, match="not a leaf"):
        SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf"):  # torch agrees
        torch.optim.SGD([w], lr=0.1)


# ============================================== lab 2: RMSprop and Adam vs torch.optim
#
# Same reference and tolerance as SGD: the same float64 parameters and minibatches, the
# parameters agree within ATOL = 1e-12 after every one of MANY_STEPS steps. Adam's and
# RMSprop's updates are ~lr in size whatever the gradient, so 40 steps move the parameters
# visibly while the rounding differences (torch uses lerp/addcdiv, labkit the spelled-out
# formulas) stay ~1e-15.

MANY_STEPS = 40

ADAPTIVE = [
    pytest.param(RMSprop, torch.optim.RMSprop, {}, id="RMSprop-defaults"),
    pytest.param(RMSprop, torch.optim.RMSprop, dict(lr=0.05, weight_decay=0.1),
                 id="RMSprop-weight_decay"),
    pytest.param(RMSprop, torch.optim.RMSprop, dict(lr=0.01, momentum=0.9),
                 id="RMSprop-momentum"),
    pytest.param(RMSprop, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6,
                                                    momentum=0.5, centered=True,
                                                    weight_decay=0.01),
                 id="RMSprop-centered-all"),
    pytest.param(Adam, torch.optim.Adam, {}, id="Adam-defaults"),
    pytest.param(Adam, torch.optim.Adam, dict(lr=0.05, weight_decay=0.1),
                 id="Adam-weight_decay"),
    pytest.param(Adam, torch.optim.Adam, dict(lr=0.02, betas=(0.5, 0.9), eps=1e-6),
                 id="Adam-betas-eps"),
    pytest.param(Adam, torch.optim.Adam, dict(lr=0.02, amsgrad=True, weight_decay=0.01),
                 id="Adam-amsgrad"),
]


@pytest.mark.parametrize("ours_cls, torch_cls, kwargs", ADAPTIVE)
@pytest.mark.parametrize("set_to_none", [True, False])
def test_adaptive_optimizer_matches_torch_step_by_step(ours_cls, torch_cls, kwargs,
                                                       set_to_none):
    X, y, w, b = make_regression(num_examples=24)
    unused = torch.ones(2, dtype=F64)  # never gets a gradient: must be left alone
    ours, theirs = leaf_copies(w, b, unused), leaf_copies(w, b, unused)
    opt, ref = ours_cls(ours, **kwargs), torch_cls(theirs, **kwargs)
    start = [p.detach().clone() for p in ours]
    for step in range(MANY_STEPS):
        batch = slice(4 * (step % 6), 4 * (step % 6) + 4)  # a different minibatch each step
        for params, o in [(ours, opt), (theirs, ref)]:
            o.zero_grad(set_to_none=set_to_none)
            squared_loss(X[batch], y[batch], params[0], params[1]).backward()
            o.step()
        assert_same_params(ours, theirs, step)
    assert (ours[0] - start[0]).abs().max() > 5 * kwargs.get("lr", 1e-3)  # it did move
    assert torch.equal(ours[2].detach(), start[2]) and opt.state[2] == {}


@pytest.mark.parametrize("ours_cls, torch_cls, kwargs", ADAPTIVE[:1] + ADAPTIVE[4:5])
def test_adaptive_optimizer_matches_torch_on_an_mlp_with_lr_change(ours_cls, torch_cls,
                                                                   kwargs):
    # many parameter shapes (matrices, vectors), a parameter generator, a schedule by hand
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(),
                              torch.nn.Linear(5, 1)).double()
    ref_net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(),
                                  torch.nn.Linear(5, 1)).double()
    ref_net.load_state_dict(net.state_dict())
    X, y, _, _ = make_regression(num_examples=16)
    opt, ref = ours_cls(net.parameters(), **kwargs), torch_cls(ref_net.parameters(), **kwargs)
    for step in range(20):
        if step == 10:
            opt.lr = ref.param_groups[0]["lr"] = opt.lr / 10
        for model, o in [(net, opt), (ref_net, ref)]:
            o.zero_grad()
            ((model(X).squeeze(1) - y) ** 2).mean().backward()
            o.step()
        assert_same_params(list(net.parameters()), list(ref_net.parameters()), step)


@pytest.mark.parametrize("opt_cls, kwargs", [
    pytest.param(SGD, dict(lr=0.05), id="SGD"),
    pytest.param(SGD, dict(lr=0.05, momentum=0.9), id="SGD-momentum"),
    pytest.param(RMSprop, dict(lr=0.01, momentum=0.5), id="RMSprop"),
    pytest.param(Adam, dict(lr=0.02), id="Adam"),
])
def test_l2_penalty_in_the_loss_equals_weight_decay(opt_cls, kwargs):
    # Adding (lambda / 2) * ||p||^2 to the loss adds lambda * p to the gradient: exactly
    # what weight_decay=lambda does in the update (for SGD, RMSprop and Adam; AdamW's
    # decoupled decay is a different thing).
    lam = 0.3
    X, y, w, b = make_regression()
    decayed, penalized = leaf_copies(w, b), leaf_copies(w, b)
    opt_decay = opt_cls(decayed, weight_decay=lam, **kwargs)
    opt_penalty = opt_cls(penalized, **kwargs)
    plain = leaf_copies(w, b)
    opt_plain = opt_cls(plain, **kwargs)
    for step in range(MANY_STEPS):
        batch = slice(4 * (step % 3), 4 * (step % 3) + 4)
        opt_decay.zero_grad()
        squared_loss(X[batch], y[batch], *decayed).backward()
        opt_decay.step()
        opt_penalty.zero_grad()
        penalty = lam / 2 * sum((p ** 2).sum() for p in penalized)
        (squared_loss(X[batch], y[batch], *penalized) + penalty).backward()
        opt_penalty.step()
        opt_plain.zero_grad()
        squared_loss(X[batch], y[batch], *plain).backward()
        opt_plain.step()
        assert_same_params(decayed, penalized, step)
    # and the penalty did something: the weights are smaller than without it
    assert penalized[0].norm() < plain[0].norm() - 0.01


def test_adam_first_step_is_lr_times_the_sign_of_the_gradient():
    # bias correction: m_hat = g and v_hat = g^2 at t = 1, so the step is lr * g / |g|
    p = torch.tensor([2.0, -3.0, 0.5], dtype=F64, requires_grad=True)
    opt = Adam([p], lr=0.1, eps=0.0)
    p.grad = torch.tensor([1e-4, -5.0, 300.0], dtype=F64)
    opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([1.9, -2.9, 0.4], dtype=F64),
                               rtol=0, atol=1e-15)
    assert opt.state[0]["step"] == 1


def test_optimizers_zero_grad_and_repr():
    p = torch.zeros(2, requires_grad=True)
    for opt in (Adam([p]), RMSprop([p], momentum=0.9)):
        p.grad = torch.ones(2)
        opt.zero_grad(set_to_none=False)
        assert torch.equal(p.grad, torch.zeros(2))
        opt.zero_grad()
        assert p.grad is None
    assert repr(Adam([p])) == ("Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, "
                               "weight_decay=0.0, amsgrad=False, params=1)")
    assert repr(RMSprop([p])).startswith("RMSprop(lr=0.01, alpha=0.99, eps=1e-08")


BAD_ADAPTIVE_ARGS = [
    pytest.param(Adam, dict(lr=0.0), ValueError, r"lr must be a positive number, got 0",
                 id="adam-lr-0"),
    pytest.param(Adam, dict(betas=(0.9, 1.0)), ValueError,
                 r"betas\[1\] must be a number in \[0, 1\), got 1.0", id="adam-beta2-1"),
    pytest.param(Adam, dict(betas=(-0.1, 0.9)), ValueError, r"betas\[0\] must be a number",
                 id="adam-beta1-negative"),
    pytest.param(Adam, dict(betas=0.9), TypeError, r"betas must be a pair \(beta1, beta2\)",
                 id="adam-betas-number"),
    pytest.param(Adam, dict(eps=-1e-8), ValueError, r"eps must be a number >= 0",
                 id="adam-eps-negative"),
    pytest.param(Adam, dict(weight_decay=-0.1), ValueError,
                 r"weight_decay must be a number >= 0", id="adam-wd-negative"),
    pytest.param(Adam, dict(amsgrad=1), TypeError, r"amsgrad must be True or False",
                 id="adam-amsgrad-int"),
    pytest.param(RMSprop, dict(lr=-0.01), ValueError, r"lr must be a positive number",
                 id="rmsprop-lr-negative"),
    pytest.param(RMSprop, dict(alpha=1.0), ValueError,
                 r"alpha must be a number in \[0, 1\), got 1.0", id="rmsprop-alpha-1"),
    pytest.param(RMSprop, dict(alpha="0.9"), TypeError, r"alpha must be a number",
                 id="rmsprop-alpha-str"),
    pytest.param(RMSprop, dict(momentum=-0.9), ValueError, r"momentum must be a number >= 0",
                 id="rmsprop-momentum-negative"),
    pytest.param(RMSprop, dict(centered="yes"), TypeError, r"centered must be True or False",
                 id="rmsprop-centered-str"),
]


@pytest.mark.parametrize("cls, kwargs, error, match", BAD_ADAPTIVE_ARGS)
def test_adaptive_bad_hyperparameters(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(_params(), **kwargs)


@pytest.mark.parametrize("make_params, error, match", BAD_PARAMS)
@pytest.mark.parametrize("cls", [Adam, RMSprop])
def test_adaptive_bad_params(cls, make_params, error, match):
    with pytest.raises(error, match=match):
        cls(make_params())


@pytest.mark.parametrize("kwargs", [{}, dict(amsgrad=True)])
@pytest.mark.parametrize("cls", [Adam, RMSprop])
def test_adaptive_optimizers_refuse_complex_parameters(cls, kwargs):
    # g * g is not |g|^2 for a complex g: the updates were wrong (and amsgrad crashed)
    if cls is RMSprop and kwargs:
        kwargs = dict(centered=True)
    real = torch.zeros(2, dtype=F64, requires_grad=True)
    z = torch.zeros(2, dtype=torch.complex128, requires_grad=True)
    with pytest.raises(TypeError, match=r"params\[1\] has the complex dtype torch.complex128"):
        cls([real, z], **kwargs)


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.1)])
def test_SGD_matches_torch_on_complex_parameters(momentum, weight_decay):
    target = torch.tensor([1 + 2j, -3 + 0.5j], dtype=torch.complex128)
    ours = torch.zeros(2, dtype=torch.complex128, requires_grad=True)
    theirs = ours.detach().clone().requires_grad_()
    opt = SGD([ours], lr=0.1, momentum=momentum, weight_decay=weight_decay)
    ref = torch.optim.SGD([theirs], lr=0.1, momentum=momentum, weight_decay=weight_decay)
    for step in range(NUM_STEPS):
        for p, o in ((ours, opt), (theirs, ref)):
            o.zero_grad()
            (p - target).abs().pow(2).sum().backward()
            o.step()
        torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=0, msg=f"step {step}")
