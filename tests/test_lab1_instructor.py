"""Lab 1's instructor edition, graded by nbgrader (issue 8, section 7): submitted as is, it
gets full marks, and it passes nbgrader validate.

One `make grade` run (tools/course.py grade) of notebooks/lab1/ as one student's submission
serves every test here (the machinery is tests/grading.py). nbgrader validate = executing a
notebook (nbgrader's Execute preprocessor) + its Validator's verdict on the result; the
autograde run is that execution (same preprocessor, same kernel), so the Validator's verdict is
taken on the autograded notebooks instead of running all five a third time in the suite (nbval
runs them too); the real validation (Validator with its own execution) runs on notebook 01 to
show it agrees.
"""

from __future__ import annotations

import grading
import pytest

LAB1 = grading.REPO / "notebooks" / "lab1"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab1-instructor")
    return grading.grade(tmp, "lab1", {"instructor": grading.instructor_edition("lab1")})


def test_lab1_is_five_notebooks_each_with_graded_cells():
    points = grading.points("lab1")
    assert len(points) == 5
    for name, p in points.items():
        assert p.auto_total > 0, f"{name} has no automatically graded cell"
        assert all(cell.startswith(name[:2] + "-") for cell in (*p.auto, *p.manual)), name


def test_instructor_edition_gets_full_marks(graded):
    grading.assert_full_marks(graded, "instructor")


def test_instructor_edition_passes_nbgrader_validate(graded):
    grading.assert_validates(graded, "instructor", invert=False)


def test_nbgrader_validate_on_notebook_01():
    """nbgrader's own validation, with its own execution, of the instructor edition of 01."""
    from nbgrader.validator import Validator

    result = Validator().validate(str(LAB1 / "01_tensor_basics.ipynb"))
    assert result == {}, result


def test_feedback_for_every_notebook(graded):
    for name in grading.points("lab1"):
        page = graded.out / "feedback" / "instructor" / "lab1" / f"{name}.html"
        assert page.is_file() and "Score:" in page.read_text(encoding="utf-8"), name
