"""End-to-end tests of tools/course.py (make student, make grade, the point table) on a tiny
assignment built in a temporary folder: two small notebooks, and students whose submissions
are right, blank, not a notebook, looping forever, crashing the kernel, or missing."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import course  # noqa: E402

ASSIGNMENT = "tiny"
TIMEOUT = 6  # seconds per cell while grading the fixture: its cells take milliseconds


def _meta(**kw) -> dict:
    meta = {"schema_version": 3, "locked": False, "solution": False, "grade": False}
    meta.update(kw)
    return {"nbgrader": meta}


def _notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


SOLUTION_ONE = ('def double(x):\n    """Twice x."""\n    ### BEGIN SOLUTION\n    return 2 * x\n'
                '    ### END SOLUTION')


def write_source(source: Path) -> None:
    """notebooks/tiny/one.ipynb (2 automatic + 1 manual point) and two.ipynb (3 points)."""
    folder = source / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(_notebook([
        new_markdown_cell("# One", metadata=_meta(grade_id="one-intro", locked=True)),
        new_code_cell("import math", metadata=_meta(grade_id="one-setup", locked=True)),
        new_code_cell(SOLUTION_ONE, metadata=_meta(grade_id="one-double", solution=True)),
        new_code_cell("assert double(2) == 4, 'double(2) should be 4'\n"
                      "### BEGIN HIDDEN TESTS\nassert double(-1) == -2\n### END HIDDEN TESTS",
                      metadata=_meta(grade_id="one-test-double", grade=True, locked=True,
                                     points=2)),
        new_markdown_cell("Why?", metadata=_meta(grade_id="one-question", locked=True)),
        new_markdown_cell("Because.", metadata=_meta(grade_id="one-answer", grade=True,
                                                     solution=True, points=1)),
    ]), folder / "one.ipynb")
    nbformat.write(_notebook([
        new_code_cell("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n"
                      "    ### END SOLUTION", metadata=_meta(grade_id="two-square",
                                                            solution=True)),
        new_code_cell("assert square(3) == 9", metadata=_meta(grade_id="two-test-square",
                                                              grade=True, locked=True,
                                                              points=3)),
    ]), folder / "two.ipynb")


def _with_solution(source: Path, new_source: str) -> nbformat.NotebookNode:
    nb = nbformat.read(source / ASSIGNMENT / "one.ipynb", as_version=4)
    nb.cells[2].source = new_source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One `make grade` run over every kind of submission; returns (rows, out_dir, tmp)."""
    tmp = tmp_path_factory.mktemp("course")
    source = tmp / "notebooks"
    write_source(source)
    # the student edition, as `make student` makes it, in a scratch repository
    (tmp / "repo" / "notebooks").mkdir(parents=True)
    write_source(tmp / "repo" / "notebooks")
    release = course.make_student(ASSIGNMENT, repo=tmp / "repo", out=lambda *a: None)

    sub = tmp / "submitted"
    correct = source / ASSIGNMENT
    for student in ("bob", "carol", "dave", "erin", "frank", "grace"):
        (sub / student / ASSIGNMENT).mkdir(parents=True)
    # bob: the blank student edition, and a file that is not a notebook
    (sub / "bob" / ASSIGNMENT / "one.ipynb").write_bytes((release / "one.ipynb").read_bytes())
    (sub / "bob" / ASSIGNMENT / "two.ipynb").write_text("this is not json\n")
    # carol: a cell that loops forever; two.ipynb missing
    nbformat.write(_with_solution(source, "def double(x):\n    return 2 * x\nwhile True:\n"
                                          "    pass"), sub / "carol" / ASSIGNMENT / "one.ipynb")
    # dave: one.ipynb kills the kernel; two.ipynb is the instructor edition: full marks
    nbformat.write(_with_solution(source, "import os\nos._exit(1)"),
                   sub / "dave" / ASSIGNMENT / "one.ipynb")
    (sub / "dave" / ASSIGNMENT / "two.ipynb").write_bytes((correct / "two.ipynb").read_bytes())
    # erin: JSON that is not a notebook; frank: an empty folder
    (sub / "erin" / ASSIGNMENT / "one.ipynb").write_text(json.dumps({"hello": "world"}))
    (sub / "notes.txt").write_text("not a student folder")
    # grace: one.ipynb right, with a written answer that awaits grading by hand
    (sub / "grace" / ASSIGNMENT / "one.ipynb").write_bytes((correct / "one.ipynb").read_bytes())

    out_dir = tmp / "grades"
    rows = course.grade(sub, ASSIGNMENT, out_dir=out_dir, timeout=TIMEOUT, source=source,
                        log=lambda *a: None)
    return rows, out_dir, tmp


def _by(rows):
    return {(r.student_id, r.notebook): r for r in rows}


def test_grades_csv_has_one_row_per_student_and_notebook(graded):
    rows, out_dir, _ = graded
    with open(out_dir / "grades.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0].keys()) == ["student_id", "notebook", "score", "max_score",
                                     "manual_max_score", "status"]
    students = ["bob", "carol", "dave", "erin", "frank", "grace"]
    assert [(r["student_id"], r["notebook"]) for r in table] == [
        (s, nb) for s in students for nb in ("one", "two")]
    assert [r.as_dict() for r in rows] == table
    for r in table:
        assert (r["max_score"], r["manual_max_score"]) == (
            ("2", "1") if r["notebook"] == "one" else ("3", "0"))
    assert not (out_dir / "grades.csv.tmp").exists()


def test_instructor_edition_gets_full_marks_and_blank_student_edition_zero(graded):
    by = _by(graded[0])
    assert (by["dave", "two"].score, by["dave", "two"].status) == (3, "ok")
    assert (by["bob", "one"].score, by["bob", "one"].status) == (0, "ok")


def test_bad_submissions_get_zero_and_the_reason(graded):
    by = _by(graded[0])
    expected = {
        ("bob", "two"): "not a notebook (NotJSONError",
        ("carol", "one"): f"timeout: cell 2 (one-double) ran longer than {TIMEOUT} s",
        ("carol", "two"): "missing: no tiny/two.ipynb was submitted",
        ("dave", "one"): "crashed: the kernel died",
        ("erin", "one"): "not a notebook (ValidationError",
        ("erin", "two"): "missing",
        ("frank", "one"): "missing",
        ("frank", "two"): "missing",
        ("grace", "two"): "missing",
    }
    for key, status in expected.items():
        assert by[key].score == 0, key
        assert by[key].status.startswith(status), (key, by[key].status)
    # one bad notebook does not cost the student's other notebooks
    assert (by["dave", "two"].score, by["dave", "two"].status) == (3, "ok")


def test_feedback_html_per_student_and_notebook(graded):
    rows, out_dir, _ = graded
    for r in rows:
        page = out_dir / "feedback" / r.student_id / ASSIGNMENT / f"{r.notebook}.html"
        assert page.is_file(), page
    dave = (out_dir / "feedback" / "dave" / ASSIGNMENT / "two.html").read_text()
    assert "Score: 3.0 / 3.0" in dave  # nbgrader's feedback of the graded notebook
    carol = (out_dir / "feedback" / "carol" / ASSIGNMENT / "one.html").read_text()
    # agrees with the csv (0 automatic points); its written answer still awaits grading
    assert "CellTimeoutError" in carol and "(Score so far: 0.0 / 3.0)" in carol
    dave = (out_dir / "feedback" / "dave" / ASSIGNMENT / "one.html").read_text()
    assert "not graded: crashed" in dave and "Score: 0 / 2" in dave


def test_nbgrader_files_stay_under_the_output_folder(graded):
    _, out_dir, tmp = graded
    assert (out_dir / "gradebook.db").is_file()
    assert (out_dir / "autograded" / "dave" / ASSIGNMENT / "two.ipynb").is_file()
    assert not (tmp / "gradebook.db").exists() and not (tmp / "submitted" / "gradebook.db") \
        .exists()
    assert not (REPO / "gradebook.db").exists()


def test_student_edition_has_stubs_no_hidden_tests_no_outputs(graded):
    _, _, tmp = graded
    repo = tmp / "repo"
    nb = nbformat.read(repo / "release" / ASSIGNMENT / "one.ipynb", as_version=4)
    sources = [c.source for c in nb.cells]
    assert 'def double(x):\n    """Twice x."""\n    # YOUR CODE HERE\n    raise ' \
           'NotImplementedError()' in sources
    assert not any("return 2 * x" in s or "HIDDEN" in s or "double(-1)" in s for s in sources)
    assert "YOUR ANSWER HERE" in sources
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert (repo / "build" / "grades" / "gradebook.db").is_file()
    assert not (repo / "gradebook.db").exists()


def test_points_table(tmp_path):
    write_source(tmp_path)
    assert course.points_table(ASSIGNMENT, tmp_path) == "\n".join([
        "| notebook | graded automatically | graded by hand | total |",
        "|---|---:|---:|---:|",
        "| `one` | 2 | 1 | 3 |",
        "| `two` | 3 | 0 | 3 |",
        "| **tiny** | **5** | **1** | **6** |",
    ])


def test_command_line_help_and_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        course.main(["--help"])
    assert info.value.code == 0
    assert "grade" in capsys.readouterr().out
    assert course.main(["grade", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert course.main(["grade", str(tmp_path), "--timeout", "0"]) == 2
    assert "--timeout must be a positive number" in capsys.readouterr().err
    assert course.main(["grade", str(tmp_path)]) == 2  # an empty folder: no students
    assert "no student folders" in capsys.readouterr().err
    assert course.main(["points", "--assignment", "nope"]) == 2
    assert "no notebooks in" in capsys.readouterr().err


def test_output_folder_is_an_nbgrader_course_for_nbgraders_other_commands(graded):
    _, out_dir, _ = graded
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}"
                                f"{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "totals.csv"],
                          cwd=out_dir, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(out_dir / "totals.csv", newline="") as f:
        totals = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(totals["dave"]["raw_score"]) == 3 and float(totals["dave"]["max_score"]) == 6
    assert float(totals["carol"]["raw_score"]) == 0  # the timed-out notebook: zero there too


def test_cell_scores_per_graded_cell(graded):
    _, out_dir, tmp = graded
    source = tmp / "notebooks"
    assert course.cell_scores(out_dir, "dave", ASSIGNMENT, source=source) == {
        "one": {"one-test-double": (0.0, 2.0)}, "two": {"two-test-square": (3.0, 3.0)}}


def test_grade_refuses_an_output_folder_it_would_wipe_wrongly(tmp_path):
    write_source(tmp_path / "notebooks")
    sub = tmp_path / "grades" / "submitted"
    (sub / "alice" / ASSIGNMENT).mkdir(parents=True)
    with pytest.raises(course.CourseError, match="would delete SUBMITTED"):
        course.grade(sub, ASSIGNMENT, out_dir=tmp_path / "grades",
                     source=tmp_path / "notebooks")
    assert sub.is_dir()
    write_source(tmp_path / "release")  # notebooks kept where a run writes its release/
    with pytest.raises(course.CourseError, match="would delete the notebooks"):
        course.grade(sub, ASSIGNMENT, out_dir=tmp_path, source=tmp_path / "release")
    assert (tmp_path / "release" / ASSIGNMENT / "one.ipynb").is_file()
    course_dir = tmp_path / "mycourse"
    course_dir.mkdir()
    (course_dir / "nbgrader_config.py").write_text("c = get_config()\n")
    with pytest.raises(course.CourseError, match="nbgrader_config.py that grade did not write"):
        course.grade(sub, ASSIGNMENT, out_dir=course_dir, source=tmp_path / "notebooks")
    assert (course_dir / "nbgrader_config.py").read_text() == "c = get_config()\n"


def _feedback(out_dir: Path, student: str, notebook: str) -> str:
    return (out_dir / "feedback" / student / ASSIGNMENT / f"{notebook}.html").read_text(
        encoding="utf-8")


def test_feedback_says_which_points_await_grading_by_hand(graded):
    """Right after autograding, a written answer has no score yet: the page says so at the
    top (the automatic points, the points still to be graded by hand), and the answer reads
    "awaiting grading by hand", not "Score: 0.0 / 1.0"."""
    _, out_dir, _ = graded
    grace = _feedback(out_dir, "grace", "one")
    assert "Not the final score yet." in grace
    assert "Graded automatically: <strong>2 / 2</strong> points." in grace
    assert "1 written answer worth\n  <strong>1 point</strong> is\n  still to be graded by hand" \
        in grace
    assert "(Score so far: 2.0 / 3.0)" in grace
    assert "Written response</a> (awaiting grading by hand (1 point))" in grace
    assert "Not graded yet: awaiting grading by hand (1 point)" in grace
    assert "Score: 0.0 / 1.0" not in grace
    assert "Test cell</a> (Score: 2.0 / 2.0)" in grace  # nbgrader's own entries stay
    # the blank edition's answer was left as "YOUR ANSWER HERE": 0, and nothing awaits
    bob = _feedback(out_dir, "bob", "one")
    assert "Final score." in bob and "awaiting grading by hand" not in bob
    assert "1 written answer\n  left unanswered was given 0 automatically." in bob
    # a notebook without written answers: its score is final
    dave = _feedback(out_dir, "dave", "two")
    assert "Every point of this notebook is graded automatically: 3 / 3." in dave


def test_feedback_after_grading_by_hand_says_the_score_is_final(graded, tmp_path):
    """What the formgrader does (a manual score for the answer), then nbgrader's own
    generate_feedback in the output folder (its nbgrader_config.py keeps our page): the
    banner now gives the final split."""
    _, out_dir, tmp = graded
    copy = tmp_path / "grades"
    shutil.copytree(out_dir, copy)
    config = course.course_config(copy, source=tmp / "notebooks", db=copy / "gradebook.db")
    with course.Course(copy, config).gradebook() as gb:
        grade = gb.find_grade("one-answer", "one", ASSIGNMENT, "grace")
        grade.manual_score = 1.0
        grade.needs_manual_grade = False
        gb.db.commit()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}"
                                f"{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT,
                           "--student", "grace", "--force"], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    grace = _feedback(copy, "grace", "one")
    assert "Final score." in grace and "(Score: 3.0 / 3.0)" in grace
    assert "Graded automatically: 2 / 2 points;\n  written answers: 1 / 1 points." in grace
    assert "awaiting grading by hand" not in grace


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("assignment", [None, "lab2"])
def test_make_student_and_grade_take_the_assignment(tmp_path, assignment):
    """`make student` / `make grade SUBMITTED=DIR` run tools/course.py for lab1, or for the
    assignment ASSIGNMENT=... names (make -n prints the commands without running them)."""
    venv = tmp_path / "venv"  # nothing is installed: make -n only prints
    extra = [f"ASSIGNMENT={assignment}"] if assignment else []
    # under `make test` the outer make's variables (VENV=..., ASSIGNMENT=...) would reach this
    # make through MAKEFLAGS: it starts clean, as an instructor's shell does
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    expected = assignment or "lab1"
    for target, command in (
            (["student"], f'tools/course.py student --assignment "{expected}"'),
            (["grade", "SUBMITTED=subs", "TIMEOUT=300"],
             f'tools/course.py grade "subs" --assignment "{expected}" --timeout "300"')):
        done = subprocess.run(["make", "-n", *target, f"VENV={venv}", *extra], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        printed = " ".join(done.stdout.replace("\\\n", " ").split())  # one line per command
        assert f'"{venv}/bin/python" {command}' in printed, done.stdout
