# labkit: every target bootstraps its own virtual environment first.
#   make test   lint + unit tests + notebooks under nbval
#   make run    the lab's main job, headless
#   make lab    JupyterLab on notebooks/
#   make bench  the speed benchmarks (softmax regression, MLP; data cache and stand-ins)
#   make student                the student edition of lab 1 into release/lab1/ (nbgrader)
#   make grade SUBMITTED=DIR    autograde DIR/<student_id>/lab1/*.ipynb into build/grades/
#   ASSIGNMENT=lab2 with either: lab 2 instead (release/lab2/, DIR/<student_id>/lab2/*.ipynb)
# VENV can point anywhere (CI keeps one outside the clone, keyed by the dependency list).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.labkit-installed
# The install is redone when the checkout or pyproject.toml changes.
STAMP_KEY := $(CURDIR) $(shell cksum pyproject.toml 2>/dev/null | cut -d' ' -f1)
export MPLBACKEND ?= Agg
export PYTHONUNBUFFERED := 1
# nbval: lax mode compares only cells tagged nbval-check-output; the kernel is this venv's Python
NBVAL := --nbval-lax --nbval-current-env
# Tests run on two pytest-xdist workers; --dist loadfile keeps each notebook (and each test
# file) on one worker, in order. PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)
# nbgrader runs `alembic` from PATH: the venv's bin/ comes first
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: venv test lint unit notebooks run lab bench student grade clean

venv:
	@if [ ! -x "$(PY)" ]; then echo "creating virtual environment in $(VENV)"; $(PYTHON) -m venv "$(VENV)"; fi
	@if [ "$$(cat "$(STAMP)" 2>/dev/null)" != "$(STAMP_KEY)" ]; then \
		echo "installing labkit and its dependencies into $(VENV) (first time: a few minutes)"; \
		"$(PY)" -m pip install --quiet --upgrade pip && \
		"$(PY)" -m pip install --quiet -e ".[dev]" && \
		echo "$(STAMP_KEY)" > "$(STAMP)"; \
	fi

lint: venv
	"$(BIN)/ruff" check .

unit: export LABKIT_OFFLINE ?= 1
unit: venv
	"$(PY)" -m pytest tests $(XDIST)

notebooks: export LABKIT_OFFLINE ?= 1
notebooks: venv
	"$(PY)" -m pytest notebooks $(NBVAL) $(XDIST)

# The suite never waits on a network: LABKIT_OFFLINE=1 stops Fashion-MNIST downloads, so
# notebooks use the real set when it is on disk ($$LABKIT_DATA) and the offline stand-in otherwise.
test: export LABKIT_OFFLINE ?= 1
test: venv
	"$(BIN)/ruff" check .
	"$(PY)" -m pytest tests notebooks $(NBVAL) $(XDIST)

# The lab's main job: every notebook executed headless, in order, into build/ (.ipynb + .html)
run: venv
	"$(PY)" tools/run_notebooks.py --out build

lab: venv
	"$(BIN)/jupyter" lab notebooks

bench: venv
	"$(PY)" benchmarks/bench_epoch.py
	"$(PY)" benchmarks/bench_mlp.py
	"$(PY)" benchmarks/bench_data.py

# nbgrader: ASSIGNMENT picks the assignment (notebooks/ASSIGNMENT/), TIMEOUT the seconds a cell
# may run while grading (a cell running longer gets its notebook zero points).
ASSIGNMENT ?= lab1
student: venv
	"$(PY)" tools/course.py student --assignment "$(ASSIGNMENT)"

grade: venv
	@if [ -z "$(SUBMITTED)" ]; then \
		echo "usage: make grade SUBMITTED=DIR   (DIR holds <student_id>/$(ASSIGNMENT)/*.ipynb)"; \
		exit 2; fi
	"$(PY)" tools/course.py grade "$(SUBMITTED)" --assignment "$(ASSIGNMENT)" \
		$(if $(TIMEOUT),--timeout "$(TIMEOUT)")

clean:
	rm -rf build .pytest_cache .ruff_cache
