"""Tests for ``labkit.check``: every known bug fails its checker with the intended hint;
clean teaching implementations and labkit's own functions pass every checker; checkers
report every failed check, print one line on success, and leave the caller's state alone."""

from __future__ import annotations

import random

import known_bugs as kb
import numpy as np
import pytest
import torch

import labkit as lk

CASES = [(bug, nb) for bug in kb.BUGS for nb in bug.notebooks]


def run_checker(function: str, notebook: str, fn) -> str | None:
    """The checker's failure message, or None when it passes."""
    try:
        getattr(lk.check, function)(fn, **kb.checker_kwargs(function, notebook))
    except AssertionError as e:
        return str(e)
    return None


# ------------------------------------------------------------------ known bugs and clean code


@pytest.mark.parametrize("bug, notebook", CASES, ids=[f"{b.id}-{nb}" for b, nb in CASES])
def test_known_bug_fails_with_its_hint(bug, notebook):
    fn = kb.define(bug.source, kb.namespace(notebook))
    message = run_checker(bug.function, notebook, fn)
    assert message is not None, f"{bug.id} passed lk.check.{bug.function}"
    assert bug.hint in message, f"{bug.id}: hint {bug.hint!r} missing from:\n{message}"
    assert message.startswith(f"{bug.function}: "), message


def test_every_graded_function_has_known_bugs_and_clean_code():
    graded = {"02": ["make_logistic_data", "data_iter", "sigmoid", "logistic_regression",
                     "binary_cross_entropy", "binary_cross_entropy_with_logits", "sgd",
                     "accuracy", "train_epoch"],
              "04": ["softmax", "log_softmax", "softmax_regression", "cross_entropy",
                     "accuracy", "evaluate_accuracy", "train_epoch"]}
    for nb, functions in graded.items():
        for function in functions:
            assert any(b.function == function for b in kb.bugs_for(nb)), (nb, function)
            assert kb.CLEAN.get((function, nb)), (nb, function)
            assert hasattr(lk.check, function)
    for bug in kb.BUGS:
        assert kb.function_name(bug.source) == bug.function, bug.id
    assert len({(b.id, b.notebooks) for b in kb.BUGS}) == len(kb.BUGS), "duplicate bug ids"


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


# The adapters only translate signatures; they hold labkit's function or class in a default
# argument, which the elementary-operations check leaves alone (it blocks names, not objects
# already in hand), so that check sees labkit's own implementation.


def lk_make_logistic_data(num_examples, true_w, true_b, noise=0.01, generator=None, *,
                          _impl=lk.make_logistic_data):
    """labkit's make_logistic_data, which takes a seed, behind the contract's signature."""
    g = generator if generator is not None else torch.default_generator
    seed = int(torch.randint(0, 2 ** 62, (), generator=g))
    return _impl(num_examples, true_w, true_b, noise, seed=seed)


def lk_logistic_regression(X, w, b, *, _cls=lk.LogisticRegressionScratch):
    net = _cls(w.shape[0])
    net.w, net.b = w, b
    return net(X)


def lk_softmax_regression(X, W, b, *, _cls=lk.SoftmaxRegressionScratch):
    net = _cls(W.shape[0], W.shape[1])
    net.W, net.b = W, b
    return net(X)


LABKIT = [
    ("make_logistic_data", {}, lk_make_logistic_data),
    ("data_iter", {}, lk.data_iter),
    ("sigmoid", {}, lk.sigmoid),
    ("logistic_regression", {}, lk_logistic_regression),
    ("binary_cross_entropy", {}, lk.binary_cross_entropy),
    ("binary_cross_entropy_with_logits", {}, lk.binary_cross_entropy_with_logits),
    ("sgd", {}, lk.sgd),
    ("accuracy", {"binary": True}, lk.accuracy),
    ("accuracy", {}, lk.accuracy),
    ("train_epoch", {"binary": True}, lk.train_epoch),
    ("train_epoch", {"binary": False}, lk.train_epoch),
    ("train_epoch", {}, lk.train_epoch),
    ("softmax", {}, lk.softmax),
    ("log_softmax", {}, lk.log_softmax),
    ("softmax_regression", {}, lk_softmax_regression),
    ("cross_entropy", {}, lk.cross_entropy),
    ("evaluate_accuracy", {}, lk.evaluate_accuracy),
]


@pytest.mark.parametrize("function, kwargs, fn", LABKIT,
                         ids=[f"{f}{'-' + str(k) if k else ''}" for f, k, _ in LABKIT])
def test_labkit_functions_pass(function, kwargs, fn, capsys):
    getattr(lk.check, function)(fn, **kwargs)
    assert "checks passed" in capsys.readouterr().out


def test_train_epoch_checks_both_tasks_for_labkit_and_one_per_notebook(capsys):
    lk.check.train_epoch(lk.train_epoch)  # labkit's accuracy handles both: 2 x 5 + 1 checks
    assert capsys.readouterr().out.strip() == "train_epoch: all 11 checks passed"
    for nb in ("02", "04"):
        fn = kb.define(kb.CLEAN_TRAIN_EPOCH[0], kb.namespace(nb))
        lk.check.train_epoch(fn)
        assert capsys.readouterr().out.strip() == "train_epoch: all 6 checks passed"


# ------------------------------------------------------------------ a wrong accuracy


ACCURACY_BUGS = [(bug, nb) for bug in kb.BUGS if bug.function == "accuracy"
                 for nb in bug.notebooks]
CALLERS = {"02": ["train_epoch"], "04": ["train_epoch", "evaluate_accuracy"]}


@pytest.mark.parametrize("bug, notebook", ACCURACY_BUGS,
                         ids=[f"{b.id}-{nb}" for b, nb in ACCURACY_BUGS])
def test_a_wrong_accuracy_costs_only_its_own_cell(bug, notebook, capsys):
    """train_epoch and evaluate_accuracy call the notebook's accuracy: with a wrong one
    there, their own correct code still passes (a correct accuracy stands in while their
    checkers run, and the verdict says so), their own bugs are still found, and the
    notebook keeps its accuracy afterwards."""
    ns = kb.namespace(notebook)
    wrong = kb.define(bug.source, ns)
    assert run_checker("accuracy", notebook, wrong) is not None  # it costs its own cell
    for function in CALLERS[notebook]:
        for source in kb.CLEAN[(function, notebook)]:
            fn = kb.define(source, ns)
            capsys.readouterr()
            assert run_checker(function, notebook, fn) is None, (function, source)
            out = capsys.readouterr().out
            assert out.count("\n") == 1 and "checks passed" in out, out
            # 02's argmax-on-logits accuracy is a right multi-class one: train_epoch's
            # checker then checks the multi-class task, with it, and needs no stand-in
            noted = not (notebook == "02" and bug.name == "argmax-on-logits")
            assert noted == ("checks passed (checked with a correct accuracy() in place of "
                             "yours, which fails lk.check.accuracy" in out), out
            assert ns["accuracy"] is wrong  # restored
        for own in [b for b in kb.BUGS if b.function == function and notebook in b.notebooks
                    and b.name != "calls-labkit"]:
            message = run_checker(function, notebook, kb.define(own.source, ns))
            assert message is not None and own.hint in message, (own.id, message)
            assert ns["accuracy"] is wrong


def test_the_stand_in_accuracy_returns_the_type_the_notebook_s_returns():
    """A train_epoch written for an accuracy that returns a tensor (it calls .item()) still
    runs with the stand-in."""
    ns = kb.namespace("04")
    kb.define('''
def accuracy(y_hat, y):
    return ((y_hat > 0.5).float().argmax(dim=1) == y).sum()     # a 0-d tensor, and wrong
''', ns)
    fn = kb.define('''
def train_epoch(net, train_iter, loss, updater):
    total_loss, correct, n = 0.0, 0, 0
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        total_loss += l.sum().item()
        correct += accuracy(y_hat, y).item()
        n += len(y)
        l.sum().backward()
        updater(len(y))
    return total_loss / n, correct / n
''', ns)
    assert run_checker("train_epoch", "04", fn) is None


def test_a_correct_accuracy_is_left_in_place(capsys):
    """No stand-in when the notebook's accuracy passes its check: the student's own code
    runs as it will in the notebook, and the verdict is the plain one line."""
    calls = []
    ns = kb.namespace("04")
    clean = ns["accuracy"]

    def accuracy(y_hat, y):
        calls.append(1)
        return clean(y_hat, y)

    ns["accuracy"] = accuracy
    for function in CALLERS["04"]:
        calls.clear()
        fn = kb.define(kb.CLEAN[(function, "04")][0], ns)
        assert run_checker(function, "04", fn) is None
        assert calls, f"{function}'s checker did not run the notebook's accuracy"
        assert capsys.readouterr().out.rstrip().endswith("checks passed")


# ------------------------------------------------------------------ the report


def test_student_edition_stub_is_one_clear_failure():
    def softmax(X):
        """Row-wise softmax."""
        # YOUR CODE HERE
        raise NotImplementedError()

    with pytest.raises(AssertionError) as info:
        lk.check.softmax(softmax)
    message = str(info.value)
    assert message.splitlines()[0] == "softmax: 1 of 9 checks failed (8 not run until the " \
                                      "first ones pass)"
    assert "NotImplementedError: it is not written yet" in message
    assert "replace `raise NotImplementedError()` with your code (softmax(X))" in message


def test_every_failed_check_is_listed_with_its_fix():
    source = '''
def cross_entropy(input, target, reduction="mean"):
    loss = -torch.log(softmax(input)[torch.arange(len(target)), target])
    return loss.mean() / len(target) if reduction == "mean" else (
        loss.sum() if reduction == "sum" else loss)
'''
    fn = kb.define(source, kb.namespace("04"))
    message = run_checker("cross_entropy", "04", fn)
    assert "divided by the batch size twice" in message
    assert "-log(softmax) gives inf" in message
    lines = message.splitlines()
    failed = int(lines[0].split(": ")[1].split(" of ")[0])
    numbered = [ln for ln in lines[1:] if ln[:1].isdigit()]
    assert len(numbered) == failed >= 3
    assert all(lines[i + 1].startswith("   fix: ") for i, ln in enumerate(lines)
               if ln in numbered), message


def test_same_message_every_time():
    bug = next(b for b in kb.BUGS if b.id == "data_iter-generator-ignored")
    messages = {run_checker("data_iter", "02", kb.define(bug.source, kb.namespace("02")))
                for _ in range(3)}
    assert len(messages) == 1


def test_student_output_is_hidden(capsys):
    def sigmoid(input):
        print("debugging", input.shape)
        e = torch.exp(torch.where(input >= 0, -input, input))
        return torch.where(input >= 0, 1 / (1 + e), e / (1 + e))

    lk.check.sigmoid(sigmoid)
    assert capsys.readouterr().out == "sigmoid: all 8 checks passed\n"


def test_bad_arguments_name_what_was_expected():
    with pytest.raises(TypeError, match=r"lk.check.sigmoid takes the function you wrote, "
                                        r"sigmoid\(input\), got None"):
        lk.check.sigmoid(None)
    with pytest.raises(TypeError, match="binary must be True or False"):
        lk.check.accuracy(lk.accuracy, binary="yes")
    with pytest.raises(TypeError, match="binary must be True, False or None"):
        lk.check.train_epoch(lk.train_epoch, binary=1)


# ------------------------------------------------------------------ the caller's state


def test_global_random_state_threads_and_grad_mode_are_left_alone():
    def data_iter(batch_size, X, y, generator=None):  # uses and reseeds the global RNGs
        torch.set_num_threads(1 if torch.get_num_threads() > 1 else 2)
        torch.set_grad_enabled(False)
        torch.manual_seed(0)
        random.seed(0)
        np.random.seed(0)
        indices = torch.randperm(len(X))
        for i in range(0, len(X), batch_size):
            yield X[indices[i:i + batch_size]], y[indices[i:i + batch_size]]

    torch.manual_seed(123)
    random.seed(123)
    np.random.seed(123)
    states = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    threads = torch.get_num_threads()
    with pytest.raises(AssertionError):
        lk.check.data_iter(data_iter)
    assert torch.equal(torch.get_rng_state(), states[0])
    assert random.getstate() == states[1]
    assert np.array_equal(np.random.get_state()[1], states[2])
    assert torch.get_num_threads() == threads
    assert torch.is_grad_enabled()


def test_unavailable_functions_are_restored_whatever_happens():
    originals = (torch.sigmoid, torch.nn.functional.sigmoid, torch.special.expit, lk.sigmoid,
                 lk.functional.sigmoid)

    def sigmoid(input):  # interrupted while the check runs with the functions blocked
        if torch.sigmoid is not originals[0]:
            raise KeyboardInterrupt
        e = torch.exp(torch.where(input >= 0, -input, input))
        return torch.where(input >= 0, 1 / (1 + e), e / (1 + e))

    with pytest.raises(KeyboardInterrupt):
        lk.check.sigmoid(sigmoid)
    assert (torch.sigmoid, torch.nn.functional.sigmoid, torch.special.expit, lk.sigmoid,
            lk.functional.sigmoid) == originals
    assert "sigmoid" not in vars(torch.Tensor)
    assert torch.ones(2).sigmoid()[0] == torch.sigmoid(torch.ones(1))[0]


def test_an_alias_in_the_notebook_namespace_is_blocked_and_restored():
    ns = {"torch": torch, "expit": torch.special.expit}
    fn = kb.define("def sigmoid(input):\n    return expit(input)\n", ns)
    message = run_checker("sigmoid", "02", fn)
    assert "it calls torch.special.expit" in message
    assert ns["expit"] is torch.special.expit


# ------------------------------------------------------------------ hints that name the cause


def test_kinked_operations_reads_them_from_the_graph():
    from labkit.check._core import kinked_operations

    x = torch.randn(4, requires_grad=True)
    assert kinked_operations(torch.where(x >= 0, x.clamp(min=0), x.abs()).exp()) == [
        "x.abs()", "clamp"]
    assert kinked_operations(torch.relu(x) + torch.maximum(x, -x)) == [
        "relu", "torch.maximum / torch.minimum"]
    assert kinked_operations(torch.where(x >= 0, -x, x).exp() * 2) == []
    assert kinked_operations(torch.ones(3)) == []


SIGMOID_AT_ZERO = {  # a sigmoid with the right values and a wrong gradient at 0 -> the cause
    "uses clamp, with a kink at 0": '''
def sigmoid(input):
    e = torch.exp(input.clamp(max=0))
    return torch.where(input >= 0, 1 / (1 + torch.exp(-input.clamp(min=0))), e / (1 + e))
''',
    "uses x.abs(), with a kink at 0": '''
def sigmoid(input):
    e = torch.exp(-input.abs())
    return torch.where(input >= 0, 1 / (1 + e), e / (1 + e))
''',
    "uses relu, with a kink at 0": '''
def sigmoid(input):
    e = torch.exp(-torch.relu(input) - torch.relu(-input))
    return torch.where(input >= 0, 1 / (1 + e), e / (1 + e))
''',
    # no operation with a kink: the symptom, without a guess
    "at 0 that formula does not have the slope of sigmoid": '''
def sigmoid(input):
    e = torch.exp(torch.where(input >= 0, -input, input))
    s = torch.where(input >= 0, 1 / (1 + e), e / (1 + e))
    return torch.where(input == 0, s.detach(), s)
''',
}


@pytest.mark.parametrize("cause", list(SIGMOID_AT_ZERO))
def test_a_wrong_gradient_at_0_is_blamed_on_what_the_code_uses(cause):
    message = run_checker("sigmoid", "02", kb.define(SIGMOID_AT_ZERO[cause], {"torch": torch}))
    assert "the gradient at x = 0 is" in message and cause in message, message
    blamed = {"x.abs()", "clamp", "relu"} - {w for w in ("x.abs()", "clamp", "relu")
                                             if f"uses {w}" in cause}
    for other in blamed:  # never an operation the code does not use
        assert f"uses {other}" not in message and f"derivative of {other}" not in message


def test_bce_with_logits_names_its_kinked_operations():
    bug = next(b for b in kb.BUGS if b.id == "binary_cross_entropy_with_logits-"
                                             "clamp-abs-gradient-at-0")
    message = run_checker("binary_cross_entropy_with_logits", "02", kb.define(bug.source))
    assert "your function uses x.abs() and clamp, with a kink at 0" in message, message


@pytest.mark.parametrize("function, notebook", [("binary_cross_entropy", "02"),
                                                ("binary_cross_entropy_with_logits", "02"),
                                                ("cross_entropy", "04")])
def test_an_unknown_reduction_must_raise_a_value_error_naming_it(function, notebook):
    """Notebooks 02 and 04 ask each loss to raise a ValueError for any other reduction."""
    clean = kb.define(kb.CLEAN[(function, notebook)][0], kb.namespace(notebook))
    assert run_checker(function, notebook, clean) is None

    def lenient(input, target, reduction="mean"):  # any other value: the mean, silently
        return clean(input, target, reduction if reduction in ("sum", "none") else "mean")

    message = run_checker(function, notebook, lenient)
    assert message.startswith(f"{function}: 1 of "), message
    assert "reduction='average' is not rejected" in message
    assert "raise ValueError(" in message


def test_evaluate_accuracy_runs_a_module_in_eval_mode_and_hands_it_back():
    """The scored pass runs in eval mode (a model whose training mode differs is scored on
    its eval behaviour), and the model leaves in the mode it came in."""
    ns = kb.namespace("04")
    for name in ("never-eval-mode", "train-mode-for-the-pass"):
        bug = next(b for b in kb.BUGS if b.id == f"evaluate_accuracy-{name}")
        message = run_checker("evaluate_accuracy", "04", kb.define(bug.source, ns))
        assert "runs in eval mode during the pass" in message
        assert "gets 0 where 0.6 is right" in message
        assert "left in the mode it was in" not in message  # the mode is handed back
    leaves = next(b for b in kb.BUGS if b.id == "evaluate_accuracy-leaves-eval-mode")
    message = run_checker("evaluate_accuracy", "04", kb.define(leaves.source, ns))
    assert "runs in eval mode during the pass" not in message
    assert "it leaves a model found in training mode in eval mode" in message
