"""Notebook 06's instructor edition against labkit: every function the student writes is exec'd
from its solution cell, passes its checker, and agrees with labkit's own function (the teaching
version and the robust reference must not diverge); the graded cells follow the lab-2 contract
(one checker per test cell, grade ids prefixed 06, 13 points checked automatically and 7 by
hand)."""

from __future__ import annotations

import json
from pathlib import Path

import grading
import pytest
import torch
import torch.nn.functional as F

import labkit as lk

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "lab2" / "06_mlp_scratch.ipynb"

# the contract's functions of notebook 06 (LAB2_CONTRACT.md), in the notebook's order, and the
# points of their test cells
FUNCTIONS = {"relu": 1, "leaky_relu": 1, "tanh": 2, "elu": 2, "mlp": 2, "mse_loss": 1,
             "mlp_loss_and_grads": 4}
ANSWERS = {"06-answer-linear": 2, "06-answer-curves": 3, "06-answer-gradcheck": 2}


def cells() -> list[dict]:
    with open(NOTEBOOK, encoding="utf-8") as f:
        return json.load(f)["cells"]


def solution_cells() -> dict[str, str]:
    """``{function name: source}`` of the solution code cells, in notebook order."""
    found = {}
    for cell in cells():
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] != "code" or not meta.get("solution"):
            continue
        source = "".join(cell["source"])
        names = [name for name in FUNCTIONS if f"def {name}(" in source]
        assert len(names) == 1, f"a solution cell must define exactly one function: {names}"
        assert names[0] not in found, f"two solution cells define {names[0]}"
        found[names[0]] = source
    return found


@pytest.fixture(scope="module")
def ns() -> dict:
    """The solutions exec'd in order into one namespace, as the notebook runs them
    (mlp_loss_and_grads uses the notebook's relu)."""
    namespace: dict = {"torch": torch, "lk": lk, "F": F}
    for name, source in solution_cells().items():
        exec(compile(source, f"<06:{name}>", "exec"), namespace)
    return namespace


def test_every_function_has_one_solution_cell_in_order():
    assert list(solution_cells()) == list(FUNCTIONS)


def test_graded_cells_follow_the_contract():
    tests, answers, ids = {}, {}, []
    for cell in cells():
        meta = cell["metadata"].get("nbgrader", {})
        if "grade_id" in meta:
            ids.append(meta["grade_id"])
            assert meta["grade_id"].startswith("06-"), meta["grade_id"]
        if not meta.get("grade"):
            continue
        if meta.get("solution"):
            assert cell["cell_type"] == "markdown"
            answers[meta["grade_id"]] = meta["points"]
        else:
            source = "".join(cell["source"]).strip()
            assert meta["locked"], f"{meta['grade_id']} must be locked"
            name = source.removeprefix("lk.check.").split("(", 1)[0]
            assert source == f"lk.check.{name}({name})", f"{meta['grade_id']}: {source!r}"
            assert meta["grade_id"] == "06-test-" + name.replace("_", "-")
            tests[name] = meta["points"]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    assert tests == FUNCTIONS
    assert answers == ANSWERS
    assert sum(tests.values()) == 13 and sum(answers.values()) == 7


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_solution_passes_its_checker(ns, name):
    grading.assert_passes_checker(getattr(lk.check, name), ns[name])


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_activations_and_mse_agree_with_labkit(ns):
    g = _gen(0)
    for scale in (1.0, 30.0, 1e4):
        x = (torch.randn(50, generator=g, dtype=torch.float64) * scale).requires_grad_()
        for name, ours, theirs in (
                ("relu", ns["relu"], lk.relu),
                ("leaky_relu", lambda t: ns["leaky_relu"](t, 0.2), lambda t: lk.leaky_relu(t, 0.2)),
                ("tanh", ns["tanh"], lk.tanh),
                ("elu", lambda t: ns["elu"](t, 0.5), lambda t: lk.elu(t, 0.5))):
            a, b = ours(x), theirs(x)
            torch.testing.assert_close(a, b, msg=name)
            ga, = torch.autograd.grad(a.sum(), x)
            gb, = torch.autograd.grad(b.sum(), x)
            torch.testing.assert_close(ga, gb, msg=f"{name}'s gradient")
    y_hat, y = torch.randn(20, 1, generator=g), torch.randn(20, 1, generator=g)
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(ns["mse_loss"](y_hat, y, reduction=reduction),
                                   lk.mse_loss(y_hat, y, reduction=reduction))
    with pytest.raises(ValueError, match="reduction"):
        ns["mse_loss"](y_hat, y, reduction="avg")


@pytest.mark.parametrize("hiddens, activation",
                         [((), "relu"), ((32,), "relu"), ((16, 8), "tanh"), ((8, 8, 8), "elu")])
def test_mlp_agrees_with_mlpscratch(ns, hiddens, activation):
    net = lk.MLPScratch(784, hiddens, 10, activation=activation, generator=_gen(1))
    X = torch.rand(6, 1, 28, 28, generator=_gen(2))
    torch.testing.assert_close(ns["mlp"](X, net.parameters(), ns[activation]), net(X))


@pytest.mark.parametrize("hiddens", [(16,), (16, 12), (8, 8, 8)])
def test_backward_by_hand_agrees_with_autograd_at_any_depth(ns, hiddens):
    net = lk.MLPScratch(20, hiddens, 5, generator=_gen(3))
    params = [p.detach().double() for p in net.parameters()]
    X = torch.randn(9, 20, generator=_gen(4), dtype=torch.float64)
    y = torch.randint(0, 5, (9,), generator=_gen(5))
    loss, grads = ns["mlp_loss_and_grads"](X, y, params)
    leaves = [p.clone().requires_grad_() for p in params]
    reference = lk.cross_entropy(lk.MLPScratch.forward(_with_params(net, leaves), X), y)
    refs = torch.autograd.grad(reference, leaves)
    torch.testing.assert_close(loss, reference.detach())
    for g, r in zip(grads, refs):
        torch.testing.assert_close(g, r)


def _with_params(net: lk.MLPScratch, params: list[torch.Tensor]) -> lk.MLPScratch:
    """``net`` with its weights replaced by ``params`` (float64 leaves)."""
    net.W, net.b = list(params[0::2]), list(params[1::2])
    return net
