"""Lab 2's student edition and known-bug submissions, graded by nbgrader (issue 8, section 7,
for issue 11's assignment lab2).

One `make grade` run (tools/course.py grade, through tests/grading.py) over three submissions
shares the work of every test here (tests/test_lab2_instructor.py grades the instructor edition
in a file of its own, so that pytest-xdist runs the two grading runs on its two workers):

- ``blank``: the student edition that nbgrader generates: zero automatic points, every graded
  test failing (nbgrader validate --invert's verdict on this run's execution), every cell
  before the first exercise running;
- ``bugs-a`` and ``bugs-b``: the instructor edition of each notebook with wrong solutions
  pasted into its solution cells, every graded function of lab 2 wrong in exactly one of the
  two: a known bug of tests/known_bugs_lab2.py for each function checked by ``lk.check``, and a
  bug written here for each ``torch.nn`` exercise of 07 and 08 (graded by the notebook's own
  asserts). Each wrong function loses the points of its test cell, and every other cell keeps
  its points: the bugs of one submission do not interfere.

One function of lab 2 is used by another graded one: notebook 06's backward pass
``mlp_loss_and_grads`` runs the notebook's ``relu``. When that ``relu`` fails
``lk.check.relu``, ``lk.check.mlp_loss_and_grads`` puts a correct one in its place while it
runs, so a wrong ``relu`` costs its own cell only: the wrong ``relu`` is in ``bugs-a`` and the
wrong backward pass in ``bugs-b``, and the backward pass's cell keeps its points in ``bugs-a``.
``test_06_backward_pass_is_judged_on_its_own_code`` proves the same without a grading run.

Speed: a notebook graded here costs 5-10 s before its first exercise (kernel, imports, data)
and 15-25 s run to the end. Where a realistic bug can, it raises on the notebook's main
training path, so that the training cells after it fail at once: ``relu`` with Python's
``max`` and the transposed weights of ``mlp`` (06); the missing ``nn.Flatten`` of ``mlp_nn``
and of ``mlp_with_dropout`` on MNIST's images (07, 08); ``len(data_iter.dataset)`` in
``evaluate_loss`` (07: each run stops after one epoch); ``parameters()`` for
``named_parameters()`` in ``sgd_with_weight_decay`` (08).
"""

from __future__ import annotations

import contextlib
import io
import textwrap

import grading
import known_bugs_lab2 as kb
import nbformat
import pytest
import torch
import torch.nn.functional as F

import labkit as lk

LAB2 = grading.REPO / "notebooks" / "lab2"
NB06, NB07, NB08 = "06_mlp_scratch", "07_mlp_nn", "08_regularization_and_model_selection"
STUDENTS = ("blank", "bugs-a", "bugs-b")


def _src(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


# Wrong solutions of the torch.nn exercises, graded by the notebooks' asserts and hidden tests
NN_BUGS = {
    # 07: no nn.Flatten(): nn.Linear(784, h) gets (N, 28, 28) images and raises (the flat
    # regression and binary inputs still train)
    ("mlp_nn", "no-flatten"): _src('''
        def mlp_nn(num_inputs, num_hiddens, num_outputs, activation=nn.ReLU):
            layers = []
            fan_in = num_inputs
            for width in num_hiddens:
                layers += [nn.Linear(fan_in, width), activation()]
                fan_in = width
            layers.append(nn.Linear(fan_in, num_outputs))
            return nn.Sequential(*layers)
        '''),
    # 07: BCELoss expects probabilities; the binary network returns logits
    ("losses", "bce-on-logits"): _src('''
        losses = {
            "regression": nn.MSELoss(),
            "binary": nn.BCELoss(),
            "multiclass": nn.CrossEntropyLoss(),
        }
        '''),
    # 07: "momentum" gives plain SGD
    ("make_optimizer", "momentum-forgotten"): _src('''
        def make_optimizer(name, params, lr):
            if name in ("sgd", "momentum"):
                return torch.optim.SGD(params, lr=lr)
            if name == "rmsprop":
                return torch.optim.RMSprop(params, lr=lr)
            if name == "adam":
                return torch.optim.Adam(params, lr=lr)
            raise ValueError(f"unknown optimizer {name!r}: sgd, momentum, rmsprop or adam")
        '''),
    # 07: no optimizer.zero_grad(): every batch's gradient adds to the previous ones
    ("train_epoch_nn", "no-zero-grad"): _src('''
        def train_epoch_nn(net, train_iter, loss, optimizer, device=None):
            net.train()
            total, count = 0.0, 0
            for X, y in train_iter:
                if device is not None:
                    X, y = X.to(device), y.to(device)
                l = loss(net(X), y)
                l.backward()
                optimizer.step()
                total += l.item() * len(y)
                count += len(y)
            return total / count
        '''),
    # 07: a DataLoader's habit, len(data_iter.dataset): the notebook's loaders have no
    # .dataset, so it raises (and every training run stops after its first epoch)
    ("evaluate_loss", "dataset-length"): _src('''
        def evaluate_loss(net, data_iter, loss, device=None):
            net.eval()
            total = 0.0
            with torch.no_grad():
                for X, y in data_iter:
                    if device is not None:
                        X, y = X.to(device), y.to(device)
                    total += loss(net(X), y).item() * len(y)
            return total / len(data_iter.dataset)
        '''),
    # 08: no nn.Flatten(): MNIST's (N, 28, 28) images make nn.Linear(784, h) raise
    ("mlp_with_dropout", "no-flatten"): _src('''
        def mlp_with_dropout(num_inputs, num_hiddens, num_outputs, p=0.0):
            layers = []
            fan_in = num_inputs
            for width in num_hiddens:
                layers += [nn.Linear(fan_in, width), nn.ReLU(), nn.Dropout(p)]
                fan_in = width
            layers.append(nn.Linear(fan_in, num_outputs))
            return nn.Sequential(*layers)
        '''),
    # 08: without the factor 1/2 the gradient is 2 * weight_decay * W
    ("l2_penalty", "no-half"): _src('''
        def l2_penalty(weights, weight_decay):
            return weight_decay * sum((W ** 2).sum() for W in weights)
        '''),
    # 08: parameters() where named_parameters() was meant: each weight matrix is unpacked into
    # its rows, which raises (and every training run stops at once)
    ("sgd_with_weight_decay", "parameters-not-named"): _src('''
        def sgd_with_weight_decay(net, lr, weight_decay=0.0, momentum=0.0):
            weights, others = [], []
            for name, param in net.parameters():
                (weights if name.endswith("weight") else others).append(param)
            return torch.optim.SGD([{"params": weights, "weight_decay": weight_decay},
                                    {"params": others, "weight_decay": 0.0}],
                                   lr=lr, momentum=momentum)
        '''),
}

# notebook -> group -> {function: bug name} (a known bug of known_bugs_lab2, or one of NN_BUGS);
# "stops" marks a bug that raises on the notebook's main training path, so that the training
# cells after it cost little
BUG_GROUPS = {
    NB06: {
        "bugs-a": {"relu": "python-max",  # stops; the backward pass runs it (stood in for)
                   "tanh": "textbook-overflow", "mse_loss": "d2l-half"},
        "bugs-b": {"leaky_relu": "slope-ignored", "elu": "missing-minus-one",
                   "mlp_loss_and_grads": "not-divided-by-N",
                   "mlp": "weights-transposed"},  # stops
    },
    NB07: {
        "bugs-a": {"mlp_nn": "no-flatten",  # stops the MNIST runs
                   "make_optimizer": "momentum-forgotten", "train_epoch_nn": "no-zero-grad",
                   "rmsprop": "eps-inside-sqrt"},
        "bugs-b": {"losses": "bce-on-logits",
                   "evaluate_loss": "dataset-length",  # stops each run after one epoch
                   "sgd_momentum": "dampening", "adam": "no-bias-correction"},
    },
    NB08: {
        "bugs-a": {"dropout": "no-scaling", "kfold_indices": "drops-the-remainder",
                   "mlp_with_dropout": "no-flatten"},  # stops the MNIST runs
        "bugs-b": {"l2_penalty": "no-half",
                   "sgd_with_weight_decay": "parameters-not-named"},  # stops
    },
}


def bug_source(function: str, name: str, notebook: str) -> str:
    if (function, name) in NN_BUGS:
        return NN_BUGS[function, name]
    found = [b for b in kb.BUGS if b.function == function and b.name == name
             and notebook[:2] in b.notebooks]
    assert len(found) == 1, f"no known bug {function}/{name} for notebook {notebook[:2]}"
    return found[0].source


def _path(notebook: str):
    return LAB2 / f"{notebook}.ipynb"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The student edition and one grading run over the three submissions."""
    return grading.grade_student_edition(tmp_path_factory.mktemp("lab2-student"), "lab2", {
        notebook: {student: {f: bug_source(f, name, notebook) for f, name in functions.items()}
                   for student, functions in groups.items()}
        for notebook, groups in BUG_GROUPS.items()})


def test_blank_student_edition_gets_zero_automatic_points(graded):
    grading.assert_zero_points(graded, "blank")


def test_student_edition_fails_every_graded_test(graded):
    """nbgrader validate --invert's verdict: no graded test passes on the blank edition."""
    grading.assert_validates(graded, "blank", invert=True)


def test_student_edition_runs_until_the_first_exercise(graded):
    grading.assert_runs_until_the_first_exercise(graded, "blank")


def test_student_edition_hides_every_solution(graded):
    grading.assert_hides_every_solution(graded.release, "lab2")


@pytest.mark.parametrize("student", ["bugs-a", "bugs-b"])
def test_known_bugs_lose_the_points_of_their_cells(graded, student):
    grading.assert_loses_exactly(graded, student, {
        notebook: {grading.graded_cell(_path(notebook), f) for f in groups[student]}
        for notebook, groups in BUG_GROUPS.items()})


def test_every_graded_function_of_lab2_is_bugged_once():
    """Every function or object a student writes in lab 2 (a solution code cell) is wrong in
    exactly one of the two submissions, and each test cell grades one of them."""
    for notebook, groups in BUG_GROUPS.items():
        bugged = [f for group in groups.values() for f in group]
        nb = nbformat.read(_path(notebook), as_version=4)
        solutions = [c.source for c in nb.cells if c.cell_type == "code"
                     and c.metadata.get("nbgrader", {}).get("solution")]
        assert len(bugged) == len(set(bugged)) == len(solutions), (notebook, bugged)
        for f in bugged:
            assert sum(grading.defines(s, f) for s in solutions) == 1, (notebook, f)
        tests = {grading.graded_cell(_path(notebook), f) for f in bugged}
        assert tests == set(grading.points("lab2")[notebook].auto), notebook


def test_every_checked_function_is_bugged_with_a_known_bug():
    """The functions graded by lk.check get a bug of tests/known_bugs_lab2.py (whose checker
    tests prove its hint); only the torch.nn exercises get bugs written here."""
    for notebook, groups in BUG_GROUPS.items():
        text = _path(notebook).read_text(encoding="utf-8")
        for functions in groups.values():
            for f, name in functions.items():
                checked = f"lk.check.{f}(" in text
                assert checked == ((f, name) not in NN_BUGS), (notebook, f, name)


def _check(function: str, fn) -> str | None:
    """The failure message of ``lk.check.<function>(fn)``, or None when it passes."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            getattr(lk.check, function)(fn)
    except AssertionError as e:
        return str(e)
    return None


def _define_06(relu_source: str, backward_source: str):
    """The backward pass defined in a namespace holding the given relu, as in notebook 06."""
    ns = {"torch": torch, "lk": lk, "F": F}
    kb.define(relu_source, ns)
    return kb.define(backward_source, ns)


def _check_output(function: str, fn) -> tuple[str | None, str]:
    """``_check`` and what the checker printed."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            getattr(lk.check, function)(fn)
    except AssertionError as e:
        return str(e), printed.getvalue()
    return None, printed.getvalue()


@pytest.mark.parametrize("relu_bug", ["python-max", "returns-mask", "keeps-negative-part",
                                      "in-place"])
def test_06_backward_pass_is_judged_on_its_own_code(relu_bug):
    """A wrong relu in the notebook does not fail the backward pass that calls it (a correct
    one stands in, and the verdict says so); the backward pass's own bug still fails, with
    its hint; the notebook's relu is put back afterwards."""
    nb = nbformat.read(_path(NB06), as_version=4)
    solution = {f: nb.cells[grading.solution_cell(nb, f)].source
                for f in ("relu", "mlp_loss_and_grads")}
    wrong_relu = bug_source("relu", relu_bug, NB06)
    wrong_backward = bug_source("mlp_loss_and_grads",
                                BUG_GROUPS[NB06]["bugs-b"]["mlp_loss_and_grads"], NB06)
    failure, printed = _check_output(
        "mlp_loss_and_grads", _define_06(solution["relu"], solution["mlp_loss_and_grads"]))
    assert failure is None and "in place of yours" not in printed, printed
    alone = _check("mlp_loss_and_grads", _define_06(solution["relu"], wrong_backward))
    assert alone is not None and "N times too large" in alone, alone
    backward = _define_06(wrong_relu, solution["mlp_loss_and_grads"])
    notebook_relu = backward.__globals__["relu"]
    assert _check("relu", notebook_relu) is not None  # the relu is wrong
    failure, printed = _check_output("mlp_loss_and_grads", backward)
    assert failure is None, failure
    assert "a correct relu() in place of yours" in printed, printed
    assert backward.__globals__["relu"] is notebook_relu
    both = _check("mlp_loss_and_grads", _define_06(wrong_relu, wrong_backward))
    assert both is not None and "N times too large" in both, both


def test_grades_table_and_feedback_for_lab2(graded):
    rows, out = graded.rows, graded.out
    assert len(rows) == len(STUDENTS) * len(grading.points("lab2"))
    for r in rows:
        assert r.status == "ok", r
        assert (out / "feedback" / r.student_id / "lab2" / f"{r.notebook}.html").is_file()
