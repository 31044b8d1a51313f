"""The course's nbgrader commands: the student edition, autograding, the point table.

    python tools/course.py student [--assignment lab1]
        The student edition of notebooks/lab1/ into release/lab1/ (nbgrader's
        generate_assignment: solutions replaced by stubs, outputs cleared, hidden tests
        removed). What `make student` runs.

    python tools/course.py grade SUBMITTED [--assignment lab1] [--out build/grades]
                                 [--timeout SECONDS]
        Autograde SUBMITTED/<student_id>/lab1/*.ipynb (nbgrader's layout) and write
        build/grades/grades.csv, one row per student and notebook (student_id, notebook, score,
        max_score, manual_max_score, status), and feedback HTML per student and notebook under
        build/grades/feedback/<student_id>/lab1/. What `make grade SUBMITTED=DIR` runs.

    python tools/course.py points [--assignment lab1] [--readme]
        The points of each notebook (automatic and manual), read from the notebooks'
        nbgrader metadata, as a Markdown table; --readme writes it into README.md.

Grading never stops at a bad submission: a notebook that is missing, is not a notebook, crashes
the kernel, or has a cell running longer than the per-cell timeout gets a row with zero points
and the reason in `status`. nbgrader's working files (gradebook.db, the sanitized copies of the
submissions, the autograded notebooks, its log) live under --out, which each run rewrites and
leaves as an nbgrader course directory of its own (with its nbgrader_config.py), for
nbgrader's other commands: `nbgrader export`, the formgrader for the written answers.

Everything nbgrader does here goes through its own converters (GenerateAssignment, Autograde,
GenerateFeedback), configured from the repository's nbgrader_config.py.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = "notebooks"
FIELDS = ("student_id", "notebook", "score", "max_score", "manual_max_score", "status")
DEFAULT_TIMEOUT = 120  # seconds per cell; the slowest cell of lab 1 takes a few seconds
TIMEOUT_ERRORS = ("CellTimeoutError", "UnresponsiveKernelError")
# what `grade` rewrites in its output folder, and the first line of the config it writes there
WORKING_FILES = ("submitted", "autograded", "feedback", "release", "gradebook.db",
                 "nbgrader.log", "grades.csv", "nbgrader_config.py")
CONFIG_MARK = '"""Written by tools/course.py grade'


class CourseError(Exception):
    """A problem with the course itself (not with one submission): the tool stops."""


# ------------------------------------------------------------------ the notebooks' points


@dataclass
class NotebookPoints:
    name: str  # the notebook's id: its file name without .ipynb
    auto: dict[str, float]  # grade_id -> points of the automatically graded test cells
    manual: dict[str, float]  # grade_id -> points of the manually graded answers

    @property
    def auto_total(self) -> float:
        return sum(self.auto.values())

    @property
    def manual_total(self) -> float:
        return sum(self.manual.values())


def notebook_points(path: Path) -> NotebookPoints:
    """The graded cells of one instructor-edition notebook, from its nbgrader metadata: a
    cell with ``grade`` and not ``solution`` is an autograded test; with both, an answer
    graded by hand."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    auto, manual = {}, {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade"):
            continue
        points = float(meta.get("points", 0))
        (manual if meta.get("solution") else auto)[meta["grade_id"]] = points
    return NotebookPoints(path.stem, auto, manual)


def assignment_notebooks(assignment: str, source: Path | None = None) -> list[Path]:
    """The instructor edition's notebooks of ``assignment``, in order."""
    folder = (source or REPO / SOURCE) / assignment
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise CourseError(f"no notebooks in {folder}: is {assignment!r} an assignment?")
    return notebooks


def _num(x: float) -> str:
    return f"{x:g}"


def points_table(assignment: str, source: Path | None = None) -> str:
    """A Markdown table: notebook, automatic points, manual points, total."""
    rows = [notebook_points(p) for p in assignment_notebooks(assignment, source)]
    lines = ["| notebook | graded automatically | graded by hand | total |",
             "|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| `{r.name}` | {_num(r.auto_total)} | {_num(r.manual_total)} | "
                     f"{_num(r.auto_total + r.manual_total)} |")
    auto = sum(r.auto_total for r in rows)
    manual = sum(r.manual_total for r in rows)
    lines.append(f"| **{assignment}** | **{_num(auto)}** | **{_num(manual)}** | "
                 f"**{_num(auto + manual)}** |")
    return "\n".join(lines)


README_START = "<!-- points:{assignment} start (python tools/course.py points --readme) -->"
README_END = "<!-- points:{assignment} end -->"


def readme_block(assignment: str, readme: Path) -> str | None:
    """The point table between the README's markers for ``assignment``, or None."""
    text = readme.read_text(encoding="utf-8")
    start, end = README_START.format(assignment=assignment), README_END.format(
        assignment=assignment)
    if start not in text or end not in text:
        return None
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def update_readme(assignment: str, readme: Path, table: str) -> bool:
    """Put ``table`` between the README's markers; True if the README changed."""
    text = readme.read_text(encoding="utf-8")
    start, end = README_START.format(assignment=assignment), README_END.format(
        assignment=assignment)
    if start not in text or end not in text:
        raise CourseError(f"{readme} has no markers for {assignment!r}: add the lines "
                          f"{start} and {end} where the table goes")
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    new = f"{before}{start}\n{table}\n{end}{after}"
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


# ------------------------------------------------------------------ nbgrader, configured


def _nbgrader():
    """nbgrader's pieces (imported late: `points` works without nbgrader installed)."""
    try:
        from nbgrader.api import Gradebook, MissingEntry
        from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.utils import capture_log
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise CourseError(
            f"nbgrader is not installed ({e}); install the instructor extra: "
            f"pip install -e '.[instructor]'") from e
    # nbgrader 0.9 with SQLAlchemy 2 warns about its own session use; nothing to act on
    warnings.filterwarnings("ignore", message=r".*not in session.*")
    return {"Gradebook": Gradebook, "MissingEntry": MissingEntry, "Autograde": Autograde,
            "GenerateAssignment": GenerateAssignment, "GenerateFeedback": GenerateFeedback,
            "CourseDirectory": CourseDirectory, "capture_log": capture_log, "Config": Config,
            "PyFileConfigLoader": PyFileConfigLoader}


def course_config(root: Path, *, source: Path | None = None, db: Path | None = None,
                  timeout: int | None = None):
    """nbgrader's configuration: the repository's nbgrader_config.py, then ``root`` as the
    course directory (sources from ``source``, the gradebook at ``db``)."""
    nbg = _nbgrader()
    config = nbg["Config"]()
    config_file = REPO / "nbgrader_config.py"
    if config_file.is_file():
        config.merge(nbg["PyFileConfigLoader"](config_file.name,
                                               path=str(config_file.parent)).load_config())
    config.CourseDirectory.root = str(root)
    if source is not None:
        config.CourseDirectory.source_directory = str(source)
    if db is not None:
        config.CourseDirectory.db_url = f"sqlite:///{db}"
    if timeout is not None:
        config.Execute.timeout = timeout
        config.Execute.interrupt_on_timeout = True
    configure_feedback(config)
    return config


# ------------------------------------------------------------------ the feedback page

# nbgrader's feedback page shows a written answer that nobody has graded yet as "Score: 0.0 /
# 3.0" and a total that counts it as 0, with nothing saying that it is still to be graded by
# hand. Ours extends nbgrader's template (tools/feedback_template/) with a banner that splits
# the score into the automatic part and the points awaiting grading by hand, fed by
# FeedbackGrades, nbgrader's GetGrades plus that tally. After grading by hand (the
# formgrader), generating the feedback again says that the score is final.
FEEDBACK_TEMPLATES = Path(__file__).resolve().parent / "feedback_template"


def _feedback_grades():
    """``FeedbackGrades``: nbgrader's ``GetGrades`` preprocessor, which puts each graded
    cell's score into the notebook for the feedback template, plus what the banner says:
    ``resources["nbgrader"]["grading"]`` = {auto_score, auto_max (the test cells),
    manual_score, manual_max (answers graded by hand, or left blank), pending_points,
    pending_count (answers still to be graded by hand), blank_count}, and
    ``pending: True`` in the metadata of each answer still to be graded."""
    from nbgrader import utils
    from nbgrader.preprocessors import GetGrades

    class FeedbackGrades(GetGrades):
        def preprocess(self, nb, resources):
            self.tally = {"auto_score": 0.0, "auto_max": 0.0, "manual_score": 0.0,
                          "manual_max": 0.0, "pending_points": 0.0, "pending_count": 0,
                          "blank_count": 0}
            nb, resources = super().preprocess(nb, resources)
            resources["nbgrader"]["grading"] = self.tally
            return nb, resources

        def _get_score(self, cell, resources) -> None:
            super()._get_score(cell, resources)
            meta = cell.metadata.nbgrader
            grade = self.gradebook.find_grade(meta["grade_id"], self.notebook_id,
                                              self.assignment_id, self.student_id)
            points, score = float(grade.max_score), float(grade.score)
            if not (utils.is_solution(cell) or utils.is_task(cell)):  # a test cell
                self.tally["auto_score"] += score
                self.tally["auto_max"] += points
            elif grade.needs_manual_grade:   # an answer nobody has graded yet
                meta["pending"] = True
                self.tally["pending_points"] += points
                self.tally["pending_count"] += 1
            else:                            # graded by hand, or left blank (0 by nbgrader)
                self.tally["manual_score"] += score
                self.tally["manual_max"] += points
                if grade.manual_score is None and grade.auto_score == 0:
                    self.tally["blank_count"] += 1

    return FeedbackGrades


def configure_feedback(config) -> None:
    """GenerateFeedback with FeedbackGrades and tools/feedback_template/, which extends
    nbgrader's own feedback template (found through nbgrader's template folder)."""
    import nbgrader
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

    nbgrader_templates = Path(nbgrader.__file__).parent / "server_extensions" / \
        "formgrader" / "templates"
    config.HTMLExporter.template_name = "labkit_feedback"
    config.HTMLExporter.template_file = "labkit_feedback.html.j2"
    config.HTMLExporter.extra_template_basedirs = [str(FEEDBACK_TEMPLATES),
                                                   str(nbgrader_templates)]
    config.GenerateFeedback.preprocessors = [_feedback_grades(), CSSHTMLHeaderPreprocessor]


def _ensure_alembic_on_path() -> None:
    """nbgrader runs `alembic` from PATH: put this Python's bin/ first."""
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


class Course:
    """One nbgrader course directory and the converters run on it."""

    def __init__(self, root: Path, config, log_file: Path | None = None) -> None:
        self.nbg = _nbgrader()
        self.root = root
        self.config = config
        self.log_file = log_file
        _ensure_alembic_on_path()

    def _coursedir(self, **attrs):
        coursedir = self.nbg["CourseDirectory"](config=self.config)
        for name, value in attrs.items():
            setattr(coursedir, name, value)
        return coursedir

    def run(self, converter: str, **attrs) -> dict:
        """Run one nbgrader converter; returns nbgrader's {success, log, error}."""
        app = self.nbg[converter](coursedir=self._coursedir(**attrs), config=self.config)
        if converter == "Autograde":
            app.create_student = True
        app.force = True
        result = self.nbg["capture_log"](app)
        if self.log_file is not None:
            with open(self.log_file, "a", encoding="utf-8") as f:
                f.write(f"=== {converter} {attrs}: success={result['success']}\n")
                f.write(result.get("log", ""))
                if result.get("error"):
                    f.write(result["error"])
        return result

    def gradebook(self):
        return self.nbg["Gradebook"](self.config.CourseDirectory.db_url,
                                     self.config.CourseDirectory.course_id)


# ------------------------------------------------------------------ make student


def generate_student_edition(assignment: str, root: Path, *, source: Path | None = None,
                             db: Path | None = None) -> Path:
    """nbgrader generate_assignment: the student edition of ``source/assignment`` (default:
    the course's own notebooks) into ``root/release/assignment``; returns that folder."""
    source_dir = (source or root / SOURCE).resolve()
    notebooks = assignment_notebooks(assignment, source_dir)
    db = db or root / "build" / "grades" / "gradebook.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    config = course_config(root, source=source_dir if source else None, db=db)
    course = Course(root, config, log_file=db.parent / "nbgrader.log")
    result = course.run("GenerateAssignment", assignment_id=assignment)
    if not result["success"]:
        raise CourseError(f"nbgrader generate_assignment {assignment} failed:\n"
                          f"{_tail(result)}")
    release = root / config.CourseDirectory.release_directory / assignment
    written = sorted(p.name for p in release.glob("*.ipynb"))
    expected = [p.name for p in notebooks]
    if written != expected:
        raise CourseError(f"nbgrader wrote {written} to {release}, expected {expected}")
    return release


def make_student(assignment: str, *, repo: Path = REPO, out=print) -> Path:
    """`make student`: the student edition of ``assignment`` into
    ``<repo>/release/<assignment>/`` (the gradebook goes to build/grades/)."""
    start = time.perf_counter()
    release = generate_student_edition(assignment, repo)
    written = sorted(p.name for p in release.glob("*.ipynb"))
    out(f"student edition of {assignment}: {len(written)} notebooks in "
        f"{release.relative_to(repo)}/ ({time.perf_counter() - start:.1f} s)")
    for name in written:
        out(f"  {name}")
    return release


def _tail(result: dict, lines: int = 15) -> str:
    text = (result.get("error") or "") or (result.get("log") or "")
    return "\n".join(text.strip().splitlines()[-lines:])


# ------------------------------------------------------------------ make grade


@dataclass
class Row:
    student_id: str
    notebook: str
    score: float
    max_score: float
    manual_max_score: float
    status: str

    def as_dict(self) -> dict:
        return {"student_id": self.student_id, "notebook": self.notebook,
                "score": _num(self.score), "max_score": _num(self.max_score),
                "manual_max_score": _num(self.manual_max_score), "status": self.status}


def _check_notebook(path: Path) -> str | None:
    """Why ``path`` is not a usable notebook, or None."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as e:
        return f"not a notebook ({type(e).__name__}: {_first_line(e)})"
    try:
        nbformat.validate(nb)
    except Exception as e:
        return f"not a valid notebook ({type(e).__name__}: {_first_line(e)})"
    return None


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= 150 else line[:147] + "..."


def _failure_reason(result: dict) -> str:
    """A one-line reason from a failed nbgrader run."""
    text = (result.get("error") or "") + "\n" + (result.get("log") or "")
    if "DeadKernelError" in text or "Kernel died" in text:
        return "crashed: the kernel died while running the notebook"
    if any(name in text for name in TIMEOUT_ERRORS) or "Timeout waiting for" in text:
        return ("timeout: a cell ran longer than the per-cell timeout and the kernel could not "
                "be interrupted; no points")
    lines = [ln for ln in (result.get("error") or "").strip().splitlines() if ln.strip()]
    last = lines[-1].strip() if lines else "unknown error"
    return f"error: nbgrader could not grade it ({last[:150]})"


def _timed_out_cell(path: Path) -> str | None:
    """The cell of an autograded notebook that ran over the timeout, or None."""
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") in TIMEOUT_ERRORS:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                return f"cell {index}" + (f" ({grade_id})" if grade_id else "")
    return None


def _placeholder_feedback(path: Path, row: Row) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(row.notebook)}</title></head><body>\n"
        f"<h1>{html.escape(row.notebook)}</h1>\n"
        f"<p>Score: {_num(row.score)} / {_num(row.max_score)} (graded automatically; "
        f"{_num(row.manual_max_score)} more points are graded by hand)</p>\n"
        f"<p>This notebook was not graded: {html.escape(row.status)}.</p>\n</body></html>\n",
        encoding="utf-8")


def _write_course_config(out_dir: Path, config) -> None:
    """Make ``out_dir`` an nbgrader course directory of its own, so that nbgrader's other
    commands (export, formgrader for the written answers, release_feedback) work there."""
    cd = config.CourseDirectory
    (out_dir / "nbgrader_config.py").write_text(
        f'{CONFIG_MARK}: this folder is an nbgrader course directory."""\n'
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {cd.course_id!r}\n"
        f"c.CourseDirectory.source_directory = {cd.source_directory!r}\n"
        f"c.Execute.timeout = {config.Execute.timeout!r}\n"
        "\n# the feedback page that says which points await grading by hand (tools/course.py);\n"
        "# nbgrader's own page if this checkout has moved\n"
        "import sys  # noqa: E402\n\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "try:\n"
        "    import course\n"
        "    course.configure_feedback(c)\n"
        "except ImportError:\n"
        "    pass\n",
        encoding="utf-8")


def _check_out_dir(out_dir: Path, submitted: Path, source: Path) -> None:
    """Refuse an output folder whose rewrite would delete the submissions, the notebooks or
    a course's own nbgrader_config.py."""
    for name in WORKING_FILES:
        target = out_dir / name
        for precious, what in ((submitted, "SUBMITTED"), (source, "the notebooks")):
            if precious == target or target in precious.parents:
                raise CourseError(f"--out {out_dir} would delete {what} ({precious}): each run "
                                  f"rewrites {target}; choose another --out")
    config = out_dir / "nbgrader_config.py"
    if config.is_file() and not config.read_text(encoding="utf-8").startswith(CONFIG_MARK):
        raise CourseError(f"--out {out_dir} holds an nbgrader_config.py that grade did not "
                          f"write (a course directory?): choose another --out")


def grade(submitted: Path, assignment: str, *, out_dir: Path, timeout: int = DEFAULT_TIMEOUT,
          source: Path | None = None, log=print) -> list[Row]:
    """Autograde every student folder of ``submitted``; write ``out_dir/grades.csv`` and
    ``out_dir/feedback/``; return the rows."""
    submitted = Path(submitted).resolve()
    if not submitted.is_dir():
        raise CourseError(f"SUBMITTED must be a folder of <student_id>/{assignment}/*.ipynb, "
                          f"got {str(submitted)!r}, which is not a folder")
    source = (source or REPO / SOURCE).resolve()
    expected = [notebook_points(p) for p in assignment_notebooks(assignment, source)]
    students = sorted(p.name for p in submitted.iterdir()
                      if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise CourseError(f"no student folders in {submitted} (expected "
                          f"{submitted}/<student_id>/{assignment}/*.ipynb)")

    out_dir = Path(out_dir).resolve()
    _check_out_dir(out_dir, submitted, source)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in WORKING_FILES:
        target = out_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    config = course_config(out_dir, source=source, db=out_dir / "gradebook.db",
                           timeout=timeout)
    _write_course_config(out_dir, config)
    course = Course(out_dir, config, log_file=out_dir / "nbgrader.log")
    result = course.run("GenerateAssignment", assignment_id=assignment)
    if not result["success"]:
        raise CourseError(f"nbgrader generate_assignment {assignment} failed:\n"
                          f"{_tail(result)}")

    rows: list[Row] = []
    for student in students:
        start = time.perf_counter()
        rows += _grade_student(course, submitted, student, assignment, expected, out_dir,
                               timeout)
        mine = [r for r in rows if r.student_id == student]
        log(f"{student}: {_num(sum(r.score for r in mine))} / "
            f"{_num(sum(r.max_score for r in mine))} automatic points "
            f"({time.perf_counter() - start:.1f} s)"
            + "".join(f"\n  {r.notebook}: {r.status}" for r in mine if r.status != "ok"))
    _write_csv(out_dir / "grades.csv", rows)
    return rows


def _grade_student(course: Course, submitted: Path, student: str, assignment: str,
                   expected: list[NotebookPoints], out_dir: Path, timeout: int) -> list[Row]:
    src = submitted / student / assignment
    dest = out_dir / "submitted" / student / assignment
    dest.mkdir(parents=True)
    status: dict[str, str] = {}
    for nb in expected:
        path = src / f"{nb.name}.ipynb"
        if not path.is_file():
            status[nb.name] = f"missing: no {assignment}/{nb.name}.ipynb was submitted"
            continue
        problem = _check_notebook(path)
        if problem:
            status[nb.name] = problem
            continue
        shutil.copy(path, dest / path.name)
    if (src / "timestamp.txt").is_file():
        shutil.copy(src / "timestamp.txt", dest / "timestamp.txt")

    to_grade = [nb.name for nb in expected if nb.name not in status]
    if to_grade:
        result = course.run("Autograde", assignment_id=assignment, student_id=student)
        if not result["success"]:  # find the notebook(s) nbgrader could not grade
            for name in to_grade:
                one = course.run("Autograde", assignment_id=assignment, student_id=student,
                                 notebook_id=name)
                if not one["success"]:
                    status[name] = _failure_reason(one)
    autograded = out_dir / "autograded" / student / assignment
    for name in to_grade:
        if name in status:
            continue
        cell = _timed_out_cell(autograded / f"{name}.ipynb")
        if cell is not None:
            status[name] = (f"timeout: {cell} ran longer than {timeout} s and was "
                            f"interrupted; no points")

    scores = _scores(course, student, assignment, expected, zero=set(status))
    if any(name not in status or status[name].startswith("timeout") for name in to_grade):
        course.run("GenerateFeedback", assignment_id=assignment, student_id=student)
    rows = []
    for nb in expected:
        row = Row(student, nb.name, scores.get(nb.name, 0.0), nb.auto_total, nb.manual_total,
                  status.get(nb.name, "ok"))
        feedback = out_dir / "feedback" / student / assignment / f"{nb.name}.html"
        if not feedback.is_file():
            _placeholder_feedback(feedback, row)
        rows.append(row)
    return rows


def _scores(course: Course, student: str, assignment: str, expected: list[NotebookPoints],
            zero: set[str]) -> dict[str, float]:
    """Automatic points per notebook from the gradebook; the notebooks in ``zero`` get 0
    there too, so that the feedback agrees with grades.csv."""
    scores: dict[str, float] = {}
    with course.gradebook() as gb:
        for nb in expected:
            try:
                submission = gb.find_submission_notebook(nb.name, assignment, student)
            except course.nbg["MissingEntry"]:
                continue
            total = 0.0
            for g in submission.grades:
                if g.name not in nb.auto:
                    continue
                if nb.name in zero:
                    g.auto_score = 0.0
                    g.needs_manual_grade = False
                total += float(g.auto_score or 0.0)
            scores[nb.name] = 0.0 if nb.name in zero else total
        gb.db.commit()
    return scores


def cell_scores(out_dir: Path, student: str, assignment: str, *,
                source: Path | None = None) -> dict[str, dict[str, tuple[float, float]]]:
    """After ``grade``: ``{notebook: {grade_id: (auto_score, points)}}`` of one student's
    automatically graded cells, read from the gradebook in ``out_dir``."""
    out_dir = Path(out_dir).resolve()
    expected = [notebook_points(p) for p in assignment_notebooks(assignment, source)]
    config = course_config(out_dir, source=source, db=out_dir / "gradebook.db")
    course = Course(out_dir, config)
    scores: dict[str, dict[str, tuple[float, float]]] = {}
    with course.gradebook() as gb:
        for nb in expected:
            try:
                submission = gb.find_submission_notebook(nb.name, assignment, student)
            except course.nbg["MissingEntry"]:
                continue
            scores[nb.name] = {g.name: (float(g.auto_score or 0.0), nb.auto[g.name])
                               for g in submission.grades if g.name in nb.auto}
    return scores


def _write_csv(path: Path, rows: list[Row]) -> None:
    """Write the table to a temporary file, then move it into place: a crash never leaves a
    half-written grades.csv."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.as_dict())
    os.replace(tmp, path)


# ------------------------------------------------------------------ the command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python tools/course.py",
        description="The student edition, autograding and the point table of an nbgrader "
                    "assignment of this course (notebooks/<assignment>/).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("student", help="write the student edition into release/ASSIGNMENT/",
                       description="Run nbgrader generate_assignment: the student edition of "
                                   "notebooks/ASSIGNMENT/ into release/ASSIGNMENT/.")
    p.add_argument("--assignment", default="lab1", help="the assignment (default: lab1)")

    p = sub.add_parser("grade", help="autograde SUBMITTED/<student_id>/ASSIGNMENT/*.ipynb",
                       description="Autograde every student's notebooks and write "
                                   "OUT/grades.csv and OUT/feedback/.")
    p.add_argument("submitted", type=Path,
                   help="a folder holding <student_id>/ASSIGNMENT/*.ipynb (nbgrader's layout)")
    p.add_argument("--assignment", default="lab1", help="the assignment (default: lab1)")
    p.add_argument("--out", type=Path, default=REPO / "build" / "grades",
                   help="where grades.csv, feedback/ and nbgrader's working files go "
                        "(default: build/grades; rewritten by each run)")
    p.add_argument("--source", type=Path, default=REPO / SOURCE,
                   help="the folder holding ASSIGNMENT/ of instructor-edition notebooks "
                        "(default: notebooks)")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                   help=f"seconds a cell may run before it is interrupted and its notebook "
                        f"gets zero points (default: {DEFAULT_TIMEOUT})")

    p = sub.add_parser("points", help="print the points of each notebook as a Markdown table",
                       description="The points of each notebook, from its nbgrader metadata.")
    p.add_argument("--assignment", default="lab1", help="the assignment (default: lab1)")
    p.add_argument("--readme", action="store_true",
                   help="write the table into README.md between its points markers")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "student":
            make_student(args.assignment)
        elif args.command == "points":
            table = points_table(args.assignment)
            if args.readme:
                changed = update_readme(args.assignment, REPO / "README.md", table)
                print(f"README.md {'updated' if changed else 'already up to date'}")
            else:
                print(table)
        else:
            if args.timeout <= 0:
                raise CourseError(f"--timeout must be a positive number of seconds, got "
                                  f"{args.timeout}")
            start = time.perf_counter()
            rows = grade(args.submitted, args.assignment, out_dir=args.out,
                         timeout=args.timeout, source=args.source)
            out = args.out.resolve()
            students = len({r.student_id for r in rows})
            print(f"graded {students} student(s), {len(rows)} notebooks in "
                  f"{time.perf_counter() - start:.1f} s: {out / 'grades.csv'}, feedback in "
                  f"{out / 'feedback'}/")
    except CourseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
