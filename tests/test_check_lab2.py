"""Tests for lab 2's checkers in ``labkit.check``: every known bug of ``known_bugs_lab2``
fails its checker with the intended hint; the clean teaching implementations and labkit's
own functions (behind the contract's signatures) pass and print one line; the checkers
leave the caller's random state alone."""

from __future__ import annotations

import known_bugs_lab2 as kb
import pytest
import torch

import labkit as lk

CASES = [(bug, nb) for bug in kb.BUGS for nb in bug.notebooks]
GRADED = {"06": ["relu", "leaky_relu", "tanh", "elu", "mse_loss", "mlp", "mlp_loss_and_grads"],
          "07": ["sgd_momentum", "rmsprop", "adam"],
          "08": ["dropout", "kfold_indices"]}


def run_checker(function: str, notebook: str, fn) -> str | None:
    """The checker's failure message, or None when it passes."""
    try:
        getattr(lk.check, function)(fn, **kb.checker_kwargs(function, notebook))
    except AssertionError as e:
        return str(e)
    return None


@pytest.mark.parametrize("bug, notebook", CASES, ids=[f"{b.id}-{nb}" for b, nb in CASES])
def test_known_bug_fails_with_its_hint(bug, notebook):
    fn = kb.define(bug.source, kb.namespace(notebook))
    message = run_checker(bug.function, notebook, fn)
    assert message is not None, f"{bug.id} passed lk.check.{bug.function}"
    assert bug.hint in message, f"{bug.id}: hint {bug.hint!r} missing from:\n{message}"
    assert message.startswith(f"{bug.function}: "), message


@pytest.mark.parametrize("bug_id", sorted(set(kb.MISLEADING) | set(kb.FIRST_HINT)))
def test_known_bug_reports_its_cause_not_its_consequences(bug_id):
    bug = next(b for b in kb.BUGS if b.id == bug_id)
    message = run_checker(bug.function, bug.notebooks[0],
                          kb.define(bug.source, kb.namespace(bug.notebooks[0])))
    for wrong in kb.MISLEADING.get(bug_id, []):
        assert wrong not in message, f"{bug_id}: {wrong!r} in:\n{message}"
    if bug_id in kb.FIRST_HINT:
        first = message.split("\n2. ", 1)[0]
        assert kb.FIRST_HINT[bug_id] in first, f"{bug_id}: not first in:\n{message}"


def test_every_graded_function_has_known_bugs_and_clean_code():
    for nb, functions in GRADED.items():
        for function in functions:
            assert sum(b.function == function for b in kb.bugs_for(nb)) >= 3, (nb, function)
            assert kb.CLEAN.get((function, nb)), (nb, function)
            assert function in lk.check.__all__
    for bug in kb.BUGS:
        assert kb.define.__module__ == "known_bugs"
        assert bug.source.split("def ", 1)[1].split("(", 1)[0] == bug.function, bug.id
    assert len({b.id for b in kb.BUGS}) == len(kb.BUGS), "duplicate bug ids"


CLEAN_CASES = [(f, nb, i, src) for (f, nb), sources in kb.CLEAN.items()
               for i, src in enumerate(sources)]


@pytest.mark.parametrize("function, notebook, i, source", CLEAN_CASES,
                         ids=[f"{f}-{nb}-{i}" for f, nb, i, _ in CLEAN_CASES])
def test_clean_implementation_passes_and_prints_one_line(function, notebook, i, source,
                                                         capsys):
    fn = kb.define(source, kb.namespace(notebook))
    assert run_checker(function, notebook, fn) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(f"{function}: all "), out
    assert out.rstrip().endswith("checks passed"), out


# ------------------------------------------------------------------ labkit's own functions
# Adapters translate signatures only; they hold labkit's object in a default argument, which
# the elementary-operations check leaves alone (it blocks names, not objects in hand).


def lk_mlp(X, params, activation, *, _cls=lk.MLPScratch):
    net = _cls(params[0].shape[0], [W.shape[1] for W in params[0:-2:2]],
               params[-2].shape[1], activation)
    net.W, net.b = list(params[0::2]), list(params[1::2])
    return net(X.to(params[0].dtype))


def _optimizer_adapter(cls, **defaults):
    def step(params, states, _cls=cls, **hp):
        if "optimizer" not in states[0]:
            states[0]["optimizer"] = _cls(params, **{**defaults, **hp})
        states[0]["optimizer"].step()
    return step


LABKIT = [
    ("relu", lk.relu), ("leaky_relu", lk.leaky_relu), ("tanh", lk.tanh), ("elu", lk.elu),
    ("mse_loss", lk.mse_loss), ("mlp", lk_mlp), ("dropout", lk.dropout),
    ("sgd_momentum", _optimizer_adapter(lk.SGD, momentum=0.9)),
    ("rmsprop", _optimizer_adapter(lk.RMSprop)),
    ("adam", _optimizer_adapter(lk.Adam)), ("kfold_indices", lk.kfold_indices),
]


@pytest.mark.parametrize("function, fn", LABKIT, ids=[f for f, _ in LABKIT])
def test_labkit_functions_pass(function, fn, capsys):
    getattr(lk.check, function)(fn)
    assert "checks passed" in capsys.readouterr().out


# ------------------------------------------------------------------ the report and the state


def test_student_edition_stub_is_one_clear_failure():
    def adam(params, states, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        """Adam."""
        # YOUR CODE HERE
        raise NotImplementedError()

    with pytest.raises(AssertionError) as info:
        lk.check.adam(adam)
    message = str(info.value)
    assert message.splitlines()[0].startswith("adam: 1 of ")
    assert "NotImplementedError: it is not written yet" in message


def test_hidden_layers_argument():
    one_layer = kb.define(next(b for b in kb.BUGS if b.name == "one-hidden-layer-only").source,
                          kb.namespace("06"))
    lk.check.mlp_loss_and_grads(one_layer, hidden_layers=1)  # what that notebook asks
    with pytest.raises(AssertionError, match="with 2 hidden layer"):
        lk.check.mlp_loss_and_grads(one_layer)
    with pytest.raises(ValueError, match=r"hidden_layers must be 1, 2 or \(1, 2\), got 3"):
        lk.check.mlp_loss_and_grads(one_layer, hidden_layers=3)


def test_backward_checker_blocks_autograd_and_restores_it():
    bug = next(b for b in kb.BUGS if b.name == "uses-autograd")
    backward = torch.Tensor.backward
    message = run_checker("mlp_loss_and_grads", "06", kb.define(bug.source,
                                                                 kb.namespace("06")))
    assert "without backward()" in message
    assert torch.Tensor.backward is backward
    x = torch.ones(2, requires_grad=True)
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("function, notebook", [("dropout", "08"), ("kfold_indices", "08"),
                                                ("adam", "07")])
def test_caller_random_state_is_left_alone(function, notebook):
    fn = kb.define(kb.CLEAN[(function, notebook)][0], kb.namespace(notebook))
    torch.manual_seed(42)
    state = torch.get_rng_state()
    getattr(lk.check, function)(fn)
    assert torch.equal(torch.get_rng_state(), state)
