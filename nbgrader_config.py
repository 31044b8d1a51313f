"""nbgrader's configuration for this repository, which is an nbgrader course directory.

The instructor edition (solutions, model answers, hidden tests) lives in ``notebooks/``, one
folder per assignment: ``notebooks/lab1/`` is the assignment ``lab1``. From the repository root,
``nbgrader generate_assignment lab1`` (what ``make student`` runs) writes the student edition
to ``release/lab1/``. nbgrader calls ``alembic`` from PATH: run it with the virtual
environment's ``bin/`` on PATH (the Makefile does).
"""

c = get_config()  # noqa: F821  (nbgrader provides get_config when it loads this file)

c.CourseDirectory.course_id = "labkit"
c.CourseDirectory.source_directory = "notebooks"
c.CourseDirectory.release_directory = "release"

# What nbgrader never copies from an assignment folder into the student edition (or into a
# submission): its defaults, plus the TensorBoard logs that lk.train(..., log_dir="runs/...")
# writes next to a notebook (07_mlp_nn) when the instructor edition is executed.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "runs"]
