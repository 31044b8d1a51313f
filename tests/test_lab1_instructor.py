"""Lab 1's instructor edition, graded by nbgrader (issue 8, section 7): submitted as is, it
gets full marks, and it passes nbgrader validate.

One `make grade` run (tools/course.py grade) of notebooks/lab1/ as one student's submission
serves every test here. nbgrader validate = executing a notebook (nbgrader's Execute
preprocessor) + its Validator's verdict on the result; the autograde run is that execution
(same preprocessor, same kernel), so the Validator's verdict is taken on the autograded
notebooks instead of running all five a third time in the suite (nbval runs them too); the
real validation (Validator with its own execution) runs on notebook 01 to show it agrees.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import course  # noqa: E402

LAB1 = REPO / "notebooks" / "lab1"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab1-instructor")
    sub = tmp / "submitted" / "instructor" / "lab1"
    sub.mkdir(parents=True)
    for path in sorted(LAB1.glob("*.ipynb")):
        shutil.copy(path, sub / path.name)
    out = tmp / "grades"
    rows = course.grade(tmp / "submitted", "lab1", out_dir=out, log=lambda *a: None)
    return {"rows": {r.notebook: r for r in rows}, "out": out}


def _points():
    return {p.stem: course.notebook_points(p) for p in sorted(LAB1.glob("*.ipynb"))}


def test_lab1_is_five_notebooks_each_with_graded_cells():
    points = _points()
    assert len(points) == 5
    for name, p in points.items():
        assert p.auto_total > 0, f"{name} has no automatically graded cell"
        assert all(cell.startswith(name[:2] + "-") for cell in (*p.auto, *p.manual)), name


def test_instructor_edition_gets_full_marks(graded):
    rows = graded["rows"]
    assert sorted(rows) == sorted(_points())
    for name, row in rows.items():
        assert (row.status, row.score) == ("ok", row.max_score), (name, row)
        assert row.max_score == _points()[name].auto_total
        assert row.manual_max_score == _points()[name].manual_total
    cells = course.cell_scores(graded["out"], "instructor", "lab1")
    for name, scores in cells.items():
        assert all(score == points for score, points in scores.values()), (name, scores)


def test_instructor_edition_passes_nbgrader_validate(graded):
    from nbgrader.preprocessors import CheckCellMetadata
    from nbgrader.validator import Validator

    validator = Validator(ignore_checksums=True)
    validator.preprocessors = [CheckCellMetadata]  # judge nbgrader's own execution above
    autograded = graded["out"] / "autograded" / "instructor" / "lab1"
    for name in _points():
        assert validator.validate(str(autograded / f"{name}.ipynb")) == {}, name


def test_nbgrader_validate_on_notebook_01():
    """nbgrader's own validation, with its own execution, of the instructor edition of 01."""
    from nbgrader.validator import Validator

    result = Validator().validate(str(LAB1 / "01_tensor_basics.ipynb"))
    assert result == {}, result


def test_feedback_for_every_notebook(graded):
    for name in _points():
        page = graded["out"] / "feedback" / "instructor" / "lab1" / f"{name}.html"
        assert page.is_file() and "Score:" in page.read_text(encoding="utf-8"), name
