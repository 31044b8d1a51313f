"""The machinery of the assignments' grading tests (issue 8, section 7), shared by lab 1's
(tests/test_lab1_*.py) and lab 2's (tests/test_lab2_*.py): submissions built from the
instructor edition with known bugs pasted into its solution cells, one `make grade` run
(tools/course.py grade) over several submissions, and the checks on its result.

A helper module, not a test file: pytest collects nothing here.

- ``notebooks(assignment)``, ``points(assignment)``: the instructor edition's notebooks and
  their graded cells (from the nbgrader metadata).
- ``paste(notebook_path, {name: source})``: the instructor edition with the solution cell that
  defines ``name`` (``def name(`` or ``name = ...``) replaced by ``source``.
- ``graded_cell(notebook_path, name)``: the grade_id of the test cell that grades ``name``
  (the graded test cell right after its solution cell).
- ``assert_passes_checker(checker, fn)``: an instructor edition's solution passes its
  ``lk.check`` checker (tests/test_lab*_solutions.py);
  ``assert_graded_cells_follow_the_contract(notebook_path, ...)``: its graded cells follow
  lab 2's contract (tests/test_lab2_07_solutions.py, tests/test_lab2_08_solutions.py).
- ``grade(tmp, assignment, submissions)``: write the submissions in nbgrader's layout and grade
  them all in one run; returns a ``Graded`` (rows, output folder).
  ``grade_student_edition(tmp, assignment, bugged)``: one run over the blank student edition
  and known-bug submissions (tests/test_lab*_student.py).
- ``assert_*``: what `make test` proves on a grading run: full marks, zero points, every graded
  test failing (nbgrader validate --invert's verdict), the cells before the first exercise
  running, and known bugs losing exactly the points of the cells they break.

nbgrader validate = executing a notebook (nbgrader's Execute preprocessor) + its Validator's
verdict on the result. A grading run is that execution (same preprocessor, same kernel), so
``assert_validates`` takes the Validator's verdict on the autograded notebooks instead of
executing them once more (tests/test_lab1_*.py run the real validation, with its own
execution, on notebook 01 to show that the two agree).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import course  # noqa: E402

# ------------------------------------------------------------------ the assignment


def notebooks(assignment: str) -> list[Path]:
    """The instructor edition's notebooks of ``assignment`` (notebooks/ASSIGNMENT/), in order."""
    return course.assignment_notebooks(assignment)


def points(assignment: str) -> dict[str, course.NotebookPoints]:
    """``{notebook name: its graded cells and points}``, from the nbgrader metadata."""
    return {p.stem: course.notebook_points(p) for p in notebooks(assignment)}


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def defines(source: str, name: str) -> bool:
    """Whether a cell's source defines ``name``: a function ``def name(`` or a variable
    assigned at the start of a line (``losses = {...}``)."""
    return f"def {name}(" in source or re.search(rf"^{re.escape(name)}\s*=", source,
                                                  re.MULTILINE) is not None


def solution_cell(nb, name: str) -> int:
    """The index of the one solution code cell that defines ``name``."""
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and _meta(c).get("solution") and defines(c.source, name)]
    assert len(found) == 1, f"{len(found)} solution cells define {name}"
    return found[0]


def paste(path: Path, replacements: dict[str, str]) -> nbformat.NotebookNode:
    """The notebook at ``path`` with the solution cell defining each name replaced by the
    given source (a known bug, or a student's answer)."""
    nb = nbformat.read(path, as_version=4)
    for name, source in replacements.items():
        nb.cells[solution_cell(nb, name)].source = source
    return nb


def graded_cell(path: Path, name: str) -> str:
    """The grade_id of the test cell that grades ``name``: the first graded test cell after
    the solution cell that defines it. A test cell calling ``lk.check.NAME(`` must be that
    cell (the notebooks keep each test right after its exercise)."""
    nb = nbformat.read(path, as_version=4)
    start = solution_cell(nb, name)
    tests = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and _meta(c).get("grade") and not _meta(c).get("solution")]
    following = [i for i in tests if i > start]
    assert following, f"{path.name}: no graded test cell after the solution cell of {name}"
    cell = nb.cells[following[0]]
    checkers = [i for i in tests if f"lk.check.{name}(" in nb.cells[i].source]
    assert checkers in ([], [following[0]]), (
        f"{path.name}: lk.check.{name} is called in cells {checkers}, not in the test cell "
        f"right after {name}'s solution cell ({following[0]})")
    return _meta(cell)["grade_id"]


graded_cell.__test__ = False  # a helper, not a pytest test


def solution_sources(path: Path, names) -> dict[str, str]:
    """``{name: source}`` of the solution code cells, in notebook order; each defines exactly
    one of ``names``, and each name is defined once."""
    found: dict[str, str] = {}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or not _meta(cell).get("solution"):
            continue
        defined = [name for name in names if defines(cell.source, name)]
        assert len(defined) == 1, f"{path.name}: a solution cell defines {defined}"
        assert defined[0] not in found, f"{path.name}: two solution cells define {defined[0]}"
        found[defined[0]] = cell.source
    return found


def solution_namespace(path: Path, names, namespace: dict) -> dict:
    """The solution cells exec'd in order into ``namespace`` (the notebook's imports), as the
    notebook runs them: later solutions may use earlier ones."""
    for name, source in solution_sources(path, names).items():
        exec(compile(source, f"<{path.stem}:{name}>", "exec"), namespace)
        assert name in namespace, f"{path.name}: the solution cell does not define {name}"
    return namespace


def graded_cells(path: Path) -> tuple[dict[str, tuple[str, float]], dict[str, float]]:
    """``({grade_id: (source, points)} of the graded test cells, {grade_id: points} of the
    written answers)``; every graded test cell must be locked."""
    tests, answers = {}, {}
    for cell in nbformat.read(path, as_version=4).cells:
        meta = _meta(cell)
        if not meta.get("grade"):
            continue
        if meta.get("solution"):
            assert cell.cell_type == "markdown", meta["grade_id"]
            answers[meta["grade_id"]] = meta["points"]
        else:
            assert meta.get("locked"), f"{meta['grade_id']} must be locked"
            tests[meta["grade_id"]] = (cell.source.strip(), meta["points"])
    return tests, answers


def assert_graded_cells_follow_the_contract(path: Path, functions: dict[str, float], checked,
                                            answers: dict[str, float], prefix: str) -> None:
    """Lab 2's contract for the graded cells of the notebook at ``path``: the graded test
    cells are the ones right after the solution cells of ``functions`` (``{name: points}``),
    each worth its function's points; a function in ``checked`` is graded by
    ``lk.check.NAME(NAME)`` alone, the others by hidden asserts, without ``lk.check``; every
    test cell's grade_id starts with ``prefix`` (``"07-test-"``); the written answers are
    ``answers`` (``{grade_id: points}``)."""
    tests, found = graded_cells(path)
    expected = {graded_cell(path, name): points for name, points in functions.items()}
    assert {cell: points for cell, (_, points) in tests.items()} == expected
    for name in functions:
        source, _ = tests[graded_cell(path, name)]
        if name in checked:
            assert source == f"lk.check.{name}({name})", source
        else:
            assert "lk.check." not in source and "### BEGIN HIDDEN TESTS" in source, name
    assert all(cell.startswith(prefix) for cell in tests)
    assert found == answers


def assert_passes_checker(checker, fn, **kwargs) -> None:
    """``checker(fn, **kwargs)`` (an ``lk.check`` function) reports that its checks passed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        checker(fn, **kwargs)
    assert "checks passed" in out.getvalue()


# ------------------------------------------------------------------ one grading run


@dataclass
class Graded:
    """The result of one grading run."""
    assignment: str
    rows: list  # tools/course.py's rows, one per student and notebook
    out: Path  # the run's output folder (gradebook, autograded notebooks, feedback)
    release: Path | None = None  # the student edition the blank submission came from

    def rows_of(self, student: str) -> dict:
        return {r.notebook: r for r in self.rows if r.student_id == student}

    def autograded(self, student: str, notebook: str) -> Path:
        return self.out / "autograded" / student / self.assignment / f"{notebook}.ipynb"

    def cell_scores(self, student: str) -> dict[str, dict[str, tuple[float, float]]]:
        return course.cell_scores(self.out, student, self.assignment)


def grade(tmp: Path, assignment: str,
          submissions: dict[str, dict[str, Path | nbformat.NotebookNode]], *,
          release: Path | None = None) -> Graded:
    """Lay out ``{student: {notebook name: a file to copy, or a notebook to write}}`` as
    nbgrader's SUBMITTED/<student>/<assignment>/ and grade them all in one run (``release``:
    the student edition some submissions came from, kept in the result)."""
    submitted = tmp / "submitted"
    for student, files in submissions.items():
        folder = submitted / student / assignment
        folder.mkdir(parents=True)
        for name, content in files.items():
            if isinstance(content, Path):
                shutil.copy(content, folder / f"{name}.ipynb")
            else:
                nbformat.write(content, folder / f"{name}.ipynb")
    out = tmp / "grades"
    rows = course.grade(submitted, assignment, out_dir=out, log=lambda *a: None)
    return Graded(assignment, rows, out, release)


def instructor_edition(assignment: str) -> dict[str, Path]:
    """The instructor edition's notebooks as one submission."""
    return {p.stem: p for p in notebooks(assignment)}


def student_edition(assignment: str, tmp: Path) -> Path:
    """The student edition that `make student` writes, generated by nbgrader into a scratch
    course under ``tmp``; returns its release/ASSIGNMENT/ folder."""
    return course.generate_student_edition(assignment, tmp / "course",
                                           source=REPO / "notebooks")


def grade_student_edition(tmp: Path, assignment: str,
                          bugged: dict[str, dict[str, dict[str, str]]]) -> Graded:
    """The student edition of ``assignment`` and one grading run over it, as the submission
    ``blank``, and over the known-bug submissions ``bugged``: ``{notebook name: {student:
    {function: source}}}``, the instructor edition's notebooks with those solution cells
    replaced (``paste``)."""
    release = student_edition(assignment, tmp)
    submissions = {"blank": {p.stem: release / p.name for p in notebooks(assignment)}}
    instructor = instructor_edition(assignment)
    for notebook, groups in bugged.items():
        for student, sources in groups.items():
            submissions.setdefault(student, {})[notebook] = paste(instructor[notebook], sources)
    return grade(tmp, assignment, submissions, release=release)


# ------------------------------------------------------------------ what a run must show


def validator(invert: bool):
    """nbgrader's Validator, judging notebooks already executed by nbgrader (no re-run)."""
    from nbgrader.preprocessors import CheckCellMetadata
    from nbgrader.validator import Validator

    v = Validator(invert=invert, ignore_checksums=True)
    v.preprocessors = [CheckCellMetadata]
    return v


def assert_full_marks(graded: Graded, student: str) -> None:
    """Every notebook graded, every automatically graded cell with all its points."""
    expected = points(graded.assignment)
    rows = graded.rows_of(student)
    assert sorted(rows) == sorted(expected)
    for name, row in rows.items():
        assert (row.status, row.score) == ("ok", row.max_score), (name, row)
        assert row.max_score == expected[name].auto_total, (name, row)
        assert row.manual_max_score == expected[name].manual_total, (name, row)
    cells = graded.cell_scores(student)
    assert sorted(cells) == sorted(expected)
    for name, scores in cells.items():
        assert sorted(scores) == sorted(expected[name].auto), name
        assert all(score == max_score for score, max_score in scores.values()), (name, scores)


def assert_zero_points(graded: Graded, student: str) -> None:
    """Every notebook graded (status ok), no automatic point."""
    rows = graded.rows_of(student)
    assert sorted(rows) == sorted(points(graded.assignment))
    for name, row in rows.items():
        assert (row.status, row.score) == ("ok", 0), (name, row)


def assert_validates(graded: Graded, student: str, *, invert: bool) -> None:
    """nbgrader validate's verdict on the student's autograded notebooks: every graded test
    passes (``invert=False``), or every graded test fails (``invert=True``)."""
    v = validator(invert)
    for name in points(graded.assignment):
        assert v.validate(str(graded.autograded(student, name))) == {}, (name, invert)


def assert_runs_until_the_first_exercise(graded: Graded, student: str) -> None:
    """No cell before a notebook's first solution cell ended in an error."""
    for name in points(graded.assignment):
        nb = nbformat.read(graded.autograded(student, name), as_version=4)
        for index, cell in enumerate(nb.cells):
            if _meta(cell).get("solution"):
                break
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            assert not errors, f"{name}, cell {index} fails in the student edition: {errors}"


def assert_hides_every_solution(release: Path, assignment: str) -> None:
    """The student edition holds no solution, no hidden test and no printed labkit source."""
    for name in points(assignment):
        text = json.dumps(nbformat.read(release / f"{name}.ipynb", as_version=4))
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, name
        assert "getsource" not in text, f"{name} prints labkit source in the student edition"


def assert_loses_exactly(graded: Graded, student: str, broken: dict[str, set[str]]) -> None:
    """``broken``: ``{notebook: grade_ids}``. Each of those cells scores zero and every other
    automatically graded cell of those notebooks keeps all its points; the notebook's score is
    its maximum less the broken cells' points."""
    expected = points(graded.assignment)
    scores = graded.cell_scores(student)
    rows = graded.rows_of(student)
    for notebook, cells in broken.items():
        auto = expected[notebook].auto
        assert cells <= set(auto), (notebook, cells - set(auto))
        assert sorted(scores[notebook]) == sorted(auto), notebook
        for cell, (score, max_score) in scores[notebook].items():
            assert max_score == auto[cell]
            if cell in cells:
                assert score == 0, f"{student} {notebook}: {cell} kept its points"
            else:
                assert score == max_score, f"{student} {notebook}: {cell} lost its points"
        lost = sum(auto[cell] for cell in cells)
        assert rows[notebook].status == "ok", rows[notebook]
        assert rows[notebook].score == rows[notebook].max_score - lost, rows[notebook]
