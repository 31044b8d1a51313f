"""The instructor edition's solutions of lab 1 against labkit: every function a student writes
in notebooks 02 and 04 is exec'd from its solution cell, passes its checker, and agrees with
labkit's own function on random inputs (the teaching version and the robust reference must
not diverge)."""

from __future__ import annotations

import json
from pathlib import Path

import grading
import pytest
import torch
import torch.nn.functional as F

import labkit as lk

REPO = Path(__file__).resolve().parents[1]
LAB1 = REPO / "notebooks" / "lab1"

# the contract's functions, per notebook (LAB1_CONTRACT.md)
FUNCTIONS = {
    "02_logistic_regression_scratch": [
        "make_logistic_data", "data_iter", "sigmoid", "logistic_regression",
        "binary_cross_entropy", "binary_cross_entropy_with_logits", "sgd", "accuracy",
        "train_epoch"],
    "04_softmax_regression_scratch": [
        "softmax", "log_softmax", "softmax_regression", "cross_entropy", "accuracy",
        "evaluate_accuracy", "train_epoch"],
}


def solution_cells(notebook: str) -> dict[str, str]:
    """``{function name: source}`` of the solution cells that define a contract function."""
    with open(LAB1 / f"{notebook}.ipynb", encoding="utf-8") as f:
        nb = json.load(f)
    found = {}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or not meta.get("solution"):
            continue
        for name in FUNCTIONS[notebook]:
            if f"def {name}(" in source:
                assert name not in found, f"{notebook}: two solution cells define {name}"
                found[name] = source
    return found


def namespace(notebook: str) -> dict:
    """The notebook's solution functions, each exec'd in order into one namespace (as the
    notebook runs them: later functions may call earlier ones)."""
    ns: dict = {"torch": torch, "lk": lk, "F": F, "nn": torch.nn}
    for name, source in solution_cells(notebook).items():
        exec(compile(source, f"<{notebook}:{name}>", "exec"), ns)
        assert callable(ns.get(name)), f"{notebook}: the solution cell does not define {name}"
    return ns


@pytest.mark.parametrize("notebook", list(FUNCTIONS))
def test_every_contract_function_has_one_solution_cell(notebook):
    assert sorted(solution_cells(notebook)) == sorted(FUNCTIONS[notebook])


CASES = [(nb, name) for nb, names in FUNCTIONS.items() for name in names]


@pytest.mark.parametrize("notebook, name", CASES, ids=[f"{nb[:2]}-{n}" for nb, n in CASES])
def test_solution_passes_its_checker(notebook, name):
    fn = namespace(notebook)[name]
    kwargs = {"binary": True} if (name == "accuracy" and notebook.startswith("02")) else {}
    grading.assert_passes_checker(getattr(lk.check, name), fn, **kwargs)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _close(a, b, **kw):
    torch.testing.assert_close(a, b, rtol=kw.get("rtol", 1e-6), atol=kw.get("atol", 1e-7))


def test_02_agrees_with_labkit():
    ns = namespace("02_logistic_regression_scratch")
    g = _gen(0)
    for trial in range(5):
        x = torch.randn(40, generator=g, dtype=torch.float64) * 10 ** trial
        _close(ns["sigmoid"](x), lk.sigmoid(x))
        p = torch.rand(40, generator=g, dtype=torch.float64)
        p[:3] = torch.tensor([0.0, 1.0, 1e-60], dtype=torch.float64)
        t = (torch.rand(40, generator=g) > 0.5).double()
        for reduction in ("mean", "sum", "none"):
            _close(ns["binary_cross_entropy"](p, t, reduction=reduction),
                   lk.binary_cross_entropy(p, t, reduction=reduction))
            _close(ns["binary_cross_entropy_with_logits"](x, t, reduction=reduction),
                   lk.binary_cross_entropy_with_logits(x, t, reduction=reduction))
        X = torch.randn(30, 3, generator=g)
        w, b = torch.randn(3, generator=g), torch.randn((), generator=g)
        net = lk.LogisticRegressionScratch(3)
        net.w, net.b = w, b
        _close(ns["logistic_regression"](X, w, b), net(X))
        y = (torch.rand(30, generator=g) > 0.5).float()
        assert int(ns["accuracy"](X @ w + b, y)) == lk.accuracy(X @ w + b, y)

    # sgd: one step from the same gradients
    params = [torch.randn(3, generator=g).requires_grad_(), torch.zeros(()).requires_grad_()]
    twins = [p.detach().clone().requires_grad_() for p in params]
    for ps, step in ((params, ns["sgd"]), (twins, lk.sgd)):
        (X[:5] @ ps[0] + ps[1]).pow(2).sum().backward()
        step(ps, 0.1, 5)
    for p, q in zip(params, twins):
        _close(p.detach(), q.detach())
        assert p.grad is None or not p.grad.any()

    # make_logistic_data: the same labelling rule as labkit's (noise 0) on its own X
    X, y = ns["make_logistic_data"](500, torch.tensor([1.9, -3.1]), -0.6, 0.0,
                                    generator=_gen(1))
    assert torch.equal(y, (torch.sigmoid(X.double() @ torch.tensor([1.9, -3.1]).double() - 0.6)
                           >= 0.5).float())
    _, y_lk = lk.make_logistic_data(500, (1.9, -3.1), -0.6, 0.0, seed=1)
    assert abs(y.mean() - y_lk.mean()) < 0.08  # about 14% positives either way

    # data_iter: the same batches as labkit's from the same generator state
    X, y = torch.arange(46.0).reshape(23, 2), torch.arange(23.0)
    ours = [tuple(b) for b in ns["data_iter"](5, X, y, generator=_gen(2))]
    theirs = [tuple(b) for b in lk.data_iter(5, X, y, generator=_gen(2))]
    assert [len(b[1]) for b in ours] == [len(b[1]) for b in theirs] == [5, 5, 5, 5, 3]
    assert sorted(torch.cat([b[1] for b in ours]).tolist()) == list(range(23))

    # train_epoch: the same epoch as labkit's (same model, batches, loss and updater)
    _same_epoch(ns["train_epoch"], binary=True)


def _same_epoch(train_epoch, binary: bool) -> None:
    g = _gen(3)
    X = torch.randn(50, 4, generator=g)
    y = ((torch.rand(50, generator=g) > 0.5).float() if binary
         else torch.randint(0, 3, (50,), generator=g))
    batches = [(X[i:i + 16], y[i:i + 16]) for i in range(0, 50, 16)]
    shape = (4,) if binary else (4, 3)
    start = [torch.randn(shape, generator=g) * 0.1, torch.zeros(() if binary else (3,))]
    results = []
    for fn in (train_epoch, lk.train_epoch):
        W, b = (t.clone().requires_grad_() for t in start)

        def loss(y_hat, y):
            if binary:
                return F.binary_cross_entropy_with_logits(y_hat, y, reduction="none")
            return F.cross_entropy(y_hat, y, reduction="none")

        stats = fn(lambda X, W=W, b=b: X @ W + b, batches, loss,
                   lambda n, W=W, b=b: lk.sgd([W, b], 0.3, n))
        results.append((stats, W.detach(), b.detach()))
    (ours, W1, b1), (theirs, W2, b2) = results
    assert ours[0] == pytest.approx(theirs[0], rel=1e-6)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-9)
    _close(W1, W2)
    _close(b1, b2)


def test_04_agrees_with_labkit():
    ns = namespace("04_softmax_regression_scratch")
    g = _gen(4)
    for scale in (1.0, 10.0, 100.0, 1e4):
        X = torch.randn(8, 5, generator=g, dtype=torch.float64) * scale
        _close(ns["softmax"](X), lk.softmax(X, dim=1))
        _close(ns["log_softmax"](X), lk.log_softmax(X, dim=1))
        y = torch.randint(0, 5, (8,), generator=g)
        for reduction in ("mean", "sum", "none"):
            _close(ns["cross_entropy"](X, y, reduction=reduction),
                   lk.cross_entropy(X, y, reduction=reduction))
        assert int(ns["accuracy"](X, y)) == lk.accuracy(X, y)
    images = torch.randn(6, 1, 28, 28, generator=g)
    net = lk.SoftmaxRegressionScratch(784, 10)
    W, b = torch.randn(784, 10, generator=g) * 0.01, torch.randn(10, generator=g)
    net.W, net.b = W, b
    _close(ns["softmax_regression"](images, W, b), net(images), atol=1e-5)
    batches = [(torch.randn(n, 3, generator=g), torch.randint(0, 3, (n,), generator=g))
               for n in (7, 7, 3)]
    model = torch.nn.Linear(3, 3)
    assert ns["evaluate_accuracy"](model, batches) == pytest.approx(
        lk.evaluate_accuracy(model, batches))
    _same_epoch(ns["train_epoch"], binary=False)
