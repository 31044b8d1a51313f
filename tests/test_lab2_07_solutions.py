"""Notebook 07's instructor edition against labkit, as tests/test_lab2_06_solutions.py does for
06: every solution cell (the torch.nn network, losses, optimizer factory and loops, and the
three optimizers by hand) is exec'd from the notebook and agrees with labkit's reference
(``lk.MLP``, labkit's losses, ``lk.train_epoch``, ``lk.evaluate``, ``lk.SGD``, ``lk.RMSprop``,
``lk.Adam``); the hand-written optimizers pass their checkers; the graded cells follow the
lab-2 contract (19 points checked automatically, 12 by hand)."""

from __future__ import annotations

import grading
import pytest
import torch
from torch import nn

import labkit as lk

NOTEBOOK = grading.REPO / "notebooks" / "lab2" / "07_mlp_nn.ipynb"

# the solution cells of notebook 07, in the notebook's order, and the points of their tests
FUNCTIONS = {"mlp_nn": 3, "losses": 2, "make_optimizer": 2, "train_epoch_nn": 3,
             "evaluate_loss": 2, "sgd_momentum": 2, "rmsprop": 2, "adam": 3}
CHECKED = ("sgd_momentum", "rmsprop", "adam")  # graded by lk.check; the others by asserts
ANSWERS = {"07-answer-tasks": 2, "07-answer-activations": 2, "07-answer-vanishing": 3,
           "07-answer-depth-width": 2, "07-answer-optimizers": 3}
ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh, "elu": nn.ELU,
               "sigmoid": nn.Sigmoid}


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
                                                    "07-test-")
    assert sum(FUNCTIONS.values()) == 19 and sum(ANSWERS.values()) == 12


@pytest.mark.parametrize("name", CHECKED)
def test_hand_written_optimizer_passes_its_checker(ns, name):
    grading.assert_passes_checker(getattr(lk.check, name), ns[name])


@pytest.mark.parametrize("hiddens, activation", [((), "relu"), ((32,), "relu"),
                                                 ((16, 8), "tanh"), ((8, 8, 8), "elu"),
                                                 ((12,), "leaky_relu"), ((6, 6), "sigmoid")])
def test_mlp_nn_is_lk_mlp(ns, hiddens, activation):
    """The same layers as lk.MLP, and with its weights the same outputs and gradients."""
    torch.manual_seed(0)
    net = ns["mlp_nn"](784, hiddens, 10, ACTIVATIONS[activation])
    reference = lk.MLP(784, hiddens, 10, activation, generator=_gen(1))
    assert [type(m) for m in net] == [type(m) for m in reference]
    net.load_state_dict(reference.state_dict())
    images = torch.rand(6, 1, 28, 28, generator=_gen(2))
    for X in (images, images.reshape(6, 784)):
        torch.testing.assert_close(net(X), reference(X))
    net(images).square().sum().backward()
    reference(images).square().sum().backward()
    for p, q in zip(net.parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def test_losses_are_labkits(ns):
    """Forward and backward in float64, on ordinary and extreme outputs."""
    losses = ns["losses"]
    references = {"regression": lk.mse_loss, "binary": lk.binary_cross_entropy_with_logits,
                  "multiclass": lk.cross_entropy}
    assert set(losses) == set(references)
    g = _gen(3)
    for scale in (1.0, 100.0, 1e4):
        cases = {
            "regression": (torch.randn(9, 1, generator=g, dtype=torch.float64) * scale,
                           torch.randn(9, 1, generator=g, dtype=torch.float64)),
            "binary": (torch.randn(9, 1, generator=g, dtype=torch.float64) * scale,
                       torch.randint(0, 2, (9, 1), generator=g).double()),
            "multiclass": (torch.randn(9, 10, generator=g, dtype=torch.float64) * scale,
                           torch.randint(0, 10, (9,), generator=g)),
        }
        for task, (y_hat, y) in cases.items():
            a, b = y_hat.clone().requires_grad_(), y_hat.clone().requires_grad_()
            ours, theirs = losses[task](a, y), references[task](b, y)
            torch.testing.assert_close(ours, theirs, msg=f"{task} at scale {scale}")
            ours.backward()
            theirs.backward()
            torch.testing.assert_close(a.grad, b.grad, msg=f"{task}'s gradient at scale {scale}")


def _steps(make, start: list[torch.Tensor], num_steps: int = 6) -> list[torch.Tensor]:
    """``num_steps`` steps of the optimizer ``make(params)`` on a fixed smooth loss, from
    ``start``; returns the parameters."""
    params = [p.clone().requires_grad_() for p in start]
    optimizer = make(params)
    target = torch.linspace(-1, 1, start[0].numel(), dtype=start[0].dtype)
    for _ in range(num_steps):
        optimizer.zero_grad()
        loss = ((params[0].flatten() - target) ** 4).sum() + (params[1] ** 2).sum()
        loss.backward()
        optimizer.step()
    return [p.detach() for p in params]


def _start() -> list[torch.Tensor]:
    g = _gen(4)
    return [torch.randn(3, 4, generator=g, dtype=torch.float64),
            torch.randn(4, generator=g, dtype=torch.float64)]


@pytest.mark.parametrize("name, reference", [
    ("sgd", lambda ps: lk.SGD(ps, lr=0.05)),
    ("momentum", lambda ps: lk.SGD(ps, lr=0.05, momentum=0.9)),
    ("rmsprop", lambda ps: lk.RMSprop(ps, lr=0.05)),
    ("adam", lambda ps: lk.Adam(ps, lr=0.05)),
])
def test_make_optimizer_steps_like_labkits_optimizer(ns, name, reference):
    ours = _steps(lambda ps: ns["make_optimizer"](name, ps, 0.05), _start())
    theirs = _steps(reference, _start())
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p, q)
    with pytest.raises(ValueError, match="adagrad"):
        ns["make_optimizer"]("adagrad", [torch.zeros(1, requires_grad=True)], 0.1)


class _Hand:
    """A hand-written update function (params, states, **hyperparameters) behind
    zero_grad() / step(), as the notebook's HandOptimizer."""

    def __init__(self, params, update, **hyperparameters):
        self.params, self.update, self.hp = list(params), update, hyperparameters
        self.states = [{} for _ in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.update(self.params, self.states, **self.hp)


@pytest.mark.parametrize("name, hyperparameters, reference", [
    ("sgd_momentum", {"lr": 0.05, "momentum": 0.8},
     lambda ps: lk.SGD(ps, lr=0.05, momentum=0.8)),
    ("rmsprop", {"lr": 0.02, "alpha": 0.9, "eps": 1e-6},
     lambda ps: lk.RMSprop(ps, lr=0.02, alpha=0.9, eps=1e-6)),
    ("adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6},
     lambda ps: lk.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
])
def test_hand_written_optimizer_steps_like_labkits(ns, name, hyperparameters, reference):
    ours = _steps(lambda ps: _Hand(ps, ns[name], **hyperparameters), _start(), num_steps=8)
    theirs = _steps(reference, _start(), num_steps=8)
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p, q)


def _task(kind: str, n: int):
    g = _gen(5)
    if kind == "regression":
        return 20, 1, torch.randn(n, 20, generator=g), torch.randn(n, 1, generator=g), \
            nn.MSELoss()
    return 20, 4, torch.randn(n, 20, generator=g), torch.randint(0, 4, (n,), generator=g), \
        nn.CrossEntropyLoss()


@pytest.mark.parametrize("kind", ["regression", "multiclass"])
def test_train_epoch_nn_is_lk_train_epoch(ns, kind):
    num_inputs, num_outputs, X, y, loss = _task(kind, 70)  # batches of 32, 32 and 6
    results = []
    for train in (ns["train_epoch_nn"],
                  lambda *a, **kw: lk.train_epoch(*a, metric=None, **kw)[0]):
        net = lk.MLP(num_inputs, (8,), num_outputs, generator=_gen(6))
        net.eval()
        batches = lk.InMemoryLoader(X, y, 32, seed=7)
        mean = train(net, batches, loss, torch.optim.SGD(net.parameters(), lr=0.1))
        results.append((mean, [p.detach() for p in net.parameters()], net.training))
    (ours, ours_w, ours_mode), (theirs, theirs_w, _) = results
    assert isinstance(ours, float) and ours == pytest.approx(theirs, rel=1e-6)
    assert ours_mode, "train_epoch_nn leaves the network in training mode"
    for p, q in zip(ours_w, theirs_w):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("kind", ["regression", "multiclass"])
def test_evaluate_loss_is_lk_evaluate(ns, kind):
    num_inputs, num_outputs, X, y, loss = _task(kind, 301)  # batches of 100, 100, 100 and 1
    net = lk.MLP(num_inputs, (8,), num_outputs, generator=_gen(8))
    batches = lk.InMemoryLoader(X, y, 100, shuffle=False)
    ours = ns["evaluate_loss"](net, batches, loss)
    theirs, _ = lk.evaluate(net, batches, loss, metric=None)
    assert isinstance(ours, float) and ours == pytest.approx(theirs, rel=1e-6)
    assert all(p.grad is None for p in net.parameters())
