"""Lab 2's instructor edition, graded by nbgrader (issue 8, section 7, for issue 11's assignment
lab2): submitted as is, it gets full marks, and it passes nbgrader validate.

One `make grade` run (tools/course.py grade, through tests/grading.py) of notebooks/lab2/ as
one student's submission serves every test here. nbgrader validate's verdict is taken on that
run's execution of the notebooks (nbgrader's Execute preprocessor, the one validate runs), not
on a fourth execution: tests/test_lab1_instructor.py shows on notebook 01 that the two agree,
and nbval runs the three notebooks once more in the suite.
"""

from __future__ import annotations

import grading
import pytest


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab2-instructor")
    return grading.grade(tmp, "lab2", {"instructor": grading.instructor_edition("lab2")})


def test_lab2_is_three_notebooks_each_with_graded_cells():
    points = grading.points("lab2")
    assert list(points) == ["06_mlp_scratch", "07_mlp_nn",
                            "08_regularization_and_model_selection"]
    for name, p in points.items():
        assert p.auto_total > 0 and p.manual_total > 0, f"{name} lacks graded cells"
        assert all(cell.startswith(name[:2] + "-") for cell in (*p.auto, *p.manual)), name


def test_instructor_edition_gets_full_marks(graded):
    grading.assert_full_marks(graded, "instructor")


def test_instructor_edition_passes_nbgrader_validate(graded):
    grading.assert_validates(graded, "instructor", invert=False)


def test_feedback_for_every_notebook(graded):
    for name in grading.points("lab2"):
        page = graded.out / "feedback" / "instructor" / "lab2" / f"{name}.html"
        assert page.is_file() and "Score:" in page.read_text(encoding="utf-8"), name
