"""Checkers for the multilayer perceptron from scratch (lab 2, ``labkit.models.MLPScratch``'s
and ``labkit.gradcheck``'s lessons).

Notebook 06 has the student write:

- ``mse_loss(input, target, reduction="mean")``: the regression loss, PyTorch's
  ``F.mse_loss`` (no 1/2 factor);
- ``mlp(X, params, activation)``: the forward pass of a network of any depth,
  ``params = [W1, b1, ..., WL, bL]`` with ``W (fan_in, fan_out)``; each hidden layer
  ``H = activation(H @ W + b)``, the last one linear (logits); ``X`` is flattened to
  ``(N, W1.shape[0])`` first;
- ``mlp_loss_and_grads(X, y, params)``: the forward AND backward pass by hand of a network
  with one or two ReLU hidden layers and a softmax cross-entropy loss averaged over the
  batch: returns ``(loss, grads)`` with ``grads[i]`` the gradient of the loss w.r.t.
  ``params[i]``, computed without autograd (that is what it is checked against), and
  stable: shifting every logit by +-1000 (where exp overflows float64) changes nothing.

Tolerances: float64 within ``rtol=1e-6, atol=1e-10`` (a correct formula differs from
autograd and PyTorch by rounding, ~1e-15).
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from labkit.check._core import (
    Checker,
    Fail,
    Skip,
    _StudentError,
    describe_value,
    expect_tensor,
    first_mismatch,
    fmt,
    leaves_for,
    quiet_passes,
    run_checker,
    stand_in,
    torch_vjp,
    vjp,
)
from labkit.check.activations import relu as check_relu
from labkit.check.functional import bad_reduction_check

__all__ = ["mse_loss", "mlp", "mlp_loss_and_grads"]

F64, F32 = torch.float64, torch.float32
RTOL, ATOL = 1e-6, 1e-10
REDUCTIONS = ("mean", "sum", "none")


def _randn(*shape, seed: int, scale: float = 1.0, dtype=F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(tuple(shape), generator=g, dtype=F64) * scale).to(dtype)


# ====================================================================== mse_loss

MSE_FORMULA = ("loss = (input - target) ** 2, then .mean() (reduction='mean'), .sum() "
               "('sum') or as it is ('none')")


def _mse_candidates(x, t, reduction):
    sq = (x - t) ** 2
    out = [
        (sq.mean() / 2 if reduction == "mean" else sq.sum() / 2 if reduction == "sum"
         else sq / 2, "it halves the squared error (d2l's squared_loss): PyTorch's mse_loss "
         "has no 1/2", MSE_FORMULA),
        ((x - t).abs().mean() if reduction == "mean" else (x - t).abs().sum()
         if reduction == "sum" else (x - t).abs(), "it returns the absolute error (L1), "
         "not the squared one", MSE_FORMULA),
    ]
    if reduction == "mean":
        out += [(sq.sum(), "reduction='mean' returns the sum", "divide by the number of "
                 "elements: .mean()"),
                (sq.mean().sqrt(), "it returns the root of the mean squared error (RMSE)",
                 MSE_FORMULA),
                (sq.mean() / len(x), "the mean is divided by the batch size twice",
                 "use .mean() alone (it already divides by the number of elements)")]
    if reduction == "sum":
        out.append((sq.mean(), "reduction='sum' returns the mean",
                    "reduction='sum' is .sum()"))
    if reduction == "none":
        out.append((sq.mean(), "reduction='none' returns the mean, not one loss per element",
                    "with reduction='none' return (input - target) ** 2 unreduced"))
    return out


def _mse_values(c: Checker) -> None:
    x = _randn(9, 1, seed=1, scale=3)
    t = _randn(9, 1, seed=2, scale=3)
    for reduction in REDUCTIONS:
        out = c.call(x, t, reduction=reduction)
        ref = F.mse_loss(x, t, reduction=reduction)
        expect_tensor(out, context=f"with reduction={reduction!r}")
        if out.shape == ref.shape and first_mismatch(out, ref, RTOL, ATOL) is None:
            continue
        for wrong, problem, fix in _mse_candidates(x, t, reduction):
            if wrong.shape == out.shape and first_mismatch(out, wrong, RTOL, ATOL) is None:
                raise Fail(problem, fix)
        if out.shape != ref.shape:
            raise Fail(f"with reduction={reduction!r} it returns shape {tuple(out.shape)}; "
                       f"expected {tuple(ref.shape)}", MSE_FORMULA)
        i = first_mismatch(out, ref, RTOL, ATOL)
        raise Fail(f"with reduction={reduction!r} it returns "
                   f"{fmt(out.detach().reshape(-1)[i])}; F.mse_loss gives "
                   f"{fmt(ref.reshape(-1)[i])}", MSE_FORMULA)


def _mse_default(c: Checker) -> None:
    x, t = _randn(5, seed=3), _randn(5, seed=4)
    out = expect_tensor(c.call(x, t), context="without a reduction argument")
    if out.shape != () or first_mismatch(out, F.mse_loss(x, t), RTOL, ATOL) is not None:
        raise Fail("without a reduction argument it does not return the mean",
                   "the default is reduction='mean'")


def _mse_gradient(c: Checker) -> None:
    x, t = _randn(6, 2, seed=5, scale=2), _randn(6, 2, seed=6, scale=2)
    for reduction in REDUCTIONS:
        lx, lt = leaves_for([x, t], [0, 1])
        gx, gt = vjp(c, c.call(lx, lt, reduction=reduction), [lx, lt],
                     f"with reduction={reduction!r}")
        _, (rx, rt) = torch_vjp(F.mse_loss, [x, t], [0, 1], reduction=reduction)
        for name, g, ref in (("input", gx, rx), ("target", gt, rt)):
            i = first_mismatch(g, ref, RTOL, ATOL)
            if i is not None:
                raise Fail(f"with reduction={reduction!r} the gradient w.r.t. {name} is "
                           f"{fmt(g.reshape(-1)[i])} where {fmt(ref.reshape(-1)[i])} is "
                           f"right", "compute it with torch operations on input and target")


def _mse_extremes(c: Checker) -> None:
    for dtype in (F64, F32):
        x = torch.tensor([[-1e4], [-100.0], [0.0], [100.0], [1e4]], dtype=dtype)
        t = torch.flip(x, [0])
        out = expect_tensor(c.call(x, t, reduction="none"), shape=x.shape)
        ref = F.mse_loss(x, t, reduction="none")
        if first_mismatch(out, ref, 1e-5, 1e-5) is not None:
            raise Fail(f"at +-1e4 ({dtype}) it returns {fmt(out.detach().reshape(-1)[0])}; "
                       f"F.mse_loss gives {fmt(ref.reshape(-1)[0])}", MSE_FORMULA)


def _mse_unchanged(c: Checker) -> None:
    x, t = _randn(5, 1, seed=7), _randn(5, 1, seed=8)
    copies = x.clone(), t.clone()
    c.call(x, t)
    if not (torch.equal(x, copies[0]) and torch.equal(t, copies[1])):
        raise Fail("it changes its arguments in place", "compute new tensors: "
                   "(input - target) ** 2, not input -= target")


def mse_loss(fn) -> None:
    """Check the student's ``mse_loss(input, target, reduction="mean")``: ``(input -
    target) ** 2`` reduced like ``F.mse_loss`` (mean by default, no 1/2), gradients w.r.t.
    both arguments, exact at +-1e4, an unknown reduction rejected with a ValueError that
    names it, built without ``F.mse_loss``/``nn.MSELoss``."""
    def build() -> Checker:
        c = Checker("mse_loss", fn, signature='mse_loss(input, target, reduction="mean")',
                    unavailable=("torch.nn.functional.mse_loss", "torch.nn.MSELoss",
                                 "labkit.mse_loss", "labkit.functional.mse_loss"),
                    elementary_fix="(input - target) ** 2 and .mean() / .sum()")
        c.run("values equal F.mse_loss for every reduction (float64)", _mse_values,
              essential=True)
        c.run("the default reduction is the mean", _mse_default)
        c.run("gradients w.r.t. input and target equal F.mse_loss's", _mse_gradient)
        c.run("exact at +-100 and +-1e4 (float32 and float64)", _mse_extremes)
        c.run("leaves its arguments unchanged", _mse_unchanged)
        c.run("an unknown reduction raises a ValueError that names it",
              bad_reduction_check(lambda: (_randn(4, 1, seed=11), _randn(4, 1, seed=12))))
        c.run("works without F.mse_loss / nn.MSELoss (elementary operations)",
              lambda c: c.check_elementary(lambda: (_randn(4, 1, seed=9),
                                                    _randn(4, 1, seed=10))))
        return c
    run_checker(build)


# ====================================================================== mlp

MLP_FORMULA = ("H = X.reshape(-1, params[0].shape[0]); for each hidden layer "
               "H = activation(H @ W + b); the last layer H @ W + b without activation")
LOOP_FIX = ("loop over the layers: for W, b in zip(params[0:-2:2], params[1:-2:2]): "
            "H = activation(H @ W + b); then return H @ params[-2] + params[-1]")


def _mlp_params(sizes, seed: int, dtype=F64) -> list[torch.Tensor]:
    params = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        params.append(_randn(fan_in, fan_out, seed=seed + 2 * i, scale=fan_in ** -0.5,
                             dtype=dtype))
        params.append(_randn(fan_out, seed=seed + 2 * i + 1, scale=0.5, dtype=dtype))
    return params


def _mlp_ref(X, params, activation, *, last=False, flatten=True, skip_bias=False):
    H = X.reshape(-1, params[0].shape[0]) if flatten else X
    layers = list(zip(params[0::2], params[1::2]))
    for i, (W, b) in enumerate(layers):
        H = H @ W + (0 if skip_bias else b)
        if i < len(layers) - 1 or last:
            H = activation(H)
    return H


def _mlp_case(sizes, seed, dtype=F64, image=False):
    params = _mlp_params(sizes, seed, dtype)
    if image:  # (N, 1, h, w) with h * w = sizes[0]
        side = int(round(sizes[0] ** 0.5))
        X = _randn(5, 1, side, side, seed=seed + 50, scale=2, dtype=dtype)
    else:
        X = _randn(5, sizes[0], seed=seed + 50, scale=2, dtype=dtype)
    return X, params


def _mlp_shapes(c: Checker) -> None:
    for sizes, image, dtype in (((16, 8, 3), True, F64), ((6, 5, 4), False, F32)):
        X, params = _mlp_case(sizes, 1, dtype, image)
        expect_tensor(c.call(X, params, torch.relu), shape=(5, sizes[-1]), dtype=dtype,
                      context=f"for X {tuple(X.shape)} and layer sizes {sizes}",
                      shape_fix="flatten X to (N, params[0].shape[0]) first, and use W as "
                                "(fan_in, fan_out): H @ W + b")


def _mlp_values(depth_sizes, activation, name):
    def check(c: Checker) -> None:
        X, params = _mlp_case(depth_sizes, 11, F64, image=True)
        out = expect_tensor(c.call(X, params, activation), shape=(5, depth_sizes[-1]))
        ref = _mlp_ref(X, params, activation)
        if first_mismatch(out, ref, RTOL, ATOL) is None:
            return
        _mlp_named_mistake(out, X, params, activation, name)
        i = first_mismatch(out, ref, RTOL, ATOL)
        raise Fail(f"with layer sizes {depth_sizes} and {name} it returns "
                   f"{fmt(out.detach().reshape(-1)[i])} where {fmt(ref.reshape(-1)[i])} is "
                   f"right", MLP_FORMULA)
    return check


def _mlp_named_mistake(out, X, params, activation, name: str, where: str = "") -> None:
    """Fail with the usual mistake that gives exactly ``out``, if one does."""
    wrong = [
        (_mlp_ref(X, params, activation, last=True), "the activation is applied to the "
         "output layer too: the network must return logits",
         "no activation after the last layer: return H @ W + b"),
        (_mlp_ref(X, params, activation, skip_bias=True), "the biases are missing",
         "H @ W + b in every layer"),
        (_mlp_ref(X, params, torch.relu), f"it uses relu whatever activation is passed "
         f"(here {name})", "call the activation argument: H = activation(H @ W + b)"),
        (_mlp_ref(X, params, lambda h: h), "no activation between the layers (the whole "
         "network is then one linear map)", "H = activation(H @ W + b) in each hidden "
         "layer"),
    ]
    for w, problem, fix in wrong:
        if w.shape == out.shape and first_mismatch(out, w, RTOL, ATOL) is None:
            raise Fail(problem + where, fix)


def _mlp_depths(c: Checker) -> None:
    for sizes in ((16, 3), (16, 6, 5, 3), (16, 7, 6, 5, 3)):
        X, params = _mlp_case(sizes, 21, F64, image=True)
        try:
            out = c.call(X, params, torch.tanh)
        except _StudentError as e:  # reported with the depth that broke it
            if isinstance(e.exc, NotImplementedError):
                raise
            raise Fail(f"with {len(sizes) - 2} hidden layers (sizes {sizes}) it raises "
                       f"{type(e.exc).__name__}: {str(e.exc)[:120]}", LOOP_FIX) from None
        expect_tensor(out, shape=(5, sizes[-1]),
                      context=f"with {len(sizes) - 2} hidden layers (sizes {sizes})",
                      shape_fix=LOOP_FIX)
        ref = _mlp_ref(X, params, torch.tanh)
        if first_mismatch(out, ref, RTOL, ATOL) is not None:
            _mlp_named_mistake(out, X, params, torch.tanh, "tanh",
                               f" (with {len(sizes) - 2} hidden layers, sizes {sizes})")
            raise Fail(f"with {len(sizes) - 2} hidden layers (sizes {sizes}) the logits are "
                       f"wrong", LOOP_FIX)


def _mlp_gradient(c: Checker) -> None:
    X, params = _mlp_case((16, 6, 5, 3), 31, F64, image=True)
    leaves = leaves_for([X, *params], list(range(1, len(params) + 1)))
    out = c.call(leaves[0], leaves[1:], torch.tanh)
    grads = vjp(c, out, leaves[1:])
    ref_out, refs = torch_vjp(lambda X, *p: _mlp_ref(X, list(p), torch.tanh), [X, *params],
                              list(range(1, len(params) + 1)))
    if out.shape != ref_out.shape or first_mismatch(out, ref_out, RTOL, ATOL) is not None:
        # wrong values give wrong gradients: the values' checks name the cause
        raise Skip()
    for i, (g, ref) in enumerate(zip(grads, refs)):
        j = first_mismatch(g, ref, RTOL, ATOL)
        if j is not None:
            raise Fail(f"the gradient w.r.t. params[{i}] is {fmt(g.reshape(-1)[j])} where "
                       f"{fmt(ref.reshape(-1)[j])} is right",
                       "compute every layer with torch operations on the parameters "
                       "themselves (no .detach(), .data or copies)")


def _mlp_unchanged(c: Checker) -> None:
    X, params = _mlp_case((16, 6, 3), 41, F64, image=True)
    copies = [X.clone()] + [p.clone() for p in params]
    given = list(params)
    c.call(X, given, torch.relu)
    if len(given) != len(params) or any(a is not b for a, b in zip(given, params)):
        raise Fail("it changes the params list (pops or replaces its entries)",
                   "read the list; never modify it")
    for name, a, before in zip(["X"] + [f"params[{i}]" for i in range(len(params))],
                               [X] + params, copies):
        if not torch.equal(a, before):
            raise Fail(f"it changes {name} in place", "compute new tensors: H = H @ W + b, "
                       "not H += b or X.resize_(...)")


def mlp(fn) -> None:
    """Check the student's ``mlp(X, params, activation)``: ``params = [W1, b1, ...,
    WL, bL]`` with ``W (fan_in, fan_out)``; ``X`` flattened to ``(N, W1.shape[0])``; each
    hidden layer ``activation(H @ W + b)``; the last layer linear (logits). Any depth (0 to
    3 hidden layers are tried), the activation argument used, gradients right."""
    def build() -> Checker:
        c = Checker("mlp", fn, signature="mlp(X, params, activation)",
                    unavailable=("torch.nn.functional.linear", "torch.nn.Linear",
                                 "torch.nn.Sequential", "labkit.MLPScratch", "labkit.MLP",
                                 "labkit.models.MLPScratch", "labkit.models.MLP"),
                    elementary_fix="the matrix product @, + and the activation argument",
                    error_fixes=[(r"cannot be multiplied|size mismatch",
                                  "flatten X to (N, params[0].shape[0]) and multiply "
                                  "H @ W with W of shape (fan_in, fan_out)")])
        c.run("returns logits (N, C) in the input's dtype (images are flattened)",
              _mlp_shapes, essential=True)
        c.run("values right with one ReLU hidden layer (float64)",
              _mlp_values((16, 8, 3), torch.relu, "relu"))
        c.run("values right with two tanh hidden layers: the activation argument is used",
              _mlp_values((16, 6, 5, 3), torch.tanh, "tanh"))
        c.run("any depth: 0, 2 and 3 hidden layers", _mlp_depths)
        c.run("gradients w.r.t. every parameter are right", _mlp_gradient)
        c.run("leaves X and params unchanged", _mlp_unchanged)
        c.run("works without nn.Linear / F.linear / lk.MLPScratch (elementary operations)",
              lambda c: c.check_elementary(lambda: (*_mlp_case((16, 6, 3), 51, F64, True),
                                                    torch.relu)))
        return c
    run_checker(build)


# ====================================================================== mlp_loss_and_grads

BACKWARD_SIGNATURE = "mlp_loss_and_grads(X, y, params)"
BACKWARD_FIX = ("backward, from the loss down: dZ = (softmax(Z) - one_hot(y)) / N for the "
                "logits Z; for each layer (last first) dW = H_in.T @ dZ, db = dZ.sum(0), "
                "dH_in = dZ @ W.T, and through a ReLU dZ_in = dH_in * (Z_in > 0)")


def _manual(X, y, params, *, mean=True, mask=True, onehot=True, sign=1.0):
    """The forward and backward pass by hand, with switches for the usual mistakes."""
    X = X.reshape(-1, params[0].shape[0])
    layers = list(zip(params[0::2], params[1::2]))
    inputs, pre = [X], []
    H = X
    for i, (W, b) in enumerate(layers):
        Z = H @ W + b
        pre.append(Z)
        if i < len(layers) - 1:
            H = torch.clamp(Z, min=0)
            inputs.append(H)
    n = X.shape[0]
    P = torch.softmax(Z, dim=1)
    Y = F.one_hot(y, Z.shape[1]).to(Z.dtype)
    loss = F.cross_entropy(Z, y)
    dZ = sign * (P - Y if onehot else P) / (n if mean else 1)
    grads = [None] * len(params)
    for i in range(len(layers) - 1, -1, -1):
        W, _ = layers[i]
        grads[2 * i] = inputs[i].T @ dZ
        grads[2 * i + 1] = dZ.sum(0)
        if i > 0:
            dH = dZ @ W.T
            dZ = dH * (pre[i - 1] > 0) if mask else dH
    return loss, grads


def _backward_case(hidden: int, seed: int):
    sizes = (5, 6, 4) if hidden == 1 else (5, 6, 3, 4)
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(8, sizes[0], generator=g, dtype=F64)
    y = torch.randint(0, sizes[-1], (8,), generator=g)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(torch.randn(fan_in, fan_out, generator=g, dtype=F64) * fan_in ** -0.5)
        params.append(torch.randn(fan_out, generator=g, dtype=F64) * 0.3)
    return X, y, params


def _call_backward(c: Checker, X, y, params):
    """The student's ``(loss, grads)``, checked for its form."""
    with torch.no_grad():
        result = c.call(X, y, [p.clone() for p in params])
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise Fail(f"it returns {describe_value(result)}",
                   "return a pair (loss, grads): the loss and a list of gradients")
    loss, grads = result
    if (isinstance(loss, (tuple, list)) and len(loss) == len(params)
            and (isinstance(grads, numbers.Real)
                 or isinstance(grads, torch.Tensor) and grads.numel() == 1)):
        raise Fail(f"it returns (grads, loss): the first entry is {describe_value(loss)}, "
                   f"the second {describe_value(grads)}",
                   "return them in the order (loss, grads): the loss first, then the list of "
                   "gradients")
    if isinstance(loss, torch.Tensor):
        if loss.numel() != 1:
            raise Fail(f"the loss has shape {tuple(loss.shape)}, not one number",
                       "average the per-example losses: .mean()")
        loss = float(loss.reshape(()))
    elif not isinstance(loss, numbers.Real):
        raise Fail(f"the loss is {describe_value(loss)}", "return the loss as a 0-d tensor")
    if not isinstance(grads, (tuple, list)) or len(grads) != len(params):
        n = len(grads) if isinstance(grads, (tuple, list)) else describe_value(grads)
        raise Fail(f"grads holds {n} entries for {len(params)} parameters",
                   "return one gradient per parameter, in the order of params: "
                   "[dW1, db1, dW2, db2, ...]")
    for i, (g, p) in enumerate(zip(grads, params)):
        if not isinstance(g, torch.Tensor):
            raise Fail(f"grads[{i}] is {describe_value(g)}", "each gradient is a tensor")
        if g.shape != p.shape:
            hint = ("dW = H_in.T @ dZ has the shape of W (fan_in, fan_out)" if p.dim() == 2
                    else "db = dZ.sum(dim=0) sums over the examples")
            raise Fail(f"grads[{i}] has shape {tuple(g.shape)}; params[{i}] has shape "
                       f"{tuple(p.shape)}", hint)
    return loss, [g.detach() for g in grads]


def _backward_form(c: Checker) -> None:
    X, y, params = _backward_case(c.hidden[0], 1)
    _call_backward(c, X, y, params)


def _backward_loss(c: Checker) -> None:
    for hidden in c.hidden:
        X, y, params = _backward_case(hidden, 2)
        loss, _ = _call_backward(c, X, y, params)
        ref = float(_manual(X, y, params)[0])
        if abs(loss - ref) <= RTOL * abs(ref) + ATOL:
            continue
        n = len(y)
        if abs(loss - ref * n) <= RTOL * abs(ref * n):
            raise Fail("the loss is summed over the batch", "average it: the mean of "
                       "-log softmax(Z)[i, y_i] over the N examples")
        raise Fail(f"with {hidden} hidden layer(s) the loss is {fmt(loss)}; the cross-entropy "
                   f"of the network's logits is {fmt(ref)}",
                   "loss = mean over the batch of -log_softmax(Z)[i, y[i]], Z the logits of "
                   "ReLU hidden layers and a linear last layer")


def _backward_grads(hidden: int):
    def check(c: Checker) -> None:
        X, y, params = _backward_case(hidden, 3 + hidden)
        _, grads = _call_backward(c, X, y, params)
        leaves = [p.clone().requires_grad_() for p in params]
        ref_loss = _manual(X, y, leaves)[0]
        refs = torch.autograd.grad(ref_loss, leaves)
        if all(first_mismatch(g, r, RTOL, ATOL) is None for g, r in zip(grads, refs)):
            return
        variants = [
            (dict(mean=False), "the gradients are N times too large: the loss is averaged "
             "over the batch, so dZ = (softmax(Z) - one_hot(y)) / N",
             "divide dZ by the batch size N"),
            (dict(mask=False), "the gradient does not stop at inactive ReLU units",
             "through a ReLU multiply by the mask of its input: dZ = dH * (Z > 0)"),
            (dict(onehot=False), "dZ is softmax(Z) / N: the one-hot of the true class is not "
             "subtracted", "dZ = (softmax(Z) - one_hot(y)) / N"),
            (dict(sign=-1.0), "every gradient has the wrong sign",
             "dZ = (softmax(Z) - one_hot(y)) / N, not one_hot(y) - softmax(Z)"),
        ]
        for kwargs, problem, fix in variants:
            wrong = _manual(X, y, params, **kwargs)[1]
            if all(first_mismatch(g, w, RTOL, ATOL) is None for g, w in zip(grads, wrong)):
                raise Fail(problem, fix)
        names = [f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}" for i in range(len(params))]
        wrong = [i for i, (g, r) in enumerate(zip(grads, refs))
                 if first_mismatch(g, r, RTOL, ATOL) is not None]
        n = len(y)
        if all(i % 2 == 1 and first_mismatch(grads[i] * n, refs[i], RTOL, ATOL) is None
               for i in wrong):
            biases = [names[i] for i in wrong]
            listed = (biases[0] if len(biases) == 1 else
                      ", ".join(biases[:-1]) + " and " + biases[-1])
            raise Fail(f"with {hidden} hidden layer(s), d loss / d b is N times too small "
                       f"({listed}; N = {n} examples): the biases' gradients are averaged "
                       f"over the batch (dZ.mean(0) instead of dZ.sum(0))",
                       "sum dZ over the batch (dim 0), the 1/N is already in dZ: "
                       "db = dZ.sum(dim=0)")
        first = wrong[0]
        j = first_mismatch(grads[first], refs[first], RTOL, ATOL)
        right = [names[i] for i, (g, r) in enumerate(zip(grads, refs))
                 if first_mismatch(g, r, RTOL, ATOL) is None]
        extra = f" ({', '.join(right)} right)" if right else ""
        transposed = (params[first].dim() == 2 and grads[first].shape[0] == grads[first].shape[1]
                      and first_mismatch(grads[first].T, refs[first], RTOL, ATOL) is None)
        raise Fail(f"with {hidden} hidden layer(s), d loss / d {names[first]} is "
                   f"{fmt(grads[first].reshape(-1)[j])} where autograd gives "
                   f"{fmt(refs[first].reshape(-1)[j])}{extra}"
                   + ("; it is the transpose of the right one" if transposed else ""),
                   BACKWARD_FIX)
    return check


STABLE_FIX = ("subtract each row's maximum before exp: shifted = Z - Z.max(dim=1, "
              "keepdim=True).values, then log_softmax = shifted - "
              "torch.log(torch.exp(shifted).sum(dim=1, keepdim=True)); the softmax and the "
              "loss do not change, and exp only sees numbers <= 0")
SHIFT = 1000.0  # added to every logit: exp(1000) overflows float64, softmax does not change


def _backward_stable(c: Checker) -> None:
    """Logits of about +-1000 (the last bias shifted): the same loss and gradients as without
    the shift, where exp(logit) overflows (or underflows to 0 everywhere). One depth is
    enough: only the softmax sees the shift."""
    for hidden in c.hidden[:1]:
        X, y, params = _backward_case(hidden, 9)
        ref_loss, refs = _manual(X, y, params)
        for shift in (SHIFT, -SHIFT):
            shifted = [p.clone() for p in params]
            shifted[-1] = shifted[-1] + shift
            loss, grads = _call_backward(c, X, y, shifted)
            finite = loss == loss and abs(loss) != float("inf") and all(
                bool(torch.isfinite(g).all()) for g in grads)
            where = (f"with {hidden} hidden layer(s) and logits of about {fmt(shift)} (the "
                     f"last bias shifted by {fmt(shift)}, which changes no probability)")
            if not finite:
                raise Fail(f"{where} the loss or the gradients are nan or inf: "
                           + ("exp(logits) overflows to inf" if shift > 0 else
                              "exp(logits) underflows to 0 in every entry (0 / 0)"),
                           STABLE_FIX)
            right = (abs(loss - float(ref_loss)) <= RTOL * abs(float(ref_loss)) + ATOL
                     and all(first_mismatch(g, r, RTOL, ATOL) is None
                             for g, r in zip(grads, refs)))
            if right:
                continue
            # right without the shift? Then only the large logits break it
            loss0, grads0 = _call_backward(c, X, y, params)
            if (abs(loss0 - float(ref_loss)) <= RTOL * abs(float(ref_loss)) + ATOL
                    and all(first_mismatch(g, r, RTOL, ATOL) is None
                            for g, r in zip(grads0, refs))):
                raise Fail(f"{where} the loss is {fmt(loss)} and the gradients differ, "
                           f"where the loss is {fmt(float(ref_loss))} as without the shift",
                           STABLE_FIX)


def _backward_unchanged(c: Checker) -> None:
    X, y, params = _backward_case(c.hidden[0], 7)
    copies = [p.clone() for p in params]
    given = [p.clone() for p in params]
    with torch.no_grad():
        c.call(X, y, given)
    if any(not torch.equal(a, b) for a, b in zip(given, copies)):
        raise Fail("it changes the parameters (a gradient step belongs to the optimizer, "
                   "not here)", "only compute and return (loss, grads)")


RELU_STAND_IN_NOTE = (" (checked with a correct relu() in place of yours, which fails "
                      "lk.check.relu: fix it there, or your network will not train)")


def _correct_relu(input: torch.Tensor) -> torch.Tensor:
    """max(x, 0): stands in for a notebook's relu that fails lk.check.relu."""
    return input.clamp(min=0)


def mlp_loss_and_grads(fn, hidden_layers: int | tuple[int, ...] = (1, 2)) -> None:
    """Check the student's ``mlp_loss_and_grads(X, y, params)``: the loss (softmax
    cross-entropy averaged over the batch) and its gradients w.r.t. every parameter of a
    network with ReLU hidden layers, computed by hand, against autograd in float64; the
    usual mistakes (no 1/N, no ReLU mask, no one-hot, a transposed dW, db averaged instead
    of summed, exp of unshifted logits) named. It must not
    use autograd: ``torch.Tensor.backward`` and ``torch.autograd.grad`` are unavailable
    while it runs.

    It usually calls the notebook's ``relu``: if that one fails ``lk.check.relu``, a correct
    one stands in for it during the check (``labkit.check._core.stand_in``), so that its bug
    costs the points of its own cell and not this one's; the verdict says so.

    Args:
        hidden_layers: the depths the notebook asks for: 1, 2, or both (default).
    """
    given = hidden_layers
    if isinstance(hidden_layers, int) and not isinstance(hidden_layers, bool):
        hidden_layers = (hidden_layers,)
    if (not isinstance(hidden_layers, tuple) or not hidden_layers
            or any(h not in (1, 2) or isinstance(h, bool) for h in hidden_layers)):
        raise ValueError(f"hidden_layers must be 1, 2 or (1, 2), got {given!r}")

    def build() -> Checker:
        c = Checker("mlp_loss_and_grads", fn, signature=BACKWARD_SIGNATURE,
                    unavailable=("torch.Tensor.backward", "torch.autograd.backward",
                                 "torch.autograd.grad", "torch.func.grad",
                                 "torch.func.vjp", "torch.func.jacrev"),
                    elementary_fix="compute every gradient with matrix products by hand: "
                                   + BACKWARD_FIX,
                    error_fixes=[(r"does not require grad|does not have a grad_fn",
                                  "compute the gradients by hand, without backward(): "
                                  "autograd is what they are checked against"),
                                 (r"cannot be multiplied|must match the size",
                                  BACKWARD_FIX)])
        c.hidden = hidden_layers
        c.run("returns (loss, grads), one gradient per parameter with its shape",
              _backward_form, essential=True)
        c.run("the loss is the mean softmax cross-entropy of the logits", _backward_loss)
        for hidden in hidden_layers:
            c.run(f"gradients equal autograd's with {hidden} hidden layer(s) (float64)",
                  _backward_grads(hidden))
        c.run("stable: the same loss and gradients with logits of about +-1000",
              _backward_stable)
        c.run("leaves the parameters unchanged", _backward_unchanged)
        c.run("works without autograd (backward, torch.autograd.grad)",
              lambda c: c.check_elementary(lambda: _backward_case(hidden_layers[0], 8)))
        c.note = RELU_STAND_IN_NOTE if replaced else ""
        return c
    with stand_in(fn, "relu", lambda helper: quiet_passes(check_relu, helper),
                  lambda helper: _correct_relu) as replaced:
        run_checker(build)
