"""Lab 1's student edition and known-bug submissions, graded by nbgrader (issue 8, section 7).

One `make grade` run (tools/course.py grade, through tests/grading.py) over three submissions
shares the work of every test here (tests/test_lab1_instructor.py grades the instructor edition
in a file of its own, so that pytest-xdist can run the two grading runs on its two workers at
once):

- ``blank``: the student edition that nbgrader generates: zero automatic points;
- ``bugs-a`` and ``bugs-b``: notebooks 02 and 04 with known bugs (tests/known_bugs.py) pasted
  into the solution cells that define those functions, each graded function bugged in one of
  the two, so that every bugged function loses the points of its test cell and every other
  cell keeps its points. A wrong accuracy is bugged apart from train_epoch and
  evaluate_accuracy, which call it: their checkers put a correct accuracy in its place, so
  that its bug costs its own cell only, and these submissions show it. One bug per group
  fails at the first training batch, so that these notebooks run in seconds, not minutes.

nbgrader validate --invert = executing the student edition (nbgrader's Execute preprocessor)
+ its Validator's verdict. The autograde run of the blank edition is that execution, so the
Validator's verdict is taken on it instead of running the notebooks again; the real
validation (Validator with its own execution) runs on notebook 01 to show it agrees.
"""

from __future__ import annotations

import grading
import known_bugs as kb
import pytest

LAB1 = grading.REPO / "notebooks" / "lab1"
NB02, NB04 = "02_logistic_regression_scratch", "04_softmax_regression_scratch"
STUDENTS = ("blank", "bugs-a", "bugs-b")

# notebook -> group -> {function: known bug name}; a bug marked * fails at the first training
# batch, so that the training cells after it stop at once
BUG_GROUPS = {
    NB02: {
        "bugs-a": {"make_logistic_data": "flipped-bias-sign", "sigmoid": "naive-exp-minus-x",
                   "logistic_regression": "returns-probabilities",
                   "binary_cross_entropy": "no-clamp",
                   "accuracy": "threshold-logits-at-half",  # train_epoch keeps its points
                   "sgd": "outside-no-grad"},  # training stops: the update raises
        "bugs-b": {"data_iter": "drops-last-batch",
                   "binary_cross_entropy_with_logits": "through-sigmoid",
                   "train_epoch": "backward-not-summed"},  # training stops: backward raises
    },
    NB04: {
        "bugs-a": {"evaluate_accuracy": "unweighted-batch-means",
                   "train_epoch": "backward-not-summed"},  # training stops: backward raises
        "bugs-b": {"softmax": "naive-overflow", "log_softmax": "log-of-softmax",
                   "cross_entropy": "minus-log-softmax",
                   # evaluate_accuracy and train_epoch keep their points
                   "accuracy": "threshold-before-argmax",
                   "softmax_regression": "no-flatten"},  # training stops: net(X) raises
    },
}


def bug(function: str, name: str, notebook: str) -> kb.Bug:
    nb_id = notebook[:2]
    return next(b for b in kb.BUGS if b.function == function and b.name == name
                and nb_id in b.notebooks)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The student edition and one grading run over the three submissions."""
    return grading.grade_student_edition(tmp_path_factory.mktemp("lab1-student"), "lab1", {
        notebook: {student: {f: bug(f, name, notebook).source for f, name in functions.items()}
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
    grading.assert_hides_every_solution(graded.release, "lab1")


@pytest.mark.parametrize("student", ["bugs-a", "bugs-b"])
def test_known_bugs_lose_the_points_of_their_cells(graded, student):
    grading.assert_loses_exactly(graded, student, {
        notebook: {grading.graded_cell(LAB1 / f"{notebook}.ipynb", f) for f in groups[student]}
        for notebook, groups in BUG_GROUPS.items()})


def test_every_graded_function_of_02_and_04_is_bugged_once():
    for notebook, groups in BUG_GROUPS.items():
        functions = [f for group in groups.values() for f in group]
        graded_functions = {f for f in ("make_logistic_data", "data_iter", "sigmoid",
                                        "logistic_regression", "binary_cross_entropy",
                                        "binary_cross_entropy_with_logits", "sgd", "accuracy",
                                        "train_epoch", "softmax", "log_softmax",
                                        "softmax_regression", "cross_entropy",
                                        "evaluate_accuracy")
                            if _calls_checker(notebook, f)}
        assert sorted(functions) == sorted(graded_functions), notebook


def _calls_checker(notebook: str, function: str) -> bool:
    text = (LAB1 / f"{notebook}.ipynb").read_text(encoding="utf-8")
    return f"lk.check.{function}(" in text


def test_grades_table_and_feedback_for_lab1(graded):
    rows, out = graded.rows, graded.out
    assert len(rows) == len(STUDENTS) * len(grading.points("lab1"))
    for r in rows:
        assert (out / "feedback" / r.student_id / "lab1" / f"{r.notebook}.html").is_file()
    missing = [r for r in rows if r.student_id.startswith("bugs")
               and r.notebook not in BUG_GROUPS]
    assert missing and all(r.status.startswith("missing") and r.score == 0 for r in missing)


def test_nbgrader_validate_invert_on_notebook_01(graded):
    """nbgrader's own validation, with its own execution, of the student edition of 01."""
    from nbgrader.validator import Validator

    result = Validator(invert=True).validate(str(graded.release / "01_tensor_basics.ipynb"))
    assert result == {}, result
