"""Notebook 08's instructor edition against labkit, as tests/test_lab2_06_solutions.py does for
06: every solution cell (dropout, the network with nn.Dropout, the L2 penalty, the SGD with
weight decay on the weights only, the k folds) is exec'd from the notebook and agrees with
labkit's reference (``lk.dropout``, ``lk.MLP(dropout=p)``, ``lk.SGD``, ``lk.kfold_indices``);
the functions graded by ``lk.check`` pass their checkers; the graded cells follow the lab-2
contract (12 points checked automatically, 10 by hand)."""

from __future__ import annotations

import copy

import grading
import pytest
import torch
from torch import nn

import labkit as lk

NOTEBOOK = (grading.REPO / "notebooks" / "lab2"
            / "08_regularization_and_model_selection.ipynb")

# the solution cells of notebook 08, in the notebook's order, and the points of their tests
FUNCTIONS = {"dropout": 3, "mlp_with_dropout": 2, "l2_penalty": 2, "sgd_with_weight_decay": 2,
             "kfold_indices": 3}
CHECKED = ("dropout", "kfold_indices")  # graded by lk.check; the others by asserts
ANSWERS = {"08-answer-scaling": 2, "08-answer-gap": 3, "08-answer-test-set": 2,
           "08-answer-spread": 3}


@pytest.fixture(scope="module")
def ns() -> dict:
    return grading.solution_namespace(NOTEBOOK, FUNCTIONS,
                                      {"torch": torch, "nn": nn, "lk": lk})


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_every_exercise_has_one_solution_cell_in_order():
    assert list(grading.solution_sources(NOTEBOOK, FUNCTIONS)) == list(FUNCTIONS)


def test_graded_cells_follow_the_contract():
    grading.assert_graded_cells_follow_the_contract(NOTEBOOK, FUNCTIONS, CHECKED, ANSWERS,
                                                    "08-test-")
    assert sum(FUNCTIONS.values()) == 12 and sum(ANSWERS.values()) == 10


@pytest.mark.parametrize("name", CHECKED)
def test_solution_passes_its_checker(ns, name):
    grading.assert_passes_checker(getattr(lk.check, name), ns[name])


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.8])
def test_dropout_is_lk_dropout(ns, p):
    """The same mask from the same global random state, the same gradient, identity in eval
    mode."""
    x = (torch.rand(50, 40, generator=_gen(0), dtype=torch.float64) + 0.1)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    torch.manual_seed(1)
    ours = ns["dropout"](a, p)
    torch.manual_seed(1)
    theirs = lk.dropout(b, p)
    torch.testing.assert_close(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    torch.testing.assert_close(a.grad, b.grad)
    assert torch.equal(ns["dropout"](x, p, training=False), x)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError):
            ns["dropout"](x, bad)


@pytest.mark.parametrize("hiddens, p", [((), 0.5), ((32,), 0.0), ((32,), 0.3),
                                        ((16, 8), 0.5)])
def test_mlp_with_dropout_is_lk_mlp(ns, hiddens, p):
    """lk.MLP(..., dropout=p)'s layers (lk.MLP leaves out a dropout of p = 0, which does
    nothing); with its weights the same outputs in eval mode, and in training mode the same
    masks from the same global random state."""
    torch.manual_seed(0)
    net = ns["mlp_with_dropout"](784, hiddens, 10, p)
    reference = lk.MLP(784, hiddens, 10, "relu", dropout=p, generator=_gen(2))
    assert [m.p for m in net if isinstance(m, nn.Dropout)] == [p] * len(hiddens)
    layers = [type(m) for m in net if not (isinstance(m, nn.Dropout) and m.p == 0)]
    assert layers == [type(m) for m in reference]
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert len(linears) == len(reference.linears)
    with torch.no_grad():
        for ours, theirs in zip(linears, reference.linears):
            ours.weight.copy_(theirs.weight)
            ours.bias.copy_(theirs.bias)
    images = torch.rand(6, 1, 28, 28, generator=_gen(3))
    net.eval()
    reference.eval()
    torch.testing.assert_close(net(images), reference(images))
    net.train()
    reference.train()
    torch.manual_seed(4)
    ours = net(images)
    torch.manual_seed(4)
    torch.testing.assert_close(ours, reference(images))


def test_l2_penalty_in_the_loss_is_weight_decay_in_lk_sgd(ns):
    """The penalty's value and gradient, and 5 steps of lk.SGD on loss + penalty equal 5 steps
    of lk.SGD(weight_decay=...) on the loss alone (the weights decayed, the biases not)."""
    g = _gen(5)
    weights = [torch.randn(4, 3, generator=g, dtype=torch.float64),
               torch.randn(3, 2, generator=g, dtype=torch.float64)]
    penalty = ns["l2_penalty"]([w.requires_grad_() for w in weights], 0.3)
    torch.testing.assert_close(penalty, 0.15 * sum((w.detach() ** 2).sum() for w in weights))
    penalty.backward()
    for w in weights:
        torch.testing.assert_close(w.grad, 0.3 * w.detach())

    torch.manual_seed(6)
    net_a = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    net_b = copy.deepcopy(net_a)
    X = torch.randn(16, 5, generator=g, dtype=torch.float64)
    y = torch.randn(16, 2, generator=g, dtype=torch.float64)
    opt_a = lk.SGD(net_a.parameters(), lr=0.1)
    opt_b_w = lk.SGD([m.weight for m in net_b if isinstance(m, nn.Linear)], lr=0.1,
                     weight_decay=0.2)
    opt_b_b = lk.SGD([m.bias for m in net_b if isinstance(m, nn.Linear)], lr=0.1)
    for _ in range(5):
        for opt in (opt_a, opt_b_w, opt_b_b):
            opt.zero_grad()
        weights_a = [m.weight for m in net_a if isinstance(m, nn.Linear)]
        loss_a = ((net_a(X) - y) ** 2).mean() + ns["l2_penalty"](weights_a, 0.2)
        loss_a.backward()
        ((net_b(X) - y) ** 2).mean().backward()
        for opt in (opt_a, opt_b_w, opt_b_b):
            opt.step()
    for p, q in zip(net_a.parameters(), net_b.parameters()):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_with_weight_decay_is_lk_sgd_on_the_weights_only(ns, momentum):
    torch.manual_seed(7)
    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Dropout(0.0),
                        nn.Linear(5, 3))
    twin = copy.deepcopy(net)
    ours = ns["sgd_with_weight_decay"](net, 0.05, weight_decay=0.1, momentum=momentum)
    assert isinstance(ours, torch.optim.SGD)
    named = dict(twin.named_parameters())
    theirs = [lk.SGD([p for n, p in named.items() if n.endswith("weight")], lr=0.05,
                     momentum=momentum, weight_decay=0.1),
              lk.SGD([p for n, p in named.items() if not n.endswith("weight")], lr=0.05,
                     momentum=momentum)]
    g = _gen(8)
    X, y = torch.randn(12, 6, generator=g), torch.randint(0, 3, (12,), generator=g)
    for _ in range(6):
        ours.zero_grad()
        for opt in theirs:
            opt.zero_grad()
        nn.functional.cross_entropy(net(X), y).backward()
        nn.functional.cross_entropy(twin(X), y).backward()
        ours.step()
        for opt in theirs:
            opt.step()
    for p, q in zip(net.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("n, k, seed", [(12, 4, 0), (1000, 10, 0), (23, 5, 3), (10, 10, 1)])
def test_kfold_indices_is_lk_kfold_indices(ns, n, k, seed):
    ours = ns["kfold_indices"](n, k, seed=seed)
    theirs = lk.kfold_indices(n, k, seed=seed)
    assert len(ours) == len(theirs) == k
    for (train, val), (train_ref, val_ref) in zip(ours, theirs):
        assert torch.equal(torch.as_tensor(train).sort().values, train_ref)
        assert torch.equal(torch.as_tensor(val).sort().values, val_ref)
